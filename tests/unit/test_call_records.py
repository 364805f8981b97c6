"""Parsing call records: every bad record is refused with a reason, good ones normalised."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from connectors.exceptions import MalformedCallRecord
from connectors.intake.json_calls import parse_call_bytes
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

