"""Table definitions. Alembic migrations in router/migrations create and change them."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData()

tickets = Table(
    "tickets",
    metadata,
    Column("ticket_id", String(40), primary_key=True),
    Column("call_id", String(128), nullable=False, unique=True),  # the idempotency key
    Column("hotline", String(16), nullable=False),
    Column("channel", String(16), nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("caller_contact", String(500)),
    Column("text", Text, nullable=False),
    Column("place_text", String(500)),
    Column("area", String(64)),
    Column("category", String(64), nullable=False),
    Column("confidence", Float, nullable=False),
    Column("suggested_category", String(64), nullable=False),  # the model's, before any override
    Column("model_version", String(64), nullable=False),
    Column("urgency", String(16), nullable=False),
    Column("emergency_service", String(8)),
    Column("disposition", String(16), nullable=False),
    Column("unit", String(64), nullable=False),
    Column("rule_id", String(128), nullable=False),
    Column("route_reason", Text, nullable=False),
    Column("status", String(32), nullable=False),
    Column("override_agent_id", String(64)),
    Column("claimed_by", String(128)),
    Column("claimed_at", DateTime(timezone=True)),
    # Set once the ticket is in its unit's queue or handed to the emergency line; a replay
    # finishes the hand-off of any ticket left without it.
    Column("handed_off_at", DateTime(timezone=True)),
    Column("raw_payload", JSON, nullable=False),
    Index("ix_tickets_unit_status", "unit", "status"),
    Index("ix_tickets_received_at", "received_at"),
)

ticket_events = Table(
    "ticket_events",
    metadata,
    Column("event_id", Integer, primary_key=True, autoincrement=True),
    Column("ticket_id", String(40), ForeignKey("tickets.ticket_id"), nullable=False),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("actor", String(128)),
    Column("detail", JSON, nullable=False),
    Index("ix_ticket_events_ticket_id", "ticket_id"),
)
