"""Deduplication quality: exact keys and MinHash-LSH against near-duplicates planted in real documents.

Inputs (read-only, never copied): the first ``--c4`` documents of ``../shared/data/web/c4-en-sample-1000.jsonl.gz``
and the first ``--wiki`` articles of ``../shared/data/reference/enwiki-6514-articles.jsonl.gz``. These are the
*originals*; empty texts are skipped.

Planted copies (seeded, reproducible)
-------------------------------------
Every original gets ``--copies`` planted copies, each of a different *variant* drawn with
``random.Random(f"{seed}:{original id}")``; each edit uses its own ``random.Random(f"{seed}:{copy id}")``.
Words are whitespace-separated tokens; the edit count is ``max(1, round(rate x words))``.

* ``copy`` — the text unchanged.
* ``whitespace`` — every whitespace run replaced by a random one of " ", "  ", "\\n", "\\t", " \\n", "\\n\\n";
  blank lines added at both ends.
* ``case`` — the whole text upper-cased, or lower-cased, or every word upper-cased with probability 1/2.
* ``substitute R%`` — that many distinct word positions replaced by a random word from the originals'
  vocabulary (never the same word up to case).
* ``delete R%`` — that many distinct words removed, with the whitespace after them.
* ``boilerplate N lines`` — N//2 header lines and N - N//2 footer lines drawn from a fixed pool of 24
  navigation/cookie/copyright lines, ``{site}`` filled in with the original's URL host (real boilerplate is
  per site: copies from one host share it).
* ``truncate K%`` — only the first ``ceil(K% x words)`` words are kept (at least one word is removed).

Ground truth: a *family* is an original and its copies. A *true pair* is two documents of one family.

Scores
------
A method clusters documents (``curation.dedup``: cluster id = smallest id in the connected component of
detected pairs); a *predicted pair* is two documents in the same cluster. Every predicted pair is
* **TP** when both documents are of one family;
* **natural** when the families differ but both families' originals are in that cluster: the method
  linked two *originals* (C4 has real near-duplicates: pages of one site template, reposted articles), and
  the planted documents followed them. These are not counted as false positives; they are reported
  separately, pair by pair for originals, with their true 5-gram Jaccard so they can be judged;
* **FP** otherwise (a planted copy joined to a document that is not of its family, through no link
  between originals).

``precision = TP / (TP + FP)``; ``strict precision = TP / (TP + FP + natural)``; ``recall = TP / true pairs``.

Per variant, one clustering run sees only the originals and that variant's copies (so a copy can't be
found through a sibling copy); recall there is the fraction of copies clustered with their original.
The *all variants* row clusters everything together (copies can link through siblings, as in real data).
``mean J`` is the true Jaccard of the copy's and the original's 5-gram shingle sets (not an estimate).

Methods (all MinHash rows share one set of signatures: 5-grams, 112 permutations, seed 1)
* ``exact`` — ``exact_key`` groups.
* ``minhash`` — ``MinHashParams()`` defaults: 28 bands x 4 rows, verified at estimated Jaccard >= 0.5.
* ``minhash, no verify`` — same bands, every LSH candidate pair counted.
* ``fineweb 14x8`` — ``MinHashParams.fineweb()``: FineWeb/datatrove's banding, no verification.

Speed: ``minhash_signatures`` (normalisation + shingling + datasketch MinHash) and ``exact_keys`` over all
documents (originals and copies), in batches of ``--batch`` documents as a Spark partition would, in this
one process (single-threaded; the machine may be shared, see load average in the JSON).

Usage::

    python benchmarks/dedup_quality.py               # 1,000 C4 + 1,000 wiki originals, 3 copies each
    python benchmarks/dedup_quality.py --c4 200 --wiki 0 --copies 2   # quick look
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import random
import re
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
from common import (
    RESULTS,
    SHARED_DATA,
    cell,
    format_versions,
    machine_info,
    provenance,
    write_results,
)

DATA = SHARED_DATA
C4_FILE = Path("web") / "c4-en-sample-1000.jsonl.gz"
WIKI_FILE = Path("reference") / "enwiki-6514-articles.jsonl.gz"


# ----------------------------------------------------------------------------- variants


@dataclass(frozen=True)
class Variant:
    kind: str
    strength: float | int | None = None

    @property
    def name(self) -> str:
        if self.kind in ("substitute", "delete", "truncate"):
            return f"{self.kind} {round(100 * self.strength)}%"
        if self.kind == "boilerplate":
            return f"boilerplate {self.strength} lines"
        return self.kind

    @property
    def slug(self) -> str:
        return self.name.replace(" ", "-").replace("%", "pct")


VARIANTS = [
    Variant("copy"),
    Variant("whitespace"),
    Variant("case"),
    Variant("substitute", 0.02),
    Variant("substitute", 0.05),
    Variant("substitute", 0.10),
    Variant("delete", 0.02),
    Variant("delete", 0.05),
    Variant("delete", 0.10),
    Variant("boilerplate", 4),
    Variant("boilerplate", 10),
    Variant("truncate", 0.9),
    Variant("truncate", 0.7),
    Variant("truncate", 0.5),
]
VARIANTS_BY_NAME = {v.name: v for v in VARIANTS}

BOILERPLATE = [
    "Home | About | Contact | Blog | Shop",
    "Skip to main content",
    "Menu",
    "You are here: Home » {site}",
    "Sign in or create an account to continue",
    "This website uses cookies to improve your experience. By continuing you accept our use of cookies.",
    "Accept all cookies",
    "Share this: Facebook Twitter Pinterest Email",
    "Subscribe to our newsletter for the latest news and offers from {site}",
    "Related posts",
    "Leave a Reply Cancel reply",
    "Your email address will not be published. Required fields are marked *",
    "Posted in Uncategorized | Leave a comment",
    "Copyright © 2019 {site}. All rights reserved.",
    "Privacy Policy | Terms of Use | Sitemap",
    "Powered by WordPress | Theme by {site}",
    "Back to top",
    "Search for:",
    "Follow us on Instagram",
    "Call us today: (555) 010-0199",
    "Free shipping on orders over $50",
    "Click here to read more articles from {site}",
    "Advertisement",
    "Previous article Next article",
]

_SPLIT = re.compile(r"(\s+)")
_WHITESPACE = [" ", "  ", "\n", "\t", " \n", "\n\n"]


def plant(text: str, url: str, variant: Variant, rng: random.Random, vocab: list[str]) -> str:
    """One planted copy of ``text`` (see the module docstring for each variant)."""
    kind, strength = variant.kind, variant.strength
    if kind == "copy":
        return text
    parts = _SPLIT.split(text)  # words at even positions, whitespace at odd positions
    words = [i for i in range(0, len(parts), 2) if parts[i]]
    if kind == "whitespace":
        out = [p if i % 2 == 0 else rng.choice(_WHITESPACE) for i, p in enumerate(parts)]
        return "\n\n " + "".join(out) + "\n \n"
    if kind == "case":
        mode = rng.choice(["upper", "lower", "words"])
        if mode == "upper":
            return text.upper()
        if mode == "lower":
            return text.lower()
        return "".join(p.upper() if i % 2 == 0 and rng.random() < 0.5 else p for i, p in enumerate(parts))
    if kind in ("substitute", "delete"):
        chosen = rng.sample(words, min(len(words), max(1, round(strength * len(words)))))
        for i in chosen:
            if kind == "substitute":
                new = rng.choice(vocab)
                while new.casefold() == parts[i].casefold():
                    new = rng.choice(vocab)
                parts[i] = new
            else:
                parts[i] = ""
                if i + 1 < len(parts):
                    parts[i + 1] = ""
        return "".join(parts)
    if kind == "boilerplate":
        site = urlsplit(url).hostname or "example.com"
        lines = [line.format(site=site) for line in rng.sample(BOILERPLATE, strength)]
        head = strength // 2
        return "\n".join([*lines[:head], text, *lines[head:]])
    if kind == "truncate":
        keep = min(len(words) - 1, math.ceil(strength * len(words)))
        if keep < 1:
            return ""
        return "".join(parts[: words[keep - 1] + 1])
    raise ValueError(f"unknown variant kind {kind!r}")


# ----------------------------------------------------------------------------- corpus


def load_originals(c4: int, wiki: int, data_dir: Path = DATA) -> list[dict]:
    """The first ``c4`` C4 documents and ``wiki`` Wikipedia articles (non-empty texts only)."""
    docs: list[dict] = []
    for path, count, source in ((data_dir / C4_FILE, c4, "c4"), (data_dir / WIKI_FILE, wiki, "wiki")):
        if count <= 0:
            continue
        if not path.is_file():
            raise FileNotFoundError(f"{path} not found (the shared corpora are expected in ../shared/data)")
        taken = 0
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            for line_no, line in enumerate(fh):
                if taken >= count:
                    break
                record = json.loads(line)
                if not record.get("text", "").strip():
                    continue
                doc_id = f"c4-{line_no:04d}" if source == "c4" else f"wiki-{record['id'].removeprefix('enwiki-')}"
                docs.append({"id": doc_id, "text": record["text"], "url": record.get("url", ""), "source": source})
                taken += 1
    return docs


def build_corpus(originals: list[dict], variants: list[Variant], copies: int, seed: int) -> list[dict]:
    """Originals first, then their planted copies; every document carries its ``family`` and ``variant``."""
    if not 1 <= copies <= len(variants):
        raise ValueError(f"copies must be between 1 and {len(variants)} (one variant per copy)")
    vocab = sorted({w for doc in originals for w in doc["text"].split() if w.isalpha()})
    docs = [{**doc, "family": doc["id"], "variant": None} for doc in originals]
    for doc in originals:
        for variant in random.Random(f"{seed}:{doc['id']}").sample(variants, copies):
            copy_id = f"{doc['id']}~{variant.slug}"
            text = plant(doc["text"], doc["url"], variant, random.Random(f"{seed}:{copy_id}"), vocab)
            docs.append(
                {
                    "id": copy_id,
                    "text": text,
                    "url": doc["url"],
                    "source": doc["source"],
                    "family": doc["id"],
                    "variant": variant.name,
                }
            )
    return docs


# ----------------------------------------------------------------------------- scoring


def _pairs(n: int) -> int:
    return n * (n - 1) // 2


def score_clusters(docs: list[dict], cluster_ids: list[str]) -> dict:
    """Pair counts (TP / natural / FP / true) and precision/recall of one clustering (module docstring)."""
    members: dict[str, list[int]] = defaultdict(list)
    for i, cluster in enumerate(cluster_ids):
        members[cluster].append(i)
    family_size = Counter(doc["family"] for doc in docs)
    true_pairs = sum(_pairs(n) for n in family_size.values())
    tp = natural = fp = 0
    for idx in members.values():
        if len(idx) < 2:
            continue
        families = Counter(docs[i]["family"] for i in idx)
        anchored_families = {docs[i]["family"] for i in idx if docs[i]["variant"] is None}
        anchored = Counter(f for f in families.elements() if f in anchored_families)
        same = sum(_pairs(n) for n in families.values())
        nat = _pairs(sum(anchored.values())) - sum(_pairs(n) for n in anchored.values())
        tp += same
        natural += nat
        fp += _pairs(len(idx)) - same - nat
    clustered = {doc["id"]: cluster_ids[i] for i, doc in enumerate(docs)}
    copies = [(i, doc) for i, doc in enumerate(docs) if doc["variant"] is not None]
    found = sum(cluster_ids[i] == clustered[doc["family"]] for i, doc in copies)

    def ratio(a: int, b: int) -> float | None:
        return round(a / b, 4) if b else None

    return {
        "documents": len(docs),
        "copies": len(copies),
        "copies_found": found,
        "true_pairs": true_pairs,
        "tp": tp,
        "fp": fp,
        "natural": natural,
        "recall": ratio(tp, true_pairs),
        "copy_recall": ratio(found, len(copies)),
        "precision": ratio(tp, tp + fp),
        "strict_precision": ratio(tp, tp + fp + natural),
    }


# ----------------------------------------------------------------------------- methods


METHODS = {
    "minhash": "MinHashParams() — 28x4, verify >= 0.5",
    "minhash, no verify": "28x4, every candidate pair",
    "fineweb 14x8": "MinHashParams.fineweb() — 14x8, no verify",
}


def method_params() -> dict:
    from curation.dedup import MinHashParams

    default = MinHashParams()
    return {
        "minhash": default,
        "minhash, no verify": MinHashParams(
            ngram=default.ngram,
            num_perm=default.num_perm,
            bands=default.bands,
            rows=default.rows,
            verify_threshold=None,
        ),
        "fineweb 14x8": MinHashParams.fineweb(),
    }


def minhash_clusters(ids: list[str], signatures: np.ndarray, keys: np.ndarray, params) -> tuple[list[str], int, int]:
    """Cluster ids, candidate pairs and verified pairs for one subset (its signatures and band keys)."""
    from curation.dedup import candidate_pairs, clusters_from_pairs, verify_pairs

    candidates = candidate_pairs(keys)
    pairs = verify_pairs(signatures, candidates, params.verify_threshold)
    return clusters_from_pairs(ids, pairs), len(candidates), len(pairs)


def evaluate(docs: list[dict], signatures: np.ndarray, exact: list[str], subsets: dict[str, list[int]]) -> dict:
    """For every subset (a list of document positions) and every method: its scores."""
    from curation.dedup import band_keys, clusters_from_keys

    params = method_params()
    keys = {name: band_keys(signatures, p.bands, p.rows) for name, p in params.items()}
    out: dict[str, dict] = {}
    for subset, idx in subsets.items():
        sub_docs = [docs[i] for i in idx]
        ids = [doc["id"] for doc in sub_docs]
        row = {"exact": score_clusters(sub_docs, clusters_from_keys(ids, [exact[i] for i in idx]))}
        for name, p in params.items():
            clusters, n_candidates, n_pairs = minhash_clusters(ids, signatures[idx], keys[name][idx], p)
            row[name] = {**score_clusters(sub_docs, clusters), "candidate_pairs": n_candidates, "kept_pairs": n_pairs}
            if subset != "originals only":
                for source in ("c4", "wiki"):
                    pos = [k for k, doc in enumerate(sub_docs) if doc["source"] == source]
                    if pos:
                        scored = score_clusters([sub_docs[k] for k in pos], [clusters[k] for k in pos])
                        row[name][f"copy_recall_{source}"] = scored["copy_recall"]
        out[subset] = row
    return out


def true_jaccards(docs: list[dict]) -> dict[str, float]:
    """True 5-gram shingle Jaccard of every copy with its original, by copy id."""
    from curation.dedup import shingles

    by_family: dict[str, list[dict]] = defaultdict(list)
    for doc in docs:
        by_family[doc["family"]].append(doc)
    out: dict[str, float] = {}
    for family in by_family.values():
        original = shingles(next(d for d in family if d["variant"] is None)["text"])
        for doc in family:
            if doc["variant"] is not None:
                copy = shingles(doc["text"])
                out[doc["id"]] = len(original & copy) / len(original | copy)
    return out


def natural_pairs(docs: list[dict], signatures: np.ndarray, limit: int = 40) -> list[dict]:
    """Pairs of originals that the default method puts in one cluster (directly detected pairs)."""
    from curation.dedup import MinHashParams, band_keys, candidate_pairs, estimated_jaccard, shingles, verify_pairs

    params = MinHashParams()
    idx = [i for i, doc in enumerate(docs) if doc["variant"] is None]
    sig = signatures[idx]
    pairs = verify_pairs(sig, candidate_pairs(band_keys(sig, params.bands, params.rows)), params.verify_threshold)
    estimates = estimated_jaccard(sig, pairs)
    out = []
    for (a, b), est in zip(pairs, estimates.tolist(), strict=True):
        da, db = docs[idx[a]], docs[idx[b]]
        sa, sb = shingles(da["text"]), shingles(db["text"])
        out.append(
            {
                "a": da["id"],
                "b": db["id"],
                "url_a": da["url"],
                "url_b": db["url"],
                "estimated_jaccard": round(est, 3),
                "true_jaccard": round(len(sa & sb) / len(sa | sb), 3),
                "chars": [len(da["text"]), len(db["text"])],
            }
        )
    out.sort(key=lambda p: -p["true_jaccard"])
    return out[:limit] if limit else out


# ----------------------------------------------------------------------------- speed


def timed_signatures(docs: list[dict], batch: int) -> tuple[np.ndarray, list[str], dict]:
    """Signatures and exact keys of all documents, batch by batch, timed per source."""
    from curation.dedup import MinHashParams, exact_keys, minhash_signatures

    params = MinHashParams()
    minhash_signatures(["warm up the imports"], params.num_perm, params.seed, params.ngram)
    signatures = np.empty((len(docs), params.num_perm), dtype=np.uint64)
    exact: list[str] = [""] * len(docs)
    speed: dict[str, dict] = {}
    for source in sorted({doc["source"] for doc in docs}):
        idx = [i for i, doc in enumerate(docs) if doc["source"] == source]
        sig_s = exact_s = 0.0
        for start in range(0, len(idx), batch):
            part = idx[start : start + batch]
            texts = [docs[i]["text"] for i in part]
            t0 = time.perf_counter()
            signatures[part] = minhash_signatures(texts, params.num_perm, params.seed, params.ngram)
            t1 = time.perf_counter()
            for i, key in zip(part, exact_keys(texts), strict=True):
                exact[i] = key
            exact_s += time.perf_counter() - t1
            sig_s += t1 - t0
        n_bytes = sum(len(docs[i]["text"].encode("utf-8")) for i in idx)
        speed[source] = {
            "documents": len(idx),
            "mean_chars": round(sum(len(docs[i]["text"]) for i in idx) / len(idx)),
            "signature_seconds": round(sig_s, 3),
            "signature_docs_per_s": round(len(idx) / sig_s, 1),
            "signature_mb_per_s": round(n_bytes / 1e6 / sig_s, 3),
            "exact_key_docs_per_s": round(len(idx) / exact_s, 1),
        }
    return signatures, exact, speed


# ----------------------------------------------------------------------------- report


def s_curve() -> list[dict]:
    from curation.dedup import candidate_probability

    rows = []
    for name, p in method_params().items():
        probs = candidate_probability(np.array([0.3, 0.5, 0.6, 0.7, 0.8, 0.9]), p.bands, p.rows)
        rows.append(
            {
                "method": name,
                "bands": p.bands,
                "rows": p.rows,
                "verify_threshold": p.verify_threshold,
                "lsh_threshold": round(p.threshold, 3),
                "p_candidate": {
                    f"{s:.1f}": round(float(v), 4) for s, v in zip((0.3, 0.5, 0.6, 0.7, 0.8, 0.9), probs, strict=False)
                },
            }
        )
    return rows


def _cell(value) -> str:
    return cell(value, digits=3, large=math.inf)


def _rp(score: dict) -> str:
    return f"{_cell(score['copy_recall'])} / {_cell(score['precision'])}"


def markdown_report(payload: dict) -> str:
    m, v, cfg = payload["machine"], payload["versions"], payload["config"]
    res = payload["results"]
    methods = ["exact", *METHODS]
    lines = [
        "# Deduplication quality: planted near-duplicates in real documents",
        "",
        f"- date (UTC): {payload['date']}",
        f"- machine: {m['cpu_model']}, nproc={m['nproc']}, {m['memory_gib']} GiB RAM, load average at start "
        f"{m['load_average']}; {m['os']}; python {m['python']}",
        f"- versions: {format_versions(v)}",
        f"- command: `{payload['command']}`",
        f"- originals: {cfg['originals']['c4']} C4 + {cfg['originals']['wiki']} Wikipedia; {cfg['copies']} planted "
        f"copies each (seed {cfg['seed']}) → {cfg['documents']:,} documents",
        f"- shingles: word {cfg['params']['ngram']}-grams of datatrove `simplify_text`; {cfg['params']['num_perm']} "
        f"permutations (datasketch MinHash, scheme {cfg['params']['scheme']}, seed {cfg['params']['seed']})",
        "",
        "## LSH S-curve: P(candidate) = 1 − (1 − s^r)^b",
        "",
        "| method | bands × rows | threshold (1/b)^(1/r) | verify | s=0.3 | 0.5 | 0.6 | 0.7 | 0.8 | 0.9 |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in payload["s_curve"]:
        probs = " | ".join(f"{p:.3f}" for p in row["p_candidate"].values())
        verify = f"≥ {row['verify_threshold']}" if row["verify_threshold"] else "–"
        lines.append(
            f"| {row['method']} | {row['bands']} × {row['rows']} | {row['lsh_threshold']:.3f} | {verify} | {probs} |"
        )
    lines += [
        "",
        "## Recall / precision per variant",
        "",
        "Cells are **copy recall / precision** (precision = TP / (TP + FP), natural pairs excluded; see below). "
        "Each variant row is its own run: originals + that variant's copies.",
        "",
        "| variant | copies | mean J | " + " | ".join(methods) + " | minhash R c4 / wiki |",
        "|" + "---|" * (4 + len(methods)),
    ]
    for name in [*payload["variants"], "all variants"]:
        row = res[name]
        mean_j = payload["mean_jaccard"].get(name)
        per_source = f"{_cell(row['minhash'].get('copy_recall_c4'))} / {_cell(row['minhash'].get('copy_recall_wiki'))}"
        label = f"**{name}**" if name == "all variants" else name
        lines.append(
            f"| {label} | {row['exact']['copies']:,} | {_cell(mean_j)} | "
            + " | ".join(_rp(row[meth]) for meth in methods)
            + f" | {per_source} |"
        )
    all_rows = res["all variants"]
    lines += [
        "",
        "*All variants together* (every true pair, copies linked through siblings included):",
        "",
        "| method | pair recall | precision | strict precision | TP | FP | natural | candidate pairs | kept pairs |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for meth in methods:
        s = all_rows[meth]
        lines.append(
            f"| {meth} | {_cell(s['recall'])} | {_cell(s['precision'])} | {_cell(s['strict_precision'])} | "
            f"{s['tp']:,} | {s['fp']:,} | {s['natural']:,} | {_cell(s.get('candidate_pairs'))} | "
            f"{_cell(s.get('kept_pairs'))} |"
        )
    nat = payload["natural_duplicates"]
    orig = res["originals only"]
    lines += [
        "",
        "## Natural duplicates among the originals",
        "",
        "Pairs of two *original* documents in one cluster are not counted as false positives: they are real "
        "duplicates in the source data (or the method's mistake), listed in the JSON with their true Jaccard. "
        "Predicted original–original pairs per method: "
        + ", ".join(f"{meth} {orig[meth]['natural']:,}" for meth in methods)
        + f". Pairs the default method detects directly: {nat['count']}, true 5-gram Jaccard "
        f"min {_cell(nat['true_jaccard_min'])}, median {_cell(nat['true_jaccard_median'])}.",
        "",
    ]
    for p in nat["pairs"][:8]:
        lines.append(
            f"- J={p['true_jaccard']:.2f} ({p['chars'][0]:,}/{p['chars'][1]:,} chars): {p['url_a']} ~ {p['url_b']}"
        )
    lines += [
        "",
        "## Speed (one process, single-threaded, batches of " + str(cfg["batch"]) + " documents)",
        "",
        "| source | documents | mean chars | signatures docs/s | signatures MB/s | exact_key docs/s |",
        "|---|---|---|---|---|---|",
    ]
    for source, s in payload["speed"].items():
        lines.append(
            f"| {source} | {s['documents']:,} | {s['mean_chars']:,} | {s['signature_docs_per_s']:,.0f} | "
            f"{s['signature_mb_per_s']:.2f} | {s['exact_key_docs_per_s']:,.0f} |"
        )
    lines += [
        "",
        "Signatures = `minhash_signatures` (datatrove `simplify_text` + 5-gram shingle set + datasketch MinHash, "
        "112 permutations). Definitions and the planting procedure: `benchmarks/dedup_quality.py` docstring.",
        "",
    ]
    return "\n".join(lines)


def run(c4: int, wiki: int, copies: int, seed: int, batch: int, data_dir: Path) -> dict:
    started = time.perf_counter()
    machine = machine_info()
    originals = load_originals(c4, wiki, data_dir)
    docs = build_corpus(originals, VARIANTS, copies, seed)
    print(f"{len(originals)} originals, {len(docs)} documents", file=sys.stderr)
    signatures, exact, speed = timed_signatures(docs, batch)
    print(f"signatures done ({time.perf_counter() - started:.0f}s)", file=sys.stderr)
    originals_idx = [i for i, doc in enumerate(docs) if doc["variant"] is None]
    subsets = {"originals only": originals_idx}
    present = [v.name for v in VARIANTS if any(doc["variant"] == v.name for doc in docs)]
    for name in present:
        subsets[name] = originals_idx + [i for i, doc in enumerate(docs) if doc["variant"] == name]
    subsets["all variants"] = list(range(len(docs)))
    results = evaluate(docs, signatures, exact, subsets)
    jaccards = true_jaccards(docs)
    by_variant: dict[str, list[float]] = defaultdict(list)
    for doc in docs:
        if doc["variant"] is not None:
            by_variant[doc["variant"]].append(jaccards[doc["id"]])
            by_variant["all variants"].append(jaccards[doc["id"]])
    natural = natural_pairs(docs, signatures, limit=0)
    true_j = [p["true_jaccard"] for p in natural]
    params = {name: p.to_dict() for name, p in method_params().items()}
    return {
        **provenance(["datasketch", "datatrove", "numpy"], machine=machine),
        "config": {
            "originals": {
                "c4": sum(d["source"] == "c4" for d in originals),
                "wiki": sum(d["source"] == "wiki" for d in originals),
            },
            "copies": copies,
            "seed": seed,
            "batch": batch,
            "documents": len(docs),
            "params": params["minhash"],
            "methods": params,
        },
        "variants": present,
        "s_curve": s_curve(),
        "mean_jaccard": {name: round(float(np.mean(vals)), 4) for name, vals in by_variant.items()},
        "results": results,
        "natural_duplicates": {
            "count": len(natural),
            "true_jaccard_min": min(true_j) if true_j else None,
            "true_jaccard_median": float(np.median(true_j)) if true_j else None,
            "pairs": natural[:40],
        },
        "speed": speed,
        "seconds_total": round(time.perf_counter() - started, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Precision/recall of exact and MinHash-LSH dedup on near-duplicates planted in real C4 and "
        "Wikipedia documents, per edit kind and strength, and signature speed. Writes JSON + Markdown.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Planting procedure and score definitions: see this script's docstring.",
    )
    parser.add_argument("--c4", type=int, default=1000, help="C4 originals (first N of the 1,000; default 1000)")
    parser.add_argument("--wiki", type=int, default=1000, help="Wikipedia originals (first N of 6,514; default 1000)")
    parser.add_argument(
        "--copies", type=int, default=3, help=f"planted copies per original, 1..{len(VARIANTS)} (default 3)"
    )
    parser.add_argument("--seed", type=int, default=0, help="planting seed (default 0)")
    parser.add_argument("--batch", type=int, default=1000, help="documents per signature batch (default 1000)")
    parser.add_argument("--data-dir", type=Path, default=DATA, help="the shared data folder (default ../shared/data)")
    parser.add_argument("--out-dir", type=Path, default=RESULTS, help="where dedup_quality.json/.md go")
    args = parser.parse_args(argv)
    if not 1 <= args.copies <= len(VARIANTS):
        parser.error(f"--copies must be between 1 and {len(VARIANTS)}")
    for rel, count in ((C4_FILE, args.c4), (WIKI_FILE, args.wiki)):
        if count > 0 and not (args.data_dir / rel).is_file():
            parser.error(f"{args.data_dir / rel} not found (pass --data-dir or set CURATION_SHARED_DATA)")

    payload = run(args.c4, args.wiki, args.copies, args.seed, args.batch, args.data_dir)
    markdown = markdown_report(payload)
    write_results(args.out_dir, "dedup_quality", payload, markdown)
    print(markdown)
    print(f"wrote {args.out_dir}/dedup_quality.json and .md ({payload['seconds_total']}s)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
