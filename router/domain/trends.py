"""Trends over days for managers (主动治理): which problems are rising.

A problem is a key — a category × area, or a word the reports use — counted per day. Its
recent days are compared with the days before them: the baseline's daily rate, scaled to the
recent stretch, is what would be expected; a problem rises when it has at least `min_reports`
recent reports and their count is improbable under a Poisson law with that mean (the same
test the minute-scale surge detector uses, at the scale of days). A key with no baseline at
all is new: its expected count is a prior of `prior_per_day` a day, so a new problem with many
reports rises and one with a couple does not. By default the comparison is of shares: the
baseline's count is scaled by how many reports of all kinds the recent days had against the
baseline days, so a rise of everything at once (more calls overall) is not a rising problem.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta

from router.domain.hotspots import poisson_tail


@dataclass(frozen=True, slots=True)
class TrendPolicy:
    recent_days: int = 7
    baseline_days: int = 28
    min_reports: int = 5
    tail_probability: float = 1e-3
    prior_per_day: float = 0.1  # a key never seen before
    # Compare shares of all reports, not counts: when every problem grows together (more
    # calls overall, a new channel) none of them is rising.
    relative: bool = True

    def __post_init__(self) -> None:
        if self.recent_days < 1 or self.baseline_days < 1 or self.min_reports < 1:
            raise ValueError("recent_days, baseline_days and min_reports must be positive")
        if not 0 < self.tail_probability < 1:
            raise ValueError("tail_probability must be in (0, 1)")


@dataclass(frozen=True, slots=True)
class Rising:
    key: str
    recent: int  # reports in the recent days
    baseline: int  # reports in the baseline days
    expected: float  # what the baseline's rate gives for the recent days
    ratio: float  # (recent + 1) / (expected + 1)
    tail_probability: float


def periods(until: date, policy: TrendPolicy) -> tuple[date, date, date]:
    """The first baseline day, the first recent day and the day after the last recent one."""
    recent_from = until - timedelta(days=policy.recent_days - 1)
    return recent_from - timedelta(days=policy.baseline_days), recent_from, until + timedelta(1)


def rising(daily: Iterable[tuple[str, date, int]], until: date, policy: TrendPolicy,
           limit: int = 20) -> list[Rising]:
    """The rising keys, the most improbable first, from (key, day, reports) counts of the
    baseline and recent days ending with `until` (other days are ignored)."""
    baseline_from, recent_from, after = periods(until, policy)
    recent: dict[str, int] = {}
    baseline: dict[str, int] = {}
    for key, day, count in daily:
        if recent_from <= day < after:
            recent[key] = recent.get(key, 0) + count
        elif baseline_from <= day < recent_from:
            baseline[key] = baseline.get(key, 0) + count
    return _judged(recent, baseline, policy)[:limit]


def _judged(recent: Mapping[str, int], baseline: Mapping[str, int], policy: TrendPolicy
            ) -> list[Rising]:
    scale = policy.recent_days / policy.baseline_days
    recent_total, baseline_total = sum(recent.values()), sum(baseline.values())
    if policy.relative and recent_total and baseline_total:
        scale = recent_total / baseline_total
    found = []
    for key, count in recent.items():
        if count < policy.min_reports:
            continue
        before = baseline.get(key, 0)
        expected = max(before * scale, policy.prior_per_day * policy.recent_days)
        tail = poisson_tail(count, expected)
        if tail < policy.tail_probability:
            found.append(Rising(key, count, before, round(expected, 3),
                                round((count + 1) / (expected + 1), 2), tail))
    return sorted(found, key=lambda r: (r.tail_probability, -r.recent, r.key))
