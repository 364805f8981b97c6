"""Nothing lost, nothing twice: a Redis outage and a worker killed mid-stream."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
import redis

from connectors.department_queue import DepartmentQueues
from router.access import UnitTokens
from router.bootstrap import stores_at
from router.config_files import load_router_config
from router.domain.routing import Disposition
from router.domain.tickets import Ticket
from router.embedded import free_port, start_redis, stop_process
from tests.conftest import Services, service_env
from tests.integration.conftest import Worker, start_worker

pytestmark = pytest.mark.integration
TEXTS = ["小区路灯不亮已有一周，晚上出行很不方便，请尽快维修。",
         "某培训机构收费后停课，家长要求退费无人处理，请教育部门协调。",
         "工厂夜间排放刺鼻气体，附近居民无法开窗，请环保部门检查。"]


def calls(prefix: str, count: int) -> list[tuple[str | None, bytes]]:
    return [(f"{prefix}-{i}", json.dumps({
        "call_id": f"{prefix}-{i}", "hotline": "12345", "text": TEXTS[i % len(TEXTS)],
        "place_text": "安宁区"}, ensure_ascii=False).encode()) for i in range(count)]


def observer(services: Services, env: dict[str, str], redis_url: str, log_path: Path,
             database_url: str | None = None) -> Worker:
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    repository, outbox = stores_at(database_url or services.database_url,
                                   env["HOTLINE_KAFKA_APP_ID"])
    return Worker(env=env, api=f"http://127.0.0.1:{env['HOTLINE_API_PORT']}",
                  repository=repository, outbox=outbox,
                  queues=DepartmentQueues(client, env["HOTLINE_REDIS_QUEUE_PREFIX"]),
                  redis=client, tokens=UnitTokens(env["HOTLINE_API_UNIT_TOKEN_SECRET"]),
                  log_path=log_path)


def queued_ticket_ids(worker: Worker) -> list[str]:
    """Every ticket id in every unit's stream."""
    return [ticket_id for unit in load_router_config().routing.units
            for ticket_id in worker.queued(unit)]


def own_streams(services: Services, tmp_path: Path, name: str, **settings: str
                ) -> dict[str, str]:
    """A worker environment with a consumer group, intake topic and unit queues of its own,
    so what one fault test does never reaches another's worker."""
    env = service_env(services, tmp_path, free_port())
    env.update({"HOTLINE_KAFKA_APP_ID": f"{services.run_id}-{name}",
                "HOTLINE_KAFKA_CALLS_TOPIC": f"{services.run_id}.{name}.calls",
                "HOTLINE_REDIS_QUEUE_PREFIX": f"{services.run_id}:{name}:queue:", **settings})
    return env


def wait_for_committed(watch: Worker, call_ids: list[str], at_least: int,
                       timeout: float = 60) -> dict[str, Ticket]:
    """The calls' tickets once at least `at_least` of them are in the database."""
    deadline = time.monotonic() + timeout
    while len(found := watch.repository.find_by_call_ids(call_ids)) < at_least:
        assert time.monotonic() < deadline, f"only {len(found)} of {at_least} tickets committed"
        time.sleep(0.05)
    return found


def tickets_once_each(watch: Worker, call_ids: list[str], timeout: float
                      ) -> tuple[dict[str, Ticket], list[str]]:
    """Every call's ticket handed off, none twice in any unit's queue; prints the counts."""
    done = watch.wait_for_tickets(call_ids, timeout=timeout)
    queued = queued_ticket_ids(watch)
    print(f"calls sent {len(call_ids)}, tickets {len(done)},"
          f" duplicates {len(queued) - len(set(queued))},"
          f" lost {len(set(call_ids) - set(done))}")
    assert len(done) == len(call_ids)
    assert len(queued) == len(set(queued))
    return done, queued


def test_a_redis_outage_delays_dispatch_but_loses_nothing(
        services: Services, tmp_path: Path) -> None:
    redis_port = free_port()
    redis_url, redis_process = start_redis(tmp_path / "redis-a", redis_port)
    env = own_streams(services, tmp_path, "outage", HOTLINE_REDIS_URL=redis_url)
    worker_process = start_worker(env, tmp_path / "worker.log")
    watch = observer(services, env, redis_url, tmp_path / "worker.log")
    prefix = f"{services.run_id}-outage"
    try:
        first = calls(prefix + "-a", 3)
        watch.publish(first)
        assert len(watch.wait_for_tickets([k for k, _ in first if k])) == 3

        stop_process(redis_process)
        during = calls(prefix + "-b", 3)
        watch.publish(during)
        time.sleep(5)
        stuck = watch.repository.find_by_call_ids([k for k, _ in during if k])
        assert len(stuck) == 3  # committed, with their queue entries still in the outbox
        for_queues = {t.ticket_id for t in stuck.values()
                      if t.disposition is not Disposition.TRANSFERRED}
        assert for_queues
        assert watch.outbox.undelivered_tickets(sorted(for_queues)) == for_queues

        # Redis comes back where it was, with its append-only file.
        redis_url_again, redis_process = start_redis(tmp_path / "redis-a", redis_port)
        assert redis_url_again == redis_url
        done = watch.wait_for_tickets([k for k, _ in during if k], timeout=90)
        assert len(done) == 3
        queued = queued_ticket_ids(watch)
        for ticket in [*done.values()]:
            assert queued.count(ticket.ticket_id) == 1
        with open(tmp_path / "worker.log", encoding="utf-8") as log:
            assert "retrying" in log.read()
    finally:
        stop_process(worker_process, timeout=20)
        stop_process(redis_process)
        watch.redis.close()


def test_a_worker_killed_mid_stream_leaves_every_call_with_exactly_one_ticket(
        services: Services, tmp_path: Path) -> None:
    # the killed member holds its partitions until its session times out
    env = own_streams(services, tmp_path, "kill", HOTLINE_KAFKA_BATCH_SIZE="20",
                      HOTLINE_KAFKA_SESSION_TIMEOUT_SECONDS="10")
    log_path = tmp_path / "worker.log"
    worker_process = start_worker(env, log_path)
    watch = observer(services, env, services.redis_url, log_path)
    records = calls(f"{services.run_id}-kill", 600)
    call_ids = [k for k, _ in records if k]
    try:
        watch.publish(records)
        wait_for_committed(watch, call_ids, at_least=50)
        os.killpg(worker_process.pid, signal.SIGKILL)  # no chance to commit or clean up
        worker_process.wait(10)

        worker_process = start_worker(env, log_path)
        done, queued = tickets_once_each(watch, call_ids, timeout=180)
        assert sorted(queued) == sorted(t.ticket_id for t in done.values())
    finally:
        stop_process(worker_process, timeout=20)
        watch.redis.close()


def _local_postgresql(services: Services) -> list[str] | None:
    """The pg_ctlcluster command line for the PostgreSQL the tests use, when this machine
    runs it (CI does) and we may stop it; None otherwise."""
    if "@127.0.0.1" not in services.database_url or os.geteuid() != 0:
        return None
    if shutil.which("pg_ctlcluster") is None or not Path("/usr/lib/postgresql").is_dir():
        return None
    version = sorted(Path("/usr/lib/postgresql").iterdir(), key=lambda p: float(p.name))[-1]
    return ["pg_ctlcluster", version.name, "main"]


def test_a_database_outage_holds_intake_back_reports_not_ready_and_loses_nothing(
        services: Services, tmp_path: Path) -> None:
    cluster = _local_postgresql(services)
    if cluster is None:
        pytest.skip("needs the local PostgreSQL cluster, which only root may stop")
    env = own_streams(services, tmp_path, "pgdown", HOTLINE_KAFKA_STUCK_AFTER_SECONDS="2")
    log_path = tmp_path / "worker.log"
    worker_process = start_worker(env, log_path)
    watch = observer(services, env, services.redis_url, log_path)
    prefix = f"{services.run_id}-pgdown"
    try:
        first = calls(prefix + "-a", 3)
        watch.publish(first)
        assert len(watch.wait_for_tickets([k for k, _ in first if k])) == 3
        subprocess.run([*cluster, "stop", "-m", "fast"], check=True, timeout=60)
        try:
            during = calls(prefix + "-b", 20)
            watch.publish(during)
            deadline = time.monotonic() + 30
            while (ready := watch.request("GET", "/readyz"))[0] == 200:
                assert time.monotonic() < deadline, "/readyz stayed ready without a database"
                time.sleep(0.5)
            assert ready[1]["database"] != "ok"
        finally:
            subprocess.run([*cluster, "start"], check=True, timeout=60)
        tickets_once_each(watch, [k for k, _ in during if k], timeout=120)
        deadline = time.monotonic() + 30
        while watch.request("GET", "/readyz")[0] != 200:
            assert time.monotonic() < deadline, "/readyz did not recover"
            time.sleep(0.5)
    finally:
        stop_process(worker_process, timeout=20)
        watch.redis.close()


def test_an_apache_kafka_restart_mid_stream_leaves_every_call_with_exactly_one_ticket(
        services: Services, tmp_path: Path) -> None:
    if services.broker_profile != "apache" or not services.kafka_bootstrap.startswith(
            "127.0.0.1:"):
        pytest.skip("needs the local Apache Kafka of ops/kafka, which the test restarts")
    port = services.kafka_bootstrap.rsplit(":", 1)[1]
    kafka = Path(__file__).resolve().parents[2] / "ops" / "kafka"
    env = own_streams(services, tmp_path, "kafkadown", HOTLINE_KAFKA_BATCH_SIZE="20")
    log_path = tmp_path / "worker.log"
    worker_process = start_worker(env, log_path)
    watch = observer(services, env, services.redis_url, log_path)
    records = calls(f"{services.run_id}-kafkadown", 400)
    call_ids = [k for k, _ in records if k]
    try:
        watch.publish(records)
        wait_for_committed(watch, call_ids, at_least=40)
        subprocess.run([str(kafka / "stop-kafka.sh"), port], check=True, timeout=120)
        time.sleep(3)
        subprocess.run([str(kafka / "start-kafka.sh"), port], check=True, timeout=180,
                       env={**os.environ, "HOTLINE_KAFKA_KEEP_DATA": "1"})
        done, queued = tickets_once_each(watch, call_ids, timeout=240)
        assert sorted(queued) == sorted(t.ticket_id for t in done.values())
    finally:
        stop_process(worker_process, timeout=20)
        watch.redis.close()


def test_a_frozen_broker_gets_the_desktop_a_bounded_503_and_retries_make_one_ticket_each(
        services: Services, tmp_path: Path) -> None:
    pid_file = Path(os.environ.get("TMPDIR", "/tmp")) / (
        f"hotline-kafka-{services.kafka_bootstrap.rsplit(':', 1)[1]}") / "kafka.pid"
    if services.broker_profile != "apache" or not pid_file.is_file():
        pytest.skip("needs the local Apache Kafka of ops/kafka, which the test freezes")
    broker = int(pid_file.read_text().split()[0])
    env = own_streams(services, tmp_path, "frozen", HOTLINE_KAFKA_PUBLISH_TIMEOUT_SECONDS="3")
    log_path = tmp_path / "worker.log"
    worker_process = start_worker(env, log_path)
    watch = observer(services, env, services.redis_url, log_path)
    prefix = f"{services.run_id}-frozen"
    call_ids = [f"{prefix}-{i}" for i in range(6)]

    def send(call_id: str) -> tuple[int, float]:
        started = time.monotonic()
        status, _ = watch.request("POST", "/api/v1/calls", {
            "call_id": call_id, "text": TEXTS[0], "place_text": "安宁区"},
            unit="dispatch-center")
        return status, time.monotonic() - started

    try:
        assert send(call_ids[0])[0] == 201
        os.kill(broker, signal.SIGSTOP)
        try:
            frozen = [send(call_id) for call_id in call_ids[1:4]]
        finally:
            os.kill(broker, signal.SIGCONT)
        print("while frozen:", [(status, round(seconds, 1)) for status, seconds in frozen])
        assert all(status in (202, 503) for status, _ in frozen), frozen
        assert max(seconds for _, seconds in frozen) < 15  # bounded, not faust's 20 minutes
        # The agent sends again whatever was not confirmed; the call id keeps it one ticket.
        answers = [send(call_id)[0] for call_id in call_ids[1:]]
        assert all(status in (201, 202) for status in answers), answers
        done, queued = tickets_once_each(watch, call_ids, timeout=120)
        assert sorted(queued) == sorted(t.ticket_id for t in done.values())
    finally:
        os.kill(broker, signal.SIGCONT)
        stop_process(worker_process, timeout=20)
        watch.redis.close()
