"""A worker whose intake batch has been going on too long is not ready."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

import pytest

from router.domain.calls import CallRecord
from router.domain.routing import Disposition
from router.domain.tickets import Ticket, TicketStatus
from router.intake_service import CallOutcome
from router.metrics import RouterMetrics
from router.pipeline import InboundRecord, IntakePipeline, IntakeStuck
from router.ports import Channel

RECORD = InboundRecord('{"call_id": "C1", "hotline": "12345", "text": "路灯不亮"}'.encode(),
                       "calls")


TICKET = Ticket(
    ticket_id="T1", call_id="C1", hotline="12345", channel="phone",
    received_at=datetime(2026, 12, 1, tzinfo=UTC), created_at=datetime(2026, 12, 1, tzinfo=UTC),
    text="路灯不亮", caller_contact=None, place_text=None, area=None, category="城乡建设",
    confidence=0.9, suggested_category="城乡建设", model_version="m", urgency="general",
    emergency_service=None, disposition=Disposition.DISPATCHED, unit="urban-management",
    rule_id="r", route_reason="r", status=TicketStatus.DISPATCHED, version=1)


class SlowService:
    """Intake that takes as long as the test says (a database that does not answer)."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.loop = asyncio.get_event_loop()

    def record(self, calls: Sequence[CallRecord],
               observe: Callable[[str, float], None]) -> list[CallOutcome]:
        asyncio.run_coroutine_threadsafe(self.release.wait(), self.loop).result(10)
        return [CallOutcome(TICKET, created=False) for _ in calls]  # a replay: nothing to count


class NoPublisher:
    async def publish(self, channel: Channel, messages: Sequence[tuple[str, bytes]]) -> None:
        raise AssertionError("nothing should be dead-lettered")


async def test_a_batch_in_progress_beyond_the_limit_makes_the_worker_not_ready() -> None:
    service = SlowService()
    pipeline = IntakePipeline(service, NoPublisher(), RouterMetrics(),  # type: ignore[arg-type]
                              {"12345"}, 100)
    pipeline.check_not_stuck(0)  # idle: ready
    batch = asyncio.ensure_future(pipeline.process([RECORD]))
    await asyncio.sleep(0.05)
    pipeline.check_not_stuck(60)
    with pytest.raises(IntakeStuck, match="in progress for"):
        pipeline.check_not_stuck(0)
    service.release.set()
    await batch
    pipeline.check_not_stuck(0)  # finished: ready again
