"""Property tests of the intake adapters: whatever arrives, a parser either returns a valid
call or refuses it with one of the known reasons; it never fails in any other way, and what it
accepts can be stored and sent on (UTF-8 encodable, no NUL)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectors.dead_letter import MAX_KEPT_BYTES, dead_letter_envelope
from connectors.exceptions import MalformedCallRecord
from connectors.intake.json_calls import parse_call_bytes, parse_call_document
from connectors.intake.replay import read_replay_file
from router.domain.calls import CallRecord, RejectionReason

HOTLINES = {"12345", "12315", "110"}
FIELDS = ["call_id", "hotline", "channel", "received_at", "caller_contact", "text",
          "place_text", "area", "override", "extra"]
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                 max_size=4),
    max_leaves=12)
# Documents shaped like call records, with any value in any field: the interesting cases.
records = st.dictionaries(st.sampled_from(FIELDS), json_values | st.text(min_size=1),
                          max_size=len(FIELDS)) | json_values


def parsed_or_refused(parse: Callable[[], CallRecord]) -> CallRecord | MalformedCallRecord:
    try:
        return parse()
    except MalformedCallRecord as refused:
        return refused


def assert_storable(call: CallRecord) -> None:
    for value in (call.call_id, call.hotline, call.text, call.caller_contact, call.place_text):
        if value is not None:
            value.encode("utf-8")
            assert "\x00" not in value
    assert call.received_at.tzinfo is not None
    assert set(call.raw_payload) <= set(FIELDS) - {"extra"}
    json.dumps(dict(call.raw_payload), ensure_ascii=False).encode("utf-8")


@given(st.binary(max_size=2000))
@settings(max_examples=300)
def test_any_bytes_become_a_call_or_a_known_refusal(raw: bytes) -> None:
    result = parsed_or_refused(lambda: parse_call_bytes(raw, HOTLINES, 200))
    if isinstance(result, MalformedCallRecord):
        assert result.reason in set(RejectionReason)
    else:
        assert_storable(result)


@given(records)
@settings(max_examples=500, suppress_health_check=[HealthCheck.too_slow])
def test_any_document_becomes_a_call_or_a_known_refusal(document: Any) -> None:
    result = parsed_or_refused(
        lambda: parse_call_document(document, HOTLINES, 200, categories=("城乡建设",)))
    if isinstance(result, MalformedCallRecord):
        assert result.reason in set(RejectionReason)
        assert result.detail
    else:
        assert_storable(result)


@given(st.lists(st.binary(max_size=300).filter(lambda b: b"\n" not in b), max_size=20))
@settings(max_examples=100, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_replay_passes_every_nonblank_jsonl_line_on_unjudged(tmp_path_factory: Any,
                                                             lines: list[bytes]) -> None:
    path = Path(tmp_path_factory.mktemp("replay")) / "calls.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    rows = list(read_replay_file(path))
    assert [raw for _, raw in rows] == [line.strip() for line in lines if line.strip()]


@given(st.binary(max_size=3 * MAX_KEPT_BYTES), st.text(max_size=50))
@settings(max_examples=50, suppress_health_check=[HealthCheck.too_slow])
def test_a_dead_letter_envelope_is_bounded_and_valid_json(raw: bytes, detail: str) -> None:
    from datetime import UTC, datetime

    envelope = dead_letter_envelope(raw, "not_json", detail.encode("utf-8", "replace")
                                    .decode("utf-8"), "t", 0, 0, datetime.now(UTC))
    assert len(envelope) < 2 * MAX_KEPT_BYTES + 1000
    assert json.loads(envelope)["payload_bytes"] == len(raw)
