"""Incidents carry the area revision that last wrote them, so a worker whose cached incidents
of an area are stale reads back only the incidents changed since the revision it holds,
instead of every open incident of the area.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # 0 for the rows already there: a worker holding revision -1 (nothing) reads them all
    op.add_column("incidents", sa.Column("area_revision", sa.Integer, nullable=False,
                                         server_default="0"))
    op.create_index("ix_incidents_area_revision", "incidents",
                    ["origin", "area", "area_revision"])


def downgrade() -> None:
    op.drop_index("ix_incidents_area_revision", "incidents")
    with op.batch_alter_table("incidents") as batch:
        batch.drop_column("area_revision")
