"""The default configuration loads, and a broken file is reported with file and field."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from router.config_files import DEFAULT_CONFIG_DIR, load_router_config
from router.domain.errors import ConfigurationError
from router.domain.hotlines import HotlineKind


def test_the_default_configuration_joins_31_hotlines_with_four_emergency_lines() -> None:
    config = load_router_config()
    assert len(config.hotlines) == 31
    assert config.hotlines.emergency_codes() == {"110", "119", "120", "122"}
    assert config.hotlines["12345"].kind is HotlineKind.HUB


def copy_config(tmp_path: Path) -> Path:
    target = tmp_path / "config"
    shutil.copytree(DEFAULT_CONFIG_DIR, target)
    return target


def test_a_hotline_with_an_unknown_kind_is_reported_with_file_and_field(tmp_path: Path) -> None:
    config_dir = copy_config(tmp_path)
    hotlines = config_dir / "hotlines.toml"
    hotlines.write_text(hotlines.read_text(encoding="utf-8").replace(
        'kind = "hub"', 'kind = "central"'), encoding="utf-8")
    with pytest.raises(ConfigurationError, match=r"hotlines\.toml: hotline\[0\]\.kind: 'central'"):
        load_router_config(config_dir)


def test_a_rule_naming_an_unknown_unit_is_reported(tmp_path: Path) -> None:
    config_dir = copy_config(tmp_path)
    routing = config_dir / "routing.toml"
    routing.write_text(routing.read_text(encoding="utf-8").replace(
        'unit = "transport"\n', 'unit = "transprot"\n'), encoding="utf-8")
    with pytest.raises(ConfigurationError, match=r"routing\.toml: rule transport names unknown"):
        load_router_config(config_dir)


def test_a_threshold_outside_zero_to_one_is_refused(tmp_path: Path) -> None:
    config_dir = copy_config(tmp_path)
    routing = config_dir / "routing.toml"
    routing.write_text(routing.read_text(encoding="utf-8").replace(
        "default_threshold = 0.55", "default_threshold = 5"), encoding="utf-8")
    with pytest.raises(ConfigurationError, match=r"triage\.default_threshold"):
        load_router_config(config_dir)


def test_a_file_that_is_not_toml_is_reported(tmp_path: Path) -> None:
    config_dir = copy_config(tmp_path)
    (config_dir / "hotlines.toml").write_text("[[hotline]\n", encoding="utf-8")
    with pytest.raises(ConfigurationError, match="not valid TOML"):
        load_router_config(config_dir)
