"""The surge detector of 未诉先办, in event time: quiet on a steady background, raised within
minutes of a surge, cleared when it subsides, judged the same however fast or shuffled the
records arrive."""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime, timedelta

import pytest

from router.domain.hotspots import (
    SurgePolicy,
    SurgeState,
    advance,
    observe,
    poisson_tail,
)

POLICY = SurgePolicy()
START = datetime(2026, 12, 1, 0, 0, tzinfo=UTC)


def arrivals(rng: random.Random, per_minute: float, start: datetime, minutes: int
             ) -> list[datetime]:
    """Poisson arrivals: exponential gaps at the given rate."""
    found: list[datetime] = []
    at = 0.0
    while True:
        at += rng.expovariate(per_minute)
        if at >= minutes:
            return found
        found.append(start + timedelta(minutes=at))


def run(moments: list[datetime], policy: SurgePolicy = POLICY
        ) -> tuple[SurgeState, list[tuple[str, datetime]]]:
    state, changes = SurgeState(), []
    for moment in moments:
        state, change = observe(state, moment, policy)
        if change.raised:
            changes.append(("raised", moment))
        if change.cleared:
            changes.append(("cleared", moment))
    return state, changes


@pytest.mark.parametrize(("count", "mean"), [(0, 1.0), (1, 0.5), (3, 2.0), (10, 2.0),
                                             (25, 4.5), (40, 60.0), (200, 150.0)])
def test_the_poisson_tail_matches_the_direct_sum(count: int, mean: float) -> None:
    below = sum(math.exp(-mean + k * math.log(mean) - math.lgamma(k + 1)) for k in range(count))
    assert poisson_tail(count, mean) == pytest.approx(1 - below, rel=1e-6, abs=1e-12)


def test_a_steady_background_raises_nothing_in_a_day() -> None:
    rng = random.Random(12345)
    _, changes = run(arrivals(rng, 0.3, START, 24 * 60))
    assert changes == []


def test_a_surge_is_raised_within_two_minutes_of_its_start() -> None:
    rng = random.Random(7)
    quiet = arrivals(rng, 0.3, START, 12 * 60)
    surge_start = START + timedelta(hours=12)
    surge = arrivals(rng, 40, surge_start, 60)
    state, changes = run(sorted(quiet + surge))
    assert changes[0][0] == "raised"
    assert changes[0][1] - surge_start <= timedelta(minutes=2)
    assert state.surge is not None
    assert state.surge.peak >= 300  # about 40 a minute over the 10-minute window
    assert state.surge.expected < 10


def test_a_surge_clears_once_it_has_subsided_even_when_nobody_calls_any_more() -> None:
    rng = random.Random(8)
    moments = sorted(arrivals(rng, 0.3, START, 6 * 60)
                     + arrivals(rng, 30, START + timedelta(hours=6), 20))
    state, changes = run(moments)
    assert [kind for kind, _ in changes] == ["raised"]
    # nothing about it for a while: the stream's watermark moves on
    cleared_at = None
    for minute in range(1, 90):
        state, change = advance(state, moments[-1] + timedelta(minutes=minute), POLICY)
        if change.cleared:
            cleared_at = minute
            break
    assert cleared_at is not None
    # the window must empty below twice the baseline, then stay so for 30 minutes
    assert 30 <= cleared_at <= 45


def test_a_long_surge_does_not_become_the_new_normal() -> None:
    rng = random.Random(9)
    moments = sorted(arrivals(rng, 0.3, START, 6 * 60)
                     + arrivals(rng, 20, START + timedelta(hours=6), 8 * 60))
    state, changes = run(moments)
    assert [kind for kind, _ in changes] == ["raised"]  # raised once, still up after 8 h
    assert state.surge is not None
    assert state.baseline is not None
    assert state.baseline < 1.0  # frozen at the quiet level


def test_nothing_is_raised_before_the_baseline_has_been_learned() -> None:
    rng = random.Random(13)
    _, changes = run(arrivals(rng, 50, START, 50))  # busy from the first minute
    assert changes == []


def test_a_busy_key_needs_a_real_rise_not_noise() -> None:
    rng = random.Random(10)
    busy = arrivals(rng, 50, START, 6 * 60)
    noise = arrivals(rng, 12, START + timedelta(hours=6), 30)  # +24 %
    _, changes = run(sorted(busy + noise))
    assert changes == []
    rise = arrivals(rng, 100, START + timedelta(hours=6, minutes=30), 30)  # ×3
    _, changes = run(sorted(busy + noise + rise))
    assert [kind for kind, _ in changes] == ["raised"]


def test_event_time_makes_shuffled_and_late_records_count_the_same() -> None:
    rng = random.Random(11)
    quiet = arrivals(rng, 0.3, START, 6 * 60)
    surge_start = START + timedelta(hours=6)
    surge = arrivals(rng, 30, surge_start, 30)
    in_order = sorted(quiet + surge)
    _, expected = run(in_order)
    # the same records, each up to 4 minutes out of order (within the 5-minute lateness)
    jittered = sorted(in_order, key=lambda m: m + timedelta(minutes=rng.uniform(0, 4)))
    state, changes = run(jittered)
    assert [kind for kind, _ in changes] == ["raised"]
    assert abs(policy_index(changes[0][1]) - policy_index(expected[0][1])) <= 4
    # a record from an hour before, arriving now, is too late to count
    _, change = observe(state, surge_start - timedelta(hours=1), POLICY)
    assert change.too_late


def policy_index(moment: datetime) -> int:
    return POLICY.index(moment)
