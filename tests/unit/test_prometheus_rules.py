"""The Prometheus configuration, recording rules and alerts, checked by promtool itself:
`promtool check config`, `check rules` and `test rules` (the alerts' unit tests, burn-rate
alerts included). CI installs Debian's prometheus package; elsewhere these skip without it."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

OPS = Path(__file__).resolve().parents[2] / "ops" / "prometheus"


def promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("promtool is missing: .ci/run installs Debian's prometheus package")
        pytest.skip("promtool is not installed (apt-get install prometheus)")
    return found


def run(*args: str, cwd: Path = OPS) -> str:
    done = subprocess.run([promtool(), *args], cwd=cwd, capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout + done.stderr


def test_the_scrape_configuration_is_valid(tmp_path: Path) -> None:
    for name in ("prometheus.yml", "rules.yml", "alerts.yml"):
        shutil.copy(OPS / name, tmp_path / name)
    token = tmp_path / "token"
    token.write_text("x" * 40, encoding="utf-8")
    config = tmp_path / "prometheus.yml"
    config.write_text(config.read_text(encoding="utf-8").replace(
        "/etc/prometheus/hotline-metrics-token", str(token)), encoding="utf-8")
    assert "SUCCESS" in run("check", "config", str(config), cwd=tmp_path)


def test_the_rules_are_valid_and_every_alert_says_what_to_do() -> None:
    out = run("check", "rules", "rules.yml", "alerts.yml")
    assert "SUCCESS" in out
    alerts = yaml.safe_load((OPS / "alerts.yml").read_text(encoding="utf-8"))
    rules = [r for group in alerts["groups"] for r in group["rules"]]
    assert rules
    for rule in rules:
        assert "Means:" in rule["annotations"]["runbook"], rule["alert"]
        assert "Do:" in rule["annotations"]["runbook"], rule["alert"]


@pytest.mark.parametrize("tests", ["alerts_test.yml", "sla_alerts_test.yml"])
def test_the_alerts_unit_tests_pass(tests: str) -> None:
    assert "SUCCESS" in run("test", "rules", tests)
