"""One write path: ticket versions, one event shape, the transactional outbox.

- tickets: `version` for optimistic concurrency; `handed_off_at` goes (the outbox says
  what is still to deliver). A ticket that was never handed off gets its hand-off as outbox
  entries here, so the relay delivers it after the upgrade.
- ticket_events: the integer key becomes `seq`; `event_id` is the domain's event id and
  `version` the ticket version the event produced.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    with op.batch_alter_table("ticket_events") as batch:
        batch.alter_column("event_id", new_column_name="seq", existing_type=sa.Integer,
                           existing_nullable=False)
    with op.batch_alter_table("ticket_events") as batch:
        batch.add_column(sa.Column("event_id", sa.String(80)))
        batch.add_column(sa.Column("version", sa.Integer))
    versions: dict[str, int] = {}
    for seq, ticket_id in bind.execute(sa.text(
            "SELECT seq, ticket_id FROM ticket_events ORDER BY seq")).all():
        versions[ticket_id] = versions.get(ticket_id, 0) + 1
        bind.execute(sa.text("UPDATE ticket_events SET event_id = :e, version = :v"
                             " WHERE seq = :s"),
                     {"e": f"{ticket_id}.{versions[ticket_id]}.0", "v": versions[ticket_id],
                      "s": seq})
    with op.batch_alter_table("ticket_events") as batch:
        batch.alter_column("event_id", existing_type=sa.String(80), nullable=False)
        batch.alter_column("version", existing_type=sa.Integer, nullable=False)
        batch.create_unique_constraint("uq_ticket_events_event_id", ["event_id"])

    # Plain ALTERs on tickets (SQLite ≥ 3.35 has ADD and DROP COLUMN): a batch copy would
    # drop the table that ticket_events refers to, which SQLite's foreign keys refuse.
    op.add_column("tickets", sa.Column("version", sa.Integer, nullable=False,
                                       server_default="1"))
    for ticket_id, count in versions.items():
        bind.execute(sa.text("UPDATE tickets SET version = :v WHERE ticket_id = :t"),
                     {"v": max(count, 1), "t": ticket_id})

    outbox = op.create_table(
        "outbox",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("origin", sa.String(64), nullable=False),
        sa.Column("message_id", sa.String(80), nullable=False, unique=True),
        sa.Column("ticket_id", sa.String(40), nullable=False),
        sa.Column("hotline", sa.String(16), nullable=False),
        sa.Column("deliveries", sa.JSON, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("last_error", sa.String(200)),
    )
    op.create_index("ix_outbox_due", "outbox", ["origin", "next_attempt_at"])
    _hand_off_what_was_never_handed_off(bind, outbox)

    op.drop_column("tickets", "handed_off_at")


def _hand_off_what_was_never_handed_off(bind: sa.Connection, outbox: Any) -> None:
    # The payload shapes of router.domain.outbox as they were at this revision. The entries
    # belong to the deployment that runs the upgrade (HOTLINE_KAFKA_APP_ID).
    origin = os.environ.get("HOTLINE_KAFKA_APP_ID", "hotline-router")
    rows = bind.execute(sa.text("SELECT * FROM tickets WHERE handed_off_at IS NULL")).mappings()
    now = datetime.now(UTC)
    entries = []
    for row in rows:
        received = str(row["received_at"])
        event_id = f"{row['ticket_id']}.1.0"
        key = row["ticket_id"]
        if row["disposition"] == "transferred":
            hand_off = {"destination": "emergency_transfers", "target": None, "key": key,
                        "payload": {"ticket_id": key, "call_id": row["call_id"],
                                    "service": row["emergency_service"], "unit": row["unit"],
                                    "text": row["text"], "place_text": row["place_text"],
                                    "area": row["area"], "caller_contact": row["caller_contact"],
                                    "reason": row["route_reason"], "received_at": received}}
        else:
            hand_off = {"destination": "unit_queue", "target": row["unit"], "key": key,
                        "payload": {"ticket_id": key, "call_id": row["call_id"],
                                    "hotline": row["hotline"], "category": row["category"],
                                    "urgency": row["urgency"], "area": row["area"] or "",
                                    "received_at": received}}
        announce = {"destination": "ticket_events", "target": None, "key": key,
                    "payload": {"event": "ticket.created", "event_id": event_id, "version": 1,
                                "ticket_id": key, "call_id": row["call_id"],
                                "hotline": row["hotline"], "unit": row["unit"],
                                "disposition": row["disposition"], "category": row["category"],
                                "received_at": received}}
        entries.append({"origin": origin, "message_id": event_id, "ticket_id": key,
                        "hotline": row["hotline"], "deliveries": [hand_off, announce],
                        "created_at": now, "next_attempt_at": now, "attempts": 0})
    if entries:
        op.bulk_insert(outbox, entries)


def downgrade() -> None:
    op.drop_index("ix_outbox_due", "outbox")
    op.drop_table("outbox")
    op.add_column("tickets", sa.Column("handed_off_at", sa.DateTime(timezone=True)))
    op.drop_column("tickets", "version")
    with op.batch_alter_table("ticket_events") as batch:
        batch.drop_constraint("uq_ticket_events_event_id", type_="unique")
        batch.drop_column("version")
        batch.drop_column("event_id")
    with op.batch_alter_table("ticket_events") as batch:
        batch.alter_column("seq", new_column_name="event_id", existing_type=sa.Integer,
                           existing_nullable=False)
