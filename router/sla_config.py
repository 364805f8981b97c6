"""Reads `config/sla.toml` into the SLA policy: clocks, targets, calendars and the rates'
definitions, checked like the other configuration files (every problem with its field).

China's statutory holidays and 调休 make-up working days come from the `chinesecalendar`
package; the file may add a year the package does not know yet, or correct one.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, time
from pathlib import Path
from typing import Annotated, Literal

from chinese_calendar import constants as holiday_data
from pydantic import AfterValidator, Field, Strict

from router.config_files import ConfigTable, ReferenceCheck, Text, problem_line, validate_file
from router.domain.calendars import (
    Calendar,
    CalendarKind,
    OfficeInterval,
    WorkingDays,
    parse_duration,
)
from router.domain.errors import ConfigurationError
from router.domain.rates import RateDefinitions
from router.domain.sla import ClockName, ClockPolicy, SlaPolicy, TargetRule

URGENCIES = ("emergency", "2h", "24h", "general", "complex")


def _duration(value: str) -> str:
    parse_duration(value)  # raises ValueError with the reason
    return value


def _whole_percent(value: float) -> float:
    if abs(value * 100 - round(value * 100)) > 1e-6:
        raise ValueError("must be a whole percentage of the target, e.g. 0.7 or 0.85")
    return value


def _distinct_fractions(values: tuple[float, ...]) -> tuple[float, ...]:
    if len({round(v * 100) for v in values}) != len(values):
        raise ValueError("each warning fraction may appear once")
    return tuple(sorted(values))


def _clock_time(value: str) -> str:
    if value != "24:00":
        time.fromisoformat(value)
    return value


Duration = Annotated[str, Strict(), AfterValidator(_duration)]
ClockTime = Annotated[str, Strict(), AfterValidator(_clock_time)]
Fraction = Annotated[float, Strict(), Field(gt=0, lt=1), AfterValidator(_whole_percent)]
Fractions = Annotated[tuple[Fraction, ...], AfterValidator(_distinct_fractions)]


class TargetTable(ConfigTable):
    target: Duration
    urgencies: tuple[Text, ...] = ()
    categories: tuple[Text, ...] = ()
    calendar: Text | None = None


class ClockTable(ConfigTable):
    calendar: Text
    target: Duration
    targets: tuple[TargetTable, ...] = ()
    pausable: bool = False
    warn_at: Fractions | None = None
    escalate_after: tuple[Duration, ...] = ()


class CalendarTable(ConfigTable):
    kind: Literal["office-hours", "workdays", "24x7"]
    hours: tuple[tuple[ClockTime, ClockTime], ...] = ()


class HolidayYearTable(ConfigTable):
    year: Annotated[int, Strict(), Field(ge=2000, le=2100)]
    days_off: tuple[date, ...] = ()
    make_up_workdays: tuple[date, ...] = ()


class HolidaysTable(ConfigTable):
    year: tuple[HolidayYearTable, ...] = ()


class RatesTable(ConfigTable):
    basically_satisfied_weight: Annotated[float, Strict(), Field(ge=0, le=1)] = 0.8
    count_open_overdue: bool = True
    metrics_period_days: Annotated[int, Strict(), Field(ge=1, le=366)] = 30


class SlaFile(ConfigTable):
    version: Literal[1]
    max_returns: Annotated[int, Strict(), Field(ge=1)] = 2
    callback_attempts: Annotated[int, Strict(), Field(ge=1)] = 3
    warn_at: Fractions = (0.7, 0.8, 0.9)
    calendars: dict[str, CalendarTable] = Field(default_factory=dict)
    holidays: HolidaysTable = Field(default_factory=HolidaysTable)
    clocks: dict[ClockName, ClockTable]
    rates: RatesTable = Field(default_factory=RatesTable)


@dataclass(frozen=True, slots=True)
class SlaConfig:
    policy: SlaPolicy
    rates: RateDefinitions
    working_days: WorkingDays


def working_days(declared: Collection[HolidayYearTable] = ()) -> WorkingDays:
    """The package's holidays and make-up days, with the declared years replacing its own."""
    replaced = {entry.year for entry in declared}
    days_off = {d for d in holiday_data.holidays if d.year not in replaced}
    workdays = {d for d in holiday_data.workdays if d.year not in replaced}
    known = {d.year for d in holiday_data.holidays} - replaced
    for entry in declared:
        days_off.update(entry.days_off)
        workdays.update(entry.make_up_workdays)
        known.add(entry.year)
    return WorkingDays(frozenset(days_off), frozenset(workdays), frozenset(known))


def load_sla_config(path: Path, categories: Collection[str] | None = None) -> SlaConfig:
    problems: list[str] = []
    doc = validate_file(SlaFile, path, problems)
    if doc is None:
        raise ConfigurationError("\n".join(problems))
    problems += _reference_problems(path, doc, categories)
    if problems:
        raise ConfigurationError("\n".join(problems))
    days = working_days(doc.holidays.year)
    calendars: dict[str, Calendar] = {
        CalendarKind.ALWAYS.value: Calendar(CalendarKind.ALWAYS.value, CalendarKind.ALWAYS),
        CalendarKind.WORKDAYS.value: Calendar(CalendarKind.WORKDAYS.value,
                                              CalendarKind.WORKDAYS, days)}
    for name, table in doc.calendars.items():
        try:
            calendars[name] = Calendar(name, CalendarKind(table.kind), days, tuple(
                OfficeInterval(_time(start), _time(end)) for start, end in table.hours)
                if table.hours else (OfficeInterval(time(0), time(0)),))
        except ValueError as exc:
            raise ConfigurationError(problem_line(path, ("calendars", name, "hours"),
                                                  str(exc))) from exc
    clocks = {name: ClockPolicy(
        name=name, calendar=table.calendar, target=parse_duration(table.target),
        rules=tuple(TargetRule(parse_duration(rule.target), frozenset(rule.urgencies),
                               frozenset(rule.categories), rule.calendar)
                    for rule in table.targets),
        pausable=table.pausable,
        warn_at=tuple(sorted(table.warn_at if table.warn_at is not None else doc.warn_at)),
        escalate_after=tuple(sorted(parse_duration(a) for a in table.escalate_after)))
        for name, table in doc.clocks.items()}
    rates = RateDefinitions(doc.rates.basically_satisfied_weight, doc.rates.count_open_overdue,
                            doc.rates.metrics_period_days)
    return SlaConfig(SlaPolicy(clocks, calendars, doc.max_returns, doc.callback_attempts),
                     rates, days)


def _time(text: str) -> time:
    return time(0) if text == "24:00" else time.fromisoformat(text)


def _reference_problems(path: Path, doc: SlaFile, categories: Collection[str] | None
                        ) -> list[str]:
    check = ReferenceCheck()
    calendars = {"24x7", "workdays", *doc.calendars}
    hint = f" (declared: {', '.join(sorted(calendars))})"
    for name, clock in doc.clocks.items():
        check.known(path, ("clocks", name.value, "calendar"), clock.calendar, calendars,
                    "calendar", hint)
        for i, rule in enumerate(clock.targets):
            where = ("clocks", name.value, "targets", i)
            if rule.calendar is not None:
                check.known(path, (*where, "calendar"), rule.calendar, calendars, "calendar",
                            hint)
            for j, urgency in enumerate(rule.urgencies):
                check.known(path, (*where, "urgencies", j), urgency, URGENCIES, "urgency",
                            f" (one of {', '.join(URGENCIES)})")
            if categories is not None:
                for j, category in enumerate(rule.categories):
                    check.known(path, (*where, "categories", j), category, categories,
                                "category")
    for calendar_name, table in doc.calendars.items():
        if table.kind == "office-hours" and not table.hours:
            check.problems.append(problem_line(path, ("calendars", calendar_name, "hours"),
                                               "an office-hours calendar needs its hours"))
    for i, entry in enumerate(doc.holidays.year):
        for field_name in ("days_off", "make_up_workdays"):
            for j, day in enumerate(getattr(entry, field_name)):
                if day.year != entry.year:
                    check.problems.append(problem_line(
                        path, ("holidays", "year", i, field_name, j),
                        f"{day} is not in {entry.year}"))
    missing = [name.value for name in ClockName if name not in doc.clocks]
    if missing:
        check.problems.append(problem_line(path, ("clocks",),
                                           f"every clock needs a table; missing: "
                                           f"{', '.join(missing)}"))
    return check.problems
