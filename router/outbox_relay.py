"""The outbox relay: delivers what committed changes must tell the outside world.

Every change to a ticket is saved with its outbox entry in one transaction; this relay then
delivers each entry to its destinations (the unit's Redis stream, the ticket-events topic,
the emergency-transfers topic) and deletes it. Entries committed in this process are
written leased to it and handed over in memory, so the common path costs no query; the relay
also looks for due entries in the table (those of a worker that died, or put back after a
failure). It survives a SIGKILL anywhere: an entry is deleted only after delivery, so it is
delivered again once its lease runs out. Redis stays exactly-once through the queue's dedupe
marker; Kafka destinations are at-least-once and carry the `event_id`, by which a consumer
recognises a repeat.

A failed delivery is retried with exponential backoff and jitter, entry by entry once a batch
fails, so one undeliverable entry never holds up the others. Nothing is ever dropped: the
backlog and the age of its oldest entry are metrics (set by the worker computing the
city's gauges, router/city_gauges.py), and an alert watches them.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import logging
import random
import traceback
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta

from router.domain.errors import TransientFailure
from router.domain.outbox import Delivery, Destination, OutboxMessage
from router.metrics import RouterMetrics
from router.ports import CHANNEL_OF, OutboxStore, PendingMessage, Publisher, QueueItem, WorkQueues

log = logging.getLogger(__name__)



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
        # Bounded: past it, entries wait in the table for their lease to run out instead.
        self._handed_over: collections.deque[OutboxMessage] = collections.deque(
            maxlen=batch_size * 20)

    def hand_over(self, messages: Sequence[OutboxMessage]) -> None:
        """Entries this process just committed (leased to it): deliver them now. Safe to call
        from any thread (the services commit in worker threads)."""
        self._handed_over.extend(messages)
        self.wake()

    def wake(self) -> None:
        """Something was committed: look now rather than at the next poll. Safe to call
        from any thread."""
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
        loop = self._loop = asyncio.get_running_loop()
        failures = 0
        polled_at = float("-inf")
        while True:
            # Cleared before looking, so a hand-over during the delivery is not missed.
            self._wake.clear()
            polled = 0
            try:
                handed = await self.deliver_handed_over()
                # The table is looked at when idle, and at least every poll interval while
                # busy: the hand-over path needs no query.
                if not handed or loop.time() - polled_at >= self._idle_poll_seconds:
                    polled_at = loop.time()
                    polled = await self.deliver_due()
                failures = 0
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a bug must not end deliveries while the worker lives
                failures += 1
                delay = self._backoff(failures)
                self._metrics.retries.labels("outbox").inc()
                if isinstance(exc, TransientFailure):
                    log.warning("outbox relay paused (%s); retrying in %.1f s",
                                type(exc).__name__, delay)
                else:  # type and place only: messages can quote a citizen's text
                    log.error("outbox relay failed (%s); retrying in %.1f s\n%s",
                              type(exc).__name__, delay,
                              "".join(traceback.format_tb(exc.__traceback__)))
                await self._sleep(delay)
                continue
            if self._handed_over or polled >= self._batch_size or self._wake.is_set():
                continue
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._idle_poll_seconds)

    async def deliver_handed_over(self) -> int:
        """Deliver one batch of the entries handed over in memory."""
        batch: list[PendingMessage] = []
        while self._handed_over and len(batch) < self._batch_size:
            batch.append(PendingMessage(self._handed_over.popleft(), attempts=0))
        if batch:
            await self._deliver_batch(batch)
        return len(batch)

    async def deliver_due(self) -> int:
        """Deliver one batch of due entries from the table; returns how many were leased."""
        leased = await asyncio.to_thread(self._store.lease_due, self._batch_size,
                                         self._lease_seconds, self._clock())
        if leased:
            await self._deliver_batch(leased)
        return len(leased)

    async def _deliver_batch(self, batch: Sequence[PendingMessage]) -> None:
        by_destination: dict[Destination, list[tuple[PendingMessage, Delivery]]] = {}
        for pending in batch:
            for delivery in pending.message.deliveries:
                by_destination.setdefault(delivery.destination, []).append((pending, delivery))
        failed: dict[str, tuple[PendingMessage, str]] = {}
        for destination, group in by_destination.items():
            for pending, error in await self._deliver_group(destination, group):
                failed.setdefault(pending.message.message_id, (pending, error))
        delivered = [p for p in batch if p.message.message_id not in failed]
        now = self._clock()
        await asyncio.to_thread(self._store.mark_published,
                                [p.message.message_id for p in delivered])
        for pending, error in failed.values():
            delay = self._backoff(pending.attempts + 1)
            log.warning("outbox entry %s failed (%s) on attempt %d; retrying in %.1f s",
                        pending.message.message_id, error, pending.attempts + 1, delay)
            await asyncio.to_thread(self._store.retry_later, [pending.message.message_id],
                                    now + timedelta(seconds=delay), error)
        self._count(delivered, [pending for pending, _ in failed.values()], now)

    async def _deliver_group(self, destination: Destination,
                             group: Sequence[tuple[PendingMessage, Delivery]]
                             ) -> list[tuple[PendingMessage, str]]:
        """The entries whose delivery to `destination` failed, with the error's type."""
        try:
            await self._deliver(destination, group)
            return []
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            if len(group) == 1:
                return [(group[0][0], type(exc).__name__)]
        failed = []
        for item in group:  # narrow the failure down to the entries that cause it
            try:
                await self._deliver(destination, [item])
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                failed.append((item[0], type(exc).__name__))
        return failed

    async def _deliver(self, destination: Destination,
                       group: Sequence[tuple[PendingMessage, Delivery]]) -> None:
        if destination is Destination.UNIT_QUEUE:
            items = [QueueItem(unit=str(d.target), ticket_id=p.message.ticket_id,
                               fields={k: str(v) for k, v in d.payload.items()},
                               dedupe_key=p.message.dedupe_key(d)) for p, d in group]
            await asyncio.to_thread(self._queues.enqueue, items)
            return
        await self._publisher.publish(CHANNEL_OF[destination], [
            (d.key, json.dumps(d.payload, ensure_ascii=False).encode("utf-8"))
            for _, d in group])

    def _backoff(self, attempts: int) -> float:
        # Full exponential backoff with jitter in [50 %, 100 %]: relays that failed together
        # do not retry together.
        ceiling = min(self._max_backoff_seconds, 0.5 * 2.0 ** min(attempts, 20))
        return ceiling * (0.5 + self._jitter() / 2)

    def _count(self, delivered: Sequence[PendingMessage], failed: Sequence[PendingMessage],
               now: datetime) -> None:
        for pending in delivered:
            for delivery in pending.message.deliveries:
                self._metrics.outbox_delivered.labels(delivery.destination.value).inc()
                if delivery.destination is Destination.TICKET_EVENTS:
                    continue
                received = datetime.fromisoformat(str(delivery.payload["received_at"]))
                self._metrics.dispatch_delay.labels(pending.message.hotline).observe(
                    max((now - received).total_seconds(), 0.0))
        if failed:
            self._metrics.outbox_failures.inc(len(failed))
