"""人工分拨: what a dispatcher may do with a ticket the machine was unsure of."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest

from router.domain.errors import InvalidTransition
from router.domain.routing import Disposition, Unit, UnitKind
from router.domain.tickets import Ticket, TicketStatus, plan_manual_dispatch

NOW = datetime(2026, 11, 29, 1, 0, tzinfo=UTC)
TRIAGED = Ticket(
    ticket_id="T1", call_id="C1", hotline="12345", channel="phone", received_at=NOW,
    created_at=NOW, text="有个问题", caller_contact=None, place_text=None, area=None,
    category="城乡建设", confidence=0.41, suggested_category="城乡建设", model_version="m",
    urgency="general", emergency_service=None, disposition=Disposition.TRIAGE,
    unit="dispatch-center", rule_id="low-confidence", route_reason="unsure",
    status=TicketStatus.AWAITING_TRIAGE)
ROADS = Unit("transport", "市交通运输局", UnitKind.DEPARTMENT)
POLICE = Unit("police-110", "公安110指挥中心", UnitKind.EMERGENCY)
CENTRE = Unit("dispatch-center", "派单中心", UnitKind.DISPATCHER)


def test_a_triage_ticket_is_sent_to_the_unit_the_dispatcher_chose() -> None:
    plan = plan_manual_dispatch(TRIAGED, ROADS, "交通运输", "D7")
    assert (plan.unit, plan.category, plan.status, plan.disposition) == (
        "transport", "交通运输", TicketStatus.DISPATCHED, Disposition.DISPATCHED)
    assert plan.rule_id == "manual-dispatch"
    assert "D7" in plan.reason
    assert "low-confidence" in plan.reason


def test_without_a_category_the_tickets_own_is_kept() -> None:
    assert plan_manual_dispatch(TRIAGED, ROADS, None, "D7").category == "城乡建设"


def test_a_dispatcher_may_send_on_a_triage_ticket_they_claimed() -> None:
    claimed = dataclasses.replace(TRIAGED, status=TicketStatus.CLAIMED)
    assert plan_manual_dispatch(claimed, ROADS, None, "D7").status is TicketStatus.DISPATCHED


def test_sending_to_an_emergency_line_is_a_transfer() -> None:
    plan = plan_manual_dispatch(TRIAGED, POLICE, None, "D7", emergency_service="110")
    assert (plan.status, plan.disposition, plan.emergency_service) == (
        TicketStatus.TRANSFERRED, Disposition.TRANSFERRED, "110")


def test_a_ticket_the_machine_dispatched_is_not_the_dispatchers_to_move() -> None:
    dispatched = dataclasses.replace(TRIAGED, disposition=Disposition.DISPATCHED,
                                     status=TicketStatus.DISPATCHED, unit="transport")
    with pytest.raises(InvalidTransition, match="not waiting for a dispatcher"):
        plan_manual_dispatch(dispatched, ROADS, None, "D7")


def test_a_ticket_already_sent_on_cannot_be_sent_again() -> None:
    sent = dataclasses.replace(TRIAGED, status=TicketStatus.DISPATCHED, unit="transport")
    with pytest.raises(InvalidTransition):
        plan_manual_dispatch(sent, ROADS, None, "D7")


def test_a_ticket_is_not_dispatched_back_to_triage() -> None:
    with pytest.raises(InvalidTransition, match="not back to triage"):
        plan_manual_dispatch(TRIAGED, CENTRE, None, "D7")
