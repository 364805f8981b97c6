"""未诉先办: incidents, one parent for many callers about the same matter.

- incidents: the parent, led by its first report's ticket, with its report count, priority
  and profile (the 3-grams its reports use most), per deployment.
- incident_areas: one row per deployment × area, locked while a batch places its reports, so
  two workers never open two incidents for one matter; its revision tells a worker that its
  cached incidents of the area are stale.
- reports: `incident_id`, `urgency` and `area` of a report attached to an incident.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "incidents",
        sa.Column("incident_id", sa.String(40), primary_key=True),
        sa.Column("origin", sa.String(64), nullable=False),
        sa.Column("lead_ticket_id", sa.String(40), sa.ForeignKey("tickets.ticket_id"),
                  nullable=False),
        sa.Column("area", sa.String(64), nullable=False),
        sa.Column("category", sa.String(64), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_report_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reports", sa.Integer, nullable=False),
        sa.Column("pressing_reports", sa.Integer, nullable=False),
        sa.Column("priority", sa.String(16), nullable=False),
        sa.Column("profile", sa.JSON, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("merged_into", sa.String(40)),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_incidents_area", "incidents",
                    ["origin", "area", "status", "last_report_at"])
    op.create_index("ix_incidents_lead", "incidents", ["lead_ticket_id"])
    op.create_table(
        "incident_areas",
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("revision", sa.Integer, nullable=False),
    )
    op.add_column("reports", sa.Column("incident_id", sa.String(40)))
    op.add_column("reports", sa.Column("urgency", sa.String(16)))
    op.add_column("reports", sa.Column("area", sa.String(64)))
    op.create_index("ix_reports_incident_id", "reports", ["incident_id", "received_at"])


def downgrade() -> None:
    op.drop_index("ix_reports_incident_id", "reports")
    with op.batch_alter_table("reports") as batch:
        batch.drop_column("area")
        batch.drop_column("urgency")
        batch.drop_column("incident_id")
    op.drop_table("incident_areas")
    op.drop_index("ix_incidents_lead", "incidents")
    op.drop_index("ix_incidents_area", "incidents")
    op.drop_table("incidents")
