"""DSIR's features: a document's word unigrams and bigrams, hashed into a fixed number of buckets.

This follows DSIR's released code (``p-lambda/dsir``, ``hashed_ngram_dsir.get_ngram_counts``) exactly:
the text is lowercased, split with NLTK's ``WordPunctTokenizer`` pattern ``\\w+|[^\\w\\s]+`` (runs of word
characters, runs of punctuation; written here with ``re`` so NLTK is not needed), every word and every pair
of adjacent words joined by one space is an n-gram, and an n-gram's bucket is
``int(sha256(ngram as UTF-8)) mod buckets``. SHA-256 makes the buckets the same in every process and on
every machine (Python's ``hash()`` of a string is salted per process), and the same as DSIR's.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable

import numpy as np

WORD_PATTERN = re.compile(r"\w+|[^\w\s]+")  # NLTK's WordPunctTokenizer, DSIR's default tokenizer
DEFAULT_BUCKETS = 10_000  # DSIR's default


def words(text: str) -> list[str]:
    """Lowercased word and punctuation tokens."""
    return WORD_PATTERN.findall(text.lower())


def ngrams(tokens: list[str]) -> list[str]:
    """Unigrams, then bigrams (two tokens joined by one space), in document order."""
    return tokens + [f"{a} {b}" for a, b in zip(tokens, tokens[1:], strict=False)]


def bucket(ngram: str, buckets: int) -> int:
    """The bucket of one n-gram: SHA-256 of its UTF-8 bytes as a big-endian integer, modulo ``buckets``."""
    return int.from_bytes(hashlib.sha256(ngram.encode("utf-8")).digest(), "big") % buckets


class HashedNgrams:
    """Maps documents to bucket indices; remembers the buckets of frequent n-grams (a bounded cache)."""

    CACHE_LIMIT = 200_000  # n-grams remembered per process (~30 MB); the cache is emptied when full

    def __init__(self, buckets: int = DEFAULT_BUCKETS):
        self.buckets = buckets
        self._cache: dict[str, int] = {}

    def indices(self, text: str) -> np.ndarray:
        """The bucket of every n-gram of ``text`` (int64, one entry per occurrence)."""
        cache, buckets = self._cache, self.buckets
        if len(cache) > self.CACHE_LIMIT:
            cache.clear()
        out = []
        for gram in ngrams(words(text)):
            index = cache.get(gram)
            if index is None:
                index = cache[gram] = bucket(gram, buckets)
            out.append(index)
        return np.asarray(out, dtype=np.int64)

    def counts(self, text: str) -> np.ndarray:
        """DSIR's feature vector: n-gram occurrences per bucket (int64, length ``buckets``)."""
        return np.bincount(self.indices(text), minlength=self.buckets)

    def total_counts(self, texts: Iterable[str]) -> np.ndarray:
        """Summed feature vectors of many documents (float64, so huge corpora cannot overflow)."""
        total = np.zeros(self.buckets, dtype=np.float64)
        for text in texts:
            total += np.bincount(self.indices(text), minlength=self.buckets)
        return total
