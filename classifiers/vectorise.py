"""Fast TF-IDF transform for a fitted scikit-learn `TfidfVectorizer`.

scikit-learn's analyzers build every n-gram as a Python string and look it up in a dict,
which at the hotline's message rate costs more than segmentation itself. Here n-grams are
integer keys computed in numpy for the whole batch and found with a binary search:

- characters: code points (21 bits each), so a 1–3-gram packs into one uint64;
- words: each known token gets a small id (one dict lookup per token), a bigram packs two.

Counting, sublinear tf, idf weighting and L2 normalisation are batch numpy too. The result
equals `TfidfVectorizer.transform` for the settings used here (see the tests).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from itertools import repeat
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer

Units = Callable[[list[str]], Any]  # tokens → str of characters, or list of tokens
KeyArray = npt.NDArray[np.uint64]
IdArray = npt.NDArray[np.int64]

_CODE_BITS = 21  # every Unicode code point fits in 21 bits
_SEPARATOR = 0  # code point / token id placed between messages; never inside one
_BMP = 0x10000


def _char_key(gram: str) -> int:
    key = 0
    for char in gram:
        key = (key << _CODE_BITS) | ord(char)
    return key


def _ngram_keys(units: npt.NDArray[Any], top: int, shift: int) -> tuple[KeyArray, IdArray]:
    """Keys of all 1..top-grams in a separator-joined unit array, with their start positions."""
    keys: list[KeyArray] = []
    starts: list[IdArray] = []
    wide = units.astype(np.uint64)
    for n in range(1, top + 1):
        length = len(units) - n + 1
        if length <= 0:
            break
        key = wide[:length].copy()
        valid = units[:length] != _SEPARATOR
        for offset in range(1, n):
            key = (key << np.uint64(shift)) | wide[offset : offset + length]
            valid &= units[offset : offset + length] != _SEPARATOR
        keys.append(key[valid])
        starts.append(np.flatnonzero(valid))
    return np.concatenate(keys), np.concatenate(starts)


class FastTfidf:
    """Transform-only twin of a fitted word (1–2-gram) or char (n-gram) TF-IDF vectorizer."""

    def __init__(self, fitted: TfidfVectorizer, units: Units) -> None:
        low, top = fitted.ngram_range
        if not (fitted.sublinear_tf and fitted.use_idf and fitted.norm == "l2"):
            raise ValueError("expects sublinear_tf, use_idf and l2 norm")
        if low != 1 or (fitted.analyzer == "word" and top > 2) or top > 3:
            raise ValueError("supports word 1–2-grams and char 1–3-grams")
        self.char = fitted.analyzer == "char"
        self.top = top
        self.units = units
        self.idf: npt.NDArray[np.float32] = fitted.idf_.astype(np.float32)
        self.token_ids: dict[str, int] = {"\0": _SEPARATOR}
        grams = sorted(fitted.vocabulary_.items(), key=lambda item: item[1])
        keys = np.array([self._key(gram) for gram, _ in grams], dtype=np.uint64)
        order = np.argsort(keys)
        self.keys: KeyArray = keys[order]
        self.features: IdArray = np.array([index for _, index in grams], dtype=np.int64)[order]
        # single characters of the Basic Multilingual Plane resolve by direct indexing
        self.bmp_unigrams: IdArray = np.full(_BMP if self.char else 0, -1, dtype=np.int64)
        for key, feature in zip(self.keys, self.features, strict=True):
            if self.char and key < _BMP:
                self.bmp_unigrams[int(key)] = feature

    @property
    def vocabulary_size(self) -> int:
        return len(self.keys)

    def _key(self, gram: str) -> int:
        if self.char:
            return _char_key(gram)
        key = 0
        for token in gram.split(" "):  # ids start at 1: 0 is the separator (NUL)
            key = (key << 32) | self.token_ids.setdefault(token, len(self.token_ids))
        return key

    def _joined_units(self, docs: Sequence[list[str]]) -> tuple[npt.NDArray[Any], IdArray]:
        """All messages' units in one array, a separator after each, and each unit's message."""
        if self.char:
            text = "\0".join(self.units(doc) for doc in docs) + "\0"
            units = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
        else:
            tokens: list[str] = []
            for doc in docs:
                tokens += self.units(doc)
                tokens.append("\0")  # tokens are alphanumeric, never NUL
            lookup = self.token_ids.get
            units = np.fromiter(map(lookup, tokens, repeat(-1)), dtype=np.int64, count=len(tokens))
        # a token unknown to the vocabulary (-1) still breaks a bigram but makes no feature
        message = np.cumsum(units == _SEPARATOR) - (units == _SEPARATOR)
        return units, message

    def _direct_unigrams(
        self, keys: KeyArray, starts: IdArray, message: IdArray
    ) -> tuple[IdArray, IdArray]:
        """Rows and columns of BMP single characters found in the vocabulary."""
        if not self.char:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        single = keys < _BMP
        features = self.bmp_unigrams[keys[single].astype(np.int64)]
        known = features >= 0
        return message[starts[single][known]], features[known]

    def _sort_keys(self, keys: KeyArray, starts: IdArray) -> tuple[KeyArray, IdArray]:
        """Keys in ascending order with their start positions.

        When a key and its position fit in 64 bits together (character n-grams: 21 bits per
        character), one sort of the packed words is about twice as fast as an argsort and
        the two gathers it needs; the order is the same, ties broken by position.
        """
        position_bits = max(1, int(starts.max()).bit_length()) if len(starts) else 1
        if not self.char or _CODE_BITS * self.top + position_bits > 64:
            order = np.argsort(keys)
            return keys[order], starts[order]
        shift = np.uint64(position_bits)
        packed = np.sort((keys << shift) | starts.astype(np.uint64))
        low = np.uint64((1 << position_bits) - 1)
        return packed >> shift, (packed & low).astype(np.int64)

    def transform(self, docs: Sequence[list[str]]) -> sp.csr_matrix:
        shape = (len(docs), len(self.idf))
        if not docs or not len(self.keys):
            return sp.csr_matrix(shape, dtype=np.float32)
        units, message = self._joined_units(docs)
        if not self.char:
            known = units != -1
            units = np.where(known, units, _SEPARATOR)
        keys, starts = _ngram_keys(units, self.top, _CODE_BITS if self.char else 32)
        direct_rows, direct_columns = self._direct_unigrams(keys, starts, message)
        if self.char:  # the BMP single characters were resolved above
            searched = keys >= _BMP
            keys, starts = keys[searched], starts[searched]
        # searching sorted queries walks the vocabulary in order: several times fewer cache
        # misses than random probes, which more than pays for the sort
        keys, starts = self._sort_keys(keys, starts)
        # a batch repeats most n-grams: search each distinct key once
        first = np.ones(len(keys), dtype=bool)
        np.not_equal(keys[1:], keys[:-1], out=first[1:])
        distinct = keys[first]
        distinct_slots = np.minimum(np.searchsorted(self.keys, distinct), len(self.keys) - 1)
        distinct_found = self.keys[distinct_slots] == distinct
        of_distinct = np.cumsum(first) - 1
        slots, found = distinct_slots[of_distinct], distinct_found[of_distinct]
        rows = np.concatenate([direct_rows, message[starts[found]]])
        columns = np.concatenate([direct_columns, self.features[slots[found]]])
        cells = rows * len(self.idf) + columns
        cells, hits = np.unique(cells, return_counts=True)
        rows = cells // len(self.idf)
        columns = cells - rows * len(self.idf)
        data = (np.log(hits.astype(np.float32)) + 1.0) * self.idf[columns]
        norms = np.sqrt(np.bincount(rows, weights=data * data, minlength=len(docs)))
        norms[norms == 0] = 1.0
        data /= norms[rows].astype(np.float32)
        indptr = np.searchsorted(rows, np.arange(len(docs) + 1))
        return sp.csr_matrix((data, columns.astype(np.int32), indptr), shape=shape)
