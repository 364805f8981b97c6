"""The ticket and outbox stores and the migrations, on both databases: SQLite (the embedded
default) and the one the environment names (PostgreSQL in CI)."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import Engine

from router.domain.errors import ConcurrentChange
from router.domain.outbox import Destination, messages_for
from router.domain.routing import Disposition, Unit, UnitKind
from router.domain.tickets import Ticket, TicketChange, TicketStatus, ticket_id_for
from router.persistence.database import make_engine, upgrade_schema
from router.persistence.outbox import OutboxRepository
from router.persistence.schema import metadata
from router.persistence.tickets import TicketRepository
from tests.conftest import Services
from tests.integration.conftest import engine_on
from tests.policy import POLICY

pytestmark = pytest.mark.integration
CST = timezone(timedelta(hours=8))
RECEIVED = datetime(2026, 11, 29, 9, 28, 48, tzinfo=CST)
NOW = datetime(2026, 11, 29, 1, 30, tzinfo=UTC)
TRANSPORT = Unit("transport", "市交通运输局", UnitKind.DEPARTMENT)


@pytest.fixture(scope="module", params=["sqlite", "environment"])
def engine(request: pytest.FixtureRequest, services: Services,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    yield from engine_on(request.param, services, tmp_path_factory.mktemp("sqlite"))


def ticket(call_id: str, unit: str = "transport",
           disposition: Disposition = Disposition.DISPATCHED) -> Ticket:
    status = (TicketStatus.AWAITING_TRIAGE if disposition is Disposition.TRIAGE
              else TicketStatus.DISPATCHED)
    return Ticket(
        ticket_id=ticket_id_for(call_id), call_id=call_id, hotline="12345", channel="phone",
        received_at=RECEIVED, created_at=NOW, text="公交站牌损坏", caller_contact=None,
        place_text=None, area=None, category="交通运输", confidence=0.93,
        suggested_category="交通运输", model_version="test", urgency="general",
        emergency_service=None, disposition=disposition, unit=unit,
        rule_id="transport", route_reason="test", status=status,
        raw_payload={"call_id": call_id})


def create(repository: TicketRepository, *tickets: Ticket) -> set[str]:
    changes = [t.open(POLICY) for t in tickets]
    return repository.create(changes, messages_for(changes))


def save(repository: TicketRepository, change: TicketChange) -> None:
    repository.save([change], messages_for([change]))


def test_the_migrations_build_exactly_the_schema_the_code_uses(engine: Engine) -> None:
    upgrade_schema(engine)  # a second run is a no-op
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), metadata)
    assert differences == []


def test_times_come_back_timezone_aware_and_equal_to_what_was_saved(
        engine: Engine, services: Services) -> None:
    repository = TicketRepository(engine)
    call_id = f"{services.run_id}-{engine.dialect.name}-times"
    create(repository, ticket(call_id))
    stored = repository.find_by_call_ids([call_id])[call_id]
    assert stored.received_at.tzinfo is not None
    assert stored.received_at == RECEIVED  # the same instant, given back in UTC
    assert stored.received_at.utcoffset() == timedelta(0)
    assert stored.created_at == NOW
    [event] = repository.events(stored.ticket_id)
    assert event.occurred_at == NOW


def test_creating_the_same_call_twice_keeps_one_ticket_one_trail_and_one_hand_off(
        engine: Engine, services: Services) -> None:
    repository, outbox = TicketRepository(engine), OutboxRepository(engine)
    call_id = f"{services.run_id}-{engine.dialect.name}-repo-1"
    assert create(repository, ticket(call_id)) == {call_id}
    assert create(repository, ticket(call_id)) == set()
    assert list(repository.find_by_call_ids([call_id])) == [call_id]
    tid = ticket_id_for(call_id)
    assert [(e.kind.value, e.version) for e in repository.events(tid)] == [("created", 1)]
    assert outbox.undelivered_tickets([tid]) == {tid}


def test_a_batch_of_new_and_taken_calls_creates_the_new_ones_with_their_documents(
        engine: Engine, services: Services) -> None:
    repository = TicketRepository(engine)
    prefix = f"{services.run_id}-{engine.dialect.name}-batch"
    assert create(repository, ticket(f"{prefix}-0")) == {f"{prefix}-0"}
    batch = [ticket(f"{prefix}-{n}") for n in range(3)]
    assert create(repository, *batch) == {f"{prefix}-1", f"{prefix}-2"}
    stored = repository.find_by_call_ids([f"{prefix}-2"])[f"{prefix}-2"]
    assert stored.raw_payload == {"call_id": f"{prefix}-2"}  # JSON, as on the one-row path
    assert [c.name for c in stored.clocks] == [c.name for c in batch[2].open(POLICY).ticket.clocks]


def test_a_naive_time_in_a_batch_is_refused_and_the_batch_writes_nothing(
        engine: Engine, services: Services) -> None:
    repository = TicketRepository(engine)
    prefix = f"{services.run_id}-{engine.dialect.name}-naive"
    naive = dataclasses.replace(ticket(f"{prefix}-1"), received_at=RECEIVED.replace(tzinfo=None))
    with pytest.raises(sa.exc.StatementError, match="naive datetime"):
        create(repository, ticket(f"{prefix}-0"), naive)
    assert repository.find_by_call_ids([f"{prefix}-0", f"{prefix}-1"]) == {}


def test_two_workers_racing_on_one_call_create_one_ticket(engine: Engine, services: Services
                                                          ) -> None:
    repository = TicketRepository(engine)
    call_ids = [f"{services.run_id}-{engine.dialect.name}-race-{i}" for i in range(20)]
    results: list[set[str]] = []
    barrier = threading.Barrier(4)

    def insert_all() -> None:
        barrier.wait()
        results.append(create(repository, *[ticket(c) for c in call_ids]))

    threads = [threading.Thread(target=insert_all) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    created = [c for result in results for c in result]
    assert sorted(created) == sorted(call_ids)  # each call created by exactly one of them
    assert len(repository.find_by_call_ids(call_ids)) == 20
    with engine.connect() as connection:
        outbox_rows = connection.execute(sa.text(
            "SELECT count(*) FROM outbox WHERE ticket_id IN :ids").bindparams(
            sa.bindparam("ids", expanding=True)), {"ids": [ticket_id_for(c) for c in call_ids]}
        ).scalar()
    assert outbox_rows == 20  # one entry each (queue entry and announcement), written once


def test_a_change_saved_from_a_stale_version_is_refused_and_writes_nothing(
        engine: Engine, services: Services) -> None:
    repository = TicketRepository(engine)
    call_id = f"{services.run_id}-{engine.dialect.name}-stale"
    create(repository, ticket(call_id, unit="dispatch-center", disposition=Disposition.TRIAGE))
    loaded = repository.find_by_call_ids([call_id])[call_id]
    first = loaded.dispatch_manually(TRANSPORT, None, "D1", NOW, POLICY)
    second = loaded.dispatch_manually(Unit("education", "市教育局", UnitKind.DEPARTMENT),
                                      None, "D2", NOW, POLICY)
    save(repository, first)
    with pytest.raises(ConcurrentChange) as refused:
        save(repository, second)
    assert refused.value.current == "dispatched"
    stored = repository.get(loaded.ticket_id)
    assert stored is not None
    assert (stored.unit, stored.version) == ("transport", 2)
    assert [e.actor for e in repository.events(loaded.ticket_id)] == [None, "D1"]
    with engine.connect() as connection:
        entries = connection.execute(sa.text(
            "SELECT message_id FROM outbox WHERE ticket_id = :t ORDER BY seq"),
            {"t": loaded.ticket_id}).scalars().all()
    assert entries == [f"{loaded.ticket_id}.1.0", f"{loaded.ticket_id}.2.0"]  # none for D2


def test_an_outbox_entry_is_leased_to_one_relay_until_delivered_or_its_lease_runs_out(
        engine: Engine, services: Services) -> None:
    repository, outbox = TicketRepository(engine), OutboxRepository(engine)
    call_id = f"{services.run_id}-{engine.dialect.name}-lease"
    create(repository, ticket(call_id))
    tid = ticket_id_for(call_id)
    far = datetime.now(UTC) + timedelta(days=3650)  # past every other test's entries too

    def mine(now: datetime) -> list[str]:
        return [p.message.message_id for p in outbox.lease_due(100_000, 30, now)
                if p.message.ticket_id == tid]

    leased = mine(far)
    assert leased == [f"{tid}.1.0"]  # one entry for the event, with its two deliveries
    assert mine(far) == []  # still leased
    outbox.retry_later(leased, far, "QueueUnavailable")
    again = outbox.lease_due(100_000, 30, far + timedelta(seconds=1))
    [retried] = [p for p in again if p.message.message_id == leased[0]]
    assert retried.attempts == 1
    assert [d.destination for d in retried.message.deliveries] == [
        Destination.UNIT_QUEUE, Destination.TICKET_EVENTS]
    outbox.mark_published(leased)
    assert mine(far + timedelta(seconds=60)) == []  # delivered: never again
    assert outbox.undelivered_tickets([tid]) == set()


def test_upgrading_from_the_first_schema_hands_off_what_was_never_handed_off(
        tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    config = Config()
    config.set_main_option("script_location",
                           str(Path(upgrade_schema.__code__.co_filename).parents[1]
                               / "migrations"))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0001")
    row = {"ticket_id": "TOLD1", "call_id": "OLD-1", "hotline": "12345", "channel": "phone",
           "received_at": "2026-11-29 01:00:00", "created_at": "2026-11-29 01:00:00",
           "updated_at": "2026-11-29 01:00:00", "text": "路灯不亮", "category": "城乡建设",
           "confidence": 0.9, "suggested_category": "城乡建设", "model_version": "m",
           "urgency": "general", "disposition": "dispatched", "unit": "transport",
           "rule_id": "r", "route_reason": "r", "status": "dispatched", "raw_payload": "{}"}
    with engine.begin() as connection:
        for ticket_id, handed_off in (("TOLD1", None), ("TOLD2", "2026-11-29 01:00:01")):
            connection.execute(sa.text(
                f"INSERT INTO tickets ({', '.join(row)}, handed_off_at) VALUES"
                f" ({', '.join(':' + k for k in row)}, :handed_off_at)"),
                {**row, "ticket_id": ticket_id, "call_id": ticket_id,
                 "handed_off_at": handed_off})
            connection.execute(sa.text(
                "INSERT INTO ticket_events (ticket_id, occurred_at, kind, detail)"
                " VALUES (:t, '2026-11-29 01:00:00', 'created', '{}')"), {"t": ticket_id})
    upgrade_schema(engine)
    assert OutboxRepository(engine).undelivered_tickets(["TOLD1", "TOLD2"]) == {"TOLD1"}
    [event] = TicketRepository(engine).events("TOLD1")
    assert (event.event_id, event.version) == ("TOLD1.1.0", 1)
    stored = TicketRepository(engine).get("TOLD1")
    assert stored is not None
    assert stored.version == 1
    assert stored.received_at == datetime(2026, 11, 29, 1, tzinfo=UTC)
