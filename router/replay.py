"""Replays a JSONL/CSV file of call records into the intake topic."""

from __future__ import annotations

import asyncio
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from aiokafka import AIOKafkaProducer
from tqdm import tqdm

from connectors.intake.replay import read_replay_file
from router._aiokafka_fix import install_aiokafka_metadata_fix


@dataclass(frozen=True, slots=True)
class ReplayReport:
    records: int
    seconds: float


def _lines(path: Path) -> int:
    """The file's line count, for the bar's time left (a header line makes it one high)."""
    with path.open("rb") as handle:
        return sum(1 for _ in handle)


async def replay_file(path: Path, bootstrap: str, topic: str,
                      rate_per_second: float | None = None, progress: bool = False
                      ) -> ReplayReport:
    """Publish every row, keyed by call id so one call always lands on one partition.
    With `progress`, a bar with records/s and the time left goes to stderr when it is a
    terminal (nothing otherwise)."""
    install_aiokafka_metadata_fix()
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5,
                                request_timeout_ms=30000)
    await producer.start()
    started = time.perf_counter()
    sent = 0
    bar = tqdm(total=_lines(path) if progress else None, unit="records", desc=path.name,
               disable=not (progress and sys.stderr.isatty()), file=sys.stderr)
    try:
        deliveries = []
        for call_id, record in read_replay_file(path):
            bar.update()
            key = call_id.encode("utf-8") if call_id else None
            deliveries.append(await producer.send(topic, record, key=key))
            sent += 1
            if rate_per_second:
                await asyncio.sleep(max(0.0, started + sent / rate_per_second
                                        - time.perf_counter()))
        await asyncio.gather(*deliveries)
    finally:
        bar.close()
        await producer.stop()
    return ReplayReport(records=sent, seconds=time.perf_counter() - started)
