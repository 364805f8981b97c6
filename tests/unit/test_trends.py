"""Rising problems over days: recent days against the days before them."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from router.domain.trends import TrendPolicy, periods, rising

UNTIL = date(2026, 11, 30)
POLICY = TrendPolicy()


def steady(key: str, per_day: int, days: int = 35) -> list[tuple[str, date, int]]:
    return [(key, UNTIL - timedelta(days=d), per_day) for d in range(days)]


def test_a_steady_problem_does_not_rise_and_a_growing_one_does() -> None:
    daily = steady("城乡建设|anning", 20) + steady("交通运输|yongdeng", 2)
    daily += [("交通运输|yongdeng", UNTIL - timedelta(days=d), 10) for d in range(3)]
    [found] = rising(daily, UNTIL, POLICY)
    assert found.key == "交通运输|yongdeng"
    assert (found.recent, found.baseline) == (7 * 2 + 30, 28 * 2)
    # the baseline's count scaled by all reports' recent days against their baseline days
    assert found.expected == pytest.approx(56 * (7 * 22 + 30) / (28 * 22), abs=1e-3)
    assert found.tail_probability < POLICY.tail_probability


def test_when_everything_grows_together_nothing_is_rising_unless_counts_are_asked_for(
        ) -> None:
    daily = steady("城乡建设|anning", 10) + steady("交通运输|yongdeng", 10)
    daily += [(k, UNTIL - timedelta(days=d), 10) for k in ("城乡建设|anning", "交通运输|yongdeng")
              for d in range(7)]  # twice the calls of both, all week
    assert rising(daily, UNTIL, POLICY) == []
    counted = rising(daily, UNTIL, TrendPolicy(relative=False))
    assert sorted(r.key for r in counted) == ["交通运输|yongdeng", "城乡建设|anning"]


def test_a_new_problem_rises_only_with_enough_reports() -> None:
    few = [("卫生计生|xigu", UNTIL, 4)]
    many = [("卫生计生|xigu", UNTIL, 12)]
    assert rising(few, UNTIL, POLICY) == []
    assert [r.key for r in rising(many, UNTIL, POLICY)] == ["卫生计生|xigu"]


def test_days_outside_the_periods_are_ignored() -> None:
    baseline_from, recent_from, after = periods(UNTIL, POLICY)
    assert (recent_from, after) == (UNTIL - timedelta(days=6), UNTIL + timedelta(days=1))
    assert baseline_from == recent_from - timedelta(days=28)
    late = [("教育文体|gaolan", after, 50), ("教育文体|gaolan", baseline_from - timedelta(1), 50)]
    assert rising(late, UNTIL, POLICY) == []


def test_the_most_improbable_comes_first() -> None:
    daily = [("a|x", UNTIL, 30), ("b|x", UNTIL, 8)]
    assert [r.key for r in rising(daily, UNTIL, POLICY)] == ["a|x", "b|x"]


def test_the_policy_refuses_nonsense() -> None:
    with pytest.raises(ValueError, match="positive"):
        TrendPolicy(recent_days=0)
    with pytest.raises(ValueError, match="tail_probability"):
        TrendPolicy(tail_probability=1)
