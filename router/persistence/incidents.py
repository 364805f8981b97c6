"""Incidents in the database, and each worker's cache of the areas it places reports in.

Placing a batch's reports happens inside the transaction that creates its tickets: the batch
locks the `incident_areas` row of each area it touches (in key order, so two batches never
deadlock) and moves its revision on, so two workers never open two incidents for one matter.
Every incident the transaction writes carries that revision: a worker whose cached index of
an area is older than the area's revision reads back only the incidents written since, not
the whole area (two workers touch the same areas on nearly every batch). The database is the
truth: a restarted worker reads an area's open incidents back on first touch, and a
transaction that fails forgets the areas it touched.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, RowMapping, and_, bindparam, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from router.domain.hotspots import PROACTIVE_CHANNEL
from router.domain.incidents import (
    Incident,
    IncidentIndex,
    IncidentPolicy,
    Priority,
    opened,
)
from router.domain.routing import Disposition
from router.domain.sla import SlaPolicy
from router.domain.tickets import UNRESOLVED_STATUSES, Ticket
from router.persistence.errors import StoreUnavailable, database_errors_as_transient
from router.persistence.schema import incident_areas, incidents, reports, tickets


@dataclass(slots=True)
class Placement:
    """Where a batch's new demands go: attached to an incident, or leading a new one."""

    attached: dict[str, tuple[str, str, float]] = field(default_factory=dict)
    # call id → (incident id, lead ticket id, share)
    linked: dict[str, tuple[str, float]] = field(default_factory=dict)
    # call id → (incident id, share) of a demand that stands alone: its own ticket, linked
    opened: dict[str, str] = field(default_factory=dict)  # call id → the incident it leads
    changed: dict[str, Incident] = field(default_factory=dict)  # incident id → as it is now
    new: set[str] = field(default_factory=set)  # incident ids opened by this batch
    before: dict[str, int] = field(default_factory=dict)  # incident id → reports it had
    areas: set[str] = field(default_factory=set)
    revisions: dict[str, int] = field(default_factory=dict)  # area → revision written

    def reports_before(self, incident_id: str) -> int:
        """What the incident counted before this batch's reports were counted on it: its
        stored count, or for one this batch opened, its lead's own report."""
        return 1 if incident_id in self.new else self.before[incident_id]


@dataclass(frozen=True, slots=True)
class IncidentRecord:
    incident: Incident
    status: str  # open | closed | merged
    merged_into: str | None
    unit: str  # the lead ticket's unit
    lead_status: str


@dataclass(frozen=True, slots=True)
class IncidentReport:
    call_id: str
    received_at: datetime
    hotline: str
    channel: str
    text: str
    caller_contact: str | None
    place_text: str | None
    urgency: str | None
    share: float
    kind: str  # incident: counted on the lead ticket; linked: a ticket of its own
    ticket_id: str  # the lead ticket, or the linked call's own ticket


def stands_alone(ticket: Ticket) -> bool:
    """Seen on its own whatever else is reported: an emergency, a transfer to an emergency
    line, an agent's explicit choice. It keeps its own ticket; when it is about an open
    incident it is linked to it (counted, with its own ticket), never counted on the lead."""
    return (ticket.urgency == "emergency" or ticket.disposition is Disposition.TRANSFERRED
            or ticket.override_agent_id is not None)


class IncidentStore:
    def __init__(self, engine: Engine, policy: IncidentPolicy, sla: SlaPolicy,
                 grams: Callable[[str], frozenset[str]], origin: str = "hotline-router"
                 ) -> None:
        self._engine = engine
        self.policy = policy
        self.sla = sla
        self.grams = grams
        self._origin = origin
        self._postgres = engine.dialect.name == "postgresql"
        inserts: dict[str, Callable[..., Any]] = {"postgresql": postgresql.insert,
                                                   "sqlite": sqlite.insert}
        self._insert = inserts[engine.dialect.name]
        self._cache: dict[str, tuple[int, IncidentIndex]] = {}  # area → (revision, index)
        self._made_areas: set[str] = set()  # areas whose incident_areas row is known to exist
        placed = incidents.c.incident_id == bindparam("b_incident_id")
        self._update = update(incidents).where(placed).values(
            {name: bindparam(f"b_{name}") for name in _WRITTEN})
        self._close = update(incidents).where(placed).values(
            status="closed", updated_at=bindparam("b_updated_at"),
            area_revision=bindparam("b_area_revision"))
        self.read_back = 0  # incidents read from the database into the cache, for operators

    # -- placing, inside the caller's transaction -------------------------------------------

    def place(self, connection: Connection, proposed: Sequence[Ticket]) -> Placement:
        placement = Placement()
        # a proactive ticket is the centre's own, about a surge: never a report of anything
        joining = sorted((t for t in proposed
                          if t.area is not None and t.channel != PROACTIVE_CHANNEL),
                         key=lambda t: t.received_at)
        if not joining:
            return placement
        placement.areas = {t.area or "" for t in joining}
        try:
            self._make_areas(placement.areas)
            placement.revisions = self._lock_areas(connection, placement.areas)
            indexes = self._fresh_indexes(connection, placement.revisions)
            grams_of: dict[str, frozenset[str]] = {}
            for ticket in joining:
                index = indexes[ticket.area or ""]
                grams = grams_of[ticket.call_id] = self.grams(ticket.text)
                found = index.match(grams, ticket.received_at)
                if found is not None:
                    parent, share = found
                    joined = self._join(placement, index, parent, grams, ticket)
                    if stands_alone(ticket):
                        placement.linked[ticket.call_id] = (joined.incident_id, share)
                    else:
                        placement.attached[ticket.call_id] = (joined.incident_id,
                                                              joined.lead_ticket_id, share)
                elif not stands_alone(ticket):
                    incident = opened(_incident_id(ticket), ticket.ticket_id, ticket.area or "",
                                      ticket.category, grams, ticket.received_at,
                                      ticket.urgency, self.policy)
                    placement.opened[ticket.call_id] = incident.incident_id
                    placement.new.add(incident.incident_id)
                    index.put(incident)
                    placement.changed[incident.incident_id] = incident
            self._fold_fragments(joining, grams_of, indexes, placement)
        except BaseException:
            self.forget(placement)
            raise
        return placement

    def _fold_fragments(self, joining: Sequence[Ticket], grams_of: Mapping[str, frozenset[str]],
                        indexes: Mapping[str, IncidentIndex], placement: Placement) -> None:
        """A second look at the incidents this batch opened that nothing joined: the batch's
        later reports may have taught another incident their words (the first minutes of a
        surge open many such fragments). One that now belongs to another incident is
        attached to it instead of leading one."""
        by_call = {t.call_id: t for t in joining}
        for call_id, incident_id in list(placement.opened.items()):
            alone = placement.changed[incident_id]
            if alone.reports != 1:
                continue
            ticket = by_call[call_id]
            index = indexes[alone.area]
            found = index.match(grams_of[call_id], ticket.received_at, excluding=incident_id)
            if found is None:
                continue
            index.drop(incident_id)
            parent, share = found
            del placement.opened[call_id], placement.changed[incident_id]
            placement.new.discard(incident_id)
            joined = self._join(placement, index, parent, grams_of[call_id], ticket)
            placement.attached[call_id] = (joined.incident_id, joined.lead_ticket_id, share)

    def _join(self, placement: Placement, index: IncidentIndex, parent: Incident,
              grams: frozenset[str], ticket: Ticket) -> Incident:
        """`parent` with the ticket's report in it, in the index and the placement."""
        if parent.incident_id not in placement.new:
            placement.before.setdefault(parent.incident_id, parent.reports)
        joined = parent.with_report(grams, ticket.received_at, ticket.urgency, self.policy)
        index.put(joined)
        placement.changed[joined.incident_id] = joined
        return joined

    def settle(self, connection: Connection, placement: Placement, led: set[str],
               counted: Mapping[str, int], closed: set[str]) -> None:
        """Write what the batch did: `led` are the call ids whose tickets now lead their new
        incidents (created), `counted` the reports actually counted per incident, `closed`
        the incidents whose lead ticket was no longer open."""
        now = datetime.now(UTC)
        lost = {placement.opened[c] for c in placement.opened if c not in led}
        rows: list[dict[str, Any]] = []
        updates: list[dict[str, Any]] = []
        closing: list[dict[str, Any]] = []
        for incident_id, incident in placement.changed.items():
            revision = placement.revisions[incident.area]
            if incident_id in lost or incident_id in closed:
                self._index(incident.area).drop(incident_id)
                if incident_id in closed:
                    closing.append({"b_incident_id": incident_id, "b_updated_at": now,
                                    "b_area_revision": revision})
                continue
            incident = _recounted(incident, placement.reports_before(incident_id)
                                  + counted.get(incident_id, 0))
            self._index(incident.area).put(incident)
            if incident_id in placement.new:
                rows.append(_row(incident, self._origin, now, revision))
            else:
                updates.append({"b_incident_id": incident_id} | {
                    f"b_{name}": value for name, value in _values(incident, now, revision).items()})
        # each statement's rows go together (psycopg's pipeline mode), not one trip a row
        if rows:
            connection.execute(incidents.insert(), rows)
        if updates:
            connection.execute(self._update, updates)
        if closing:
            connection.execute(self._close, closing)
        for area in placement.areas:
            self._settled(area, placement.revisions[area])

    def forget(self, placement: Placement) -> None:
        """The transaction failed: what this worker cached of the areas may be wrong."""
        for area in placement.areas:
            self._cache.pop(area, None)

    def _lock_areas(self, connection: Connection, areas: Collection[str]) -> dict[str, int]:
        """Take the areas' rows until the transaction ends, moving each one's revision on;
        answers area → the revision this transaction writes (the one before it, plus one)."""
        keys = {self._area_key(area): area for area in areas}
        chosen = select(incident_areas.c.key).where(incident_areas.c.key.in_(keys))
        if self._postgres:
            # rows are locked in key order, so two batches never deadlock (SQLite has one
            # writer at a time and needs no lock)
            chosen = chosen.order_by(incident_areas.c.key).with_for_update()
        moved = connection.execute(
            update(incident_areas).where(incident_areas.c.key.in_(chosen))
            .values(revision=incident_areas.c.revision + 1)
            .returning(incident_areas.c.key, incident_areas.c.revision))
        revisions = {keys[key]: int(revision) for key, revision in moved}
        if len(revisions) != len(keys):
            self._made_areas.difference_update(areas)  # made again on the next try
            raise StoreUnavailable("an area's incident_areas row is missing")
        return revisions

    def _make_areas(self, areas: Collection[str]) -> None:
        """The rows of the areas this worker has not placed in before, made in a transaction
        of its own before the placing one writes anything: committed at once, they hold no
        lock that a batch locking areas in key order could wait on."""
        new = sorted(self._area_key(area) for area in set(areas) - self._made_areas)
        if not new:
            return
        with self._engine.begin() as connection:
            connection.execute(self._insert(incident_areas).on_conflict_do_nothing(
                index_elements=["key"]), [{"key": key, "revision": 0} for key in new])
        self._made_areas.update(areas)

    def _fresh_indexes(self, connection: Connection, revisions: Mapping[str, int]
                       ) -> dict[str, IncidentIndex]:
        """Each area's cached index, brought up to the revision before this transaction's:
        an area never seen is read whole (its open incidents), a stale one gets the
        incidents written since the revision it holds (dropping those no longer open)."""
        indexes: dict[str, IncidentIndex] = {}
        unseen: list[str] = []
        stale: dict[str, int] = {}
        for area, revision in revisions.items():
            cached = self._cache.get(area)
            if cached is None:
                unseen.append(area)
                indexes[area] = IncidentIndex(self.policy)
                continue
            indexes[area] = cached[1]
            if cached[0] < revision - 1:
                stale[area] = cached[0]
        read = (select(incidents, tickets.c.status.label("lead_status"))
                .join(tickets, tickets.c.ticket_id == incidents.c.lead_ticket_id)
                .where(incidents.c.origin == self._origin))
        unresolved = {s.value for s in UNRESOLVED_STATUSES}
        if unseen:
            for row in connection.execute(read.where(
                    incidents.c.area.in_(unseen), incidents.c.status == "open",
                    tickets.c.status.in_(unresolved))):
                indexes[row.area].put(incident_from(row._mapping))
                self.read_back += 1
        if stale:
            for row in connection.execute(read.where(or_(*(
                    and_(incidents.c.area == area, incidents.c.area_revision > held)
                    for area, held in stale.items())))):
                if row.status == "open" and row.lead_status in unresolved:
                    indexes[row.area].put(incident_from(row._mapping))
                else:
                    indexes[row.area].drop(row.incident_id)
                self.read_back += 1
        for area, index in indexes.items():
            self._cache[area] = (revisions[area] - 1, index)
        return indexes

    def _index(self, area: str) -> IncidentIndex:
        cached = self._cache.get(area)
        if cached is None:
            cached = (-1, IncidentIndex(self.policy))
            self._cache[area] = cached
        return cached[1]

    def _settled(self, area: str, revision: int) -> None:
        """The cached index of `area` now holds what this transaction wrote, at `revision`."""
        cached = self._cache.get(area)
        if cached is not None:
            index = cached[1]
            if index.latest_report_at is not None:
                index.expire(index.latest_report_at)  # bounded: a closed window never reopens
            self._cache[area] = (revision, index)

    def _area_key(self, area: str) -> str:
        return f"{self._origin}|{area}"

    # -- reading and the dispatchers' corrections ---------------------------------------------

    def get(self, incident_id: str) -> IncidentRecord | None:
        with database_errors_as_transient(), self._engine.connect() as connection:
            row = connection.execute(self._records().where(
                incidents.c.incident_id == incident_id)).first()
            return _record(row._mapping) if row is not None else None

    def led_by(self, ticket_id: str) -> IncidentRecord | None:
        with database_errors_as_transient(), self._engine.connect() as connection:
            row = connection.execute(self._records().where(
                incidents.c.lead_ticket_id == ticket_id, incidents.c.status == "open")).first()
            return _record(row._mapping) if row is not None else None

    def open_for_unit(self, unit: str | None, limit: int) -> list[IncidentRecord]:
        """Open incidents whose lead ticket is still open, in `unit` (all units for None),
        the most reported first."""
        query = self._records().where(
            incidents.c.status == "open",
            tickets.c.status.in_([s.value for s in UNRESOLVED_STATUSES]))
        if unit is not None:
            query = query.where(tickets.c.unit == unit)
        query = query.order_by(incidents.c.reports.desc(), incidents.c.opened_at).limit(limit)
        with database_errors_as_transient(), self._engine.connect() as connection:
            return [_record(row._mapping) for row in connection.execute(query)]

    def reports(self, incident_id: str, limit: int, offset: int = 0) -> list[IncidentReport]:
        query = (select(reports).where(reports.c.incident_id == incident_id)
                 .order_by(reports.c.received_at, reports.c.seq).limit(limit).offset(offset))
        with database_errors_as_transient(), self._engine.connect() as connection:
            return [IncidentReport(
                call_id=row.call_id, received_at=row.received_at, hotline=row.hotline,
                channel=row.channel, text=row.text, caller_contact=row.caller_contact,
                place_text=row.place_text, urgency=row.urgency, share=row.similarity,
                kind=row.kind, ticket_id=row.ticket_id)
                for row in connection.execute(query)]

    def _records(self) -> Any:
        return (select(incidents, tickets.c.unit, tickets.c.status.label("lead_status"))
                .join(tickets, tickets.c.ticket_id == incidents.c.lead_ticket_id)
                .where(incidents.c.origin == self._origin))

    def locked(self, connection: Connection, incident_id: str) -> Incident | None:
        query = select(incidents).where(incidents.c.incident_id == incident_id,
                                        incidents.c.origin == self._origin)
        if self._postgres:
            query = query.with_for_update()
        row = connection.execute(query).first()
        return incident_from(row._mapping) if row is not None else None

    def led(self, connection: Connection, ticket_id: str) -> Incident | None:
        """The open incident `ticket_id` leads, locked."""
        query = select(incidents).where(incidents.c.lead_ticket_id == ticket_id,
                                        incidents.c.origin == self._origin,
                                        incidents.c.status == "open")
        if self._postgres:
            query = query.with_for_update()
        row = connection.execute(query).first()
        return incident_from(row._mapping) if row is not None else None

    def save(self, connection: Connection, incident: Incident, status: str = "open",
             merged_into: str | None = None) -> None:
        """A dispatcher's correction, written in the caller's transaction; the area's
        cached incidents are read again by every worker."""
        now = datetime.now(UTC)
        [revision] = self._lock_areas(connection, [incident.area]).values()
        connection.execute(update(incidents).where(
            incidents.c.incident_id == incident.incident_id).values(
                _values(incident, now, revision) | {"status": status,
                                                     "merged_into": merged_into}))
        self._cache.pop(incident.area, None)  # this worker reads the area again too


def _incident_id(ticket: Ticket) -> str:
    return "INC-" + ticket.ticket_id


def _recounted(incident: Incident, reports: int) -> Incident:
    # The count is what was stored, whatever replays or races placed in the batch.
    return dataclasses.replace(incident, reports=reports)


# what placing a report writes of an existing incident
_WRITTEN = ("last_report_at", "opened_at", "reports", "pressing_reports", "priority", "profile",
            "lead_ticket_id", "updated_at", "area_revision")


def _values(incident: Incident, now: datetime, revision: int) -> dict[str, Any]:
    return {"last_report_at": incident.last_report_at, "opened_at": incident.opened_at,
            "reports": incident.reports, "pressing_reports": incident.pressing_reports,
            "priority": incident.priority.value, "profile": dict(incident.profile),
            "lead_ticket_id": incident.lead_ticket_id, "updated_at": now,
            "area_revision": revision}


def _row(incident: Incident, origin: str, now: datetime, revision: int) -> dict[str, Any]:
    return _values(incident, now, revision) | {
        "incident_id": incident.incident_id, "origin": origin, "area": incident.area,
        "category": incident.category, "status": "open", "merged_into": None}


def incident_from(row: Mapping[str, Any] | RowMapping) -> Incident:
    return Incident(
        incident_id=row["incident_id"], lead_ticket_id=row["lead_ticket_id"],
        area=row["area"], category=row["category"], opened_at=row["opened_at"],
        last_report_at=row["last_report_at"], reports=row["reports"],
        pressing_reports=row["pressing_reports"], priority=Priority(row["priority"]),
        profile=dict(row["profile"]))


def _record(row: Mapping[str, Any] | RowMapping) -> IncidentRecord:
    return IncidentRecord(incident_from(row), row["status"], row["merged_into"], row["unit"],
                          row["lead_status"])
