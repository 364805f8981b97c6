"""SLA clocks: named clocks that start, pause, resume and stop on a business calendar, and
the warnings, breach and escalations each one crosses on the way.

A clock is a value. Every operation takes the moment it happens and returns a new clock;
`settle` first records every level the clock has crossed up to that moment, with the moment
each was crossed, so a level is noticed exactly once whether a timer, a late timer or the
next change to the ticket gets there first. The policy (which clocks, their targets,
calendars, warning fractions and escalation steps) is data from `config/sla.toml`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from router.domain.calendars import Calendar


class ClockName(StrEnum):
    DISPATCH = "dispatch"  # the centre: from intake (or a return) to a unit holding it
    SIGN = "sign"  # the unit: from hand-over to 签收
    FIRST_RESPONSE = "first_response"  # the unit: from hand-over to first contact
    RESOLUTION = "resolution"  # the citizen's: from creation to 办结, never reset
    CALLBACK = "callback"  # the centre: from 办结 to 回访


class ClockPhase(StrEnum):
    RUNNING = "running"
    PAUSED = "paused"
    STOPPED = "stopped"


BREACH = "breach"


def warning_level(fraction: float) -> str:
    return f"warning:{round(fraction * 100)}"


def escalation_level(step: int) -> str:
    return f"escalation:{step}"


@dataclass(frozen=True, slots=True)
class TargetRule:
    """A target for tickets of these urgencies and categories (empty: any)."""

    target: timedelta
    urgencies: frozenset[str] = frozenset()
    categories: frozenset[str] = frozenset()
    calendar: str | None = None  # None: the clock's own

    def applies(self, urgency: str, category: str) -> bool:
        return ((not self.urgencies or urgency in self.urgencies)
                and (not self.categories or category in self.categories))


@dataclass(frozen=True, slots=True)
class ClockPolicy:
    name: ClockName
    calendar: str
    target: timedelta  # when no rule applies
    rules: tuple[TargetRule, ...] = ()
    pausable: bool = False  # stops counting while the ticket waits for the citizen
    warn_at: tuple[float, ...] = (0.7, 0.8, 0.9)  # fractions of the target, ascending
    escalate_after: tuple[timedelta, ...] = ()  # calendar time after the breach, ascending

    def __post_init__(self) -> None:
        # A level is named by its whole percentage: two fractions of one name would be one
        # level crossed twice.
        percents = [f * 100 for f in self.warn_at]
        whole = [round(p) for p in percents]
        if (any(not 0 < p < 100 or abs(p - round(p)) > 1e-6 for p in percents)
                or whole != sorted(set(whole))):
            raise ValueError(f"clock {self.name}: warnings must be distinct whole percentages"
                             f" of the target, ascending, e.g. 0.7, 0.8, 0.9; not {self.warn_at}")

    def target_for(self, urgency: str, category: str) -> tuple[timedelta, str]:
        """The target and calendar name of this clock for a ticket; the first rule wins."""
        for rule in self.rules:
            if rule.applies(urgency, category):
                return rule.target, rule.calendar or self.calendar
        return self.target, self.calendar


@dataclass(frozen=True, slots=True)
class SlaPolicy:
    clocks: Mapping[ClockName, ClockPolicy]
    calendars: Mapping[str, Calendar]
    max_returns: int = 2  # returns before a dispatcher's ruling (审定) is needed
    callback_attempts: int = 3  # unanswered callbacks before the ticket is closed unreached

    def calendar(self, name: str) -> Calendar:
        return self.calendars[name]

    def start(self, name: ClockName, urgency: str, category: str, at: datetime,
              round_number: int = 1) -> Clock | None:
        """A new running clock, or None when the policy has no such clock."""
        policy = self.clocks.get(name)
        if policy is None:
            return None
        target, calendar = policy.target_for(urgency, category)
        due = self.calendars[calendar].add(at, target)
        return Clock(name=name, calendar=calendar, round=round_number, started_at=at,
                     target=target, due_at=due, original_due_at=due,
                     phase=ClockPhase.RUNNING, elapsed=timedelta(0), running_since=at)

    def levels(self, clock: Clock) -> tuple[tuple[str, timedelta], ...]:
        """Every level of a clock with the clock time at which it is crossed, in order."""
        policy = self.clocks.get(clock.name)
        warn_at = policy.warn_at if policy else ()
        escalate_after = policy.escalate_after if policy else ()
        return (*((warning_level(f), clock.target * f) for f in warn_at),
                (BREACH, clock.target),
                *((escalation_level(i + 1), clock.target + after)
                  for i, after in enumerate(escalate_after)))


@dataclass(frozen=True, slots=True)
class Crossing:
    """A level a clock crossed, and when it did (which may be before it was noticed)."""

    clock: ClockName
    round: int
    level: str
    at: datetime


@dataclass(frozen=True, slots=True)
class Clock:
    """One clock of one ticket. `elapsed` is calendar time counted before `running_since`;
    while running, the time since then counts too. `due_at` is None while paused (the time
    left is `target - elapsed`); `original_due_at` is the due time before any extension."""

    name: ClockName
    calendar: str
    round: int  # 1, then +1 each time it starts again (a new unit's sign clock)
    started_at: datetime
    target: timedelta
    due_at: datetime | None
    original_due_at: datetime
    phase: ClockPhase
    elapsed: timedelta
    running_since: datetime | None = None
    breached_at: datetime | None = None
    stopped_at: datetime | None = None
    crossed: tuple[str, ...] = ()  # levels already noticed this round

    @property
    def is_running(self) -> bool:
        return self.phase is ClockPhase.RUNNING

    @property
    def breached(self) -> bool:
        return self.breached_at is not None

    def elapsed_at(self, moment: datetime, calendar: Calendar) -> timedelta:
        if self.running_since is None:
            return self.elapsed
        return self.elapsed + calendar.elapsed(self.running_since, moment)

    def remaining_at(self, moment: datetime, calendar: Calendar) -> timedelta:
        """Calendar time left before the due time; negative once breached."""
        return self.target - self.elapsed_at(moment, calendar)


def _moment_of(clock: Clock, clock_time: timedelta, calendar: Calendar) -> datetime | None:
    """When a running clock reaches `clock_time` of elapsed time (None: not running)."""
    if clock.running_since is None:
        return None
    if clock_time <= clock.elapsed:
        return clock.running_since
    return calendar.add(clock.running_since, clock_time - clock.elapsed)


def settle(clock: Clock, now: datetime, policy: SlaPolicy) -> tuple[Clock, list[Crossing]]:
    """Record every level the clock crossed up to `now`, each once, with when it was."""
    if not clock.is_running:
        return clock, []
    calendar = policy.calendar(clock.calendar)
    crossings = []
    breached_at = clock.breached_at
    for level, clock_time in policy.levels(clock):
        if level in clock.crossed:
            continue
        moment = _moment_of(clock, clock_time, calendar)
        if moment is None or moment > now:
            break  # levels come in order: none after this one is due either
        crossings.append(Crossing(clock.name, clock.round, level, moment))
        if level == BREACH:
            breached_at = moment
    if not crossings:
        return clock, []
    return dataclasses.replace(clock, breached_at=breached_at, crossed=(
        *clock.crossed, *(c.level for c in crossings))), crossings


def next_alarm(clock: Clock, policy: SlaPolicy) -> datetime | None:
    """When this clock next crosses a level it has not crossed yet (None: never, as it is)."""
    if not clock.is_running:
        return None
    calendar = policy.calendar(clock.calendar)
    for level, clock_time in policy.levels(clock):
        if level not in clock.crossed:
            return _moment_of(clock, clock_time, calendar)
    return None


def pause(clock: Clock, at: datetime, policy: SlaPolicy) -> Clock:
    if not clock.is_running:
        return clock
    calendar = policy.calendar(clock.calendar)
    return dataclasses.replace(clock, phase=ClockPhase.PAUSED,
                               elapsed=clock.elapsed_at(at, calendar), running_since=None,
                               due_at=None)


def resume(clock: Clock, at: datetime, policy: SlaPolicy) -> Clock:
    if clock.phase is not ClockPhase.PAUSED:
        return clock
    calendar = policy.calendar(clock.calendar)
    return dataclasses.replace(clock, phase=ClockPhase.RUNNING, running_since=at,
                               due_at=_due_from(clock, at, calendar))


def _due_from(clock: Clock, running_since: datetime, calendar: Calendar) -> datetime:
    if clock.breached_at is not None:
        return clock.breached_at if clock.due_at is None else clock.due_at
    return calendar.add(running_since, max(clock.target - clock.elapsed, timedelta(0)))


def stop(clock: Clock, at: datetime, policy: SlaPolicy) -> Clock:
    if clock.phase is ClockPhase.STOPPED:
        return clock
    calendar = policy.calendar(clock.calendar)
    return dataclasses.replace(clock, phase=ClockPhase.STOPPED,
                               elapsed=clock.elapsed_at(at, calendar), running_since=None,
                               stopped_at=at, due_at=clock.due_at or _due_from(clock, at,
                                                                               calendar))


def carry_on(clock: Clock) -> Clock:
    """A stopped clock running again as though it had never stopped (a reopened ticket's
    resolution clock: the demand was not solved, so the time since counts). Settle it at
    once to notice the levels it crossed meanwhile."""
    if clock.phase is not ClockPhase.STOPPED or clock.stopped_at is None:
        return clock
    return dataclasses.replace(clock, phase=ClockPhase.RUNNING, running_since=clock.stopped_at,
                               stopped_at=None)


def extend(clock: Clock, new_due: datetime, at: datetime, policy: SlaPolicy) -> Clock:
    """延期 granted: the due time moves to `new_due`, the original due time stays."""
    calendar = policy.calendar(clock.calendar)
    elapsed = clock.elapsed_at(at, calendar)
    target = elapsed + calendar.elapsed(at, new_due)
    if target < clock.target:
        raise ValueError("an extension cannot bring the due time forward")
    return dataclasses.replace(clock, target=target,
                               due_at=new_due if clock.is_running else None)


def earliest(moments: Sequence[datetime | None]) -> datetime | None:
    found = [m for m in moments if m is not None]
    return min(found) if found else None
