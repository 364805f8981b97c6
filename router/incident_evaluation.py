"""`hotline-router classifier eval-incidents`: the incident rule against labelled
near-duplicate groups (e.g. `neardup_group` of the shared data's segmented messages).

The messages are placed one after another, as intake would, into one index (no area and no
time window: every earlier message is a candidate, harsher than intake's blocking by area and
six hours). A message *joins* when the rule attaches it to an incident. Precision: the joins
into an incident led by a message of the same group. Recall: of the messages that have an
earlier member of their group, those that joined such an incident. No text is printed.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from router.domain.incidents import IncidentIndex, IncidentPolicy, opened

_AT = datetime(2020, 1, 1, tzinfo=UTC)


def evaluate_incidents(texts: Sequence[str], groups: Sequence[str], shares: Iterable[float],
                       grams: Callable[[str], frozenset[str]], profile_size: int = 300
                       ) -> list[dict[str, Any]]:
    signed = [grams(text) for text in texts]
    results = []
    for share in shares:
        policy = IncidentPolicy(min_share=share, window=timedelta(days=365 * 100),
                                profile_size=profile_size)
        index = IncidentIndex(policy)
        lead_group: dict[str, str] = {}
        seen: set[str] = set()
        joins = right = expected = found = 0
        for row, (text_grams, group) in enumerate(zip(signed, groups, strict=True)):
            had_earlier = group in seen
            seen.add(group)
            expected += had_earlier
            match = index.match(text_grams, _AT)
            if match is None:
                incident = opened(f"I{row}", f"T{row}", "all", "c", text_grams, _AT,
                                  "general", policy)
                lead_group[incident.incident_id] = group
                index.put(incident)
                continue
            parent = match[0]
            joins += 1
            same = lead_group[parent.incident_id] == group
            right += same
            found += same and had_earlier
            index.put(parent.with_report(text_grams, _AT, "general", policy))
        results.append({
            "min_share": share, "profile_size": profile_size, "messages": len(texts),
            "joins": joins,
            "precision": round(right / joins, 4) if joins else None,
            "recall": round(found / expected, 4) if expected else None,
            "with_an_earlier_member": expected, "incidents": len(lead_group)})
    return results


def read_groups(path: Path, text_column: str, group_column: str
                ) -> tuple[list[str], list[str]]:
    texts, groups = [], []
    with path.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            texts.append("".join((row.get(text_column) or "").split()))
            groups.append(row.get(group_column) or "")
    return texts, groups
