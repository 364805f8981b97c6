"""Cost of urgency grading per call: the rules alone, and the rules with the danger model.

    python bench/urgency_bench.py [--data tests/data/spoken_calls/dev.jsonl] [--runs 7]
                                  [--batch 256]

One core, batches of 256 as intake sends them at full speed (`--batch 1`: the agent desktop's
one-call batches); medians of several runs, in microseconds per call, and the share of it
spent in 繁→简 normalisation (OpenCC). Output is JSON with figures only.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from classifiers import DangerModel, UrgencyRules
from classifiers.text import normalise_text


def _median_microseconds(texts: Sequence[str], work: Callable[[Sequence[str]], object],
                         runs: int, batch: int) -> float:
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        for start in range(0, len(texts), batch):
            work(texts[start:start + batch])
        timings.append(time.perf_counter() - started)
    return round(statistics.median(timings) / len(texts) * 1e6, 1)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path,
                        default=Path(__file__).resolve().parents[1]
                        / "tests/data/spoken_calls/dev.jsonl")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--calls", type=int, default=4096)
    parser.add_argument("--batch", type=int, default=256)
    args = parser.parse_args()
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core
    rows = [json.loads(line)["text"] for line in args.data.read_text("utf-8").splitlines()
            if line.strip()]
    texts = (rows * (args.calls // len(rows) + 1))[:args.calls]
    rules = UrgencyRules.load()
    graded = rules.with_model(DangerModel.load())
    report = {
        "calls": len(texts),
        "median_chars": statistics.median(len(text) for text in texts),
        "rules_us_per_call": _median_microseconds(
            texts, lambda batch: [rules.assess(text) for text in batch], args.runs, args.batch),
        "rules_and_danger_model_us_per_call": _median_microseconds(
            texts, graded.assess_batch, args.runs, args.batch),
        "normalise_us_per_call": _median_microseconds(
            texts, lambda batch: [normalise_text(text) for text in batch], args.runs,
            args.batch),
        "batch": args.batch,
        "runs": args.runs,
    }
    json.dump(report, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
