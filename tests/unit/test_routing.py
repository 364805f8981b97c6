"""The routing table: ordered, explainable rules with fallbacks."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import pytest

from router.config_files import load_router_config
from router.domain.routing import (
    Area,
    Disposition,
    RoutingRequest,
    RoutingRule,
    RoutingTable,
    TriagePolicy,
    Unit,
    UnitKind,
)

CONFIG = load_router_config()
TABLE = CONFIG.routing


def request(**overrides: object) -> RoutingRequest:
    base = RoutingRequest(hotline="12345", channel="phone", category="交通运输", confidence=0.9,
                          auto_dispatch_threshold=0.6, urgency="general")
    return dataclasses.replace(base, **overrides)  # type: ignore[arg-type]


def test_a_confident_demand_goes_to_the_unit_its_category_rule_names() -> None:
    decision = TABLE.decide(request())
    assert decision.disposition is Disposition.DISPATCHED
    assert decision.unit == "transport"
    assert decision.rule_id == "transport"
    assert "0.90" in decision.reason


def test_an_emergency_is_transferred_to_its_line_instead_of_queued() -> None:
    decision = TABLE.decide(request(urgency="emergency", emergency_service="119"))
    assert decision.disposition is Disposition.TRANSFERRED
    assert decision.unit == "fire-119"
    assert decision.rule_id == "emergency-transfer-119"


def test_an_emergency_outranks_an_agent_override() -> None:
    decision = TABLE.decide(request(emergency_service="120", unit_override="transport"))
    assert decision.disposition is Disposition.TRANSFERRED
    assert decision.unit == "ambulance-120"


def test_a_call_handed_over_by_110_is_not_transferred_straight_back() -> None:
    decision = TABLE.decide(request(hotline="110", channel="transfer", emergency_service="110"))
    assert decision.disposition is Disposition.TRIAGE
    assert decision.rule_id == "emergency-from-emergency-line"
    assert "首接负责" in decision.reason


def test_low_confidence_goes_to_the_human_dispatchers_with_the_score() -> None:
    decision = TABLE.decide(request(confidence=0.41, auto_dispatch_threshold=0.6))
    assert decision.disposition is Disposition.TRIAGE
    assert decision.unit == TABLE.dispatcher_unit
    assert decision.rule_id == "low-confidence"
    assert "0.41" in decision.reason
    assert "0.60" in decision.reason


def test_an_agent_chosen_category_is_routed_even_at_low_model_confidence() -> None:
    decision = TABLE.decide(request(category="环境保护", confidence=0.2,
                                    category_overridden=True))
    assert decision.disposition is Disposition.DISPATCHED
    assert decision.unit == "ecology-environment"


def test_an_agent_chosen_unit_wins_over_the_rules() -> None:
    decision = TABLE.decide(request(unit_override="justice"))
    assert (decision.unit, decision.rule_id) == ("justice", "agent-override")


def test_an_unknown_agent_chosen_unit_goes_to_triage() -> None:
    decision = TABLE.decide(request(unit_override="no-such-unit"))
    assert decision.disposition is Disposition.TRIAGE


def test_rules_are_checked_in_order_and_a_hotline_rule_comes_first() -> None:
    decision = TABLE.decide(request(hotline="12329", category="城乡建设"))
    assert decision.unit == "housing-fund"


def test_category_and_area_together_pick_the_district_unit() -> None:
    in_district = TABLE.decide(request(category="城乡建设", area="chengguan"))
    elsewhere = TABLE.decide(request(category="城乡建设", area="anning"))
    assert in_district.unit == "chengguan-housing"
    assert elsewhere.unit == "housing-construction"


def test_water_power_gas_and_heating_go_to_the_utilities_unit() -> None:
    decision = TABLE.decide(request(category="城乡建设", urgency="24h", area="chengguan"))
    assert decision.unit == "public-utilities"


def small_table(rules: list[RoutingRule]) -> RoutingTable:
    units = [Unit("centre", "派单中心", UnitKind.DISPATCHER),
             Unit("d1-gov", "一区政府", UnitKind.DISTRICT),
             Unit("roads", "道路局", UnitKind.DEPARTMENT)]
    areas = [Area("d1", "一区", ("一区街道",), "d1-gov")]
    return RoutingTable(units, areas, rules, dispatcher_unit="centre", emergency_units={})


def test_without_a_matching_rule_the_district_government_takes_it() -> None:
    decision = small_table([]).decide(request(area="d1"))
    assert (decision.unit, decision.rule_id) == ("d1-gov", "district-fallback")
    assert "兜底" in decision.reason


def test_without_a_rule_or_a_place_the_dispatchers_decide() -> None:
    decision = small_table([]).decide(request())
    assert decision.disposition is Disposition.TRIAGE
    assert decision.rule_id == "no-rule-no-area"


def test_a_table_naming_an_unknown_unit_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown unit 'nowhere'"):
        small_table([RoutingRule("r1", "nowhere")])


def test_a_repeated_rule_id_is_refused() -> None:
    with pytest.raises(ValueError, match="used twice"):
        small_table([RoutingRule("r1", "roads"), RoutingRule("r1", "roads")])


def test_the_place_is_resolved_by_its_longest_matching_name() -> None:
    assert TABLE.resolve_area("兰州市七里河区西湖街道") == "qilihe"
    assert TABLE.resolve_area(None, "在红古区海石湾镇") == "honggu"
    assert TABLE.resolve_area("不知道在哪里") is None


def test_a_configured_threshold_beats_the_model_s() -> None:
    policy = TriagePolicy(0.55, overrides={"交通运输": 0.9}, model_thresholds={"交通运输": 0.7})
    assert policy.threshold_for("交通运输") == 0.9


def test_the_model_s_threshold_beats_the_default() -> None:
    policy = TriagePolicy(0.55, overrides={"交通运输": 0.9}, model_thresholds={"环境保护": 0.6})
    assert policy.threshold_for("环境保护") == 0.6


def test_the_default_covers_a_category_neither_names() -> None:
    policy = TriagePolicy(0.55, overrides={"交通运输": 0.9}, model_thresholds={"环境保护": 0.6})
    assert policy.threshold_for("教育文体") == 0.55


def test_an_override_of_zero_still_counts() -> None:
    policy = TriagePolicy(0.55, overrides={"交通运输": 0.0}, model_thresholds={"交通运输": 0.7})
    assert policy.threshold_for("交通运输") == 0.0


def test_the_policy_keeps_its_own_copy_of_the_thresholds() -> None:
    model = {"交通运输": 0.7}
    policy = TriagePolicy(0.55, model_thresholds=model)
    model["交通运输"] = 0.1
    assert policy.threshold_for("交通运输") == 0.7
    with pytest.raises(TypeError):
        policy.model_thresholds["交通运输"] = 0.1  # type: ignore[index]


@pytest.mark.parametrize(
    "policy",
    [
        lambda: TriagePolicy(1.5),
        lambda: TriagePolicy(0.5, overrides={"交通运输": -0.1}),
        lambda: TriagePolicy(0.5, model_thresholds={"交通运输": float("nan")}),
    ],
    ids=["default", "override", "model"],
)
def test_a_threshold_outside_0_to_1_is_refused(policy: Callable[[], TriagePolicy]) -> None:
    with pytest.raises(ValueError, match="from 0 to 1"):
        policy()


def test_an_agent_chosen_emergency_line_is_a_transfer_to_that_line_not_a_queue_entry() -> None:
    decision = TABLE.decide(request(unit_override="police-110"))
    assert (decision.disposition, decision.unit, decision.emergency_service) == (
        Disposition.TRANSFERRED, "police-110", "110")
    assert decision.rule_id == "agent-override-transfer-110"


def test_an_agent_cannot_choose_the_dispatchers_as_the_responsible_unit() -> None:
    decision = TABLE.decide(request(unit_override=TABLE.dispatcher_unit))
    assert decision.disposition is Disposition.TRIAGE
