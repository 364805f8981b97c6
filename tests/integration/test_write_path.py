"""One write path: a ticket, its events and its outbox entries committed together, then relayed.

Run on both databases: SQLite (the embedded default) and the one the environment names
(PostgreSQL in CI), because they differ in how they hand back times.
"""

from __future__ import annotations

import json
import os
import signal
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from classifiers import DemandClassifier, UrgencyRules
from router.bootstrap import engine_for
from router.config_files import load_router_config
from router.domain.calls import CallRecord, Channel
from router.domain.routing import Disposition
from router.embedded import free_port, stop_process
from router.intake_service import IntakeService
from router.persistence.database import upgrade_schema
from router.persistence.schema import outbox
from router.persistence.tickets import TicketRepository
from tests.conftest import Services, caller_number, service_env
from tests.integration.conftest import Worker, start_worker
from tests.integration.test_resilience import observer, queued_ticket_ids, wait_for_committed

pytestmark = pytest.mark.integration
TEXT = "小区路灯不亮已有一周，晚上出行很不方便，请尽快维修。"


@pytest.fixture(params=["sqlite", "environment"])
def database_url(request: pytest.FixtureRequest, services: Services, tmp_path: Path
                 ) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'write-path.db'}"
    elif services.database_url.startswith("sqlite"):
        pytest.skip("the environment names no database besides SQLite")
    else:
        yield services.database_url


def leave_ticket_not_handed_off(database_url: str, call_id: str, origin: str) -> None:
    """The state a worker leaves when it dies after the ticket's commit, before its hand-off:
    the ticket, its event and its outbox entries committed, nothing delivered."""
    engine = engine_for(database_url)
    upgrade_schema(engine)
    service = IntakeService(load_router_config(), DemandClassifier.load(), UrgencyRules.load(),
                            TicketRepository(engine, origin=origin))
    service.record([CallRecord(call_id=call_id, hotline="12345", channel=Channel.PHONE,
                               received_at=datetime.now(UTC), text=TEXT,
                               place_text="安宁区")])
    engine.dispose()


def test_a_replayed_call_whose_hand_off_was_interrupted_is_handed_off_once_and_not_dead_lettered(
        services: Services, database_url: str, tmp_path: Path) -> None:
    prefix = f"{services.run_id}-{'lite' if database_url.startswith('sqlite') else 'pg'}-replay"
    call_id = f"{prefix}-1"
    leave_ticket_not_handed_off(database_url, call_id, origin=f"{prefix}-router")
    env = service_env(services, tmp_path, free_port())
    env.update({"HOTLINE_DATABASE_URL": database_url,
                "HOTLINE_KAFKA_APP_ID": f"{prefix}-router",
                "HOTLINE_KAFKA_CALLS_TOPIC": f"{prefix}.calls",
                "HOTLINE_KAFKA_DEAD_LETTER_TOPIC": f"{prefix}.dead-letter"})
    process = start_worker(env, tmp_path / "worker.log")
    watch = observer(services, env, services.redis_url, tmp_path / "worker.log", database_url)
    try:
        watch.publish([(call_id, json.dumps({"call_id": call_id, "hotline": "12345",
                                             "text": TEXT, "place_text": "安宁区"},
                                            ensure_ascii=False).encode())])
        [ticket] = watch.wait_for_tickets([call_id], timeout=60).values()
        assert watch.queued(ticket.unit).count(ticket.ticket_id) == 1
        marker = f"{prefix}-after"
        watch.publish([(marker, json.dumps({"call_id": marker, "hotline": "12345",
                                            "text": TEXT}, ensure_ascii=False).encode())])
        assert watch.wait_for_tickets([marker], timeout=60)
        assert watch.read_topic("dead_letter", at_least=1, timeout=3) == []
    finally:
        stop_process(process, timeout=20)


ORDINARY = ["小区路灯不亮已有一周，晚上出行很不方便，请尽快维修。",
            "某培训机构收费后停课，家长要求退费无人处理，请教育部门协调。",
            "工厂夜间排放刺鼻气体，附近居民无法开窗，请环保部门检查。"]
FIRE = "快来人！楼下饭店着火了，火很大，浓烟往楼上冒！"
UNSURE = "我想反映一个情况。"


def mixed_calls(prefix: str, count: int) -> list[tuple[str | None, bytes]]:
    """Ordinary demands, every fifth a fire (a transfer), every seventh one for triage."""
    def text(i: int) -> str:
        return FIRE if i % 5 == 0 else UNSURE if i % 7 == 0 else ORDINARY[i % 3]
    return [(f"{prefix}-{i}", json.dumps({"call_id": f"{prefix}-{i}", "hotline": "12345",
                                          "text": text(i), "place_text": "安宁区"},
                                         ensure_ascii=False).encode()) for i in range(count)]


def test_a_worker_killed_after_the_commit_and_before_the_hand_off_delivers_everything_once(
        services: Services, database_url: str, tmp_path: Path) -> None:
    kind = "lite" if database_url.startswith("sqlite") else "pg"
    prefix = f"{services.run_id}-{kind}-outbox"
    env = service_env(services, tmp_path, free_port())
    env.update({"HOTLINE_DATABASE_URL": database_url,
                "HOTLINE_KAFKA_APP_ID": f"{prefix}-router",
                "HOTLINE_KAFKA_CALLS_TOPIC": f"{prefix}.calls",
                "HOTLINE_KAFKA_TICKET_EVENTS_TOPIC": f"{prefix}.ticket-events",
                "HOTLINE_KAFKA_TRANSFERS_TOPIC": f"{prefix}.transfers",
                "HOTLINE_REDIS_QUEUE_PREFIX": f"{prefix}:queue:",
                # the killed member holds its partitions until its session times out
                "HOTLINE_KAFKA_SESSION_TIMEOUT_SECONDS": "10",
                # this worker commits tickets and their outbox entries but delivers nothing:
                # the state of a crash between the commit and the publish
                "HOTLINE_OUTBOX_RELAY_ENABLED": "false"})
    log_path = tmp_path / "worker.log"
    process = start_worker(env, log_path)
    watch = observer(services, env, services.redis_url, log_path, database_url)
    records = mixed_calls(prefix, 60)
    call_ids = [key for key, _ in records if key]
    try:
        watch.publish(records)
        tickets = list(wait_for_committed(watch, call_ids, len(call_ids), timeout=90).values())
        assert watch.outbox.undelivered_tickets([t.ticket_id for t in tickets]) == {
            t.ticket_id for t in tickets}
        assert queued_ticket_ids(watch) == []
        with engine_for(database_url).connect() as connection:
            undelivered = [dict(row) for row in connection.execute(
                outbox.select().where(outbox.c.origin == env["HOTLINE_KAFKA_APP_ID"])
            ).mappings()]
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)

        env["HOTLINE_OUTBOX_RELAY_ENABLED"] = "true"
        process = start_worker(env, log_path)
        done = watch.wait_for_tickets(call_ids, timeout=120)
        assert len(done) == len(call_ids)
        transferred = sorted(t.ticket_id for t in tickets
                             if t.disposition is Disposition.TRANSFERRED)
        queued = sorted(t.ticket_id for t in tickets
                        if t.disposition is not Disposition.TRANSFERRED)
        assert transferred
        assert any(t.disposition is Disposition.TRIAGE for t in tickets)
        assert sorted(queued_ticket_ids(watch)) == queued  # one entry each, none for transfers
        transfers = watch.read_topic("transfers", at_least=len(transferred), timeout=30)
        assert sorted(m["ticket_id"] for m in transfers) == transferred
        events = watch.read_topic("ticket_events", at_least=len(tickets), timeout=30)
        assert sorted(m["ticket_id"] for m in events) == sorted(t.ticket_id for t in tickets)
        print(f"calls sent {len(call_ids)}, tickets {len(done)}, queue entries"
              f" {len(queued)}, transfers {len(transfers)}, events {len(events)}")

        # A relay that delivered and died before deleting the entries delivers them again;
        # the queue's marker keeps the unit's stream at one entry per ticket.
        with engine_for(database_url).begin() as connection:
            connection.execute(outbox.insert(), undelivered)
        assert len(watch.wait_for_tickets(call_ids, timeout=60)) == len(call_ids)
        assert sorted(queued_ticket_ids(watch)) == queued
    finally:
        stop_process(process, timeout=20)
        watch.redis.close()


def test_two_dispatchers_racing_for_one_triage_ticket_one_wins_and_the_other_unit_gets_nothing(
        worker: Worker, services: Services) -> None:
    centre = "dispatch-center"
    for race in range(8):
        call_id = f"{services.run_id}-race-dispatch-{race}"
        status, body = worker.request("POST", "/api/v1/calls", {
            "call_id": call_id, "hotline": "110", "channel": "transfer",
            # a caller each: the same caller again about it would be a repeat (催办)
            "caller_contact": caller_number(services.run_id, race),
            "text": "110转来：邻居装修噪音很大，还说要打人，请协调。"}, unit=centre)
        assert status == 201, body
        ticket_id = body["ticket"]["ticket_id"]
        assert body["ticket"]["disposition"] == "triage"
        answers = dispatch_at_once(worker, ticket_id, ("urban-management", "transport"))
        codes = sorted(code for code, _ in answers.values())
        assert codes == [200, 409], answers
        winner = next(unit for unit, (code, _) in answers.items() if code == 200)
        loser = next(unit for unit, (code, _) in answers.items() if code == 409)
        assert answers[loser][1]["detail"]["current_status"] == "dispatched"
        assert worker.wait_for_tickets([call_id])
        assert worker.queued(winner).count(ticket_id) == 1
        assert ticket_id not in worker.queued(loser)
        stored = worker.repository.get(ticket_id)
        assert stored is not None
        assert (stored.unit, stored.version) == (winner, 2)


def dispatch_at_once(worker: Worker, ticket_id: str, units: tuple[str, ...]
                     ) -> dict[str, tuple[int, Any]]:
    """One dispatcher per unit, all sending the ticket at the same moment."""
    barrier = threading.Barrier(len(units))
    answers: dict[str, tuple[int, Any]] = {}

    def send(unit: str) -> None:
        barrier.wait()
        answers[unit] = worker.request("POST", f"/api/v1/tickets/{ticket_id}/dispatch",
                                       {"unit": unit, "dispatcher_id": f"D-{unit}"},
                                       unit="dispatch-center")

    threads = [threading.Thread(target=send, args=(unit,)) for unit in units]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers
