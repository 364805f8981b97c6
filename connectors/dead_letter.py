"""The dead-letter envelope: the rejected record, byte for byte, with why and where from."""

from __future__ import annotations

import base64
import json
from datetime import datetime


def dead_letter_envelope(
    raw: bytes, reason: str, detail: str, source_topic: str, partition: int | None,
    offset: int | None, rejected_at: datetime,
) -> bytes:
    """JSON bytes; `payload_base64` keeps the original exactly, whatever its encoding."""
    envelope = {
        "reason": reason,
        "detail": detail,
        "source": {"topic": source_topic, "partition": partition, "offset": offset},
        "rejected_at": rejected_at.isoformat(),
        "payload_base64": base64.b64encode(raw).decode("ascii"),
    }
    return json.dumps(envelope, ensure_ascii=False).encode("utf-8")
