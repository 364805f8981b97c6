"""A running worker (the real `hotline-router worker` process) and clients to observe it."""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import redis
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from sqlalchemy import Engine

from connectors.department_queue import DepartmentQueues
from router._aiokafka_fix import install_aiokafka_metadata_fix
from router.access import UnitTokens
from router.bootstrap import stores_at
from router.domain.tickets import Ticket
from router.embedded import free_port, spawn_worker, stop_process, wait_for_port
from router.persistence.database import make_engine, upgrade_schema
from router.persistence.outbox import OutboxRepository
from router.persistence.tickets import TicketRepository
from tests.conftest import Services, service_env

pytestmark = pytest.mark.integration


def engine_on(database: str, services: Services, directory: Path) -> Iterator[Engine]:
    """An engine with the schema up to date: `database` is "sqlite" (a file in `directory`,
    the embedded default) or "environment" (the session's database; skipped when that is
    SQLite too). For fixtures parametrised over both."""
    if database == "sqlite":
        url = f"sqlite:///{directory / 'store.db'}"
    elif services.database_url.startswith("sqlite"):
        pytest.skip("the environment names no database besides SQLite")
    else:
        url = services.database_url
    engine = make_engine(url)
    upgrade_schema(engine)
    yield engine
    engine.dispose()


@dataclass
class Worker:
    env: dict[str, str]
    api: str
    repository: TicketRepository
    outbox: OutboxRepository
    queues: DepartmentQueues
    redis: redis.Redis
    tokens: UnitTokens
    log_path: Path

    def topic(self, name: str) -> str:
        return self.env[f"HOTLINE_KAFKA_{name.upper()}_TOPIC"]

    def queued(self, unit: str) -> list[str]:
        """Ticket ids in a unit's stream, oldest first, whoever holds them."""
        return [entry.ticket_id for entry in reversed(self.queues.entries(unit, 1_000_000))]

    def publish(self, records: Sequence[tuple[str | None, bytes]]) -> None:
        asyncio.run(_publish(self.env["HOTLINE_KAFKA_BOOTSTRAP"], self.topic("calls"), records))

    def read_topic(self, name: str, at_least: int, timeout: float = 60) -> list[dict[str, Any]]:
        return asyncio.run(_read(self.env["HOTLINE_KAFKA_BOOTSTRAP"], self.topic(name),
                                 at_least, timeout))

    def wait_for_tickets(self, call_ids: Sequence[str], timeout: float = 60) -> dict[str, Ticket]:
        """The tickets of these calls that exist and whose outbox entries were all delivered
        (queue entry or transfer, announcement), once all are or the time is up."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.repository.find_by_call_ids(call_ids)
            waiting = self.outbox.undelivered_tickets([t.ticket_id for t in found.values()])
            handed_off = {k: t for k, t in found.items() if t.ticket_id not in waiting}
            if len(handed_off) == len(set(call_ids)) or time.monotonic() > deadline:
                return handed_off
            time.sleep(0.2)

    def request(self, method: str, path: str, body: Any = None, unit: str | None = None
                ) -> tuple[int, Any]:
        headers = {"Content-Type": "application/json"}
        if unit is not None:
            headers["Authorization"] = f"Bearer {self.tokens.issue(unit)}"
        data = None if body is None else json.dumps(body, ensure_ascii=False).encode()
        request = urllib.request.Request(self.api + path, data=data, method=method,
                                         headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, json.load(response)
        except urllib.error.HTTPError as error:
            return error.code, json.load(error)


async def _publish(bootstrap: str, topic: str,
                   records: Sequence[tuple[str | None, bytes]]) -> None:
    install_aiokafka_metadata_fix()
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for key, value in records:
            await producer.send_and_wait(topic, value, key=key.encode() if key else None)
    finally:
        await producer.stop()


async def _read(bootstrap: str, topic: str, at_least: int, timeout: float
                ) -> list[dict[str, Any]]:
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap,
                                auto_offset_reset="earliest", enable_auto_commit=False)
    await consumer.start()
    messages: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    try:
        while len(messages) < at_least and time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=500)
            for records in batch.values():
                messages += [json.loads(record.value) for record in records]
    finally:
        await consumer.stop()
    return messages


@pytest.fixture(scope="session")
def worker(services: Services, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Worker]:
    state_dir = tmp_path_factory.mktemp("worker")
    port = free_port()
    env = service_env(services, state_dir, port)
    log_path = state_dir / "worker.log"
    process = start_worker(env, log_path)
    client = redis.Redis.from_url(services.redis_url, decode_responses=True)
    repository, outbox = stores_at(services.database_url, env["HOTLINE_KAFKA_APP_ID"])
    try:
        yield Worker(env=env, api=f"http://127.0.0.1:{port}",
                     repository=repository, outbox=outbox,
                     queues=DepartmentQueues(client, env["HOTLINE_REDIS_QUEUE_PREFIX"]),
                     redis=client, tokens=UnitTokens(env["HOTLINE_API_UNIT_TOKEN_SECRET"]),
                     log_path=log_path)
    finally:
        stop_process(process, timeout=20)
        client.close()
        print(f"worker log: {log_path}")  # pytest shows it for a failing session


def start_worker(env: dict[str, str], log_path: Path) -> subprocess.Popen[bytes]:
    """A `hotline-router worker` process, returned once its API answers /readyz."""
    process = spawn_worker(env, log_path)
    try:
        port = int(env["HOTLINE_API_PORT"])
        wait_for_port(port, 120, process, "worker", log_path)
        _wait_ready(f"http://127.0.0.1:{port}/readyz", 60)
    except BaseException:
        stop_process(process)
        raise
    return process


def _wait_ready(url: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{url} not ready in {timeout} s")
