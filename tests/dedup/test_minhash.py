"""MinHash-LSH near-duplicates: parameters, the S-curve by hand, signatures, Jaccard estimates on real text,
band keys and candidates on hand-built arrays, and planted near-duplicates among real C4 documents."""

import gzip
import hashlib
import json
import math
import random
import subprocess
import sys

import numpy as np
import pytest

from curation.dedup import (
    MinHashParams,
    band_keys,
    candidate_pairs,
    candidate_probability,
    estimated_jaccard,
    exact_key,
    lsh_threshold,
    minhash_signatures,
    near_duplicate_clusters,
    shingles,
    signatures_from_shingles,
    verify_pairs,
)
from curation.errors import ConfigError, CurationError
from tests.conftest import REPO, shared

C4 = "web/c4-en-sample-1000.jsonl.gz"
N_C4 = 400  # enough unrelated documents to matter, few enough to keep the suite fast


def true_jaccard(a: str, b: str, ngram: int = 5) -> float:
    sa, sb = shingles(a, ngram), shingles(b, ngram)
    return len(sa & sb) / len(sa | sb)


def substitute_words(text: str, count: int, seed: int) -> str:
    """``count`` distinct word positions replaced by invented words that occur nowhere in C4 (whitespace kept)."""
    parts = text.split(" ")
    positions = random.Random(seed).sample(range(len(parts)), count)
    for k, pos in enumerate(positions):
        parts[pos] = f"zqx{k}vw"
    return " ".join(parts)


@pytest.fixture(scope="module")
def c4_docs() -> list[str]:
    path = shared(C4)
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        texts = [json.loads(line)["text"] for _, line in zip(range(N_C4), fh, strict=False)]
    assert len(texts) == N_C4
    return texts


# ----------------------------------------------------------------------------- parameters


def test_default_params():
    p = MinHashParams()
    assert (p.ngram, p.num_perm, p.bands, p.rows, p.seed, p.verify_threshold) == (5, 112, 28, 4, 1, 0.5)
    assert p.threshold == pytest.approx((1 / 28) ** (1 / 4))
    d = p.to_dict()
    assert d["scheme"] == "affine64"
    assert d["lsh_threshold"] == 0.4347
    assert d["bands"] * d["rows"] == d["num_perm"]


def test_fineweb_params():
    p = MinHashParams.fineweb()
    assert (p.ngram, p.num_perm, p.bands, p.rows, p.verify_threshold) == (5, 112, 14, 8, None)
    assert p.threshold == pytest.approx(0.7190, abs=1e-4)


def test_params_equal_and_hashable():
    assert MinHashParams() == MinHashParams(5, 112, 28, 4, 1, 0.5)
    assert len({MinHashParams(), MinHashParams()}) == 1


@pytest.mark.parametrize(
    "kwargs",
    [
        {"bands": 27},  # 27 x 4 != 112
        {"rows": 5},
        {"num_perm": 128},
        {"num_perm": 128, "bands": 16, "rows": 7},
        {"ngram": 0},
        {"ngram": -3},
        {"ngram": 2.0},
        {"ngram": True},
        {"num_perm": 0, "bands": 0, "rows": 0},
        {"bands": "28"},
        {"seed": -1},
        {"seed": 2**32},
        {"seed": 1.0},
        {"seed": False},
        {"verify_threshold": 0.0},
        {"verify_threshold": -0.1},
        {"verify_threshold": 1.01},
    ],
)
def test_invalid_params_raise_config_error(kwargs):
    with pytest.raises(ConfigError, match="MinHashParams"):
        MinHashParams(**kwargs)


def test_config_error_is_a_user_error_with_exit_code_2():
    with pytest.raises(CurationError) as info:
        MinHashParams(bands=10)
    assert info.value.exit_code == 2
    assert "10 x 4 = 40 != 112" in str(info.value)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"verify_threshold": 1.0},
        {"verify_threshold": None},
        {"seed": 0},
        {"seed": 2**32 - 1},
        {"num_perm": 128, "bands": 16, "rows": 8},
        {"num_perm": 1, "bands": 1, "rows": 1, "ngram": 1},
    ],
)
def test_valid_edge_params(kwargs):
    MinHashParams(**kwargs)


# ----------------------------------------------------------------------------- S-curve by hand


def test_lsh_threshold_by_hand():
    assert lsh_threshold(28, 4) == pytest.approx((1 / 28) ** 0.25)
    assert lsh_threshold(28, 4) == pytest.approx(0.43472, abs=1e-5)
    assert lsh_threshold(14, 8) == pytest.approx(0.71901, abs=1e-5)
    assert lsh_threshold(16, 1) == pytest.approx(1 / 16)
    assert lsh_threshold(1, 7) == 1.0
    assert lsh_threshold(4, 2) == pytest.approx(0.5)  # (1/4)^(1/2)


def test_candidate_probability_by_hand():
    # s = 1/2, r = 4: a band agrees with probability 1/16; 28 bands: 1 - (15/16)^28.
    assert candidate_probability(0.5, 28, 4) == pytest.approx(1 - (15 / 16) ** 28)
    assert candidate_probability(0.5, 28, 4) == pytest.approx(0.83587, abs=1e-5)
    # b = 1, r = 1: the probability is the similarity itself.
    assert candidate_probability(0.37, 1, 1) == pytest.approx(0.37)
    # b = 2, r = 1: 1 - (1 - s)^2 = 1 - 0.49 at s = 0.3.
    assert candidate_probability(0.3, 2, 1) == pytest.approx(0.51)
    assert candidate_probability(0.0, 28, 4) == 0.0
    assert candidate_probability(1.0, 14, 8) == 1.0


def test_candidate_probability_claims_of_the_docstring():
    # FineWeb 14 x 8: 0.92 at Jaccard 0.8, 0.30 at 0.63; default 28 x 4: 0.99 at 0.63, 0.2 at 0.3.
    assert candidate_probability(0.8, 14, 8) == pytest.approx(0.92, abs=0.005)
    assert candidate_probability(0.63, 14, 8) == pytest.approx(0.30, abs=0.005)
    assert candidate_probability(0.63, 28, 4) == pytest.approx(0.99, abs=0.005)
    assert candidate_probability(0.3, 28, 4) == pytest.approx(0.20, abs=0.005)
    assert MinHashParams().candidate_probability(0.5) == pytest.approx(candidate_probability(0.5, 28, 4))


def test_candidate_probability_vectorised_and_monotone():
    s = np.linspace(0, 1, 101)
    p = candidate_probability(s, 28, 4)
    assert p.shape == (101,)
    assert np.all(np.diff(p) >= 0)
    # At the threshold the S-curve is in its steep middle part.
    assert 0.3 < candidate_probability(lsh_threshold(28, 4), 28, 4) < 0.7


# ----------------------------------------------------------------------------- shingles


def test_shingles_word_5grams_by_hand():
    assert shingles("The quick brown fox jumps over the lazy dog") == {
        b"the quick brown fox jumps",
        b"quick brown fox jumps over",
        b"brown fox jumps over the",
        b"fox jumps over the lazy",
        b"jumps over the lazy dog",
    }
    assert shingles("a b c d", ngram=2) == {b"a b", b"b c", b"c d"}
    assert shingles("a b a b a", ngram=2) == {b"a b", b"b a"}  # a set


def test_shingles_normalisation():
    # lowercase, numbers → 0, punctuation → space, diacritics removed, whitespace collapsed
    assert shingles("Déjà-vu, CAFÉ 2024!\n\n 3.14", ngram=10) == {b"deja vu cafe 0 0"}
    assert shingles("THE  Quick,\tbrown fox... JUMPS") == shingles("the quick brown fox jumps")


def test_shingles_short_and_empty_texts():
    assert shingles("Hello, world!") == {b"hello world"}  # fewer words than ngram: one shingle
    assert shingles("") == {b""}
    assert shingles("!!! ... ---") == {b""}  # no word after normalisation
    assert shingles("a b c d e") == {b"a b c d e"}


# ----------------------------------------------------------------------------- signatures


def test_signature_shape_dtype_and_determinism():
    texts = ["The quick brown fox jumps over the lazy dog", "Another, different, text with enough words here"]
    sig = minhash_signatures(texts)
    assert sig.shape == (2, 112)
    assert sig.dtype == np.uint64
    assert np.array_equal(sig, minhash_signatures(texts))
    assert not np.array_equal(sig[0], sig[1])
    assert minhash_signatures(texts, num_perm=64).shape == (2, 64)
    assert minhash_signatures([]).shape == (0, 112)
    assert minhash_signatures([], num_perm=16).dtype == np.uint64


def test_seed_changes_signatures():
    text = ["The quick brown fox jumps over the lazy dog"]
    assert not np.array_equal(minhash_signatures(text, seed=1), minhash_signatures(text, seed=2))


def test_identical_and_layout_equivalent_texts_have_identical_signatures():
    text = "The quick brown fox jumps over the lazy dog, twice: the quick brown fox!"
    sig = minhash_signatures([text, text, text.upper(), "  " + text.replace(" ", "\n\t") + "\n", text + " zebra"])
    assert np.array_equal(sig[0], sig[1])
    assert np.array_equal(sig[0], sig[2])  # case is normalised away
    assert np.array_equal(sig[0], sig[3])  # whitespace too
    assert not np.array_equal(sig[0], sig[4])


def test_signature_of_a_text_does_not_depend_on_its_batch():
    a, b, c = "one two three four five six", "seven eight nine ten eleven twelve", "x y z"
    together = minhash_signatures([a, b, c])
    assert np.array_equal(together[1], minhash_signatures([b])[0])
    assert np.array_equal(together[[2, 0]], minhash_signatures([c, a]))


def test_signature_is_a_minimum_over_shingles():
    # Row k is the minimum of permutation k over the set, so sig(A ∪ B) = min(sig(A), sig(B)) row by row,
    # and sig of a set is independent of duplicates and order.
    a = {b"alpha beta", b"gamma delta", b"epsilon zeta"}
    b = {b"eta theta", b"gamma delta"}
    sig = signatures_from_shingles([a, b, a | b, [b"epsilon zeta", b"alpha beta", b"gamma delta", b"alpha beta"]])
    assert sig.shape == (4, 112)
    assert np.array_equal(sig[2], np.minimum(sig[0], sig[1]))
    assert np.array_equal(sig[3], sig[0])


def test_minhash_signatures_equals_signatures_of_shingles():
    texts = ["The quick brown fox jumps over the lazy dog", "Short"]
    assert np.array_equal(
        minhash_signatures(texts, num_perm=32, seed=3, ngram=3),
        signatures_from_shingles([shingles(t, 3) for t in texts], num_perm=32, seed=3),
    )


def test_signatures_stable_across_processes_and_hash_seeds():
    # Only datasketch is imported in the child (not datatrove): the hashing is what could depend on the process.
    code = (
        "from curation.dedup.minhash import signatures_from_shingles; "
        "print(signatures_from_shingles([{b'quick brown fox', b'lazy dog'}], 16)[0].tolist())"
    )
    child = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, env={"PYTHONHASHSEED": "12345"}, capture_output=True, text=True
    )
    assert child.returncode == 0, child.stderr
    assert child.stdout.strip() == str(signatures_from_shingles([{b"quick brown fox", b"lazy dog"}], 16)[0].tolist())


def test_signature_regression_pin():
    # Regression pin: the first rows of one short text's signature, computed once with datasketch 2.0.0
    # (scheme affine64, seed 1). A change means signatures stored by earlier runs no longer compare.
    assert minhash_signatures(["The quick brown fox jumps over the lazy dog"])[0, :4].tolist() == [
        5267807917796867535,
        1444012663746087997,
        5723327062377362599,
        2451829778475839282,
    ]


# ----------------------------------------------------------------------------- Jaccard estimates


def test_estimated_jaccard_by_hand():
    sig = np.array([[1, 2, 3, 4], [1, 2, 0, 0], [9, 9, 9, 9], [1, 9, 3, 9]], dtype=np.uint64)
    est = estimated_jaccard(sig, [(0, 1), (0, 2), (1, 1), (0, 3), (3, 2)])
    assert est.dtype == float
    assert est.tolist() == [0.5, 0.0, 1.0, 0.5, 0.5]
    assert estimated_jaccard(sig, []).shape == (0,)


def test_estimated_jaccard_close_to_true_jaccard_on_real_text(c4_docs):
    # Real C4 pages and edited copies spanning Jaccard ~0 to 1; the estimate is a mean of num_perm
    # Bernoulli(J) draws, so it must be within 4 standard errors sqrt(J(1-J)/num_perm) (+ 1/num_perm slack).
    long_docs = [t for t in c4_docs if len(t.split(" ")) >= 250][:6]
    assert len(long_docs) == 6
    texts, pairs = [], []
    for d, doc in enumerate(long_docs):
        for count in (0, 3, 8, 15, 30):
            texts += [doc, substitute_words(doc, count, seed=100 * d + count)]
            pairs.append((len(texts) - 2, len(texts) - 1))
        words = doc.split(" ")
        texts += [doc, " ".join(words[: len(words) * 2 // 3])]  # truncated to 2/3
        pairs.append((len(texts) - 2, len(texts) - 1))
    texts += long_docs[:2]  # two unrelated pages
    pairs.append((len(texts) - 2, len(texts) - 1))
    num_perm = 112
    sig = minhash_signatures(texts, num_perm=num_perm)
    est = estimated_jaccard(sig, pairs)
    truth = np.array([true_jaccard(texts[i], texts[j]) for i, j in pairs])
    assert truth.min() < 0.05 and truth.max() == 1.0 and ((truth > 0.3) & (truth < 0.8)).sum() >= 6
    se = np.sqrt(truth * (1 - truth) / num_perm)
    assert np.all(np.abs(est - truth) <= 4 * se + 1 / num_perm), list(zip(truth.round(3), est.round(3), strict=True))
    # Unbiased: the mean error over all pairs is within 4 standard errors of the mean.
    assert abs((est - truth).mean()) <= 4 * math.sqrt((se**2).sum()) / len(pairs) + 1e-9


def test_verify_pairs():
    sig = np.array([[1, 2, 3, 4], [1, 2, 3, 0], [1, 2, 0, 0], [9, 9, 9, 9]], dtype=np.uint64)
    pairs = [(0, 1), (0, 2), (0, 3)]  # estimates 0.75, 0.5, 0.0
    assert verify_pairs(sig, pairs, 0.5) == [(0, 1), (0, 2)]  # >= threshold kept
    assert verify_pairs(sig, pairs, 0.51) == [(0, 1)]
    assert verify_pairs(sig, pairs, None) == pairs
    assert verify_pairs(sig, [], 0.5) == []


# ----------------------------------------------------------------------------- band keys and candidates


def test_band_keys_shape_dtype_and_definition():
    rng = np.random.default_rng(0)
    sig = rng.integers(0, 2**64, size=(3, 12), dtype=np.uint64)
    keys = band_keys(sig, bands=3, rows=4)
    assert keys.shape == (3, 3)
    assert keys.dtype == np.int64
    # The documented key: BLAKE2b-64 of the band's little-endian uint64 bytes, read as signed little-endian.
    band = sig[1, 4:8].astype("<u8").tobytes()
    expected = int.from_bytes(hashlib.blake2b(band, digest_size=8).digest(), "little", signed=True)
    assert keys[1, 1] == expected
    assert band_keys(np.empty((0, 12), dtype=np.uint64), 3, 4).shape == (0, 3)


def test_band_keys_regression_pin():
    # Regression pin computed once with this implementation: keys must not change across machines/versions.
    sig = np.arange(8, dtype=np.uint64).reshape(1, 8)
    assert band_keys(sig, 2, 4).tolist() == [[-1488495063901212959, -1431630636838819837]]


def test_band_keys_equal_exactly_for_equal_bands():
    base = np.arange(1, 13, dtype=np.uint64)
    other = base.copy()
    other[0] = 999  # band 0 differs
    other[11] = 999  # band 2 differs
    keys = band_keys(np.stack([base, other, base]), bands=3, rows=4)
    assert keys[0].tolist() == keys[2].tolist()  # identical signatures: every band key equal
    assert keys[0, 1] == keys[1, 1]  # only band 1 agrees
    assert keys[0, 0] != keys[1, 0] and keys[0, 2] != keys[1, 2]
    # Row order inside a band matters (a band is a tuple, not a set).
    swapped = base.copy()
    swapped[[4, 5]] = swapped[[5, 4]]
    assert band_keys(np.stack([base, swapped]), 3, 4)[0, 1] != band_keys(np.stack([base, swapped]), 3, 4)[1, 1]


@pytest.mark.parametrize(("bands", "rows"), [(28, 3), (3, 5), (13, 1)])
def test_band_keys_wrong_shape_raises(bands, rows):
    with pytest.raises(ValueError, match="cannot be cut"):
        band_keys(np.zeros((2, 12), dtype=np.uint64), bands, rows)
    with pytest.raises(ValueError, match="cannot be cut"):
        band_keys(np.zeros(12, dtype=np.uint64), 3, 4)


def test_candidate_pairs_by_hand():
    keys = np.array(
        [
            [1, 2, 7],  # 0 meets 1 in band 0
            [1, 3, 8],  # 1 meets 2 in band 1
            [4, 3, 9],
            [5, 6, 2],  # key 2 also appears in band 1 for doc 0: different band, no candidate
            [1, 6, 7],  # meets 0 in bands 0 and 2, 1 in band 0, 3 in band 1: each pair once
        ],
        dtype=np.int64,
    )
    assert candidate_pairs(keys) == [(0, 1), (0, 4), (1, 2), (1, 4), (3, 4)]
    assert candidate_pairs(np.empty((0, 3), dtype=np.int64)) == []
    assert candidate_pairs(np.array([[1, 2], [2, 1]], dtype=np.int64)) == []


# ----------------------------------------------------------------------------- planted near-duplicates in C4


BOILERPLATE_HEAD = [
    "Home | About Us | Contact | Blog | Shop",
    "Skip to main content",
    "This website uses cookies to improve your experience. By continuing you accept our use of cookies.",
]
BOILERPLATE_FOOT = [
    "Share this: Facebook Twitter Pinterest Email",
    "Copyright © 2019 Example Media Ltd. All rights reserved.",
    "Privacy Policy | Terms of Use | Sitemap",
]


def layout_and_case(text: str) -> str:
    return "\n\n " + text.upper().replace(" ", "  ").replace("\n", "\n\t\n") + "  \n"


@pytest.fixture(scope="module")
def planted(c4_docs):
    """The first N_C4 C4 documents plus, for four long ones, three planted near-duplicates and a heavy edit."""
    ids = [f"c4-{i:04d}" for i in range(len(c4_docs))]
    texts = list(c4_docs)
    originals = [i for i, t in enumerate(c4_docs) if 250 <= len(t.split(" ")) <= 600][:4]
    assert len(originals) == 4
    families: dict[str, set[str]] = {}
    heavy: dict[str, str] = {}
    for i in originals:
        doc = c4_docs[i]
        copies = {
            f"{ids[i]}~substitute": substitute_words(doc, 5, seed=i),
            f"{ids[i]}~boilerplate": "\n".join([*BOILERPLATE_HEAD, doc, *BOILERPLATE_FOOT]),
            f"{ids[i]}~layout-case": layout_and_case(doc),
        }
        # Every third word replaced: no 5-gram survives, so this is not a near-duplicate.
        words = doc.split(" ")
        heavy[ids[i]] = f"{ids[i]}~heavy"
        copies[heavy[ids[i]]] = " ".join(f"zq{k}x" if k % 3 == 1 else w for k, w in enumerate(words))
        ids += list(copies)
        texts += list(copies.values())
        families[ids[i]] = {ids[i], *list(copies)[:3]}
    order = list(range(len(ids)))
    random.Random(1).shuffle(order)  # copies must not be found because they sit next to their original
    ids, texts = [ids[k] for k in order], [texts[k] for k in order]
    result = near_duplicate_clusters(ids, texts)
    return ids, texts, families, heavy, result


def test_planted_copies_have_the_intended_similarity(planted):
    ids, texts, families, heavy, _ = planted
    text = dict(zip(ids, texts, strict=True))
    for original, family in families.items():
        for copy in family - {original}:
            j = true_jaccard(text[original], text[copy])
            if copy.endswith("layout-case"):
                # Exact duplicates; for MinHash equal shingles except words with ß: "ß".upper() is "SS" and
                # simplify_text lowercases (no casefold), so "GROSS" → "gross" ≠ "groß" (c4-0017 has some).
                assert exact_key(text[copy]) == exact_key(text[original])
                assert j > 0.85, (copy, j)
                if "ß" not in text[original]:
                    assert j == 1.0, copy
            else:
                assert 0.7 < j < 1.0, (copy, j)
                assert exact_key(text[copy]) != exact_key(text[original])
        assert true_jaccard(text[original], text[heavy[original]]) < 0.05


def test_planted_near_duplicates_found_and_unrelated_documents_not_clustered(planted):
    ids, _, families, heavy, result = planted
    cluster = dict(zip(ids, result.cluster_ids, strict=True))
    members: dict[str, set[str]] = {}
    for doc_id, cluster_id in cluster.items():
        members.setdefault(cluster_id, set()).add(doc_id)
    for original, family in families.items():
        # Found: every planted copy is in its original's cluster, whose id is the family's smallest id.
        assert {cluster[d] for d in family} == {min(family)}, original
        # Not over-merged: nothing else (no other C4 page, no heavy edit, no other family) is with them.
        assert members[cluster[original]] == family
        assert cluster[heavy[original]] == heavy[original]
    # The unrelated C4 documents stay singletons: the only clusters of size > 1 are the planted families.
    assert sorted(map(sorted, (m for m in members.values() if len(m) > 1))) == sorted(map(sorted, families.values()))
    assert result.n_duplicates == 3 * len(families)
    assert result.candidate_pairs >= len(result.pairs) >= 2 * len(families)


def test_near_duplicate_clusters_small_batch_by_hand():
    text = (
        "Deduplication removes repeated documents from a training corpus so that the language model "
        "does not memorise them and the evaluation sets are not leaked into the training data by accident."
    )
    other = (
        "Bananas are rich in potassium and grow in tropical regions where the climate is warm and humid "
        "throughout the year, and farmers harvest them while they are still green and hard."
    )
    ids = ["d", "b", "c", "a"]
    texts = [text, other, text.upper(), text.replace("accident", "mistake")]
    result = near_duplicate_clusters(ids, texts)
    assert result.ids == ids
    assert result.cluster_ids == ["a", "b", "a", "a"]
    assert result.n_duplicates == 2
    assert {tuple(sorted(p)) for p in result.pairs} >= {(0, 2)}
    assert all(i < j for i, j in result.pairs)
    # With verify_threshold 1.0 only pairs whose signatures agree on every row (here: identical shingle sets).
    strict = near_duplicate_clusters(ids, texts, MinHashParams(verify_threshold=1.0))
    assert strict.cluster_ids == ["c", "b", "c", "a"]


def test_near_duplicate_clusters_empty_and_mismatch():
    result = near_duplicate_clusters([], [])
    assert (result.cluster_ids, result.pairs, result.candidate_pairs, result.n_duplicates) == ([], [], 0, 0)
    with pytest.raises(ValueError, match="2 ids but 1 texts"):
        near_duplicate_clusters(["a", "b"], ["text"])
    with pytest.raises(ValueError, match="unique"):
        near_duplicate_clusters(["a", "a"], ["one text here", "another text here"])


def test_texts_without_words_fall_into_one_cluster():
    result = near_duplicate_clusters(["x", "y", "z"], ["", "!!! ???", "real words in this text"])
    assert result.cluster_ids == ["x", "x", "z"]
