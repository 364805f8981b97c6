"""The surge detector's state in the database: one row per key (category × area), taken FOR
UPDATE (PostgreSQL) while a batch counts its reports into it, so every worker adds to the
same baseline and a surge is raised once, whichever worker sees the report that raises it.
The state survives a restart or a rebalance because it lives in the system of record."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, and_, bindparam, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from router.domain.hotspots import (
    ActiveSurge,
    KeyChange,
    Report,
    Surge,
    SurgePolicy,
    SurgeState,
    advance,
    observe,
    surge_key,
)
from router.persistence.errors import StoreUnavailable, database_errors_as_transient
from router.persistence.schema import surges


class SurgeStore:
    def __init__(self, engine: Engine, policy: SurgePolicy, origin: str = "hotline-router"
                 ) -> None:
        self._engine = engine
        self.policy = policy
        self._origin = origin
        inserts: dict[str, Callable[..., Any]] = {"postgresql": postgresql.insert,
                                                   "sqlite": sqlite.insert}
        self._insert = inserts[engine.dialect.name]
        self._made: set[str] = set()  # keys whose row is known to exist
        self._update = update(surges).where(surges.c.key == bindparam("b_key")).values(
            state=bindparam("b_state"), updated_at=bindparam("b_updated_at"),
            raised_at=bindparam("b_raised_at"))

    def count(self, reports: Sequence[Report]) -> list[KeyChange]:
        """Count the reports, in event-time order, into their keys; the raised surges also
        see time pass (so they clear without further calls). One transaction: one locked
        read of the keys counted into and the keys raised, one batch of updates."""
        if not reports:
            return []
        now = datetime.now(UTC)
        by_key: dict[str, list[Report]] = {}
        for report in sorted(reports, key=lambda r: r.received_at):
            by_key.setdefault(self._key(report), []).append(report)
        self._make_keys(by_key)
        watermark = max(r.received_at for r in reports)
        changes: list[KeyChange] = []
        written: list[dict[str, Any]] = []
        with database_errors_as_transient(), self._engine.begin() as connection:
            rows = list(self._locked(connection, sorted(by_key)))
            if not by_key.keys() <= {row.key for row in rows}:
                self._made.difference_update(by_key)  # made again on the next try
                raise StoreUnavailable("a surge key's row is missing")
            for row in rows:
                state = state_from(row.state)
                for report in by_key.get(row.key, []):
                    state, change = observe(state, report.received_at, self.policy)
                    if change.raised or change.cleared:
                        changes.append(KeyChange(row.category, row.area, change))
                state, change = advance(state, watermark, self.policy)
                if change.cleared:
                    changes.append(KeyChange(row.category, row.area, change))
                written.append({"b_key": row.key, "b_state": state_document(state),
                                "b_updated_at": now,
                                "b_raised_at": state.surge.raised_at if state.surge else None})
            connection.execute(self._update, written)
        return changes

    def _make_keys(self, found: Mapping[str, Sequence[Report]]) -> None:
        """The rows of the keys this worker has not counted into before, made in a
        transaction of its own: committed at once, they hold no lock that a batch locking
        keys in order could wait on."""
        new = sorted(set(found) - self._made)
        if not new:
            return
        now = datetime.now(UTC)
        with database_errors_as_transient(), self._engine.begin() as connection:
            connection.execute(
                self._insert(surges).on_conflict_do_nothing(index_elements=["key"]),
                [{"key": key, "origin": self._origin, "category": found[key][0].category,
                  "area": found[key][0].area, "state": state_document(SurgeState()),
                  "updated_at": now} for key in new])
        self._made.update(new)

    def _key(self, report: Report) -> str:
        # deployments sharing a database keep their own surges (as their tickets and outbox)
        return f"{self._origin}|{surge_key(report.category, report.area)}"

    def _locked(self, connection: Connection, keys: Sequence[str]) -> Any:
        """The keys' rows and every raised one of this origin, in key order."""
        query = (select(surges)
                 .where(or_(surges.c.key.in_(keys),
                            and_(surges.c.origin == self._origin,
                                 surges.c.raised_at.isnot(None))))
                 .order_by(surges.c.key))
        if self._engine.dialect.name == "postgresql":
            query = query.with_for_update()  # in key order: two batches never deadlock
        return connection.execute(query)

    def active(self) -> list[ActiveSurge]:
        with database_errors_as_transient(), self._engine.connect() as connection:
            rows = connection.execute(select(surges).where(surges.c.origin == self._origin,
                                                           surges.c.raised_at.isnot(None))
                                      .order_by(surges.c.raised_at))
            found = []
            for row in rows:
                state = state_from(row.state)
                if state.surge is not None:
                    found.append(ActiveSurge(row.category, row.area, state.surge,
                                             state.window_count(self.policy)))
            return found


def state_document(state: SurgeState) -> dict[str, Any]:
    surge = state.surge
    return {"buckets": [list(pair) for pair in state.buckets], "baseline": state.baseline,
            "folded_until": state.folded_until, "learned": state.learned_buckets,
            "latest": state.latest, "quiet_since": state.quiet_since,
            "surge": None if surge is None else {
                "raised_at": surge.raised_at.isoformat(), "reports": surge.reports,
                "expected": surge.expected, "tail": surge.tail_probability,
                "peak": surge.peak}}


def state_from(doc: Mapping[str, Any]) -> SurgeState:
    surge = doc.get("surge")
    return SurgeState(
        buckets=tuple((int(i), int(c)) for i, c in doc.get("buckets", [])),
        baseline=doc.get("baseline"), folded_until=doc.get("folded_until"),
        learned_buckets=int(doc.get("learned", 0)), latest=doc.get("latest"),
        quiet_since=doc.get("quiet_since"),
        surge=None if not surge else Surge(
            raised_at=datetime.fromisoformat(surge["raised_at"]), reports=surge["reports"],
            expected=surge["expected"], tail_probability=surge["tail"], peak=surge["peak"]))
