"""The ports the services own: what they need from the classifier, the ticket store, the
outbox, the work queues and the broker, described structurally. Adapters implement them and
turn their client library's failures into `TransientFailure` subclasses."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol

from router.domain.calls import CallRecord
from router.domain.hotspots import ActiveSurge, KeyChange, Report, SurgePolicy
from router.domain.outbox import Destination, OutboxMessage
from router.domain.tickets import Ticket, TicketChange


class PredictionLike(Protocol):
    @property
    def category(self) -> str: ...
    @property
    def confidence(self) -> float: ...
    @property
    def alternatives(self) -> tuple[tuple[str, float], ...]: ...
    @property
    def model_version(self) -> str: ...
    @property
    def content_tokens(self) -> int: ...


class ClassifierLike(Protocol):
    @property
    def model_version(self) -> str: ...
    @property
    def thresholds(self) -> Mapping[str, float]: ...
    def predict(self, texts: Sequence[str]) -> Sequence[PredictionLike]: ...


class UrgencyLike(Protocol):
    @property
    def urgency(self) -> str: ...
    @property
    def emergency_service(self) -> str | None: ...
    @property
    def matched_rule(self) -> str | None: ...
    @property
    def matched_terms(self) -> tuple[str, ...]: ...
    @property
    def danger_signals(self) -> tuple[str, ...]: ...
    @property
    def line_note(self) -> str | None: ...


class UrgencyRulesLike(Protocol):
    def assess_batch(self, texts: Sequence[str]) -> Sequence[UrgencyLike]: ...


@dataclass(frozen=True, slots=True)
class RepeatCall:
    """A call to be counted on an open ticket instead of making one (催办)."""

    call: CallRecord
    ticket_id: str
    similarity: float
    change: Callable[[Ticket], TicketChange]  # the ticket's change, given it as it stands


@dataclass(frozen=True, slots=True)
class ReportedCall:
    """A call already counted on a ticket (what a replay of it finds)."""

    call_id: str
    ticket_id: str
    hotline: str
    text: str
    caller_contact: str | None
    place_text: str | None
    kind: str = "repeat"  # repeat (催办) | incident (another caller about its incident)
    incident_id: str | None = None


class SurgeCounter(Protocol):
    """Where the surge detector keeps its state (shared by the workers)."""

    policy: SurgePolicy

    def count(self, reports: Sequence[Report]) -> list[KeyChange]: ...
    def active(self) -> list[ActiveSurge]: ...


@dataclass(frozen=True, slots=True)
class Created:
    """What one creating transaction did with a batch's calls."""

    created: set[str]  # call ids that made tickets
    counted: set[str]  # call ids counted as repeats (now or before)
    attached: dict[str, str]  # call id → the lead ticket of the incident it was counted on


@dataclass(frozen=True, slots=True)
class SplitReport:
    """A report a dispatcher takes off its incident, as it was received."""

    call_id: str
    hotline: str
    channel: str
    received_at: datetime
    text: str
    caller_contact: str | None
    place_text: str | None
    urgency: str | None
    area: str | None
    raw_payload: Mapping[str, Any]


# The split-off call's new ticket (its creation) and the lead ticket's change, given both.
SplitBuilder = Callable[[SplitReport, Ticket], tuple[TicketChange, TicketChange]]


@dataclass(frozen=True, slots=True)
class KnownCalls:
    """What the system of record knows of a batch's calls before intake decides anything."""

    tickets: dict[str, Ticket]  # by call id: the calls that have a ticket of their own
    reported: dict[str, ReportedCall]  # by call id: the others, counted on a ticket
    open_by_caller: dict[str, list[Ticket]]  # by caller key: their unresolved tickets


class NewTicketStore(Protocol):
    """What intake needs of the system of record: find by call id, create once."""

    def find_by_call_ids(self, call_ids: Iterable[str]) -> dict[str, Ticket]: ...

    def known_calls(self, call_ids: Iterable[str], caller_keys: Iterable[str],
                    since: datetime) -> KnownCalls:
        """`find_by_call_ids`, `reported_calls` of the calls without a ticket, and the
        callers' unresolved tickets created since `since`, in one look (one connection for
        a batch, not three)."""
        ...

    def create_placed(self, changes: Sequence[TicketChange],
                      messages: Sequence[OutboxMessage], repeats: Sequence[RepeatCall] = ()
                      ) -> Created:
        """Insert the new tickets whose call id has none yet, with their events and the
        messages of those, count the repeats on their tickets, and count a demand like an
        open incident on the incident's lead ticket, in one transaction; answers which call
        ids were created, counted or attached (a repeat whose ticket is no longer open is
        none of them: make it a ticket). The messages are written leased to this process's
        relay (see `Handover`)."""
        ...

    def reported_calls(self, call_ids: Iterable[str]) -> dict[str, ReportedCall]: ...
    def get_many(self, ticket_ids: Sequence[str]) -> list[Ticket]: ...


class TicketStore(NewTicketStore, Protocol):
    """The system of record. Each write is one transaction: tickets, events and outbox."""

    def get(self, ticket_id: str) -> Ticket | None: ...

    def save(self, changes: Sequence[TicketChange], messages: Sequence[OutboxMessage]) -> None:
        """Apply changes to existing tickets, all or nothing; ConcurrentChange if any ticket
        is no longer at the version its change started from."""
        ...

    def split_report(self, incident_id: str, call_id: str, build: SplitBuilder) -> Ticket:
        """Take a report off its incident as a ticket of its own, in one transaction."""
        ...

    def merge_incidents(self, duplicate_id: str, into_id: str) -> None:
        """After a ticket merge: the incidents the two tickets lead become one."""
        ...


class DueTicketStore(Protocol):
    """The due-time index of the SLA timer."""

    def fire_due(self, now: datetime, limit: int,
                 tick: Callable[[Ticket], TicketChange | None],
                 messages: Callable[[Sequence[TicketChange]], Sequence[OutboxMessage]]
                 ) -> list[TicketChange]:
        """Take up to `limit` tickets whose next alarm is due by `now` (none that another
        worker holds), save what `tick` makes of each with its events and messages, in one
        transaction; returns the changes saved."""
        ...

    def next_alarm(self) -> datetime | None: ...


@dataclass(frozen=True, slots=True)
class PendingMessage:
    """An outbox entry leased to this relay for delivery."""

    message: OutboxMessage
    attempts: int


class OutboxStore(Protocol):
    def lease_due(self, limit: int, lease_seconds: float, now: datetime
                  ) -> list[PendingMessage]:
        """Up to `limit` undelivered entries that are due, oldest first, leased so no other
        relay takes them until the lease runs out (a relay that dies loses its lease)."""
        ...

    def mark_published(self, message_ids: Sequence[str]) -> None:
        """Delivered: they will not be delivered again."""
        ...

    def retry_later(self, message_ids: Sequence[str], at: datetime, error: str) -> None: ...
    def backlog(self) -> tuple[int, datetime | None]:
        """Undelivered entries, and when the oldest of them was written."""
        ...


@dataclass(frozen=True, slots=True)
class QueueItem:
    """One ticket for one unit's work queue; `dedupe_key` makes a redelivery a no-op."""

    unit: str
    ticket_id: str
    fields: Mapping[str, str]
    dedupe_key: str


class WorkQueues(Protocol):
    def enqueue(self, entries: Sequence[QueueItem]) -> int: ...


Handover = Callable[[Sequence[OutboxMessage]], None]
"""Hands just-committed outbox entries to this process's relay, which delivers them from
memory at once; they were written leased to it, so no other relay takes them meanwhile, and
if this process dies they come due for any relay when the lease runs out."""


# "call": the intake topic itself, where the agent desktop's calls join the stream.
Channel = Literal["call", "dead_letter", "ticket_event", "transfer"]

CHANNEL_OF: dict[Destination, Channel] = {
    Destination.TICKET_EVENTS: "ticket_event",
    Destination.EMERGENCY_TRANSFERS: "transfer",
}


class Publisher(Protocol):
    async def publish(self, channel: Channel, messages: Sequence[tuple[str, bytes]]) -> None:
        """Send (key, value) messages and return once the broker has acknowledged them all."""
        ...
