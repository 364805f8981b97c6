"""The ticket repository: idempotent creation, hand-off bookkeeping, claims, audit trail."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, RowMapping, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from router.domain.routing import Disposition
from router.domain.tickets import ManualDispatch, Ticket, TicketStatus, statuses_that_may_become
from router.persistence.schema import ticket_events, tickets

_CLAIMABLE = sorted(s.value for s in statuses_that_may_become(TicketStatus.CLAIMED))


class TicketRepository:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        # Both dialects' insert() offer ON CONFLICT DO NOTHING with RETURNING.
        dialects: dict[str, Callable[..., Any]] = {"postgresql": postgresql.insert,
                                                    "sqlite": sqlite.insert}
        if engine.dialect.name not in dialects:
            raise ValueError(f"unsupported database {engine.dialect.name!r}")
        self._insert = dialects[engine.dialect.name]

    def find_by_call_ids(self, call_ids: Iterable[str]) -> dict[str, Ticket]:
        ids = list(call_ids)
        if not ids:
            return {}
        with self._engine.connect() as connection:
            rows = connection.execute(select(tickets).where(tickets.c.call_id.in_(ids)))
            return {row.call_id: _ticket(row._mapping) for row in rows}

    def create(self, new_tickets: Sequence[Ticket]) -> set[str]:
        """Insert the tickets whose call id is new; returns the call ids actually created.

        ON CONFLICT DO NOTHING makes a concurrent or replayed insert of the same call a no-op,
        in the database itself, so two workers can never create the same ticket twice.
        """
        if not new_tickets:
            return set()
        statement = (self._insert(tickets).on_conflict_do_nothing(index_elements=["call_id"])
                     .returning(tickets.c.call_id, tickets.c.ticket_id))
        with self._engine.begin() as connection:
            created = {
                row.call_id: row.ticket_id
                for row in connection.execute(statement, [_row(t) for t in new_tickets])
            }
            by_id = {t.ticket_id: t for t in new_tickets}
            events = [
                {"ticket_id": ticket_id, "occurred_at": by_id[ticket_id].created_at,
                 "kind": "created", "actor": by_id[ticket_id].override_agent_id,
                 "detail": _created_detail(by_id[ticket_id])}
                for ticket_id in created.values()
            ]
            if events:
                connection.execute(insert(ticket_events), events)
        return set(created)

    def mark_handed_off(self, ticket_ids: Sequence[str], at: datetime) -> None:
        if not ticket_ids:
            return
        with self._engine.begin() as connection:
            connection.execute(update(tickets).where(tickets.c.ticket_id.in_(ticket_ids))
                               .where(tickets.c.handed_off_at.is_(None))
                               .values(handed_off_at=at, updated_at=at))

    def claim(self, unit: str, ticket_ids: Sequence[str], consumer: str, at: datetime) -> list[str]:
        """签收: mark the unit's waiting tickets as claimed by `consumer`; returns those claimed."""
        if not ticket_ids:
            return []
        with self._engine.begin() as connection:
            claimed = [row.ticket_id for row in connection.execute(
                update(tickets)
                .where(tickets.c.ticket_id.in_(ticket_ids), tickets.c.unit == unit,
                       tickets.c.status.in_(_CLAIMABLE))
                .values(status=TicketStatus.CLAIMED.value, claimed_by=consumer, claimed_at=at,
                        updated_at=at)
                .returning(tickets.c.ticket_id))]
            if claimed:
                connection.execute(insert(ticket_events), [
                    {"ticket_id": ticket_id, "occurred_at": at, "kind": "claimed",
                     "actor": consumer, "detail": {"unit": unit}} for ticket_id in claimed])
        return claimed

    def apply_manual_dispatch(self, ticket: Ticket, plan: ManualDispatch, actor: str,
                              at: datetime) -> Ticket | None:
        """Send a triage ticket on, unless someone else changed it first (then None)."""
        with self._engine.begin() as connection:
            changed = connection.execute(
                update(tickets)
                .where(tickets.c.ticket_id == ticket.ticket_id,
                       tickets.c.status == ticket.status.value,
                       tickets.c.unit == ticket.unit)
                .values(unit=plan.unit, category=plan.category, status=plan.status.value,
                        disposition=plan.disposition.value, rule_id=plan.rule_id,
                        route_reason=plan.reason, claimed_by=None, claimed_at=None,
                        emergency_service=plan.emergency_service or ticket.emergency_service,
                        handed_off_at=at, updated_at=at)).rowcount
            if not changed:
                return None
            connection.execute(insert(ticket_events), [{
                "ticket_id": ticket.ticket_id, "occurred_at": at, "kind": "dispatched",
                "actor": actor, "detail": {"from_unit": ticket.unit, "unit": plan.unit,
                                           "category": plan.category,
                                           "reason": plan.reason}}])
        return self.get(ticket.ticket_id)

    def get(self, ticket_id: str) -> Ticket | None:
        with self._engine.connect() as connection:
            row = connection.execute(
                select(tickets).where(tickets.c.ticket_id == ticket_id)).first()
        return _ticket(row._mapping) if row else None

    def get_many(self, ticket_ids: Sequence[str]) -> list[Ticket]:
        with self._engine.connect() as connection:
            rows = connection.execute(select(tickets).where(tickets.c.ticket_id.in_(ticket_ids)))
            found = {row.ticket_id: _ticket(row._mapping) for row in rows}
        return [found[i] for i in ticket_ids if i in found]

    def events(self, ticket_id: str) -> list[dict[str, Any]]:
        with self._engine.connect() as connection:
            rows = connection.execute(select(ticket_events)
                                      .where(ticket_events.c.ticket_id == ticket_id)
                                      .order_by(ticket_events.c.event_id))
            return [dict(row._mapping) for row in rows]

    def count_by(self, *columns: str) -> dict[tuple[str, ...], int]:
        """Ticket counts grouped by the named columns (for summaries and reports)."""
        keys = [tickets.c[name] for name in columns]
        with self._engine.connect() as connection:
            rows = connection.execute(select(*keys, func.count()).group_by(*keys))
            return {tuple(row[:-1]): int(row[-1]) for row in rows}

    def corrections(self) -> list[dict[str, str]]:
        """Tickets whose category an agent changed: (text, label) rows for retraining."""
        with self._engine.connect() as connection:
            rows = connection.execute(
                select(tickets.c.text, tickets.c.category)
                .where(tickets.c.category != tickets.c.suggested_category)
                .order_by(tickets.c.created_at))
            return [{"text": row.text, "label": row.category} for row in rows]


def _row(ticket: Ticket) -> dict[str, Any]:
    return {
        "ticket_id": ticket.ticket_id, "call_id": ticket.call_id, "hotline": ticket.hotline,
        "channel": ticket.channel, "received_at": ticket.received_at,
        "created_at": ticket.created_at, "updated_at": ticket.created_at,
        "caller_contact": ticket.caller_contact, "text": ticket.text,
        "place_text": ticket.place_text, "area": ticket.area, "category": ticket.category,
        "confidence": ticket.confidence, "suggested_category": ticket.suggested_category,
        "model_version": ticket.model_version, "urgency": ticket.urgency,
        "emergency_service": ticket.emergency_service,
        "disposition": ticket.disposition.value, "unit": ticket.unit,
        "rule_id": ticket.rule_id, "route_reason": ticket.route_reason,
        "status": ticket.status.value, "override_agent_id": ticket.override_agent_id,
        "raw_payload": dict(ticket.raw_payload), "handed_off_at": None,
    }


def _created_detail(ticket: Ticket) -> dict[str, Any]:
    return {"disposition": ticket.disposition.value, "unit": ticket.unit,
            "rule_id": ticket.rule_id, "reason": ticket.route_reason,
            "category": ticket.category, "confidence": ticket.confidence,
            "suggested_category": ticket.suggested_category,
            "model_version": ticket.model_version, "urgency": ticket.urgency}


def _ticket(row: Mapping[str, Any] | RowMapping) -> Ticket:
    return Ticket(
        ticket_id=row["ticket_id"], call_id=row["call_id"], hotline=row["hotline"],
        channel=row["channel"], received_at=row["received_at"], created_at=row["created_at"],
        text=row["text"], caller_contact=row["caller_contact"], place_text=row["place_text"],
        area=row["area"], category=row["category"], confidence=row["confidence"],
        suggested_category=row["suggested_category"], model_version=row["model_version"],
        urgency=row["urgency"], emergency_service=row["emergency_service"],
        disposition=Disposition(row["disposition"]), unit=row["unit"], rule_id=row["rule_id"],
        route_reason=row["route_reason"], status=TicketStatus(row["status"]),
        override_agent_id=row["override_agent_id"], raw_payload=row["raw_payload"],
        handed_off_at=row["handed_off_at"], claimed_by=row["claimed_by"],
    )
