"""The ticket store: one transaction per write, holding the ticket rows, their events (the
audit trail) and the outbox entries the change causes. The domain decides; this stores."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    RowMapping,
    Select,
    and_,
    bindparam,
    case,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite

from router.domain.errors import ConcurrentChange, InvalidTransition, UnknownReport
from router.domain.hotspots import PROACTIVE_CHANNEL
from router.domain.incidents import escalation_for
from router.domain.outbox import OutboxMessage, messages_for
from router.domain.rates import OutcomeCounts
from router.domain.routing import Disposition
from router.domain.sla import Clock, ClockName, ClockPhase, SlaPolicy
from router.domain.tickets import (
    UNRESOLVED_STATUSES,
    EventKind,
    ExtensionRequest,
    Satisfaction,
    Ticket,
    TicketChange,
    TicketEvent,
    TicketStatus,
)
from router.persistence.bulk import insert_new
from router.persistence.errors import database_errors_as_transient
from router.persistence.incidents import IncidentStore, Placement
from router.persistence.schema import outbox, reports, ticket_events, tickets
from router.ports import (
    Created,
    KnownCalls,
    RepeatCall,
    ReportedCall,
    SplitBuilder,
    SplitReport,
)

# Columns a change may move; the rest are fixed when the ticket is created.
_MUTABLE = ("version", "updated_at", "category", "urgency", "emergency_service", "disposition",
            "unit", "rule_id", "route_reason", "status", "claimed_by", "claimed_at", "clocks",
            "next_alarm_at", "return_count", "returned_from", "ruled_unit", "reopen_count",
            "escalation_level", "merged_into", "duplicate_count", "suspended_from",
            "extension_request", "first_contact_at", "resolved_at", "closed_at",
            "callback_attempts", "responded_in_time", "solved", "satisfaction",
            "resolution_breached_at", "repeat_count")

Tick = Callable[[Ticket], TicketChange | None]


class TicketRepository:
    """`origin` names the deployment whose relays deliver the outbox entries written here
    and whose SLA timers watch the tickets created here;
    `lease_seconds` keeps them for this process's relay, which gets them handed over in
    memory (0: due at once, for any relay)."""

    def __init__(self, engine: Engine, origin: str = "hotline-router",
                 lease_seconds: float = 0.0, incidents: IncidentStore | None = None) -> None:
        self._engine = engine
        self._incidents = incidents
        self._origin = origin
        self._lease = timedelta(seconds=lease_seconds)
        # Both dialects' insert() offer ON CONFLICT DO NOTHING with RETURNING.
        dialects: dict[str, Callable[..., Any]] = {"postgresql": postgresql.insert,
                                                    "sqlite": sqlite.insert}
        if engine.dialect.name not in dialects:
            raise ValueError(f"unsupported database {engine.dialect.name!r}")
        self._insert = dialects[engine.dialect.name]
        self._update = (update(tickets)
                        .where(tickets.c.ticket_id == bindparam("b_ticket_id"),
                               tickets.c.version == bindparam("b_expected_version"))
                        .values({name: bindparam(f"b_{name}") for name in _MUTABLE}))

    def find_by_call_ids(self, call_ids: Iterable[str]) -> dict[str, Ticket]:
        ids = list(call_ids)
        if not ids:
            return {}
        with database_errors_as_transient(), self._engine.connect() as connection:
            return self._tickets_of_calls(connection, ids)

    def known_calls(self, call_ids: Iterable[str], caller_keys: Iterable[str],
                    since: datetime) -> KnownCalls:
        ids, keys = list(call_ids), sorted(set(caller_keys))
        if not ids and not keys:
            return KnownCalls({}, {}, {})
        with database_errors_as_transient(), self._engine.connect() as connection:
            own = self._tickets_of_calls(connection, ids) if ids else {}
            others = [i for i in ids if i not in own]
            return KnownCalls(
                own, self._reported_calls(connection, others) if others else {},
                self._open_by_callers(connection, keys, since) if keys else {})

    @staticmethod
    def _tickets_of_calls(connection: Connection, ids: list[str]) -> dict[str, Ticket]:
        rows = connection.execute(select(tickets).where(tickets.c.call_id.in_(ids)))
        return {row.call_id: ticket_from_row(row._mapping) for row in rows}

    def create(self, changes: Sequence[TicketChange], messages: Sequence[OutboxMessage],
               repeats: Sequence[RepeatCall] = ()) -> set[str]:
        """`create_placed`, answering only which call ids were created or counted."""
        done = self.create_placed(changes, messages, repeats)
        return done.created | done.counted | done.attached.keys()

    def create_placed(self, changes: Sequence[TicketChange], messages: Sequence[OutboxMessage],
                      repeats: Sequence[RepeatCall] = ()) -> Created:
        """Insert the tickets whose call id is new, with their events and outbox entries,
        and count the repeats on their tickets; with an incident store, a demand like an
        open incident of its area is counted on the incident's lead ticket instead of
        becoming one, all in one transaction.

        ON CONFLICT DO NOTHING makes a concurrent or replayed insert of the same call a no-op,
        in the database itself, so two workers can never create the same ticket twice; the
        events and messages of a ticket that was not inserted are not written either. A
        repeat or an incident's report is counted once too (its call id is unique among the
        reports), on its ticket as it stands, locked FOR UPDATE on PostgreSQL. A repeat whose
        ticket is no longer open is left out of the result, for the caller to make it a
        ticket; an incident report whose lead ticket is no longer open becomes a ticket here.
        """
        if not changes and not repeats:
            return Created(set(), set(), {})
        placement: Placement | None = None
        try:
            with database_errors_as_transient(), self._engine.begin() as connection:
                if self._incidents is not None and changes:
                    placement = self._incidents.place(connection, [c.ticket for c in changes])
                joining = placement.attached if placement else {}
                created = self._insert_tickets(
                    connection, [c for c in changes if c.ticket.call_id not in joining],
                    messages)
                attached: dict[str, str] = {}
                if placement is not None and self._incidents is not None:
                    by_call = {c.ticket.call_id: c for c in changes}
                    attached, counted_per, closed = self._count_incident_reports(
                        connection, placement, by_call, self._incidents.sla)
                    refused = [by_call[c] for c in joining if c not in attached]
                    created |= self._insert_tickets(connection, refused, messages)
                    self._link_reports(connection, placement, by_call, created, counted_per)
                    self._incidents.settle(connection, placement, set(created) & set(
                        placement.opened), counted_per, closed)
                counted = self._count_repeats(connection, repeats)
        except BaseException:
            if placement is not None and self._incidents is not None:
                self._incidents.forget(placement)
            raise
        return Created(set(created), counted, attached)

    def _insert_tickets(self, connection: Connection, changes: Sequence[TicketChange],
                        messages: Sequence[OutboxMessage]) -> set[str]:
        if not changes:
            return set()
        created = {ticket_id: call_id for call_id, ticket_id in insert_new(
            connection, tickets, [_row(c.ticket) | {"origin": self._origin} for c in changes],
            "call_id", ("call_id", "ticket_id"))}
        self._append(connection, [c for c in changes if c.ticket.ticket_id in created],
                     [m for m in messages if m.ticket_id in created])
        return set(created.values())

    def _link_reports(self, connection: Connection, placement: Placement,
                      by_call: Mapping[str, TicketChange], created: set[str],
                      counted: dict[str, int]) -> None:
        """Demands that stand alone (emergencies, transfers, agents' choices) about an open
        incident: their own tickets, each linked to the incident by a report row."""
        now = datetime.now(UTC)
        rows = [_incident_report_row(by_call[c].ticket, incident_id, by_call[c].ticket.ticket_id,
                                     share, now, kind="linked")
                for c, (incident_id, share) in placement.linked.items() if c in created]
        if not rows:
            return
        for (incident_id,) in insert_new(connection, reports, rows, "call_id", ("incident_id",)):
            counted[incident_id] = counted.get(incident_id, 0) + 1

    def _count_incident_reports(self, connection: Connection, placement: Placement,
                                by_call: Mapping[str, TicketChange], policy: SlaPolicy
                                ) -> tuple[dict[str, str], dict[str, int], set[str]]:
        """Count the attached reports on their incidents' lead tickets, one change per lead
        ticket; answers call id → lead ticket of those counted (or counted before: a
        replay), reports counted per incident, and the incidents whose lead had closed."""
        groups: dict[str, list[str]] = {}
        for call_id, (incident_id, _lead, _share) in placement.attached.items():
            groups.setdefault(incident_id, []).append(call_id)
        attached: dict[str, str] = {}
        counted: dict[str, int] = {}
        closed: set[str] = set()
        now = datetime.now(UTC)
        for incident_id in sorted(groups):
            calls = groups[incident_id]
            lead_id = placement.attached[calls[0]][1]
            lead = self._locked_ticket(connection, lead_id)
            if lead is None or lead.status not in UNRESOLVED_STATUSES:
                closed.add(incident_id)
                continue
            rows = [_incident_report_row(by_call[c].ticket, incident_id, lead_id,
                                         placement.attached[c][2], now) for c in calls]
            inserted = {call_id for (call_id,) in insert_new(
                connection, reports, rows, "call_id", ("call_id",))}
            attached.update(dict.fromkeys(calls, lead_id))
            if not inserted:
                continue  # all counted before: replays
            counted[incident_id] = len(inserted)
            incident = placement.changed[incident_id]
            total = placement.reports_before(incident_id) + len(inserted)
            change = lead.record_incident_reports(
                incident_id, [(c, by_call[c].ticket.channel, by_call[c].ticket.received_at)
                              for c in calls if c in inserted], total,
                escalation_for(incident.priority), now, policy)
            if not self._apply(connection, change):
                raise ConcurrentChange(f"ticket {lead_id} changed under its lock", current=None)
            self._append(connection, [change], messages_for([change]))
        return attached, counted, closed

    def _locked_ticket(self, connection: Connection, ticket_id: str) -> Ticket | None:
        """The ticket as it stands, locked FOR UPDATE on PostgreSQL until the transaction
        ends (SQLite's one writer needs no lock)."""
        query = select(tickets).where(tickets.c.ticket_id == ticket_id)
        if self._engine.dialect.name == "postgresql":
            query = query.with_for_update()
        row = connection.execute(query).first()
        return ticket_from_row(row._mapping) if row is not None else None

    def _count_repeats(self, connection: Connection, repeats: Sequence[RepeatCall]
                       ) -> set[str]:
        counted: set[str] = set()
        now = datetime.now(UTC)
        for repeat in repeats:
            ticket = self._locked_ticket(connection, repeat.ticket_id)
            if ticket is None:
                continue
            try:
                change = repeat.change(ticket)
            except InvalidTransition:
                continue  # no longer open: the call is a new demand
            inserted = connection.execute(
                self._insert(reports).on_conflict_do_nothing(index_elements=["call_id"])
                .returning(reports.c.call_id), [_report_row(repeat, now)]).first()
            if inserted is None:
                counted.add(repeat.call.call_id)  # counted before: a replay
                continue
            if not self._apply(connection, change):
                raise ConcurrentChange(f"ticket {repeat.ticket_id} changed under its lock",
                                       current=None)
            self._append(connection, [change], messages_for([change]))
            counted.add(repeat.call.call_id)
        return counted

    def split_report(self, incident_id: str, call_id: str, build: SplitBuilder) -> Ticket:
        """A dispatcher takes a report off its incident: in one transaction the report row
        goes, the call becomes a ticket of its own (`build` makes its creation and the lead
        ticket's change from the report and the lead as they stand), and the incident counts
        one report fewer. UnknownReport if the incident holds no such report."""
        if self._incidents is None:
            raise UnknownReport("incidents are turned off")
        with database_errors_as_transient(), self._engine.begin() as connection:
            incident = self._incidents.locked(connection, incident_id)
            query = select(reports).where(reports.c.call_id == call_id,
                                          reports.c.incident_id == incident_id,
                                          reports.c.kind == "incident")
            row = connection.execute(query).first()
            if incident is None or row is None:
                raise UnknownReport(f"incident {incident_id} has no report {call_id}")
            lead = self._locked_ticket(connection, incident.lead_ticket_id)
            assert lead is not None  # the incidents table's foreign key
            split = SplitReport(
                call_id=row.call_id, hotline=row.hotline, channel=row.channel,
                received_at=row.received_at, text=row.text, caller_contact=row.caller_contact,
                place_text=row.place_text, urgency=row.urgency, area=row.area,
                raw_payload=row.raw_payload)
            creation, lead_change = build(split, lead)
            connection.execute(reports.delete().where(reports.c.seq == row.seq))
            created = self._insert_tickets(connection, [creation], messages_for([creation]))
            if not created:
                raise ConcurrentChange(f"call {call_id} already has a ticket", current=None)
            if not self._apply(connection, lead_change):
                raise ConcurrentChange(f"ticket {lead.ticket_id} was changed by someone else",
                                       current=self._status(connection, lead.ticket_id))
            self._append(connection, [lead_change], messages_for([lead_change]))
            self._incidents.save(connection, incident.without_report(row.urgency or ""))
        return creation.ticket

    def merge_incidents(self, duplicate_id: str, into_id: str) -> None:
        """After a dispatcher merged ticket `duplicate_id` into `into_id`: the incident the
        duplicate led joins the one `into_id` leads (or `into_id` leads it now), and a plain
        duplicate is counted as a report of `into_id`'s incident. Idempotent."""
        if self._incidents is None:
            return
        store = self._incidents
        with database_errors_as_transient(), self._engine.begin() as connection:
            led = store.led(connection, duplicate_id)
            target = store.led(connection, into_id)
            if led is None and target is None:
                return
            if led is None and target is not None:
                store.save(connection, dataclasses.replace(
                    target, reports=target.reports + 1))
                return
            assert led is not None
            if target is None:
                store.save(connection, dataclasses.replace(led, lead_ticket_id=into_id))
                return
            # the reports counted on the duplicate now count on the kept lead; linked ones
            # keep their own tickets
            connection.execute(update(reports).where(reports.c.incident_id == led.incident_id,
                                                     reports.c.kind == "incident")
                               .values(incident_id=target.incident_id, ticket_id=into_id))
            connection.execute(update(reports).where(reports.c.incident_id == led.incident_id)
                               .values(incident_id=target.incident_id))
            store.save(connection, target.absorbing(led, store.policy))
            store.save(connection, led, status="merged", merged_into=target.incident_id)

    def daily_counts(self, since: datetime, until: datetime) -> list[tuple[str, date, int]]:
        """Reports per category × area and day (China's calendar day) received in [since,
        until): tickets made and reports counted on a lead ticket, which count under the
        lead's category and area. Proactive tickets are not reports."""
        def day_of(column: Any) -> Any:
            if self._engine.dialect.name == "postgresql":
                return func.date(func.timezone("Asia/Shanghai", column))
            return func.date(column, "+8 hours")

        own = (select(tickets.c.category, tickets.c.area, day_of(tickets.c.received_at)
                      .label("day"), func.count().label("n"))
               .where(tickets.c.origin == self._origin, tickets.c.area.isnot(None),
                      tickets.c.received_at >= since, tickets.c.received_at < until,
                      tickets.c.channel != PROACTIVE_CHANNEL)
               .group_by(tickets.c.category, tickets.c.area, "day"))
        counted = (select(tickets.c.category, tickets.c.area, day_of(reports.c.received_at)
                          .label("day"), func.count().label("n"))
                   .join(tickets, tickets.c.ticket_id == reports.c.ticket_id)
                   .where(tickets.c.origin == self._origin, tickets.c.area.isnot(None),
                          reports.c.kind != "linked", reports.c.received_at >= since,
                          reports.c.received_at < until)
                   .group_by(tickets.c.category, tickets.c.area, "day"))
        totals: dict[tuple[str, date], int] = {}
        with database_errors_as_transient(), self._engine.connect() as connection:
            for query in (own, counted):
                for row in connection.execute(query):
                    key = (f"{row.category}|{row.area}", _as_date(row.day))
                    totals[key] = totals.get(key, 0) + int(row.n)
        return [(key, day, count) for (key, day), count in sorted(totals.items())]

    def texts_about(self, category: str, area: str, since: datetime, limit: int
                    ) -> list[tuple[datetime, str]]:
        """The latest reports (tickets made, and reports counted on a lead ticket) of one
        category × area received since `since`, newest first: a hotspot's evidence."""
        ticket_rows = (select(tickets.c.received_at, tickets.c.text)
                       .where(tickets.c.origin == self._origin, tickets.c.category == category,
                              tickets.c.area == area, tickets.c.received_at >= since,
                              tickets.c.channel != PROACTIVE_CHANNEL)
                       .order_by(tickets.c.received_at.desc()).limit(limit))
        report_rows = (select(reports.c.received_at, reports.c.text)
                       .join(tickets, tickets.c.ticket_id == reports.c.ticket_id)
                       .where(tickets.c.origin == self._origin, tickets.c.category == category,
                              tickets.c.area == area, reports.c.kind != "linked",
                              reports.c.received_at >= since)
                       .order_by(reports.c.received_at.desc()).limit(limit))
        with database_errors_as_transient(), self._engine.connect() as connection:
            found = [(row.received_at, row.text) for query in (ticket_rows, report_rows)
                     for row in connection.execute(query)]
        return sorted(found, key=lambda pair: pair[0], reverse=True)[:limit]

    def reported_calls(self, call_ids: Iterable[str]) -> dict[str, ReportedCall]:
        ids = list(call_ids)
        if not ids:
            return {}
        with database_errors_as_transient(), self._engine.connect() as connection:
            return self._reported_calls(connection, ids)

    @staticmethod
    def _reported_calls(connection: Connection, ids: list[str]) -> dict[str, ReportedCall]:
        rows = connection.execute(select(reports).where(reports.c.call_id.in_(ids)))
        return {row.call_id: ReportedCall(
            call_id=row.call_id, ticket_id=row.ticket_id, hotline=row.hotline,
            text=row.text, caller_contact=row.caller_contact, place_text=row.place_text,
            kind=row.kind, incident_id=row.incident_id)
            for row in rows}

    @staticmethod
    def _open_by_callers(connection: Connection, keys: list[str], since: datetime
                         ) -> dict[str, list[Ticket]]:
        """Unresolved tickets created since `since`, by caller key."""
        unresolved = [status.value for status in UNRESOLVED_STATUSES]
        rows = connection.execute(
            select(tickets).where(tickets.c.caller_key.in_(keys),
                                  tickets.c.created_at >= since,
                                  tickets.c.status.in_(unresolved))
            .order_by(tickets.c.created_at))
        found: dict[str, list[Ticket]] = {}
        for row in rows:
            ticket = ticket_from_row(row._mapping)
            found.setdefault(ticket.caller_key or "", []).append(ticket)
        return found

    def save(self, changes: Sequence[TicketChange], messages: Sequence[OutboxMessage]) -> None:
        if not changes:
            return
        with database_errors_as_transient(), self._engine.begin() as connection:
            for change in changes:
                if not self._apply(connection, change):
                    # Rolls back every change of this call, and writes no event or message.
                    raise ConcurrentChange(
                        f"ticket {change.ticket.ticket_id} was changed by someone else",
                        current=self._status(connection, change.ticket.ticket_id))
            self._append(connection, changes, messages)

    def _apply(self, connection: Connection, change: TicketChange) -> bool:
        values = _row(change.ticket)
        params = {f"b_{name}": values[name] for name in _MUTABLE}
        params |= {"b_ticket_id": change.ticket.ticket_id,
                   "b_expected_version": change.expected_version}
        return bool(connection.execute(self._update, params).rowcount == 1)

    def fire_due(self, now: datetime, limit: int, tick: Tick,
                 messages: Callable[[Sequence[TicketChange]], Sequence[OutboxMessage]]
                 ) -> list[TicketChange]:
        """The tickets whose next alarm is due by `now`, oldest first, each changed by
        `tick` and saved with its events and outbox entries, all in one transaction.

        On PostgreSQL the rows are taken FOR UPDATE SKIP LOCKED, so workers polling at once
        share the due tickets without waiting on each other; the partial index on
        `next_alarm_at` makes the look cost O(due), whatever the number of open tickets. A
        ticket someone changed meanwhile (the version check) is left for the next look.
        """
        with database_errors_as_transient(), self._engine.begin() as connection:
            due = [ticket_from_row(row._mapping)
                   for row in connection.execute(self.due_query(now, limit))]
            changes = [c for c in map(tick, due) if c is not None]
            applied = [c for c in changes if self._apply(connection, c)]
            self._append(connection, applied, messages(applied))
        return applied

    def due_query(self, now: datetime, limit: int) -> Select[Any]:
        """The look at the head of the due-time index (what the benchmark times)."""
        query = (select(tickets).where(tickets.c.origin == self._origin,
                                       tickets.c.next_alarm_at.isnot(None),
                                       tickets.c.next_alarm_at <= now)
                 .order_by(tickets.c.next_alarm_at).limit(limit))
        if self._engine.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        return query

    def next_alarm(self) -> datetime | None:
        """The earliest alarm of all tickets (the index's first entry)."""
        with database_errors_as_transient(), self._engine.connect() as connection:
            found: datetime | None = connection.execute(
                select(func.min(tickets.c.next_alarm_at))
                .where(tickets.c.origin == self._origin)).scalar()
        if found is not None and found.tzinfo is None:  # SQLite's aggregate skips the type
            found = found.replace(tzinfo=UTC)
        return found

    def _append(self, connection: Connection, changes: Sequence[TicketChange],
                messages: Sequence[OutboxMessage]) -> None:
        events = [_event_row(event) for change in changes for event in change.events]
        if events:
            connection.execute(insert(ticket_events), events)
        if messages:
            now = datetime.now(UTC)
            connection.execute(insert(outbox), [_outbox_row(m, self._origin, now,
                                                            now + self._lease)
                                                for m in messages])

    @staticmethod
    def _status(connection: Connection, ticket_id: str) -> str | None:
        found = connection.execute(select(tickets.c.status)
                                   .where(tickets.c.ticket_id == ticket_id)).scalar()
        return str(found) if found is not None else None

    def get(self, ticket_id: str) -> Ticket | None:
        with database_errors_as_transient(), self._engine.connect() as connection:
            row = connection.execute(
                select(tickets).where(tickets.c.ticket_id == ticket_id)).first()
        return ticket_from_row(row._mapping) if row else None

    def get_many(self, ticket_ids: Sequence[str]) -> list[Ticket]:
        if not ticket_ids:
            return []
        with database_errors_as_transient(), self._engine.connect() as connection:
            rows = connection.execute(select(tickets).where(tickets.c.ticket_id.in_(ticket_ids)))
            found = {row.ticket_id: ticket_from_row(row._mapping) for row in rows}
        return [found[i] for i in ticket_ids if i in found]

    def events(self, ticket_id: str) -> list[TicketEvent]:
        """The ticket's audit trail, oldest first."""
        with database_errors_as_transient(), self._engine.connect() as connection:
            rows = connection.execute(select(ticket_events)
                                      .where(ticket_events.c.ticket_id == ticket_id)
                                      .order_by(ticket_events.c.seq))
            return [_event(row._mapping) for row in rows]

    def count_by(self, *columns: str) -> dict[tuple[str, ...], int]:
        """Ticket counts grouped by the named columns (for summaries and reports)."""
        keys = [tickets.c[name] for name in columns]
        with self._engine.connect() as connection:
            rows = connection.execute(select(*keys, func.count()).group_by(*keys))
            return {tuple(row[:-1]): int(row[-1]) for row in rows}

    def outcome_counts(self, since: datetime, until: datetime, unit: str | None = None
                       ) -> dict[tuple[str, str], OutcomeCounts]:
        """What the three rates count, per (unit, category), for the tickets created in
        [since, until): one aggregate over the created_at index, not a scan of all tickets.
        Transfers and merged duplicates are not the units' to answer for and are left out;
        tickets from before the clocks existed count in no rate (nothing of theirs is
        decided)."""
        c = tickets.c

        def count(condition: Any) -> Any:
            return func.sum(case((condition, 1), else_=0))

        unresolved = [status.value for status in UNRESOLVED_STATUSES]
        query = (select(c.unit, c.category, func.count(),
                        count(c.responded_in_time.is_(True)),
                        count(c.responded_in_time.is_(False)),
                        count(c.solved.is_(True)), count(c.solved.is_(False)),
                        count(c.satisfaction == Satisfaction.SATISFIED.value),
                        count(c.satisfaction == Satisfaction.BASICALLY_SATISFIED.value),
                        count(c.satisfaction == Satisfaction.UNSATISFIED.value),
                        count(and_(c.solved.is_(None), c.status.in_(unresolved),
                                   c.resolution_breached_at.isnot(None))))
                 .where(c.created_at >= since, c.created_at < until,
                        c.status.notin_([TicketStatus.TRANSFERRED.value,
                                         TicketStatus.MERGED.value]))
                 .group_by(c.unit, c.category))
        if unit is not None:
            query = query.where(c.unit == unit)
        with database_errors_as_transient(), self._engine.connect() as connection:
            return {(row[0], row[1]): OutcomeCounts(*(int(v or 0) for v in row[2:]))
                    for row in connection.execute(query)}

    def open_by_unit(self, now: datetime) -> dict[str, tuple[int, int]]:
        """Per unit holding them: unresolved tickets, and how many of those are past their
        resolution target (for the gauges, on a schedule)."""
        c = tickets.c
        unresolved = [status.value for status in UNRESOLVED_STATUSES]
        query = (select(c.unit, func.count(),
                        func.sum(case((and_(c.resolution_breached_at.isnot(None),
                                            c.resolution_breached_at <= now), 1), else_=0)))
                 .where(c.status.in_(unresolved), c.origin == self._origin)
                 .group_by(c.unit))
        with database_errors_as_transient(), self._engine.connect() as connection:
            return {row[0]: (int(row[1]), int(row[2] or 0)) for row in connection.execute(query)}

    def corrections(self) -> list[dict[str, str]]:
        """Tickets whose category an agent changed: (text, label) rows for retraining."""
        with self._engine.connect() as connection:
            rows = connection.execute(
                select(tickets.c.text, tickets.c.category)
                .where(tickets.c.category != tickets.c.suggested_category)
                .order_by(tickets.c.created_at))
            return [{"text": row.text, "label": row.category} for row in rows]


def _row(ticket: Ticket) -> dict[str, Any]:
    return {
        "ticket_id": ticket.ticket_id, "call_id": ticket.call_id, "version": ticket.version,
        "hotline": ticket.hotline, "channel": ticket.channel,
        "received_at": ticket.received_at, "created_at": ticket.created_at,
        "updated_at": ticket.updated_at or ticket.created_at,
        "caller_contact": ticket.caller_contact, "text": ticket.text,
        "place_text": ticket.place_text, "area": ticket.area, "category": ticket.category,
        "confidence": ticket.confidence, "suggested_category": ticket.suggested_category,
        "model_version": ticket.model_version, "urgency": ticket.urgency,
        "emergency_service": ticket.emergency_service,
        "disposition": ticket.disposition.value, "unit": ticket.unit,
        "rule_id": ticket.rule_id, "route_reason": ticket.route_reason,
        "status": ticket.status.value, "override_agent_id": ticket.override_agent_id,
        "claimed_by": ticket.claimed_by, "claimed_at": ticket.claimed_at,
        "raw_payload": dict(ticket.raw_payload),
        "clocks": [clock_document(c) for c in ticket.clocks],
        "next_alarm_at": ticket.next_alarm_at, "return_count": ticket.return_count,
        "returned_from": ticket.returned_from, "ruled_unit": ticket.ruled_unit,
        "reopen_count": ticket.reopen_count, "escalation_level": ticket.escalation_level,
        "merged_into": ticket.merged_into, "duplicate_count": ticket.duplicate_count,
        "suspended_from": ticket.suspended_from.value if ticket.suspended_from else None,
        "extension_request": _extension_document(ticket.extension_request),
        "first_contact_at": ticket.first_contact_at, "resolved_at": ticket.resolved_at,
        "closed_at": ticket.closed_at, "callback_attempts": ticket.callback_attempts,
        "responded_in_time": ticket.responded_in_time, "solved": ticket.solved,
        "satisfaction": ticket.satisfaction.value if ticket.satisfaction else None,
        "resolution_breached_at": ticket.resolution_breached_at,
        "caller_key": ticket.caller_key, "repeat_count": ticket.repeat_count,
    }


def ticket_from_row(row: Mapping[str, Any] | RowMapping) -> Ticket:
    return Ticket(
        ticket_id=row["ticket_id"], call_id=row["call_id"], hotline=row["hotline"],
        channel=row["channel"], received_at=row["received_at"], created_at=row["created_at"],
        text=row["text"], caller_contact=row["caller_contact"], place_text=row["place_text"],
        area=row["area"], category=row["category"], confidence=row["confidence"],
        suggested_category=row["suggested_category"], model_version=row["model_version"],
        urgency=row["urgency"], emergency_service=row["emergency_service"],
        disposition=Disposition(row["disposition"]), unit=row["unit"], rule_id=row["rule_id"],
        route_reason=row["route_reason"], status=TicketStatus(row["status"]),
        override_agent_id=row["override_agent_id"], raw_payload=row["raw_payload"],
        claimed_by=row["claimed_by"], claimed_at=row["claimed_at"],
        updated_at=row["updated_at"], version=row["version"],
        clocks=tuple(clock_from(doc) for doc in row["clocks"] or ()),
        next_alarm_at=row["next_alarm_at"], return_count=row["return_count"],
        returned_from=row["returned_from"], ruled_unit=row["ruled_unit"],
        reopen_count=row["reopen_count"], escalation_level=row["escalation_level"],
        merged_into=row["merged_into"], duplicate_count=row["duplicate_count"],
        suspended_from=TicketStatus(row["suspended_from"]) if row["suspended_from"] else None,
        extension_request=_extension_from(row["extension_request"]),
        first_contact_at=row["first_contact_at"], resolved_at=row["resolved_at"],
        closed_at=row["closed_at"], callback_attempts=row["callback_attempts"],
        responded_in_time=row["responded_in_time"], solved=row["solved"],
        satisfaction=Satisfaction(row["satisfaction"]) if row["satisfaction"] else None,
        caller_key=row["caller_key"], repeat_count=row["repeat_count"],
    )


def _incident_report_row(ticket: Ticket, incident_id: str, holder_id: str, share: float,
                         now: datetime, kind: str = "incident") -> dict[str, Any]:
    return {"call_id": ticket.call_id, "ticket_id": holder_id, "kind": kind,
            "hotline": ticket.hotline, "channel": ticket.channel,
            "received_at": ticket.received_at, "created_at": now,
            "caller_contact": ticket.caller_contact, "text": ticket.text,
            "place_text": ticket.place_text, "similarity": round(share, 4),
            "raw_payload": ticket.raw_payload, "incident_id": incident_id,
            "urgency": ticket.urgency, "area": ticket.area}


def _report_row(repeat: RepeatCall, now: datetime) -> dict[str, Any]:
    call = repeat.call
    return {"call_id": call.call_id, "ticket_id": repeat.ticket_id, "kind": "repeat",
            "hotline": call.hotline, "channel": call.channel.value,
            "received_at": call.received_at, "created_at": now,
            "caller_contact": call.caller_contact, "text": call.text,
            "place_text": call.place_text, "similarity": round(repeat.similarity, 4),
            "raw_payload": dict(call.raw_payload)}


def _as_date(value: Any) -> date:
    # PostgreSQL gives a date; SQLite's date() gives its text
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def _time(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat() if moment else None


def _parsed(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def _micros(span: timedelta) -> int:
    return span // timedelta(microseconds=1)


def clock_document(clock: Clock) -> dict[str, Any]:
    """A clock as JSON: times in UTC ISO 8601, spans in whole microseconds (exact)."""
    return {"name": clock.name.value, "calendar": clock.calendar, "round": clock.round,
            "started_at": _time(clock.started_at), "target_us": _micros(clock.target),
            "due_at": _time(clock.due_at), "original_due_at": _time(clock.original_due_at),
            "phase": clock.phase.value, "elapsed_us": _micros(clock.elapsed),
            "running_since": _time(clock.running_since),
            "breached_at": _time(clock.breached_at), "stopped_at": _time(clock.stopped_at),
            "crossed": list(clock.crossed)}


def clock_from(doc: Mapping[str, Any]) -> Clock:
    started = datetime.fromisoformat(doc["started_at"])
    original = datetime.fromisoformat(doc["original_due_at"])
    return Clock(name=ClockName(doc["name"]), calendar=doc["calendar"], round=doc["round"],
                 started_at=started, target=timedelta(microseconds=doc["target_us"]),
                 due_at=_parsed(doc["due_at"]), original_due_at=original,
                 phase=ClockPhase(doc["phase"]),
                 elapsed=timedelta(microseconds=doc["elapsed_us"]),
                 running_since=_parsed(doc["running_since"]),
                 breached_at=_parsed(doc["breached_at"]), stopped_at=_parsed(doc["stopped_at"]),
                 crossed=tuple(doc["crossed"]))


def _extension_document(request: ExtensionRequest | None) -> dict[str, Any] | None:
    if request is None:
        return None
    return {"reason": request.reason, "due_at": _time(request.due_at),
            "requested_by": request.requested_by, "requested_at": _time(request.requested_at)}


def _extension_from(doc: Mapping[str, Any] | None) -> ExtensionRequest | None:
    if not doc:
        return None
    return ExtensionRequest(reason=doc["reason"], due_at=datetime.fromisoformat(doc["due_at"]),
                            requested_by=doc["requested_by"],
                            requested_at=datetime.fromisoformat(doc["requested_at"]))


def _event_row(event: TicketEvent) -> dict[str, Any]:
    return {"event_id": event.event_id, "ticket_id": event.ticket_id, "version": event.version,
            "occurred_at": event.occurred_at, "kind": event.kind.value, "actor": event.actor,
            "detail": dict(event.detail)}


def _event(row: Mapping[str, Any] | RowMapping) -> TicketEvent:
    return TicketEvent(event_id=row["event_id"], ticket_id=row["ticket_id"],
                       version=row["version"], kind=EventKind(row["kind"]), actor=row["actor"],
                       occurred_at=row["occurred_at"], detail=row["detail"])


def _outbox_row(message: OutboxMessage, origin: str, now: datetime, due: datetime
                ) -> dict[str, Any]:
    return {"origin": origin, "message_id": message.message_id, "ticket_id": message.ticket_id,
            "hotline": message.hotline, "deliveries": deliveries_document(message),
            "created_at": now, "next_attempt_at": due, "attempts": 0}


def deliveries_document(message: OutboxMessage) -> list[dict[str, Any]]:
    return [{"destination": d.destination.value, "target": d.target, "key": d.key,
             "payload": dict(d.payload)} for d in message.deliveries]
