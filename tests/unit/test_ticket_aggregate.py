"""The ticket aggregate: each change checks its transition, bumps the version and returns its
events; the outbox rules say what each change must tell the outside world."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from router.domain.errors import InvalidTransition, NotYourTicket
from router.domain.outbox import Destination, OutboxMessage, messages_for
from router.domain.routing import Disposition, Unit, UnitKind
from router.domain.tickets import EventKind, Ticket, TicketStatus
from tests.policy import POLICY

NOW = datetime(2026, 11, 29, 1, 0, tzinfo=UTC)
LATER = NOW + timedelta(minutes=5)
NEW_TRIAGE = Ticket(
    ticket_id="T1", call_id="C1", hotline="12345", channel="phone", received_at=NOW,
    created_at=NOW, text="有个问题", caller_contact="13800001234", place_text=None, area=None,
    category="城乡建设", confidence=0.41, suggested_category="城乡建设", model_version="m",
    urgency="general", emergency_service=None, disposition=Disposition.TRIAGE,
    unit="dispatch-center", rule_id="low-confidence", route_reason="unsure",
    status=TicketStatus.AWAITING_TRIAGE)
TRIAGED = NEW_TRIAGE.open(POLICY).ticket
ROADS = Unit("transport", "市交通运输局", UnitKind.DEPARTMENT)
POLICE = Unit("police-110", "公安110指挥中心", UnitKind.EMERGENCY)
CENTRE = Unit("dispatch-center", "派单中心", UnitKind.DISPATCHER)


def test_opening_a_ticket_makes_version_one_with_a_created_event() -> None:
    change = NEW_TRIAGE.open(POLICY)
    assert (change.expected_version, change.ticket.version, change.is_creation) == (0, 1, True)
    [event] = change.events
    assert (event.kind, event.version, event.ticket_id) == (EventKind.CREATED, 1, "T1")
    assert event.detail["rule_id"] == "low-confidence"
    with pytest.raises(InvalidTransition, match="exists already"):
        change.ticket.open(POLICY)


def test_a_triage_ticket_is_sent_to_the_unit_the_dispatcher_chose() -> None:
    change = TRIAGED.dispatch_manually(ROADS, "交通运输", "D7", LATER, POLICY)
    sent = change.ticket
    assert (sent.unit, sent.category, sent.status, sent.disposition) == (
        "transport", "交通运输", TicketStatus.DISPATCHED, Disposition.DISPATCHED)
    assert (sent.rule_id, sent.version, sent.updated_at) == ("manual-dispatch", 2, LATER)
    assert "D7" in sent.route_reason
    assert "low-confidence" in sent.route_reason
    [event] = change.events
    assert (event.kind, event.actor, event.version, event.occurred_at) == (
        EventKind.DISPATCHED, "D7", 2, LATER)
    assert (event.detail["from_unit"], event.detail["unit"]) == ("dispatch-center", "transport")
    assert change.expected_version == 1


def test_without_a_category_the_tickets_own_is_kept() -> None:
    assert TRIAGED.dispatch_manually(ROADS, None, "D7", LATER, POLICY).ticket.category == "城乡建设"


def test_a_dispatcher_may_send_on_a_triage_ticket_they_claimed() -> None:
    claimed = TRIAGED.claim("dispatch-center", "D7", NOW, POLICY).ticket
    sent = claimed.dispatch_manually(ROADS, None, "D7", LATER, POLICY).ticket
    assert (sent.status, sent.claimed_by, sent.version) == (TicketStatus.DISPATCHED, None, 3)


def test_sending_to_an_emergency_line_is_a_transfer() -> None:
    change = TRIAGED.dispatch_manually(POLICE, None, "D7", LATER, POLICY, emergency_service="110")
    assert (change.ticket.status, change.ticket.disposition,
            change.ticket.emergency_service) == (
        TicketStatus.TRANSFERRED, Disposition.TRANSFERRED, "110")
    assert change.events[0].kind is EventKind.TRANSFERRED


def test_a_ticket_the_machine_dispatched_is_not_the_dispatchers_to_move() -> None:
    dispatched = dataclasses.replace(TRIAGED, disposition=Disposition.DISPATCHED,
                                     status=TicketStatus.DISPATCHED, unit="transport")
    with pytest.raises(InvalidTransition, match="not waiting for a dispatcher") as raised:
        dispatched.dispatch_manually(ROADS, None, "D7", LATER, POLICY)
    assert raised.value.current == "dispatched"


def test_a_ticket_already_sent_on_cannot_be_sent_again() -> None:
    sent = dataclasses.replace(TRIAGED, status=TicketStatus.DISPATCHED, unit="transport")
    with pytest.raises(InvalidTransition):
        sent.dispatch_manually(ROADS, None, "D7", LATER, POLICY)


def test_a_ticket_is_not_dispatched_back_to_triage() -> None:
    with pytest.raises(InvalidTransition, match="not back to triage"):
        TRIAGED.dispatch_manually(CENTRE, None, "D7", LATER, POLICY)


def test_only_the_tickets_own_unit_signs_for_it_and_only_once() -> None:
    sent = TRIAGED.dispatch_manually(ROADS, None, "D7", LATER, POLICY).ticket
    with pytest.raises(NotYourTicket):
        sent.claim("education", "someone", LATER, POLICY)
    change = sent.claim("transport", "staff-7", LATER, POLICY)
    assert (change.ticket.status, change.ticket.claimed_by, change.ticket.claimed_at) == (
        TicketStatus.CLAIMED, "staff-7", LATER)
    assert [(e.kind, e.actor) for e in change.events] == [(EventKind.CLAIMED, "staff-7")]
    with pytest.raises(InvalidTransition):
        change.ticket.claim("transport", "staff-8", LATER, POLICY)


def test_event_ids_differ_between_versions_and_repeat_for_the_same_change() -> None:
    first = TRIAGED.dispatch_manually(ROADS, None, "D7", LATER, POLICY)
    again = TRIAGED.dispatch_manually(ROADS, None, "D7", LATER, POLICY)
    assert first.events[0].event_id == again.events[0].event_id
    assert first.events[0].event_id != NEW_TRIAGE.open(POLICY).events[0].event_id


def where(message: OutboxMessage) -> list[tuple[Destination, str | None]]:
    return [(d.destination, d.target) for d in message.deliveries]


def test_a_created_ticket_goes_to_its_queue_and_is_announced() -> None:
    [message] = messages_for([NEW_TRIAGE.open(POLICY)])
    assert where(message) == [(Destination.UNIT_QUEUE, "dispatch-center"),
                              (Destination.TICKET_EVENTS, None)]
    assert message.message_id == "T1.1.0"  # the event's id
    assert len({message.dedupe_key(d) for d in message.deliveries}) == 2


def test_a_dispatched_ticket_goes_to_the_new_units_queue_and_a_transfer_to_its_line() -> None:
    [sent] = messages_for([TRIAGED.dispatch_manually(ROADS, None, "D7", LATER, POLICY)])
    assert where(sent) == [(Destination.UNIT_QUEUE, "transport"),
                           (Destination.TICKET_EVENTS, None)]
    [transferred] = messages_for([TRIAGED.dispatch_manually(POLICE, None, "D7", LATER, POLICY,
                                                            emergency_service="110")])
    assert where(transferred) == [(Destination.EMERGENCY_TRANSFERS, None),
                                  (Destination.TICKET_EVENTS, None)]
    # the line calls back
    assert transferred.deliveries[0].payload["caller_contact"] == "13800001234"


def test_signing_for_a_ticket_is_only_announced() -> None:
    sent = TRIAGED.dispatch_manually(ROADS, None, "D7", LATER, POLICY).ticket
    [message] = messages_for([sent.claim("transport", "staff-7", LATER, POLICY)])
    assert where(message) == [(Destination.TICKET_EVENTS, None)]
    assert message.deliveries[0].payload["event"] == "ticket.claimed"


def test_no_queue_entry_or_announcement_carries_the_citizens_text_or_number() -> None:
    for message in messages_for([NEW_TRIAGE.open(POLICY),
                                 TRIAGED.dispatch_manually(ROADS, None, "D7", LATER, POLICY)]):
        for delivery in message.deliveries:
            values = " ".join(str(v) for v in delivery.payload.values())
            assert "13800001234" not in values
            assert "有个问题" not in values
