"""What people do to tickets after intake: the dispatch centre's desk (人工分拨, 审定, 延期,
回访, merging, 督办) and the units' work (签收, contact, 办结, 退单, 挂起). Each action loads the
ticket, lets the aggregate decide, and saves the change with its outbox entries in one
transaction; the relay then delivers them. Nothing is sent before the commit, so the loser
of a race sends nothing at all. A change that loses a race is read again and tried again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from router.domain.calls import caller_key
from router.domain.errors import ConcurrentChange, HotlineRouterError, InvalidTransition
from router.domain.outbox import messages_for
from router.domain.routing import Disposition, RoutingTable, Unit
from router.domain.sla import SlaPolicy
from router.domain.tickets import (
    ReturnReason,
    Satisfaction,
    Ticket,
    TicketChange,
    initial_status,
    ticket_id_for,
)
from router.ports import Handover, SplitReport, TicketStore


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


Decision = Callable[[Ticket, datetime], TicketChange]
_ATTEMPTS = 3


class TicketDesk:
    def __init__(self, routing: RoutingTable, categories: Sequence[str], store: TicketStore,
                 policy: SlaPolicy, handover: Handover = lambda _messages: None,
                 clock: Callable[[], datetime] = _utcnow,
                 observe: Callable[[Sequence[TicketChange]], None] = lambda _changes: None
                 ) -> None:
        self._routing = routing
        self._categories = frozenset(categories)
        self._store = store
        self._policy = policy
        self._handover = handover
        self._clock = clock
        self._observe = observe

    # -- the dispatch centre ------------------------------------------------------------

    async def dispatch(self, ticket_id: str, unit_code: str, category: str | None,
                       dispatcher: str) -> Ticket:
        """Send a triage or returned ticket on; InvalidTransition (409) if it is not waiting
        for a dispatcher or another dispatcher sent it first."""
        unit = self._unit(unit_code)
        if category is not None and category not in self._categories:
            raise UnknownTarget(f"no category {category!r}")
        service = self._routing.service_of(unit.code)
        return await self._act(ticket_id, lambda t, at: t.dispatch_manually(
            unit, category, dispatcher, at, self._policy, emergency_service=service))

    async def rule(self, ticket_id: str, unit_code: str, dispatcher: str, note: str | None
                   ) -> Ticket:
        unit = self._unit(unit_code)
        return await self._act(ticket_id, lambda t, at: t.rule(unit, dispatcher, note, at,
                                                                  self._policy))

    async def decide_extension(self, ticket_id: str, grant: bool, dispatcher: str,
                               note: str | None) -> Ticket:
        return await self._act(ticket_id, lambda t, at: t.decide_extension(
            grant, dispatcher, note, at, self._policy))

    async def record_callback(self, ticket_id: str, dispatcher: str, reached: bool,
                              solved: bool | None, satisfaction: Satisfaction | None,
                              note: str | None) -> Ticket:
        return await self._act(ticket_id, lambda t, at: t.record_callback(
            dispatcher, reached, solved, satisfaction, note, at, self._policy))

    async def close(self, ticket_id: str, dispatcher: str, reason: str) -> Ticket:
        return await self._act(ticket_id, lambda t, at: t.close(dispatcher, reason, at,
                                                                   self._policy))

    async def escalate(self, ticket_id: str, dispatcher: str, reason: str) -> Ticket:
        return await self._act(ticket_id, lambda t, at: t.escalate(dispatcher, reason, at,
                                                                      self._policy))

    async def merge(self, ticket_id: str, into_id: str, dispatcher: str) -> Ticket:
        """Attach a duplicate to the ticket it repeats; both change in one transaction."""
        return await asyncio.to_thread(self._merge, ticket_id, into_id, dispatcher)

    def _merge(self, ticket_id: str, into_id: str, dispatcher: str) -> Ticket:
        for _ in range(_ATTEMPTS):
            duplicate, original = self._store.get(ticket_id), self._store.get(into_id)
            if duplicate is None:
                raise UnknownTicket(f"no ticket {ticket_id}")
            if original is None:
                raise UnknownTicket(f"no ticket {into_id}")
            changes = duplicate.merge_into(original, dispatcher, self._clock(), self._policy)
            try:
                self._save(changes)
            except ConcurrentChange:
                continue
            # Derived from the merge, after it: a failure here leaves the duplicate's incident
            # taking no reports (its lead is merged), never a ticket half merged.
            self._store.merge_incidents(ticket_id, into_id)
            return changes[0].ticket
        raise ConcurrentChange(f"ticket {ticket_id} kept changing; try again",
                               current=None)

    async def split_report(self, incident_id: str, call_id: str, dispatcher: str) -> Ticket:
        """A report wrongly attached to an incident becomes a ticket of its own, waiting in
        the dispatchers' queue (人工分拨) with the incident's category as a first guess."""
        return await asyncio.to_thread(self._split, incident_id, call_id, dispatcher)

    def _split(self, incident_id: str, call_id: str, dispatcher: str) -> Ticket:
        built: list[TicketChange] = []

        def build(report: SplitReport, lead: Ticket) -> tuple[TicketChange, TicketChange]:
            at = self._clock()
            ticket = Ticket(
                ticket_id=ticket_id_for(report.call_id), call_id=report.call_id,
                hotline=report.hotline, channel=report.channel,
                received_at=report.received_at, created_at=at, text=report.text,
                caller_contact=report.caller_contact, place_text=report.place_text,
                area=report.area, category=lead.category, confidence=0.0,
                suggested_category=lead.suggested_category, model_version=lead.model_version,
                urgency=report.urgency or lead.urgency, emergency_service=None,
                disposition=Disposition.TRIAGE, unit=self._routing.dispatcher_unit,
                rule_id="split-from-incident",
                route_reason=f"split off incident {incident_id} by {dispatcher}",
                status=initial_status(Disposition.TRIAGE), raw_payload=report.raw_payload,
                caller_key=caller_key(report.caller_contact))
            changes = (ticket.open(self._policy), lead.record_split(
                incident_id, report.call_id, ticket.ticket_id, dispatcher, at, self._policy))
            built[:] = changes
            return changes

        for _ in range(_ATTEMPTS):
            try:
                ticket = self._store.split_report(incident_id, call_id, build)
            except ConcurrentChange:
                continue
            self._handover(messages_for(built))  # what the transaction wrote to the outbox
            return ticket
        raise ConcurrentChange(f"incident {incident_id} kept changing; try again", current=None)

    # -- the units ----------------------------------------------------------------------

    async def contact(self, unit: str, ticket_id: str, actor: str, note: str) -> Ticket:
        return await self._act(ticket_id, lambda t, at: t.contact(unit, actor, note, at,
                                                                     self._policy))

    async def resolve(self, unit: str, ticket_id: str, actor: str, reply: str) -> Ticket:
        return await self._act(ticket_id, lambda t, at: t.resolve(unit, actor, reply, at,
                                                                     self._policy))

    async def request_extension(self, unit: str, ticket_id: str, actor: str, reason: str,
                                due_at: datetime) -> Ticket:
        return await self._act(ticket_id, lambda t, at: t.request_extension(
            unit, actor, reason, due_at, at, self._policy))

    async def return_ticket(self, unit: str, ticket_id: str, actor: str, reason: ReturnReason,
                            text: str | None) -> Ticket:
        centre = self._routing.dispatcher_unit
        return await self._act(ticket_id, lambda t, at: t.return_to_dispatcher(
            unit, actor, reason, text, centre, at, self._policy))

    async def suspend(self, unit: str, ticket_id: str, actor: str, reason: str) -> Ticket:
        return await self._act(ticket_id, lambda t, at: t.suspend(unit, actor, reason, at,
                                                                     self._policy))

    async def resume(self, unit: str, ticket_id: str, actor: str) -> Ticket:
        return await self._act(ticket_id, lambda t, at: t.resume(unit, actor, at, self._policy))

    async def sign_for(self, unit: str, consumer: str, entries: Sequence[tuple[str, str]]
                       ) -> list[Claimed]:
        """签收 the tickets of queue entries (entry id, ticket id) a unit's staff took.

        An entry whose ticket is already signed for (a colleague's entry taken over) is
        handed back as it is; one whose ticket left the unit comes back without it.
        """
        claimed = []
        for entry_id, ticket_id in entries:
            ticket = await asyncio.to_thread(self._sign_one, unit, consumer, ticket_id)
            claimed.append(Claimed(entry_id, ticket))
        return claimed

    def _sign_one(self, unit: str, consumer: str, ticket_id: str) -> Ticket | None:
        for _ in range(_ATTEMPTS):
            ticket = self._store.get(ticket_id)
            if ticket is None or ticket.unit != unit:
                return None
            try:
                change = ticket.claim(unit, consumer, self._clock(), self._policy)
            except InvalidTransition:
                return ticket
            try:
                self._save([change])
            except ConcurrentChange:
                continue
            return change.ticket
        return self._store.get(ticket_id)

    # -- one way to change a ticket -----------------------------------------------------

    async def _act(self, ticket_id: str, decide: Decision) -> Ticket:
        return await asyncio.to_thread(self._act_now, ticket_id, decide)

    def _act_now(self, ticket_id: str, decide: Decision) -> Ticket:
        for attempt in range(_ATTEMPTS):
            ticket = self._store.get(ticket_id)
            if ticket is None:
                raise UnknownTicket(f"no ticket {ticket_id}")
            change = decide(ticket, self._clock())
            try:
                self._save([change])
            except ConcurrentChange:
                if attempt == _ATTEMPTS - 1:
                    raise
                continue
            return change.ticket
        raise AssertionError("unreachable")  # pragma: no cover

    def _save(self, changes: Sequence[TicketChange]) -> None:
        messages = messages_for(changes)
        self._store.save(changes, messages)
        self._handover(messages)
        self._observe(changes)

    def _unit(self, code: str) -> Unit:
        unit = self._routing.units.get(code)
        if unit is None:
            raise UnknownTarget(f"no unit {code!r}")
        return unit
