"""Near-duplicate demands: MinHash signatures of character shingles and an LSH index
(datasketch), fast enough for the stream.

A demand's signature is the MinHash of its character 3-grams after normalisation (full-width
folded, 繁→简, punctuation and spaces dropped), so "小区停水三天了" and "小区已经停水三天" share
most of their shingles whatever the punctuation. `NearDuplicateIndex` answers "which kept
demands are at least `threshold` similar (estimated Jaccard) to this one" without comparing
against all of them; `evaluate` measures it on labelled near-duplicate groups.
"""

from __future__ import annotations

import itertools
import re
import time
from collections import defaultdict
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass

from datasketch import MinHash, MinHashLSH

from classifiers.text import normalise_text

NUM_PERM = 64
SHINGLE = 3
_NOT_A_LETTER = re.compile(r"[\W_]+")


def shingles(text: str, size: int = SHINGLE) -> set[bytes]:
    letters = _NOT_A_LETTER.sub("", normalise_text(text)).lower()
    if len(letters) <= size:
        return {letters.encode()} if letters else set()
    return {letters[i:i + size].encode() for i in range(len(letters) - size + 1)}


def text_grams(text: str, size: int = SHINGLE) -> frozenset[str]:
    """A text's character n-grams, as `shingles` makes them, as strings."""
    return frozenset(gram.decode() for gram in shingles(text, size))


def signature(text: str, num_perm: int = NUM_PERM) -> MinHash:
    found = MinHash(num_perm=num_perm, seed=12345)
    parts = shingles(text)
    if parts:
        found.update_batch(list(parts))
    return found


class NearDuplicateIndex:
    """Kept signatures by key; `similar` returns the keys at or above the threshold, most
    similar first."""

    def __init__(self, threshold: float, num_perm: int = NUM_PERM) -> None:
        self.threshold = threshold
        self._lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
        self._kept: dict[Hashable, MinHash] = {}

    def __len__(self) -> int:
        return len(self._kept)

    def add(self, key: Hashable, found: MinHash) -> None:
        if key not in self._kept:
            self._lsh.insert(key, found)
            self._kept[key] = found

    def remove(self, key: Hashable) -> None:
        if self._kept.pop(key, None) is not None:
            self._lsh.remove(key)

    def similar(self, found: MinHash) -> list[tuple[Hashable, float]]:
        scored = [(key, found.jaccard(self._kept[key])) for key in self._lsh.query(found)]
        return sorted(((k, s) for k, s in scored if s >= self.threshold),
                      key=lambda pair: -pair[1])


@dataclass(frozen=True, slots=True)
class DedupeScore:
    threshold: float
    precision: float | None
    recall: float
    predicted_pairs: int
    true_pairs: int
    microseconds_per_text: float


def evaluate(texts: Sequence[str], groups: Sequence[str], thresholds: Iterable[float]
             ) -> list[DedupeScore]:
    """Pairs found by the index against pairs that share a group, for each threshold."""
    members: dict[str, list[int]] = defaultdict(list)
    for row, group in enumerate(groups):
        members[group].append(row)
    truth = {pair for indices in members.values() if len(indices) > 1
             for pair in itertools.combinations(sorted(indices), 2)}
    started = time.perf_counter()
    signatures = [signature(text) for text in texts]
    signing = (time.perf_counter() - started) / max(len(texts), 1)
    scores = []
    for threshold in thresholds:
        kept = NearDuplicateIndex(threshold)
        found: set[tuple[int, int]] = set()
        started = time.perf_counter()
        for position, sig in enumerate(signatures):
            for other, _ in kept.similar(sig):
                found.add((int(str(other)), position))
            kept.add(position, sig)
        looking = (time.perf_counter() - started) / max(len(texts), 1)
        hits = len(found & truth)
        scores.append(DedupeScore(
            threshold=threshold,
            precision=round(hits / len(found), 4) if found else None,
            recall=round(hits / len(truth), 4) if truth else 0.0,
            predicted_pairs=len(found), true_pairs=len(truth),
            microseconds_per_text=round((signing + looking) * 1e6, 1)))
    return scores


def text_similarity(first: str, second: str) -> float:
    """The exact Jaccard similarity of two texts' character 3-grams (for a handful of
    comparisons; the index estimates it for many)."""
    a, b = shingles(first), shingles(second)
    if not a or not b:
        return 1.0 if a == b else 0.0
    return len(a & b) / len(a | b)
