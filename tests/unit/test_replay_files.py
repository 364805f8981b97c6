"""Replay files: JSONL and CSV rows become wire records, bad rows are passed on unjudged."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from connectors.intake.replay import read_replay_file


def test_jsonl_rows_are_passed_on_byte_for_byte_with_their_call_ids(tmp_path: Path) -> None:
    path = tmp_path / "calls.jsonl"
    good = '{"call_id": "C1", "hotline": "12345", "text": "路灯不亮"}'
    path.write_text(f"{good}\n\n{{not json\n", encoding="utf-8")
    rows = list(read_replay_file(path))
    assert rows == [("C1", good.encode()), (None, b"{not json")]


def test_csv_rows_become_json_records_with_the_agents_override(tmp_path: Path) -> None:
    path = tmp_path / "calls.csv"
    path.write_text("call_id,hotline,text,place_text,override_category\n"
                    "C1,12345,小区停水,城关区,城乡建设\n"
                    "C2,12315,买到过期食品,,\n", encoding="utf-8")
    rows = list(read_replay_file(path))
    assert [call_id for call_id, _ in rows] == ["C1", "C2"]
    first, second = (json.loads(record) for _, record in rows)
    assert first == {"call_id": "C1", "hotline": "12345", "text": "小区停水",
                     "place_text": "城关区", "override": {"category": "城乡建设"}}
    assert second == {"call_id": "C2", "hotline": "12315", "text": "买到过期食品"}


def test_another_kind_of_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "calls.xlsx"
    path.write_bytes(b"")
    with pytest.raises(ValueError, match=r"reads \.jsonl or \.csv"):
        list(read_replay_file(path))
