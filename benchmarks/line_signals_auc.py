"""How well line-level quality signals separate human-labelled boilerplate lines from clean lines (ROC AUC).

Data (read-only, never copied): ``../shared/data/labels/line-quality-en/{train,dev,test}.json``, 104 English
web documents (TurkuNLP); each is ``{"text": [line, ...], "labels": ["0" | "1", ...]}``, one label per line:
``1`` clean, ``0`` boilerplate or noise. The splits are only a partition of the documents here (nothing is
trained), so the AUCs are reported on all lines together and per split.

Signals, each computed on one line alone (a line of this data holds no ``\\n``):

* **RPv2** (``curation.signals.numeric.compute_numeric_signals(line)``): the three ``lines_*`` signals (for a
  one-line text the mean over lines is that line's value; the line has no ``\\n``, so none enters the
  denominators) and the ``doc_*`` ones applied to the line as if it were a document. The top-2/3-gram
  shares are listed for completeness: on a single line they are mostly 0.
* **datatrove-style line rules**, with datatrove's constants (``datatrove.pipeline.filters``), as 0/1 values
  (1 = the rule keeps the line):
  ``c4_*`` follow ``C4QualityFilter``'s per-line checks (line stripped, citations ``[1]``/``[edit]`` removed,
  ends in ``. ? ! " '`` and not ``...``; at least 3 words; no word over 1,000 chars; no "javascript"; no
  policy phrase; no ``{``, no "lorem ipsum", which drop the whole document there); ``c4_line_kept`` is all
  of them. ``fineweb_*`` follow ``FineWebQualityFilter``'s per-line predicates: ends in one of datatrove's
  159 ``TERMINAL_PUNCTUATION`` marks (line not stripped), and longer than 30 characters.
* **line_chars**: length of the line in characters.

AUC = P(signal of a clean line > signal of a boilerplate line) + ½ P(tie): the Mann–Whitney U statistic over
average ranks (ties matter: most rules are 0/1). Oriented with *clean* as the positive class, so **AUC > 0.5
means a higher value marks cleaner lines**, < 0.5 means a lower value does; ``max(AUC, 1 - AUC)`` is the
separation whatever the direction. The ``expected`` direction is the one this script states before
measuring (``EXPECTED``); a measured direction against it is flagged when the 95 % interval excludes 0.5
(otherwise the direction is reported as unclear).

Undefined values: a line without any normalised word (after ASCII punctuation is removed: ``||``,
``|||+|``, ``-``, ``_____``) has NaN for the word-based RPv2 signals. Such lines are 16 % of all lines and
almost all labelled boilerplate (forum-table remnants), so leaving them out would hide the easiest cases
from those signals only. Two views are reported instead: **all lines**, with NaN ranked below every value
(as if "no words" were the smallest possible value), and **lines with words**, the subset where every
signal is defined, which compares all signals on the same, harder lines. The 95 % interval (all lines)
resamples whole documents (lines of one page are not independent), ``--bootstrap`` times, seeded.

    python benchmarks/line_signals_auc.py [--bootstrap 1000] [--seed 0]
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np
from common import RESULTS, SHARED_DATA, format_versions, machine_info, provenance, write_results

DATA = SHARED_DATA
LABELS = Path("labels") / "line-quality-en"
SPLITS = ("train", "dev", "test")

# The direction one would expect before measuring: +1 higher = cleaner, -1 lower = cleaner, 0 no prior.
EXPECTED = {
    "lines_ending_with_terminal_punctuation_mark": +1,
    "lines_uppercase_letter_fraction": -1,
    "lines_numerical_chars_fraction": -1,
    "doc_word_count": +1,
    "doc_mean_word_length": 0,
    "doc_frac_no_alph_words": -1,
    "doc_frac_unique_words": 0,
    "doc_unigram_entropy": +1,
    "doc_num_sentences": +1,
    "doc_frac_chars_top_2gram": -1,
    "doc_frac_chars_top_3gram": -1,
    "c4_line_kept": +1,
    "c4_ends_with_end_punctuation": +1,
    "c4_at_least_3_words": +1,
    "c4_no_javascript_policy_or_curly": +1,
    "fineweb_ends_with_terminal_punctuation": +1,
    "fineweb_longer_than_30_chars": +1,
    "line_chars": +1,
}


# ----------------------------------------------------------------------------- signals


def datatrove_line_rules(line: str) -> dict[str, float]:
    from datatrove.pipeline.filters.c4_filters import CITATION_REGEX, ELLIPSIS, END_PUNCTUATION, POLICY_SUBSTRINGS
    from datatrove.utils.text import TERMINAL_PUNCTUATION

    stripped = line.strip()
    words = stripped.split()
    cited = CITATION_REGEX.sub("", stripped)
    lower = cited.lower()
    ends = cited.endswith(END_PUNCTUATION) and not cited.endswith(ELLIPSIS)
    enough_words = len(words) >= 3
    no_long_word = all(len(w) <= 1000 for w in words)
    clean_content = (
        "javascript" not in lower
        and not any(p in lower for p in POLICY_SUBSTRINGS)
        and "{" not in cited
        and "lorem ipsum" not in lower
    )
    return {
        "c4_line_kept": float(ends and enough_words and no_long_word and clean_content),
        "c4_ends_with_end_punctuation": float(ends),
        "c4_at_least_3_words": float(enough_words),
        "c4_no_javascript_policy_or_curly": float(clean_content),
        "fineweb_ends_with_terminal_punctuation": float(line.endswith(tuple(TERMINAL_PUNCTUATION))),
        "fineweb_longer_than_30_chars": float(len(line) > 30),
        "line_chars": float(len(line)),
    }


def line_signals(line: str) -> dict[str, float]:
    from curation.signals.numeric import compute_numeric_signals

    return {**compute_numeric_signals(line), **datatrove_line_rules(line)}


# ----------------------------------------------------------------------------- AUC


def auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """Mann–Whitney AUC with average ranks for ties; labels 1 = positive (clean). Scores must not be NaN."""
    n_pos = int(labels.sum())
    n_neg = len(labels) - n_pos
    if n_pos == 0 or n_neg == 0:
        return math.nan
    _, inverse, counts = np.unique(scores, return_inverse=True, return_counts=True)
    ends = np.cumsum(counts)
    average_rank = ends - (counts - 1) / 2.0  # ranks 1..n; a tie group shares the mean of its ranks
    ranks = average_rank[inverse]
    u = ranks[labels == 1].sum() - n_pos * (n_pos + 1) / 2.0
    return float(u / (n_pos * n_neg))


def bootstrap_ci(scores, labels, doc_index, n_docs, reps, seed) -> tuple[float, float]:
    """95 % percentile interval, resampling documents with replacement."""
    rng = np.random.default_rng(seed)
    by_doc = [np.flatnonzero(doc_index == d) for d in range(n_docs)]
    values = []
    for _ in range(reps):
        picked = np.concatenate([by_doc[d] for d in rng.integers(0, n_docs, n_docs)])
        value = auc(scores[picked], labels[picked])
        if not math.isnan(value):
            values.append(value)
    low, high = np.percentile(values, [2.5, 97.5])
    return float(low), float(high)


# ----------------------------------------------------------------------------- run


def load(data_dir: Path) -> list[dict]:
    """One row per line: split, document index (global), label (1 clean, 0 boilerplate), text."""
    rows, doc = [], 0
    for split in SPLITS:
        for document in json.loads((data_dir / LABELS / f"{split}.json").read_text(encoding="utf-8")):
            if len(document["text"]) != len(document["labels"]):
                raise ValueError(
                    f"{split}: a document has {len(document['text'])} lines, {len(document['labels'])} labels"
                )
            for text, label in zip(document["text"], document["labels"], strict=True):
                if str(label) not in ("0", "1"):
                    raise ValueError(f"{split}: unexpected label {label!r}")
                rows.append({"split": split, "doc": doc, "label": int(label), "text": text})
            doc += 1
    return rows


def _direction(value: float) -> str:
    if math.isnan(value) or value == 0.5:
        return "none"
    return "higher = cleaner" if value > 0.5 else "lower = cleaner"


def run(data_dir: Path, reps: int, seed: int) -> dict:
    started = time.perf_counter()
    machine = machine_info()
    rows = load(data_dir)
    n_docs = rows[-1]["doc"] + 1
    values = [line_signals(r["text"]) for r in rows]
    names = list(EXPECTED)
    assert set(names) == set(values[0]), sorted(set(names) ^ set(values[0]))
    labels = np.array([r["label"] for r in rows])
    doc_index = np.array([r["doc"] for r in rows])
    split_of = np.array([r["split"] for r in rows])
    counts = {
        split: {
            "documents": len({r["doc"] for r in rows if split in ("all", r["split"])}),
            "clean_lines": int(((split_of == split) | (split == "all"))[labels == 1].sum()),
            "boilerplate_lines": int(((split_of == split) | (split == "all"))[labels == 0].sum()),
        }
        for split in ("all", *SPLITS)
    }
    with_words = np.array([not math.isnan(v["doc_unigram_entropy"]) for v in values])
    counts["lines_with_words"] = {
        "clean_lines": int(with_words[labels == 1].sum()),
        "boilerplate_lines": int(with_words[labels == 0].sum()),
    }
    signals = []
    for name in names:
        raw = np.array([v[name] for v in values], dtype=float)
        undefined = np.isnan(raw)
        if undefined[with_words].any():
            raise AssertionError(f"{name} is undefined on a line with words")
        scores = np.where(undefined, -np.inf, raw)  # NaN ranks below every value
        entry = {
            "signal": name,
            "expected": {1: "higher = cleaner", -1: "lower = cleaner", 0: "no prior"}[EXPECTED[name]],
        }
        entry["undefined_lines"] = {
            "clean": int(undefined[labels == 1].sum()),
            "boilerplate": int(undefined[labels == 0].sum()),
        }
        per_split = {}
        for split in ("all", *SPLITS):
            mask = (split_of == split) | (split == "all")
            per_split[split] = auc(scores[mask], labels[mask])
        entry["auc"] = per_split
        entry["auc_lines_with_words"] = auc(raw[with_words], labels[with_words])
        entry["auc_all_ci95"] = low, high = bootstrap_ci(scores, labels, doc_index, n_docs, reps, seed)
        entry["separation"] = max(per_split["all"], 1 - per_split["all"])
        clear = not low <= 0.5 <= high  # the interval excludes "no separation"
        entry["direction"] = _direction(per_split["all"]) if clear else "unclear (CI spans 0.5)"
        entry["as_expected"] = (
            None if EXPECTED[name] == 0 or not clear else (per_split["all"] - 0.5) * EXPECTED[name] > 0
        )
        entry["mean_clean_defined"] = float(np.mean(raw[~undefined & (labels == 1)]))
        entry["mean_boilerplate_defined"] = float(np.mean(raw[~undefined & (labels == 0)]))
        signals.append(entry)
    signals.sort(key=lambda e: -e["separation"])
    check = None
    try:  # cross-check of the rank formula, where scikit-learn is installed
        from sklearn.metrics import roc_auc_score

        worst = 0.0
        for name in names:
            scores = np.array([v[name] for v in values], dtype=float)
            scores = np.where(np.isnan(scores), np.finfo(float).min, scores)  # sklearn refuses inf
            worst = max(worst, abs(roc_auc_score(labels, scores) - auc(scores, labels)))
        check = worst
    except ImportError:
        pass
    return {
        **provenance(["datatrove", "numpy", "scikit-learn"], machine=machine),
        "data": str(data_dir / LABELS),
        "config": {"bootstrap": reps, "seed": seed, "positive_class": "clean (label 1)"},
        "counts": counts,
        "signals": signals,
        "sklearn_max_abs_difference": check,
        "seconds": round(time.perf_counter() - started, 1),
    }


def _f(value: float) -> str:
    return "–" if value is None or math.isnan(value) else f"{value:.3f}"


def markdown_report(payload: dict) -> str:
    m, v, c = payload["machine"], payload["versions"], payload["counts"]
    lines = [
        "# Line-level quality signals vs human line labels (ROC AUC)",
        "",
        f"- date (UTC): {payload['date']}; command: `{payload['command']}`; {payload['seconds']} s",
        f"- machine: {m['cpu_model']}, nproc={m['nproc']}, {m['memory_gib']} GiB RAM; {m['os']}; python {m['python']}",
        f"- versions: {format_versions(v)}",
        f"- data: `labels/line-quality-en/{{train,dev,test}}.json` (TurkuNLP): {c['all']['documents']} documents, "
        f"{c['all']['clean_lines']:,} clean lines (1), {c['all']['boilerplate_lines']:,} boilerplate lines (0)",
        "",
        "| split | documents | clean lines | boilerplate lines |",
        "|---|---|---|---|",
        *[
            f"| {s} | {c[s]['documents']} | {c[s]['clean_lines']:,} | {c[s]['boilerplate_lines']:,} |"
            for s in ("all", *SPLITS)
        ],
        "",
        "AUC with *clean* as the positive class: **> 0.5 means a higher value marks cleaner lines**, < 0.5 a lower "
        "value does. Sorted by separation = max(AUC, 1 − AUC) on all lines. 95 % interval: "
        f"{payload['config']['bootstrap']} bootstrap resamples of whole documents (seed {payload['config']['seed']}).",
        "",
        "| signal | AUC all lines | 95 % CI | train | dev | test | AUC lines with words | direction (all lines) "
        "| expected | mean clean | mean boilerplate | undefined (clean / boilerplate) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for e in payload["signals"]:
        a = e["auc"]
        low, high = e["auc_all_ci95"]
        flag = " **(opposite)**" if e["as_expected"] is False else ""
        u = e["undefined_lines"]
        lines.append(
            f"| `{e['signal']}` | {_f(a['all'])} | {low:.3f}–{high:.3f} | {_f(a['train'])} | {_f(a['dev'])} | "
            f"{_f(a['test'])} | {_f(e['auc_lines_with_words'])} | {e['direction']} | {e['expected']}{flag} | "
            f"{e['mean_clean_defined']:.4g} | {e['mean_boilerplate_defined']:.4g} | {u['clean']} / {u['boilerplate']} |"
        )
    w = c["lines_with_words"]
    lines += [
        "",
        "RPv2 signals are `compute_numeric_signals(line)` on the line alone (`doc_*` = the document signal applied "
        "to one line). `c4_*` / `fineweb_*` are datatrove's per-line rules as 0/1 (1 = kept); the AUC of a 0/1 rule "
        "is (TPR + TNR) / 2. *All lines*: a NaN (line without words) ranks below every value. *Lines with words*: "
        f"the {w['clean_lines']:,} clean and {w['boilerplate_lines']:,} boilerplate lines where every signal is "
        "defined. Means are over defined values; for a 0/1 rule they are the shares of clean and of boilerplate "
        "lines the rule keeps.",
    ]
    if payload["sklearn_max_abs_difference"] is not None:
        lines.append(
            f"Rank formula checked against `sklearn.metrics.roc_auc_score`: max |difference| "
            f"{payload['sklearn_max_abs_difference']:.1e}."
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bootstrap", type=int, default=1000, help="document bootstrap resamples (default 1000)")
    parser.add_argument("--seed", type=int, default=0, help="bootstrap seed (default 0)")
    parser.add_argument("--data-dir", type=Path, default=DATA, help="the shared data folder (default ../shared/data)")
    parser.add_argument("--out-dir", type=Path, default=RESULTS, help="where line_signals_auc.json/.md go")
    args = parser.parse_args(argv)
    if not (args.data_dir / LABELS / "train.json").is_file():
        parser.error(f"{args.data_dir / LABELS} not found (pass --data-dir or set CURATION_SHARED_DATA)")
    if args.bootstrap < 1:
        parser.error("--bootstrap must be at least 1")

    payload = run(args.data_dir, args.bootstrap, args.seed)
    markdown = markdown_report(payload)
    write_results(args.out_dir, "line_signals_auc", payload, markdown)
    print(markdown)
    print(f"wrote {args.out_dir}/line_signals_auc.json and .md ({payload['seconds']} s)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
