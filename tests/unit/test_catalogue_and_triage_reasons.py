"""Fine routing by the dispatch catalogue, and the triage reasons that keep a person in charge:
too little content, a possible emergency."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from shutil import copytree

import pytest

from router.config_files import load_router_config
from router.domain.catalogue import Catalogue, CatalogueItem
from router.domain.errors import ConfigurationError
from router.domain.routing import Disposition, RoutingRequest

CONFIG = load_router_config()
TABLE = CONFIG.routing
CATALOGUE = CONFIG.catalogue


def request(**overrides: object) -> RoutingRequest:
    base = RoutingRequest(hotline="12345", channel="phone", category="城乡建设", confidence=0.95,
                          auto_dispatch_threshold=0.6, urgency="general", content_words=4)
    return dataclasses.replace(base, **overrides)  # type: ignore[arg-type]


def test_a_bus_complaint_goes_to_the_transport_bureau_though_the_model_says_construction(
) -> None:
    named = CATALOGUE.find("公交车司机态度很差，还骂人")
    assert named is not None
    assert named.item.item_id == "bus"
    decision = TABLE.decide(request(catalogue=named))
    assert (decision.disposition, decision.unit) == (Disposition.DISPATCHED, "transport")
    assert decision.rule_id == "catalogue-bus"
    assert "公共汽车" in decision.reason
    assert "公交车" in decision.reason


def test_a_named_item_is_dispatched_even_below_the_model_threshold() -> None:
    named = CATALOGUE.find("拖欠工资三个月了")
    decision = TABLE.decide(request(confidence=0.3, catalogue=named))
    assert decision.unit == "human-resources"


def test_items_of_different_units_leave_the_choice_to_the_category() -> None:
    # 路灯 (urban management) and 学校 items (education) in one call: no item decides
    assert CATALOGUE.find("小学门口的路灯坏了") is None


def test_a_longer_term_is_one_mention_not_two() -> None:
    catalogue = Catalogue([
        CatalogueItem("a", "x/y", "交通运输", "transport", ("公交",)),
        CatalogueItem("b", "x/z", "城乡建设", "urban-management", ("公交站台",)),
    ])
    named = catalogue.find("公交站台的顶棚破了")
    assert named is not None
    assert named.item.item_id == "b"


def test_an_item_without_a_unit_is_routed_by_its_categorys_rules_and_area() -> None:
    named = CATALOGUE.find("物业不修电梯")
    assert named is not None
    assert named.item.unit is None
    decision = TABLE.decide(request(category="环境保护", catalogue=named, area="chengguan"))
    assert decision.unit == "chengguan-housing"
    assert "物业服务" in decision.reason


def test_too_little_content_goes_to_a_person_however_confident() -> None:
    decision = TABLE.decide(request(content_words=0, confidence=0.99))
    assert (decision.disposition, decision.rule_id) == (Disposition.TRIAGE, "no-content")


def test_a_possible_emergency_goes_to_a_person_before_the_catalogue_or_the_model() -> None:
    named = CATALOGUE.find("公交车上有人不对劲")
    decision = TABLE.decide(request(danger_signals=("不对劲", "快来"), catalogue=named))
    assert (decision.disposition, decision.rule_id) == (Disposition.TRIAGE, "possible-emergency")
    assert "不对劲" in decision.reason


def test_the_agents_choice_still_wins_over_both() -> None:
    decision = TABLE.decide(request(content_words=0, danger_signals=("快来",),
                                    unit_override="education"))
    assert decision.unit == "education"


def _config_with(tmp_path: Path, catalogue: str) -> Path:
    config = tmp_path / "config"
    copytree(Path(__file__).resolve().parents[2] / "config", config)
    (config / "catalogue.toml").write_text(catalogue, encoding="utf-8")
    return config


@pytest.mark.parametrize(("body", "where"), [
    ('version = 1\n[[item]]\nid = "x"\npath = "a/b"\ncategory = "城乡建设"\nunit = "nowhere"\n'
     'terms = ["x"]\n', "item[0].unit"),
    ('version = 1\n[[item]]\nid = "x"\npath = "a/b"\ncategory = "杂项"\nunit = "transport"\n'
     'terms = ["x"]\n', "item[0].category"),
    ('version = 1\n[[item]]\nid = "x"\npath = "a/b"\ncategory = "城乡建设"\nterms = []\n',
     "item[0].terms"),
    ('version = 2\n', "version"),
])
def test_a_wrong_catalogue_is_refused_naming_file_and_field(tmp_path: Path, body: str,
                                                            where: str) -> None:
    with pytest.raises(ConfigurationError) as refused:
        load_router_config(_config_with(tmp_path, body))
    assert "catalogue.toml" in str(refused.value)
    assert where in str(refused.value)


def test_without_a_catalogue_file_routing_is_by_category_only(tmp_path: Path) -> None:
    config = _config_with(tmp_path, "")
    (config / "catalogue.toml").unlink()
    assert load_router_config(config).catalogue.find("公交车司机态度差") is None
