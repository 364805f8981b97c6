"""Surges (未诉先办): a sudden rise of reports about one matter in one place, judged in the
calls' own time against a baseline learned from the same key's past.

A key (category × area, or an incident) counts its reports in one-minute buckets of event
time (`received_at`). The baseline is an exponentially weighted mean of the bucket counts
that have left the recent window; it is frozen while a surge is raised, so a long surge does
not teach the detector that a surge is normal. A surge is raised when the recent window
holds at least `min_reports` and a Poisson variable with the baseline's mean would reach that
count with probability below `tail_probability`; it clears once the window has stayed under
`clear_ratio` × its expected count for `clear_after`. Nothing is raised before `warm_up` of
the key's history has been learned.

Event time: the detector keeps a watermark, the latest event time seen less the allowed
lateness. A record later than that still counts in its own bucket while the bucket is inside
the window; one older than the window is reported as too late and not counted, so a replayed
file is judged as it happened, whatever the speed of the replay.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class SurgePolicy:
    bucket: timedelta = timedelta(minutes=1)
    window: timedelta = timedelta(minutes=10)  # the recent stretch that is tested
    lateness: timedelta = timedelta(minutes=5)  # how late a record may come and still count
    half_life: timedelta = timedelta(hours=6)  # of the baseline's memory
    prior_per_bucket: float = 0.05  # the baseline before anything was learned
    min_reports: int = 10
    tail_probability: float = 1e-4
    clear_ratio: float = 2.0
    clear_after: timedelta = timedelta(minutes=30)
    # Nothing is raised before this much of a key's history has been learned: a key seen
    # for the first time is new, not surging. Seed baselines by replaying a day of calls.
    warm_up: timedelta = timedelta(hours=1)

    def __post_init__(self) -> None:
        if self.window < self.bucket or self.bucket <= timedelta(0):
            raise ValueError("the window must hold at least one bucket")
        if not 0 < self.tail_probability < 1 or self.min_reports < 1:
            raise ValueError("tail_probability must be in (0, 1) and min_reports ≥ 1")

    @property
    def window_buckets(self) -> int:
        return max(1, self.window // self.bucket)

    @property
    def decay(self) -> float:
        """The weight an older bucket keeps per bucket of age."""
        return float(0.5 ** (self.bucket / self.half_life))

    def index(self, moment: datetime) -> int:
        return (moment - _EPOCH) // self.bucket

    def start_of(self, index: int) -> datetime:
        return _EPOCH + index * self.bucket


@dataclass(frozen=True, slots=True)
class Surge:
    """A raised surge and its evidence."""

    raised_at: datetime  # event time of the bucket that raised it
    reports: int  # in the window when raised
    expected: float  # the baseline's count for the window
    tail_probability: float
    peak: int  # the most reports in one window since


@dataclass(frozen=True, slots=True)
class SurgeChange:
    raised: Surge | None = None
    cleared: Surge | None = None
    too_late: bool = False


@dataclass(frozen=True, slots=True)
class SurgeState:
    """One key's counts. `buckets` holds the window and the lateness before it."""

    buckets: tuple[tuple[int, int], ...] = ()  # (bucket index, count), ascending
    baseline: float | None = None  # EWMA of the counts, from 0 (see `per_bucket`)
    folded_until: int | None = None  # the last bucket index folded into the baseline
    learned_buckets: int = 0  # how many buckets the baseline has learned from
    latest: int | None = None  # the latest bucket seen (event time)
    surge: Surge | None = None
    quiet_since: int | None = None  # first bucket of the current quiet stretch

    def per_bucket(self, policy: SurgePolicy) -> float:
        """The expected reports per bucket: the EWMA corrected for having started at 0, so
        a key learns its level from its first hour, not from the prior."""
        if self.baseline is None or self.learned_buckets == 0:
            return policy.prior_per_bucket
        learned_weight = 1 - policy.decay ** self.learned_buckets
        return self.baseline / learned_weight if learned_weight > 0 else self.baseline

    def window_count(self, policy: SurgePolicy) -> int:
        if self.latest is None:
            return 0
        first = self.latest - policy.window_buckets + 1
        return sum(count for index, count in self.buckets if first <= index <= self.latest)


def poisson_tail(count: int, mean: float) -> float:
    """P(X ≥ count) for X ~ Poisson(mean), summed from `count` up (fast when count > mean)."""
    if count <= 0:
        return 1.0
    if mean <= 0:
        return 0.0
    if count <= mean:
        return 1.0 - _poisson_cdf_below(count, mean)
    total, index = 0.0, count
    log_term = count * math.log(mean) - mean - math.lgamma(count + 1)
    while True:
        term = math.exp(log_term)
        total += term
        index += 1
        log_term += math.log(mean) - math.log(index)
        if term < total * 1e-12 or index > count + 10_000:
            return min(total, 1.0)


def _poisson_cdf_below(count: int, mean: float) -> float:
    """P(X < count), for count ≤ mean (a sum of at most `count` terms)."""
    log_term, total = -mean, 0.0
    for index in range(count):
        total += math.exp(log_term)
        log_term += math.log(mean) - math.log(index + 1)
    return min(total, 1.0)


def observe(state: SurgeState, at: datetime, policy: SurgePolicy
            ) -> tuple[SurgeState, SurgeChange]:
    """One report at event time `at`: count it in its bucket, move the window, and raise or
    clear the surge. A report older than the window and its lateness is not counted."""
    index = policy.index(at)
    latest = index if state.latest is None else max(state.latest, index)
    if index < _oldest_kept(latest, policy):
        return state, SurgeChange(too_late=True)
    counts = dict(state.buckets)
    counts[index] = counts.get(index, 0) + 1
    return _moved(state, counts, latest, policy)


def advance(state: SurgeState, at: datetime, policy: SurgePolicy
            ) -> tuple[SurgeState, SurgeChange]:
    """Time passes without a report (the watermark of the whole stream moved): a surge that
    subsided clears even if nobody calls about it any more."""
    index = policy.index(at)
    if state.latest is None or index <= state.latest:
        return state, SurgeChange()
    # minute by minute, so a quiet stretch is measured from when the window went quiet; a
    # longer gap than the window and the clearing time needs no more steps than those
    span = policy.window_buckets + policy.clear_after // policy.bucket + 1
    cleared: Surge | None = None
    for step in range(max(state.latest + 1, index - span), index + 1):
        state, change = _moved(state, dict(state.buckets), step, policy)
        cleared = cleared or change.cleared
    return state, SurgeChange(cleared=cleared)


def _oldest_kept(latest: int, policy: SurgePolicy) -> int:
    return latest - policy.window_buckets + 1 - policy.lateness // policy.bucket


def _moved(state: SurgeState, counts: dict[int, int], latest: int, policy: SurgePolicy
           ) -> tuple[SurgeState, SurgeChange]:
    oldest_kept = _oldest_kept(latest, policy)
    folded = _fold(state, counts, oldest_kept - 1, policy)
    kept = tuple(sorted((i, c) for i, c in counts.items() if i >= oldest_kept))
    return _judge(dataclasses.replace(folded, buckets=kept, latest=latest), latest, policy)


def _fold(state: SurgeState, counts: dict[int, int], last_to_fold: int, policy: SurgePolicy
          ) -> SurgeState:
    """Buckets past the window and its lateness become part of the baseline; not while a
    surge is raised, so a long surge does not become the new normal."""
    if state.folded_until is not None:
        start = state.folded_until + 1
    elif counts:
        start = min(counts)
    else:
        return state
    if last_to_fold < start:
        return state
    baseline = state.baseline
    if state.surge is None:
        mean = baseline if baseline is not None else 0.0
        if last_to_fold - start >= 10_000:  # a long gap: the old memory is gone
            mean, start = 0.0, last_to_fold - 10_000 + 1
        decay = policy.decay
        for index in range(start, last_to_fold + 1):
            mean = decay * mean + (1 - decay) * counts.get(index, 0)
        baseline = mean
        learned = state.learned_buckets + last_to_fold - start + 1
    else:
        learned = state.learned_buckets
    return dataclasses.replace(state, baseline=baseline, folded_until=last_to_fold,
                               learned_buckets=learned)


def _judge(state: SurgeState, latest: int, policy: SurgePolicy
           ) -> tuple[SurgeState, SurgeChange]:
    reports = state.window_count(policy)
    expected = max(state.per_bucket(policy), policy.prior_per_bucket) * policy.window_buckets
    if state.surge is None:
        warm = state.learned_buckets * policy.bucket >= policy.warm_up
        if reports < policy.min_reports or not warm:
            return state, SurgeChange()
        tail = poisson_tail(reports, expected)
        if tail >= policy.tail_probability:
            return state, SurgeChange()
        surge = Surge(raised_at=policy.start_of(latest), reports=reports, expected=expected,
                      tail_probability=tail, peak=reports)
        return dataclasses.replace(state, surge=surge, quiet_since=None), SurgeChange(
            raised=surge)
    surge = state.surge
    if reports > surge.peak:
        surge = dataclasses.replace(surge, peak=reports)
    if reports >= policy.clear_ratio * surge.expected:
        return dataclasses.replace(state, surge=surge, quiet_since=None), SurgeChange()
    quiet_since = state.quiet_since if state.quiet_since is not None else latest
    if (latest - quiet_since + 1) * policy.bucket >= policy.clear_after:
        return dataclasses.replace(state, surge=None, quiet_since=None), SurgeChange(
            cleared=surge)
    return dataclasses.replace(state, surge=surge, quiet_since=quiet_since), SurgeChange()


@dataclass(frozen=True, slots=True)
class Report:
    """One report counted toward a key's surge: a ticket made or a repeat counted."""

    category: str
    area: str
    received_at: datetime


@dataclass(frozen=True, slots=True)
class KeyChange:
    category: str
    area: str
    change: SurgeChange


@dataclass(frozen=True, slots=True)
class ActiveSurge:
    category: str
    area: str
    surge: Surge
    reports_now: int  # in the window, as of the latest report


def surge_key(category: str, area: str) -> str:
    return f"{category}|{area}"


def top_terms(tokenised: Iterable[Sequence[str]], count: int) -> list[tuple[str, int]]:
    """The words most reports use (each counted once per report), most used first: what
    the surge is about, at a glance."""
    seen: dict[str, int] = {}
    for tokens in tokenised:
        for token in set(tokens):
            if len(token) > 1:  # single characters say little
                seen[token] = seen.get(token, 0) + 1
    return sorted(seen.items(), key=lambda item: (-item[1], item[0]))[:count]


PROACTIVE_CHANNEL = "proactive"  # a ticket the centre opens itself, before more people call


def proactive_call_id(origin: str, change: KeyChange) -> str:
    """One id per raised surge, so every worker that hears of it names the same ticket."""
    surge = change.change.raised
    assert surge is not None
    return (f"HOTSPOT-{origin}-{change.category}-{change.area}-"
            f"{surge.raised_at.strftime('%Y%m%dT%H%M')}")


def proactive_text(change: KeyChange, area_name: str, window: timedelta) -> str:
    surge = change.change.raised
    assert surge is not None
    minutes = int(window.total_seconds() // 60)
    return (f"热点预警（未诉先办）：{area_name}{change.category}类诉求在{minutes}分钟内已有"
            f"{surge.reports}件，按以往同期应约{surge.expected:.1f}件。"
            "请主动核查、及时处置，避免更多群众来电。")
