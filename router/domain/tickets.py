"""The ticket (工单) as an aggregate: every change is a method that checks the transition,
returns the domain events it causes and bumps the version used for optimistic concurrency.

Its life (接诉即办): created → dispatched → signed for (签收) → citizen contacted → resolved
(办结) → called back (回访) → closed, with returns to the dispatcher (退单) up to a ruling (审定),
extensions (延期), pauses while waiting for the citizen (挂起), reopening when the citizen is not
satisfied, merging of duplicates and escalation (督办). Each change first settles the ticket's
SLA clocks up to its moment, so every warning, breach and escalation the clocks crossed is an
event of that change, once.

Nothing here does I/O. A change is saved as one unit (ticket row, events, outbox entries) by
the ticket store, conditional on the version the change started from.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from router.domain import sla
from router.domain.calls import CallRecord
from router.domain.errors import InvalidTransition, NotYourTicket
from router.domain.routing import Disposition, Unit, UnitKind
from router.domain.sla import BREACH, Clock, ClockName, ClockPhase, Crossing, SlaPolicy


class TicketStatus(StrEnum):
    AWAITING_TRIAGE = "awaiting_triage"  # 待人工分拨
    DISPATCHED = "dispatched"  # 已派单: waiting in the unit's queue
    TRANSFERRED = "transferred"  # 已转 110/119/120/122
    CLAIMED = "claimed"  # 已签收 by someone in the unit
    CONTACTED = "contacted"  # the unit has reached the citizen
    SUSPENDED = "suspended"  # 挂起: waiting for the citizen
    RETURNED = "returned"  # 退单: back with the dispatchers
    AWAITING_RULING = "awaiting_ruling"  # returned too often: a dispatcher must rule (审定)
    RESOLVED = "resolved"  # 办结: waiting for the callback
    CLOSED = "closed"
    MERGED = "merged"  # a duplicate, attached to another ticket


# Where a ticket is no longer anyone's work.
FINAL_STATUSES = frozenset({TicketStatus.TRANSFERRED, TicketStatus.CLOSED, TicketStatus.MERGED})
# Where the unit holding it still owes the citizen a solution.
UNRESOLVED_STATUSES = frozenset({
    TicketStatus.AWAITING_TRIAGE, TicketStatus.DISPATCHED, TicketStatus.CLAIMED,
    TicketStatus.CONTACTED, TicketStatus.SUSPENDED, TicketStatus.RETURNED,
    TicketStatus.AWAITING_RULING})
_WORKING = frozenset({TicketStatus.CLAIMED, TicketStatus.CONTACTED})

_ALLOWED: dict[TicketStatus, frozenset[TicketStatus]] = {
    TicketStatus.AWAITING_TRIAGE: frozenset(
        {TicketStatus.DISPATCHED, TicketStatus.TRANSFERRED, TicketStatus.CLAIMED,
         TicketStatus.MERGED}),
    TicketStatus.DISPATCHED: frozenset(
        {TicketStatus.CLAIMED, TicketStatus.RETURNED, TicketStatus.AWAITING_RULING,
         TicketStatus.MERGED}),
    # a dispatcher who claimed a triage ticket then sends it on (see Ticket.dispatch_manually)
    TicketStatus.CLAIMED: frozenset(
        {TicketStatus.DISPATCHED, TicketStatus.TRANSFERRED, TicketStatus.CONTACTED,
         TicketStatus.RESOLVED, TicketStatus.SUSPENDED, TicketStatus.RETURNED,
         TicketStatus.AWAITING_RULING, TicketStatus.MERGED}),
    TicketStatus.CONTACTED: frozenset(
        {TicketStatus.RESOLVED, TicketStatus.SUSPENDED, TicketStatus.RETURNED,
         TicketStatus.AWAITING_RULING, TicketStatus.MERGED}),
    # out of suspension only by resume(), which starts the paused clocks again
    TicketStatus.SUSPENDED: frozenset({TicketStatus.MERGED}),
    TicketStatus.RETURNED: frozenset(
        {TicketStatus.DISPATCHED, TicketStatus.TRANSFERRED, TicketStatus.MERGED}),
    TicketStatus.AWAITING_RULING: frozenset(
        {TicketStatus.DISPATCHED, TicketStatus.MERGED}),
    TicketStatus.RESOLVED: frozenset({TicketStatus.CLOSED, TicketStatus.DISPATCHED}),
    TicketStatus.TRANSFERRED: frozenset(),
    TicketStatus.CLOSED: frozenset(),
    TicketStatus.MERGED: frozenset(),
}


class EventKind(StrEnum):
    """What happened to a ticket; one audit-trail entry and one `ticket.<kind>` message each."""

    CREATED = "created"
    DISPATCHED = "dispatched"  # sent on to a unit by a dispatcher
    TRANSFERRED = "transferred"  # sent on to an emergency line by a dispatcher
    CLAIMED = "claimed"  # 签收
    REPEAT_REPORTED = "repeat_reported"  # 催办: the same caller again about the same matter
    INCIDENT_REPORTED = "incident_reported"  # another caller about the incident it leads
    REPORT_SPLIT = "report_split"  # a dispatcher took a wrongly attached report off it
    CONTACTED = "contacted"  # first (or later) contact with the citizen, with a note
    RESOLVED = "resolved"  # 办结, with the reply given to the citizen
    CALLED_BACK = "called_back"  # 回访: reached or not, solved or not, satisfaction
    CLOSED = "closed"
    REOPENED = "reopened"  # not solved or not satisfied: back to the same unit
    EXTENSION_REQUESTED = "extension_requested"  # 延期
    EXTENSION_GRANTED = "extension_granted"
    EXTENSION_REFUSED = "extension_refused"
    RETURNED = "returned"  # 退单, with a reason code
    RULED = "ruled"  # 审定: a dispatcher fixes the unit
    SUSPENDED = "suspended"  # 挂起
    RESUMED = "resumed"
    MERGED = "merged"  # this ticket is a duplicate of another
    DUPLICATE_ATTACHED = "duplicate_attached"  # another ticket was merged into this one
    ESCALATED = "escalated"  # 督办 by a dispatcher
    SLA_WARNING = "sla_warning"
    SLA_BREACHED = "sla_breached"
    SLA_ESCALATED = "sla_escalated"  # a step of escalation after a breach


class ReturnReason(StrEnum):
    WRONG_PLACE = "wrong_place"  # 属地不符
    UNCLEAR_OWNERSHIP = "unclear_ownership"  # 权属不清
    OVERLAPPING_DUTIES = "overlapping_duties"  # 职能交叉
    OTHER = "other"  # with a text


class Satisfaction(StrEnum):
    SATISFIED = "satisfied"  # 满意
    BASICALLY_SATISFIED = "basically_satisfied"  # 基本满意
    UNSATISFIED = "unsatisfied"  # 不满意


def initial_status(disposition: Disposition) -> TicketStatus:
    return {
        Disposition.DISPATCHED: TicketStatus.DISPATCHED,
        Disposition.TRIAGE: TicketStatus.AWAITING_TRIAGE,
        Disposition.TRANSFERRED: TicketStatus.TRANSFERRED,
    }[disposition]


def check_transition(current: TicketStatus, target: TicketStatus) -> TicketStatus:
    """`target`, if a ticket in `current` may move there; otherwise InvalidTransition."""
    if target not in _ALLOWED[current]:
        raise InvalidTransition(f"a ticket that is {current} cannot become {target}",
                                current=current.value)
    return target


def _crossing_kind(level: str) -> EventKind:
    if level == BREACH:
        return EventKind.SLA_BREACHED
    if level.startswith("escalation:"):
        return EventKind.SLA_ESCALATED
    return EventKind.SLA_WARNING


@dataclass(frozen=True, slots=True)
class TicketEvent:
    """One entry of a ticket's audit trail. `event_id` is derived from the ticket, the version
    the event produced and its place in the change, so saving a change twice is detectable."""

    event_id: str
    ticket_id: str
    version: int
    kind: EventKind
    actor: str | None
    occurred_at: datetime  # timezone-aware
    detail: Mapping[str, Any]


Events = list[tuple[EventKind, Mapping[str, Any]]]
ClockOp = Callable[[Clock], Clock]


@dataclass(frozen=True, slots=True)
class ExtensionRequest:
    """延期 asked for by the unit and waiting for a dispatcher."""

    reason: str
    due_at: datetime
    requested_by: str
    requested_at: datetime


@dataclass(frozen=True, slots=True)
class Ticket:
    """A work order, created from one call and changed only through its methods.

    Unit actions (sign, contact, extension request, return, pause and resume, resolve) name
    the acting unit and are refused with NotYourTicket for another unit's ticket; the
    dispatch centre's actions (dispatch, ruling, extension decision, merge, callback, close,
    escalation) are the centre's to authorise before calling them.
    """

    ticket_id: str
    call_id: str
    hotline: str
    channel: str
    received_at: datetime
    created_at: datetime
    text: str
    caller_contact: str | None
    place_text: str | None
    area: str | None
    category: str
    confidence: float
    suggested_category: str
    model_version: str
    urgency: str
    emergency_service: str | None
    disposition: Disposition
    unit: str
    rule_id: str
    route_reason: str
    status: TicketStatus
    override_agent_id: str | None = None
    raw_payload: Mapping[str, Any] = field(default_factory=dict)
    claimed_by: str | None = None
    claimed_at: datetime | None = None
    updated_at: datetime | None = None
    version: int = 0  # 0 until the ticket is first saved
    clocks: tuple[Clock, ...] = ()
    next_alarm_at: datetime | None = None  # the earliest level a running clock will cross
    return_count: int = 0
    returned_from: str | None = None  # the unit that sent it back last
    ruled_unit: str | None = None  # fixed by a ruling: no more returns
    reopen_count: int = 0
    escalation_level: int = 0
    merged_into: str | None = None
    duplicate_count: int = 0  # tickets merged into this one
    suspended_from: TicketStatus | None = None
    extension_request: ExtensionRequest | None = None
    first_contact_at: datetime | None = None
    resolved_at: datetime | None = None
    closed_at: datetime | None = None
    callback_attempts: int = 0
    solved: bool | None = None  # by the citizen's word at the last callback
    satisfaction: Satisfaction | None = None
    # The current unit signed and made first contact within their targets: None until known.
    responded_in_time: bool | None = None
    caller_key: str | None = None  # see router.domain.calls.caller_key
    repeat_count: int = 0  # 催办: the same caller's later calls about it

    def is_same_call(self, call: CallRecord) -> bool:
        """Whether `call` is this ticket's own call sent again (a replay or a retry), rather
        than another call that reuses its id: the same hotline and demand, and no other
        caller or place. A retry may leave out what it sent before; the receipt time is not
        compared (a desk retry without one is stamped anew)."""
        def restated(sent: str | None, kept: str | None) -> bool:
            return sent is None or sent == kept

        return ((call.call_id, call.hotline, call.text) == (self.call_id, self.hotline, self.text)
                and restated(call.caller_contact, self.caller_contact)
                and restated(call.place_text, self.place_text))

    def clock(self, name: ClockName) -> Clock | None:
        for found in self.clocks:
            if found.name is name:
                return found
        return None

    @property
    def resolution_breached_at(self) -> datetime | None:
        found = self.clock(ClockName.RESOLUTION)
        return found.breached_at if found else None

    # -- intake and dispatch ------------------------------------------------------------

    def open(self, policy: SlaPolicy, actor: str | None = None) -> TicketChange:
        """The change that brings this ticket into being (version 1, one `created` event).
        A ticket for a unit starts its resolution, sign and first-response clocks; one for
        the dispatchers its dispatch and resolution clocks; a transfer none."""
        if self.version != 0:
            raise InvalidTransition(f"ticket {self.ticket_id} exists already",
                                    current=self.status.value)
        at = self.created_at
        names: list[ClockName] = []
        if self.disposition is Disposition.DISPATCHED:
            names = [ClockName.RESOLUTION, ClockName.SIGN, ClockName.FIRST_RESPONSE]
        elif self.disposition is Disposition.TRIAGE:
            names = [ClockName.RESOLUTION, ClockName.DISPATCH]
        clocks = tuple(c for c in (policy.start(n, self.urgency, self.category, at)
                                   for n in names) if c is not None)
        opened = dataclasses.replace(self, version=1, updated_at=at, clocks=clocks)
        return opened._change(self, actor or self.override_agent_id, at, policy, [
            (EventKind.CREATED, {
                "disposition": self.disposition.value, "unit": self.unit,
                "rule_id": self.rule_id, "reason": self.route_reason,
                "category": self.category, "confidence": self.confidence,
                "suggested_category": self.suggested_category,
                "model_version": self.model_version, "urgency": self.urgency,
                "emergency_service": self.emergency_service,
                **_clock_summary(clocks)})])

    def dispatch_manually(self, unit: Unit, category: str | None, dispatcher: str, at: datetime,
                          policy: SlaPolicy, emergency_service: str | None = None
                          ) -> TicketChange:
        """人工分拨: a dispatcher sends a ticket the machine was unsure of, or one a unit
        returned, to a unit, or to an emergency line (then `emergency_service` names it)."""
        if self.status is TicketStatus.AWAITING_RULING:
            raise InvalidTransition(
                f"ticket {self.ticket_id} was returned {self.return_count} times: it needs a"
                " ruling (审定) that fixes its unit", current=self.status.value)
        if not ((self.disposition is Disposition.TRIAGE
                and self.status in (TicketStatus.AWAITING_TRIAGE, TicketStatus.CLAIMED))
                or self.status is TicketStatus.RETURNED):
            raise InvalidTransition(f"ticket {self.ticket_id} is not waiting for a dispatcher",
                                    current=self.status.value)
        return self._hand_over(unit, category, dispatcher, at, policy, emergency_service)

    def rule(self, unit: Unit, dispatcher: str, note: str | None, at: datetime,
             policy: SlaPolicy) -> TicketChange:
        """审定: the dispatcher's final word on who handles a disputed ticket; that unit can
        no longer return it."""
        if self.status not in (TicketStatus.AWAITING_RULING, TicketStatus.RETURNED):
            raise InvalidTransition(f"ticket {self.ticket_id} is not waiting for a ruling",
                                    current=self.status.value)
        if unit.kind in (UnitKind.DISPATCHER, UnitKind.EMERGENCY):
            raise InvalidTransition("a ruling names the unit that must handle the ticket",
                                    current=self.status.value)
        return self._hand_over(unit, None, dispatcher, at, policy, None, ruling_note=note or "")

    def _hand_over(self, unit: Unit, category: str | None, dispatcher: str, at: datetime,
                   policy: SlaPolicy, emergency_service: str | None,
                   ruling_note: str | None = None) -> TicketChange:
        if unit.kind is UnitKind.DISPATCHER:
            raise InvalidTransition(
                "a ticket is dispatched to a responsible unit, not back to triage",
                current=self.status.value)
        transfer = unit.kind is UnitKind.EMERGENCY
        status = check_transition(self.status, TicketStatus.TRANSFERRED if transfer
                                  else TicketStatus.DISPATCHED)
        base, crossings = self._settled(at, policy)
        reason = (f"ruled by {dispatcher} after {self.return_count} returns"
                  if ruling_note is not None
                  else f"dispatched by {dispatcher} after "
                       f"{'a return' if self.status is TicketStatus.RETURNED else 'triage'}"
                       f" ({self.rule_id})")
        if transfer:
            clocks = base._clocks_with(policy, at, stop=set(ClockName))
        else:
            clocks = base._clocks_with(policy, at, stop={ClockName.DISPATCH},
                                       restart=(ClockName.SIGN, ClockName.FIRST_RESPONSE))
        sent = dataclasses.replace(
            base, unit=unit.code, category=category or self.category, status=status,
            disposition=Disposition.TRANSFERRED if transfer else Disposition.DISPATCHED,
            rule_id="ruling" if ruling_note is not None else "manual-dispatch",
            route_reason=reason, claimed_by=None, claimed_at=None, clocks=clocks,
            emergency_service=(emergency_service if transfer else None) or self.emergency_service,
            ruled_unit=unit.code if ruling_note is not None else self.ruled_unit,
            responded_in_time=(None if unit.code != self.returned_from
                               else self.responded_in_time))
        kind = (EventKind.TRANSFERRED if transfer else
                EventKind.RULED if ruling_note is not None else EventKind.DISPATCHED)
        detail: dict[str, Any] = {
            "from_unit": self.unit, "unit": sent.unit, "category": sent.category,
            "reason": reason, "emergency_service": sent.emergency_service}
        if ruling_note is not None:
            detail["note"] = ruling_note
        return sent._change(self, dispatcher, at, policy, [*crossings, (kind, detail)])

    def record_repeat(self, call_id: str, channel: str, received_at: datetime, at: datetime,
                      policy: SlaPolicy) -> TicketChange:
        """催办: the caller called again about this open ticket; counted on it, no new
        ticket. Its clocks go on as they were."""
        if self.status not in UNRESOLVED_STATUSES:
            raise InvalidTransition(f"ticket {self.ticket_id} is {self.status}: a new call"
                                    " about it is a new demand", current=self.status.value)
        base, crossings = self._settled(at, policy)
        repeated = dataclasses.replace(base, repeat_count=self.repeat_count + 1)
        return repeated._change(self, None, at, policy, [*crossings, (
            EventKind.REPEAT_REPORTED, {"call_id": call_id, "channel": channel,
                                        "received_at": received_at.isoformat(),
                                        "repeats": repeated.repeat_count})])

    def record_incident_reports(self, incident_id: str,
                                reports: Sequence[tuple[str, str, datetime]], total: int,
                                escalate_to: int, at: datetime, policy: SlaPolicy
                                ) -> TicketChange:
        """未诉先办: other callers' reports (call id, channel, event time) of the incident this
        ticket leads, counted on it; `total` is the incident's report count after them. When
        the incident's priority calls for a higher supervision level (督办), it is raised."""
        if self.status not in UNRESOLVED_STATUSES:
            raise InvalidTransition(f"ticket {self.ticket_id} is {self.status}: its incident"
                                    " takes no more reports", current=self.status.value)
        base, crossings = self._settled(at, policy)
        events: Events = [*crossings]
        first = total - len(reports) + 1
        events += [(EventKind.INCIDENT_REPORTED, {
            "incident_id": incident_id, "call_id": call_id, "channel": channel,
            "received_at": received_at.isoformat(), "reports": first + i})
            for i, (call_id, channel, received_at) in enumerate(reports)]
        if escalate_to > base.escalation_level:
            base = dataclasses.replace(base, escalation_level=escalate_to)
            events.append((EventKind.ESCALATED, {
                "level": escalate_to, "reason": f"incident {incident_id}: {total} reports"}))
        return base._change(self, None, at, policy, events)

    def record_split(self, incident_id: str, call_id: str, split_ticket_id: str,
                     dispatcher: str, at: datetime, policy: SlaPolicy) -> TicketChange:
        """A dispatcher split a report off the incident this ticket leads."""
        base, crossings = self._settled(at, policy)
        return base._change(self, dispatcher, at, policy, [*crossings, (
            EventKind.REPORT_SPLIT, {"incident_id": incident_id, "call_id": call_id,
                                     "ticket_id": split_ticket_id})])

    # -- the unit's work ----------------------------------------------------------------

    def claim(self, unit: str, consumer: str, at: datetime, policy: SlaPolicy) -> TicketChange:
        """签收: someone in the ticket's own unit signs for it."""
        self._require_unit(unit)
        status = check_transition(self.status, TicketStatus.CLAIMED)
        base, crossings = self._settled(at, policy)
        claimed = dataclasses.replace(
            base, status=status, claimed_by=consumer, claimed_at=at,
            clocks=base._clocks_with(policy, at, stop={ClockName.SIGN}))
        return claimed._change(self, consumer, at, policy,
                               [*crossings, (EventKind.CLAIMED, {"unit": unit})])

    def contact(self, unit: str, actor: str, note: str, at: datetime, policy: SlaPolicy
                ) -> TicketChange:
        """The unit reached the citizen (first response), with a note of what was said."""
        self._require_unit(unit)
        if self.status is TicketStatus.CONTACTED:
            status = TicketStatus.CONTACTED  # a later contact is noted, not a new state
        else:
            status = check_transition(self.status, TicketStatus.CONTACTED)
        base, crossings = self._settled(at, policy)
        contacted = base._first_response(at, policy)
        contacted = dataclasses.replace(contacted, status=status)
        return contacted._change(self, actor, at, policy, [
            *crossings, (EventKind.CONTACTED, {"unit": unit, "note": note,
                                               "first": self.first_contact_at is None})])

    def resolve(self, unit: str, actor: str, reply: str, at: datetime, policy: SlaPolicy
                ) -> TicketChange:
        """办结: the unit's answer to the citizen; the callback clock starts."""
        self._require_unit(unit)
        status = check_transition(self.status, TicketStatus.RESOLVED)
        base, crossings = self._settled(at, policy)
        resolved = base._first_response(at, policy)
        callback_round = _next_round(resolved.clock(ClockName.CALLBACK))
        resolved = dataclasses.replace(
            resolved, status=status, resolved_at=at, extension_request=None,
            clocks=resolved._clocks_with(policy, at, stop={ClockName.RESOLUTION},
                                         restart=(ClockName.CALLBACK,),
                                         rounds={ClockName.CALLBACK: callback_round}))
        return resolved._change(self, actor, at, policy, [
            *crossings, (EventKind.RESOLVED, {"unit": unit, "reply": reply})])

    def request_extension(self, unit: str, actor: str, reason: str, due_at: datetime,
                          at: datetime, policy: SlaPolicy) -> TicketChange:
        """延期: the unit asks a dispatcher for a later resolution due time."""
        self._require_unit(unit)
        if self.status not in (*_WORKING, TicketStatus.SUSPENDED):
            raise InvalidTransition("only a ticket the unit has signed for can be extended",
                                    current=self.status.value)
        if self.extension_request is not None:
            raise InvalidTransition("an extension request is already waiting for a decision",
                                    current=self.status.value)
        base, crossings = self._settled(at, policy)
        resolution = base.clock(ClockName.RESOLUTION)
        if resolution is None or resolution.breached:
            raise InvalidTransition("the resolution deadline has passed: an extension must be"
                                    " asked for before it", current=self.status.value)
        # a paused clock has no due time: the one it would have if it ran again now
        current_due = resolution.due_at or policy.calendar(resolution.calendar).add(
            at, max(resolution.remaining_at(at, policy.calendar(resolution.calendar)),
                    timedelta(0)))
        if due_at <= current_due:
            raise InvalidTransition("the new due time must be later than the current one,"
                                    f" {current_due.isoformat()}", current=self.status.value)
        request = ExtensionRequest(reason=reason, due_at=due_at, requested_by=actor,
                                   requested_at=at)
        asked = dataclasses.replace(base, extension_request=request)
        return asked._change(self, actor, at, policy, [*crossings, (
            EventKind.EXTENSION_REQUESTED, {"unit": unit, "reason": reason,
                                            "due_at": due_at.isoformat(),
                                            "current_due_at": current_due.isoformat()})])

    def return_to_dispatcher(self, unit: str, actor: str, reason: ReturnReason,
                             text: str | None, centre: str, at: datetime, policy: SlaPolicy
                             ) -> TicketChange:
        """退单: the unit says the ticket is not theirs. After `max_returns` returns the
        ticket waits for a ruling; a ruled ticket cannot be returned."""
        self._require_unit(unit)
        if self.ruled_unit == unit:
            raise InvalidTransition(f"ticket {self.ticket_id} was ruled to be {unit}'s: it"
                                    " cannot be returned", current=self.status.value)
        if reason is ReturnReason.OTHER and not (text or "").strip():
            raise InvalidTransition("a return for another reason must say why",
                                    current=self.status.value)
        count = self.return_count + 1
        status = check_transition(self.status, TicketStatus.AWAITING_RULING
                                  if count >= policy.max_returns else TicketStatus.RETURNED)
        base, crossings = self._settled(at, policy)
        returned = dataclasses.replace(
            base, status=status, unit=centre, returned_from=unit, return_count=count,
            claimed_by=None, claimed_at=None, extension_request=None,
            disposition=Disposition.TRIAGE,
            clocks=base._clocks_with(policy, at, stop={ClockName.SIGN, ClockName.FIRST_RESPONSE},
                                     restart=(ClockName.DISPATCH,)))
        return returned._change(self, actor, at, policy, [*crossings, (EventKind.RETURNED, {
            "from_unit": unit, "unit": centre, "reason_code": reason.value, "text": text,
            "returns": count, "needs_ruling": status is TicketStatus.AWAITING_RULING})])

    def suspend(self, unit: str, actor: str, reason: str, at: datetime, policy: SlaPolicy
                ) -> TicketChange:
        """挂起: waiting for the citizen; the pausable clocks stop counting."""
        self._require_unit(unit)
        status = check_transition(self.status, TicketStatus.SUSPENDED)
        base, crossings = self._settled(at, policy)
        paused = dataclasses.replace(base, status=status, suspended_from=self.status,
                                     clocks=base._clocks_with(policy, at, pause=True))
        return paused._change(self, actor, at, policy, [*crossings, (
            EventKind.SUSPENDED, {"unit": unit, "reason": reason})])

    def resume(self, unit: str, actor: str, at: datetime, policy: SlaPolicy) -> TicketChange:
        self._require_unit(unit)
        if self.status is not TicketStatus.SUSPENDED or self.suspended_from is None:
            raise InvalidTransition(f"ticket {self.ticket_id} is not suspended",
                                    current=self.status.value)
        base, crossings = self._settled(at, policy)
        resumed = dataclasses.replace(base, status=self.suspended_from, suspended_from=None,
                                      clocks=base._clocks_with(policy, at, resume=True))
        return resumed._change(self, actor, at, policy, [*crossings, (
            EventKind.RESUMED, {"unit": unit})])

    # -- the dispatch centre's decisions ------------------------------------------------

    def decide_extension(self, grant: bool, dispatcher: str, note: str | None, at: datetime,
                         policy: SlaPolicy) -> TicketChange:
        request = self.extension_request
        if request is None or self.status in FINAL_STATUSES:
            raise InvalidTransition("no extension request is waiting",
                                    current=self.status.value)
        base, crossings = self._settled(at, policy)
        clocks = base.clocks
        if grant:
            resolution = base.clock(ClockName.RESOLUTION)
            if resolution is None or resolution.breached:
                raise InvalidTransition("the resolution deadline passed while the request"
                                        " waited: the breach stands; refuse it instead",
                                        current=self.status.value)
            extended = sla.extend(resolution, request.due_at, at, policy)
            clocks = tuple(extended if c is resolution else c for c in clocks)
        decided = dataclasses.replace(base, extension_request=None, clocks=clocks)
        kind = EventKind.EXTENSION_GRANTED if grant else EventKind.EXTENSION_REFUSED
        return decided._change(self, dispatcher, at, policy, [*crossings, (kind, {
            "reason": request.reason, "due_at": request.due_at.isoformat(),
            "requested_by": request.requested_by, "note": note})])

    def record_callback(self, dispatcher: str, reached: bool, solved: bool | None,
                        satisfaction: Satisfaction | None, note: str | None, at: datetime,
                        policy: SlaPolicy) -> TicketChange:
        """回访. Solved and not dissatisfied: closed. Not solved, or dissatisfied: reopened,
        back to the same unit. Not reached `callback_attempts` times: closed unreached."""
        if self.status is not TicketStatus.RESOLVED:
            raise InvalidTransition(f"ticket {self.ticket_id} is not waiting for a callback",
                                    current=self.status.value)
        if reached and (solved is None or satisfaction is None):
            raise InvalidTransition("a callback that reached the citizen records whether it"
                                    " was solved and how satisfied they are",
                                    current=self.status.value)
        base, crossings = self._settled(at, policy)
        attempts = self.callback_attempts + 1
        events: Events = [*crossings, (EventKind.CALLED_BACK, {
            "reached": reached, "solved": solved,
            "satisfaction": satisfaction.value if satisfaction else None, "note": note,
            "attempt": attempts})]
        if not reached:
            after = dataclasses.replace(base, callback_attempts=attempts)
            if attempts >= policy.callback_attempts:
                after = after._closed(at, policy)
                events.append((EventKind.CLOSED, {"reason": "citizen not reached"}))
            return after._change(self, dispatcher, at, policy, events)
        answered = dataclasses.replace(base, callback_attempts=attempts, solved=solved,
                                       satisfaction=satisfaction)
        if solved and satisfaction is not Satisfaction.UNSATISFIED:
            events.append((EventKind.CLOSED, {"reason": "solved"}))
            return answered._closed(at, policy)._change(self, dispatcher, at, policy, events)
        # the resolution clock carries on from its stop: what it crossed meanwhile is noticed
        # in this change, before the unit sees the ticket again
        reopened, late = answered._reopened(at, policy)._settled(at, policy)
        events.extend(late)
        events.append((EventKind.REOPENED, {
            "unit": reopened.unit, "reopens": reopened.reopen_count,
            "why": "not solved" if not solved else "not satisfied"}))
        return reopened._change(self, dispatcher, at, policy, events)

    def close(self, dispatcher: str, reason: str, at: datetime, policy: SlaPolicy
              ) -> TicketChange:
        """Closed by a dispatcher without a callback that reached the citizen."""
        check_transition(self.status, TicketStatus.CLOSED)
        base, crossings = self._settled(at, policy)
        return base._closed(at, policy)._change(self, dispatcher, at, policy, [
            *crossings, (EventKind.CLOSED, {"reason": reason})])

    def merge_into(self, other: Ticket, dispatcher: str, at: datetime, policy: SlaPolicy
                   ) -> tuple[TicketChange, TicketChange]:
        """A duplicate: this ticket stops and is attached to `other`, which counts it."""
        if other.ticket_id == self.ticket_id:
            raise InvalidTransition("a ticket cannot be merged into itself",
                                    current=self.status.value)
        if other.status in FINAL_STATUSES:
            raise InvalidTransition(f"ticket {other.ticket_id} is {other.status}: merge into an"
                                    " open ticket", current=self.status.value)
        status = check_transition(self.status, TicketStatus.MERGED)
        base, crossings = self._settled(at, policy)
        merged = dataclasses.replace(base, status=status, merged_into=other.ticket_id,
                                     extension_request=None,
                                     clocks=base._clocks_with(policy, at, stop=set(ClockName)))
        target, target_crossings = other._settled(at, policy)
        target = dataclasses.replace(target, duplicate_count=other.duplicate_count + 1)
        return (merged._change(self, dispatcher, at, policy, [*crossings, (
                    EventKind.MERGED, {"into": other.ticket_id})]),
                target._change(other, dispatcher, at, policy, [*target_crossings, (
                    EventKind.DUPLICATE_ATTACHED, {"ticket_id": self.ticket_id,
                                                   "duplicates": target.duplicate_count})]))

    def escalate(self, dispatcher: str, reason: str, at: datetime, policy: SlaPolicy
                 ) -> TicketChange:
        """督办: a dispatcher raises the ticket's supervision level."""
        if self.status in FINAL_STATUSES:
            raise InvalidTransition(f"ticket {self.ticket_id} is {self.status}",
                                    current=self.status.value)
        base, crossings = self._settled(at, policy)
        level = base.escalation_level + 1
        raised = dataclasses.replace(base, escalation_level=level)
        return raised._change(self, dispatcher, at, policy, [*crossings, (
            EventKind.ESCALATED, {"level": level, "reason": reason})])

    # -- time ---------------------------------------------------------------------------

    def tick(self, at: datetime, policy: SlaPolicy) -> TicketChange | None:
        """The clocks' levels crossed by `at`, as a change; None when there are none and the
        alarm time is right."""
        base, crossings = self._settled(at, policy)
        if not crossings and _alarm(base.clocks, policy) == self.next_alarm_at:
            return None
        return base._change(self, None, at, policy, crossings)

    # -- helpers ------------------------------------------------------------------------

    def _require_unit(self, unit: str) -> None:
        if unit != self.unit:
            raise NotYourTicket(f"ticket {self.ticket_id} is not unit {unit}'s")

    def _settled(self, at: datetime, policy: SlaPolicy) -> tuple[Ticket, Events]:
        """This ticket with its clocks settled up to `at`, and one event per level crossed."""
        clocks = []
        crossings: list[Crossing] = []
        for clock in self.clocks:
            settled, crossed = sla.settle(clock, at, policy)
            clocks.append(settled)
            crossings.extend(crossed)
        if not crossings:
            return self, []
        crossings.sort(key=lambda c: c.at)
        late_response = any(c.level == BREACH and c.clock in (ClockName.SIGN,
                                                               ClockName.FIRST_RESPONSE)
                            for c in crossings)
        escalations = sum(1 for c in crossings if c.level.startswith("escalation:"))
        settled_ticket = dataclasses.replace(
            self, clocks=tuple(clocks),
            responded_in_time=False if late_response else self.responded_in_time,
            escalation_level=self.escalation_level + escalations)
        by_name = {c.name: c for c in clocks}
        return settled_ticket, [(_crossing_kind(c.level), {
            "clock": c.clock.value, "round": c.round, "level": c.level, "unit": self.unit,
            "crossed_at": c.at.isoformat(),
            "due_at": _iso(by_name[c.clock].due_at)}) for c in crossings]

    def _first_response(self, at: datetime, policy: SlaPolicy) -> Ticket:
        """The first-response clock stopped by a contact (or a reply), and what that says
        about the unit's response."""
        response = self.clock(ClockName.FIRST_RESPONSE)
        if response is None or response.phase is ClockPhase.STOPPED:
            return dataclasses.replace(self, first_contact_at=self.first_contact_at or at)
        sign = self.clock(ClockName.SIGN)
        late = response.breached or (sign is not None and sign.round == response.round
                                     and sign.breached)
        return dataclasses.replace(
            self, first_contact_at=self.first_contact_at or at,
            responded_in_time=False if late else (
                True if self.responded_in_time is None else self.responded_in_time),
            clocks=self._clocks_with(policy, at, stop={ClockName.FIRST_RESPONSE}))

    def _closed(self, at: datetime, policy: SlaPolicy) -> Ticket:
        return dataclasses.replace(self, status=check_transition(self.status,
                                                                 TicketStatus.CLOSED),
                                   closed_at=at,
                                   clocks=self._clocks_with(policy, at, stop=set(ClockName)))

    def _reopened(self, at: datetime, policy: SlaPolicy) -> Ticket:
        """Back to the unit that resolved it: the resolution clock carries on as though it
        had never stopped, the unit signs and responds again on fresh clocks."""
        status = check_transition(self.status, TicketStatus.DISPATCHED)
        stopped = self._clocks_with(policy, at, stop={ClockName.CALLBACK})
        clocks = tuple(sla.carry_on(c) if c.name is ClockName.RESOLUTION else c for c in stopped)
        reopened = dataclasses.replace(self, status=status, clocks=clocks, claimed_by=None,
                                       claimed_at=None, reopen_count=self.reopen_count + 1)
        return dataclasses.replace(reopened, clocks=reopened._clocks_with(
            policy, at, restart=(ClockName.SIGN, ClockName.FIRST_RESPONSE)))

    def _clocks_with(self, policy: SlaPolicy, at: datetime, *,
                     stop: Iterable[ClockName] = (), restart: Iterable[ClockName] = (),
                     pause: bool = False, resume: bool = False,
                     rounds: Mapping[ClockName, int] | None = None) -> tuple[Clock, ...]:
        """The clocks after stopping some, (re)starting others as a new round, and pausing
        or resuming the pausable ones."""
        stopping, restarting = set(stop), tuple(restart)
        clocks: list[Clock] = []
        for clock in self.clocks:
            if clock.name in stopping or clock.name in restarting:
                clock = sla.stop(clock, at, policy)
            elif pause and policy.clocks.get(clock.name) and policy.clocks[clock.name].pausable:
                clock = sla.pause(clock, at, policy)
            elif resume:
                clock = sla.resume(clock, at, policy)
            if clock.name not in restarting:
                clocks.append(clock)
        for name in restarting:
            number = (rounds or {}).get(name) or _next_round(self.clock(name))
            started = policy.start(name, self.urgency, self.category, at, number)
            if started is not None:
                clocks.append(started)
        return tuple(clocks)

    def _change(self, before: Ticket, actor: str | None, at: datetime, policy: SlaPolicy,
                events: Events) -> TicketChange:
        after = dataclasses.replace(self, version=before.version + 1, updated_at=at,
                                    next_alarm_at=_alarm(self.clocks, policy))
        decided = after.responded_in_time if before.responded_in_time is None else None
        return TicketChange(
            ticket=after, expected_version=before.version, response_decided=decided,
            events=tuple(TicketEvent(event_id=event_id_for(after.ticket_id, after.version, i),
                                     ticket_id=after.ticket_id, version=after.version,
                                     kind=kind, actor=actor,
                                     occurred_at=_occurred(kind, detail, at), detail=detail)
                         for i, (kind, detail) in enumerate(events)))


def _alarm(clocks: Iterable[Clock], policy: SlaPolicy) -> datetime | None:
    return sla.earliest([sla.next_alarm(c, policy) for c in clocks])


def _next_round(clock: Clock | None) -> int:
    return 1 if clock is None else clock.round + 1


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


_CROSSINGS = frozenset({EventKind.SLA_WARNING, EventKind.SLA_BREACHED, EventKind.SLA_ESCALATED})


def _occurred(kind: EventKind, detail: Mapping[str, Any], at: datetime) -> datetime:
    # A level crossed while nobody looked happened when it was crossed, not when noticed.
    if kind in _CROSSINGS:
        return datetime.fromisoformat(detail["crossed_at"])
    return at


def _clock_summary(clocks: Iterable[Clock]) -> dict[str, Any]:
    return {"due": {c.name.value: _iso(c.due_at) for c in clocks}}


@dataclass(frozen=True, slots=True)
class TicketChange:
    """A ticket after a change, the version it must still have in the store, and the events."""

    ticket: Ticket
    expected_version: int  # 0: a new ticket
    events: tuple[TicketEvent, ...]
    # The unit's response was judged in this change: in time (True) or late (False).
    response_decided: bool | None = None

    @property
    def is_creation(self) -> bool:
        return self.expected_version == 0


_TICKET_NAMESPACE = uuid.UUID("6f1c0e52-12a4-5a45-9d7e-123450000000")


def ticket_id_for(call_id: str) -> str:
    """Deterministic: the same call always names the same ticket, whichever worker sees it."""
    return "T" + uuid.uuid5(_TICKET_NAMESPACE, call_id).hex[:20].upper()


def event_id_for(ticket_id: str, version: int, index: int = 0) -> str:
    return f"{ticket_id}.{version}.{index}"
