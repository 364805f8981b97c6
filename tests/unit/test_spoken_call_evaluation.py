"""The evaluation of short spoken calls, run as intake runs them, on the frozen test half.

The figures themselves are in the README; here the guarantees that must hold whatever the
rules' recall: no emergency reaches a unit's queue as an ordinary ticket, and no call without
content is dispatched by the machine.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from router.bootstrap import call_assessor
from router.call_evaluation import EvaluationDataError, evaluate_calls, read_rows
from router.settings import Settings

DATA = Path(__file__).resolve().parents[1] / "data" / "spoken_calls"


@pytest.fixture(scope="module")
def report() -> dict[str, Any]:
    return evaluate_calls(call_assessor(Settings()), read_rows(DATA / "test.jsonl"))


def test_no_emergency_of_the_frozen_half_is_dispatched_as_an_ordinary_ticket(
        report: dict[str, Any]) -> None:
    emergencies = report["emergencies"]
    print(json.dumps({k: v for k, v in emergencies.items() if not k.endswith("ids")}))
    assert emergencies["rows"] >= 140
    assert emergencies["auto_dispatched_as_general"] == 0
    assert emergencies["dispatched_ids"] == []


def test_every_missed_emergency_waits_for_a_person_as_a_possible_emergency(
        report: dict[str, Any]) -> None:
    emergencies = report["emergencies"]
    assert sum(emergencies["to_triage"].values()) == len(emergencies["missed_ids"])
    assert set(emergencies["to_triage"]) <= {"possible-emergency"}


def test_no_call_without_content_is_dispatched(report: dict[str, Any]) -> None:
    assert report["no_content"]["rows"] >= 10
    assert report["no_content"]["auto_dispatched"] == 0


def test_the_report_holds_figures_and_ids_never_text(report: dict[str, Any]) -> None:
    rows = read_rows(DATA / "test.jsonl")
    dumped = json.dumps(report, ensure_ascii=False)
    assert not any(row.text in dumped for row in rows if len(row.text) > 4)
    assert set(report["per_line"]) == {"110", "119", "120", "122"}


def test_the_command_prints_the_report_as_json() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "router.cli", "classifier", "eval-calls",
         "--data", str(DATA / "validation.jsonl")],
        capture_output=True, text=True, timeout=300, check=True)
    printed = json.loads(done.stdout)
    assert printed["rows"] == 600
    assert printed["emergencies"]["auto_dispatched_as_general"] == 0


def test_a_malformed_row_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "rows.jsonl"
    path.write_text('{"id": "x", "text": "着火了", "urgency": "emergency", "family": "fire"}\n',
                    encoding="utf-8")
    with pytest.raises(EvaluationDataError, match=r"rows\.jsonl:1"):
        read_rows(path)
