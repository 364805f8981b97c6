"""The clocks in the database, on SQLite (the embedded default) and PostgreSQL: stored
exactly, fired from the due-time index once each even with two timers at once, and the
three rates counted by one aggregate."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine

from router.domain.outbox import messages_for
from router.domain.rates import OutcomeCounts, RateDefinitions
from router.domain.sla import ClockName, ClockPhase
from router.domain.tickets import Satisfaction, Ticket, TicketChange, TicketStatus
from router.metrics import RouterMetrics
from router.persistence.tickets import TicketRepository
from router.sla_reports import Grouping, RateReports
from router.sla_timer import SlaTimer
from tests.conftest import Services
from tests.integration.conftest import engine_on
from tests.integration.test_persistence import NOW, create, save, ticket
from tests.policy import POLICY

pytestmark = pytest.mark.integration


@pytest.fixture(params=["sqlite", "environment"])
def engine(request: pytest.FixtureRequest, services: Services,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    yield from engine_on(request.param, services, tmp_path_factory.mktemp("sqlite"))


def fresh(engine: Engine, services: Services, name: str) -> TicketRepository:
    """A repository of a deployment of its own, so no other test's tickets come due."""
    return TicketRepository(engine, origin=f"{services.run_id}-{name}-{id(engine)}")


def stored(repository: TicketRepository, ticket_id: str) -> Ticket:
    found = repository.get(ticket_id)
    assert found is not None
    return found


def apply(repository: TicketRepository, change: TicketChange) -> Ticket:
    save(repository, change)
    return stored(repository, change.ticket.ticket_id)


def test_clocks_come_back_exactly_as_they_were_saved(engine: Engine, services: Services
                                                     ) -> None:
    repository = fresh(engine, services, "roundtrip")
    call = f"{services.run_id}-roundtrip-{id(engine)}"
    create(repository, ticket(call))
    opened = stored(repository, ticket(call).ticket_id)
    claimed = apply(repository, opened.claim("transport", "staff", NOW + timedelta(minutes=7),
                                             POLICY))
    paused = apply(repository, claimed.suspend("transport", "staff", "等市民补材料",
                                               NOW + timedelta(hours=1, microseconds=5),
                                               POLICY))
    expected = paused.clocks
    assert stored(repository, paused.ticket_id).clocks == expected
    resolution = paused.clock(ClockName.RESOLUTION)
    assert resolution is not None
    assert (resolution.phase, resolution.due_at) == (ClockPhase.PAUSED, None)
    sign = paused.clock(ClockName.SIGN)
    assert sign is not None
    assert sign.elapsed == timedelta(minutes=7)
    assert paused.suspended_from is TicketStatus.CLAIMED


def test_the_timer_takes_what_is_due_once_in_due_order_and_only_its_own(
        engine: Engine, services: Services) -> None:
    repository = fresh(engine, services, "due")
    other = fresh(engine, services, "elsewhere")
    calls = [f"{services.run_id}-due-{id(engine)}-{i}" for i in range(30)]
    create(repository, *(dataclasses.replace(ticket(c), created_at=NOW + timedelta(seconds=i))
                         for i, c in enumerate(calls)))
    # the head of the index: the first ticket's sign clock at 70 % of its 2 h
    assert repository.next_alarm() == NOW + timedelta(hours=2) * 0.7
    later = NOW + timedelta(hours=3)  # every sign clock (2 h) has breached

    def tick(found: Ticket) -> TicketChange | None:
        return found.tick(later, POLICY)

    assert other.fire_due(later, 100, tick, messages_for) == []
    taken = repository.fire_due(later, 10, tick, messages_for)
    assert [c.ticket.call_id for c in taken] == calls[:10]  # oldest alarm first
    rest = repository.fire_due(later, 100, tick, messages_for)
    assert len(rest) == 20
    assert repository.fire_due(later, 100, tick, messages_for) == []
    for call in calls:
        kinds = [(e.kind.value, e.detail.get("level")) for e in repository.events(
            ticket(call).ticket_id) if e.kind.value.startswith("sla_")]
        assert kinds == [("sla_warning", "warning:70"), ("sla_warning", "warning:80"),
                         ("sla_warning", "warning:90"), ("sla_breached", "breach")]
        after = stored(repository, ticket(call).ticket_id)
        assert after.responded_in_time is False
        assert after.next_alarm_at is not None
        assert after.next_alarm_at > later  # the resolution clock's next warning


def test_two_timers_at_once_never_fire_a_level_twice(engine: Engine, services: Services
                                                     ) -> None:
    repository = fresh(engine, services, "race")
    calls = [f"{services.run_id}-race-{id(engine)}-{i}" for i in range(60)]
    create(repository, *(ticket(c) for c in calls))
    later = NOW + timedelta(hours=3)
    results: list[int] = []

    def run() -> None:
        fired = 0
        while True:
            taken = repository.fire_due(later, 7, lambda t: t.tick(later, POLICY), messages_for)
            if not taken:
                break
            fired += len(taken)
        results.append(fired)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sum(results) == len(calls)
    for call in calls:
        levels = [e.detail["level"] for e in repository.events(ticket(call).ticket_id)
                  if e.kind.value.startswith("sla_")]
        assert sorted(levels) == ["breach", "warning:70", "warning:80", "warning:90"]


def test_the_three_rates_count_open_overdue_tickets_against_the_unit(
        engine: Engine, services: Services) -> None:
    repository = fresh(engine, services, "rates")
    unit = f"unit-{services.run_id}-{id(engine)}"[:60]
    prefix = f"{services.run_id}-rates-{id(engine)}"
    names = ["satisfied", "basic", "unsatisfied", "late", "overdue", "open"]
    tickets = {name: ticket(f"{prefix}-{name}", unit=unit) for name in names}
    create(repository, *tickets.values())
    quick = NOW + timedelta(minutes=10)

    def work(name: str, *, late: bool = False) -> Ticket:
        at = NOW + timedelta(hours=3) if late else quick
        found = stored(repository, tickets[name].ticket_id)
        found = apply(repository, found.claim(unit, "staff", at, POLICY))
        found = apply(repository, found.contact(unit, "staff", "已联系", at, POLICY))
        return apply(repository, found.resolve(unit, "staff", "已处理", at, POLICY))

    answers = {"satisfied": (True, Satisfaction.SATISFIED),
               "basic": (True, Satisfaction.BASICALLY_SATISFIED),
               "unsatisfied": (False, Satisfaction.UNSATISFIED),
               "late": (True, Satisfaction.SATISFIED)}
    for name, (solved, satisfaction) in answers.items():
        resolved = work(name, late=name == "late")
        apply(repository, resolved.record_callback("D1", True, solved, satisfaction, None,
                                                   NOW + timedelta(hours=4), POLICY))
    # never touched, and a month later: past every target
    month = NOW + timedelta(days=30)
    for name in ("overdue",):
        found = stored(repository, tickets[name].ticket_id)
        apply(repository, found.tick(month, POLICY) or found.escalate("D1", "x", month, POLICY))
    counts = repository.outcome_counts(NOW - timedelta(days=1), NOW + timedelta(days=1), unit)
    total = sum(counts.values(), OutcomeCounts())
    assert total == OutcomeCounts(tickets=6, responded_in_time=3, responded_late=2, solved=3,
                                  not_solved=1, satisfied=2, basically_satisfied=1,
                                  unsatisfied=1, open_overdue=1)
    metrics = RouterMetrics()
    reports = RateReports(repository, RateDefinitions(basically_satisfied_weight=0.5),
                          metrics, clock=lambda: NOW + timedelta(hours=5))
    [group] = reports.rates(NOW - timedelta(days=1), NOW + timedelta(days=1), Grouping.UNIT,
                            unit)
    assert group.key == unit
    # 响应率 3 of 5 decided; 解决率 3 of 4 called back + 1 overdue; 满意率 (2 + 0.5) of 5
    assert (group.rates.response, group.rates.resolution, group.rates.satisfaction) == (
        0.6, 0.6, 0.5)
    reports.refresh()
    assert metrics.registry.get_sample_value(
        "hotline_unit_rate_ratio", {"department": unit, "rate": "response"}) == 0.6
    assert metrics.registry.get_sample_value(
        "hotline_open_tickets", {"department": unit}) == 3.0  # overdue, open, reopened


def test_a_period_without_tickets_has_no_rates_not_full_marks(engine: Engine,
                                                                services: Services) -> None:
    repository = fresh(engine, services, "empty")
    reports = RateReports(repository, RateDefinitions(), RouterMetrics())
    far = datetime(2001, 1, 1, tzinfo=UTC)
    [overall] = reports.rates(far, far + timedelta(days=1), Grouping.OVERALL)
    assert (overall.rates.response, overall.rates.resolution,
            overall.rates.satisfaction) == (None, None, None)


def test_a_ticket_the_policy_cannot_settle_does_not_hold_up_the_others(
        engine: Engine, services: Services) -> None:
    repository = fresh(engine, services, "poison")
    prefix = f"{services.run_id}-poison-{id(engine)}"
    stuck = dataclasses.replace(ticket(f"{prefix}-general"), urgency="general")
    fine = dataclasses.replace(ticket(f"{prefix}-urgent"), urgency="2h")  # 24x7 clocks only
    create(repository, stuck, fine)
    later = NOW + timedelta(hours=3)
    # sla.toml changed under running clocks: the workdays calendar is gone
    without_workdays = dataclasses.replace(POLICY, calendars={
        name: calendar for name, calendar in POLICY.calendars.items() if name != "workdays"})
    metrics = RouterMetrics()
    timer = SlaTimer(repository, without_workdays, metrics, clock=lambda: later)
    fired = timer.fire_due()
    assert [c.ticket.ticket_id for c in fired] == [fine.ticket_id]
    assert metrics.registry.get_sample_value("hotline_sla_timer_failures_total") == 1.0
    assert timer.wait_after(fired) == 0.0  # the alarm of the one left is due: look again
    assert timer.wait_after([]) == 0.05  # but never spin on what could not be taken
