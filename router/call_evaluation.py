"""Offline evaluation of what intake does with short spoken calls: transfers, grading, triage.

Rows are written call summaries with the expected outcome (`tests/data/spoken_calls/`). Each
goes through the same `CallAssessor` as live intake (classifier, urgency rules, routing
table), so the figures are the product's, not a model's in isolation. The report holds
figures and row ids only, never text.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from router.domain.calls import CallRecord, Channel
from router.domain.routing import Disposition
from router.intake_service import Assessment, CallAssessor

EMERGENCY = "emergency"
LINES = ("110", "119", "120", "122")


class EvaluationDataError(ValueError):
    """A row of an evaluation file is not what `read_rows` expects."""


@dataclass(frozen=True, slots=True)
class EvaluationRow:
    row_id: str
    text: str
    urgency: str
    service: str | None
    also: tuple[str, ...]
    category: str | None
    level2: str | None
    family: str

    @property
    def lines(self) -> frozenset[str]:
        """Every emergency line that would be right for this row."""
        return frozenset(((self.service,) if self.service else ()) + self.also)


def read_rows(path: Path) -> list[EvaluationRow]:
    rows = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                raw = json.loads(line)
                row = EvaluationRow(
                    row_id=str(raw["id"]), text=str(raw["text"]), urgency=str(raw["urgency"]),
                    service=raw.get("service"), also=tuple(raw.get("also") or ()),
                    category=raw.get("category"), level2=raw.get("level2"),
                    family=str(raw["family"]))
            except (json.JSONDecodeError, KeyError, TypeError) as error:
                raise EvaluationDataError(f"{path}:{number}: {error!r}") from error
            if (row.urgency == EMERGENCY) != (row.service in LINES):
                raise EvaluationDataError(f"{path}:{number}: an emergency needs a line, only it")
            rows.append(row)
    return rows


def _call(row: EvaluationRow, received_at: datetime) -> CallRecord:
    return CallRecord(call_id=row.row_id, hotline="12345", channel=Channel.PHONE,
                      received_at=received_at, text=row.text)


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def evaluate_calls(assessor: CallAssessor, rows: Sequence[EvaluationRow],
                   batch_size: int = 256) -> dict[str, Any]:
    received_at = datetime.now(UTC)
    assessments: list[Assessment] = []
    for start in range(0, len(rows), batch_size):
        batch = rows[start:start + batch_size]
        assessments += assessor.assess([_call(row, received_at) for row in batch])
    return _report(list(zip(rows, assessments, strict=True)))


def _report(results: list[tuple[EvaluationRow, Assessment]]) -> dict[str, Any]:
    emergencies = [(r, a) for r, a in results if r.urgency == EMERGENCY]
    others = [(r, a) for r, a in results if r.urgency != EMERGENCY]

    def transferred(a: Assessment) -> bool:
        return a.decision.disposition is Disposition.TRANSFERRED

    def right_line(r: EvaluationRow, a: Assessment) -> bool:
        return transferred(a) and a.decision.emergency_service in r.lines

    missed = [(r, a) for r, a in emergencies if not transferred(a)]
    wrong_line = [r.row_id for r, a in emergencies if transferred(a) and not right_line(r, a)]
    false_transfers = [r.row_id for r, a in others if transferred(a)]
    dispatched_emergencies = [r.row_id for r, a in missed
                              if a.decision.disposition is Disposition.DISPATCHED]
    per_line = {}
    for line in LINES:
        expected = [(r, a) for r, a in emergencies if r.service == line]
        sent_here = [(r, a) for r, a in results
                     if transferred(a) and a.decision.emergency_service == line]
        per_line[line] = {
            "expected": len(expected),
            "recall": _ratio(sum(right_line(r, a) for r, a in expected), len(expected)),
            "transfers": len(sent_here),
            "precision": _ratio(sum(line in r.lines for r, _a in sent_here), len(sent_here)),
        }
    return {
        "rows": len(results),
        "emergencies": {
            "rows": len(emergencies),
            "recall": _ratio(len(emergencies) - len(missed), len(emergencies)),
            "right_line": _ratio(sum(right_line(r, a) for r, a in emergencies),
                                 len(emergencies)),
            "auto_dispatched_as_general": len(dispatched_emergencies),
            "to_triage": Counter(a.decision.rule_id for _r, a in missed
                                 if a.decision.disposition is Disposition.TRIAGE),
            "missed_ids": [r.row_id for r, _a in missed],
            "wrong_line_ids": wrong_line,
            "dispatched_ids": dispatched_emergencies,
        },
        "per_line": per_line,
        "non_emergencies": {
            "rows": len(others),
            "transferred": len(false_transfers),
            "transferred_share": _ratio(len(false_transfers), len(others)),
            "transferred_ids": false_transfers,
        },
        "grading": {grade: _grading(others, grade) for grade in ("2h", "24h", "complex")},
        "no_content": _no_content(others),
        "short_general_calls": _auto_dispatch(
            [(r, a) for r, a in others if r.category is not None]),
        "triage_share": _ratio(sum(a.decision.disposition is Disposition.TRIAGE
                                   for _r, a in results), len(results)),
        "triage_by_rule": Counter(a.decision.rule_id for _r, a in results
                                  if a.decision.disposition is Disposition.TRIAGE),
        "per_family": _per_family(results),
    }


def _grading(results: Iterable[tuple[EvaluationRow, Assessment]], grade: str
             ) -> dict[str, Any]:
    mine = [(r, a) for r, a in results if r.urgency == grade]
    graded = [r for r, a in mine if str(a.urgency.urgency) == grade]
    return {"rows": len(mine), "graded": _ratio(len(graded), len(mine)),
            "missed_ids": [r.row_id for r, a in mine if str(a.urgency.urgency) != grade]}


def _no_content(results: Iterable[tuple[EvaluationRow, Assessment]]) -> dict[str, Any]:
    mine = [(r, a) for r, a in results if r.family == "no_content"]
    dispatched = [r.row_id for r, a in mine if a.decision.disposition is Disposition.DISPATCHED]
    return {"rows": len(mine), "auto_dispatched": len(dispatched), "dispatched_ids": dispatched}


def _filed_right(row: EvaluationRow, assessment: Assessment) -> bool:
    """The category is the expected one; for a catalogue item, its taxonomy path may say it
    instead (the taxonomy files 公共汽车 under 城乡建设, the item routes it as 交通运输)."""
    if assessment.category == row.category:
        return True
    named = assessment.named
    return (named is not None and assessment.decision.rule_id.startswith("catalogue-")
            and named.item.path.split("/")[0] == row.category)


def _auto_dispatch(results: list[tuple[EvaluationRow, Assessment]]) -> dict[str, Any]:
    dispatched = [(r, a) for r, a in results if a.decision.disposition is Disposition.DISPATCHED]
    by_catalogue = [(r, a) for r, a in dispatched if a.decision.rule_id.startswith("catalogue-")]
    by_model = [(r, a) for r, a in dispatched if not a.decision.rule_id.startswith("catalogue-")]
    return {
        "rows": len(results),
        "auto_dispatched_share": _ratio(len(dispatched), len(results)),
        "precision": _ratio(sum(_filed_right(r, a) for r, a in dispatched), len(dispatched)),
        "by_catalogue": {"dispatched": len(by_catalogue), "precision": _ratio(
            sum(_filed_right(r, a) for r, a in by_catalogue), len(by_catalogue))},
        "by_model": {"dispatched": len(by_model), "precision": _ratio(
            sum(_filed_right(r, a) for r, a in by_model), len(by_model))},
        "wrong_ids": [r.row_id for r, a in dispatched if not _filed_right(r, a)],
    }


def _per_family(results: list[tuple[EvaluationRow, Assessment]]) -> dict[str, Any]:
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    for row, assessment in results:
        family = counts[row.family]
        family["rows"] += 1
        family[assessment.decision.disposition.value] += 1
        if row.urgency == EMERGENCY and assessment.decision.emergency_service in row.lines:
            family["right_line"] += 1
        if str(assessment.urgency.urgency) == row.urgency:
            family["urgency_right"] += 1
    return {name: dict(sorted(counter.items())) for name, counter in sorted(counts.items())}
