"""A ticket's whole life under the shipped SLA policy, on frozen time: signing, contact,
resolution and callback; the clocks' warnings, breaches and escalations as `tick` and the
changes notice them; returns up to a ruling, extensions, pauses over a holiday, reopening,
merging, escalation, the domain's own authorisation and what the outbox is told."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import datetime, timedelta

import pytest

from router.domain.calendars import CHINA_STANDARD_TIME
from router.domain.errors import InvalidTransition, NotYourTicket
from router.domain.outbox import Destination, OutboxMessage, messages_for
from router.domain.routing import Disposition, Unit, UnitKind
from router.domain.sla import Clock, ClockName, ClockPhase
from router.domain.tickets import (
    EventKind,
    ReturnReason,
    Satisfaction,
    Ticket,
    TicketChange,
    TicketStatus,
)
from tests.policy import POLICY

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
CENTRE_CODE = "dispatch-center"
WORKDAYS = POLICY.calendar("workdays")


def cst(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    """A moment of 2026 in China Standard Time."""
    return datetime(2026, month, day, hour, minute, tzinfo=CHINA_STANDARD_TIME)


CREATED = cst(12, 1, 9)  # a Tuesday, far from any holiday
NEW_TRIAGE = Ticket(
    ticket_id="T1", call_id="C1", hotline="12345", channel="phone", received_at=CREATED,
    created_at=CREATED, text="有个问题", caller_contact="13800001234", place_text=None,
    area=None, category="城乡建设", confidence=0.41, suggested_category="城乡建设",
    model_version="m", urgency="general", emergency_service=None,
    disposition=Disposition.TRIAGE, unit=CENTRE_CODE, rule_id="low-confidence",
    route_reason="unsure", status=TicketStatus.AWAITING_TRIAGE)
NEW_DISPATCHED = dataclasses.replace(
    NEW_TRIAGE, confidence=0.93, disposition=Disposition.DISPATCHED,
    status=TicketStatus.DISPATCHED, unit="transport", rule_id="roads-potholes",
    route_reason="keyword 路面")
ROADS = Unit("transport", "市交通运输局", UnitKind.DEPARTMENT)
CITY = Unit("urban-management", "市城市管理委员会", UnitKind.DEPARTMENT)


def new_dispatched(created: datetime = CREATED, urgency: str = "general",
                   ticket_id: str = "T1") -> Ticket:
    """A ticket the machine sent straight to transport, saved (version 1)."""
    fresh = dataclasses.replace(NEW_DISPATCHED, ticket_id=ticket_id, call_id=f"C-{ticket_id}",
                                created_at=created, received_at=created, urgency=urgency)
    return fresh.open(POLICY).ticket


def clock_of(ticket: Ticket, name: ClockName) -> Clock:
    found = ticket.clock(name)
    assert found is not None, f"{ticket.ticket_id} has no {name} clock"
    return found


def kinds(change: TicketChange) -> list[EventKind]:
    return [event.kind for event in change.events]


def levels(change: TicketChange) -> list[tuple[EventKind, str, str]]:
    return [(e.kind, e.detail["clock"], e.detail["level"]) for e in change.events]


def claimed(ticket: Ticket, at: datetime) -> Ticket:
    return ticket.claim("transport", "staff-7", at, POLICY).ticket


def contacted(ticket: Ticket, at: datetime) -> Ticket:
    return ticket.contact("transport", "staff-7", "rang the citizen", at, POLICY).ticket


def resolved(ticket: Ticket, at: datetime) -> Ticket:
    return ticket.resolve("transport", "staff-7", "pothole filled", at, POLICY).ticket


def worked_and_resolved(created: datetime = CREATED, ticket_id: str = "T1") -> Ticket:
    """Created, signed after 30 min, contacted after 1 h, resolved the next day at 09:00."""
    ticket = contacted(claimed(new_dispatched(created, ticket_id=ticket_id),
                               created + HOUR / 2), created + HOUR)
    return resolved(ticket, created + DAY)


# --- 1. the happy path -----------------------------------------------------------------------

def test_a_ticket_goes_from_creation_to_closed_with_every_clock_stopped_on_the_way() -> None:
    opened = dataclasses.replace(NEW_DISPATCHED).open(POLICY)
    assert (opened.expected_version, opened.ticket.version) == (0, 1)
    assert kinds(opened) == [EventKind.CREATED]

    sign_at = cst(12, 1, 10)
    claim = opened.ticket.claim("transport", "staff-7", sign_at, POLICY)
    assert (claim.expected_version, claim.ticket.version) == (1, 2)
    assert (claim.ticket.status, claim.ticket.claimed_by, claim.ticket.claimed_at) == (
        TicketStatus.CLAIMED, "staff-7", sign_at)
    assert [(e.kind, e.actor, e.occurred_at) for e in claim.events] == [
        (EventKind.CLAIMED, "staff-7", sign_at)]
    sign = clock_of(claim.ticket, ClockName.SIGN)
    assert (sign.phase, sign.elapsed, sign.stopped_at, sign.breached) == (
        ClockPhase.STOPPED, HOUR, sign_at, False)
    assert clock_of(claim.ticket, ClockName.FIRST_RESPONSE).is_running

    contact_at = cst(12, 1, 11)
    contact = claim.ticket.contact("transport", "staff-8", "called, will visit", contact_at,
                                   POLICY)
    assert (contact.expected_version, contact.ticket.version) == (2, 3)
    assert (contact.ticket.status, contact.ticket.first_contact_at,
            contact.ticket.responded_in_time) == (TicketStatus.CONTACTED, contact_at, True)
    [event] = contact.events
    assert (event.kind, event.actor, event.detail["first"]) == (
        EventKind.CONTACTED, "staff-8", True)
    response = clock_of(contact.ticket, ClockName.FIRST_RESPONSE)
    assert (response.phase, response.elapsed) == (ClockPhase.STOPPED, 2 * HOUR)

    resolve_at = cst(12, 3, 10)
    resolve = contact.ticket.resolve("transport", "staff-8", "pothole filled", resolve_at,
                                     POLICY)
    assert (resolve.expected_version, resolve.ticket.version) == (3, 4)
    assert (resolve.ticket.status, resolve.ticket.resolved_at) == (
        TicketStatus.RESOLVED, resolve_at)
    assert [(e.kind, e.actor) for e in resolve.events] == [(EventKind.RESOLVED, "staff-8")]
    resolution = clock_of(resolve.ticket, ClockName.RESOLUTION)
    # 1 Dec 09:00 to 3 Dec 10:00 on working days: 15 h + 24 h + 10 h
    assert (resolution.phase, resolution.elapsed, resolution.breached) == (
        ClockPhase.STOPPED, timedelta(hours=49), False)
    callback = clock_of(resolve.ticket, ClockName.CALLBACK)
    assert (callback.phase, callback.round, callback.started_at, callback.calendar) == (
        ClockPhase.RUNNING, 1, resolve_at, "workdays")
    # three working days: Thu 3 (14 h), Fri 4, Mon 7, then 10 h of Tue 8
    assert callback.due_at == cst(12, 8, 10)

    callback_at = cst(12, 4, 15)
    closing = resolve.ticket.record_callback("D7", True, True, Satisfaction.SATISFIED,
                                             "thanks", callback_at, POLICY)
    closed = closing.ticket
    assert (closing.expected_version, closed.version) == (4, 5)
    assert [(e.kind, e.actor, e.version) for e in closing.events] == [
        (EventKind.CALLED_BACK, "D7", 5), (EventKind.CLOSED, "D7", 5)]
    assert closing.events[1].detail["reason"] == "solved"
    assert (closed.status, closed.closed_at, closed.solved, closed.satisfaction,
            closed.callback_attempts) == (
        TicketStatus.CLOSED, callback_at, True, Satisfaction.SATISFIED, 1)
    assert {c.name for c in closed.clocks} == {ClockName.RESOLUTION, ClockName.SIGN,
                                              ClockName.FIRST_RESPONSE, ClockName.CALLBACK}
    assert all(c.phase is ClockPhase.STOPPED for c in closed.clocks)
    assert clock_of(closed, ClockName.CALLBACK).stopped_at == callback_at
    assert closed.next_alarm_at is None


# --- 2. due times on creation ----------------------------------------------------------------

def test_a_friday_afternoon_ticket_gets_its_resolution_due_after_seven_working_days() -> None:
    friday = cst(12, 4, 15)
    change = dataclasses.replace(NEW_DISPATCHED, created_at=friday,
                                 received_at=friday).open(POLICY)
    ticket = change.ticket
    assert {c.name for c in ticket.clocks} == {ClockName.RESOLUTION, ClockName.SIGN,
                                              ClockName.FIRST_RESPONSE}
    sign = clock_of(ticket, ClockName.SIGN)
    response = clock_of(ticket, ClockName.FIRST_RESPONSE)
    resolution = clock_of(ticket, ClockName.RESOLUTION)
    # the unit's clocks run 7×24 through the weekend
    assert (sign.calendar, sign.target, sign.due_at) == ("24x7", 2 * HOUR, cst(12, 4, 17))
    assert (response.calendar, response.target, response.due_at) == (
        "24x7", DAY, cst(12, 5, 15))
    # Fri 9 h, then Mon 7 … Fri 11, Mon 14 and 15 h of Tue 15: seven working days
    assert (resolution.calendar, resolution.target, resolution.due_at) == (
        "workdays", 7 * DAY, cst(12, 15, 15))
    for clock in (sign, response, resolution):
        assert (clock.phase, clock.round, clock.started_at, clock.elapsed,
                clock.original_due_at) == (ClockPhase.RUNNING, 1, friday, timedelta(0),
                                           clock.due_at)
    assert change.events[0].detail["due"] == {
        "resolution": cst(12, 15, 15).isoformat(), "sign": cst(12, 4, 17).isoformat(),
        "first_response": cst(12, 5, 15).isoformat()}
    # the earliest level: the sign clock's 70 % warning, 84 minutes in
    assert ticket.next_alarm_at == cst(12, 4, 16, 24)


# --- 3. warnings and breach through tick -------------------------------------------------------

def test_tick_warns_at_seventy_eighty_ninety_percent_and_breaches_the_sign_clock_once() -> None:
    ticket = new_dispatched()
    assert ticket.next_alarm_at == cst(12, 1, 10, 24)
    assert ticket.tick(cst(12, 1, 10, 23), POLICY) is None

    seen: list[str] = []
    alarms = [ticket.next_alarm_at]
    for moment, level, alarm_after in [
            (cst(12, 1, 10, 24), "warning:70", cst(12, 1, 10, 36)),
            (cst(12, 1, 10, 40), "warning:80", cst(12, 1, 10, 48)),
            (cst(12, 1, 10, 50), "warning:90", cst(12, 1, 11)),
            # after the breach: the first-response clock's 70 % warning, 16 h 48 min in
            (cst(12, 1, 11, 5), "breach", cst(12, 2, 1, 48))]:
        change = ticket.tick(moment, POLICY)
        assert change is not None
        kind = EventKind.SLA_BREACHED if level == "breach" else EventKind.SLA_WARNING
        assert levels(change) == [(kind, "sign", level)]
        assert change.expected_version == ticket.version
        assert change.events[0].actor is None
        ticket = change.ticket
        seen.append(level)
        assert ticket.next_alarm_at == alarm_after
        previous = alarms[-1]
        assert previous is not None
        assert alarm_after > previous
        alarms.append(alarm_after)
        # ticking again at the same moment, or a little later, finds nothing new
        assert ticket.tick(moment, POLICY) is None
        assert ticket.tick(moment + timedelta(minutes=1), POLICY) is None
        if level == "warning:70":
            assert ticket.responded_in_time is None

    assert seen == ["warning:70", "warning:80", "warning:90", "breach"]
    assert ticket.version == 5
    sign = clock_of(ticket, ClockName.SIGN)
    assert sign.crossed == ("warning:70", "warning:80", "warning:90", "breach")
    assert sign.breached_at == cst(12, 1, 11)
    assert ticket.responded_in_time is False
    assert ticket.status is TicketStatus.DISPATCHED


def test_a_breach_noticed_late_happened_at_the_due_time() -> None:
    ticket = new_dispatched()
    for moment in (cst(12, 1, 10, 30), cst(12, 1, 10, 45), cst(12, 1, 10, 55)):
        change = ticket.tick(moment, POLICY)
        assert change is not None
        ticket = change.ticket
    noticed = cst(12, 1, 11, 40)
    change = ticket.tick(noticed, POLICY)
    assert change is not None
    [event] = change.events
    assert (event.kind, event.occurred_at, event.detail["crossed_at"], event.detail["due_at"]) == (
        EventKind.SLA_BREACHED, cst(12, 1, 11), cst(12, 1, 11).isoformat(),
        cst(12, 1, 11).isoformat())
    assert change.ticket.updated_at == noticed


# --- 4. a worker that was down -----------------------------------------------------------------

def test_one_late_tick_reports_every_level_crossed_in_order_with_its_own_moment() -> None:
    friday = cst(12, 4, 9)
    ticket = new_dispatched(friday, urgency="2h")
    resolution = clock_of(ticket, ClockName.RESOLUTION)
    assert (resolution.calendar, resolution.target, resolution.due_at) == (
        "24x7", 2 * HOUR, cst(12, 4, 11))

    # the next morning, 1 h before the first escalation step (1 d of 24x7 time after breach)
    early = ticket.tick(cst(12, 5, 10), POLICY)
    assert early is not None
    expected = [
        ("sign", "warning:70", cst(12, 4, 9, 21)), ("sign", "warning:80", cst(12, 4, 9, 24)),
        ("sign", "warning:90", cst(12, 4, 9, 27)), ("sign", "breach", cst(12, 4, 9, 30)),
        ("first_response", "warning:70", cst(12, 4, 9, 42)),
        ("first_response", "warning:80", cst(12, 4, 9, 48)),
        ("first_response", "warning:90", cst(12, 4, 9, 54)),
        ("first_response", "breach", cst(12, 4, 10)),
        ("resolution", "warning:70", cst(12, 4, 10, 24)),
        ("resolution", "warning:80", cst(12, 4, 10, 36)),
        ("resolution", "warning:90", cst(12, 4, 10, 48)),
        ("resolution", "breach", cst(12, 4, 11))]
    assert [(e.detail["clock"], e.detail["level"], e.occurred_at)
            for e in early.events] == expected
    assert [e.event_id for e in early.events] == [f"T1.2.{i}" for i in range(12)]
    assert early.ticket.escalation_level == 0
    assert early.ticket.resolution_breached_at == cst(12, 4, 11)
    # the first step is due on Saturday (24x7), not on the next working day
    assert early.ticket.next_alarm_at == cst(12, 5, 11)

    # the same ticket, ticked only once, well after the first step
    change = ticket.tick(cst(12, 5, 12), POLICY)
    assert change is not None
    assert [(e.detail["clock"], e.detail["level"], e.occurred_at) for e in change.events] == [
        *expected, ("resolution", "escalation:1", cst(12, 5, 11))]
    assert kinds(change) == [
        *[EventKind.SLA_WARNING] * 3, EventKind.SLA_BREACHED,
        *[EventKind.SLA_WARNING] * 3, EventKind.SLA_BREACHED,
        *[EventKind.SLA_WARNING] * 3, EventKind.SLA_BREACHED, EventKind.SLA_ESCALATED]
    after = change.ticket
    assert (after.version, after.escalation_level, after.responded_in_time) == (2, 1, False)
    assert clock_of(after, ClockName.RESOLUTION).crossed[-1] == "escalation:1"
    # the second step, 3 d after the breach
    assert after.next_alarm_at == cst(12, 7, 11)
    assert after.tick(cst(12, 6, 12), POLICY) is None


# --- 5. returns up to a ruling -----------------------------------------------------------------

def test_returns_ping_pong_until_a_ruling_fixes_the_unit() -> None:
    sent = NEW_TRIAGE.open(POLICY).ticket.dispatch_manually(
        ROADS, None, "D7", cst(12, 1, 9, 10), POLICY).ticket
    resolution_before = clock_of(sent, ClockName.RESOLUTION)
    assert clock_of(sent, ClockName.DISPATCH).phase is ClockPhase.STOPPED

    first = sent.return_to_dispatcher("transport", "staff-7", ReturnReason.WRONG_PLACE, None,
                                      CENTRE_CODE, cst(12, 1, 9, 20), POLICY)
    back = first.ticket
    assert (back.status, back.unit, back.returned_from, back.return_count,
            back.disposition) == (
        TicketStatus.RETURNED, CENTRE_CODE, "transport", 1, Disposition.TRIAGE)
    [event] = first.events
    assert (event.kind, event.actor, event.detail["reason_code"], event.detail["returns"],
            event.detail["needs_ruling"]) == (
        EventKind.RETURNED, "staff-7", "wrong_place", 1, False)
    dispatch = clock_of(back, ClockName.DISPATCH)
    assert (dispatch.phase, dispatch.round, dispatch.started_at, dispatch.due_at) == (
        ClockPhase.RUNNING, 2, cst(12, 1, 9, 20), cst(12, 1, 9, 50))
    assert clock_of(back, ClockName.SIGN).phase is ClockPhase.STOPPED
    assert clock_of(back, ClockName.FIRST_RESPONSE).phase is ClockPhase.STOPPED

    again = back.dispatch_manually(CITY, None, "D7", cst(12, 1, 9, 30), POLICY).ticket
    assert (again.status, again.unit) == (TicketStatus.DISPATCHED, "urban-management")
    for name, due in ((ClockName.SIGN, cst(12, 1, 11, 30)),
                      (ClockName.FIRST_RESPONSE, cst(12, 2, 9, 30))):
        clock = clock_of(again, name)
        assert (clock.phase, clock.round, clock.started_at, clock.due_at) == (
            ClockPhase.RUNNING, 2, cst(12, 1, 9, 30), due)
    assert clock_of(again, ClockName.DISPATCH).phase is ClockPhase.STOPPED
    resolution = clock_of(again, ClockName.RESOLUTION)
    assert (resolution.phase, resolution.round, resolution.started_at, resolution.due_at,
            resolution.original_due_at) == (
        ClockPhase.RUNNING, 1, CREATED, resolution_before.due_at,
        resolution_before.original_due_at)
    assert resolution.original_due_at == cst(12, 10, 9)

    second = again.return_to_dispatcher("urban-management", "staff-9",
                                        ReturnReason.UNCLEAR_OWNERSHIP, None, CENTRE_CODE,
                                        cst(12, 1, 9, 40), POLICY)
    disputed = second.ticket
    assert (disputed.status, disputed.return_count, disputed.unit,
            disputed.returned_from) == (
        TicketStatus.AWAITING_RULING, 2, CENTRE_CODE, "urban-management")
    assert second.events[0].detail["needs_ruling"] is True
    with pytest.raises(InvalidTransition, match="ruling") as refused:
        disputed.dispatch_manually(ROADS, None, "D7", cst(12, 1, 9, 45), POLICY)
    assert refused.value.current == "awaiting_ruling"

    ruling = disputed.rule(ROADS, "D8", "the road is the city's", cst(12, 1, 9, 50), POLICY)
    ruled = ruling.ticket
    assert (ruled.status, ruled.unit, ruled.ruled_unit, ruled.rule_id) == (
        TicketStatus.DISPATCHED, "transport", "transport", "ruling")
    assert [(e.kind, e.actor) for e in ruling.events] == [(EventKind.RULED, "D8")]
    assert clock_of(ruled, ClockName.SIGN).round == 3
    with pytest.raises(InvalidTransition, match="ruled") as no_more:
        ruled.return_to_dispatcher("transport", "staff-7", ReturnReason.WRONG_PLACE, None,
                                   CENTRE_CODE, cst(12, 1, 10), POLICY)
    assert no_more.value.current == "dispatched"


def test_a_return_for_another_reason_must_say_why() -> None:
    ticket = new_dispatched()
    for blank in (None, "", "   "):
        with pytest.raises(InvalidTransition, match="must say why"):
            ticket.return_to_dispatcher("transport", "staff-7", ReturnReason.OTHER, blank,
                                        CENTRE_CODE, cst(12, 1, 9, 30), POLICY)
    explained = ticket.return_to_dispatcher("transport", "staff-7", ReturnReason.OTHER,
                                            "not a road", CENTRE_CODE, cst(12, 1, 9, 30),
                                            POLICY)
    assert explained.ticket.status is TicketStatus.RETURNED


# --- 6. extensions -------------------------------------------------------------------------------

def test_an_extension_moves_the_due_time_once_granted_and_keeps_the_original() -> None:
    ticket = contacted(claimed(new_dispatched(), cst(12, 1, 9, 30)), cst(12, 1, 10))
    original_due = cst(12, 10, 9)
    assert clock_of(ticket, ClockName.RESOLUTION).due_at == original_due

    with pytest.raises(InvalidTransition, match="later than the current one"):
        ticket.request_extension("transport", "staff-7", "parts", cst(12, 9, 9),
                                 cst(12, 2, 10), POLICY)
    with pytest.raises(InvalidTransition, match="later than the current one"):
        ticket.request_extension("transport", "staff-7", "parts", original_due,
                                 cst(12, 2, 10), POLICY)

    new_due = cst(12, 17, 9)
    asked = ticket.request_extension("transport", "staff-7", "waiting for parts", new_due,
                                     cst(12, 2, 10), POLICY)
    request = asked.ticket.extension_request
    assert request is not None
    assert (request.due_at, request.requested_by, request.requested_at, request.reason) == (
        new_due, "staff-7", cst(12, 2, 10), "waiting for parts")
    [event] = asked.events
    assert (event.kind, event.detail["due_at"], event.detail["current_due_at"]) == (
        EventKind.EXTENSION_REQUESTED, new_due.isoformat(), original_due.isoformat())
    assert clock_of(asked.ticket, ClockName.RESOLUTION).due_at == original_due
    with pytest.raises(InvalidTransition, match="already waiting"):
        asked.ticket.request_extension("transport", "staff-7", "more", cst(12, 18, 9),
                                       cst(12, 2, 11), POLICY)

    granted = asked.ticket.decide_extension(True, "D7", "ok", cst(12, 2, 11), POLICY)
    resolution = clock_of(granted.ticket, ClockName.RESOLUTION)
    assert (resolution.due_at, resolution.original_due_at, resolution.target,
            resolution.phase) == (new_due, original_due, 12 * DAY, ClockPhase.RUNNING)
    assert granted.ticket.extension_request is None
    assert [(e.kind, e.actor) for e in granted.events] == [(EventKind.EXTENSION_GRANTED, "D7")]
    # the warnings now follow the longer target: 70 % of 12 working days from 1 Dec 09:00
    assert granted.ticket.next_alarm_at == WORKDAYS.add(CREATED, 12 * DAY * 0.7)

    refused = asked.ticket.decide_extension(False, "D7", "no", cst(12, 2, 11), POLICY)
    assert refused.ticket.extension_request is None
    assert clock_of(refused.ticket, ClockName.RESOLUTION).due_at == original_due
    assert clock_of(refused.ticket, ClockName.RESOLUTION).target == 7 * DAY
    assert kinds(refused) == [EventKind.EXTENSION_REFUSED]
    with pytest.raises(InvalidTransition, match="no extension request"):
        refused.ticket.decide_extension(True, "D7", None, cst(12, 2, 12), POLICY)


def test_an_extension_cannot_be_asked_for_after_the_resolution_breach() -> None:
    ticket = contacted(claimed(new_dispatched(), cst(12, 1, 9, 30)), cst(12, 1, 10))
    with pytest.raises(InvalidTransition, match="deadline has passed") as refused:
        ticket.request_extension("transport", "staff-7", "late", cst(12, 17, 9),
                                 cst(12, 10, 9, 1), POLICY)
    assert refused.value.current == "contacted"


# --- 7. a pause across a holiday -----------------------------------------------------------------

def test_a_pause_over_national_day_moves_the_due_time_by_the_working_time_paused() -> None:
    created = cst(9, 29, 9)  # Tuesday before the National Day holiday (1–7 Oct)
    ticket = contacted(claimed(new_dispatched(created), cst(9, 29, 9, 30)), cst(9, 29, 10))
    due_before = clock_of(ticket, ClockName.RESOLUTION).due_at
    # Tue 29 (15 h), Wed 30, Thu 8, Fri 9, Sat 10 (调休), Mon 12, Tue 13 and 9 h of Wed 14
    assert due_before == cst(10, 14, 9)

    paused_at, resumed_at = cst(9, 30, 10), cst(10, 9, 10)
    suspension = ticket.suspend("transport", "staff-7", "citizen abroad", paused_at, POLICY)
    paused = suspension.ticket
    assert (paused.status, paused.suspended_from) == (
        TicketStatus.SUSPENDED, TicketStatus.CONTACTED)
    assert [(e.kind, e.actor) for e in suspension.events] == [(EventKind.SUSPENDED, "staff-7")]
    resolution = clock_of(paused, ClockName.RESOLUTION)
    assert (resolution.phase, resolution.due_at, resolution.running_since,
            resolution.elapsed) == (ClockPhase.PAUSED, None, None, timedelta(hours=25))
    assert paused.next_alarm_at is None
    # nothing counts while it waits, not even a long wait
    assert paused.tick(cst(10, 20, 9), POLICY) is None

    resumption = paused.resume("transport", "staff-7", resumed_at, POLICY)
    back = resumption.ticket
    assert (back.status, back.suspended_from) == (TicketStatus.CONTACTED, None)
    assert kinds(resumption) == [EventKind.RESUMED]
    paused_working_time = WORKDAYS.elapsed(paused_at, resumed_at)
    assert paused_working_time == timedelta(hours=48)  # 14 h of 30 Sep, 8 Oct, 10 h of 9 Oct
    resolution = clock_of(back, ClockName.RESOLUTION)
    assert resolution.due_at == WORKDAYS.add(due_before, paused_working_time)
    assert resolution.due_at == cst(10, 16, 9)
    assert (resolution.phase, resolution.running_since, resolution.elapsed) == (
        ClockPhase.RUNNING, resumed_at, timedelta(hours=25))
    # 70 % of seven working days, 117.6 h, of which 25 h were spent before the pause
    assert back.next_alarm_at == cst(10, 14, 6, 36)

    with pytest.raises(InvalidTransition, match="not suspended") as refused:
        back.resume("transport", "staff-7", cst(10, 9, 11), POLICY)
    assert refused.value.current == "contacted"


# --- 8. reopening and unreached callbacks ------------------------------------------------------

def test_an_unsatisfied_citizen_reopens_the_ticket_for_the_same_unit() -> None:
    ticket = worked_and_resolved()  # resolved 2 Dec 09:00, 24 working hours in
    assert clock_of(ticket, ClockName.RESOLUTION).elapsed == DAY
    callback_at = cst(12, 3, 9)
    reopening = ticket.record_callback("D7", True, False, Satisfaction.UNSATISFIED,
                                       "still broken", callback_at, POLICY)
    reopened = reopening.ticket
    assert (reopened.status, reopened.unit, reopened.reopen_count, reopened.claimed_by) == (
        TicketStatus.DISPATCHED, "transport", 1, None)
    assert [(e.kind, e.actor) for e in reopening.events] == [
        (EventKind.CALLED_BACK, "D7"), (EventKind.REOPENED, "D7")]
    assert (reopening.events[1].detail["unit"], reopening.events[1].detail["reopens"],
            reopening.events[1].detail["why"]) == ("transport", 1, "not solved")
    resolution = clock_of(reopened, ClockName.RESOLUTION)
    # as though it had never stopped: the day since the resolution counts
    assert (resolution.phase, resolution.stopped_at, resolution.due_at) == (
        ClockPhase.RUNNING, None, cst(12, 10, 9))
    assert resolution.elapsed_at(callback_at, WORKDAYS) == 2 * DAY
    for name, due in ((ClockName.SIGN, cst(12, 3, 11)),
                      (ClockName.FIRST_RESPONSE, cst(12, 4, 9))):
        clock = clock_of(reopened, name)
        assert (clock.phase, clock.round, clock.started_at, clock.due_at) == (
            ClockPhase.RUNNING, 2, callback_at, due)
    assert clock_of(reopened, ClockName.CALLBACK).phase is ClockPhase.STOPPED

    again = resolved(contacted(claimed(reopened, cst(12, 3, 10)), cst(12, 3, 11)),
                     cst(12, 4, 9))
    assert clock_of(again, ClockName.RESOLUTION).elapsed == 3 * DAY
    assert clock_of(again, ClockName.CALLBACK).round == 2
    closing = again.record_callback("D7", True, True, Satisfaction.BASICALLY_SATISFIED, None,
                                    cst(12, 7, 9), POLICY)
    assert closing.ticket.status is TicketStatus.CLOSED
    assert kinds(closing) == [EventKind.CALLED_BACK, EventKind.CLOSED]
    assert (closing.ticket.reopen_count, closing.ticket.callback_attempts) == (1, 2)


def test_solved_but_unsatisfied_also_reopens() -> None:
    change = worked_and_resolved().record_callback("D7", True, True, Satisfaction.UNSATISFIED,
                                                   None, cst(12, 3, 9), POLICY)
    assert change.ticket.status is TicketStatus.DISPATCHED
    assert change.events[-1].detail["why"] == "not satisfied"


def test_a_ticket_reopened_after_its_due_time_notices_the_breach_in_the_same_change() -> None:
    # resolved on 9 Dec, due 10 Dec 09:00, called back unsatisfied on 11 Dec 09:00: the
    # resolution clock carries on from 9 Dec, so its 90 % warning, the breach and the first
    # escalation step (1 working day later) were crossed meanwhile.
    ticket = contacted(claimed(new_dispatched(), cst(12, 1, 9, 30)), cst(12, 1, 10))
    ticket = resolved(ticket, cst(12, 9, 9))
    change = ticket.record_callback("D7", True, False, Satisfaction.UNSATISFIED, None,
                                    cst(12, 11, 9), POLICY)
    reopened = change.ticket
    assert reopened.resolution_breached_at == cst(12, 10, 9)
    assert [(e.kind, e.detail.get("level")) for e in change.events
            if e.kind in (EventKind.SLA_WARNING, EventKind.SLA_BREACHED,
                          EventKind.SLA_ESCALATED)] == [
        (EventKind.SLA_WARNING, "warning:90"), (EventKind.SLA_BREACHED, "breach"),
        (EventKind.SLA_ESCALATED, "escalation:1")]
    assert reopened.escalation_level == 1
    assert reopened.next_alarm_at is not None
    assert reopened.next_alarm_at > cst(12, 11, 9)


def test_three_unanswered_callbacks_close_the_ticket_unreached() -> None:
    ticket = worked_and_resolved()
    for attempt, moment in enumerate((cst(12, 3, 9), cst(12, 3, 15)), start=1):
        change = ticket.record_callback("D7", False, None, None, None, moment, POLICY)
        ticket = change.ticket
        assert (ticket.status, ticket.callback_attempts) == (TicketStatus.RESOLVED, attempt)
        assert kinds(change) == [EventKind.CALLED_BACK]
        assert change.events[0].detail["attempt"] == attempt
    last = ticket.record_callback("D7", False, None, None, None, cst(12, 4, 9), POLICY)
    assert (last.ticket.status, last.ticket.callback_attempts, last.ticket.closed_at) == (
        TicketStatus.CLOSED, 3, cst(12, 4, 9))
    assert kinds(last) == [EventKind.CALLED_BACK, EventKind.CLOSED]
    assert last.events[1].detail["reason"] == "citizen not reached"
    assert all(c.phase is ClockPhase.STOPPED for c in last.ticket.clocks)


def test_a_callback_that_reached_the_citizen_must_say_solved_and_satisfaction() -> None:
    ticket = worked_and_resolved()
    for solved, satisfaction in ((None, Satisfaction.SATISFIED), (True, None), (None, None)):
        with pytest.raises(InvalidTransition, match="whether it was solved") as refused:
            ticket.record_callback("D7", True, solved, satisfaction, None, cst(12, 3, 9),
                                   POLICY)
        assert refused.value.current == "resolved"


# --- 9. merging duplicates ---------------------------------------------------------------------

def test_a_duplicate_is_merged_into_the_original_which_counts_it() -> None:
    original = new_dispatched(ticket_id="T-ORIG")
    duplicate = claimed(new_dispatched(cst(12, 1, 9, 20), ticket_id="T-DUP"),
                        cst(12, 1, 9, 25))
    at = cst(12, 1, 9, 40)
    merged, attached = duplicate.merge_into(original, "D7", at, POLICY)
    assert (merged.ticket.status, merged.ticket.merged_into) == (TicketStatus.MERGED, "T-ORIG")
    assert all(c.phase is ClockPhase.STOPPED for c in merged.ticket.clocks)
    assert merged.ticket.next_alarm_at is None
    assert [(e.kind, e.actor, e.detail["into"]) for e in merged.events] == [
        (EventKind.MERGED, "D7", "T-ORIG")]
    assert (merged.expected_version, merged.ticket.version) == (2, 3)

    assert (attached.ticket.status, attached.ticket.duplicate_count) == (
        TicketStatus.DISPATCHED, 1)
    assert (attached.expected_version, attached.ticket.version) == (1, 2)
    assert [(e.kind, e.detail["ticket_id"], e.detail["duplicates"])
            for e in attached.events] == [(EventKind.DUPLICATE_ATTACHED, "T-DUP", 1)]
    assert clock_of(attached.ticket, ClockName.SIGN).is_running

    with pytest.raises(InvalidTransition, match="itself"):
        duplicate.merge_into(duplicate, "D7", at, POLICY)
    closed = worked_and_resolved(ticket_id="T-CLOSED").record_callback(
        "D7", True, True, Satisfaction.SATISFIED, None, cst(12, 3, 9), POLICY).ticket
    with pytest.raises(InvalidTransition, match="merge into an open ticket") as refused:
        duplicate.merge_into(closed, "D7", cst(12, 3, 10), POLICY)
    assert refused.value.current == "claimed"


# --- 10. escalation by a dispatcher ------------------------------------------------------------

def test_a_dispatcher_escalates_an_open_ticket_but_not_a_closed_one() -> None:
    ticket = new_dispatched()
    first = ticket.escalate("D7", "press enquiry", cst(12, 1, 9, 10), POLICY)
    assert first.ticket.escalation_level == 1
    assert [(e.kind, e.actor, e.detail["level"]) for e in first.events] == [
        (EventKind.ESCALATED, "D7", 1)]
    second = first.ticket.escalate("D8", "mayor's office", cst(12, 1, 9, 20), POLICY)
    assert second.ticket.escalation_level == 2
    assert second.events[0].detail["level"] == 2
    assert second.ticket.status is TicketStatus.DISPATCHED

    closed = worked_and_resolved().record_callback(
        "D7", True, True, Satisfaction.SATISFIED, None, cst(12, 3, 9), POLICY).ticket
    with pytest.raises(InvalidTransition) as refused:
        closed.escalate("D7", "too late", cst(12, 3, 10), POLICY)
    assert refused.value.current == "closed"


# --- 11. the domain's own authorisation ----------------------------------------------------------

def test_a_unit_cannot_act_on_another_units_ticket() -> None:
    dispatched = new_dispatched()
    signed = claimed(dispatched, cst(12, 1, 9, 30))
    suspended = signed.suspend("transport", "staff-7", "waiting", cst(12, 1, 10), POLICY).ticket
    at, other = cst(12, 1, 11), "urban-management"
    actions: list[Callable[[], TicketChange]] = [
        lambda: dispatched.claim(other, "x", at, POLICY),
        lambda: signed.contact(other, "x", "note", at, POLICY),
        lambda: signed.resolve(other, "x", "reply", at, POLICY),
        lambda: signed.request_extension(other, "x", "why", cst(12, 20, 9), at, POLICY),
        lambda: signed.return_to_dispatcher(other, "x", ReturnReason.WRONG_PLACE, None,
                                            CENTRE_CODE, at, POLICY),
        lambda: signed.suspend(other, "x", "why", at, POLICY),
        lambda: suspended.resume(other, "x", at, POLICY),
    ]
    for action in actions:
        with pytest.raises(NotYourTicket, match="not unit urban-management's"):
            action()
    # the unit's own actions go through
    assert suspended.resume("transport", "staff-7", at, POLICY).ticket.status is (
        TicketStatus.CLAIMED)


# --- 12. illegal transitions -----------------------------------------------------------------

def test_an_illegal_transition_names_the_current_status() -> None:
    dispatched = new_dispatched()
    signed = claimed(dispatched, cst(12, 1, 9, 30))
    done = worked_and_resolved(ticket_id="T2")
    at = cst(12, 3, 9)
    with pytest.raises(InvalidTransition, match="dispatched cannot become resolved") as first:
        dispatched.resolve("transport", "staff-7", "reply", at, POLICY)
    assert first.value.current == "dispatched"
    with pytest.raises(InvalidTransition, match="resolved cannot become contacted") as second:
        done.contact("transport", "staff-7", "note", at, POLICY)
    assert second.value.current == "resolved"
    with pytest.raises(InvalidTransition, match="not waiting for a callback") as third:
        signed.record_callback("D7", True, True, Satisfaction.SATISFIED, None, at, POLICY)
    assert third.value.current == "claimed"
    with pytest.raises(InvalidTransition) as fourth:
        signed.claim("transport", "staff-8", at, POLICY)
    assert fourth.value.current == "claimed"


# --- 13. what the outbox is told -------------------------------------------------------------

def where(message: OutboxMessage) -> list[tuple[Destination, str | None]]:
    return [(d.destination, d.target) for d in message.deliveries]


def queue_entries(messages: list[OutboxMessage]) -> list[str | None]:
    return [d.target for m in messages for d in m.deliveries
            if d.destination is Destination.UNIT_QUEUE]


def test_a_return_goes_to_the_centres_queue_and_a_reopening_to_the_units() -> None:
    returned = new_dispatched().return_to_dispatcher(
        "transport", "staff-7", ReturnReason.WRONG_PLACE, "not our road", CENTRE_CODE,
        cst(12, 1, 9, 30), POLICY)
    [message] = messages_for([returned])
    assert where(message) == [(Destination.UNIT_QUEUE, CENTRE_CODE),
                              (Destination.TICKET_EVENTS, None)]
    announced = message.deliveries[1].payload
    assert announced["event"] == "ticket.returned"
    assert announced["detail"] == {"reason_code": "wrong_place", "returns": 1,
                                   "needs_ruling": False, "from_unit": "transport"}

    reopened = worked_and_resolved().record_callback(
        "D7", True, False, Satisfaction.UNSATISFIED, "citizen says 张三 still waits",
        cst(12, 3, 9), POLICY)
    messages = messages_for([reopened])
    assert [where(m) for m in messages] == [
        [(Destination.TICKET_EVENTS, None)],
        [(Destination.UNIT_QUEUE, "transport"), (Destination.TICKET_EVENTS, None)]]
    assert queue_entries(messages) == ["transport"]
    assert "张三" not in str([d.payload for m in messages for d in m.deliveries])


def test_sla_levels_are_only_announced_with_clock_and_level_but_no_typed_text() -> None:
    ticket = claimed(new_dispatched(), cst(12, 1, 9, 30))
    tick = ticket.tick(cst(12, 2, 8), POLICY)  # first response: 70 %, 80 % and 90 %
    assert tick is not None
    # contacted late, with a note; the same change notices the first-response breach
    late = tick.ticket.contact("transport", "staff-7", "NOTE 王女士 住3号楼",
                               cst(12, 2, 10), POLICY)
    assert kinds(late) == [EventKind.SLA_BREACHED, EventKind.CONTACTED]
    assert late.ticket.responded_in_time is False
    # resolved with a reply after the resolution breach
    done = late.ticket.resolve("transport", "staff-7", "REPLY 已修复 王女士家门口",
                               cst(12, 10, 10), POLICY)
    assert kinds(done) == [*[EventKind.SLA_WARNING] * 3, EventKind.SLA_BREACHED,
                           EventKind.RESOLVED]

    changes = [tick, late, done]
    messages = messages_for(changes)
    events = [e for c in changes for e in c.events]
    assert len(messages) == len(events) == 10
    for message, event in zip(messages, events, strict=True):
        assert where(message) == [(Destination.TICKET_EVENTS, None)]
        payload = message.deliveries[0].payload
        detail = payload["detail"]
        everything = str(payload)
        assert "NOTE" not in everything
        assert "REPLY" not in everything
        assert "王女士" not in everything
        if event.kind in (EventKind.SLA_WARNING, EventKind.SLA_BREACHED):
            assert (detail["clock"], detail["level"]) == (event.detail["clock"],
                                                          event.detail["level"])
            assert detail["crossed_at"] == event.occurred_at.isoformat()
            assert payload["event"] == f"ticket.{event.kind.value}"
            assert "note" not in detail
            assert "reply" not in detail
    assert [(m.deliveries[0].payload["detail"]["clock"],
             m.deliveries[0].payload["detail"]["level"]) for m in messages[:3]] == [
        ("first_response", "warning:70"), ("first_response", "warning:80"),
        ("first_response", "warning:90")]
    assert [(m.deliveries[0].payload["detail"]["clock"],
             m.deliveries[0].payload["detail"]["level"]) for m in messages[5:9]] == [
        ("resolution", "warning:70"), ("resolution", "warning:80"),
        ("resolution", "warning:90"), ("resolution", "breach")]


# --- invariants the changes above rely on ------------------------------------------------------

@pytest.mark.parametrize("action", ["contact", "claim"])
def test_a_suspended_ticket_leaves_suspension_only_with_its_clocks_running_again(
        action: str) -> None:
    # Contacting or signing for a suspended ticket may be refused, or may end the pause; it
    # must not leave a working ticket whose citizen's clock stays paused for good.
    ticket = claimed(new_dispatched(), cst(12, 1, 9, 30))
    suspended = ticket.suspend("transport", "staff-7", "waiting", cst(12, 1, 10), POLICY).ticket
    at = cst(12, 1, 11)
    refused: InvalidTransition | None = None
    try:
        if action == "contact":
            after = suspended.contact("transport", "staff-7", "reached", at, POLICY).ticket
        else:
            after = suspended.claim("transport", "staff-8", at, POLICY).ticket
    except InvalidTransition as error:
        refused = error
    if refused is not None:
        assert refused.current == "suspended"
        return
    assert after.status is not TicketStatus.SUSPENDED
    assert after.suspended_from is None
    assert [c.name for c in after.clocks if c.phase is ClockPhase.PAUSED] == []
    assert clock_of(after, ClockName.RESOLUTION).due_at is not None
    assert after.next_alarm_at is not None


def test_an_extension_of_a_suspended_ticket_must_be_later_than_the_time_it_has_left() -> None:
    # suspended 2 Dec 09:00 after 24 working hours: 144 h are left, so even resumed at once
    # it would be due no earlier than 10 Dec; 3 Dec is no extension at all.
    ticket = contacted(claimed(new_dispatched(), cst(12, 1, 9, 30)), cst(12, 1, 10))
    suspended = ticket.suspend("transport", "staff-7", "waiting", cst(12, 2, 9), POLICY).ticket
    with pytest.raises(InvalidTransition, match="later than the current one") as refused:
        suspended.request_extension("transport", "staff-7", "parts", cst(12, 3, 9),
                                    cst(12, 2, 10), POLICY)
    assert refused.value.current == "suspended"


def test_a_merged_ticket_takes_no_extension_decision() -> None:
    ticket = contacted(claimed(new_dispatched(ticket_id="T-DUP"), cst(12, 1, 9, 30)),
                       cst(12, 1, 10))
    asked = ticket.request_extension("transport", "staff-7", "parts", cst(12, 17, 9),
                                     cst(12, 2, 10), POLICY).ticket
    merged, _ = asked.merge_into(new_dispatched(ticket_id="T-ORIG"), "D7", cst(12, 2, 11),
                                 POLICY)
    with pytest.raises(InvalidTransition) as refused:
        merged.ticket.decide_extension(True, "D7", None, cst(12, 2, 12), POLICY)
    assert refused.value.current == "merged"
