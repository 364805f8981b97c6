"""One batch of intake records, end to end: parse → record, every outcome counted.

The stream agent and the tests drive this the same way. Recording a call commits its ticket,
its event and its outbox entry together, and hands the entry to the outbox relay. Failures
are sorted in three:
- a malformed record goes to the dead-letter topic with its reason, the rest go on;
- a transient failure (database, Redis or broker away) is retried with backoff, forever:
  nothing is acknowledged until it is done, so nothing is lost;
- any other failure is narrowed to the record that causes it, which is dead-lettered.
"""

from __future__ import annotations

import asyncio
import logging
import time
import traceback
from collections.abc import Awaitable, Callable, Collection, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar

from connectors.dead_letter import dead_letter_envelope
from connectors.exceptions import MalformedCallRecord
from connectors.intake.json_calls import parse_call_bytes
from router.domain.calls import CallRecord, RejectionReason
from router.domain.errors import HotlineRouterError, TransientFailure
from router.domain.routing import Disposition
from router.intake_service import CallOutcome, IntakeService
from router.metrics import RouterMetrics
from router.ports import Publisher
from router.ticket_notices import TicketNotices

log = logging.getLogger(__name__)

_T = TypeVar("_T")
_MAX_BACKOFF_SECONDS = 30.0


class IntakeStuck(HotlineRouterError):
    """The intake agent has not finished a batch for longer than allowed."""


@dataclass(frozen=True, slots=True)
class InboundRecord:
    value: bytes
    topic: str
    partition: int | None = None
    offset: int | None = None


class IntakePipeline:
    def __init__(self, service: IntakeService, publisher: Publisher, metrics: RouterMetrics,
                 hotlines: Collection[str], max_text_chars: int,
                 categories: Collection[str] | None = None,
                 notices: TicketNotices | None = None,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
                 threads: int = 1) -> None:
        self._service = service
        # Batches are recorded on threads of their own: in the loop's shared pool they waited
        # behind the API's reads whenever many agents were waiting for their tickets.
        self._threads = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="intake")
        self._publisher = publisher
        self._metrics = metrics
        self._hotlines = hotlines
        self._max_text_chars = max_text_chars
        self._categories = categories
        self._notices = notices or TicketNotices()
        self._in_progress: list[float] = []  # start times of the batches being processed
        self._sleep = sleep

    def check_not_stuck(self, limit_seconds: float) -> None:
        """IntakeStuck while a batch has been in progress for longer than the limit: a worker
        retrying an outage for that long should not be called ready."""
        if self._in_progress:
            going = time.monotonic() - min(self._in_progress)
            if going > limit_seconds:
                raise IntakeStuck(f"a batch has been in progress for {going:.0f} s")

    async def process(self, records: Sequence[InboundRecord]) -> None:
        begun = time.monotonic()
        self._in_progress.append(begun)
        try:
            await self._process(records)
        finally:
            self._in_progress.remove(begun)

    async def _process(self, records: Sequence[InboundRecord]) -> None:
        started = time.perf_counter()
        self._metrics.batch_size.observe(len(records))
        calls: list[tuple[InboundRecord, CallRecord]] = []
        with self._metrics.processing_latency.labels("intake").time():
            for record in records:
                try:
                    call = parse_call_bytes(record.value, self._hotlines, self._max_text_chars,
                                            categories=self._categories)
                except MalformedCallRecord as exc:
                    await self._dead_letter(record, exc.reason, exc.detail)
                    continue
                self._metrics.calls_received.labels(call.hotline, call.channel.value).inc()
                calls.append((record, call))
        await self._record(calls)
        self._metrics.processing_latency.labels("total").observe(time.perf_counter() - started)

    async def _record(self, calls: Sequence[tuple[InboundRecord, CallRecord]]
                                   ) -> None:
        if not calls:
            return
        try:
            outcomes = await self._retrying("persist", lambda: asyncio.get_running_loop(
                ).run_in_executor(self._threads, self._service.record,
                                  [call for _, call in calls], self._observe))
        except TransientFailure:
            raise  # _retrying only gives up on cancellation
        except Exception as exc:
            if len(calls) > 1:
                # Narrow the failure down to the record that causes it.
                for one in calls:
                    await self._record([one])
                return
            record, call = calls[0]
            detail = f"{type(exc).__name__} while processing call {call.call_id}"
            log_failure(f"dead-lettering call {call.call_id}", exc)
            await self._dead_letter(record, RejectionReason.PROCESSING_FAILED, detail)
            return
        for (record, call), outcome in zip(calls, outcomes, strict=True):
            # a waiting desktop hears of a clash too: the ticket its id names tells it why
            self._notices.ticketed(outcome.ticket, call.call_id)
            if outcome.conflict:
                log.warning("call id %s names the ticket of a different call", call.call_id)
                await self._dead_letter(record, RejectionReason.CALL_ID_CONFLICT,
                                        f"call id {call.call_id} already names ticket"
                                        f" {outcome.ticket.ticket_id} of a different call")
        self._count(outcomes)

    def _observe(self, stage: str, seconds: float) -> None:
        self._metrics.processing_latency.labels(stage).observe(seconds)

    async def _retrying(self, stage: str, attempt: Callable[[], Awaitable[_T]]) -> _T:
        delay = 0.5
        while True:
            try:
                return await attempt()
            except TransientFailure as exc:
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
            if outcome.conflict:
                continue  # dead-lettered and counted there
            if outcome.repeat:
                self._metrics.ticket_events.labels("repeat_reported", ticket.unit,
                                                   ticket.category).inc()
                continue
            if not outcome.created:
                self._metrics.duplicate_calls.inc()
                continue
            self._metrics.ticket_events.labels("created", ticket.unit, ticket.category).inc()
            self._metrics.classifier_confidence.labels(ticket.suggested_category).observe(
                ticket.confidence)
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
