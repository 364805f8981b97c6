"""The dispatcher's calculator: the SLA clock maths, from the command line."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from router.domain.calendars import Calendar, parse_duration
from router.sla_config import load_sla_config


def _calendar(config_dir: Path, name: str) -> Calendar:
    calendars = load_sla_config(config_dir / "sla.toml").policy.calendars
    if name not in calendars:
        raise ValueError(f"no calendar {name!r}; known: {', '.join(sorted(calendars))}")
    return calendars[name]


def parse_moment(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{text!r} is not an ISO 8601 time, e.g. 2026-12-02T09:00+08:00"
                         ) from None
    if moment.tzinfo is None:
        raise ValueError(f"{text!r} has no UTC offset: add one, e.g. +08:00 for China"
                         " Standard Time")
    return moment


def _warnings(calendar: Calendar, start: datetime, end: datetime) -> list[str]:
    return [f"the holidays of {year} are not known: counted Monday to Friday; declare the year"
            " in sla.toml ([[holidays.year]])" for year in calendar.unknown_years(start, end)]


def deadline(config_dir: Path, start_text: str, target_text: str, calendar_name: str
             ) -> dict[str, object]:
    calendar = _calendar(config_dir, calendar_name)
    start, target = parse_moment(start_text), parse_duration(target_text)
    due = calendar.add(start, target)
    return {"from": start.isoformat(), "target": target_text,
            "target_seconds": target.total_seconds(), "calendar": calendar.name,
            "due_at": due.isoformat(), "wall_seconds": (due - start).total_seconds(),
            "warnings": _warnings(calendar, start, due)}


def business_time(config_dir: Path, start_text: str, end_text: str, calendar_name: str
                  ) -> dict[str, object]:
    calendar = _calendar(config_dir, calendar_name)
    start, end = parse_moment(start_text), parse_moment(end_text)
    return {"from": start.isoformat(), "to": end.isoformat(), "calendar": calendar.name,
            "seconds": calendar.elapsed(start, end).total_seconds(),
            "warnings": _warnings(calendar, start, end)}
