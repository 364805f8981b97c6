"""The intake use case with the shipped model and an in-memory ticket store."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

import pytest

from classifiers import DemandClassifier, UrgencyRules
from router.config_files import load_router_config
from router.domain.calls import CallRecord, Channel, Override
from router.domain.outbox import OutboxMessage
from router.domain.routing import Disposition
from router.domain.tickets import Ticket, TicketChange, TicketStatus
from router.intake_service import IntakeService
from router.ports import Created, KnownCalls, RepeatCall, ReportedCall

NOW = datetime(2026, 11, 29, 1, 0, tzinfo=UTC)


class InMemoryTickets:
    """The TicketStore port over a dict, with the same create-once rule as the database."""

    def __init__(self) -> None:
        self.by_call: dict[str, Ticket] = {}
        self.messages: list[OutboxMessage] = []

    def find_by_call_ids(self, call_ids: Iterable[str]) -> dict[str, Ticket]:
        return {c: self.by_call[c] for c in call_ids if c in self.by_call}

    def known_calls(self, call_ids: Iterable[str], caller_keys: Iterable[str],
                    since: datetime) -> KnownCalls:
        return KnownCalls(self.find_by_call_ids(call_ids), {}, {})

    def reported_calls(self, call_ids: Iterable[str]) -> dict[str, ReportedCall]:
        return {}  # repeats (催办) are tested on the real databases

    def get_many(self, ticket_ids: Sequence[str]) -> list[Ticket]:
        found = {t.ticket_id: t for t in self.by_call.values()}
        return [found[i] for i in ticket_ids if i in found]

    def create_placed(self, changes: Sequence[TicketChange],
                      messages: Sequence[OutboxMessage], repeats: Sequence[RepeatCall] = ()
                      ) -> Created:
        new_tickets = [change.ticket for change in changes]
        created = {t.call_id for t in new_tickets if t.call_id not in self.by_call}
        self.by_call.update({t.call_id: t for t in new_tickets if t.call_id in created})
        self.messages += [m for m in messages
                          if m.ticket_id in {self.by_call[c].ticket_id for c in created}]
        return Created(created, set(), {})


@pytest.fixture(scope="module")
def classifier() -> DemandClassifier:
    return DemandClassifier.load()


@pytest.fixture
def service(classifier: DemandClassifier) -> IntakeService:
    return IntakeService(load_router_config(), classifier, UrgencyRules.load(),
                         InMemoryTickets(), clock=lambda: NOW)


def call(call_id: str, text: str, **fields: object) -> CallRecord:
    return CallRecord(call_id=call_id, hotline=str(fields.pop("hotline", "12345")),
                      channel=Channel.PHONE, received_at=NOW, text=text, **fields)  # type: ignore[arg-type]


WAGES = "公司拖欠我们三个月工资，老板一直推脱不给，请劳动监察部门帮助追讨。"


def test_each_call_gets_one_ticket_and_a_repeat_in_the_same_batch_is_not_a_second(
        service: IntakeService) -> None:
    outcomes = service.record([call("c1", WAGES), call("c1", WAGES), call("c2", WAGES)])
    assert [o.created for o in outcomes] == [True, False, True]
    assert outcomes[0].ticket is outcomes[1].ticket
    again = service.record([call("c1", WAGES)])
    assert again[0].created is False
    assert again[0].ticket.ticket_id == outcomes[0].ticket.ticket_id


def test_a_new_ticket_is_saved_with_its_hand_off_and_a_replay_adds_none(
        classifier: DemandClassifier) -> None:
    store = InMemoryTickets()
    handed_over: list[OutboxMessage] = []
    service = IntakeService(load_router_config(), classifier, UrgencyRules.load(), store,
                            clock=lambda: NOW, handover=handed_over.extend)
    [outcome] = service.record([call("c1", WAGES, place_text="西固区")])
    [message] = store.messages
    assert [(d.destination.value, d.target) for d in message.deliveries] == [
        ("unit_queue", outcome.ticket.unit), ("ticket_events", None)]
    assert handed_over == [message]  # to this process's relay, once committed
    service.record([call("c1", WAGES, place_text="西固区")])
    assert len(store.messages) == 1
    assert handed_over == [message]


def test_a_ticket_records_the_model_its_score_and_the_rule_that_routed_it(
        service: IntakeService) -> None:
    [outcome] = service.record([call("c1", WAGES, place_text="西固区")])
    ticket = outcome.ticket
    assert ticket.category == ticket.suggested_category == "劳动和社会保障"
    assert ticket.model_version
    assert 0 < ticket.confidence <= 1
    assert (ticket.unit, ticket.rule_id, ticket.area) == (
        "human-resources", "labour-social-security", "xigu")
    assert ticket.status is TicketStatus.DISPATCHED


def test_an_emergency_becomes_a_transferred_ticket_with_the_rule_that_saw_it(
        service: IntakeService) -> None:
    [outcome] = service.record([call("c1", "快来人！楼下饭店着火了，火很大，浓烟往楼上冒！")])
    assert outcome.ticket.disposition is Disposition.TRANSFERRED
    assert outcome.ticket.emergency_service == "119"
    assert "urgency emergency" in outcome.ticket.route_reason


def test_an_agents_category_is_used_and_the_models_is_kept(service: IntakeService) -> None:
    override = Override(category="环境保护", agent_id="A9")
    [outcome] = service.record([call("c1", WAGES, override=override)])
    ticket = outcome.ticket
    assert ticket.category == "环境保护"
    assert ticket.suggested_category == "劳动和社会保障"
    assert ticket.unit == "ecology-environment"
    assert ticket.override_agent_id == "A9"


def test_stage_timings_are_reported(service: IntakeService) -> None:
    heard: dict[str, float] = {}
    service.record([call("c1", WAGES)], observe=heard.__setitem__)
    assert set(heard) == {"classify", "persist"}
    assert all(seconds >= 0 for seconds in heard.values())


def test_an_agent_sending_a_call_to_110_makes_a_transfer_and_no_queue_entry(
        classifier: DemandClassifier) -> None:
    store = InMemoryTickets()
    service = IntakeService(load_router_config(), classifier, UrgencyRules.load(), store,
                            clock=lambda: NOW)
    [outcome] = service.record([call("c1", "有人在小区门口吵架，还动手了",
                                     override=Override(unit="police-110", agent_id="A1"))])
    assert (outcome.ticket.disposition, outcome.ticket.emergency_service) == (
        Disposition.TRANSFERRED, "110")
    [message] = store.messages
    assert [d.destination.value for d in message.deliveries] == [
        "emergency_transfers", "ticket_events"]


def test_a_call_id_reused_by_a_different_call_is_a_conflict_not_a_replay(
        service: IntakeService) -> None:
    service.record([call("c1", WAGES, caller_contact="13800001111")])
    replay, other, same_batch = service.record([
        call("c1", WAGES, caller_contact="13800001111"),
        call("c1", "小区天然气泄漏，味道很大！", caller_contact="13900002222"),
        call("c1", WAGES, caller_contact="13800001111")])
    assert (replay.created, replay.conflict) == (False, False)
    assert (other.created, other.conflict) == (False, True)
    assert other.ticket.text == WAGES  # the first call's ticket is left as it was
    assert same_batch.conflict is False
    [first, second] = service.record([call("c2", WAGES), call("c2", "另一件事：路灯不亮")])
    assert (first.created, second.conflict) == (True, True)


def test_a_retry_that_leaves_out_the_callers_number_is_still_a_retry(
        service: IntakeService) -> None:
    service.record([call("c1", WAGES, caller_contact="13800001111", place_text="西固区")])
    [retry] = service.record([call("c1", WAGES)])
    assert (retry.created, retry.conflict) == (False, False)
    [other] = service.record([call("c1", WAGES, caller_contact="13900002222")])
    assert other.conflict is True
