"""The dead-letter envelope: the rejected record with why and where from, bounded in size.

A record can be as large as the broker accepts (1 MB by default on Apache Kafka); its base64
in an envelope would be a third larger and refused, and a dead letter that cannot be sent
stops intake. So the envelope keeps the first `MAX_KEPT_BYTES` of the original, with its full
length and SHA-256, by which the whole record can be found again at its source offset.
"""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import datetime

MAX_KEPT_BYTES = 64 * 1024


def dead_letter_envelope(
    raw: bytes, reason: str, detail: str, source_topic: str, partition: int | None,
    offset: int | None, rejected_at: datetime,
) -> bytes:
    """JSON bytes; `payload_base64` keeps the original exactly (or its start, when
    `payload_truncated`), whatever its encoding."""
    envelope = {
        "reason": reason,
        "detail": detail,
        "source": {"topic": source_topic, "partition": partition, "offset": offset},
        "rejected_at": rejected_at.isoformat(),
        "payload_bytes": len(raw),
        "payload_sha256": hashlib.sha256(raw).hexdigest(),
        "payload_truncated": len(raw) > MAX_KEPT_BYTES,
        "payload_base64": base64.b64encode(raw[:MAX_KEPT_BYTES]).decode("ascii"),
    }
    return json.dumps(envelope, ensure_ascii=False).encode("utf-8")
