"""Properties of routing that must hold for any demand, checked with generated inputs."""

from __future__ import annotations

import dataclasses

from hypothesis import given
from hypothesis import strategies as st

from router.config_files import load_router_config
from router.domain.routing import Disposition, RoutingRequest

TABLE = load_router_config().routing
CATEGORIES = ["城乡建设", "劳动和社会保障", "教育文体", "商贸旅游", "环境保护", "卫生计生",
              "交通运输", "未知类别"]

requests = st.builds(
    RoutingRequest,
    hotline=st.sampled_from(["12345", "110", "12329", "12315", "95598", "12366"]),
    channel=st.sampled_from(["phone", "web", "transfer"]),
    category=st.sampled_from(CATEGORIES),
    confidence=st.floats(0, 1),
    auto_dispatch_threshold=st.floats(0, 1),
    urgency=st.sampled_from(["general", "24h", "2h", "complex", "emergency"]),
    emergency_service=st.sampled_from([None, None, "110", "119", "120", "122"]),
    area=st.sampled_from([None, *TABLE.areas]),
    category_overridden=st.booleans(),
    unit_override=st.sampled_from([None, None, "transport", "no-such-unit"]),
)


@given(requests)
def test_every_decision_names_a_known_unit_and_a_rule(request: RoutingRequest) -> None:
    decision = TABLE.decide(request)
    assert decision.unit in TABLE.units
    assert decision.rule_id
    assert decision.reason


@given(requests)
def test_an_emergency_is_never_queued_at_a_department(request: RoutingRequest) -> None:
    decision = TABLE.decide(request)
    if request.emergency_service is not None:
        assert decision.disposition is not Disposition.DISPATCHED
        if request.hotline not in TABLE.no_transfer_back_hotlines:
            assert decision.disposition is Disposition.TRANSFERRED


@given(requests)
def test_the_machine_never_dispatches_below_its_threshold(request: RoutingRequest) -> None:
    decision = TABLE.decide(request)
    chosen_by_agent = request.category_overridden or request.unit_override is not None
    if (decision.disposition is Disposition.DISPATCHED and not chosen_by_agent):
        assert request.confidence >= request.auto_dispatch_threshold


@given(requests, st.floats(0, 1))
def test_more_confidence_never_sends_a_dispatched_demand_to_triage(
        request: RoutingRequest, extra: float) -> None:
    surer = dataclasses.replace(request, confidence=min(1.0, request.confidence + extra))
    if TABLE.decide(request).disposition is Disposition.DISPATCHED:
        assert TABLE.decide(surer).disposition is Disposition.DISPATCHED
