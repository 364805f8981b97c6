"""催办: the same caller about the same open matter is counted on its ticket, not ticketed
again; on SQLite (the embedded default) and the environment's database (PostgreSQL in CI)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine

from classifiers import DemandClassifier, UrgencyRules, normalise_text
from classifiers.similarity import text_similarity
from router.config_files import load_router_config
from router.domain.calls import CallRecord, Channel, caller_key
from router.domain.tickets import EventKind, TicketStatus
from router.intake_service import IntakeService
from router.persistence.tickets import TicketRepository
from tests.conftest import Services, caller_number
from tests.integration.conftest import engine_on
from tests.policy import POLICY

pytestmark = pytest.mark.integration
LIGHT = "小区门口路灯不亮已有一周，晚上出行很不方便，请尽快维修。"
LIGHT_AGAIN = "小区门口路灯不亮已经一周多了，晚上出行很不方便，请尽快维修，我之前打过电话。"
# the same place and nearly the same words, but another matter: not a repeat
ROAD = "小区门口的路面塌陷了一个大坑，晚上出行很危险，请尽快维修。"
FIRE = "家里厨房着火了，火很大，快来救火！"
NOISE = "楼下工地夜里施工噪音很大，凌晨还在打桩，影响休息。"
CONFIG = load_router_config()
CLASSIFIER = DemandClassifier.load()
URGENCY = UrgencyRules.load()


@pytest.fixture(params=["sqlite", "environment"])
def engine(request: pytest.FixtureRequest, services: Services, tmp_path: Path
           ) -> Iterator[Engine]:
    yield from engine_on(request.param, services, tmp_path)


def call(call_id: str, text: str, contact: str | None, minutes: int = 0) -> CallRecord:
    return CallRecord(call_id=call_id, hotline="12345", channel=Channel.PHONE,
                      received_at=datetime.now(UTC) + timedelta(minutes=minutes), text=text,
                      caller_contact=contact, place_text="安宁区")


def numbers(prefix: str, n: int) -> tuple[str, str]:
    """A caller of this test's own, whole and masked."""
    whole = caller_number(prefix, n)
    return whole, whole[:3] + "****" + whole[-4:]


def service(engine: Engine) -> tuple[IntakeService, TicketRepository]:
    repository = TicketRepository(engine)
    return IntakeService(CONFIG, CLASSIFIER, URGENCY, repository, normalise=normalise_text,
                         similarity=text_similarity), repository


def test_the_caller_key_is_the_same_for_a_masked_and_a_whole_number() -> None:
    assert caller_key("13800001234") == caller_key("138****1234") == "1381234"
    assert caller_key("+86 138-0000-1234") == "1381234"  # the country code is not the caller
    assert caller_key("110") is None
    assert caller_key(None) is None


def test_the_same_caller_again_is_counted_on_the_open_ticket(engine: Engine,
                                                             services: Services) -> None:
    intake, repository = service(engine)
    prefix = f"{services.run_id}-{id(engine)}-rep"
    whole, masked = numbers(prefix, 1)
    [first] = intake.record([call(f"{prefix}-1", LIGHT, whole)])
    assert first.created
    [again] = intake.record([call(f"{prefix}-2", LIGHT_AGAIN, masked, minutes=30)])
    assert (again.created, again.repeat, again.conflict) == (False, True, False)
    assert again.ticket.ticket_id == first.ticket.ticket_id
    assert again.ticket.repeat_count == 1
    trail = [e.kind for e in repository.events(first.ticket.ticket_id)]
    assert trail == [EventKind.CREATED, EventKind.REPEAT_REPORTED]
    assert repository.find_by_call_ids([f"{prefix}-2"]) == {}  # no ticket of its own
    # a replay of the repeat changes nothing
    [replayed] = intake.record([call(f"{prefix}-2", LIGHT_AGAIN, masked, minutes=30)])
    assert (replayed.created, replayed.repeat, replayed.conflict) == (False, False, False)
    stored = repository.get(first.ticket.ticket_id)
    assert stored is not None
    assert stored.repeat_count == 1


def test_other_callers_other_matters_and_emergencies_make_tickets(engine: Engine,
                                                                 services: Services) -> None:
    intake, _ = service(engine)
    prefix = f"{services.run_id}-{id(engine)}-apart"
    caller, _ = numbers(prefix, 1)
    someone_else, _ = numbers(prefix, 2)
    outcomes = intake.record([call(f"{prefix}-1", LIGHT, caller),
                              call(f"{prefix}-2", LIGHT, someone_else),
                              call(f"{prefix}-3", NOISE, caller),  # another matter
                              call(f"{prefix}-7", ROAD, caller),  # another, alike
                              call(f"{prefix}-4", FIRE, caller)])  # an emergency
    assert [o.created for o in outcomes] == [True, True, True, True, True]
    assert outcomes[4].ticket.status is TicketStatus.TRANSFERRED
    # in one batch: the caller's second call about the first one's matter counts on it
    whole, masked = numbers(prefix, 3)
    [_, second] = intake.record([call(f"{prefix}-5", NOISE, whole),
                                 call(f"{prefix}-6", NOISE, masked, minutes=1)])
    assert second.repeat
    assert second.ticket.repeat_count == 1


def test_a_call_about_a_resolved_ticket_is_a_new_demand(engine: Engine,
                                                        services: Services) -> None:
    intake, repository = service(engine)
    prefix = f"{services.run_id}-{id(engine)}-after"
    caller, _ = numbers(prefix, 1)
    [first] = intake.record([call(f"{prefix}-1", LIGHT, caller)])
    ticket = first.ticket
    now = datetime.now(UTC)
    for step in ("claim", "resolve"):
        current = repository.get(ticket.ticket_id)
        assert current is not None
        change = (current.claim(current.unit, "staff", now, POLICY) if step == "claim"
                  else current.resolve(current.unit, "staff", "已修好", now, POLICY))
        repository.save([change], [])
    [later] = intake.record([call(f"{prefix}-2", LIGHT_AGAIN, caller, minutes=60)])
    assert later.created
    assert later.ticket.ticket_id != ticket.ticket_id


def test_one_look_finds_a_batchs_tickets_its_reports_and_its_callers_open_tickets(
        engine: Engine, services: Services) -> None:
    intake, repository = service(engine)
    prefix = f"{services.run_id}-{id(engine)}-look"
    whole, masked = numbers(prefix, 1)
    stranger, _ = numbers(prefix, 2)
    [first] = intake.record([call(f"{prefix}-1", LIGHT, whole)])
    [again] = intake.record([call(f"{prefix}-2", LIGHT_AGAIN, masked, minutes=30)])
    assert again.repeat
    key, other = caller_key(whole), caller_key(stranger)
    assert key is not None
    assert other is not None
    ids = [f"{prefix}-1", f"{prefix}-2", f"{prefix}-never"]
    before = first.ticket.created_at - timedelta(minutes=1)
    seen = repository.known_calls(ids, [key, other], before)
    assert set(seen.tickets) == {f"{prefix}-1"}
    assert set(seen.reported) == {f"{prefix}-2"}
    assert seen.reported[f"{prefix}-2"].ticket_id == first.ticket.ticket_id
    assert [t.ticket_id for t in seen.open_by_caller[key]] == [first.ticket.ticket_id]
    assert other not in seen.open_by_caller
    later = repository.known_calls(ids, [key], first.ticket.created_at + timedelta(minutes=1))
    assert later.open_by_caller == {}  # created before the window
    # a replay of the first call beside the caller's new call: the new one still repeats
    replay, new = intake.record([call(f"{prefix}-1", LIGHT, whole),
                                 call(f"{prefix}-3", LIGHT_AGAIN, whole, minutes=40)])
    assert (replay.created, replay.repeat) == (False, False)
    assert new.repeat
    assert new.ticket.ticket_id == first.ticket.ticket_id
