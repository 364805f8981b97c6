"""One batch of intake records, end to end: parse → record → hand off, every outcome counted.

The stream agent and the tests drive this the same way. Failures are sorted in three:
- a malformed record goes to the dead-letter topic with its reason, the rest go on;
- a transient failure (database, Redis or broker away) is retried with backoff, forever:
  nothing is acknowledged until it is done, so nothing is lost;
- any other failure is narrowed to the record that causes it, which is dead-lettered.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import traceback
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal, Protocol, TypeVar

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy.exc import DBAPIError, OperationalError

from connectors.dead_letter import dead_letter_envelope
from connectors.department_queue import DepartmentQueues, QueueEntry
from connectors.exceptions import MalformedCallRecord, QueueUnavailable
from connectors.intake.json_calls import parse_call_bytes
from router.domain.calls import CallRecord, RejectionReason
from router.domain.routing import Disposition
from router.domain.tickets import Ticket
from router.intake_service import CallOutcome, IntakeService
from router.metrics import RouterMetrics
from router.persistence.tickets import TicketRepository

log = logging.getLogger(__name__)

Channel = Literal["dead_letter", "ticket_event", "transfer"]
_T = TypeVar("_T")
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    OperationalError, RedisConnectionError, RedisTimeoutError, QueueUnavailable,
    asyncio.TimeoutError, ConnectionError,
)
_MAX_BACKOFF_SECONDS = 30.0


class Publisher(Protocol):
    async def publish(self, channel: Channel, messages: Sequence[tuple[str, bytes]]) -> None:
        """Send (key, value) messages and return once the broker has acknowledged them all."""


@dataclass(frozen=True, slots=True)
class InboundRecord:
    value: bytes
    topic: str
    partition: int | None = None
    offset: int | None = None


class IntakePipeline:
    def __init__(self, service: IntakeService, repository: TicketRepository,
                 queues: DepartmentQueues, publisher: Publisher, metrics: RouterMetrics,
                 hotlines: Collection[str], max_text_chars: int,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self._service = service
        self._repository = repository
        self._queues = queues
        self._publisher = publisher
        self._metrics = metrics
        self._hotlines = hotlines
        self._max_text_chars = max_text_chars
        self._sleep = sleep

    async def process(self, records: Sequence[InboundRecord]) -> None:
        started = time.perf_counter()
        self._metrics.batch_size.observe(len(records))
        calls: list[tuple[InboundRecord, CallRecord]] = []
        with self._metrics.processing_latency.labels("intake").time():
            for record in records:
                try:
                    call = parse_call_bytes(record.value, self._hotlines, self._max_text_chars)
                except MalformedCallRecord as exc:
                    await self._dead_letter(record, exc.reason, exc.detail)
                    continue
                self._metrics.calls_received.labels(call.hotline, call.channel.value).inc()
                calls.append((record, call))
        await self._record_and_hand_off(calls)
        self._metrics.processing_latency.labels("total").observe(time.perf_counter() - started)

    async def _record_and_hand_off(self, calls: Sequence[tuple[InboundRecord, CallRecord]]
                                   ) -> None:
        if not calls:
            return
        try:
            outcomes = await self._retrying("persist", lambda: asyncio.to_thread(
                self._service.record, [call for _, call in calls], self._observe))
            await self._hand_off(outcomes)
        except TRANSIENT_ERRORS:
            raise  # _retrying only gives up on cancellation
        except Exception as exc:
            if len(calls) > 1:
                # Narrow the failure down to the record that causes it.
                for one in calls:
                    await self._record_and_hand_off([one])
                return
            record, call = calls[0]
            detail = f"{type(exc).__name__} while processing call {call.call_id}"
            log_failure(f"dead-lettering call {call.call_id}", exc)
            await self._dead_letter(record, RejectionReason.PROCESSING_FAILED, detail)
            return
        self._count(outcomes)

    def _observe(self, stage: str, seconds: float) -> None:
        self._metrics.processing_latency.labels(stage).observe(seconds)

    async def _hand_off(self, outcomes: Sequence[CallOutcome]) -> None:
        """Queue, transfer and announce every ticket not yet handed off, then mark it done.

        Each step is idempotent, so a crash anywhere here is mended by the replay of the batch.
        """
        pending = list({o.ticket.ticket_id: o.ticket for o in outcomes
                        if o.ticket.handed_off_at is None}.values())
        if not pending:
            return
        with self._metrics.processing_latency.labels("dispatch").time():
            queued = [QueueEntry(t.unit, t.ticket_id, queue_fields(t)) for t in pending
                      if t.disposition is not Disposition.TRANSFERRED]
            await self._retrying("queue", lambda: asyncio.to_thread(self._queues.enqueue, queued))
            transfers = [(t.ticket_id, transfer_message(t)) for t in pending
                         if t.disposition is Disposition.TRANSFERRED]
            if transfers:
                await self._retrying("transfer", lambda: self._publisher.publish(
                    "transfer", transfers))
            events = [(t.ticket_id, ticket_event(t)) for t in pending]
            await self._retrying("announce", lambda: self._publisher.publish(
                "ticket_event", events))
            done = [t.ticket_id for t in pending]
            handed_off_at = datetime.now(UTC)
            await self._retrying("persist", lambda: asyncio.to_thread(
                self._repository.mark_handed_off, done, handed_off_at))
        for ticket in pending:
            delay = (handed_off_at - ticket.received_at).total_seconds()
            self._metrics.dispatch_delay.labels(ticket.hotline).observe(max(delay, 0.0))

    async def _retrying(self, stage: str, attempt: Callable[[], Awaitable[_T]]) -> _T:
        delay = 0.5
        while True:
            try:
                return await attempt()
            except TRANSIENT_ERRORS as exc:
                transient = exc
            except DBAPIError as exc:
                if not exc.connection_invalidated:
                    raise
                transient = exc
            self._metrics.retries.labels(stage).inc()
            log.warning("%s failed (%s); retrying in %.1f s", stage,
                        type(transient).__name__, delay)
            await self._sleep(delay)
            delay = min(delay * 2, _MAX_BACKOFF_SECONDS)

    async def dead_letter_all(self, records: Sequence[InboundRecord], detail: str) -> None:
        for record in records:
            await self._dead_letter(record, RejectionReason.PROCESSING_FAILED, detail)

    async def _dead_letter(self, record: InboundRecord, reason: RejectionReason,
                           detail: str) -> None:
        self._metrics.dead_letters.labels(reason.value).inc()
        envelope = dead_letter_envelope(record.value, reason.value, detail, record.topic,
                                        record.partition, record.offset, datetime.now(UTC))
        key = f"{record.topic}:{record.partition}:{record.offset}"
        await self._retrying("dead_letter", lambda: self._publisher.publish(
            "dead_letter", [(key, envelope)]))

    def _count(self, outcomes: Sequence[CallOutcome]) -> None:
        for outcome in outcomes:
            ticket = outcome.ticket
            if not outcome.created:
                self._metrics.duplicate_calls.inc()
                continue
            if ticket.disposition is Disposition.DISPATCHED:
                self._metrics.tickets_dispatched.labels(ticket.unit, ticket.category).inc()
            elif ticket.disposition is Disposition.TRANSFERRED:
                self._metrics.emergency_transfers.labels(ticket.emergency_service or "").inc()
            else:
                self._metrics.triage.labels(ticket.rule_id).inc()


def log_failure(what: str, exc: BaseException) -> None:
    """The error's type and where it happened, without its message: messages of database
    and parsing errors can quote the citizen's text or number."""
    frames = "".join(traceback.format_tb(exc.__traceback__))
    log.error("%s: %s\n%s", what, type(exc).__name__, frames)


def queue_fields(ticket: Ticket) -> dict[str, str]:
    # No text and no caller contact in the queue: the unit reads those through the API.
    return {"call_id": ticket.call_id, "hotline": ticket.hotline, "category": ticket.category,
            "urgency": ticket.urgency, "area": ticket.area or "",
            "received_at": ticket.received_at.isoformat()}


def ticket_event(ticket: Ticket, event: str = "ticket.created") -> bytes:
    return json.dumps({
        "event": event, "ticket_id": ticket.ticket_id, "call_id": ticket.call_id,
        "hotline": ticket.hotline, "channel": ticket.channel, "category": ticket.category,
        "confidence": ticket.confidence, "model_version": ticket.model_version,
        "urgency": ticket.urgency, "area": ticket.area, "disposition": ticket.disposition.value,
        "unit": ticket.unit, "rule_id": ticket.rule_id,
        "received_at": ticket.received_at.isoformat(),
        "created_at": ticket.created_at.isoformat(),
    }, ensure_ascii=False).encode("utf-8")


def transfer_message(ticket: Ticket) -> bytes:
    # The emergency line needs everything to act: text, place and how to call back.
    return json.dumps({
        "ticket_id": ticket.ticket_id, "call_id": ticket.call_id,
        "service": ticket.emergency_service, "unit": ticket.unit, "text": ticket.text,
        "place_text": ticket.place_text, "area": ticket.area,
        "caller_contact": ticket.caller_contact, "reason": ticket.route_reason,
        "received_at": ticket.received_at.isoformat(),
    }, ensure_ascii=False).encode("utf-8")
