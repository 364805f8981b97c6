"""Replays a JSONL/CSV file of call records into the intake topic."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from pathlib import Path

from aiokafka import AIOKafkaProducer

from connectors.intake.replay import read_replay_file
from router._aiokafka_fix import install_aiokafka_metadata_fix


@dataclass(frozen=True, slots=True)
class ReplayReport:
    records: int
    seconds: float


async def replay_file(path: Path, bootstrap: str, topic: str,
                      rate_per_second: float | None = None) -> ReplayReport:
    """Publish every row, keyed by call id so one call always lands on one partition."""
    install_aiokafka_metadata_fix()
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5,
                                request_timeout_ms=30000)
    await producer.start()
    started = time.perf_counter()
    sent = 0
    try:
        deliveries = []
        for call_id, record in read_replay_file(path):
            key = call_id.encode("utf-8") if call_id else None
            deliveries.append(await producer.send(topic, record, key=key))
            sent += 1
            if rate_per_second:
                await asyncio.sleep(max(0.0, started + sent / rate_per_second
                                        - time.perf_counter()))
        await asyncio.gather(*deliveries)
    finally:
        await producer.stop()
    return ReplayReport(records=sent, seconds=time.perf_counter() - started)
