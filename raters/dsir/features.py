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
from collections.abc import Iterable, Iterator, Sequence
from itertools import chain, islice

import numpy as np

WORD_PATTERN = re.compile(r"\w+|[^\w\s]+")  # NLTK's WordPunctTokenizer, DSIR's default tokenizer
DEFAULT_BUCKETS = 10_000  # DSIR's default
BATCH_TEXTS = 1_024  # texts featurised together (`HashedNgrams.indices_of_many`) when fitting and scoring


def words(text: str) -> list[str]:
    """Lowercased word and punctuation tokens."""
    return WORD_PATTERN.findall(text.lower())


def ngrams(tokens: list[str]) -> list[str]:
    """Unigrams, then bigrams (two tokens joined by one space), in document order."""
    return tokens + [f"{a} {b}" for a, b in zip(tokens, tokens[1:], strict=False)]


def bucket(ngram: str, buckets: int) -> int:
    """The bucket of one n-gram: SHA-256 of its UTF-8 bytes as a big-endian integer, modulo ``buckets``."""
    return int.from_bytes(hashlib.sha256(ngram.encode("utf-8")).digest(), "big") % buckets


def buckets_of(grams: Sequence[str], buckets: int) -> np.ndarray:
    """``[bucket(g, buckets) for g in grams]`` as int64, the modulo taken by numpy: the 256-bit digest is read as
    eight 32-bit words, most significant first, and reduced one word at a time (r = (r * 2**32 + w) mod
    buckets), which stays below 2**64 while ``buckets`` < 2**32."""
    if buckets < 1:
        raise ValueError(f"buckets must be at least 1, not {buckets}")
    if buckets >= 1 << 32:
        return np.array([bucket(g, buckets) for g in grams], dtype=np.int64)
    sha256 = hashlib.sha256
    digests = b"".join([sha256(g.encode("utf-8")).digest() for g in grams])
    digest_words = np.frombuffer(digests, dtype=">u4").reshape(-1, 8).astype(np.uint64)
    remainder, modulus = np.zeros(len(grams), dtype=np.uint64), np.uint64(buckets)
    for column in range(8):
        remainder = (remainder * np.uint64(1 << 32) + digest_words[:, column]) % modulus
    return remainder.astype(np.int64)


class HashedNgrams:
    """Maps documents to bucket indices; remembers the buckets of frequent n-grams (a bounded cache)."""

    # n-grams remembered per process (~30 MB); the cache is emptied when full. `indices_of_many` empties it
    # before a batch and adds the batch's new n-grams after, so it can hold one batch's more (~230,000 distinct
    # n-grams in 1,000 C4 documents: about 60 MB in all).
    CACHE_LIMIT = 200_000

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

    def indices_of_many(self, texts: Sequence[str]) -> list[np.ndarray]:
        """``[self.indices(t) for t in texts]``, the same arrays, faster for a batch of texts: Arrow joins the
        bigrams and finds the batch's distinct n-grams in C++, so Python looks each distinct n-gram up (or
        hashes it, `buckets_of`) once per batch rather than every occurrence. A lone surrogate raises
        UnicodeEncodeError, as in `indices` (UTF-8 cannot encode it; texts read from Parquet never hold one)."""
        import pyarrow as pa
        import pyarrow.compute as pc

        tokens = [words(text) for text in texts]
        lengths = np.fromiter(map(len, tokens), dtype=np.int64, count=len(tokens))
        unigrams = pa.array(list(chain.from_iterable(tokens)), pa.large_string())  # 64-bit offsets: no 2 GiB cap
        total = len(unigrams)
        ends = np.cumsum(lengths)
        if total > 1:  # pairs of adjacent tokens, less those that straddle two texts
            within = np.ones(total - 1, dtype=bool)
            last_tokens = ends[(lengths > 0) & (ends < total)] - 1
            within[last_tokens] = False
            pairs = pc.binary_join_element_wise(
                unigrams.slice(0, total - 1), unigrams.slice(1), pa.scalar(" ", pa.large_string())
            )
            grams = pa.concat_arrays([unigrams, pairs.filter(pa.array(within))])
        else:
            grams = unigrams
        encoded = pc.dictionary_encode(grams)
        distinct = encoded.dictionary.to_pylist()
        cache = self._cache
        if len(cache) > self.CACHE_LIMIT:
            cache.clear()
        known = list(map(cache.get, distinct))
        missing = [i for i, index in enumerate(known) if index is None]
        if missing:
            new = [distinct[i] for i in missing]
            for i, gram, index in zip(missing, new, buckets_of(new, self.buckets).tolist(), strict=True):
                known[i] = cache[gram] = index
        flat = np.array(known, dtype=np.int64)[encoded.indices.to_numpy(zero_copy_only=False)]
        pair_counts = np.maximum(lengths - 1, 0)
        pair_ends = total + np.cumsum(pair_counts)
        starts, pair_starts = ends - lengths, pair_ends - pair_counts
        bounds = zip(starts.tolist(), ends.tolist(), pair_starts.tolist(), pair_ends.tolist(), strict=True)
        return [
            np.concatenate((flat[start:end], flat[pair_start:pair_end])) for start, end, pair_start, pair_end in bounds
        ]

    def counts(self, text: str) -> np.ndarray:
        """DSIR's feature vector: n-gram occurrences per bucket (int64, length ``buckets``)."""
        return np.bincount(self.indices(text), minlength=self.buckets)

    def total_counts(self, texts: Iterable[str]) -> np.ndarray:
        """Summed feature vectors of many documents (float64, so huge corpora cannot overflow)."""
        total = np.zeros(self.buckets, dtype=np.float64)
        for batch in batches(texts, BATCH_TEXTS):
            total += np.bincount(np.concatenate(self.indices_of_many(batch)), minlength=self.buckets)
        return total


def batches(items: Iterable[str], size: int) -> Iterator[list[str]]:
    """``items`` in lists of ``size`` (the last one shorter), read lazily."""
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch
