"""`hotline-router classifier eval-trends`: the trend detector replayed over a history of
messages (a CSV with a time and the text), as a manager's weekly view would have shown it.

Each message gets the model's category and its content words; every `--every-days` the
rising categories and words of the last `recent_days` against the `baseline_days` before
them are computed (router.domain.trends). Output is JSON, one line per step. A word is only
reported when at least `min_word_reports` messages of the recent days use it, so a rare word
(a name) never appears; no message text is printed.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import re
from collections.abc import Iterator, Sequence
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from router.domain.trends import TrendPolicy, rising
from router.ports import ClassifierLike

_HAN = re.compile(r"[\u4e00-\u9fff]")  # a word of Chinese, not a folded number or code
_FORMATS = ("%Y/%m/%d %H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y/%m/%d %H:%M", "%Y-%m-%d %H:%M")


def parse_time(text: str) -> datetime | None:
    for form in _FORMATS:
        try:
            return datetime.strptime(text.strip(), form)
        except ValueError:
            continue
    return None


def read_history(path: Path, time_column: str, text_columns: Sequence[str]
                 ) -> tuple[list[date], list[str], int]:
    """The days and texts of the rows with a readable time, and how many had none."""
    days: list[date] = []
    texts: list[str] = []
    unreadable = 0
    with path.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            moment = parse_time(row.get(time_column) or "")
            if moment is None:
                unreadable += 1
                continue
            days.append(moment.date())
            texts.append("".join(row.get(c) or "" for c in text_columns))
    return days, texts, unreadable


def trend_steps(days: Sequence[date], categories: Sequence[str],
                words: Sequence[Sequence[str]], policy: TrendPolicy, every_days: int,
                min_word_reports: int, limit: int) -> Iterator[dict[str, Any]]:
    if not days:
        return
    by_category = [(c, d, 1) for c, d in zip(categories, days, strict=True)]
    by_word = [(w, d, 1) for ws, d in zip(words, days, strict=True)
               for w in set(ws) if len(w) > 1 and _HAN.search(w)]
    first = min(days) + timedelta(days=policy.baseline_days + policy.recent_days - 1)
    until = first
    word_policy = dataclasses.replace(
        policy, min_reports=max(min_word_reports, policy.min_reports))
    while until <= max(days):
        recent = sum(1 for d in days if until - timedelta(policy.recent_days) < d <= until)
        yield {"until": until.isoformat(), "recent_messages": recent,
               "rising_categories": [_shown(r) for r in rising(by_category, until, policy,
                                                                  limit)],
               "rising_words": [_shown(r) for r in rising(by_word, until, word_policy,
                                                             limit)]}
        until += timedelta(days=every_days)


def _shown(found: Any) -> dict[str, Any]:
    return {"key": found.key, "recent": found.recent, "expected": found.expected,
            "ratio": found.ratio, "tail_probability": float(f"{found.tail_probability:.2e}")}


def evaluate_history(path: Path, classifier: ClassifierLike, tokenise: Any,
                     policy: TrendPolicy, every_days: int, min_word_reports: int,
                     time_column: str = "time", text_columns: Sequence[str] = ("title", "detail"),
                     limit: int = 10) -> Iterator[str]:
    days, texts, unreadable = read_history(path, time_column, text_columns)
    categories = [p.category for p in classifier.predict(texts)]
    words = tokenise(texts)
    yield json.dumps({"messages": len(texts), "without_time": unreadable,
                      "from": min(days).isoformat() if days else None,
                      "to": max(days).isoformat() if days else None}, ensure_ascii=False)
    for step in trend_steps(days, categories, words, policy, every_days, min_word_reports,
                            limit):
        yield json.dumps(step, ensure_ascii=False)
