"""`hotline-router replay` as an operator runs it: every record sent, the intake topic made
with the configured partitions (not the broker's default), and no progress bar written when
stderr is not a terminal."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from aiokafka.admin import AIOKafkaAdminClient

from tests.conftest import Services

pytestmark = pytest.mark.integration


def partitions_of(bootstrap: str, topic: str) -> int:
    async def described() -> int:
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
        await admin.start()
        try:
            [found] = await admin.describe_topics([topic])
            return len(found["partitions"])
        finally:
            await admin.close()

    return asyncio.run(described())


def test_a_replay_sends_every_record_into_a_topic_of_the_configured_partitions(
        services: Services, tmp_path: Path) -> None:
    topic = f"{services.run_id}.replay-cli.calls"
    path = tmp_path / "calls.jsonl"
    path.write_text("\n".join(json.dumps({
        "call_id": f"{services.run_id}-replay-cli-{n}", "hotline": "12345",
        "text": "小区路灯不亮已有一周，请尽快维修"}, ensure_ascii=False) for n in range(25))
        + "\n", encoding="utf-8")
    env = {**os.environ, "HOTLINE_KAFKA_BOOTSTRAP": services.kafka_bootstrap,
           "HOTLINE_KAFKA_BROKER_PROFILE": services.broker_profile,
           "HOTLINE_KAFKA_CALLS_TOPIC": topic, "HOTLINE_KAFKA_PARTITIONS": "3"}
    done = subprocess.run([sys.executable, "-m", "router.cli", "replay", str(path)], env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1])["records"] == 25
    assert "records/s" not in done.stderr
    assert "25/25" not in done.stderr
    assert partitions_of(services.kafka_bootstrap, topic) == 3
