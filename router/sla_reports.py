"""The three rates and the open-ticket gauges: computed on a schedule for the metrics, and
on request for the API, never by scanning every ticket on a scrape.

The rates of a period count the tickets created in it (an indexed range), grouped by the
unit holding them and their category; see `router.domain.rates` for the definitions.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Protocol

from router.domain.calendars import Calendar
from router.domain.rates import OutcomeCounts, RateDefinitions, ThreeRates, three_rates
from router.metrics import RouterMetrics

log = logging.getLogger(__name__)


class OutcomeStore(Protocol):
    def outcome_counts(self, since: datetime, until: datetime, unit: str | None = None
                       ) -> dict[tuple[str, str], OutcomeCounts]: ...

    def open_by_unit(self, now: datetime) -> dict[str, tuple[int, int]]: ...


class Grouping(StrEnum):
    UNIT = "unit"
    CATEGORY = "category"
    OVERALL = "overall"


@dataclass(frozen=True, slots=True)
class GroupRates:
    key: str | None  # the unit or category; None for all
    counts: OutcomeCounts
    rates: ThreeRates


def _utcnow() -> datetime:
    return datetime.now(UTC)


class RateReports:
    def __init__(self, store: OutcomeStore, definitions: RateDefinitions,
                 metrics: RouterMetrics, calendars: Mapping[str, Calendar] | None = None,
                 clock: Callable[[], datetime] = _utcnow) -> None:
        self._store = store
        self._definitions = definitions
        self._metrics = metrics
        self._calendars = dict(calendars or {})
        self._clock = clock
        self._rated_units: set[str] = set()
        self._warned_years: set[int] = set()

    @property
    def definitions(self) -> RateDefinitions:
        return self._definitions

    def default_period(self) -> tuple[datetime, datetime]:
        now = self._clock()
        return now - timedelta(days=self._definitions.metrics_period_days), now

    def rates(self, since: datetime, until: datetime, grouping: Grouping,
              unit: str | None = None) -> list[GroupRates]:
        """The three rates per unit, per category or overall; `unit` keeps one unit's."""
        counts = self._store.outcome_counts(since, until, unit)
        groups: dict[str | None, OutcomeCounts] = {}
        for (ticket_unit, category), found in counts.items():
            key = {Grouping.UNIT: ticket_unit, Grouping.CATEGORY: category,
                   Grouping.OVERALL: None}[grouping]
            groups[key] = groups.get(key, OutcomeCounts()) + found
        if grouping is Grouping.OVERALL and not groups:
            groups[None] = OutcomeCounts()
        return [GroupRates(key, found, three_rates(found, self._definitions))
                for key, found in sorted(groups.items(), key=lambda item: item[0] or "")]

    def refresh(self) -> None:
        """Set the gauges: the rates per unit over the configured period, open and
        open-overdue tickets per unit, and years without holiday data ahead."""
        since, until = self.default_period()
        rated = set()
        for group in self.rates(since, until, Grouping.UNIT):
            unit = group.key or ""
            rated.add(unit)
            for name, value in (("response", group.rates.response),
                                ("resolution", group.rates.resolution),
                                ("satisfaction", group.rates.satisfaction)):
                if value is None:
                    _forget(self._metrics, unit, name)
                else:
                    self._metrics.unit_rate.labels(unit, name).set(value)
        for unit in self._rated_units - rated:
            for name in ("response", "resolution", "satisfaction"):
                _forget(self._metrics, unit, name)
        self._rated_units = rated
        self._metrics.open_tickets.clear()
        self._metrics.open_overdue_tickets.clear()
        for unit, (open_count, overdue) in self._store.open_by_unit(until).items():
            self._metrics.open_tickets.labels(unit).set(open_count)
            self._metrics.open_overdue_tickets.labels(unit).set(overdue)
        self._check_calendars(until)

    def _check_calendars(self, now: datetime) -> None:
        # The longest shipped target is 15 working days: look a quarter ahead.
        ahead = now + timedelta(days=92)
        unknown = {year for calendar in self._calendars.values()
                   for year in calendar.unknown_years(now, ahead)}
        self._metrics.calendar_unknown_year.clear()
        for year in sorted(unknown):
            self._metrics.calendar_unknown_year.labels(str(year)).set(1)
            if year not in self._warned_years:
                self._warned_years.add(year)
                log.warning("the holidays of %s are not known: working-day deadlines count"
                            " Monday to Friday there; declare the year in sla.toml"
                            " ([[holidays.year]]) once the State Council publishes it", year)


def _forget(metrics: RouterMetrics, unit: str, name: str) -> None:
    with contextlib.suppress(KeyError):  # never set
        metrics.unit_rate.remove(unit, name)
