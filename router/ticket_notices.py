"""Tells a waiting agent desktop the moment its call's ticket exists.

`POST /api/v1/calls` publishes the call to the intake topic like any other source; when this
worker's intake commits the ticket, the waiter wakes at once instead of polling. A call whose
partition belongs to another worker is found by the slower look at the database.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict

from router.domain.tickets import Ticket


class TicketNotices:
    """Futures keyed by call id, resolved on the event loop that created them."""

    def __init__(self) -> None:
        self._waiting: defaultdict[str, list[asyncio.Future[Ticket]]] = defaultdict(list)

    def expect(self, call_id: str) -> asyncio.Future[Ticket]:
        waiter: asyncio.Future[Ticket] = asyncio.get_running_loop().create_future()
        self._waiting[call_id].append(waiter)
        return waiter

    def forget(self, call_id: str, waiter: asyncio.Future[Ticket]) -> None:
        waiters = self._waiting.get(call_id)
        if waiters and waiter in waiters:
            waiters.remove(waiter)
            if not waiters:
                del self._waiting[call_id]

    def ticketed(self, ticket: Ticket, call_id: str | None = None) -> None:
        """The call's ticket is committed: its own, or the one a repeat was counted on; or
        the call was refused, and this is the ticket its id already names."""
        for waiter in self._waiting.pop(call_id or ticket.call_id, []):
            if not waiter.done():
                waiter.set_result(ticket)
