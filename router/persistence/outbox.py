"""The outbox store: entries leased to a relay, deleted once delivered, or put back for
later.

Several relays (one per worker) can share the table: on PostgreSQL an entry is leased with
`FOR UPDATE SKIP LOCKED`, so two relays never take the same entry at once; SQLite serialises
writers, so its plain UPDATE … RETURNING is already exclusive.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, RowMapping, delete, func, select, update

from router.domain.outbox import Delivery, Destination, OutboxMessage
from router.persistence.errors import database_errors_as_transient
from router.persistence.schema import outbox
from router.ports import PendingMessage


class OutboxRepository:
    """The entries of one deployment (`origin`, HOTLINE_KAFKA_APP_ID)."""

    def __init__(self, engine: Engine, origin: str = "hotline-router") -> None:
        self._engine = engine
        self._origin = origin
        self._skip_locked = engine.dialect.name == "postgresql"

    def lease_due(self, limit: int, lease_seconds: float, now: datetime
                  ) -> list[PendingMessage]:
        due = (select(outbox.c.seq)
               .where(outbox.c.origin == self._origin, outbox.c.next_attempt_at <= now)
               .order_by(outbox.c.seq).limit(limit))
        if self._skip_locked:
            due = due.with_for_update(skip_locked=True)
        statement = (update(outbox).where(outbox.c.seq.in_(due.scalar_subquery()))
                     .values(next_attempt_at=now + timedelta(seconds=lease_seconds))
                     .returning(outbox.c.seq, outbox.c.message_id, outbox.c.ticket_id,
                                outbox.c.hotline, outbox.c.deliveries, outbox.c.attempts))
        with database_errors_as_transient(), self._engine.begin() as connection:
            rows = connection.execute(statement).mappings().all()
        return [PendingMessage(message=_message(row), attempts=row["attempts"])
                for row in sorted(rows, key=lambda row: row["seq"])]

    def mark_published(self, message_ids: Sequence[str]) -> None:
        """Delivered: the entries go (a DELETE writes less than an UPDATE of their JSON)."""
        if not message_ids:
            return
        with database_errors_as_transient(), self._engine.begin() as connection:
            connection.execute(delete(outbox).where(outbox.c.message_id.in_(message_ids)))

    def retry_later(self, message_ids: Sequence[str], at: datetime, error: str) -> None:
        if not message_ids:
            return
        with database_errors_as_transient(), self._engine.begin() as connection:
            connection.execute(update(outbox).where(outbox.c.message_id.in_(message_ids))
                               .values(next_attempt_at=at, attempts=outbox.c.attempts + 1,
                                       last_error=error[:200]))

    def backlog(self) -> tuple[int, datetime | None]:
        with database_errors_as_transient(), self._engine.connect() as connection:
            count, oldest = connection.execute(
                select(func.count(), func.min(outbox.c.created_at))
                .where(outbox.c.origin == self._origin)).one()
        return int(count), oldest

    def undelivered_tickets(self, ticket_ids: Sequence[str]) -> set[str]:
        """Those of the tickets that still have an entry to deliver."""
        if not ticket_ids:
            return set()
        with database_errors_as_transient(), self._engine.connect() as connection:
            return set(connection.execute(
                select(outbox.c.ticket_id).distinct()
                .where(outbox.c.ticket_id.in_(ticket_ids))
            ).scalars())


def _message(row: Mapping[str, Any] | RowMapping) -> OutboxMessage:
    return OutboxMessage(
        message_id=row["message_id"], ticket_id=row["ticket_id"], hotline=row["hotline"],
        deliveries=tuple(Delivery(destination=Destination(d["destination"]),
                                  target=d["target"], key=d["key"], payload=d["payload"])
                         for d in row["deliveries"]))
