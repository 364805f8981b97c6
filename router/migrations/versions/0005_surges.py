"""未诉先办: the surge detector's state per category × area, kept in the system of record so
it survives restarts and rebalances, and is shared by every worker.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "surges",
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("origin", sa.String(64), nullable=False),
        sa.Column("category", sa.String(64), nullable=False),
        sa.Column("area", sa.String(64), nullable=False),
        sa.Column("state", sa.JSON, nullable=False),
        sa.Column("raised_at", sa.DateTime(timezone=True)),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_surges_raised", "surges", ["origin", "raised_at"])


def downgrade() -> None:
    op.drop_index("ix_surges_raised", "surges")
    op.drop_table("surges")
