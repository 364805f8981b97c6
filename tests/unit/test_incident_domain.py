"""The incident rules alone: joining by profile share, the bounded profile, priority, and
the index's candidates."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from classifiers.similarity import text_grams
from router.domain.incidents import (
    Incident,
    IncidentIndex,
    IncidentPolicy,
    Priority,
    best_match,
    escalation_for,
    opened,
    priority_for,
)

AT = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
POLICY = IncidentPolicy()
WATER = "兰州交通大学家属院停水了，一整天都没有水，什么时候恢复供水"
WATER_AGAIN = "兰州交通大学家属院从早上开始停水，一整天没有水了，什么时候恢复供水"
LIGHTS = "兰州交通大学家属院门口路灯坏了一个多月，晚上很黑，请派人修理路灯"


def incident(text: str, n: int = 0, at: datetime = AT) -> Incident:
    return opened(f"INC-{n}", f"T{n}", "anning", "城乡建设", text_grams(text), at, "general",
                  POLICY)


def test_a_report_joins_the_incident_whose_profile_holds_enough_of_its_words() -> None:
    water, lights = incident(WATER, 1), incident(LIGHTS, 2)
    found = best_match([water, lights], text_grams(WATER_AGAIN), AT, POLICY)
    assert found is not None
    assert found[0] is water
    assert found[1] >= POLICY.min_share
    assert best_match([lights], text_grams(WATER_AGAIN), AT, POLICY) is None


def test_the_most_reported_incident_close_enough_wins_over_a_closer_fragment() -> None:
    main = incident(WATER, 1)
    for _ in range(5):
        main = main.with_report(text_grams(WATER), AT, "general", POLICY)
    fragment = incident(WATER_AGAIN, 2)
    found = best_match([fragment, main], text_grams(WATER_AGAIN), AT, POLICY)
    assert found is not None
    assert found[0] is main


def test_a_report_outside_the_window_joins_nothing() -> None:
    water = incident(WATER)
    late = AT + POLICY.window + timedelta(seconds=1)
    assert best_match([water], text_grams(WATER_AGAIN), late, POLICY) is None
    early = AT - POLICY.window - timedelta(seconds=1)
    assert best_match([water], text_grams(WATER_AGAIN), early, POLICY) is None
    assert best_match([water], text_grams(WATER_AGAIN), AT - POLICY.window, POLICY)


def test_too_short_a_text_joins_nothing() -> None:
    assert best_match([incident("停水了停水了")], text_grams("停水了"), AT, POLICY) is None


def test_the_profile_stays_bounded_and_keeps_the_most_reported_words() -> None:
    small = IncidentPolicy(profile_size=40)  # more than WATER's own 3-grams
    grown = opened("I", "T", "a", "c", text_grams(WATER), AT, "general", small)
    for n in range(40):
        grown = grown.with_report(text_grams(WATER + f"第{n}栋楼{n * 7}号"), AT, "general", small)
    assert len(grown.profile) <= small.profile_size * 5 // 4
    assert set(text_grams(WATER)) <= set(grown.profile)  # in every report: kept
    assert grown.reports == 41


def test_priority_rises_with_reports_and_with_one_pressing_report() -> None:
    assert priority_for(1, 0, POLICY) is Priority.ROUTINE
    assert priority_for(POLICY.high_at, 0, POLICY) is Priority.HIGH
    assert priority_for(1, 1, POLICY) is Priority.HIGH
    assert priority_for(POLICY.critical_at, 0, POLICY) is Priority.CRITICAL
    assert [escalation_for(p) for p in Priority] == [0, 1, 2]
    urgent = incident(WATER).with_report(text_grams(WATER), AT, "2h", POLICY)
    assert urgent.priority is Priority.HIGH
    assert urgent.pressing_reports == 1


def test_absorbing_another_incident_adds_its_reports_and_words() -> None:
    water, lights = incident(WATER, 1), incident(LIGHTS, 2, AT - timedelta(hours=1))
    merged = water.absorbing(lights, POLICY)
    assert merged.reports == 2
    assert merged.opened_at == lights.opened_at
    assert set(text_grams(LIGHTS)) <= set(merged.profile)


def test_the_index_finds_what_the_rule_finds_and_forgets_what_is_dropped() -> None:
    index = IncidentIndex(POLICY)
    texts = [WATER, LIGHTS, "楼下烧烤店油烟很大，窗户都不敢开，希望环保部门来查一下"]
    for n, text in enumerate(texts):
        index.put(incident(text, n))
    for n in range(200):  # many other matters in the area
        index.put(incident(f"第{n}号楼电梯坏了{n}天，老人上下楼很困难，请物业尽快修", 100 + n))
    everyone = list(index)
    for query in (WATER_AGAIN, LIGHTS, "楼下烧烤店油烟太大了，窗户不敢开", "电梯坏了"):
        grams = text_grams(query)
        assert index.match(grams, AT) == best_match(everyone, grams, AT, POLICY)
    index.drop("INC-0")
    assert index.match(text_grams(WATER_AGAIN), AT) is None
    assert index.expire(AT + POLICY.window + timedelta(minutes=1)) != []
    assert len(index) == 0


def test_expiring_drops_exactly_the_incidents_whose_window_closed() -> None:
    index = IncidentIndex(POLICY)
    hour = timedelta(hours=1)
    index.put(incident(WATER, 1, AT))
    index.put(incident(LIGHTS, 2, AT + 3 * hour))
    assert index.latest_report_at == AT + 3 * hour
    assert index.expire(AT + POLICY.window) == []  # the window includes its last instant
    assert index.expire(AT + POLICY.window + hour) == ["INC-1"]
    index.put(incident(WATER_AGAIN, 3, AT - hour))  # a late report read back from the database
    assert index.expire(AT + POLICY.window + hour) == ["INC-3"]
    assert index.expire(AT + POLICY.window + 4 * hour) == ["INC-2"]
    assert len(index) == 0
    assert index.expire(AT + 10 * POLICY.window) == []


def test_a_report_may_look_past_its_own_incident_and_a_recount_keeps_the_index() -> None:
    index = IncidentIndex(POLICY)
    own, other = incident(WATER, 1), incident(WATER_AGAIN, 2)
    index.put(own)
    grams = text_grams(WATER)
    found = index.match(grams, AT)
    assert found is not None
    assert found[0].incident_id == "INC-1"
    assert index.match(grams, AT, excluding="INC-1") is None
    index.put(other)
    found = index.match(grams, AT, excluding="INC-1")
    assert found is not None
    assert found[0].incident_id == "INC-2"
    index.put(dataclasses.replace(own, reports=5))  # recounted: the same words
    index.drop("INC-2")
    found = index.match(grams, AT)
    assert found is not None
    assert (found[0].incident_id, found[0].reports) == ("INC-1", 5)


def test_the_policy_refuses_nonsense() -> None:
    with pytest.raises(ValueError, match="min_share"):
        IncidentPolicy(min_share=0)
    with pytest.raises(ValueError, match="high_at"):
        IncidentPolicy(high_at=10, critical_at=5)
