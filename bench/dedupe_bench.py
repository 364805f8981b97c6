"""The near-duplicate look-up at scale: sign a call and query an LSH index holding many open
incidents' signatures.

    python bench/dedupe_bench.py --data ../shared/data/teddy2020c/messages_labelled_raw.csv \\
        --open 100000 --calls 2000

The index is filled with `--open` signatures of call-sized texts (40–80 characters cut from
the messages at random offsets, so they overlap no more than real calls do); then `--calls`
other cuts are signed and looked up one at a time. Prints the median and p99 per call (µs)
and the index's memory (tracemalloc). No text is printed.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from classifiers.similarity import NearDuplicateIndex, signature


def cuts(texts: list[str], count: int, rng: random.Random) -> list[str]:
    found: list[str] = []
    while len(found) < count:
        text = rng.choice(texts)
        size = rng.randint(40, 80)
        start = rng.randint(0, max(len(text) - size, 0))
        found.append(text[start:start + size])
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="CSV with title and detail")
    parser.add_argument("--open", type=int, default=100_000)
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--threshold", type=float, default=0.6)
    args = parser.parse_args()
    with args.data.open(encoding="utf-8", newline="") as handle:
        texts = [f"{row.get('title', '')}{row.get('detail', '')}" for row in csv.DictReader(handle)]
    rng = random.Random(20261202)
    tracemalloc.start()
    index = NearDuplicateIndex(args.threshold)
    for key, text in enumerate(cuts(texts, args.open, rng)):
        index.add(key, signature(text))
    memory = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    timings = []
    matched = 0
    for text in cuts(texts, args.calls, rng):
        started = time.perf_counter()
        found = index.similar(signature(text))
        timings.append(time.perf_counter() - started)
        matched += bool(found)
    timings.sort()
    print(json.dumps({
        "open": len(index), "calls": args.calls, "threshold": args.threshold,
        "us_per_call_median": round(statistics.median(timings) * 1e6, 1),
        "us_per_call_p99": round(timings[int(len(timings) * 0.99)] * 1e6, 1),
        "calls_with_a_match": matched,
        "index_bytes_per_open": round(memory / max(len(index), 1))}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
