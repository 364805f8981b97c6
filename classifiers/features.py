"""TF-IDF features over the canonical token string: word 1–2-grams and character 1–3-grams.

The vocabulary is learnt from one representative message per near-duplicate group with a
minimum document frequency, so a name or address that occurs in a single complaint (however
often that complaint was re-posted) never enters the shipped vocabulary.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer


def split_tokens(canonical: str) -> list[str]:
    return canonical.split()


def drop_spaces(canonical: str) -> str:
    return canonical.replace(" ", "")


def group_representatives(groups: Sequence[str]) -> list[int]:
    """Index of the first message of each group."""
    seen: set[str] = set()
    first: list[int] = []
    for index, group in enumerate(groups):
        if group not in seen:
            seen.add(group)
            first.append(index)
    return first


class DemandFeatures:
    """Sparse word + char TF-IDF matrix for canonical (tokenised, space-joined) texts."""

    def __init__(self, min_df: int = 3, max_df: float = 0.5) -> None:
        self.min_df = min_df
        self.max_df = max_df
        self.word = TfidfVectorizer(
            tokenizer=split_tokens,
            token_pattern=None,
            lowercase=False,
            ngram_range=(1, 2),
            min_df=min_df,
            max_df=max_df,
            sublinear_tf=True,
            dtype=np.float32,
        )
        self.char = TfidfVectorizer(
            analyzer="char",
            preprocessor=drop_spaces,
            lowercase=False,
            ngram_range=(1, 3),
            min_df=min_df,
            max_df=max_df,
            sublinear_tf=True,
            dtype=np.float32,
        )

    def fit(self, canonical: Sequence[str], groups: Sequence[str]) -> DemandFeatures:
        representatives = [canonical[i] for i in group_representatives(groups)]
        self.word.fit(representatives)
        self.char.fit(representatives)
        return self

    def transform(self, canonical: Sequence[str]) -> sp.csr_matrix:
        word = self.word.transform(canonical)
        char = self.char.transform(canonical)
        return sp.hstack([word, char], format="csr")

    @property
    def vocabulary_size(self) -> int:
        return len(self.word.vocabulary_) + len(self.char.vocabulary_)
