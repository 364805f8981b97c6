"""The default configuration loads, and a broken file is reported with file and field."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from classifiers import DemandClassifier
from router.config_files import DEFAULT_CONFIG_DIR, load_router_config, triage_policy
from router.domain.errors import ConfigurationError
from router.domain.hotlines import HotlineKind

# The shipped model's first-level categories (checked against the model below).
CATEGORIES = (
    "交通运输", "劳动和社会保障", "卫生计生", "商贸旅游", "城乡建设", "教育文体", "环境保护",
)


def test_the_default_configuration_joins_31_hotlines_with_four_emergency_lines() -> None:
    config = load_router_config()
    assert len(config.hotlines) == 31
    emergency = {code for code, line in config.hotlines.items()
                 if line.kind is HotlineKind.EMERGENCY}
    assert emergency == {"110", "119", "120", "122"}
    assert config.hotlines["12345"].kind is HotlineKind.HUB


def test_the_default_routing_names_only_categories_the_shipped_model_knows() -> None:
    categories = DemandClassifier.load().categories
    assert set(categories) == set(CATEGORIES)
    load_router_config(categories=categories)


def copy_config(tmp_path: Path) -> Path:
    target = tmp_path / "config"
    shutil.copytree(DEFAULT_CONFIG_DIR, target)
    return target


def edit(config_dir: Path, file: str, old: str, new: str) -> None:
    path = config_dir / file
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


@pytest.mark.parametrize(
    ("file", "old", "new", "message"),
    [
        ("hotlines.toml", 'kind = "hub"', 'kind = "central"',
         r"hotlines\.toml: hotline\[0\]\.kind: 'central' is not one of"),
        ("hotlines.toml", 'kind = "hub"', 'knd = "hub"',
         r"hotlines\.toml: hotline\[0\]\.knd: unknown key \(did you mean 'kind'\?\)"),
        ("hotlines.toml", 'name = "政务服务便民热线"\n', "",
         r"hotlines\.toml: hotline\[0\]\.name: required"),
        ("hotlines.toml", 'code = "110"', 'code = "12345"',
         r"hotlines\.toml: hotline\[1\]\.code: '12345' is used twice \(also hotline\[0\]\)"),
        ("hotlines.toml", 'owner_unit = "police-110"', 'owner_unit = "police"',
         r"hotlines\.toml: hotline\[1\]\.owner_unit: unknown unit 'police'"),
        ("routing.toml", 'categories = ["交通运输"]', 'categorys = ["交通运输"]',
         r"routing\.toml: rule\[14\]\.categorys: unknown key \(did you mean 'categories'\?\)"),
        ("routing.toml", "[triage]\n", "[triage]\ndefault_treshold = 0.5\n",
         r"routing\.toml: triage\.default_treshold: unknown key"),
        ("routing.toml", 'unit = "transport"\n', 'unit = "transprot"\n',
         r"routing\.toml: rule\[14\]\.unit: unknown unit 'transprot'"),
        ("routing.toml", 'areas = ["chengguan"]', 'areas = ["chengguang"]',
         r"routing\.toml: rule\[5\]\.areas\[0\]: unknown area 'chengguang'"),
        ("routing.toml", 'categories = ["交通运输"]', 'categories = ["交通"]',
         r"routing\.toml: rule\[14\]\.categories\[0\]: unknown category '交通'"),
        ("routing.toml", 'urgencies = ["24h"]', 'urgencies = ["24hours"]',
         r"routing\.toml: rule\[4\]\.urgencies\[0\]: unknown urgency '24hours'"
         r" \(one of emergency, 2h, 24h, general, complex\)"),
        ("routing.toml", 'hotlines = ["12329"]', 'hotlines = ["12392"]',
         r"routing\.toml: rule\[0\]\.hotlines\[0\]: unknown hotline '12392'"),
        ("routing.toml", 'hotlines = ["12366"]', 'hotlines = [12366]',
         r"routing\.toml: rule\[1\]\.hotlines\[0\]: input should be a valid string"),
        ("routing.toml", 'id = "transport"', 'id = "environment"',
         r"routing\.toml: rule\[14\]\.id: 'environment' is used twice \(also rule\[12\]\)"),
        ("routing.toml", 'government_unit = "chengguan-gov"', 'government_unit = "chengguan"',
         r"routing\.toml: area\[0\]\.government_unit: unknown unit 'chengguan'"),
        ("routing.toml", '"119" = "fire-119"', '"119" = "fire"',
         r"routing\.toml: emergency_units\.119: unknown unit 'fire'"),
        ("routing.toml", '"110", "119", "120", "122"]', '"110", "191", "120", "122"]',
         r"routing\.toml: no_transfer_back_hotlines\[1\]: unknown hotline '191'"),
        ("routing.toml", "default_threshold = 0.55", "default_threshold = 5",
         r"routing\.toml: triage\.default_threshold: must be a number from 0 to 1"),
        ("routing.toml", "default_threshold = 0.55\n", "",
         r"routing\.toml: triage\.default_threshold: required"),
        ("routing.toml", "[triage.thresholds]\n", '[triage.thresholds]\n"交通运输" = 1.5\n',
         r'routing\.toml: triage\.thresholds\."交通运输": must be a number from 0 to 1'),
        ("routing.toml", "[triage.thresholds]\n", '[triage.thresholds]\n"交通运输" = "0.9"\n',
         r'routing\.toml: triage\.thresholds\."交通运输": input should be a valid number'),
        ("routing.toml", "[triage.thresholds]\n", '[triage.thresholds]\n"交通" = 0.9\n',
         r'routing\.toml: triage\.thresholds\."交通": unknown category \'交通\''),
    ],
    ids=["hotline-kind", "hotline-unknown-key", "hotline-missing-name", "hotline-twice",
         "owner-unit", "rule-unknown-key", "triage-unknown-key", "rule-unit", "rule-area",
         "rule-category", "rule-urgency", "rule-hotline", "rule-hotline-not-text",
         "rule-id-twice", "area-unit", "emergency-unit", "no-transfer-back-hotline",
         "threshold", "threshold-missing", "override-range", "override-not-number",
         "override-category"],
)
def test_a_broken_field_is_reported_with_its_file_and_field(
        tmp_path: Path, file: str, old: str, new: str, message: str) -> None:
    config_dir = copy_config(tmp_path)
    edit(config_dir, file, old, new)
    with pytest.raises(ConfigurationError, match=message) as raised:
        load_router_config(config_dir, categories=CATEGORIES)
    assert str(config_dir / file) in str(raised.value)


def test_every_problem_is_reported_one_line_each(tmp_path: Path) -> None:
    config_dir = copy_config(tmp_path)
    edit(config_dir, "hotlines.toml", 'kind = "hub"', 'kind = "central"')
    edit(config_dir, "routing.toml", 'kind = "dispatcher"', 'kind = "dispatch"')
    edit(config_dir, "routing.toml", "default_threshold = 0.55", "default_threshold = -1")
    with pytest.raises(ConfigurationError) as raised:
        load_router_config(config_dir)
    lines = str(raised.value).splitlines()
    assert len(lines) == 3
    assert [line.split(": ")[1] for line in lines] == [
        "hotline[0].kind", "triage.default_threshold", "unit[0].kind"]


def test_categories_are_checked_only_when_the_loader_is_given_them(tmp_path: Path) -> None:
    config_dir = copy_config(tmp_path)
    edit(config_dir, "routing.toml", 'categories = ["交通运输"]', 'categories = ["交通"]')
    assert load_router_config(config_dir).routing.rules[14].categories == {"交通"}
    with pytest.raises(ConfigurationError, match="unknown category"):
        load_router_config(config_dir, categories=CATEGORIES)


def test_the_triage_policy_puts_configured_thresholds_over_the_model_s(tmp_path: Path) -> None:
    config_dir = copy_config(tmp_path)
    edit(config_dir, "routing.toml", "[triage.thresholds]\n",
         '[triage.thresholds]\n"交通运输" = 0.9\n')
    config = load_router_config(config_dir, categories=CATEGORIES)
    policy = triage_policy(config, {"交通运输": 0.7, "环境保护": 0.6})
    assert policy.threshold_for("交通运输") == 0.9  # configured
    assert policy.threshold_for("环境保护") == 0.6  # fitted by the model
    assert policy.threshold_for("教育文体") == 0.55  # the configured default


def test_a_file_that_is_not_toml_is_reported(tmp_path: Path) -> None:
    config_dir = copy_config(tmp_path)
    (config_dir / "hotlines.toml").write_text("[[hotline]\n", encoding="utf-8")
    with pytest.raises(ConfigurationError, match="not valid TOML"):
        load_router_config(config_dir)
