"""What people do to tickets after intake: the dispatcher's desk (人工分拨) and the units'
sign-for (签收). Each action loads the ticket, lets the aggregate decide, and saves the
change with its outbox entries in one transaction; the relay then delivers them. Nothing is
sent before the commit, so the loser of a race sends nothing at all.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from router.domain.errors import ConcurrentChange, HotlineRouterError, InvalidTransition
from router.domain.outbox import messages_for
from router.domain.routing import RoutingTable
from router.domain.tickets import Ticket
from router.ports import Handover, TicketStore


class UnknownTicket(HotlineRouterError):
    pass


class UnknownTarget(HotlineRouterError):
    """The unit or category named by the dispatcher does not exist."""


@dataclass(frozen=True, slots=True)
class Claimed:
    entry_id: str
    ticket: Ticket | None  # None: the entry names a ticket the store does not know


def _utcnow() -> datetime:
    return datetime.now(UTC)


class TicketDesk:
    def __init__(self, routing: RoutingTable, categories: Sequence[str], store: TicketStore,
                 handover: Handover = lambda _messages: None,
                 clock: Callable[[], datetime] = _utcnow) -> None:
        self._routing = routing
        self._categories = frozenset(categories)
        self._store = store
        self._handover = handover
        self._clock = clock

    async def dispatch(self, ticket_id: str, unit_code: str, category: str | None,
                       dispatcher: str) -> Ticket:
        """Send a triage ticket on; InvalidTransition (409) if it is not waiting for a
        dispatcher or another dispatcher sent it first."""
        ticket = await asyncio.to_thread(self._store.get, ticket_id)
        if ticket is None:
            raise UnknownTicket(f"no ticket {ticket_id}")
        unit = self._routing.units.get(unit_code)
        if unit is None:
            raise UnknownTarget(f"no unit {unit_code!r}")
        if category is not None and category not in self._categories:
            raise UnknownTarget(f"no category {category!r}")
        change = ticket.dispatch_manually(unit, category, dispatcher, self._clock(),
                                          emergency_service=self._routing.service_of(unit.code))
        messages = messages_for([change])
        await asyncio.to_thread(self._store.save, [change], messages)
        self._handover(messages)
        return change.ticket

    async def sign_for(self, unit: str, consumer: str, entries: Sequence[tuple[str, str]]
                       ) -> list[Claimed]:
        """签收 the tickets of queue entries (entry id, ticket id) a unit's staff took.

        An entry whose ticket is already signed for (a colleague's entry taken over) is
        handed back as it is; a change that loses a race is read again and tried once more.
        """
        claimed = []
        for entry_id, ticket_id in entries:
            ticket = await asyncio.to_thread(self._sign_one, unit, consumer, ticket_id)
            claimed.append(Claimed(entry_id, ticket))
        return claimed

    def _sign_one(self, unit: str, consumer: str, ticket_id: str) -> Ticket | None:
        for _ in range(3):
            ticket = self._store.get(ticket_id)
            if ticket is None or ticket.unit != unit:
                return None
            try:
                change = ticket.claim(unit, consumer, self._clock())
            except InvalidTransition:
                return ticket
            messages = messages_for([change])
            try:
                self._store.save([change], messages)
            except ConcurrentChange:
                continue
            self._handover(messages)
            return change.ticket
        return self._store.get(ticket_id)
