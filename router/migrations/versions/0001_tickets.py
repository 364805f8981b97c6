"""Tickets and their event history.

Revision ID: 0001
Revises:
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tickets",
        sa.Column("ticket_id", sa.String(40), primary_key=True),
        sa.Column("call_id", sa.String(128), nullable=False, unique=True),
        sa.Column("hotline", sa.String(16), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("caller_contact", sa.String(500)),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("place_text", sa.String(500)),
        sa.Column("area", sa.String(64)),
        sa.Column("category", sa.String(64), nullable=False),
        sa.Column("confidence", sa.Float, nullable=False),
        sa.Column("suggested_category", sa.String(64), nullable=False),
        sa.Column("model_version", sa.String(64), nullable=False),
        sa.Column("urgency", sa.String(16), nullable=False),
        sa.Column("emergency_service", sa.String(8)),
        sa.Column("disposition", sa.String(16), nullable=False),
        sa.Column("unit", sa.String(64), nullable=False),
        sa.Column("rule_id", sa.String(128), nullable=False),
        sa.Column("route_reason", sa.Text, nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("override_agent_id", sa.String(64)),
        sa.Column("claimed_by", sa.String(128)),
        sa.Column("claimed_at", sa.DateTime(timezone=True)),
        sa.Column("handed_off_at", sa.DateTime(timezone=True)),
        sa.Column("raw_payload", sa.JSON, nullable=False),
    )
    op.create_index("ix_tickets_unit_status", "tickets", ["unit", "status"])
    op.create_index("ix_tickets_received_at", "tickets", ["received_at"])
    op.create_table(
        "ticket_events",
        sa.Column("event_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("ticket_id", sa.String(40), sa.ForeignKey("tickets.ticket_id"),
                  nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("actor", sa.String(128)),
        sa.Column("detail", sa.JSON, nullable=False),
    )
    op.create_index("ix_ticket_events_ticket_id", "ticket_events", ["ticket_id"])


def downgrade() -> None:
    op.drop_index("ix_ticket_events_ticket_id", "ticket_events")
    op.drop_table("ticket_events")
    op.drop_index("ix_tickets_received_at", "tickets")
    op.drop_index("ix_tickets_unit_status", "tickets")
    op.drop_table("tickets")
