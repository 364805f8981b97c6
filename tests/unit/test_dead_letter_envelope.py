"""The dead-letter envelope stays far below the broker's message limit, whatever it carries."""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import UTC, datetime

from connectors.dead_letter import MAX_KEPT_BYTES, dead_letter_envelope

AT = datetime(2026, 12, 1, tzinfo=UTC)


def envelope(raw: bytes) -> dict[str, object]:
    document: dict[str, object] = json.loads(dead_letter_envelope(
        raw, "not_json", "x", "hotline.calls", 0, 7, AT))
    return document


def test_a_small_record_is_kept_whole_with_its_digest() -> None:
    raw = b'{"call_id": "C1", "text": '
    kept = envelope(raw)
    assert base64.b64decode(str(kept["payload_base64"])) == raw
    assert kept["payload_bytes"] == len(raw)
    assert kept["payload_sha256"] == hashlib.sha256(raw).hexdigest()
    assert kept["payload_truncated"] is False


def test_a_record_near_the_brokers_limit_makes_a_bounded_envelope() -> None:
    raw = b"\xff" + b"x" * 1_000_000  # about the 1 MB Apache Kafka accepts by default
    packed = dead_letter_envelope(raw, "bad_encoding", "not UTF-8 at byte 0", "hotline.calls",
                                  3, 99, AT)
    assert len(packed) < 2 * MAX_KEPT_BYTES  # base64 and the fields around it
    kept = json.loads(packed)
    assert kept["payload_truncated"] is True
    assert kept["payload_bytes"] == len(raw)
    assert kept["payload_sha256"] == hashlib.sha256(raw).hexdigest()  # of the whole record
    assert base64.b64decode(kept["payload_base64"]) == raw[:MAX_KEPT_BYTES]
    assert kept["source"] == {"topic": "hotline.calls", "partition": 3, "offset": 99}
