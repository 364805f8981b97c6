"""Business calendars: when an SLA clock's time runs.

- `24x7`: every second counts.
- `workdays`: whole working days in China Standard Time. Statutory holidays are skipped, and
  the 调休 make-up working days (weekend days declared working days) count.
- `office-hours`: set intervals of the working days, e.g. 09:00–12:00 and 13:30–17:30.

Durations are exact `timedelta`s (microseconds), so adding and measuring agree to the
microsecond. A target of N days is N × 24 h of the calendar's time on every calendar: on
`workdays` that is N working days, on `office-hours` it is N × 24 office hours, so targets
on office hours are best written in hours.

Which days are working days is data (`WorkingDays`), built from a maintained holiday
package and the deployment's own additions when the configuration is loaded. A year the
data does not cover falls back to Monday–Friday, and `unknown_years` names it, so callers
can warn instead of silently getting a wrong deadline.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from enum import StrEnum

# China has kept UTC+8 all year since 1991: a fixed offset, no zone database needed.
CHINA_STANDARD_TIME = timezone(timedelta(hours=8), "CST")

_DAY = timedelta(days=1)
# A deadline further away than this is a configuration mistake, not a deadline.
_MAX_SPAN_DAYS = 366 * 20


class CalendarKind(StrEnum):
    ALWAYS = "24x7"
    WORKDAYS = "workdays"
    OFFICE_HOURS = "office-hours"


@dataclass(frozen=True, slots=True)
class WorkingDays:
    """Which days are working days: weekdays, minus `days_off`, plus `make_up_workdays`.
    `known_years` are the years whose official schedule these sets hold."""

    days_off: frozenset[date]
    make_up_workdays: frozenset[date]
    known_years: frozenset[int]

    def is_working_day(self, day: date) -> bool:
        if day in self.make_up_workdays:
            return True
        if day in self.days_off:
            return False
        return day.weekday() < 5

    def unknown_years(self, first: date, last: date) -> tuple[int, ...]:
        return tuple(year for year in range(first.year, last.year + 1)
                     if year not in self.known_years)


WEEKDAYS_ONLY = WorkingDays(frozenset(), frozenset(), frozenset())


@dataclass(frozen=True, slots=True)
class OfficeInterval:
    start: time
    end: time  # time(0) means midnight at the end of the day

    @property
    def start_offset(self) -> timedelta:
        return _offset(self.start)

    @property
    def end_offset(self) -> timedelta:
        return _DAY if self.end == time(0) else _offset(self.end)


def _offset(moment: time) -> timedelta:
    return timedelta(hours=moment.hour, minutes=moment.minute, seconds=moment.second,
                     microseconds=moment.microsecond)


WHOLE_DAY = (OfficeInterval(time(0), time(0)),)


@dataclass(frozen=True, slots=True)
class Calendar:
    """One named calendar. `intervals` are the working hours of each working day, in China
    Standard Time, in order and not overlapping; `24x7` ignores both days and intervals."""

    name: str
    kind: CalendarKind
    days: WorkingDays = WEEKDAYS_ONLY
    intervals: tuple[OfficeInterval, ...] = WHOLE_DAY

    def __post_init__(self) -> None:
        if self.kind is CalendarKind.ALWAYS:
            return
        if not self.intervals:
            raise ValueError(f"calendar {self.name!r} has no working hours")
        previous_end = timedelta(0)
        for interval in self.intervals:
            if not previous_end <= interval.start_offset < interval.end_offset:
                raise ValueError(f"calendar {self.name!r}: working hours must be in order,"
                                 " each ending after it starts, without overlap")
            previous_end = interval.end_offset

    def add(self, start: datetime, duration: timedelta) -> datetime:
        """The moment `duration` of this calendar's time after `start` (timezone-aware).
        A zero duration is `start` itself, even outside working hours."""
        _require_aware(start)
        if duration < timedelta(0):
            raise ValueError("a duration to add cannot be negative")
        if self.kind is CalendarKind.ALWAYS or duration == timedelta(0):
            return start + duration
        left = duration
        for window_start, window_end in self._windows(start):
            available = window_end - window_start
            if left <= available:
                return (window_start + left).astimezone(start.tzinfo)
            left -= available
        raise ValueError(f"calendar {self.name!r}: {duration} is more working time than"
                         f" {_MAX_SPAN_DAYS} days hold")

    def elapsed(self, start: datetime, end: datetime) -> timedelta:
        """This calendar's time between `start` and `end` (zero when `end` is not later)."""
        _require_aware(start)
        _require_aware(end)
        if end <= start:
            return timedelta(0)
        if self.kind is CalendarKind.ALWAYS:
            return end - start
        total = timedelta(0)
        for window_start, window_end in self._windows(start):
            if window_start >= end:
                break
            total += min(window_end, end) - window_start
        return total

    def unknown_years(self, start: datetime, end: datetime) -> tuple[int, ...]:
        """Years between `start` and `end` whose holidays this calendar does not know."""
        if self.kind is CalendarKind.ALWAYS:
            return ()
        return self.days.unknown_years(start.astimezone(CHINA_STANDARD_TIME).date(),
                                       end.astimezone(CHINA_STANDARD_TIME).date())

    def _windows(self, start: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Working time from `start` on, as (from, to) spans in China Standard Time."""
        local = start.astimezone(CHINA_STANDARD_TIME)
        day = local.date()
        for _ in range(_MAX_SPAN_DAYS):
            if self.days.is_working_day(day):
                midnight = datetime.combine(day, time(0), CHINA_STANDARD_TIME)
                for interval in self.intervals:
                    window_start = max(midnight + interval.start_offset, local)
                    window_end = midnight + interval.end_offset
                    if window_start < window_end:
                        yield window_start, window_end
            day += _DAY


def _require_aware(moment: datetime) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("a time without a UTC offset is ambiguous: give it one")


def parse_duration(text: str) -> timedelta:
    """`30m`, `2h` or `7d` (minutes, hours, days of the calendar's time); a whole number,
    at least 1. Seconds (`90s`) serve drills and demos."""
    units = {"s": timedelta(seconds=1), "m": timedelta(minutes=1), "h": timedelta(hours=1),
             "d": _DAY}
    value, unit = text.strip()[:-1], text.strip()[-1:]
    if unit not in units or not (value.isascii() and value.isdigit()) or int(value) < 1:
        raise ValueError(f"{text!r} is not a duration: write a whole number and m, h or d"
                         " (or s), e.g. 30m, 2h, 7d")
    return int(value) * units[unit]
