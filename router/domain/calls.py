"""The normalised call record every intake path produces (来电/诉求记录)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any


class Channel(StrEnum):
    """Where a demand came in."""

    PHONE = "phone"
    WEB = "web"
    APP = "app"
    WECHAT = "wechat"
    SMS = "sms"
    EMAIL = "email"
    TRANSFER = "transfer"  # handed over by another line, e.g. 110 → 12345 (双非)
    REPLAY = "replay"  # file replay: migrations, load tests, demos


class RejectionReason(StrEnum):
    """Why a record went to the dead-letter topic; a bounded set, used as a metric label."""

    BAD_ENCODING = "bad_encoding"
    NOT_JSON = "not_json"
    NOT_AN_OBJECT = "not_an_object"
    MISSING_FIELD = "missing_field"
    INVALID_FIELD = "invalid_field"
    UNKNOWN_HOTLINE = "unknown_hotline"
    EMPTY_TEXT = "empty_text"
    TEXT_TOO_LONG = "text_too_long"
    CALL_ID_CONFLICT = "call_id_conflict"  # the id names a ticket of a different call
    PROCESSING_FAILED = "processing_failed"


@dataclass(frozen=True, slots=True)
class Override:
    """An agent's correction of the suggestion (kept: it is training data for the classifier)."""

    category: str | None = None
    unit: str | None = None
    agent_id: str | None = None


@dataclass(frozen=True, slots=True)
class CallRecord:
    """One citizen demand, whatever hotline or channel it came through.

    `call_id` is the idempotency key: the same call id never makes a second ticket.
    """

    call_id: str
    hotline: str
    channel: Channel
    received_at: datetime  # timezone-aware
    text: str
    caller_contact: str | None = None
    place_text: str | None = None
    area: str | None = None  # district code, when the source already knows it
    override: Override | None = None
    raw_payload: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RepeatPolicy:
    """催办: a call from the same caller, about the same category, at least this similar to
    an open ticket created within the window, is counted on that ticket."""

    window: timedelta = timedelta(hours=72)
    min_similarity: float = 0.25  # of the texts' character 3-grams (Jaccard)


def caller_key(contact: str | None) -> str | None:
    """Who called, as a key that is the same whether the number came whole or masked
    (13800001234 and 138****1234 both give 1381234): the first three and last four digits.
    None when the contact holds fewer than seven digits."""
    if not contact:
        return None
    digits = "".join(ch for ch in contact if ch.isascii() and ch.isdigit())
    if len(digits) == 13 and digits.startswith("861"):  # +86 before a mobile number
        digits = digits[2:]
    return digits[:3] + digits[-4:] if len(digits) >= 7 else None
