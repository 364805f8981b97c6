"""A bounded soak: calls at a steady rate for a fixed time, the worker's memory sampled.

    python bench/soak_bench.py --rate 100 --seconds 300

Publishes from this process at `--rate` calls per second for `--seconds`, on loopback only,
against the services the environment names (the embedded ones for the rest) and one worker
process. Every 5 s it samples the worker's resident memory. At the end it waits for every
call's ticket and prints one JSON line: calls sent, tickets found, duplicates in the unit
queues, losses, and the worker's memory (first sample after warm-up, last, peak), so growth
shows as last minus first.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.pipeline_bench import records
from router.embedded import free_port, stop_process
from tests.conftest import named_or_embedded_services, service_env
from tests.integration.conftest import start_worker
from tests.integration.test_resilience import observer, queued_ticket_ids


def resident_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def publish_steadily(bootstrap: str, topic: str, batch: list[tuple[str, bytes]],
                           rate: float, sample: Callable[[], None]) -> None:
    from aiokafka import AIOKafkaProducer

    from router._aiokafka_fix import install_aiokafka_metadata_fix

    install_aiokafka_metadata_fix()
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
    await producer.start()
    started = time.monotonic()
    next_sample = started
    try:
        for sent, (key, value) in enumerate(batch, start=1):
            await producer.send(topic, value, key=key.encode())
            pause = started + sent / rate - time.monotonic()
            if pause > 0:
                await asyncio.sleep(pause)
            if time.monotonic() >= next_sample:
                sample()
                next_sample += 5
        await producer.flush()
    finally:
        await producer.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rate", type=float, default=100)
    parser.add_argument("--seconds", type=float, default=300)
    args = parser.parse_args()
    state_dir = Path(tempfile.mkdtemp(prefix="hotline-soak-"))
    with named_or_embedded_services(state_dir, "s") as services:
        env = service_env(services, state_dir, free_port())
        env["HOTLINE_LOG_LEVEL"] = "WARNING"
        log_path = state_dir / "worker.log"
        worker = start_worker(env, log_path)
        watch = observer(services, env, services.redis_url, log_path)
        batch = records(services.run_id, int(args.rate * args.seconds))
        samples: list[float] = []
        try:
            asyncio.run(publish_steadily(
                services.kafka_bootstrap, env["HOTLINE_KAFKA_CALLS_TOPIC"], batch, args.rate,
                lambda: samples.append(resident_mib(worker.pid))))
            call_ids = [key for key, _ in batch]
            done = watch.wait_for_tickets(call_ids, timeout=600)
            samples.append(resident_mib(worker.pid))
            queued = queued_ticket_ids(watch)
            warm = samples[min(2, len(samples) - 1)]  # after the first 10 s
            print(json.dumps({
                "rate": args.rate, "seconds": args.seconds, "calls_sent": len(call_ids),
                "tickets": len(done), "duplicates": len(queued) - len(set(queued)),
                "lost": len(set(call_ids) - set(done)),
                "worker_rss_mib": {"after_warm_up": round(warm, 1),
                                   "last": round(samples[-1], 1),
                                   "peak": round(max(samples), 1)}}))
        finally:
            stop_process(worker, timeout=20)
            watch.redis.close()


if __name__ == "__main__":
    main()
