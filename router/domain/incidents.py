"""未诉先办: one incident for many callers about the same matter.

Different callers about the same thing, in the same area, within a short window of event time,
attach to one parent incident: the first report's ticket leads it, the later ones are counted
on it as reports instead of becoming tickets. A report joins the incident whose *profile* (the
character 3-grams most often seen in its reports, bounded) contains the largest share of the
report's own 3-grams, when that share reaches the threshold. The profile grows with the
incident's phrasings, so "高速封了被困服务区" and "大雪封路车堵在收费站" both find it once
enough callers have used those words, while a different matter in the same area shares too
few 3-grams to join.

Pure: the caller gives each report's 3-grams; storing and locking are the adapters' work.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum


class Priority(StrEnum):
    ROUTINE = "routine"
    HIGH = "high"
    CRITICAL = "critical"


_PRIORITY_ORDER = (Priority.ROUTINE, Priority.HIGH, Priority.CRITICAL)
# Reports of these urgencies make an incident at least HIGH: someone is waiting in danger.
PRESSING_URGENCIES = frozenset({"emergency", "2h"})


@dataclass(frozen=True, slots=True)
class IncidentPolicy:
    window: timedelta = timedelta(hours=6)  # after its latest report, in event time
    min_share: float = 0.5  # of a report's 3-grams found in the incident's profile
    profile_size: int = 300  # 3-grams kept per incident, the most reported first
    high_at: int = 10  # reports that make an incident HIGH priority
    critical_at: int = 100  # … and CRITICAL
    min_shingles: int = 4  # shorter texts ("停水了") say too little to join anything

    def __post_init__(self) -> None:
        if not 0 < self.min_share <= 1:
            raise ValueError("min_share must be in (0, 1]")
        if self.profile_size < 1 or self.min_shingles < 1:
            raise ValueError("profile_size and min_shingles must be positive")
        if not 1 <= self.high_at <= self.critical_at:
            raise ValueError("need 1 <= high_at <= critical_at")


@dataclass(frozen=True, slots=True)
class Incident:
    incident_id: str
    lead_ticket_id: str
    area: str
    category: str
    opened_at: datetime  # the first report's event time
    last_report_at: datetime  # the latest report's event time
    reports: int  # the lead ticket's call included
    pressing_reports: int  # reports of an emergency or 2 h urgency
    priority: Priority
    profile: Mapping[str, int] = field(default_factory=dict)  # 3-gram → reports using it

    def share_of(self, grams: frozenset[str]) -> float:
        """How much of a report's 3-grams the incident's profile holds."""
        if not grams:
            return 0.0
        return sum(1 for gram in grams if gram in self.profile) / len(grams)

    def takes_at(self, received_at: datetime, policy: IncidentPolicy) -> bool:
        """Still taking reports at this event time (late reports within the window too)."""
        return (self.opened_at - policy.window <= received_at
                <= self.last_report_at + policy.window)

    def with_report(self, grams: Iterable[str], received_at: datetime, urgency: str,
                    policy: IncidentPolicy) -> Incident:
        counts = dict(self.profile)
        for gram in grams:
            counts[gram] = counts.get(gram, 0) + 1
        if len(counts) > policy.profile_size * 5 // 4:  # pruned in steps: sorting is dear
            counts = _most_reported(counts, policy.profile_size)
        reports = self.reports + 1
        pressing = self.pressing_reports + (urgency in PRESSING_URGENCIES)
        return dataclasses.replace(
            self, reports=reports, pressing_reports=pressing,
            last_report_at=max(self.last_report_at, received_at),
            opened_at=min(self.opened_at, received_at),
            priority=max(self.priority, priority_for(reports, pressing, policy),
                         key=_PRIORITY_ORDER.index),
            profile=counts)

    def absorbing(self, other: Incident, policy: IncidentPolicy) -> Incident:
        """This incident after a dispatcher merged `other` into it."""
        counts = dict(self.profile)
        for gram, seen in other.profile.items():
            counts[gram] = counts.get(gram, 0) + seen
        kept = _most_reported(counts, policy.profile_size)
        reports = self.reports + other.reports
        pressing = self.pressing_reports + other.pressing_reports
        return dataclasses.replace(
            self, reports=reports, pressing_reports=pressing, profile=kept,
            opened_at=min(self.opened_at, other.opened_at),
            last_report_at=max(self.last_report_at, other.last_report_at),
            priority=max(self.priority, other.priority,
                         priority_for(reports, pressing, policy), key=_PRIORITY_ORDER.index))

    def without_report(self, urgency: str) -> Incident:
        """After a dispatcher split a wrongly attached report off (its 3-grams stay: they
        were counted as reports of this incident once, and the profile is only a guide)."""
        return dataclasses.replace(
            self, reports=max(self.reports - 1, 1),
            pressing_reports=max(self.pressing_reports - (urgency in PRESSING_URGENCIES), 0))


def _most_reported(counts: Mapping[str, int], size: int) -> dict[str, int]:
    # a tie keeps the gram seen first (dicts keep their order; the sort is stable)
    return dict(sorted(counts.items(), key=lambda item: -item[1])[:size])


def priority_for(reports: int, pressing_reports: int, policy: IncidentPolicy) -> Priority:
    if reports >= policy.critical_at:
        return Priority.CRITICAL
    if reports >= policy.high_at or pressing_reports > 0:
        return Priority.HIGH
    return Priority.ROUTINE


def priority_rank(priority: Priority) -> int:
    return _PRIORITY_ORDER.index(priority)


def opened(incident_id: str, lead_ticket_id: str, area: str, category: str,
           grams: Iterable[str], received_at: datetime, urgency: str,
           policy: IncidentPolicy) -> Incident:
    """A new incident led by the ticket of its first report."""
    start = Incident(incident_id, lead_ticket_id, area, category, received_at, received_at,
                     0, 0, Priority.ROUTINE, {})
    return start.with_report(grams, received_at, urgency, policy)


def best_match(candidates: Sequence[Incident], grams: frozenset[str], received_at: datetime,
               policy: IncidentPolicy) -> tuple[Incident, float] | None:
    """The incident this report belongs to, with its share; None when none is close enough.

    Of the incidents close enough, the one with the most reports wins (then the higher
    share): the surge's main incident, not one of the fragments its first calls opened before
    its profile knew their words, so the fragments stop growing."""
    if len(grams) < policy.min_shingles:
        return None
    best: tuple[Incident, float] | None = None
    for incident in candidates:
        if not incident.takes_at(received_at, policy):
            continue
        share = incident.share_of(grams)
        if share < policy.min_share:
            continue
        if best is None or (incident.reports, share) > (best[0].reports, best[1]):
            best = (incident, share)
    return best


class IncidentIndex:
    """The incidents of one area still taking reports, with an inverted index from each
    profile 3-gram to the incidents holding it, so a report is compared only with the
    incidents it shares words with, however many are open."""

    def __init__(self, policy: IncidentPolicy) -> None:
        self._policy = policy
        self._incidents: dict[str, Incident] = {}
        self._postings: dict[str, set[str]] = {}
        # the latest report seen (the area's event-time watermark), and a time no held
        # incident's window closes before: expiring walks the incidents only past it
        self.latest_report_at: datetime | None = None
        self._first_close: datetime | None = None

    def __len__(self) -> int:
        return len(self._incidents)

    def __iter__(self) -> Iterator[Incident]:
        return iter(list(self._incidents.values()))

    def get(self, incident_id: str) -> Incident | None:
        return self._incidents.get(incident_id)

    def put(self, incident: Incident) -> None:
        before = self._incidents.get(incident.incident_id)
        postings = self._postings
        if before is None:
            for gram in incident.profile:
                holders = postings.get(gram)
                if holders is None:
                    postings[gram] = {incident.incident_id}
                else:
                    holders.add(incident.incident_id)
        elif before.profile is not incident.profile:  # the same profile: indexed already
            old = before.profile.keys()
            for gram in old - incident.profile.keys():
                holders = postings.get(gram)
                if holders is not None:
                    holders.discard(incident.incident_id)
                    if not holders:
                        del postings[gram]
            for gram in incident.profile.keys() - old:
                postings.setdefault(gram, set()).add(incident.incident_id)
        self._incidents[incident.incident_id] = incident
        if self.latest_report_at is None or incident.last_report_at > self.latest_report_at:
            self.latest_report_at = incident.last_report_at
        closes = incident.last_report_at + self._policy.window
        if self._first_close is None or closes < self._first_close:
            self._first_close = closes

    def drop(self, incident_id: str) -> None:
        incident = self._incidents.pop(incident_id, None)
        if incident is None:
            return
        for gram in incident.profile:
            holders = self._postings.get(gram)
            if holders is not None:
                holders.discard(incident_id)
                if not holders:
                    del self._postings[gram]

    def expire(self, watermark: datetime) -> list[str]:
        """Drop the incidents whose window closed before the watermark (event time)."""
        if self._first_close is None or watermark <= self._first_close:
            return []  # nothing held can have closed yet: no walk
        gone = [i.incident_id for i in self._incidents.values()
                if i.last_report_at + self._policy.window < watermark]
        for incident_id in gone:
            self.drop(incident_id)
        self._first_close = min((i.last_report_at + self._policy.window
                                 for i in self._incidents.values()), default=None)
        return gone

    def match(self, grams: frozenset[str], received_at: datetime, excluding: str = ""
              ) -> tuple[Incident, float] | None:
        """The incident this report belongs to (the most reports, then the largest share of
        its grams), other than `excluding`; None: none takes it."""
        if len(grams) < self._policy.min_shingles:
            return None
        # Prefix filtering: an incident holding `need` of the report's grams holds at least
        # one of its `len - need + 1` rarest, so only those grams' incidents are candidates
        # (exact: nothing close enough is missed), and the commonest grams are never walked.
        need = math.ceil(self._policy.min_share * len(grams) - 1e-9)
        postings = sorted((self._postings.get(gram, _NONE) for gram in grams), key=len)
        candidates = set().union(*postings[:len(grams) - need + 1])
        best: tuple[Incident, float] | None = None
        candidates.discard(excluding)
        for incident_id in candidates:
            incident = self._incidents[incident_id]
            held = sum(map(incident.profile.__contains__, grams))  # in C, no set built
            if held < need or not incident.takes_at(received_at, self._policy):
                continue
            share = held / len(grams)
            if best is None or (incident.reports, share) > (best[0].reports, best[1]):
                best = (incident, share)
        return best


_NONE: frozenset[str] = frozenset()


def escalation_for(priority: Priority) -> int:
    """The supervision level (督办) an incident's lead ticket is held to at this priority."""
    return priority_rank(priority)
