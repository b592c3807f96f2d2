"""How closely each document-level quality score agrees with human judgement: Spearman and ROC AUC against
the share of a document's lines that people labelled clean.

Data (read-only): ``../shared/data/labels/line-quality-en/{train,dev,test}.json``, 104 English web documents
(TurkuNLP); each is ``{"text": [line, ...], "labels": ["0" | "1", ...]}`` (``1`` clean line, ``0``
boilerplate or noise). A document's text is its lines joined with ``\\n``; its **human score** is the share
of its lines labelled clean (by count of lines), and also the share of its characters in clean lines. The
positive class of the AUC is a document with a clean share (by lines) of at least 0.5. The splits are only a
partition here: nothing is trained on them.

Steps, through the ``curate`` CLI in ``--work`` (local sqlite MLflow store, as ``benchmarks/metarater.py``):

1. the documents as JSONL (``id``, ``text``, ``url`` = ``https://line-quality.invalid/<split>/<i>``) ->
   ``curate ingest``; documents ingest drops (rejects) are listed, scores are joined back by ``id``;
2. ``curate signals``: every numeric column is a heuristic score; the four datatrove filters' pass flags are
   heuristics too, as 0/1;
3. each trained rater found in ``--models-from`` (default ``runs/metarater-n256``, made by
   ``benchmarks/metarater.py --work runs/metarater-n256``): ``models/{dsir,fasttext,perplexity,cleanliness}``
   -> ``curate raters <kind> score``; no model is trained here;
4. Meta-rater, where ``<models-from>/fit/weights.json`` exists: ``curate metarater select --fit ...
   --fraction 1`` writes ``metarater_score`` (the fit's weights times the fit's scaled scores; the scaling's
   bounds are those of the fit's corpus, so values here are clipped to [0, 5]). The same score is recomputed
   in-process with ``ScoreScaling`` and ``load_score_table`` as a check;
5. DataRater, with ``--datarater MODEL_DIR``: ``curate datarater score``.

Every score is oriented in the direction the project uses it (higher = better, except the lower-is-better
columns of ``raters.metarater.score_table.SCORE_DIRECTIONS``: bits per byte, non-alphabetic words,
repetition, digits, capitals); an undefined score (NaN) ranks as the worst, as the Meta-rater scaling treats
it. Reported: Spearman with the clean share (scipy; 95 % percentile interval from ``--bootstrap`` resamples of
the documents, seeded), Spearman with the clean share by characters, and the ROC AUC (Mann–Whitney with
average ranks, ``line_signals_auc.auc``). Rows are sorted by Spearman.

    python benchmarks/human_agreement.py [--models-from runs/metarater-n256] [--datarater MODEL_DIR]
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np
from common import (
    RESULTS,
    SHARED_DATA,
    format_versions,
    machine_info,
    markdown_table,
    provenance,
    write_results,
)
from datarater_filtering import curate
from line_signals_auc import LABELS, SPLITS, auc, load

URL = "https://line-quality.invalid/{split}/{index}"
RATERS = {  # kind of `curate raters`: its model directory under --models-from and the score it writes
    "dsir": ("models/dsir", "dsir_log_ratio"),
    "fasttext": ("models/fasttext", "fasttext_quality"),
    "perplexity": ("models/perplexity", "proxy_bpb"),
    "dimension": ("models/cleanliness", "dim_cleanliness"),
}
PASS_FLAGS = ("gopher_quality_pass", "gopher_repetition_pass", "c4_quality_pass", "fineweb_quality_pass")
NO_DATARATER = "not measured (no trained DataRater model given)"


# ----------------------------------------------------------------------------- data


def documents(data_dir: Path) -> list[dict]:
    """One record per labelled document: id, url, split, text, clean share by lines and by characters."""
    by_doc: dict[int, list[dict]] = {}
    for row in load(data_dir):
        by_doc.setdefault(row["doc"], []).append(row)
    out, index_in_split = [], dict.fromkeys(SPLITS, 0)
    for doc in sorted(by_doc):
        rows = by_doc[doc]
        split = rows[0]["split"]
        i = index_in_split[split]
        index_in_split[split] += 1
        chars = sum(len(r["text"]) for r in rows)
        clean_chars = sum(len(r["text"]) for r in rows if r["label"] == 1)
        out.append(
            {
                "id": f"line-quality-{split}-{i}",
                "url": URL.format(split=split, index=i),
                "split": split,
                "text": "\n".join(r["text"] for r in rows),
                "lines": len(rows),
                "clean_share_lines": sum(r["label"] for r in rows) / len(rows),
                "clean_share_chars": clean_chars / chars if chars else math.nan,
            }
        )
    return out


def rejected(corpus_dir: Path) -> list[dict]:
    """What ingest rejected: locator, reason, detail."""
    import pyarrow.parquet as pq

    from curation.corpus import Corpus

    corpus = Corpus.open(corpus_dir)
    out = []
    for entry in corpus.manifest.get("rejects", []):
        for row in pq.read_table(corpus.root / entry["path"], columns=["locator", "reason", "detail"]).to_pylist():
            out.append(row)
    return out


# ----------------------------------------------------------------------------- scores


def numeric_columns(attribute_dir: Path) -> list[str]:
    manifest = json.loads((attribute_dir / "manifest.json").read_text(encoding="utf-8"))
    numeric = ("float", "double", "int", "uint", "halffloat")
    return [c["name"] for c in manifest["columns"] if c["type"].startswith(numeric) or c["name"] in PASS_FLAGS]


def read_scores(corpus_dir: Path, attribute_dir: Path, columns: list[str]) -> dict[str, dict[str, float]]:
    """column -> {document id -> value} (NaN where undefined), checked part by part against the corpus ids."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from curation.attributes import AttributeSet
    from curation.corpus import Corpus

    corpus = Corpus.open(corpus_dir)
    attributes = AttributeSet.open(attribute_dir, corpus)
    out: dict[str, dict[str, float]] = {c: {} for c in columns}
    for shard, path in enumerate(corpus.shard_paths):
        ids = pq.read_table(path, columns=["id"]).column("id")
        part = pq.read_table(attributes.part_path(shard), columns=["id", *columns])
        if not part.column("id").equals(ids):
            raise AssertionError(f"{attributes.part_path(shard)}: ids do not match {path}")
        for column in columns:
            values = part.column(column).cast(pa.float64()).to_numpy(zero_copy_only=False)
            out[column].update(zip(ids.to_pylist(), values.tolist(), strict=True))
    return out


def direction(column: str) -> str:
    from raters.metarater.score_table import DIMENSION_CLASS, DIMENSION_EXPECTED, SCORE_DIRECTIONS

    if column in SCORE_DIRECTIONS:
        return SCORE_DIRECTIONS[column]
    if column in PASS_FLAGS or DIMENSION_CLASS.match(column) or DIMENSION_EXPECTED.match(column):
        return "higher"
    if column == "metarater_score":
        return "higher"
    return "higher (assumed)"


def metarater_check(work: Path, fit: dict, score_sets: list[Path]) -> tuple[dict[str, float], dict[str, int]]:
    """The Meta-rater score recomputed with the library's scaling and score table: id -> score."""
    from raters.metarater.scaling import ScoreScaling
    from raters.metarater.score_table import load_score_table

    table = load_score_table(work / "corpus", score_sets, columns=fit["columns"])
    scaled = ScoreScaling.from_dict(fit["scaling"], fit["columns"]).apply(table.values).astype(np.float64)
    weights = np.asarray([fit["weights"][c] for c in fit["columns"]], dtype=np.float64)
    clipped = {}
    for j, column in enumerate(fit["columns"]):
        low, high = fit["scaling"][column]["min"], fit["scaling"][column]["max"]
        values = table.values[:, j]
        clipped[column] = int(((values < low) | (values > high)).sum())
    return dict(zip(table.ids, (scaled @ weights).tolist(), strict=True)), clipped


# ----------------------------------------------------------------------------- agreement


def oriented(values: np.ndarray, lower_is_better: bool) -> np.ndarray:
    """Higher = better; NaN becomes the worst value (below every defined one)."""
    x = -values if lower_is_better else values.copy()
    defined = np.isfinite(x)
    worst = (x[defined].min() - 1.0) if defined.any() else 0.0
    return np.where(defined, x, worst)


def spearman(x: np.ndarray, y: np.ndarray) -> float:
    from scipy.stats import spearmanr

    if np.ptp(x) == 0 or np.ptp(y) == 0:
        return math.nan
    return float(spearmanr(x, y).statistic)


def agreement(x: np.ndarray, share: np.ndarray, share_chars: np.ndarray, samples: np.ndarray) -> dict:
    positive = (share >= 0.5).astype(int)
    boot = [spearman(x[s], share[s]) for s in samples]
    boot = [b for b in boot if not math.isnan(b)]
    low, high = np.percentile(boot, [2.5, 97.5]) if boot else (math.nan, math.nan)
    return {
        "spearman": spearman(x, share),
        "spearman_ci95": [float(low), float(high)],
        "bootstrap_defined": len(boot),
        "spearman_chars": spearman(x, share_chars),
        "auc": auc(x, positive),
    }


# ----------------------------------------------------------------------------- run


def run(args: argparse.Namespace) -> dict:
    started = time.perf_counter()
    machine = machine_info()
    work = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    models_from = args.models_from.resolve()
    master = ["--master", args.master] if args.master else []
    docs = documents(args.data_dir)
    (work / "documents.jsonl").write_text(
        "".join(json.dumps({k: d[k] for k in ("id", "text", "url")}, ensure_ascii=False) + "\n" for d in docs),
        encoding="utf-8",
    )
    seconds = {
        "ingest": curate(
            "ingest", "documents.jsonl", "--out", "corpus", "--shards", "1", *master, "--overwrite", cwd=work
        ),  # fmt: skip
    }
    seconds["signals"] = curate("signals", "corpus", "--out", "attrs/signals", *master, "--overwrite", cwd=work)
    score_sets = {"heuristic": [work / "attrs" / "signals"]}
    not_measured: dict[str, str] = {}
    for kind, (model, column) in RATERS.items():
        name = Path(model).name
        if not (models_from / model).is_dir():
            not_measured[column] = f"not measured (no model at {models_from / model})"
            continue
        seconds[name] = curate("raters", kind, "score", "corpus", "--model", str(models_from / model),
                               "--out", f"attrs/{name}", *master, "--overwrite", cwd=work)  # fmt: skip
        score_sets.setdefault("rater", []).append(work / "attrs" / name)
    if args.datarater:
        seconds["datarater"] = curate("datarater", "score", "corpus", "--model", str(args.datarater.resolve()),
                                      "--out", "attrs/datarater", "--device", "cpu", *master, "--overwrite",
                                      cwd=work)  # fmt: skip
        score_sets["DataRater"] = [work / "attrs" / "datarater"]
    else:
        not_measured["datarater_score"] = NO_DATARATER

    fit_dir = models_from / "fit"
    fit, check = None, None
    if (fit_dir / "weights.json").is_file():
        from raters.metarater.select import load_fit

        fit = load_fit(fit_dir)
        available = {c for sets in score_sets.values() for s in sets for c in numeric_columns(s)}
        lacking = [c for c in fit["columns"] if c not in available]
        if lacking:
            not_measured["metarater_score"] = f"not measured (the fit needs {lacking}, not scored here)"
            fit = None
        else:
            every = [s for sets in score_sets.values() for s in sets]
            attribute_args = [x for s in every for x in ("-a", str(s.relative_to(work)))]
            seconds["metarater"] = curate("metarater", "select", "corpus", *attribute_args, "--fit", str(fit_dir),
                                          "--fraction", "1.0", "--out", "sel-metarater", "--keep-out",
                                          "attrs/metarater", *master, "--overwrite", cwd=work)  # fmt: skip
            score_sets["Meta-rater"] = [work / "attrs" / "metarater"]
            fit_scores = [s for s in every if set(numeric_columns(s)) & set(fit["columns"])]
            check = metarater_check(work, fit, fit_scores)
    else:
        not_measured["metarater_score"] = f"not measured (no {fit_dir / 'weights.json'})"

    # join back by id
    from curation.corpus import Corpus

    corpus = Corpus.open(work / "corpus")
    table = corpus.read_documents(["id", "url", "lang"])
    in_corpus = dict(zip(table.column("id").to_pylist(), table.column("url").to_pylist(), strict=True))
    langs = dict(zip(table.column("id").to_pylist(), table.column("lang").to_pylist(), strict=True))
    scored = [d for d in docs if d["id"] in in_corpus]
    for d in scored:
        if in_corpus[d["id"]] != d["url"]:
            raise AssertionError(f"{d['id']}: url {in_corpus[d['id']]!r} in the corpus, {d['url']!r} written")
    missing = [
        {"id": d["id"], "lines": d["lines"], "clean_share_lines": d["clean_share_lines"]}
        for d in docs
        if d["id"] not in in_corpus
    ]
    ids = [d["id"] for d in scored]
    share = np.array([d["clean_share_lines"] for d in scored])
    share_chars = np.array([d["clean_share_chars"] for d in scored])
    rng = np.random.default_rng(args.seed)
    samples = rng.integers(0, len(ids), size=(args.bootstrap, len(ids)))

    rows = []
    weights = fit["weights"] if fit else {}
    for kind, sets in score_sets.items():
        for attribute_dir in sets:
            columns = numeric_columns(attribute_dir)
            values_by_column = read_scores(work / "corpus", attribute_dir, columns)
            for column in columns:
                values = np.array([values_by_column[column][i] for i in ids], dtype=float)
                used = direction(column)
                x = oriented(values, used == "lower")
                row = {
                    "score": column,
                    "kind": "heuristic (0/1 filter)" if column in PASS_FLAGS else kind,
                    "attribute_set": attribute_dir.name,
                    "direction": f"{used} is better",
                    "undefined": int((~np.isfinite(values)).sum()),
                    "fit_weight": weights.get(column),
                    **agreement(x, share, share_chars, samples),
                }
                rows.append(row)
    rows.sort(key=lambda r: -r["spearman"] if not math.isnan(r["spearman"]) else math.inf)

    metarater_difference = None
    clipped = None
    if check is not None:
        recomputed, clipped = check
        cli = read_scores(work / "corpus", work / "attrs" / "metarater", ["metarater_score"])["metarater_score"]
        metarater_difference = max(abs(cli[i] - recomputed[i]) for i in ids)
    positives = int((share >= 0.5).sum())
    heuristics = [r for r in rows if r["kind"].startswith("heuristic") and not math.isnan(r["spearman"])]
    return {
        **provenance(["scipy", "numpy", "pyspark", "fasttext-numpy2-wheel", "torch"], machine=machine),
        "data": str(args.data_dir / LABELS),
        "config": {
            "work": str(work),
            "models_from": str(models_from),
            "datarater": str(args.datarater) if args.datarater else None,
            "bootstrap": args.bootstrap,
            "seed": args.seed,
            "master": args.master,
            "positive_class": "clean share (by lines) >= 0.5",
        },
        "counts": {
            "documents": len(docs),
            "scored": len(scored),
            "not_in_corpus": missing,
            "rejects": rejected(work / "corpus"),
            "positive": positives,
            "negative": len(scored) - positives,
            "lang": {
                lang: sum(1 for i in ids if langs[i] == lang) for lang in sorted({langs[i] for i in ids}, key=str)
            },
            "clean_share_lines_mean": float(share.mean()),
        },
        "fit": (
            {
                "dir": str(fit_dir),
                "columns": fit["columns"],
                "weights": fit["weights"],
                "runs": fit.get("runs"),
                "values_outside_fit_bounds": clipped,
            }
            if fit
            else None
        ),
        "metarater_cli_vs_library_max_abs_difference": metarater_difference,
        "not_measured": not_measured,
        "best_heuristic": max(heuristics, key=lambda r: r["spearman"])["score"] if heuristics else None,
        "rows": rows,
        "seconds": {k: round(v, 1) for k, v in seconds.items()} | {"total": round(time.perf_counter() - started, 1)},
    }


# ----------------------------------------------------------------------------- report


def _f(value: float | None, digits: int = 3) -> str:
    return "–" if value is None or math.isnan(value) else f"{value:.{digits}f}"


def summary_sentence(payload: dict) -> str:
    rows = payload["rows"]

    def names(*kinds: str) -> str:
        found = [f"`{r['score']}`" for r in rows if r["kind"] in kinds]
        return ", ".join(found) if found else "none"

    parts = [
        f"Heuristics (from `curate signals`): {names('heuristic', 'heuristic (0/1 filter)')}.",
        f"Raters (`curate raters ... score` with the models in `{payload['config']['models_from']}/models`): "
        f"{names('rater')}.",
        f"Meta-rater: {payload['not_measured'].get('metarater_score') or names('Meta-rater')}.",
        f"DataRater: {payload['not_measured'].get('datarater_score') or names('DataRater')}.",
    ]
    best = next((r for r in rows if r["score"] == payload["best_heuristic"]), None)
    if best:
        low, high = best["spearman_ci95"]
        parts.append(
            f"Best single heuristic by Spearman: `{best['score']}` (ρ = {best['spearman']:.3f}, 95 % CI "
            f"{low:.3f}–{high:.3f}; AUC {best['auc']:.3f})."
        )
    numeric = next((r for r in rows if r["kind"] == "heuristic" and not math.isnan(r["spearman"])), None)
    if numeric and best and numeric is not best:
        low, high = numeric["spearman_ci95"]
        parts.append(
            f"Best numeric signal: `{numeric['score']}` (ρ = {numeric['spearman']:.3f}, 95 % CI {low:.3f}–{high:.3f};"
            f" AUC {numeric['auc']:.3f})."
        )
    return " ".join(parts)


def markdown_report(payload: dict) -> str:
    m, c = payload["machine"], payload["counts"]
    config = payload["config"]
    headers = ["score", "kind", "direction used", "Spearman (lines)", "95 % CI", "Spearman (chars)", "AUC",
               "undefined", "fit weight"]  # fmt: skip
    table_rows = [
        [
            f"`{r['score']}`",
            r["kind"],
            r["direction"],
            _f(r["spearman"]),
            f"{_f(r['spearman_ci95'][0])}–{_f(r['spearman_ci95'][1])}",
            _f(r["spearman_chars"]),
            _f(r["auc"]),
            r["undefined"],
            _f(r["fit_weight"]),
        ]
        for r in payload["rows"]
    ]
    table_rows += [
        [f"`{name}`", "–", "–", reason, "", "", "", "", ""] for name, reason in payload["not_measured"].items()
    ]
    lines = [
        "# Document-level quality scores vs human line labels",
        "",
        f"- date (UTC): {payload['date']}; command: `{payload['command']}`; {payload['seconds']['total']} s",
        f"- machine: {m['cpu_model']}, nproc={m['nproc']}, {m['memory_gib']} GiB RAM; {m['os']}; python {m['python']}; "
        f"load average at start {m['load_average']}",
        f"- versions: {format_versions(payload['versions'])}",
        f"- data: `labels/line-quality-en/{{train,dev,test}}.json` (TurkuNLP): {c['documents']} documents, "
        f"**{c['scored']} scored** (in the ingested corpus), {len(c['not_in_corpus'])} dropped by ingest"
        + (f" ({', '.join(d['id'] for d in c['not_in_corpus'])})" if c["not_in_corpus"] else "")
        + f"; {c['positive']} with clean share ≥ 0.5 (positive), {c['negative']} below; mean clean share "
        f"{c['clean_share_lines_mean']:.3f}; language ID of the scored documents: "
        + ", ".join(f"{k} {v}" for k, v in c["lang"].items()),
        f"- models: `{config['models_from']}`"
        + (
            f"; Meta-rater fit of {payload['fit']['runs']['count'] if isinstance(payload['fit']['runs'], dict) else '?'}"
            " proxy runs"
            if payload["fit"]
            else ""
        ),
        "",
        "Human score: share of a document's lines labelled clean (*lines*) or share of its characters in clean lines "
        "(*chars*). Each score is oriented the way the project uses it (*direction used*; lower-is-better columns "
        "flipped, as in `raters.metarater.score_table.SCORE_DIRECTIONS`), an undefined value (NaN, *undefined* "
        "documents) ranks as the worst. Spearman > 0 and AUC > 0.5 mean the score agrees with people. AUC: clean "
        "share ≥ 0.5 as the positive class, Mann–Whitney with average ranks. 95 % CI: percentile interval of the "
        f"Spearman (lines) over {config['bootstrap']} bootstrap resamples of the documents (seed {config['seed']}). "
        "*fit weight*: the column's weight in the Meta-rater fit. Sorted by Spearman (lines).",
        "",
        markdown_table(headers, table_rows),
        "",
        summary_sentence(payload),
    ]
    if payload["fit"]:
        clipped = payload["fit"]["values_outside_fit_bounds"]
        outside = ", ".join(f"`{k}` {v}" for k, v in clipped.items() if v)
        lines += [
            "",
            "Meta-rater score = Σ weight × score scaled to [0, 5] with the fit's bounds (measured on the fit's "
            "own corpus, so values outside them are clipped here"
            + (f"; documents outside the bounds: {outside}" if outside else "; none here was outside")
            + "). From `curate metarater select --fraction 1`; recomputed with `ScoreScaling` and "
            f"`load_score_table`: max |difference| {payload['metarater_cli_vs_library_max_abs_difference']:.2e}.",
        ]
    if c["rejects"]:
        lines += ["", "Rejected by ingest: " + "; ".join(f"{r['locator']}: {r['reason']}" for r in c["rejects"])]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--work", type=Path, default=Path("runs/human-agreement"), help="working directory")
    parser.add_argument(
        "--models-from",
        type=Path,
        default=Path("runs/metarater-n256"),
        help="a benchmarks/metarater.py work directory: models/<rater>/ and fit/weights.json",
    )
    parser.add_argument("--datarater", type=Path, default=None, help="a `curate datarater train` model directory")
    parser.add_argument("--bootstrap", type=int, default=1000, help="bootstrap resamples (default 1000)")
    parser.add_argument("--seed", type=int, default=0, help="bootstrap seed (default 0)")
    parser.add_argument("--master", default="local[1]", help="Spark master of every curate call (default local[1])")
    parser.add_argument("--data-dir", type=Path, default=SHARED_DATA, help="the shared data folder")
    parser.add_argument("--out-dir", type=Path, default=RESULTS, help="where human_agreement.json/.md go")
    parser.add_argument("--name", default="human_agreement", help="results file name")
    args = parser.parse_args(argv)
    if not (args.data_dir / LABELS / "train.json").is_file():
        parser.error(f"{args.data_dir / LABELS} not found (pass --data-dir or set CURATION_SHARED_DATA)")
    if args.bootstrap < 1:
        parser.error("--bootstrap must be at least 1")
    if args.datarater and not args.datarater.is_dir():
        parser.error(f"--datarater {args.datarater}: not a directory")

    payload = run(args)
    markdown = markdown_report(payload)
    write_results(args.out_dir, args.name, payload, markdown)
    print(markdown)
    print(f"wrote {args.out_dir}/{args.name}.json and .md ({payload['seconds']['total']} s)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
