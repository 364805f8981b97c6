"""Table definitions. Alembic migrations in router/migrations create and change them.

Every time is stored in UTC and read back timezone-aware, on PostgreSQL and SQLite alike
(SQLite keeps no zone: without `UtcDateTime` it hands back naive times).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
)


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware datetime, stored as UTC; a naive time is refused, not guessed."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("a naive datetime cannot be stored: give it a time zone")
        return value.astimezone(UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        found: datetime = value  # the DateTime impl has already parsed SQLite's text
        return found.replace(tzinfo=UTC) if found.tzinfo is None else found.astimezone(UTC)


metadata = MetaData()

tickets = Table(
    "tickets",
    metadata,
    Column("ticket_id", String(40), primary_key=True),
    Column("call_id", String(128), nullable=False, unique=True),  # the idempotency key
    Column("version", Integer, nullable=False),  # optimistic concurrency: +1 per change
    Column("hotline", String(16), nullable=False),
    Column("channel", String(16), nullable=False),
    Column("received_at", UtcDateTime, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
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
    Column("claimed_at", UtcDateTime),
    Column("raw_payload", JSON, nullable=False),
    # The life after intake (接诉即办) and its SLA clocks.
    Column("clocks", JSON, nullable=False),  # [{name, round, due_at, elapsed_us, …}, …]
    # The due-time index: when a running clock next crosses a warning, its breach or an
    # escalation step. Only tickets with a running clock have one (a partial index).
    Column("next_alarm_at", UtcDateTime),
    # The deployment (HOTLINE_KAFKA_APP_ID) whose timers watch this ticket's clocks, as for
    # the outbox: deployments sharing a database never fire each other's alarms.
    Column("origin", String(64), nullable=False),
    Column("return_count", Integer, nullable=False),
    Column("returned_from", String(64)),
    Column("ruled_unit", String(64)),
    Column("reopen_count", Integer, nullable=False),
    Column("escalation_level", Integer, nullable=False),
    Column("merged_into", String(40)),
    Column("duplicate_count", Integer, nullable=False),
    Column("suspended_from", String(32)),
    Column("extension_request", JSON),
    Column("first_contact_at", UtcDateTime),
    Column("resolved_at", UtcDateTime),
    Column("closed_at", UtcDateTime),
    Column("callback_attempts", Integer, nullable=False),
    # What the three rates count, kept as columns so a period's rates are one indexed query.
    Column("responded_in_time", Boolean),
    Column("solved", Boolean),
    Column("satisfaction", String(32)),
    Column("resolution_breached_at", UtcDateTime),
    # 催办: who called (first three and last four digits of the contact) and how often again.
    Column("caller_key", String(16)),
    Column("repeat_count", Integer, nullable=False),
    Index("ix_tickets_unit_status", "unit", "status"),
    Index("ix_tickets_received_at", "received_at"),
    Index("ix_tickets_created_at", "created_at"),
    Index("ix_tickets_next_alarm_at", "origin", "next_alarm_at",
          postgresql_where=Column("next_alarm_at").isnot(None),
          sqlite_where=Column("next_alarm_at").isnot(None)),
    Index("ix_tickets_caller_key", "caller_key", "created_at"),
)

# Calls that made no ticket of their own: a caller's repeat about an open ticket (催办). The
# call id stays the idempotency key (a replay finds its row here), and the call is kept whole
# so a dispatcher could still make it a ticket of its own.
reports = Table(
    "reports",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("call_id", String(128), nullable=False, unique=True),
    Column("ticket_id", String(40), ForeignKey("tickets.ticket_id"), nullable=False),
    Column("kind", String(16), nullable=False),  # repeat | incident
    Column("hotline", String(16), nullable=False),
    Column("channel", String(16), nullable=False),
    Column("received_at", UtcDateTime, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("caller_contact", String(500)),
    Column("text", Text, nullable=False),
    Column("place_text", String(500)),
    Column("similarity", Float, nullable=False),
    Column("raw_payload", JSON, nullable=False),
    # A report attached to an incident (kind "incident"): which one, and what it was.
    Column("incident_id", String(40)),
    Column("urgency", String(16)),
    Column("area", String(64)),
    Index("ix_reports_ticket_id", "ticket_id"),
    Index("ix_reports_incident_id", "incident_id", "received_at"),
)

# The audit trail: one row per domain event, one shape for every kind.
ticket_events = Table(
    "ticket_events",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("event_id", String(80), nullable=False, unique=True),
    Column("ticket_id", String(40), ForeignKey("tickets.ticket_id"), nullable=False),
    Column("version", Integer, nullable=False),
    Column("occurred_at", UtcDateTime, nullable=False),
    Column("kind", String(32), nullable=False),
    Column("actor", String(128)),
    Column("detail", JSON, nullable=False),
    Index("ix_ticket_events_ticket_id", "ticket_id"),
)

# The transactional outbox: written in the same transaction as the change that causes it,
# delivered by the relay, which deletes it once delivered (the audit trail is ticket_events).
# `next_attempt_at` is both the retry time and the lease: a relay takes an entry by moving
# it into the future, and an entry whose relay died comes due again.
# `origin` is the deployment (HOTLINE_KAFKA_APP_ID) that wrote it: its queues and topics are
# where the entry goes, so only that deployment's relays take it.
outbox = Table(
    "outbox",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("origin", String(64), nullable=False),
    Column("message_id", String(80), nullable=False, unique=True),  # the event's id
    Column("ticket_id", String(40), nullable=False),
    Column("hotline", String(16), nullable=False),
    Column("deliveries", JSON, nullable=False),  # [{destination, target, key, payload}, …]
    Column("created_at", UtcDateTime, nullable=False),
    Column("next_attempt_at", UtcDateTime, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("last_error", String(200)),
    Index("ix_outbox_due", "origin", "next_attempt_at"),
)

# 未诉先办: the surge detector's state per key (category × area), one row each, locked while
# a batch counts into it, so workers share one baseline and one raised surge per key.
surges = Table(
    "surges",
    metadata,
    Column("key", String(200), primary_key=True),
    Column("origin", String(64), nullable=False),
    Column("category", String(64), nullable=False),
    Column("area", String(64), nullable=False),
    Column("state", JSON, nullable=False),
    Column("raised_at", UtcDateTime),  # set while a surge is raised
    Column("updated_at", UtcDateTime, nullable=False),
    Index("ix_surges_raised", "origin", "raised_at"),
)

# 未诉先办: one parent incident for many callers about the same matter, led by the ticket of
# its first report; the later reports are rows of `reports` (kind "incident").
incidents = Table(
    "incidents",
    metadata,
    Column("incident_id", String(40), primary_key=True),
    Column("origin", String(64), nullable=False),
    Column("lead_ticket_id", String(40), ForeignKey("tickets.ticket_id"), nullable=False),
    Column("area", String(64), nullable=False),
    Column("category", String(64), nullable=False),
    Column("opened_at", UtcDateTime, nullable=False),
    Column("last_report_at", UtcDateTime, nullable=False),
    Column("reports", Integer, nullable=False),
    Column("pressing_reports", Integer, nullable=False),
    Column("priority", String(16), nullable=False),
    Column("profile", JSON, nullable=False),  # {3-gram: reports using it}, bounded
    Column("status", String(16), nullable=False),  # open | closed | merged
    Column("merged_into", String(40)),
    Column("updated_at", UtcDateTime, nullable=False),
    # the incident_areas revision of the transaction that last wrote the row
    Column("area_revision", Integer, nullable=False, server_default="0"),
    Index("ix_incidents_area", "origin", "area", "status", "last_report_at"),
    Index("ix_incidents_area_revision", "origin", "area", "area_revision"),
    Index("ix_incidents_lead", "lead_ticket_id"),
)

# One row per deployment × area: locked while a batch places reports into the area's
# incidents (so two workers never open two incidents for one matter); its revision goes up
# with every change, telling a worker whether its cached incidents of the area still hold,
# and which incidents changed since the revision it holds.
incident_areas = Table(
    "incident_areas",
    metadata,
    Column("key", String(200), primary_key=True),
    Column("revision", Integer, nullable=False),
)
