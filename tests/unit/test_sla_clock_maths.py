"""Properties of the SLA clock maths (business calendars, pausing, settling), checked with
generated calendars, holidays and clocks, and a few worked examples of the shipped policy."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone
from pathlib import Path

import chinese_calendar
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from router.domain.calendars import (
    CHINA_STANDARD_TIME,
    WHOLE_DAY,
    Calendar,
    CalendarKind,
    OfficeInterval,
    WorkingDays,
)
from router.domain.sla import (
    Clock,
    ClockName,
    ClockPhase,
    ClockPolicy,
    Crossing,
    SlaPolicy,
    next_alarm,
    pause,
    resume,
    settle,
)
from router.sla_config import load_sla_config
from router.sla_tools import deadline

CONFIG_DIR = Path(__file__).resolve().parents[2] / "config"
SHIPPED = load_sla_config(CONFIG_DIR / "sla.toml").policy
REAL_CALENDARS = [SHIPPED.calendar(name) for name in ("24x7", "workdays", "office-hours")]
REAL_DAYS = SHIPPED.calendar("workdays").days

MINUTE = timedelta(minutes=1)
DAY = timedelta(days=1)
MICROSECOND = timedelta(microseconds=1)
FIRST_DAY, LAST_DAY = date(2024, 1, 1), date(2026, 12, 31)
EPOCH = datetime(2024, 1, 1, tzinfo=CHINA_STANDARD_TIME)
SPAN_SECONDS = int((datetime(2027, 1, 1, tzinfo=CHINA_STANDARD_TIME) - EPOCH).total_seconds())
ZONES = [CHINA_STANDARD_TIME, UTC, timezone(timedelta(hours=8)),
         timezone(timedelta(hours=-5)), timezone(timedelta(hours=5, minutes=30))]

CLOCK_SETTINGS = settings(max_examples=150, deadline=None)
CALENDAR_SETTINGS = settings(max_examples=200, deadline=None)


# --- strategies --------------------------------------------------------------------------

moments: st.SearchStrategy[datetime] = st.builds(
    lambda seconds, zone: (EPOCH + timedelta(seconds=seconds)).astimezone(zone),
    st.integers(0, SPAN_SECONDS - 1), st.sampled_from(ZONES))
# Wall-clock gaps up to 30 days, in whole seconds.
gaps: st.SearchStrategy[timedelta] = st.integers(0, 30 * 24 * 3600).map(
    lambda s: timedelta(seconds=s))
days_in_range: st.SearchStrategy[date] = st.dates(FIRST_DAY, LAST_DAY)


@st.composite
def working_day_sets(draw: st.DrawFn) -> WorkingDays:
    """Random holidays and make-up days, or China's real ones."""
    if draw(st.booleans()):
        return REAL_DAYS
    return WorkingDays(days_off=draw(st.frozensets(days_in_range, max_size=30)),
                       make_up_workdays=draw(st.frozensets(days_in_range, max_size=10)),
                       known_years=frozenset({2024, 2025, 2026}))


def _clock_time(minute: int) -> time:
    return time(0) if minute == 24 * 60 else time(minute // 60, minute % 60)


@st.composite
def office_hours(draw: st.DrawFn) -> tuple[OfficeInterval, ...]:
    """One to four ordered, non-overlapping intervals, whole minutes, maybe up to 24:00."""
    bounds = sorted(draw(st.lists(st.integers(0, 24 * 60), min_size=2, max_size=8,
                                  unique=True)))
    if len(bounds) % 2:
        bounds.pop()
    return tuple(OfficeInterval(_clock_time(start), _clock_time(end))
                 for start, end in zip(bounds[::2], bounds[1::2], strict=True))


@st.composite
def custom_calendars(draw: st.DrawFn, days: WorkingDays | None = None) -> Calendar:
    kind = draw(st.sampled_from([CalendarKind.WORKDAYS, CalendarKind.OFFICE_HOURS]))
    chosen = days if days is not None else draw(working_day_sets())
    intervals = WHOLE_DAY if kind is CalendarKind.WORKDAYS else draw(office_hours())
    return Calendar(f"custom-{kind.value}", kind, chosen, intervals)


calendars: st.SearchStrategy[Calendar] = st.one_of(st.sampled_from(REAL_CALENDARS),
                                                   custom_calendars())


def daily_working_time(calendar: Calendar) -> timedelta:
    if calendar.kind is CalendarKind.ALWAYS:
        return DAY
    return sum((i.end_offset - i.start_offset for i in calendar.intervals), timedelta(0))


def durations_for(calendar: Calendar, at_least: int = 0) -> st.SearchStrategy[timedelta]:
    """Whole minutes of calendar time, up to 30 days and at most ~30 working days' worth (a
    calendar of one minute a day must not have to look decades ahead)."""
    most = min(30 * 24 * 60, daily_working_time(calendar) // MINUTE * 30)
    return st.integers(at_least, max(most, at_least)).map(lambda m: m * MINUTE)


@st.composite
def calendars_and_durations(draw: st.DrawFn) -> tuple[Calendar, timedelta]:
    calendar = draw(calendars)
    return calendar, draw(durations_for(calendar))


@st.composite
def policies(draw: st.DrawFn) -> SlaPolicy:
    """One pausable clock on any calendar, with warnings and escalation steps as the
    configuration allows them (distinct whole percentages, ascending; steps sorted)."""
    calendar = draw(calendars)
    target = draw(durations_for(calendar, at_least=1))
    warn_at = tuple(p / 100 for p in sorted(draw(st.lists(
        st.integers(1, 99), max_size=4, unique=True))))
    escalate_after = tuple(sorted(draw(st.lists(durations_for(calendar, at_least=1),
                                                max_size=3))))
    clock = ClockPolicy(ClockName.RESOLUTION, calendar.name, target, pausable=True,
                        warn_at=warn_at, escalate_after=escalate_after)
    return SlaPolicy({ClockName.RESOLUTION: clock}, {calendar.name: calendar})


# Each step of a history: run this long (wall time), settle (or not), pause, resume this
# much later.
histories: st.SearchStrategy[list[tuple[timedelta, bool, timedelta]]] = st.lists(
    st.tuples(gaps, st.booleans(), gaps), max_size=3)


def run_history(policy: SlaPolicy, start: datetime,
                history: list[tuple[timedelta, bool, timedelta]]) -> Clock:
    """A running clock started at `start` that went through `history`."""
    clock = policy.start(ClockName.RESOLUTION, "general", "any", start)
    assert clock is not None
    for run, settle_first, paused_for in history:
        assert clock.running_since is not None
        at = clock.running_since + run
        if settle_first:
            clock, _ = settle(clock, at, policy)
        clock = resume(pause(clock, at, policy), at + paused_for, policy)
    assert clock.is_running
    return clock


# --- 1. pausing ----------------------------------------------------------------------------

@CLOCK_SETTINGS
@given(policies(), moments, histories, gaps, gaps, st.booleans())
def test_a_pause_never_shortens_a_deadline(
        policy: SlaPolicy, start: datetime, history: list[tuple[timedelta, bool, timedelta]],
        run: timedelta, paused_for: timedelta, settle_first: bool) -> None:
    clock = run_history(policy, start, history)
    assert clock.running_since is not None
    due_without_pause = clock.due_at
    assert due_without_pause is not None
    paused_at = clock.running_since + run
    if settle_first:
        clock, _ = settle(clock, paused_at, policy)
    paused = pause(clock, paused_at, policy)
    assert paused.phase is ClockPhase.PAUSED
    resumed = resume(paused, paused_at + paused_for, policy)
    assert resumed.due_at is not None
    assert resumed.due_at >= due_without_pause


# --- 2. holidays -----------------------------------------------------------------------------

@CALENDAR_SETTINGS
@given(st.data(), working_day_sets(), moments, st.integers(0, 60))
def test_a_holiday_never_makes_a_deadline_earlier(
        data: st.DataObject, days: WorkingDays, start: datetime, days_later: int) -> None:
    calendar = data.draw(custom_calendars(days), label="calendar")
    duration = data.draw(durations_for(calendar), label="duration")
    holiday = start.astimezone(CHINA_STANDARD_TIME).date() + timedelta(days=days_later)
    with_holiday = Calendar(calendar.name, calendar.kind,
                            WorkingDays(days.days_off | {holiday}, days.make_up_workdays,
                                        days.known_years),
                            calendar.intervals)
    assert with_holiday.add(start, duration) >= calendar.add(start, duration)


# --- 3. business time within wall time ---------------------------------------------------------

@CALENDAR_SETTINGS
@given(calendars, moments, gaps)
def test_business_time_elapsed_never_exceeds_wall_time(
        calendar: Calendar, start: datetime, gap: timedelta) -> None:
    end = start + gap
    elapsed = calendar.elapsed(start, end)
    assert timedelta(0) <= elapsed <= end - start
    assert calendar.elapsed(end, start) == timedelta(0)


# --- 4. adding time is monotone and the inverse of measuring it ------------------------------

@CALENDAR_SETTINGS
@given(st.data(), calendars, moments)
def test_adding_more_time_never_moves_a_deadline_back(
        data: st.DataObject, calendar: Calendar, start: datetime) -> None:
    first = data.draw(durations_for(calendar), label="d1")
    second = data.draw(durations_for(calendar), label="d2")
    shorter, longer = sorted((first, second))
    assert calendar.add(start, shorter) <= calendar.add(start, longer)


@CALENDAR_SETTINGS
@given(calendars_and_durations(), moments)
def test_add_is_exactly_undone_by_elapsed(
        calendar_and_duration: tuple[Calendar, timedelta], start: datetime) -> None:
    calendar, duration = calendar_and_duration
    due = calendar.add(start, duration)
    assert due >= start
    assert calendar.elapsed(start, due) == duration


# --- 5. 调休 make-up days and statutory holidays (the shipped calendar) -------------------------

@pytest.mark.parametrize(("day", "workday_hours", "office_hours_counted"), [
    (date(2026, 2, 14), 24, 7),  # Saturday, make-up working day for the Spring Festival
    (date(2026, 10, 10), 24, 7),  # Saturday, make-up working day for National Day
    (date(2026, 10, 1), 0, 0),  # National Day
    (date(2026, 2, 17), 0, 0),  # Spring Festival
    (date(2026, 12, 5), 0, 0),  # a plain Saturday
    (date(2026, 12, 2), 24, 7),  # a plain Wednesday
], ids=str)
def test_make_up_saturdays_count_and_statutory_holidays_do_not(
        day: date, workday_hours: int, office_hours_counted: int) -> None:
    midnight = datetime.combine(day, time(0), CHINA_STANDARD_TIME)
    workdays, office = SHIPPED.calendar("workdays"), SHIPPED.calendar("office-hours")
    assert workdays.elapsed(midnight, midnight + DAY) == timedelta(hours=workday_hours)
    assert office.elapsed(midnight, midnight + DAY) == timedelta(hours=office_hours_counted)


@settings(max_examples=300, deadline=None)
@given(days_in_range)
def test_the_shipped_workdays_follow_the_holiday_package(day: date) -> None:
    midnight = datetime.combine(day, time(0), CHINA_STANDARD_TIME)
    counted = SHIPPED.calendar("workdays").elapsed(midnight, midnight + DAY)
    assert counted == (DAY if chinese_calendar.is_workday(day) else timedelta(0))


# --- 6. a later start -------------------------------------------------------------------------

@CALENDAR_SETTINGS
@given(calendars_and_durations(), moments, gaps)
def test_a_later_start_never_gives_an_earlier_deadline(
        calendar_and_duration: tuple[Calendar, timedelta], start: datetime,
        delay: timedelta) -> None:
    calendar, duration = calendar_and_duration
    assert calendar.add(start, duration) <= calendar.add(start + delay, duration)


# --- 7. settle notices each level once ---------------------------------------------------------

@CLOCK_SETTINGS
@given(policies(), moments, histories, gaps, gaps)
def test_settle_reports_each_level_at_most_once(
        policy: SlaPolicy, start: datetime, history: list[tuple[timedelta, bool, timedelta]],
        first_gap: timedelta, second_gap: timedelta) -> None:
    clock = run_history(policy, start, history)
    assert clock.running_since is not None
    first = clock.running_since + first_gap
    second = first + second_gap

    once, all_at_once = settle(clock, second, policy)
    early, before = settle(clock, first, policy)
    late, after = settle(early, second, policy)

    levels = [c.level for c in all_at_once]
    assert len(levels) == len(set(levels)), "a level reported twice by one settle"
    assert not set(levels) & set(clock.crossed), "a level reported again"
    assert not {c.level for c in before} & {c.level for c in after}
    assert [*before, *after] == all_at_once
    assert late.crossed == once.crossed
    assert late.breached_at == once.breached_at
    assert all(c.at <= second for c in all_at_once)
    assert settle(once, second, policy)[1] == []


# --- 8. next_alarm is the next crossing --------------------------------------------------------

@CLOCK_SETTINGS
@given(policies(), moments, histories, st.none() | gaps)
def test_next_alarm_is_the_first_crossing_settle_would_report(
        policy: SlaPolicy, start: datetime, history: list[tuple[timedelta, bool, timedelta]],
        settled_after: timedelta | None) -> None:
    clock = run_history(policy, start, history)
    assert clock.running_since is not None
    if settled_after is not None:
        clock, _ = settle(clock, clock.running_since + settled_after, policy)
    alarm = next_alarm(clock, policy)
    if alarm is None:
        assert set(clock.crossed) == {level for level, _ in policy.levels(clock)}
        assert settle(clock, datetime(2100, 1, 1, tzinfo=UTC), policy)[1] == []
        return
    assert settle(clock, alarm - MICROSECOND, policy)[1] == []
    _, crossings = settle(clock, alarm, policy)
    assert crossings
    assert crossings[0].at == alarm
    assert all(c.at == alarm for c in crossings)


# --- worked examples ---------------------------------------------------------------------------

def test_one_working_day_before_national_day_is_due_after_it() -> None:
    result = deadline(CONFIG_DIR, "2026-09-30T10:00+08:00", "1d", "workdays")
    assert result["due_at"] == "2026-10-08T10:00:00+08:00"
    assert result["warnings"] == []


def test_office_hours_skip_the_lunch_break() -> None:
    result = deadline(CONFIG_DIR, "2026-12-02T11:00+08:00", "3h", "office-hours")
    assert result["due_at"] == "2026-12-02T15:30:00+08:00"
    office = SHIPPED.calendar("office-hours")
    start = datetime(2026, 12, 2, 11, tzinfo=CHINA_STANDARD_TIME)
    assert office.add(start, timedelta(hours=3)) == datetime(2026, 12, 2, 15, 30,
                                                             tzinfo=CHINA_STANDARD_TIME)


def test_the_answer_keeps_the_offset_it_was_asked_in() -> None:
    result = deadline(CONFIG_DIR, "2026-12-02T03:00+00:00", "3h", "office-hours")
    assert result["due_at"] == "2026-12-02T07:30:00+00:00"


def test_a_deadline_running_into_an_unknown_year_carries_a_warning() -> None:
    result = deadline(CONFIG_DIR, "2026-12-28T10:00+08:00", "7d", "workdays")
    warnings = result["warnings"]
    assert isinstance(warnings, list)
    assert len(warnings) == 1
    assert "2027" in warnings[0]
    # 2027 falls back to Monday to Friday: 1 January (a Friday) counts.
    assert result["due_at"] == "2027-01-06T10:00:00+08:00"


def test_a_time_without_an_offset_is_refused() -> None:
    with pytest.raises(ValueError, match="UTC offset"):
        deadline(CONFIG_DIR, "2026-09-30T10:00", "1d", "workdays")
    with pytest.raises(ValueError, match="UTC offset"):
        SHIPPED.calendar("workdays").add(datetime(2026, 9, 30, 10), DAY)


def test_the_resolution_clock_over_national_day() -> None:
    start = datetime(2026, 9, 30, 10, tzinfo=CHINA_STANDARD_TIME)
    clock = SHIPPED.start(ClockName.RESOLUTION, "general", "any", start)
    assert clock is not None
    # Sep 30 (14 h), Oct 8, 9, 10 (make-up Saturday), 12, 13, 14, then 10 h of Oct 15.
    assert clock.due_at == datetime(2026, 10, 15, 10, tzinfo=CHINA_STANDARD_TIME)


def test_a_pause_over_a_weekend_leaves_a_workdays_deadline_alone() -> None:
    start = datetime(2026, 12, 2, 9, tzinfo=CHINA_STANDARD_TIME)  # a Wednesday
    clock = SHIPPED.start(ClockName.RESOLUTION, "general", "any", start)
    assert clock is not None
    paused = pause(clock, datetime(2026, 12, 5, 10, tzinfo=CHINA_STANDARD_TIME), SHIPPED)
    resumed = resume(paused, datetime(2026, 12, 6, 20, tzinfo=CHINA_STANDARD_TIME), SHIPPED)
    assert resumed.due_at == clock.due_at == datetime(2026, 12, 11, 9,
                                                      tzinfo=CHINA_STANDARD_TIME)
    # A pause on a working day moves it by the working time lost.
    paused = pause(clock, datetime(2026, 12, 3, 9, tzinfo=CHINA_STANDARD_TIME), SHIPPED)
    resumed = resume(paused, datetime(2026, 12, 3, 15, tzinfo=CHINA_STANDARD_TIME), SHIPPED)
    assert resumed.due_at == datetime(2026, 12, 11, 15, tzinfo=CHINA_STANDARD_TIME)


def test_settle_reports_the_moments_the_warnings_were_crossed() -> None:
    start = datetime(2026, 12, 2, 9, tzinfo=CHINA_STANDARD_TIME)
    clock = SHIPPED.start(ClockName.FIRST_RESPONSE, "general", "any", start)
    assert clock is not None
    assert next_alarm(clock, SHIPPED) == start + timedelta(hours=16, minutes=48)
    clock, crossings = settle(clock, start + timedelta(hours=20), SHIPPED)
    assert crossings == [
        Crossing(ClockName.FIRST_RESPONSE, 1, "warning:70", start + timedelta(hours=16.8)),
        Crossing(ClockName.FIRST_RESPONSE, 1, "warning:80", start + timedelta(hours=19.2)),
    ]
    assert next_alarm(clock, SHIPPED) == start + timedelta(hours=21, minutes=36)
    _, crossings = settle(clock, start + timedelta(days=2), SHIPPED)
    assert [c.level for c in crossings] == ["warning:90", "breach"]
    assert crossings[-1].at == start + DAY
