"""End-to-end throughput of the worker: records on the intake topic → tickets handed off.

    python bench/pipeline_bench.py --calls 20000 --runs 3

Uses the services the environment names (HOTLINE_KAFKA_BOOTSTRAP, HOTLINE_REDIS_URL,
HOTLINE_DATABASE_URL) and starts the embedded ones for the rest. Each run gets topics, a
consumer group, queues and call ids of its own, and a fresh worker process. The sample calls
are cycled with new call ids; the file's malformed records are dead-lettered as they would be.
Prints one JSON line per run and a summary with the median.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import text

from connectors.intake.replay import read_replay_file
from router.demo import SAMPLE_CALLS
from router.embedded import (
    free_port,
    spawn_worker,
    stop_process,
    wait_for_port,
)
from router.persistence.database import make_engine, upgrade_schema

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.conftest import Services, named_or_embedded_services, service_env, worker_config


def sample_documents() -> list[dict[str, Any]]:
    """The demo's sample calls that make tickets (well-formed, not of the test hotline, not
    faxes, with a text of a sensible length)."""
    valid = []
    for _, raw in read_replay_file(SAMPLE_CALLS):
        try:
            document = json.loads(raw)
        except ValueError:
            continue
        if isinstance(document, dict) and isinstance(document.get("text"), str) and \
                document.get("call_id") and len(document["text"]) < 4000 and \
                document.get("hotline") != "99999" and document.get("channel") != "fax" \
                and document["text"].strip():
            valid.append(document)
    return valid


def records(prefix: str, count: int) -> list[tuple[str, bytes]]:
    valid = sample_documents()
    out = []
    for i in range(count):
        document = dict(valid[i % len(valid)], call_id=f"{prefix}-{i}")
        out.append((document["call_id"], json.dumps(document, ensure_ascii=False).encode()))
    return out


async def publish(bootstrap: str, topic: str, batch: list[tuple[str, bytes]]) -> None:
    from aiokafka import AIOKafkaProducer

    from router._aiokafka_fix import install_aiokafka_metadata_fix

    install_aiokafka_metadata_fix()
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=10,
                                max_batch_size=256 * 1024)
    await producer.start()
    try:
        futures = [await producer.send(topic, value, key=key.encode()) for key, value in batch]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


def one_run(services: Services, count: int, state_dir: Path, incidents: bool = False
            ) -> dict[str, float]:
    port = free_port()
    env = service_env(services, state_dir, port)
    env["HOTLINE_LOG_LEVEL"] = "WARNING"
    if incidents:  # the shipped configuration: calls like an open incident count on its lead
        env["HOTLINE_CONFIG_DIR"] = str(worker_config(state_dir / "with-incidents",
                                                      incidents=True))
    log_path = state_dir / "worker.log"
    worker = spawn_worker(env, log_path)
    engine = make_engine(services.database_url)
    try:
        wait_for_port(port, 120, worker, "worker", log_path)
        batch = records(services.run_id, count)
        started = time.perf_counter()
        asyncio.run(publish(services.kafka_bootstrap, env["HOTLINE_KAFKA_CALLS_TOPIC"], batch))
        published = time.perf_counter() - started
        # Handed off: created, and nothing of it left in the outbox (queued and announced).
        query = text("SELECT count(*) FROM tickets t WHERE t.call_id LIKE :p AND NOT EXISTS"
                     " (SELECT 1 FROM outbox o WHERE o.ticket_id = t.ticket_id)")
        # a call counted on another ticket (a repeat, an incident's report) is done too
        counted = text("SELECT count(*) FROM reports WHERE call_id LIKE :p AND kind != 'linked'")
        done = tickets = 0
        deadline = time.monotonic() + 1800
        while done < count and time.monotonic() < deadline:
            time.sleep(0.25)
            with engine.connect() as connection:
                prefix = {"p": f"{services.run_id}-%"}
                tickets = int(connection.execute(query, prefix).scalar_one())
                done = tickets + int(connection.execute(counted, prefix).scalar_one())
        elapsed = time.perf_counter() - started
        return {"calls": count, "calls_done": done, "tickets": tickets,
                "publish_seconds": round(published, 2), "seconds": round(elapsed, 2),
                "calls_per_second": round(done / elapsed, 1),
                "tickets_per_second": round(tickets / elapsed, 1)}
    finally:
        stop_process(worker, timeout=20)
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=20000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--incidents", action="store_true",
                        help="with incidents on, as shipped (the samples repeat: most join one)")
    args = parser.parse_args()
    state_dir = Path(tempfile.mkdtemp(prefix="hotline-bench-"))
    results = []
    with named_or_embedded_services(state_dir, "b") as first:
        upgrade_schema(make_engine(first.database_url))
        for run in range(args.runs):
            services = dataclasses.replace(first, run_id=f"b{uuid.uuid4().hex[:8]}")
            run_dir = state_dir / f"run{run}"
            run_dir.mkdir()
            result = one_run(services, args.calls, run_dir, args.incidents)
            print(json.dumps(result))
            results.append(result)
    rates = [r["calls_per_second"] for r in results]
    print(json.dumps({"broker": os.environ.get("HOTLINE_KAFKA_BOOTSTRAP") or "embedded Tansu",
                      "database": first.database_url.split(":")[0], "runs": len(rates),
                      "incidents": args.incidents,
                      "median_calls_per_second": statistics.median(rates),
                      "min": min(rates), "max": max(rates)}))


if __name__ == "__main__":
    main()
