"""Parsing call records: every bad record is refused with a reason, good ones normalised."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from connectors.exceptions import MalformedCallRecord
from connectors.intake.json_calls import parse_call_bytes
from connectors.intake.replay import read_replay_file
from router.domain.calls import Channel, RejectionReason

HOTLINES = {"12345", "12315", "110"}


def good(**changes: object) -> dict[str, object]:
    record: dict[str, object] = {"call_id": "CTI-1", "hotline": "12345", "channel": "web",
                                 "received_at": "2026-11-29T08:00:00+08:00",
                                 "text": "小区门口路灯不亮", "place_text": "城关区"}
    record.update(changes)
    return record


def parse(record: object, limit: int = 100) -> object:
    raw = record if isinstance(record, bytes) else json.dumps(record).encode()
    return parse_call_bytes(raw, HOTLINES, limit)


def test_a_good_record_becomes_a_normalised_call() -> None:
    call = parse_call_bytes(json.dumps(good()).encode(), HOTLINES, 100)
    assert call.call_id == "CTI-1"
    assert call.channel is Channel.WEB
    assert call.received_at == datetime(2026, 11, 29, 0, 0, tzinfo=UTC)
    assert call.raw_payload["place_text"] == "城关区"


def test_a_time_without_a_zone_is_china_standard_time() -> None:
    call = parse_call_bytes(json.dumps(good(received_at="2026-11-29T08:00:00")).encode(),
                            HOTLINES, 100)
    assert call.received_at.utcoffset() == timedelta(hours=8)


@pytest.mark.parametrize(
    ("record", "reason"),
    [
        (b"\xff\xfe not utf-8", RejectionReason.BAD_ENCODING),
        (b'{"call_id": "x", ', RejectionReason.NOT_JSON),
        ([1, 2], RejectionReason.NOT_AN_OBJECT),
        ({"hotline": "12345", "text": "有事"}, RejectionReason.MISSING_FIELD),
        (good(text=None), RejectionReason.MISSING_FIELD),
        (good(text="   "), RejectionReason.EMPTY_TEXT),
        (good(text="长" * 101), RejectionReason.TEXT_TOO_LONG),
        (good(hotline="99999"), RejectionReason.UNKNOWN_HOTLINE),
        (good(channel="fax"), RejectionReason.INVALID_FIELD),
        (good(call_id="has spaces"), RejectionReason.INVALID_FIELD),
        (good(received_at="yesterday"), RejectionReason.INVALID_FIELD),
        (good(text=42), RejectionReason.INVALID_FIELD),
        (good(override="城乡建设"), RejectionReason.INVALID_FIELD),
    ],
)
def test_a_bad_record_is_refused_with_its_reason(record: object, reason: RejectionReason
                                                 ) -> None:
    with pytest.raises(MalformedCallRecord) as refused:
        parse(record)
    assert refused.value.reason is reason
    assert refused.value.detail


def test_an_override_without_a_choice_is_no_override() -> None:
    call = parse_call_bytes(json.dumps(good(override={"agent_id": "A1"})).encode(),
                            HOTLINES, 100)
    assert call.override is None



NESTED = b'{"call_id": "CTI-1", "hotline": "12345", "text": "x", "extra": ' + b"[" * 100_000 \
    + b"]" * 100_000 + b"}"


def test_a_deeply_nested_record_is_malformed_not_a_processing_failure() -> None:
    with pytest.raises(MalformedCallRecord) as refused:
        parse(NESTED)
    assert refused.value.reason is RejectionReason.NOT_JSON


def test_replay_keeps_going_past_a_deeply_nested_line(tmp_path: Path) -> None:
    replay = tmp_path / "calls.jsonl"
    replay.write_bytes(json.dumps(good(call_id="A")).encode() + b"\n" + NESTED + b"\n"
                       + json.dumps(good(call_id="B")).encode() + b"\n")
    assert [call_id for call_id, _ in read_replay_file(replay)] == ["A", None, "B"]


@pytest.mark.parametrize("field", ["text", "caller_contact", "place_text", "call_id"])
def test_a_lone_surrogate_is_a_bad_encoding(field: str) -> None:
    raw = json.dumps(good(**{field: "小区\ud800停水"})).encode()  # json escapes it as \\ud800
    with pytest.raises(MalformedCallRecord) as refused:
        parse(raw)
    assert refused.value.reason is RejectionReason.BAD_ENCODING


@pytest.mark.parametrize("when", ["0001-01-01T00:00:00+00:00", "1970-01-01T00:00:00+00:00",
                                  "9999-12-31T23:59:59+00:00", 0])
def test_a_receipt_time_far_from_now_is_refused(when: object) -> None:
    with pytest.raises(MalformedCallRecord) as refused:
        parse(good(received_at=when))
    assert refused.value.reason is RejectionReason.INVALID_FIELD


def test_a_call_id_with_a_trailing_newline_is_refused() -> None:
    with pytest.raises(MalformedCallRecord) as refused:
        parse(good(call_id="CTI-1\n"))
    assert refused.value.reason is RejectionReason.INVALID_FIELD


@pytest.mark.parametrize("field", ["text", "caller_contact", "place_text"])
@pytest.mark.parametrize("control", ["\x00", "\x07", "\x1b", "\x7f"])
def test_nul_and_control_characters_are_refused(field: str, control: str) -> None:
    with pytest.raises(MalformedCallRecord) as refused:
        parse(good(**{field: f"小区{control}停水"}))
    assert refused.value.reason is RejectionReason.INVALID_FIELD


def test_line_breaks_and_tabs_in_a_demand_are_kept() -> None:
    call = parse_call_bytes(json.dumps(good(text="小区停水\n第二天了\t请处理")).encode(),
                            HOTLINES, 100)
    assert call.text == "小区停水\n第二天了\t请处理"


def test_unknown_fields_are_not_stored() -> None:
    call = parse_call_bytes(json.dumps(good(junk="x" * 10_000, more={"a": 1})).encode(),
                            HOTLINES, 100)
    assert "junk" not in call.raw_payload
    assert "more" not in call.raw_payload
    assert call.raw_payload["call_id"] == "CTI-1"


@pytest.mark.parametrize("record", [
    good(hotline="13800001234"), good(channel="13800001234"),
    good(received_at="13800001234"), good(call_id="13800001234 110101199003071234"),
    good(caller_contact="1" * 600)])
def test_a_refusal_never_quotes_the_field_it_refuses(record: dict[str, object]) -> None:
    with pytest.raises(MalformedCallRecord) as refused:
        parse(record)
    assert "13800001234" not in refused.value.detail
    assert "110101199003071234" not in refused.value.detail
    assert "1111111111" not in refused.value.detail


def test_an_agents_category_must_come_from_the_taxonomy() -> None:
    taxonomy = ("城乡建设", "交通运输")
    ok = parse_call_bytes(json.dumps(good(override={"category": "交通运输"})).encode(),
                          HOTLINES, 100, categories=taxonomy)
    assert ok.override is not None
    assert ok.override.category == "交通运输"
    for free_text in ("13800001234", "随便写的类别", "交通"):
        with pytest.raises(MalformedCallRecord) as refused:
            parse_call_bytes(json.dumps(good(override={"category": free_text})).encode(),
                             HOTLINES, 100, categories=taxonomy)
        assert refused.value.reason is RejectionReason.INVALID_FIELD
        assert free_text not in refused.value.detail
