"""The ticket's life after 签收 and its SLA clocks.

- tickets: the lifecycle's counters and times, the clocks (JSON), the due-time index
  `next_alarm_at` (partial: only tickets with a running clock), and the columns the three
  rates count; `origin`, the deployment whose timers watch it (existing tickets: the one
  running the upgrade, HOTLINE_KAFKA_APP_ID). Tickets from before this revision have no
  clocks: they were never promised a deadline by this system, and the rates leave them out.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""

from __future__ import annotations

import os

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_COUNTERS = ("return_count", "reopen_count", "escalation_level", "duplicate_count",
             "callback_attempts")
_TIMES = ("next_alarm_at", "first_contact_at", "resolved_at", "closed_at",
          "resolution_breached_at")


def upgrade() -> None:
    # Plain ADD COLUMNs (see 0002: a batch copy of tickets is refused by SQLite's keys).
    op.add_column("tickets", sa.Column("clocks", sa.JSON, nullable=False,
                                       server_default="[]"))
    for name in _COUNTERS:
        op.add_column("tickets", sa.Column(name, sa.Integer, nullable=False,
                                           server_default="0"))
    for name in _TIMES:
        op.add_column("tickets", sa.Column(name, sa.DateTime(timezone=True)))
    for name, length in (("returned_from", 64), ("ruled_unit", 64), ("merged_into", 40),
                         ("suspended_from", 32), ("satisfaction", 32)):
        op.add_column("tickets", sa.Column(name, sa.String(length)))
    op.add_column("tickets", sa.Column("extension_request", sa.JSON))
    op.add_column("tickets", sa.Column("responded_in_time", sa.Boolean))
    op.add_column("tickets", sa.Column("solved", sa.Boolean))
    op.create_index("ix_tickets_created_at", "tickets", ["created_at"])
    origin = os.environ.get("HOTLINE_KAFKA_APP_ID", "hotline-router")
    op.add_column("tickets", sa.Column("origin", sa.String(64), nullable=False,
                                       server_default=origin))
    op.create_index("ix_tickets_next_alarm_at", "tickets", ["origin", "next_alarm_at"],
                    postgresql_where=sa.text("next_alarm_at IS NOT NULL"),
                    sqlite_where=sa.text("next_alarm_at IS NOT NULL"))


def downgrade() -> None:
    op.drop_index("ix_tickets_next_alarm_at", "tickets")
    op.drop_index("ix_tickets_created_at", "tickets")
    for name in ("clocks", *_COUNTERS, *_TIMES, "returned_from", "ruled_unit", "merged_into",
                 "suspended_from", "satisfaction", "extension_request", "responded_in_time",
                 "solved", "origin"):
        op.drop_column("tickets", name)
