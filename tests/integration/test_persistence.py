"""The ticket repository and migrations against the real database (PostgreSQL in CI)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine

from router.domain.routing import Disposition
from router.domain.tickets import Ticket, TicketStatus, ticket_id_for
from router.persistence.database import make_engine, upgrade_schema
from router.persistence.schema import metadata
from router.persistence.tickets import TicketRepository
from tests.conftest import Services

pytestmark = pytest.mark.integration
NOW = datetime(2026, 11, 29, 1, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def engine(services: Services) -> Iterator[Engine]:
    engine = make_engine(services.database_url)
    upgrade_schema(engine)
    yield engine
    engine.dispose()


def ticket(call_id: str, unit: str = "transport") -> Ticket:
    return Ticket(
        ticket_id=ticket_id_for(call_id), call_id=call_id, hotline="12345", channel="phone",
        received_at=NOW, created_at=NOW, text="公交站牌损坏", caller_contact=None,
        place_text=None, area=None, category="交通运输", confidence=0.93,
        suggested_category="交通运输", model_version="test", urgency="general",
        emergency_service=None, disposition=Disposition.DISPATCHED, unit=unit,
        rule_id="transport", route_reason="test", status=TicketStatus.DISPATCHED,
        raw_payload={"call_id": call_id})


def test_the_migrations_build_exactly_the_schema_the_code_uses(engine: Engine) -> None:
    upgrade_schema(engine)  # a second run is a no-op
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), metadata)
    assert differences == []


def test_creating_the_same_call_twice_keeps_one_ticket(engine: Engine, services: Services
                                                       ) -> None:
    repository = TicketRepository(engine)
    call_id = f"{services.run_id}-repo-1"
    assert repository.create([ticket(call_id)]) == {call_id}
    assert repository.create([ticket(call_id)]) == set()
    assert list(repository.find_by_call_ids([call_id])) == [call_id]
    assert [e["kind"] for e in repository.events(ticket_id_for(call_id))] == ["created"]


def test_two_workers_racing_on_one_call_create_one_ticket(engine: Engine, services: Services
                                                          ) -> None:
    repository = TicketRepository(engine)
    call_ids = [f"{services.run_id}-race-{i}" for i in range(20)]
    results: list[set[str]] = []
    barrier = threading.Barrier(4)

    def insert_all() -> None:
        barrier.wait()
        results.append(repository.create([ticket(c) for c in call_ids]))

    threads = [threading.Thread(target=insert_all) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    created = [c for result in results for c in result]
    assert sorted(created) == sorted(call_ids)  # each call created by exactly one of them
    assert len(repository.find_by_call_ids(call_ids)) == 20


def test_only_the_owning_unit_can_claim_a_ticket(engine: Engine, services: Services) -> None:
    repository = TicketRepository(engine)
    call_id = f"{services.run_id}-claim"
    repository.create([ticket(call_id, unit="transport")])
    tid = ticket_id_for(call_id)
    assert repository.claim("education", [tid], "someone", NOW) == []
    assert repository.claim("transport", [tid], "staff-7", NOW) == [tid]
    assert repository.claim("transport", [tid], "staff-8", NOW) == []  # already claimed
    stored = repository.get(tid)
    assert stored is not None
    assert (stored.status, stored.claimed_by) == (TicketStatus.CLAIMED, "staff-7")
    assert [e["kind"] for e in repository.events(tid)] == ["created", "claimed"]


def test_hand_off_is_recorded_once(engine: Engine, services: Services) -> None:
    repository = TicketRepository(engine)
    call_id = f"{services.run_id}-handoff"
    repository.create([ticket(call_id)])
    repository.mark_handed_off([ticket_id_for(call_id)], NOW)
    repository.mark_handed_off([ticket_id_for(call_id)], datetime(2030, 1, 1, tzinfo=UTC))
    stored = repository.get(ticket_id_for(call_id))
    assert stored is not None
    assert stored.handed_off_at is not None
    assert stored.handed_off_at.replace(tzinfo=None) == NOW.replace(tzinfo=None) or (
        stored.handed_off_at == NOW)
