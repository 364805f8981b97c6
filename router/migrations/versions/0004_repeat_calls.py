"""催办: a caller's repeat about an open ticket is counted on it instead of a new ticket.

- tickets: `caller_key` (first three and last four digits of the contact; indexed with
  the creation time) and `repeat_count`.
- reports: the calls that made no ticket of their own, whole, keyed by call id.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("tickets", sa.Column("caller_key", sa.String(16)))
    op.add_column("tickets", sa.Column("repeat_count", sa.Integer, nullable=False,
                                       server_default="0"))
    op.create_index("ix_tickets_caller_key", "tickets", ["caller_key", "created_at"])
    op.create_table(
        "reports",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("call_id", sa.String(128), nullable=False, unique=True),
        sa.Column("ticket_id", sa.String(40), sa.ForeignKey("tickets.ticket_id"),
                  nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("hotline", sa.String(16), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("caller_contact", sa.String(500)),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("place_text", sa.String(500)),
        sa.Column("similarity", sa.Float, nullable=False),
        sa.Column("raw_payload", sa.JSON, nullable=False),
    )
    op.create_index("ix_reports_ticket_id", "reports", ["ticket_id"])


def downgrade() -> None:
    op.drop_index("ix_reports_ticket_id", "reports")
    op.drop_table("reports")
    op.drop_index("ix_tickets_caller_key", "tickets")
    op.drop_column("tickets", "repeat_count")
    op.drop_column("tickets", "caller_key")
