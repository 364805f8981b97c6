"""File replay (JSONL or CSV) for migrations, load tests and demos.

Rows are yielded as raw bytes in the wire format, unvalidated: they travel through the
intake topic like any CTI record, so a bad row is dead-lettered by the worker with its
reason, exactly as it would be in production.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path

_CSV_OVERRIDE_COLUMNS = {"override_category": "category", "override_unit": "unit",
                         "override_agent_id": "agent_id"}


def read_replay_file(path: Path) -> Iterator[tuple[str | None, bytes]]:
    """(call id if readable, record bytes) for each row of a .jsonl or .csv file."""
    suffix = path.suffix.lower()
    if suffix in {".jsonl", ".ndjson", ".json"}:
        yield from _jsonl(path)
    elif suffix == ".csv":
        yield from _csv(path)
    else:
        raise ValueError(f"{path}: replay reads .jsonl or .csv files, not {suffix!r}")


def _jsonl(path: Path) -> Iterator[tuple[str | None, bytes]]:
    with path.open("rb") as handle:
        for line in handle:
            record = line.strip()
            if record:
                yield _call_id_of(record), record


def _csv(path: Path) -> Iterator[tuple[str | None, bytes]]:
    with path.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            document: dict[str, object] = {k: v for k, v in row.items()
                                           if k not in _CSV_OVERRIDE_COLUMNS and v != ""}
            override = {field: row[column] for column, field in _CSV_OVERRIDE_COLUMNS.items()
                        if row.get(column)}
            if override:
                document["override"] = override
            call_id = document.get("call_id")
            yield (call_id if isinstance(call_id, str) else None,
                   json.dumps(document, ensure_ascii=False).encode("utf-8"))


def _call_id_of(record: bytes) -> str | None:
    try:
        document = json.loads(record)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None  # the worker dead-letters it with the reason
    call_id = document.get("call_id") if isinstance(document, dict) else None
    return call_id if isinstance(call_id, str) else None
