"""The dispatcher's desk (人工分拨): send a ticket the machine was unsure of to a unit.

The hand-off comes first and is idempotent (the queue entry is keyed by unit and ticket; a
transfer may be repeated), the database change last and conditional: a dispatcher who
retries after a failure finishes the job, and two dispatchers cannot both send one ticket.
"""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, datetime

from connectors.department_queue import DepartmentQueues, QueueEntry
from router.domain.errors import HotlineRouterError, InvalidTransition
from router.domain.routing import Disposition, RoutingTable
from router.domain.tickets import Ticket, plan_manual_dispatch
from router.persistence.tickets import TicketRepository
from router.pipeline import Publisher, queue_fields, ticket_event, transfer_message


class UnknownTicket(HotlineRouterError):
    pass


class UnknownTarget(HotlineRouterError):
    """The unit or category named by the dispatcher does not exist."""


class TriageDesk:
    def __init__(self, routing: RoutingTable, categories: tuple[str, ...],
                 repository: TicketRepository, queues: DepartmentQueues,
                 publisher: Publisher) -> None:
        self._routing = routing
        self._categories = categories
        self._repository = repository
        self._queues = queues
        self._publisher = publisher

    async def dispatch(self, ticket_id: str, unit_code: str, category: str | None,
                       dispatcher: str) -> Ticket:
        ticket = await asyncio.to_thread(self._repository.get, ticket_id)
        if ticket is None:
            raise UnknownTicket(f"no ticket {ticket_id}")
        unit = self._routing.units.get(unit_code)
        if unit is None:
            raise UnknownTarget(f"no unit {unit_code!r}")
        if category is not None and category not in self._categories:
            raise UnknownTarget(f"no category {category!r}")
        plan = plan_manual_dispatch(ticket, unit, category, dispatcher,
                                    self._service_of(unit.code))
        sent = dataclasses.replace(ticket, unit=plan.unit, category=plan.category,
                                   status=plan.status, disposition=plan.disposition,
                                   rule_id=plan.rule_id, route_reason=plan.reason,
                                   emergency_service=plan.emergency_service
                                   or ticket.emergency_service)
        if plan.disposition is Disposition.TRANSFERRED:
            await self._publisher.publish("transfer", [(ticket_id, transfer_message(sent))])
        else:
            entry = QueueEntry(plan.unit, ticket_id, queue_fields(sent))
            await asyncio.to_thread(self._queues.enqueue, [entry])
        updated = await asyncio.to_thread(self._repository.apply_manual_dispatch, ticket, plan,
                                          dispatcher, datetime.now(UTC))
        if updated is None:
            raise InvalidTransition(f"ticket {ticket_id} was changed by someone else meanwhile")
        await self._publisher.publish("ticket_event",
                                      [(ticket_id, ticket_event(updated, "ticket.dispatched"))])
        return updated

    def _service_of(self, unit: str) -> str | None:
        return next((service for service, code in self._routing.emergency_units.items()
                     if code == unit), None)
