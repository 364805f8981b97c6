"""A waiting desktop hears of its ticket when this worker commits it."""

from __future__ import annotations

import asyncio

from router.ticket_notices import TicketNotices
from tests.unit.test_pipeline_readiness import TICKET


async def test_a_waiter_gets_the_ticket_of_its_call_and_no_other() -> None:
    notices = TicketNotices()
    mine, other = notices.expect("C1"), notices.expect("C2")
    notices.ticketed(TICKET)  # the ticket of call C1
    assert await asyncio.wait_for(mine, 1) is TICKET
    assert not other.done()
    notices.forget("C2", other)
    notices.ticketed(TICKET)  # nobody waits any more: nothing happens


async def test_a_forgotten_waiter_is_not_resolved() -> None:
    notices = TicketNotices()
    waiter = notices.expect("C1")
    notices.forget("C1", waiter)
    notices.ticketed(TICKET)
    assert not waiter.done()
