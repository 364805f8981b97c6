"""The SLA timer at scale: the due-time index against many open tickets.

    HOTLINE_DATABASE_URL=postgresql+psycopg://… python bench/sla_timer_bench.py \\
        --open 10000 1000000 --due 1000 --per-minute 10000 --lag-seconds 60

For each number of open tickets (all with a running clock, due in the coming weeks):
- the look at the head of the index (`TicketRepository.due_query`, FOR UPDATE SKIP LOCKED)
  with `--due` tickets due now, median of 21 runs, each rolled back, and its plan;
- the index's size per open ticket.
Then, with the largest number still in the table, the lag from each deadline to its breach
event being committed, with `--per-minute` deadlines spread evenly over `--lag-seconds`,
fired by the SLA timer's own look and wait (`SlaTimer.fire_due`, `wait_after`), the loop of
its `run`: p50, p99 and max.

Everything runs under an origin of its own, deleted at the end; the index is rebuilt at the
start so earlier runs do not count in its size: point it at a bench database. Prints JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from router.domain.calendars import Calendar, CalendarKind
from router.domain.outbox import messages_for
from router.domain.routing import Disposition
from router.domain.sla import ClockName, ClockPolicy, SlaPolicy
from router.domain.tickets import Ticket, TicketStatus, ticket_id_for
from router.metrics import RouterMetrics
from router.persistence.database import make_engine, upgrade_schema
from router.persistence.tickets import TicketRepository
from router.sla_timer import SlaTimer

_ALWAYS = Calendar("24x7", CalendarKind.ALWAYS)


def policy(sign: timedelta) -> SlaPolicy:
    """One sign clock without warnings: each ticket's next alarm is its breach."""
    return SlaPolicy({ClockName.SIGN: ClockPolicy(ClockName.SIGN, "24x7", sign, warn_at=())},
                     {"24x7": _ALWAYS})


def ticket(call_id: str, created_at: datetime) -> Ticket:
    return Ticket(
        ticket_id=ticket_id_for(call_id), call_id=call_id, hotline="12345", channel="phone",
        received_at=created_at, created_at=created_at, text="公交站牌损坏", caller_contact=None,
        place_text=None, area=None, category="交通运输", confidence=0.9,
        suggested_category="交通运输", model_version="bench", urgency="general",
        emergency_service=None, disposition=Disposition.DISPATCHED, unit="transport",
        rule_id="bench", route_reason="bench", status=TicketStatus.DISPATCHED)


def fill_open(engine: Engine, origin: str, count: int, start: int) -> None:
    """`count` open tickets whose next alarm is days to weeks away, written in bulk."""
    engine_sql = text("""
        INSERT INTO tickets (ticket_id, call_id, version, hotline, channel, received_at,
            created_at, updated_at, text, category, confidence, suggested_category,
            model_version, urgency, disposition, unit, rule_id, route_reason, status,
            raw_payload, clocks, next_alarm_at, origin, return_count, reopen_count,
            escalation_level, duplicate_count, callback_attempts)
        SELECT :origin || '-o' || n, :origin || '-c' || n, 1, '12345', 'phone', now(), now(),
            now(), '公交站牌损坏', '交通运输', 0.9, '交通运输', 'bench', 'general',
            'dispatched', 'transport', 'bench', 'bench', 'dispatched', '{}', '[]',
            now() + interval '1 day' + (n % 1209600) * interval '1 second', :origin,
            0, 0, 0, 0, 0
        FROM generate_series(CAST(:first AS integer), CAST(:last AS integer)) AS n""")
    step = 200_000
    with engine.begin() as connection:
        for first in range(start, start + count, step):
            connection.execute(engine_sql, {"origin": origin, "first": first,
                                            "last": min(first + step, start + count) - 1})
        connection.execute(text("ANALYZE tickets"))


def add_due(repository: TicketRepository, origin: str, count: int, now: datetime,
            sla: SlaPolicy, spread: timedelta = timedelta(0), sign: timedelta = timedelta(0)
            ) -> None:
    """Real tickets whose breach falls at now (or evenly over `spread` from now)."""
    changes = []
    for i in range(count):
        due = now + spread * (i / max(count, 1))
        changes.append(ticket(f"{origin}-due-{uuid.uuid4().hex}", due - sign).open(sla))
    for first in range(0, len(changes), 2000):
        part = changes[first:first + 2000]
        repository.create(part, messages_for(part))


def time_the_look(engine: Engine, repository: TicketRepository, limit: int) -> dict[str, Any]:
    query = repository.due_query(datetime.now(UTC), limit)
    compiled = query.compile(engine, compile_kwargs={"literal_binds": True})
    seconds = []
    with engine.connect() as connection:
        for _ in range(21):
            started = time.perf_counter()
            rows = connection.execute(query).fetchall()
            seconds.append(time.perf_counter() - started)
            connection.rollback()
        plan = [row[0] for row in connection.execute(text(f"EXPLAIN {compiled}"))]
    return {"due_rows": len(rows), "look_ms_median": round(statistics.median(seconds) * 1000, 2),
            "look_ms_min": round(min(seconds) * 1000, 2),
            "plan": [line.strip() for line in plan if "Scan" in line]}


def index_size(engine: Engine, origin: str) -> dict[str, Any]:
    with engine.connect() as connection:
        size = connection.execute(text(
            "SELECT pg_relation_size('ix_tickets_next_alarm_at')")).scalar_one()
        indexed = connection.execute(text(
            "SELECT count(*) FROM tickets WHERE next_alarm_at IS NOT NULL")).scalar_one()
        mine = connection.execute(text("SELECT count(*) FROM tickets WHERE origin = :o"),
                                  {"o": origin}).scalar_one()
    return {"index_bytes": size, "indexed_tickets": indexed, "bench_tickets": mine,
            "index_bytes_per_ticket": round(size / max(indexed, 1), 1)}


def measure_lag(engine: Engine, origin: str, per_minute: int, seconds: float) -> dict[str, Any]:
    sign = timedelta(seconds=30)
    sla = policy(sign)
    repository = TicketRepository(engine, origin=origin)
    count = round(per_minute * seconds / 60)
    # the first deadline well after the inserts are done, so the timer is already looking
    start = datetime.now(UTC) + timedelta(seconds=15 + count / 500)
    add_due(repository, origin, count, start, sla, spread=timedelta(seconds=seconds), sign=sign)
    head_start = (start - datetime.now(UTC)).total_seconds()
    timer = SlaTimer(repository, sla, RouterMetrics(), batch_size=500, poll_seconds=0.5)
    lags: list[float] = []
    deadline = time.monotonic() + seconds + 30
    while len(lags) < count and time.monotonic() < deadline:
        changes = timer.fire_due()
        committed = datetime.now(UTC)
        lags += [(committed - event.occurred_at).total_seconds()
                 for change in changes for event in change.events]
        time.sleep(timer.wait_after(changes))
    lags.sort()
    return {"deadlines": count, "breaches_fired": len(lags), "per_minute": per_minute,
            "timer_started_seconds_before_first_deadline": round(head_start, 1),
            "lag_ms_p50": round(lags[len(lags) // 2] * 1000, 1) if lags else None,
            "lag_ms_p99": round(lags[int(len(lags) * 0.99)] * 1000, 1) if lags else None,
            "lag_ms_max": round(lags[-1] * 1000, 1) if lags else None}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--open", type=int, nargs="+", default=[10_000, 1_000_000])
    parser.add_argument("--due", type=int, default=1000)
    parser.add_argument("--per-minute", type=int, default=10_000)
    parser.add_argument("--lag-seconds", type=float, default=60.0)
    args = parser.parse_args()
    url = os.environ.get("HOTLINE_DATABASE_URL", "")
    if not url.startswith("postgresql"):
        print("HOTLINE_DATABASE_URL must name a PostgreSQL database", file=sys.stderr)
        return 2
    engine = make_engine(url, pool_size=4)
    upgrade_schema(engine)
    with engine.connect() as connection:
        # Earlier runs' deleted rows would count in the index size: start from a compact one
        # (a bench database's; do not run this against a live one).
        autocommit = connection.execution_options(isolation_level="AUTOCOMMIT")
        autocommit.execute(text("VACUUM (ANALYZE) tickets"))
        autocommit.execute(text("REINDEX INDEX ix_tickets_next_alarm_at"))
    origin = f"bench-{uuid.uuid4().hex[:8]}"
    repository = TicketRepository(engine, origin=origin)
    sla = policy(timedelta(minutes=5))
    results: dict[str, Any] = {"looks": []}
    try:
        add_due(repository, origin, args.due, datetime.now(UTC) - timedelta(seconds=1), sla,
                sign=timedelta(minutes=5))
        filled = 0
        for total in sorted(args.open):
            fill_open(engine, origin, total - filled - args.due, filled)
            filled = total - args.due
            look = time_the_look(engine, repository, args.due)
            results["looks"].append({"open_tickets": total, **look,
                                     **index_size(engine, origin)})
            print(json.dumps(results["looks"][-1], ensure_ascii=False), flush=True)
        # the due ones out of the way, then the lag with every open ticket still there
        with engine.begin() as connection:
            connection.execute(text("UPDATE tickets SET next_alarm_at = NULL WHERE origin = :o"
                                    " AND next_alarm_at <= now()"), {"o": origin})
        results["lag"] = measure_lag(engine, origin, args.per_minute, args.lag_seconds)
        print(json.dumps(results["lag"]), flush=True)
    finally:
        with engine.begin() as connection:
            for table in ("outbox", "ticket_events"):
                connection.execute(text(
                    f"DELETE FROM {table} WHERE ticket_id IN"
                    " (SELECT ticket_id FROM tickets WHERE origin = :o)"), {"o": origin})
            connection.execute(text("DELETE FROM tickets WHERE origin = :o"), {"o": origin})
        engine.dispose()
    first, last = results["looks"][0], results["looks"][-1]
    results["look_ratio_largest_to_smallest"] = round(
        last["look_ms_median"] / first["look_ms_median"], 2)
    print(json.dumps({k: v for k, v in results.items() if k != "looks"}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
