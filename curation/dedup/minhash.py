"""Near-duplicate detection: MinHash signatures (datasketch) and LSH banding, batch by batch.

What is compared
----------------
* **Normalisation** — datatrove's ``simplify_text`` with its defaults, the one FineWeb's MinHash uses:
  lowercase, every number → ``0``, punctuation → space, whitespace runs → one space, diacritics removed.
* **Shingles** — the *set* of word ``ngram``-grams (default 5, as FineWeb/datatrove, BigCode, text-dedup)
  of the whitespace-split normalised text. A text with fewer than ``ngram`` words has one shingle (all its
  words); a text with no word at all (empty, only punctuation) has the empty shingle, so such texts fall
  into one cluster, which is what they are after normalisation.
* **Signature** — ``datasketch.MinHash`` with the ``affine64`` scheme (64-bit SHA-1 shingle hash, murmur
  pre-mix, ``num_perm`` affine permutations mod 2^64 seeded by ``seed``): row ``k`` of a signature is the
  minimum of permutation ``k`` over the shingles, and P[sig_a[k] == sig_b[k]] = Jaccard(a, b). Signatures
  are ``uint64`` arrays, identical for the same (text, ``num_perm``, ``seed``, datasketch 2.x) anywhere.
* **LSH** — the ``num_perm`` rows are cut into ``bands`` bands of ``rows`` rows; two documents are
  *candidates* when all rows of at least one band agree: P(candidate | Jaccard s) = 1 - (1 - s^r)^b,
  an S-curve whose steep part is near s* ≈ (1/b)^(1/r) (``lsh_threshold``).
* **Verification** (on by default) — a candidate pair is kept only if the fraction of equal signature
  rows (an unbiased Jaccard estimate, standard error sqrt(s(1-s)/num_perm)) is >= ``verify_threshold``.
  This removes the pairs that share one lucky band but are not similar, so the low LSH threshold
  buys recall without paying in precision.

Default parameters and why
--------------------------
FineWeb uses 5-grams, 112 permutations as 14 bands x 8 rows: s* = (1/14)^(1/8) ≈ 0.72, and
P(candidate) = 0.92 at Jaccard 0.8 but only 0.30 at 0.63. A 5 % uniform word substitution or deletion
rate leaves about (1 - 0.05)^5 ≈ 77 % of the 5-grams intact, i.e. Jaccard ≈ 0.77 / (2 - 0.77) ≈ 0.63,
so FineWeb's banding finds about a third of such copies. We keep FineWeb's shingles and its 112
permutations (same signature size, 896 bytes) and band them as **28 bands x 4 rows** (s* ≈ 0.43;
P(candidate) ≈ 0.99 at Jaccard 0.63, 0.2 at 0.3) followed by verification at **estimated Jaccard >= 0.5**:
a near-duplicate here is "at least about half of the 5-gram shingles shared", which catches up to ~5 %
scattered word edits, 50 % truncation and added boilerplate on all but the shortest pages.
``MinHashParams.fineweb()`` gives FineWeb's exact setting for comparison; ``benchmarks/dedup_quality.py``
measures both.

Spark
-----
Per partition: ``minhash_signatures`` → ``band_keys`` → explode to rows ``(band, key, id)``. Shuffle:
``groupBy(band, key)``; buckets with two or more ids give candidate pairs (all pairs, or a star to the
bucket's smallest id for very large buckets). Verification needs both signatures: carry them in the
bucket rows or join them back by id, then ``estimated_jaccard``. Driver: ``curation.dedup.clusters``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass

import numpy as np

from curation.dedup.clusters import clusters_from_pairs
from curation.errors import ConfigError

SCHEME = "affine64"  # datasketch permutation scheme; signatures of different schemes never compare


def lsh_threshold(bands: int, rows: int) -> float:
    """Jaccard similarity near which LSH banding switches from missing to finding: (1/b)^(1/r)."""
    return (1.0 / bands) ** (1.0 / rows)


def candidate_probability(similarity: float | np.ndarray, bands: int, rows: int) -> float | np.ndarray:
    """P(two documents with this Jaccard similarity share at least one band) = 1 - (1 - s^r)^b."""
    return 1.0 - (1.0 - np.asarray(similarity, dtype=float) ** rows) ** bands


@dataclass(frozen=True)
class MinHashParams:
    """Everything that decides which documents are near-duplicates. Equal params ⇒ equal results."""

    ngram: int = 5
    num_perm: int = 112
    bands: int = 28
    rows: int = 4
    seed: int = 1
    verify_threshold: float | None = 0.5  # None: every LSH candidate pair is a duplicate

    def __post_init__(self) -> None:
        for name in ("ngram", "num_perm", "bands", "rows"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"MinHashParams.{name} must be a positive integer, got {value!r}")
        if self.bands * self.rows != self.num_perm:
            raise ConfigError(
                f"MinHashParams: bands x rows must equal num_perm, got {self.bands} x {self.rows} = "
                f"{self.bands * self.rows} != {self.num_perm}"
            )
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or not 0 <= self.seed < 2**32:
            raise ConfigError(f"MinHashParams.seed must be an integer in [0, 2**32), got {self.seed!r}")
        if self.verify_threshold is not None and not 0.0 < self.verify_threshold <= 1.0:
            raise ConfigError(
                f"MinHashParams.verify_threshold must be in (0, 1] or None, got {self.verify_threshold!r}"
            )

    @classmethod
    def fineweb(cls) -> MinHashParams:
        """FineWeb/datatrove's setting: 5-grams, 14 bands x 8 rows, no verification."""
        return cls(ngram=5, num_perm=112, bands=14, rows=8, verify_threshold=None)

    @property
    def threshold(self) -> float:
        """The LSH threshold (1/b)^(1/r)."""
        return lsh_threshold(self.bands, self.rows)

    def candidate_probability(self, similarity: float | np.ndarray) -> float | np.ndarray:
        return candidate_probability(similarity, self.bands, self.rows)

    def to_dict(self) -> dict:
        return {**asdict(self), "scheme": SCHEME, "lsh_threshold": round(self.threshold, 4)}


# ----------------------------------------------------------------------------- shingles and signatures


def normalize_for_shingles(text: str) -> str:
    """datatrove's ``simplify_text`` (FineWeb's MinHash normalisation), default settings."""
    from datatrove.utils.text import simplify_text

    return simplify_text(text)


def shingles(text: str, ngram: int = 5) -> set[bytes]:
    """The set of word ``ngram``-grams of the normalised text, UTF-8 encoded (see the module docstring)."""
    words = normalize_for_shingles(text).split()
    if len(words) <= ngram:
        return {" ".join(words).encode("utf-8", errors="surrogatepass")}
    return {
        " ".join(words[i : i + ngram]).encode("utf-8", errors="surrogatepass") for i in range(len(words) - ngram + 1)
    }


def signatures_from_shingles(shingle_sets: Iterable[Iterable[bytes]], num_perm: int = 112, seed: int = 1) -> np.ndarray:
    """MinHash signatures, shape (n, num_perm), dtype uint64, of already shingled documents."""
    from datasketch import MinHash

    rows = [m.hashvalues for m in MinHash.generator(shingle_sets, num_perm=num_perm, seed=seed, scheme=SCHEME)]
    if not rows:
        return np.empty((0, num_perm), dtype=np.uint64)
    return np.stack(rows).astype(np.uint64, copy=False)


def minhash_signatures(texts: Iterable[str], num_perm: int = 112, seed: int = 1, ngram: int = 5) -> np.ndarray:
    """MinHash signatures of a batch of texts, shape (n, num_perm), dtype uint64; deterministic for a seed.

    Spark's LongType is signed: store a signature as ``sig.view(np.int64)`` and view it back as uint64.
    """
    return signatures_from_shingles((shingles(text, ngram) for text in texts), num_perm=num_perm, seed=seed)


def band_keys(signatures: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """One 64-bit key per (document, band), shape (n, bands), dtype int64 (Spark LongType).

    Key = BLAKE2b-64 of the band's ``rows`` signature values as little-endian uint64 bytes, so it is
    the same on every machine. Group by ``(band index, key)``: two documents meet in a bucket when a
    whole band agrees (a 64-bit key collision between different bands is ~n^2/2^65: negligible, and
    verification would drop it).
    """
    signatures = np.asarray(signatures)
    if signatures.ndim != 2 or signatures.shape[1] != bands * rows:
        raise ValueError(f"signatures of shape {signatures.shape} cannot be cut into {bands} bands x {rows} rows")
    little = signatures.astype("<u8", copy=False)
    keys = np.empty((len(little), bands), dtype=np.int64)
    for i, sig in enumerate(little):
        for b in range(bands):
            digest = hashlib.blake2b(sig[b * rows : (b + 1) * rows].tobytes(), digest_size=8).digest()
            keys[i, b] = int.from_bytes(digest, "little", signed=True)
    return keys


# ----------------------------------------------------------------------------- candidates and verification


def candidate_pairs(keys: np.ndarray) -> list[tuple[int, int]]:
    """Pairs (i, j), i < j, of documents sharing at least one band bucket; sorted, each pair once.

    All pairs within a bucket: fine for a batch; a bucket of m documents costs m(m-1)/2 pairs.
    """
    pairs: set[tuple[int, int]] = set()
    for b in range(keys.shape[1]):
        buckets: dict[int, list[int]] = {}
        for i, key in enumerate(keys[:, b].tolist()):
            buckets.setdefault(key, []).append(i)
        for members in buckets.values():
            for x in range(len(members)):
                for y in range(x + 1, len(members)):
                    pairs.add((members[x], members[y]))
    return sorted(pairs)


def estimated_jaccard(signatures: np.ndarray, pairs: Sequence[tuple[int, int]]) -> np.ndarray:
    """Fraction of equal signature rows for each pair: an unbiased estimate of their Jaccard similarity."""
    if len(pairs) == 0:
        return np.empty(0, dtype=float)
    index = np.asarray(pairs, dtype=np.int64)
    out = np.empty(len(index), dtype=float)
    for start in range(0, len(index), 65536):  # bounded memory for many pairs
        chunk = index[start : start + 65536]
        out[start : start + len(chunk)] = (signatures[chunk[:, 0]] == signatures[chunk[:, 1]]).mean(axis=1)
    return out


def verify_pairs(
    signatures: np.ndarray, pairs: Sequence[tuple[int, int]], threshold: float | None
) -> list[tuple[int, int]]:
    """The pairs whose estimated Jaccard is >= threshold (all pairs when threshold is None)."""
    if threshold is None:
        return list(pairs)
    estimates = estimated_jaccard(signatures, pairs)
    return [pair for pair, estimate in zip(pairs, estimates.tolist(), strict=True) if estimate >= threshold]


@dataclass
class NearDuplicates:
    """What ``near_duplicate_clusters`` found in one batch (its counters included)."""

    ids: Sequence[str]
    cluster_ids: list[str]  # smallest id of each document's cluster
    candidate_pairs: int  # pairs sharing at least one band
    pairs: list[tuple[int, int]]  # pairs kept after verification: the duplicate graph's edges

    @property
    def n_duplicates(self) -> int:
        """Documents that are not their cluster's smallest id: what a default dedup drops."""
        return sum(cluster != doc_id for cluster, doc_id in zip(self.cluster_ids, self.ids, strict=True))


def near_duplicate_clusters(
    ids: Sequence[str], texts: Sequence[str], params: MinHashParams | None = None
) -> NearDuplicates:
    """The whole method on one in-memory batch: signatures → bands → candidates → verification → clusters."""
    params = params or MinHashParams()
    if len(ids) != len(texts):
        raise ValueError(f"{len(ids)} ids but {len(texts)} texts")
    signatures = minhash_signatures(texts, params.num_perm, params.seed, params.ngram)
    candidates = candidate_pairs(band_keys(signatures, params.bands, params.rows))
    pairs = verify_pairs(signatures, candidates, params.verify_threshold)
    return NearDuplicates(ids, clusters_from_pairs(ids, pairs), len(candidates), pairs)
