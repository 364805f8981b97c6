"""The SLA timer: fires each clock's warnings, breach and escalation steps on time.

Every ticket with a running clock carries `next_alarm_at`, the next moment one of its
clocks crosses a level; a partial index holds only those. Each worker looks at the head of
that index, sleeps until the earliest alarm (or `poll_seconds`, to see alarms other workers'
changes added), and takes what is due with FOR UPDATE SKIP LOCKED: the cost of a look is
O(due now), not O(open tickets), and workers never take the same ticket at once.

Exactly once: a level is crossed inside the ticket's own change, saved on the version it
was read at, and recorded in the clock (`crossed`), so no later look, restart or second
worker records it again. A worker that was down catches up on its first look: whatever
came due meanwhile is still in the index, and each event carries the moment the level was
actually crossed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

from router.domain.errors import TransientFailure
from router.domain.outbox import OutboxMessage, messages_for
from router.domain.sla import SlaPolicy
from router.domain.tickets import Ticket, TicketChange
from router.metrics import RouterMetrics
from router.ports import DueTicketStore, Handover

log = logging.getLogger(__name__)

_IDLE_FLOOR_SECONDS = 0.05


def _utcnow() -> datetime:
    return datetime.now(UTC)


class SlaTimer:
    def __init__(self, store: DueTicketStore, policy: SlaPolicy, metrics: RouterMetrics,
                 handover: Handover = lambda _messages: None, batch_size: int = 500,
                 poll_seconds: float = 0.5, clock: Callable[[], datetime] = _utcnow) -> None:
        self._store = store
        self._policy = policy
        self._metrics = metrics
        self._handover = handover
        self._batch_size = batch_size
        self._poll = timedelta(seconds=poll_seconds)
        self._clock = clock
        self.fired = 0  # changes committed by this timer (for tests and the bench)

    def fire_due(self) -> list[TicketChange]:
        """One look: every ticket due by now, up to a batch, settled and saved."""
        now = self._clock()

        def tick(ticket: Ticket) -> TicketChange | None:
            try:
                return ticket.tick(now, self._policy)
            except Exception:
                # One ticket the policy cannot settle (a calendar removed from sla.toml while
                # its clocks run on it) must not stop the others: it stays due, and is logged.
                log.exception("SLA timer: ticket %s could not be settled", ticket.ticket_id)
                self._metrics.timer_failures.inc()
                return None

        written: list[OutboxMessage] = []

        def messages(changes: Sequence[TicketChange]) -> list[OutboxMessage]:
            written.extend(found := messages_for(changes))  # kept for the hand-over
            return found

        changes = self._store.fire_due(now, self._batch_size, tick, messages)
        if changes:
            committed = self._clock()
            self._handover(written)
            self._metrics.observe_changes(changes)
            for change in changes:
                for event in change.events:
                    self._metrics.alarm_lag.observe(
                        max((committed - event.occurred_at).total_seconds(), 0.0))
            self.fired += len(changes)
        return changes

    def seconds_to_next_look(self) -> float:
        upcoming = self._store.next_alarm()
        now = self._clock()
        wait = self._poll if upcoming is None else min(max(upcoming - now, timedelta(0)),
                                                       self._poll)
        return wait.total_seconds()

    def wait_after(self, changes: Sequence[TicketChange]) -> float:
        """Seconds to sleep after a look that made `changes`: none while a full batch says
        more are due; else until the next alarm, at most `poll_seconds`, and never spinning
        on an alarm that is due but was not taken (another worker holds it)."""
        if len(changes) >= self._batch_size:
            return 0.0
        wait = self.seconds_to_next_look()
        return wait if changes else max(wait, _IDLE_FLOOR_SECONDS)

    async def run(self) -> None:
        backoff = 0.5
        while True:
            try:
                changes = await asyncio.to_thread(self.fire_due)
                wait = await asyncio.to_thread(self.wait_after, changes)
                backoff = 0.5
            except TransientFailure as exc:
                log.warning("SLA timer: %s; looking again in %.1f s", exc, backoff)
                wait, backoff = backoff, min(backoff * 2, 30.0)
            except Exception:
                # Never let the loop die while the worker looks alive: log, count, go on.
                log.exception("SLA timer: a look failed; looking again in %.1f s", backoff)
                self._metrics.timer_failures.inc()
                wait, backoff = backoff, min(backoff * 2, 30.0)
            if wait:
                await asyncio.sleep(wait)
