"""The gauges that describe the whole city, computed by one worker at a time.

Counters are per process: every worker counts what it did and Prometheus sums them. A gauge
of the whole city (queue depths and oldest waiting ages, open and open-overdue tickets, the
three rates, the outbox backlog, consumer lag) would be counted N times over N workers, so
one worker, the holder of a lease in Redis, computes and exports them on a schedule; the
others export none (the unlabelled outbox gauges: 0), and take over within a lease's
lifetime when the holder stops. `hotline_city_collector` says which worker it is (1 on the
holder).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Protocol

from router.domain.errors import TransientFailure
from router.domain.hotspots import ActiveSurge
from router.metrics import RouterMetrics
from router.sla_reports import RateReports

log = logging.getLogger(__name__)


class Lease(Protocol):
    def hold(self) -> bool: ...
    def release(self) -> None: ...


class UnitQueue(Protocol):
    @property
    def waiting(self) -> int: ...
    @property
    def pending(self) -> int: ...
    @property
    def oldest_waiting_seconds(self) -> float: ...


class QueueDepths(Protocol):
    def gauges(self, units: Sequence[str], now_ms: int) -> Mapping[str, UnitQueue]: ...


class ActiveSurges(Protocol):
    def active(self) -> list[ActiveSurge]: ...


class Backlog(Protocol):
    def backlog(self) -> tuple[int, datetime | None]: ...


class Progress(Protocol):
    @property
    def topic(self) -> str: ...
    @property
    def partition(self) -> int: ...
    @property
    def committed(self) -> int: ...
    @property
    def lag(self) -> int: ...


LagSource = Callable[[], Awaitable[Sequence[Progress]]]


class CityGauges:
    def __init__(self, lease: Lease, reports: RateReports, queues: QueueDepths,
                 units: Sequence[str], metrics: RouterMetrics,
                 outbox: Backlog, lag: LagSource | None = None,
                 rates_every_seconds: float = 60.0, surges: ActiveSurges | None = None,
                 categories: Sequence[str] = ()) -> None:
        self._surges = surges
        self._categories = list(categories)
        self._lease = lease
        self._outbox = outbox
        self._rates_every = rates_every_seconds
        self._rates_at = float("-inf")
        self._reports = reports
        self._queues = queues
        self._units = list(units)
        self._metrics = metrics
        self._lag = lag
        self.holding = False

    def collect(self) -> bool:
        """Compute the city's gauges if this worker holds the lease (taking it if free);
        clear them otherwise. Returns whether it holds it."""
        holding = self._lease.hold()
        if holding != self.holding:
            log.info("city gauges: this worker %s", "computes them now" if holding
                     else "leaves them to another worker")
        self.holding = holding
        self._metrics.city_collector.set(1 if holding else 0)
        if not holding:
            self._clear()
            self._rates_at = float("-inf")  # when it holds it again: at once
            return False
        if time.monotonic() - self._rates_at >= self._rates_every:
            self._reports.refresh()  # an aggregate over the period: not every round
            self._rates_at = time.monotonic()
        count, oldest = self._outbox.backlog()
        self._metrics.outbox_backlog.set(count)
        age = (datetime.now(UTC) - oldest).total_seconds() if oldest else 0.0
        self._metrics.outbox_oldest_age.set(max(age, 0.0))
        if self._surges is not None:
            raised: dict[str, int] = dict.fromkeys(self._categories, 0)
            for found in self._surges.active():
                raised[found.category] = raised.get(found.category, 0) + 1
            for category, count in raised.items():
                self._metrics.hotspots_active.labels(category).set(count)
        for unit, queue in self._queues.gauges(self._units, int(time.time() * 1000)).items():
            self._metrics.queue_pending.labels(unit).set(queue.waiting + queue.pending)
            self._metrics.queue_waiting.labels(unit).set(queue.waiting)
            self._metrics.queue_oldest_waiting.labels(unit).set(queue.oldest_waiting_seconds)
        return True

    async def collect_lag(self) -> None:
        if self._lag is None or not self.holding:
            return
        for found in await self._lag():
            labels = (found.topic, str(found.partition))
            self._metrics.consumer_lag.labels(*labels).set(found.lag)
            self._metrics.consumer_committed_offset.labels(*labels).set(found.committed)

    def _clear(self) -> None:
        for gauge in (self._metrics.queue_pending, self._metrics.queue_waiting,
                      self._metrics.queue_oldest_waiting, self._metrics.open_tickets,
                      self._metrics.open_overdue_tickets, self._metrics.unit_rate,
                      self._metrics.consumer_lag, self._metrics.consumer_committed_offset,
                      self._metrics.calendar_unknown_year, self._metrics.hotspots_active):
            gauge.clear()
        self._metrics.outbox_backlog.set(0)
        self._metrics.outbox_oldest_age.set(0)

    async def run(self, every_seconds: float) -> None:
        try:
            while True:
                try:
                    await asyncio.to_thread(self.collect)
                    await self.collect_lag()
                except TransientFailure as exc:
                    log.warning("city gauges not refreshed: %s", exc)
                except Exception:
                    log.exception("city gauges not refreshed")
                await asyncio.sleep(every_seconds)
        finally:
            await asyncio.to_thread(self._lease.release)
