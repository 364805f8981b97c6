"""The outbox relay: delivers what committed changes must tell the outside world.

Every change to a ticket is saved with its outbox entries in one transaction; this relay
then takes the due entries, delivers them to their destination (the unit's Redis stream, the
ticket-events topic, the emergency-transfers topic) and marks them published. It survives a
SIGKILL anywhere: an entry is marked only after delivery, so a relay that dies delivers it
again after its lease runs out. Redis stays exactly-once through the queue's dedupe marker
(the message id); Kafka destinations are at-least-once and carry the `event_id`, by which a
consumer recognises a repeat.

A failed delivery is retried with exponential backoff and jitter, entry by entry once a batch
fails, so one undeliverable entry never holds up the others. Nothing is ever dropped: the
backlog and the age of its oldest entry are metrics, and an alert watches them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta

from router.domain.errors import TransientFailure
from router.domain.outbox import Destination
from router.metrics import RouterMetrics
from router.ports import CHANNEL_OF, OutboxStore, PendingMessage, Publisher, QueueItem, WorkQueues

log = logging.getLogger(__name__)

_BACKLOG_REFRESH_SECONDS = 5.0
_PURGE_EVERY_SECONDS = 3600.0
_KEEP_PUBLISHED = timedelta(days=7)


def _utcnow() -> datetime:
    return datetime.now(UTC)


class OutboxRelay:
    def __init__(self, store: OutboxStore, queues: WorkQueues, publisher: Publisher,
                 metrics: RouterMetrics, batch_size: int = 500, lease_seconds: float = 30.0,
                 idle_poll_seconds: float = 1.0, max_backoff_seconds: float = 300.0,
                 clock: Callable[[], datetime] = _utcnow,
                 jitter: Callable[[], float] = random.random,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self._store = store
        self._queues = queues
        self._publisher = publisher
        self._metrics = metrics
        self._batch_size = batch_size
        self._lease_seconds = lease_seconds
        self._idle_poll_seconds = idle_poll_seconds
        self._max_backoff_seconds = max_backoff_seconds
        self._clock = clock
        self._jitter = jitter
        self._sleep = sleep
        self._wake = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._backlog_refreshed_at = float("-inf")
        self._purged_at = float("-inf")

    def wake(self) -> None:
        """Something was committed: look now rather than at the next poll. Safe to call
        from any thread (the API's services commit in worker threads)."""
        loop = self._loop
        if loop is None:
            return
        try:
            on_loop = asyncio.get_running_loop() is loop
        except RuntimeError:
            on_loop = False
        if on_loop:
            self._wake.set()
        else:
            loop.call_soon_threadsafe(self._wake.set)

    async def run(self) -> None:
        """Deliver until cancelled; a database outage only pauses it."""
        self._loop = asyncio.get_running_loop()
        failures = 0
        while True:
            try:
                delivered = await self.deliver_due()
                await self._housekeeping()
                failures = 0
            except TransientFailure as exc:
                failures += 1
                delay = self._backoff(failures)
                self._metrics.retries.labels("outbox").inc()
                log.warning("outbox relay paused (%s); retrying in %.1f s",
                            type(exc).__name__, delay)
                await self._sleep(delay)
                continue
            if delivered < self._batch_size:
                self._wake.clear()
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self._idle_poll_seconds)

    async def deliver_due(self) -> int:
        """Deliver one batch of due entries; returns how many were leased."""
        leased = await asyncio.to_thread(self._store.lease_due, self._batch_size,
                                         self._lease_seconds, self._clock())
        if not leased:
            return 0
        by_destination: dict[Destination, list[PendingMessage]] = {}
        for pending in leased:
            by_destination.setdefault(pending.message.destination, []).append(pending)
        delivered: list[PendingMessage] = []
        failed: list[tuple[PendingMessage, str]] = []
        for destination, group in by_destination.items():
            ok, bad = await self._deliver_group(destination, group)
            delivered += ok
            failed += bad
        now = self._clock()
        await asyncio.to_thread(self._store.mark_published, [p.seq for p in delivered], now)
        for pending, error in failed:
            delay = self._backoff(pending.attempts + 1)
            log.warning("outbox entry %d to %s failed (%s) on attempt %d; retrying in %.1f s",
                        pending.seq, pending.message.destination.value, error,
                        pending.attempts + 1, delay)
            await asyncio.to_thread(self._store.retry_later, [pending.seq],
                                    now + timedelta(seconds=delay), error)
        self._count(delivered, failed, now)
        return len(leased)

    async def _deliver_group(self, destination: Destination, group: Sequence[PendingMessage]
                             ) -> tuple[list[PendingMessage], list[tuple[PendingMessage, str]]]:
        try:
            await self._deliver(destination, group)
            return list(group), []
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            if len(group) == 1:
                return [], [(group[0], type(exc).__name__)]
        delivered: list[PendingMessage] = []
        failed: list[tuple[PendingMessage, str]] = []
        for pending in group:  # narrow the failure down to the entries that cause it
            try:
                await self._deliver(destination, [pending])
                delivered.append(pending)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                failed.append((pending, type(exc).__name__))
        return delivered, failed

    async def _deliver(self, destination: Destination, group: Sequence[PendingMessage]) -> None:
        if destination is Destination.UNIT_QUEUE:
            items = [QueueItem(unit=str(p.message.target), ticket_id=p.message.ticket_id,
                               fields={k: str(v) for k, v in p.message.payload.items()},
                               dedupe_key=p.message.message_id) for p in group]
            await asyncio.to_thread(self._queues.enqueue, items)
            return
        await self._publisher.publish(CHANNEL_OF[destination], [
            (p.message.key, json.dumps(p.message.payload, ensure_ascii=False).encode("utf-8"))
            for p in group])

    def _backoff(self, attempts: int) -> float:
        # Full exponential backoff with jitter in [50 %, 100 %]: relays that failed together
        # do not retry together.
        ceiling = min(self._max_backoff_seconds, 0.5 * 2.0 ** min(attempts, 20))
        return ceiling * (0.5 + self._jitter() / 2)

    def _count(self, delivered: Sequence[PendingMessage],
               failed: Sequence[tuple[PendingMessage, str]], now: datetime) -> None:
        for pending in delivered:
            message = pending.message
            self._metrics.outbox_delivered.labels(message.destination.value).inc()
            if message.destination is not Destination.TICKET_EVENTS:
                received = datetime.fromisoformat(str(message.payload["received_at"]))
                delay = max((now - received).total_seconds(), 0.0)
                self._metrics.dispatch_delay.labels(
                    str(message.payload.get("hotline", ""))).observe(delay)
        for pending, _error in failed:
            self._metrics.outbox_failures.labels(pending.message.destination.value).inc()

    async def _housekeeping(self) -> None:
        loop = asyncio.get_running_loop()
        if loop.time() - self._backlog_refreshed_at >= _BACKLOG_REFRESH_SECONDS:
            self._backlog_refreshed_at = loop.time()
            count, oldest = await asyncio.to_thread(self._store.backlog)
            self._metrics.outbox_backlog.set(count)
            age = (self._clock() - oldest).total_seconds() if oldest else 0.0
            self._metrics.outbox_oldest_age.set(max(age, 0.0))
        if loop.time() - self._purged_at >= _PURGE_EVERY_SECONDS:
            self._purged_at = loop.time()
            await asyncio.to_thread(self._store.purge_published, self._clock() - _KEEP_PUBLISHED)
