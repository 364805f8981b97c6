"""The whole pipeline against the framework's ceilings, measured in one run on one broker.

    python bench/scale_bench.py --calls 20000 --runs 3 --rate 200 500

Each round measures, on the broker, Redis and database the environment names (the embedded
ones for the rest, as `bench/pipeline_bench.py`):

- the plain aiokafka ceiling: consume → decode → produce, one process, on a pre-filled topic;
- the bare faust ceiling: the worker's own faust app and agent (same settings, same batching)
  whose batch step only decodes each record and forwards it;
- the pipeline at full speed with 1 and 2 worker processes in one consumer group: calls from
  a separate producer process as fast as it can send, until every call is done (a ticket
  created, queued and announced, or counted on another ticket);
- the pipeline at each fixed rate (`--rate`) with one worker: end-to-end latency per call from
  the moment the producer stamped it (its `received_at`) to its ticket in the database and
  to its entry in the unit's Redis stream (a stream entry's id is the millisecond it was
  added).

Calls are of distinct callers and distinct matters (see `distinct_calls`), so neither 催办
nor incidents fold them into few tickets (the counts printed say how many were). Steady rate
is the middle 80 % of the calls done over the time they took, which leaves the consumer
group's join and the tail out. CPU is the worker process's user + system seconds per call,
and beside it the broker's, Redis's and PostgreSQL's over the same window (they share the
machine's cores); peak memory the worker's high-water resident set. `--profile` samples the
first worker of one run (`--profile-rate`) in the thread holding the GIL (py-spy `--gil`):
where its CPU goes, not its waits.
Prints one JSON line per measurement and a summary of medians and ratios.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import math
import os
import random
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import psutil
import redis
from sqlalchemy import text
from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.pipeline_bench import sample_documents
from connectors.kafka_topics import ensure_topics
from router.embedded import free_port, spawn_worker, stop_process, wait_for_port
from router.persistence.database import make_engine, upgrade_schema
from tests.conftest import Services, named_or_embedded_services, service_env, worker_config

SCRIPT = str(Path(__file__).resolve())


# --- the calls -------------------------------------------------------------------------

# characters of made-up names (communities, streets, shops): a name of six of them is one
# of 3 × 10^12, so no two calls share one
_NAME_CHARACTERS = ("安宝北滨博昌朝辰诚春翠达德东方丰福富港光广贵桂海汉和河鹤恒红宏鸿华"
                    "怀欢辉惠佳嘉建江金锦晋京景静九居康乐丽利莲良林临龙隆鲁绿茂美民明南宁"
                    "平启千庆秋荣瑞润三山上尚深胜盛石世顺泰天通桐万旺望文西熙祥翔新星兴秀"
                    "旭雅阳杨怡银永友玉元园远悦云泽长兆振正中紫")


_CALLER_KEYS = 70 * 10_000  # 130…199 × the last four digits


def _made_up_name(rng: random.Random, length: int) -> str:
    return "".join(rng.choice(_NAME_CHARACTERS) for _ in range(length))


def gil_profiler(pid: int, output: Path, rate: int) -> subprocess.Popen[bytes]:
    """py-spy sampling the thread of `pid` that holds the GIL, `rate` times a second, its
    collapsed stacks written to `output` once that process has gone."""
    return subprocess.Popen(
        [str(Path(sys.executable).with_name("py-spy")), "record", "--pid", str(pid),
         "--format", "raw", "--rate", str(rate), "--gil", "--output", str(output)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def distinct_calls(prefix: str, count: int) -> list[dict[str, Any]]:
    """`count` call documents without `received_at` (the producer stamps it), of distinct
    callers and matters: each has a caller number of its own and says one clause of a
    sample call about a community, a street and a shop of made-up names, so most of its
    3-grams are its own and no incident's profile holds half of them; its hotline, channel
    and district come from the sample. The calls of another prefix (another measurement, on
    the same database) are other callers and other words too."""
    samples = sample_documents()
    rng = random.Random(prefix)
    # 催办 knows a caller by the first three and last four digits: 700,000 keys, taken in
    # turn from a place of this prefix's own
    first_key = rng.randrange(_CALLER_KEYS)
    calls = []
    for n in range(count):
        base = samples[n % len(samples)]
        clauses = [c for c in re.split(r"(?<=[，。；！？])", base["text"]) if len(c) > 3]
        said = rng.choice(clauses or [base["text"]])
        size = max(6, len(said) // 3 + 2)  # made-up characters outnumber the clause's
        community = f"{_made_up_name(rng, size)}小区{rng.randint(1, 99)}号楼"
        street, shop = f"{_made_up_name(rng, size)}路", f"{_made_up_name(rng, size)}商行"
        key = (first_key + n) % _CALLER_KEYS
        contact = f"1{30 + key // 10_000}{rng.randint(0, 9999):04d}{key % 10_000:04d}"
        place = f"{base.get('place_text') or ''}{street}{community}"
        calls.append({"call_id": f"{prefix}-{n}", "hotline": base["hotline"],
                      "channel": base.get("channel", "phone"), "caller_contact": contact,
                      "place_text": place,
                      "text": f"{said}地点{street}{community}，{shop}旁边。"})
    return calls


# --- child processes -------------------------------------------------------------------

def produce(bootstrap: str, topic: str, prefix: str, count: int, rate: float
            ) -> dict[str, float]:
    """Send the calls, each stamped with the moment it is sent; `rate` 0 is full speed."""
    from aiokafka import AIOKafkaProducer

    from router._aiokafka_fix import install_aiokafka_metadata_fix

    documents = distinct_calls(prefix, count)

    async def send_all() -> float:
        install_aiokafka_metadata_fix()
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5,
                                    max_batch_size=256 * 1024)
        await producer.start()
        try:
            started = time.perf_counter()
            pending = []
            for n, document in enumerate(documents):
                if rate:
                    wait = started + n / rate - time.perf_counter()
                    if wait > 0:
                        await asyncio.sleep(wait)
                document["received_at"] = datetime.now(UTC).isoformat()
                value = json.dumps(document, ensure_ascii=False).encode()
                pending.append(await producer.send(topic, value,
                                                   key=document["call_id"].encode()))
            await asyncio.gather(*pending)
            return time.perf_counter() - started
        finally:
            await producer.stop()

    seconds = asyncio.run(send_all())
    return {"sent": count, "seconds": round(seconds, 2)}


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def aiokafka_ceiling(bootstrap: str, source: str, target: str, count: int
                     ) -> dict[str, float]:
    """Consume → decode → produce with aiokafka alone, until `count` records are forwarded."""
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

    from router._aiokafka_fix import install_aiokafka_metadata_fix

    async def loop() -> dict[str, float]:
        install_aiokafka_metadata_fix()
        consumer = AIOKafkaConsumer(source, bootstrap_servers=bootstrap,
                                    group_id=f"{source}-aiokafka", auto_offset_reset="earliest")
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5,
                                    max_batch_size=256 * 1024)
        await consumer.start()
        await producer.start()
        try:
            forwarded, began, cpu = 0, 0.0, 0.0
            while forwarded < count:
                batches = await consumer.getmany(timeout_ms=200, max_records=1000)
                pending = []
                for records in batches.values():
                    if not began:
                        began, cpu = time.perf_counter(), _cpu_seconds()
                    for record in records:
                        document = json.loads(cast(bytes, record.value))
                        pending.append(await producer.send(
                            target, cast(bytes, record.value),
                            key=str(document["call_id"]).encode()))
                await asyncio.gather(*pending)
                forwarded += len(pending)
            seconds = time.perf_counter() - began
            return {"records": forwarded, "seconds": round(seconds, 2),
                    "records_per_second": round(forwarded / seconds, 1),
                    "cpu_ms_per_record": round(1000 * (_cpu_seconds() - cpu) / forwarded, 3)}
        finally:
            await producer.stop()
            await consumer.stop()

    return asyncio.run(loop())


class _Forwarder:
    """The bare step in the worker's agent: decode each record and forward it."""

    def __init__(self, count: int, result: Path) -> None:
        self.count = count
        self.result = result  # faust sends stdout to its log
        self.forwarded = 0
        self.began = 0.0
        self.cpu = 0.0
        self.publisher: Any = None

    async def process(self, records: Sequence[Any]) -> None:
        if not self.began:
            self.began, self.cpu = time.perf_counter(), _cpu_seconds()
        messages = [(str(json.loads(r.value)["call_id"]), r.value) for r in records]
        await self.publisher.publish("ticket_event", messages)
        self.forwarded += len(messages)
        if self.forwarded >= self.count:
            seconds = time.perf_counter() - self.began
            self.result.write_text(json.dumps({
                "records": self.forwarded, "seconds": round(seconds, 2),
                "records_per_second": round(self.forwarded / seconds, 1),
                "cpu_ms_per_record": round(
                    1000 * (_cpu_seconds() - self.cpu) / self.forwarded, 3)}))
            os._exit(0)  # the measurement is over: no need for faust's orderly stop

    async def dead_letter_all(self, records: Sequence[Any], reason: str) -> None:
        raise RuntimeError(reason)


def faust_ceiling(bootstrap: str, profile: str, source: str, target: str, count: int,
                  partitions: int, linger: float, state_dir: Path) -> None:
    """The worker's faust app (router.streams.create_app) with the bare step."""
    from router.settings import KafkaSettings
    from router.streams import create_app
    from router.worker import faust_worker

    kafka = KafkaSettings(bootstrap=bootstrap, broker_profile=cast(Any, profile),
                          app_id=f"{source}-faust", calls_topic=source,
                          ticket_events_topic=target, dead_letter_topic=f"{source}.dl",
                          transfers_topic=f"{source}.tr", partitions=partitions,
                          batch_linger_seconds=linger)
    state_dir.mkdir(parents=True, exist_ok=True)
    forwarder = _Forwarder(count, state_dir / "result.json")

    def bare(publisher: Any) -> Any:
        forwarder.publisher = publisher
        return forwarder

    stream = create_app(kafka, state_dir, bare)
    sys.argv = [sys.argv[0], "worker"]
    faust_worker(stream.app, [], "WARNING").execute_from_commandline()


def faust_ceiling_child(*arguments: str) -> dict[str, Any]:
    state = Path(arguments[-1])
    done = subprocess.run([sys.executable, SCRIPT, "faust-ceiling", *arguments],
                          capture_output=True, text=True, timeout=1800, check=False)
    result = state / "result.json"
    if not result.exists():
        raise RuntimeError(f"faust-ceiling failed ({done.returncode}): {done.stderr[-2000:]}")
    return cast(dict[str, Any], json.loads(result.read_text()))


def child(*arguments: str, timeout: float = 1800) -> dict[str, Any]:
    """Run this script's subcommand in a process of its own; its last stdout line."""
    done = subprocess.run([sys.executable, SCRIPT, *arguments], capture_output=True,
                          text=True, timeout=timeout, check=False)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"{arguments[0]} failed ({done.returncode}): {done.stderr[-2000:]}")
    return cast(dict[str, Any], json.loads(lines[-1]))


# --- the pipeline ----------------------------------------------------------------------

@dataclasses.dataclass
class Outcome:
    """What became of the calls of one measurement."""

    sent_at: dict[str, float]  # call id → epoch seconds it was stamped
    stored_at: dict[str, float]  # call id → its ticket or report row written
    queued_at: dict[str, float]  # call id → its ticket's entry added to a unit's stream
    tickets: int
    reports: int


def outcome(services: Services, engine: Any, prefix: str) -> Outcome:
    sent: dict[str, float] = {}
    stored: dict[str, float] = {}
    ticket_calls: dict[str, str] = {}
    with engine.connect() as connection:
        for call_id, ticket_id, received, created in connection.execute(text(
                "SELECT call_id, ticket_id, received_at, created_at FROM tickets"
                " WHERE call_id LIKE :p"), {"p": f"{prefix}-%"}):
            sent[call_id], stored[call_id] = _epoch(received), _epoch(created)
            ticket_calls[ticket_id] = call_id
        tickets = len(sent)
        for call_id, received, created in connection.execute(text(
                "SELECT call_id, received_at, created_at FROM reports"
                " WHERE call_id LIKE :p AND kind != 'linked'"), {"p": f"{prefix}-%"}):
            sent[call_id], stored[call_id] = _epoch(received), _epoch(created)
    queued: dict[str, float] = {}
    client = redis.Redis.from_url(services.redis_url, decode_responses=True)
    for key in client.scan_iter(match=f"{services.run_id}:queue:*", count=1000):
        if client.type(key) != "stream":
            continue
        entries = cast(list[tuple[str, dict[str, str]]], client.xrange(key))
        for entry_id, fields in entries:
            call_id = ticket_calls.get(fields.get("ticket_id", ""))
            if call_id is not None:
                queued[call_id] = int(entry_id.split("-", 1)[0]) / 1000
    client.close()
    return Outcome(sent, stored, queued, tickets, len(sent) - tickets)


def _epoch(value: Any) -> float:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return float(value.timestamp())


def _percentiles(values: list[float]) -> dict[str, float]:
    if len(values) < 2:
        return {}
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return {"p50": round(cuts[49] * 1000, 1), "p95": round(cuts[94] * 1000, 1),
            "p99": round(cuts[98] * 1000, 1)}


def _steady_rate(done_times: list[float]) -> float:
    """Calls per second over the middle 80 % of the calls done."""
    times = sorted(done_times)
    low, high = times[len(times) // 10], times[len(times) * 9 // 10]
    return (len(times) * 8 // 10) / max(high - low, 1e-9)


def _peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


_SERVICES = {"postgres": "postgresql", "java": "kafka", "redis-server": "redis",
             "tansu": "kafka"}


def _services_cpu() -> dict[str, float]:
    """User + system seconds of the broker, Redis and PostgreSQL processes on this machine
    (those that exit between two readings drop out: PostgreSQL's pooled backends live on)."""
    found: dict[str, float] = {}
    for process in psutil.process_iter(["name", "cpu_times"]):
        service = _SERVICES.get(process.info["name"] or "")
        times = process.info["cpu_times"]
        if service is not None and times is not None:
            found[service] = found.get(service, 0.0) + times.user + times.system
    return found


def pipeline(services: Services, state_dir: Path, count: int, workers: int, rate: float,
             partitions: int, linger: float, profile: Path | None = None) -> dict[str, Any]:
    engine = make_engine(services.database_url)
    processes: list[subprocess.Popen[bytes]] = []
    env: dict[str, str] = {}
    try:
        for n in range(workers):
            worker_dir = state_dir / f"worker{n}"
            worker_dir.mkdir(parents=True)
            port = free_port()
            env = service_env(services, worker_dir, port)
            env.update({"HOTLINE_LOG_LEVEL": "WARNING",
                        "HOTLINE_KAFKA_PARTITIONS": str(partitions),
                        "HOTLINE_KAFKA_BATCH_LINGER_SECONDS": str(linger),
                        # the shipped configuration: incidents on
                        "HOTLINE_CONFIG_DIR": str(worker_config(worker_dir, incidents=True))})
            log_path = worker_dir / "worker.log"
            processes.append(spawn_worker(env, log_path))
            wait_for_port(port, 120, processes[-1], "worker", log_path)
        watched = [psutil.Process(p.pid) for p in processes]
        cpu_before = [sum(w.cpu_times()[:2]) for w in watched]
        services_before = _services_cpu()
        if profile is not None:  # the first worker's stacks, for flame graphs
            processes.append(gil_profiler(processes[0].pid, profile, rate=200))
        produced = child("produce", services.kafka_bootstrap, env["HOTLINE_KAFKA_CALLS_TOPIC"],
                         services.run_id, str(count), str(rate))
        query = text("SELECT (SELECT count(*) FROM tickets t WHERE t.call_id LIKE :p AND NOT"
                     " EXISTS (SELECT 1 FROM outbox o WHERE o.ticket_id = t.ticket_id))"
                     " + (SELECT count(*) FROM reports WHERE call_id LIKE :p"
                     " AND kind != 'linked')")
        done, deadline = 0, time.monotonic() + 1800
        with tqdm(total=count, unit="calls", desc=f"{workers} worker(s), rate {rate or 'full'}",
                  file=sys.stderr, disable=not sys.stderr.isatty()) as bar:
            while done < count and time.monotonic() < deadline:
                time.sleep(0.5)
                with engine.connect() as connection:
                    now_done = int(connection.execute(
                        query, {"p": f"{services.run_id}-%"}).scalar_one())
                bar.update(now_done - done)
                done = now_done
        cpu = [sum(w.cpu_times()[:2]) - before for w, before in zip(watched, cpu_before,
                                                                      strict=True)]
        services_cpu = {name: seconds - services_before.get(name, 0.0)
                        for name, seconds in _services_cpu().items()}
        peaks = [_peak_rss_mib(p.pid) for p in processes[:workers]]
    finally:
        for process in processes:
            stop_process(process, timeout=20)
    found = outcome(services, engine, services.run_id)
    engine.dispose()
    done_times = [found.queued_at.get(c, found.stored_at[c]) for c in found.stored_at]
    first_sent = min(found.sent_at.values())
    result: dict[str, Any] = {
        "measure": "pipeline", "workers": workers, "rate": rate or "full", "calls": count,
        "calls_done": len(found.stored_at), "tickets": found.tickets,
        "counted_on_other_tickets": found.reports, "producer": produced,
        "calls_per_second": round(len(done_times) / (max(done_times) - first_sent), 1),
        "steady_calls_per_second": round(_steady_rate(done_times), 1),
        "cpu_ms_per_call": [round(1000 * c / count, 3) for c in cpu],
        "services_cpu_ms_per_call": {name: round(1000 * seconds / count, 3)
                                     for name, seconds in sorted(services_cpu.items())},
        "peak_rss_mib": [round(p, 1) for p in peaks]}
    if rate:
        result["to_database_ms"] = _percentiles(
            [found.stored_at[c] - found.sent_at[c] for c in found.stored_at])
        result["to_queue_ms"] = _percentiles(
            [found.queued_at[c] - found.sent_at[c] for c in found.queued_at])
    return result


def ceilings(services: Services, state_dir: Path, count: int, partitions: int, linger: float
             ) -> tuple[dict[str, Any], dict[str, Any]]:
    source, target = f"{services.run_id}.ceiling-in", f"{services.run_id}.ceiling-out"
    asyncio.run(ensure_topics(services.kafka_bootstrap, [source, target], partitions, 1))
    child("produce", services.kafka_bootstrap, source, services.run_id, str(count), "0")
    plain = child("aiokafka-ceiling", services.kafka_bootstrap, source, target, str(count))
    bare = faust_ceiling_child(services.kafka_bootstrap, services.broker_profile, source,
                 target, str(count), str(partitions), str(linger), str(state_dir / "faust"))
    return {"measure": "aiokafka ceiling", **plain}, {"measure": "faust ceiling", **bare}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=20000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--rate", type=float, nargs="*", default=[500],
                        help="calls/s of the latency runs")
    parser.add_argument("--rate-calls", type=int, default=0,
                        help="calls of each latency run (default: 30 s at its rate)")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--partitions", type=int, default=4)
    parser.add_argument("--linger", type=float, default=0.005,
                        help="HOTLINE_KAFKA_BATCH_LINGER_SECONDS (the production default)")
    parser.add_argument("--profile", type=Path,
                        help="write py-spy's collapsed stacks of the first one-worker run at"
                             " --profile-rate here")
    parser.add_argument("--profile-rate", type=float, default=0,
                        help="calls/s of the profiled run, one of --rate (default 0: full"
                             " speed)")
    args = parser.parse_args()
    state_dir = Path(tempfile.mkdtemp(prefix="hotline-scale-"))
    rows: list[dict[str, Any]] = []
    with named_or_embedded_services(state_dir, "s") as first:
        upgrade_schema(make_engine(first.database_url))

        def fresh() -> Services:
            return dataclasses.replace(first, run_id=f"s{uuid.uuid4().hex[:8]}")

        for run in range(args.runs):
            run_dir = state_dir / f"run{run}"
            for row in ceilings(fresh(), run_dir / "ceilings", args.calls, args.partitions,
                                args.linger):
                rows.append({"run": run, **row})
                print(json.dumps(rows[-1]), flush=True)
            for workers in args.workers:
                profile = (args.profile if run == 0 and workers == 1
                           and not args.profile_rate else None)
                rows.append({"run": run, **pipeline(
                    fresh(), run_dir / f"full-{workers}", args.calls, workers, 0,
                    args.partitions, args.linger, profile)})
                print(json.dumps(rows[-1], ensure_ascii=False), flush=True)
            for rate in args.rate:
                calls = args.rate_calls or int(30 * rate)
                profile = args.profile if run == 0 and rate == args.profile_rate else None
                rows.append({"run": run, **pipeline(
                    fresh(), run_dir / f"rate-{rate:g}", calls, 1, rate, args.partitions,
                    args.linger, profile)})
                print(json.dumps(rows[-1], ensure_ascii=False), flush=True)
    print(json.dumps(summary(rows, args, first), ensure_ascii=False))


def summary(rows: list[dict[str, Any]], args: argparse.Namespace, services: Services
            ) -> dict[str, Any]:
    def median(measure: str, key: str, **match: Any) -> float:
        values = [r[key] for r in rows if r["measure"] == measure and
                  all(r.get(k) == v for k, v in match.items())]
        return round(statistics.median(values), 1) if values else float("nan")

    plain = median("aiokafka ceiling", "records_per_second")
    bare = median("faust ceiling", "records_per_second")
    full = {w: median("pipeline", "steady_calls_per_second", workers=w, rate="full")
            for w in args.workers}
    out: dict[str, Any] = {
        "broker": services.broker_profile, "database": services.database_url.split(":")[0],
        "runs": args.runs, "calls": args.calls, "partitions": args.partitions,
        "batch_linger_seconds": args.linger, "cores": os.cpu_count(),
        "aiokafka_records_per_second": plain, "faust_records_per_second": bare,
        "pipeline_steady_calls_per_second": full,
        "pipeline_vs_faust": round(full[args.workers[0]] / bare, 3),
        "faust_vs_aiokafka": round(bare / plain, 3)}
    if len(args.workers) > 1:
        out["scale_out"] = round(full[args.workers[-1]] / full[args.workers[0]], 3)
    for rate in args.rate:
        at_rate = [r for r in rows if r["measure"] == "pipeline" and r["rate"] == rate]
        out[f"at_{rate:g}_per_second"] = {
            "steady_calls_per_second": median("pipeline", "steady_calls_per_second",
                                              rate=rate),
            **{f"to_queue_{k}_ms": statistics.median(r["to_queue_ms"].get(k, math.nan)
                                                      for r in at_rate)
               for k in ("p50", "p95", "p99")}}
    return out


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else ""
    if command == "produce":
        bootstrap, topic, prefix, count, rate = sys.argv[2:7]
        print(json.dumps(produce(bootstrap, topic, prefix, int(count), float(rate))))
    elif command == "aiokafka-ceiling":
        bootstrap, source, target, count = sys.argv[2:6]
        print(json.dumps(aiokafka_ceiling(bootstrap, source, target, int(count))))
    elif command == "faust-ceiling":
        bootstrap, profile, source, target, count, partitions, linger, state = sys.argv[2:10]
        faust_ceiling(bootstrap, profile, source, target, int(count), int(partitions),
                      float(linger), Path(state))
    else:
        main()
