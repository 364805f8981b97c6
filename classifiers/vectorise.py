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
from itertools import chain, repeat
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
_LOW_32 = np.uint64(0xFFFFFFFF)


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

    def joined_units(self, docs: Sequence[list[str]]) -> tuple[npt.NDArray[Any], IdArray]:
        """All messages' units in one array, a separator after each, and each unit's message."""
        if self.char:
            text = "\0".join(self.units(doc) for doc in docs) + "\0"
            units = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
            message = np.cumsum(units == _SEPARATOR) - (units == _SEPARATOR)
            return units, message
        # one flat lookup for the whole batch, then a separator after each message's tokens
        # (tokens are alphanumeric, never NUL); a token unknown to the vocabulary becomes a
        # separator too: it breaks a bigram and makes no feature
        parts = list(map(self.units, docs))
        lengths = np.fromiter(map(len, parts), dtype=np.int64, count=len(parts))
        lookup = self.token_ids.get
        ids = np.fromiter(
            map(lookup, chain.from_iterable(parts), repeat(_SEPARATOR)),
            dtype=np.int64,
            count=int(lengths.sum()),
        )
        units = np.insert(ids, np.cumsum(lengths), _SEPARATOR)
        message = np.repeat(np.arange(len(docs), dtype=np.int64), lengths + 1)
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
        character; word n-grams once each 32-bit token id is narrowed to the bits the
        vocabulary needs), one sort of the packed words is about twice as fast as an argsort
        and the two gathers it needs; the key order is the same, ties broken by position.
        """
        position_bits = max(1, int(starts.max()).bit_length()) if len(starts) else 1
        unit_bits = _CODE_BITS if self.char else max(1, (len(self.token_ids) - 1).bit_length())
        if unit_bits * self.top + position_bits > 64:
            order = np.argsort(keys)
            return keys[order], starts[order]
        narrow = not self.char and unit_bits < 32
        if narrow:  # (first << 32) | second  →  (first << unit_bits) | second: same order
            keys = ((keys >> np.uint64(32)) << np.uint64(unit_bits)) | (keys & _LOW_32)
        shift = np.uint64(position_bits)
        packed = np.sort((keys << shift) | starts.astype(np.uint64))
        low = np.uint64((1 << position_bits) - 1)
        keys = packed >> shift
        if narrow:
            unit_mask = np.uint64((1 << unit_bits) - 1)
            keys = ((keys >> np.uint64(unit_bits)) << np.uint64(32)) | (keys & unit_mask)
        return keys, (packed & low).astype(np.int64)

    def ids_from(self, other: FastTfidf) -> IdArray | None:
        """This word view's token id for each of `other`'s token ids (separator if unknown),
        or None when this view knows a token that `other` does not."""
        if self.char or other.char or not self.token_ids.keys() <= other.token_ids.keys():
            return None
        mapping = np.full(len(other.token_ids), _SEPARATOR, dtype=np.int64)
        for token, token_id in self.token_ids.items():
            mapping[other.token_ids[token]] = token_id
        return mapping

    def transform(self, docs: Sequence[list[str]]) -> sp.csr_matrix:
        if not docs or not len(self.keys):
            return sp.csr_matrix((len(docs), len(self.idf)), dtype=np.float32)
        return self.transform_units(*self.joined_units(docs), len(docs))

    def transform_units(
        self, units: npt.NDArray[Any], message: IdArray, count: int
    ) -> sp.csr_matrix:
        """`transform` of `count` messages already turned into units (see `joined_units`)."""
        shape = (count, len(self.idf))
        if not count or not len(self.keys):
            return sp.csr_matrix(shape, dtype=np.float32)
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
        distinct_columns = np.where(distinct_found, self.features[distinct_slots], -1)
        searched_columns = distinct_columns[np.cumsum(first) - 1]
        found = searched_columns >= 0
        rows = np.concatenate([direct_rows, message[starts[found]]])
        columns = np.concatenate([direct_columns, searched_columns[found]])
        cells = rows * len(self.idf) + columns
        cells, hits = np.unique(cells, return_counts=True)
        rows = cells // len(self.idf)
        columns = cells - rows * len(self.idf)
        data = (np.log(hits.astype(np.float32)) + 1.0) * self.idf[columns]
        norms = np.sqrt(np.bincount(rows, weights=data * data, minlength=count))
        norms[norms == 0] = 1.0
        data /= norms[rows].astype(np.float32)
        indptr = np.searchsorted(rows, np.arange(count + 1))
        return sp.csr_matrix((data, columns.astype(np.int32), indptr), shape=shape)
