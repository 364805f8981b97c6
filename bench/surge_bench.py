"""The snowstorm night (未诉先办): a surge of calls about one incident, in many phrasings,
mixed into a normal day's traffic, replayed through intake in event-time order.

    python bench/surge_bench.py --surge 25000
    python bench/surge_bench.py --surge 25000 --database-url postgresql+psycopg://…

A day of normal calls (the project's spoken call summaries, `tests/data/spoken_calls`, each
used once, in random areas and at random times of the day) and `--surge` calls about the
motorway closed by snow at 永登, written from a grammar of what stranded travellers say
(who, where, what happened, how long, what they need: tens of thousands of phrasings), most
of them in the surge's first hour (the demo's grammar, router/demo_surge.py). Records come
in event-time order with bounded disorder
(shuffled within runs of `--disorder` records) and go through `IntakeService.record` in
batches of `--batch`, as the stream does, with the incident store and the surge detector on
the database given (a fresh SQLite file by default).

Prints JSON: the surge calls attached to its main incident (and to how many incidents the
rest went), the normal calls merged into another call's incident by mistake, when the
hotspot was raised after the surge began (event time), the dedupe step's cost per call (the
placing of a batch into incidents, database round trip included), and intake's rate. Then,
apart, the in-memory look-up's cost per call at `--open` open incidents in one area.
No citizen text is printed.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import json
import random
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from classifiers import DemandClassifier, UrgencyRules, normalise_text
from classifiers.similarity import text_grams, text_similarity
from router.call_evaluation import read_rows
from router.config_files import load_router_config
from router.demo_surge import stranded_traveller
from router.domain.calls import CallRecord, Channel
from router.domain.hotspots import KeyChange, SurgePolicy
from router.domain.incidents import IncidentIndex, IncidentPolicy, opened
from router.intake_service import IntakeService
from router.persistence.database import make_engine, upgrade_schema
from router.persistence.incidents import IncidentStore, Placement
from router.persistence.schema import incidents, reports, tickets
from router.persistence.surges import SurgeStore
from router.persistence.tickets import TicketRepository

SPOKEN = Path(__file__).resolve().parents[1] / "tests" / "data" / "spoken_calls"
AREA = "yongdeng"
DAY = datetime(2026, 12, 1, tzinfo=UTC) - timedelta(hours=8)  # midnight in China
SURGE_START = DAY + timedelta(hours=20)

def normal_texts() -> list[str]:
    return [row.text for name in ("dev", "validation")
            for row in read_rows(SPOKEN / f"{name}.jsonl")]


def day_of_calls(surge: int, rng: random.Random, areas: Sequence[str], run: str = ""
                 ) -> list[tuple[CallRecord, bool]]:
    """`run` prefixes the call ids: a database shared by several runs holds each run's own."""
    calls: list[tuple[CallRecord, bool]] = []
    for n, text in enumerate(normal_texts()):
        at = DAY + timedelta(seconds=rng.uniform(0, 24 * 3600))
        calls.append((CallRecord(call_id=f"{run}N{n:06d}", hotline="12345", channel=Channel.PHONE,
                                 received_at=at, text=text, area=rng.choice(areas)), False))
    for n in range(surge):
        # most calls in the first hour, the rest over the next two (the u**1.5 ramp)
        at = SURGE_START + timedelta(minutes=180 * rng.random() ** 1.5)
        calls.append((CallRecord(call_id=f"{run}S{n:06d}", hotline="12345", channel=Channel.PHONE,
                                 received_at=at, text=stranded_traveller(rng), area=AREA), True))
    return sorted(calls, key=lambda pair: pair[0].received_at)


def disordered(calls: list[tuple[CallRecord, bool]], run: int, rng: random.Random
               ) -> list[tuple[CallRecord, bool]]:
    out: list[tuple[CallRecord, bool]] = []
    for start in range(0, len(calls), run):
        chunk = calls[start:start + run]
        rng.shuffle(chunk)
        out += chunk
    return out


class TimedPlacing(IncidentStore):
    """The incident store, timing its placing of each batch (the dedupe step)."""

    seconds: list[float]
    placed: list[int]

    def place(self, connection: Any, proposed: Sequence[Any]) -> Placement:
        started = time.perf_counter()
        found = super().place(connection, proposed)
        self.seconds.append(time.perf_counter() - started)
        self.placed.append(len(proposed))
        return found


def replay(args: argparse.Namespace) -> dict[str, Any]:
    rng = random.Random(args.seed)
    config = load_router_config()
    areas = [AREA, *sorted(a for a in config.routing.areas if a != AREA)][:args.areas]
    origin = f"surge-bench-{int(time.time())}"
    calls = disordered(day_of_calls(args.surge, rng, areas, f"{origin}-"), args.disorder, rng)
    url = args.database_url or f"sqlite:///{tempfile.mkdtemp()}/surge.db"
    engine = make_engine(url)
    upgrade_schema(engine)
    policy = dataclasses.replace(config.incidents or IncidentPolicy(),
                                 **({"min_share": args.min_share} if args.min_share else {}))
    grams = text_grams if args.gram == 3 else functools.partial(text_grams, size=args.gram)
    store = TimedPlacing(engine, policy, config.sla.policy, grams, origin=origin)
    store.seconds, store.placed = [], []
    repository = TicketRepository(engine, origin=origin, incidents=store)
    raised: list[KeyChange] = []
    intake = IntakeService(config, DemandClassifier.load(), UrgencyRules.load(), repository,
                           normalise=normalise_text, similarity=text_similarity,
                           surges=SurgeStore(engine, SurgePolicy(), origin=origin),
                           on_surge=lambda changes: raised.extend(
                               c for c in changes if c.change.raised))
    holder: dict[str, str] = {}  # call id → the ticket it made or was counted on
    own: dict[str, str] = {}  # ticket id → the call that made it
    started = time.perf_counter()
    for start in range(0, len(calls), args.batch):
        batch = [call for call, _ in calls[start:start + args.batch]]
        for call, outcome in zip(batch, intake.record(batch), strict=True):
            holder[call.call_id] = outcome.ticket.ticket_id
            if outcome.created:
                own[outcome.ticket.ticket_id] = call.call_id
    elapsed = time.perf_counter() - started
    surge_ids = [c.call_id for c, is_surge in calls if is_surge]
    normal_ids = [c.call_id for c, is_surge in calls if not is_surge]
    incident_of, leader = incidents_of_calls(engine, origin)
    by_incident = Counter(incident_of.get(c) for c in surge_ids)
    by_incident.pop(None, None)
    main_incident, main_count = by_incident.most_common(1)[0]
    surge_set = set(surge_ids)
    # a normal call merged by mistake: in an incident another call leads
    merged_normal = [c for c in normal_ids if c in incident_of
                     and leader.get(incident_of[c], c) != c]
    into_surge = sum(1 for c in merged_normal if leader.get(incident_of[c]) in surge_set)
    surge_into_normal = sum(1 for c in surge_ids if c in incident_of
                            and leader.get(incident_of[c]) not in surge_set)
    linked = Counter(kind for kind in report_kinds(engine, main_incident))
    hotspots = [c for c in raised if c.area == AREA and c.change.raised is not None
                and c.change.raised.raised_at >= SURGE_START - timedelta(minutes=10)]
    first_hotspot = min((c.change.raised.raised_at for c in hotspots
                         if c.change.raised is not None), default=None)
    per_call = [s / n * 1e6 for s, n in zip(store.seconds, store.placed, strict=True) if n]
    return {
        "calls": len(calls), "surge_calls": len(surge_ids), "normal_calls": len(normal_ids),
        "database": engine.dialect.name,
        "surge_on_main_incident": main_count,
        "surge_on_main_incident_share": round(main_count / len(surge_ids), 4),
        "surge_on_main_incident_by_kind": dict(linked),
        "surge_incidents": len(by_incident),
        "surge_not_in_any_incident": sum(1 for c in surge_ids if c not in incident_of),
        "surge_in_incidents_normal_calls_lead": surge_into_normal,
        "normal_merged_by_mistake": len(merged_normal),
        "normal_merged_share": round(len(merged_normal) / len(normal_ids), 4),
        "normal_merged_into_surge": into_surge,
        "tickets": len(own),
        "hotspot_raised_after_seconds": (None if first_hotspot is None else
                                         (first_hotspot - SURGE_START).total_seconds()),
        "hotspot_keys_raised_in_area": sorted({c.category for c in hotspots}),
        "dedupe_us_per_call_median": round(statistics.median(per_call), 1),
        "dedupe_us_per_call_p99": round(sorted(per_call)[int(len(per_call) * 0.99)], 1),
        "intake_calls_per_second": round(len(calls) / elapsed, 1),
    }


def incidents_of_calls(engine: Engine, origin: str
                       ) -> tuple[dict[str, str], dict[str, str]]:
    """Call id → its incident (the leads' own calls, the attached and the linked reports),
    and incident → the call that leads it."""
    with engine.connect() as connection:
        leader = {row.incident_id: row.call_id for row in connection.execute(
            select(tickets.c.call_id, incidents.c.incident_id)
            .join(incidents, incidents.c.lead_ticket_id == tickets.c.ticket_id)
            .where(incidents.c.origin == origin))}
        found = {call: incident for incident, call in leader.items()}
        found.update({row.call_id: row.incident_id for row in connection.execute(
            select(reports.c.call_id, reports.c.incident_id)
            .join(incidents, incidents.c.incident_id == reports.c.incident_id)
            .where(incidents.c.origin == origin))})
    return found, leader


def report_kinds(engine: Engine, incident_id: str | None) -> list[str]:
    with engine.connect() as connection:
        return [str(kind) for kind in connection.execute(
            select(reports.c.kind).where(reports.c.incident_id == incident_id)).scalars()]


def lookup_at_scale(open_incidents: int, lookups: int, seed: int, areas: int = 1
                    ) -> dict[str, Any]:
    """The in-memory look-up alone, with `open_incidents` open over `areas` areas (one: the
    worst case, every incident is a candidate by area); the look-ups are in one of them."""
    rng = random.Random(seed)
    texts = normal_texts()
    policy = load_router_config().incidents or IncidentPolicy()
    index = IncidentIndex(policy)
    at = SURGE_START
    for n in range(open_incidents // areas):
        # distinct matters: a normal text with a house number of its own
        text = f"{rng.choice(texts)}（{rng.randint(1, 999)}号）"
        index.put(opened(f"I{n}", f"T{n}", AREA, "c", text_grams(text), at, "general", policy))
    queries = [stranded_traveller(rng) if i % 2 else rng.choice(texts) for i in range(lookups)]
    costs = []
    for query in queries:
        started = time.perf_counter()
        index.match(text_grams(query), at)
        costs.append((time.perf_counter() - started) * 1e6)
    costs.sort()
    return {"open_incidents": open_incidents, "areas": areas,
            "open_in_the_area": open_incidents // areas, "lookups": lookups,
            "lookup_us_median": round(statistics.median(costs), 1),
            "lookup_us_p99": round(costs[int(len(costs) * 0.99)], 1)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--surge", type=int, default=25_000)
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--disorder", type=int, default=50,
                        help="records shuffled within runs of this many (late records)")
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--open", type=int, default=100_000)
    parser.add_argument("--lookups", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=20261202)
    parser.add_argument("--min-share", type=float, default=None,
                        help="instead of routing.toml's (for tuning)")
    parser.add_argument("--areas", type=int, default=8,
                        help="normal calls spread over this many areas (fewer: denser)")
    parser.add_argument("--gram", type=int, default=3, help="character n-gram size (tuning)")
    parser.add_argument("--skip-replay", action="store_true")
    args = parser.parse_args()
    if not args.skip_replay:
        print(json.dumps(replay(args), ensure_ascii=False), flush=True)
    if args.open:
        for areas in (1, len(load_router_config().routing.areas)):
            print(json.dumps(lookup_at_scale(args.open, args.lookups, args.seed, areas)),
                  flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
