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
    emergency = {code for code, line in config.hotlines.items()
                 if line.kind is HotlineKind.EMERGENCY}
    assert emergency == {"110", "119", "120", "122"}
    assert config.hotlines["12345"].kind is HotlineKind.HUB


def copy_config(tmp_path: Path) -> Path:
    target = tmp_path / "config"
    shutil.copytree(DEFAULT_CONFIG_DIR, target)
    return target


@pytest.mark.parametrize(
    ("file", "old", "new", "message"),
    [
        ("hotlines.toml", 'kind = "hub"', 'kind = "central"',
         r"hotlines\.toml: hotline\[0\]\.kind: 'central' is not one of"),
        ("routing.toml", 'unit = "transport"\n', 'unit = "transprot"\n',
         r"routing\.toml: rule transport names unknown unit 'transprot'"),
        ("routing.toml", "default_threshold = 0.55", "default_threshold = 5",
         r"routing\.toml: triage\.default_threshold: must be a number from 0 to 1"),
        ("hotlines.toml", 'owner_unit = "police-110"', 'owner_unit = "police"',
         r"hotlines\.toml: hotline\[1\]\.owner_unit: unknown unit 'police'"),
    ],
    ids=["hotline-kind", "rule-unit", "threshold", "owner-unit"],
)
def test_a_broken_field_is_reported_with_its_file_and_field(
        tmp_path: Path, file: str, old: str, new: str, message: str) -> None:
    config_dir = copy_config(tmp_path)
    path = config_dir / file
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(ConfigurationError, match=message):
        load_router_config(config_dir)


def test_a_file_that_is_not_toml_is_reported(tmp_path: Path) -> None:
    config_dir = copy_config(tmp_path)
    (config_dir / "hotlines.toml").write_text("[[hotline]\n", encoding="utf-8")
    with pytest.raises(ConfigurationError, match="not valid TOML"):
        load_router_config(config_dir)
