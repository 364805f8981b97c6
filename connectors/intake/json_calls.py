"""The JSON call record that telephony/CTI systems, the agent desktop and replays send.

    {"call_id": "CTI-20261129-000123", "hotline": "12345", "channel": "phone",
     "received_at": "2026-11-29T09:15:00+08:00", "caller_contact": "13800000000",
     "text": "小区停水两天了…", "place_text": "城关区张掖路", "area": null,
     "override": {"category": "城乡建设", "unit": null, "agent_id": "A017"}}

Required: call_id, hotline, text. A time without a zone is China Standard Time (UTC+8),
as CTI systems here record local time. Fields not listed above are dropped, not stored.

A refusal's detail names the field and the rule it broke, never the value: a value can be a
caller's phone or ID number sent in the wrong field.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Mapping
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from connectors.exceptions import MalformedCallRecord
from router.domain.calls import CallRecord, Channel, Override, RejectionReason

CHINA_STANDARD_TIME = timezone(timedelta(hours=8), "CST")
_CALL_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:\-]{0,127}")
_OPTIONAL_TEXT_LIMIT = 500
# C0 controls but tab, line feed and carriage return, and DEL: no agent types them, and
# PostgreSQL refuses NUL in text, so a call accepted with one would fail later.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# Receipt times outside this range are typing or clock errors, not calls (0 is 1970).
_EARLIEST_RECEIPT = datetime(2000, 1, 1, tzinfo=UTC)
_LATEST_AHEAD = timedelta(days=1)
_FIELDS = ("call_id", "hotline", "channel", "received_at", "caller_contact", "text",
           "place_text", "area", "override")


def parse_call_bytes(
    raw: bytes, hotlines: Collection[str], max_text_chars: int, now: datetime | None = None,
    categories: Collection[str] | None = None,
) -> CallRecord:
    """Decode and validate one record from the wire, or raise MalformedCallRecord.
    `categories`, when given, are the taxonomy an agent's category must come from."""
    try:
        decoded = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MalformedCallRecord(RejectionReason.BAD_ENCODING,
                                  f"not UTF-8 at byte {exc.start}") from None
    try:
        document = json.loads(decoded)
    except json.JSONDecodeError as exc:
        raise MalformedCallRecord(RejectionReason.NOT_JSON,
                                  f"{exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except RecursionError:
        raise MalformedCallRecord(RejectionReason.NOT_JSON, "nested too deeply") from None
    return parse_call_document(document, hotlines, max_text_chars, now, categories)


def parse_call_document(
    document: Any, hotlines: Collection[str], max_text_chars: int, now: datetime | None = None,
    categories: Collection[str] | None = None,
) -> CallRecord:
    if not isinstance(document, dict):
        raise MalformedCallRecord(RejectionReason.NOT_AN_OBJECT,
                                  f"expected a JSON object, got {type(document).__name__}")
    call_id = _required_text(document, "call_id")
    if not _CALL_ID.fullmatch(call_id):
        raise MalformedCallRecord(RejectionReason.INVALID_FIELD,
                                  "call_id: 1-128 of letters, digits and . _ : -")
    hotline = _required_text(document, "hotline")
    if hotline not in hotlines:
        raise MalformedCallRecord(RejectionReason.UNKNOWN_HOTLINE,
                                  "hotline is not in the registry")
    text = _required_text(document, "text", empty_reason=RejectionReason.EMPTY_TEXT).strip()
    if len(text) > max_text_chars:
        raise MalformedCallRecord(RejectionReason.TEXT_TOO_LONG,
                                  f"text has {len(text)} characters, limit {max_text_chars}")
    return CallRecord(
        call_id=call_id,
        hotline=hotline,
        channel=_channel(document.get("channel", Channel.PHONE.value)),
        received_at=_received_at(document.get("received_at"), now),
        text=text,
        caller_contact=_optional_text(document, "caller_contact"),
        place_text=_optional_text(document, "place_text"),
        area=_optional_text(document, "area"),
        override=_override(document.get("override"), categories),
        raw_payload={name: document[name] for name in _FIELDS if name in document},
    )


def _required_text(document: Mapping[str, Any], field: str,
                   empty_reason: RejectionReason = RejectionReason.MISSING_FIELD) -> str:
    if field not in document or document[field] is None:
        raise MalformedCallRecord(RejectionReason.MISSING_FIELD, f"{field} is required")
    value = document[field]
    if not isinstance(value, str):
        raise MalformedCallRecord(RejectionReason.INVALID_FIELD, f"{field} must be a string")
    _check_characters(field, value)
    if not value.strip():
        raise MalformedCallRecord(empty_reason, f"{field} is empty")
    return value


def _check_characters(field: str, value: str) -> None:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate, which JSON's \ud800 escape can carry
        raise MalformedCallRecord(RejectionReason.BAD_ENCODING,
                                  f"{field} holds a lone surrogate, not text") from None
    if _CONTROL.search(value):
        raise MalformedCallRecord(RejectionReason.INVALID_FIELD,
                                  f"{field} holds a control character")


def _optional_text(document: Mapping[str, Any], field: str) -> str | None:
    value = document.get(field)
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > _OPTIONAL_TEXT_LIMIT:
        raise MalformedCallRecord(
            RejectionReason.INVALID_FIELD,
            f"{field} must be a string of at most {_OPTIONAL_TEXT_LIMIT} characters")
    _check_characters(field, value)
    return value.strip() or None


def _channel(value: Any) -> Channel:
    try:
        return Channel(value)
    except ValueError:
        allowed = ", ".join(c.value for c in Channel)
        raise MalformedCallRecord(RejectionReason.INVALID_FIELD,
                                  f"channel must be one of {allowed}") from None


def _received_at(value: Any, now: datetime | None) -> datetime:
    if value is None:
        return now or datetime.now(UTC)
    if not isinstance(value, str):
        raise MalformedCallRecord(RejectionReason.INVALID_FIELD,
                                  "received_at must be an ISO-8601 string")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise MalformedCallRecord(RejectionReason.INVALID_FIELD,
                                  "received_at is not an ISO-8601 time") from None
    parsed = parsed if parsed.tzinfo else parsed.replace(tzinfo=CHINA_STANDARD_TIME)
    try:
        in_range = _EARLIEST_RECEIPT <= parsed <= (now or datetime.now(UTC)) + _LATEST_AHEAD
    except OverflowError:  # year 9999 plus a day
        in_range = False
    if not in_range:
        raise MalformedCallRecord(
            RejectionReason.INVALID_FIELD,
            f"received_at must lie between {_EARLIEST_RECEIPT.date()} and a day from now")
    return parsed


def _override(value: Any, categories: Collection[str] | None) -> Override | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise MalformedCallRecord(RejectionReason.INVALID_FIELD, "override must be an object")
    fields = {name: _optional_text(value, name) for name in ("category", "unit", "agent_id")}
    if fields["category"] is None and fields["unit"] is None:
        return None
    # Free text here would become a ticket's category, a metric label and training data.
    if categories is not None and fields["category"] not in (None, *categories):
        raise MalformedCallRecord(RejectionReason.INVALID_FIELD,
                                  "override.category is not a category of the taxonomy")
    return Override(**fields)

