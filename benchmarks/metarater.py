"""Meta-rater on a mixed-quality corpus, end to end through the ``curate`` CLI: every quality score, the fit,
the selection, and proxy validation of the selection against a random sample, the best single score and
heuristic filtering (equal training tokens, several seeds).

Data (seeded, nothing invented): the DataRater benchmark's pool (``datarater_filtering.build_pool``: C4,
the trafilatura WARC pages, clean Wikipedia articles and corrupted copies of others). Wikipedia articles in
neither the pool nor WikiText-2 are split in two: ``reference`` (the DSIR target, the fastText positives,
the perplexity proxy's training text) and ``fit-heldout`` (the held-out loss of Meta-rater's proxy runs).
The fastText negatives are the shared Common Crawl samples (two WET excerpts, two WARC excerpts: about 100
pages, none in the pool). The cleanliness dimension rater learns from
annotations built here from other Wikipedia articles: label L in 0..5 = the article with (5 - L) x 16% of
it corrupted by one of ``curation.text.corruption``'s kinds (a stand-in for human labels, said as such).
Validation is on WikiText-2 validation and held-out C4 documents, neither used by any rater or the fit.

Phases timed: ingest, each rater (train + score), the fit (its proxies, regression and search are timed
inside), selection, validation; the proxy phase again with 1 and 2 worker processes on ``--workers-runs``.

Usage::

    python benchmarks/metarater.py                          # writes benchmarks/results/metarater.{json,md}
    python benchmarks/metarater.py --runs 16 --seeds 1 --tokens 100k --name metarater_quick
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import time
from pathlib import Path

from common import RESULTS, SHARED_DATA, provenance, write_results
from datarater_filtering import build_pool, make_runner, write_target
from pool import document_kinds
from validation_shared import RULE as HEURISTIC_RULE

from raters.metarater.fit import spearman_text

LABEL_STEP = 0.16  # corrupted share per label step below 5


def split_reference(work: Path, wiki_docs: int, seed: int) -> tuple[Path, Path]:
    """400 spare Wikipedia articles: the first 200 are rater reference text, the rest the fit's held-out set."""
    lines = write_target(work, wiki_docs, seed, count=400).read_text(encoding="utf-8").splitlines(keepends=True)
    (work / "reference.jsonl").write_text("".join(lines[:200]), encoding="utf-8")
    (work / "fit-heldout.jsonl").write_text("".join(lines[200:]), encoding="utf-8")
    return work / "reference.jsonl", work / "fit-heldout.jsonl"


def write_annotations(work: Path, seed: int, count: int = 600) -> Path:
    """Cleanliness labels 0..5 on Wikipedia paragraphs outside the pool, reference and held-out sets."""
    from curation.proxy.text_source import read_text_source
    from curation.text.corruption import CORRUPTIONS

    taken = {
        json.loads(line)["text"][:300]
        for name in ("pool.jsonl", "reference.jsonl", "fit-heldout.jsonl")
        for line in (work / name).read_text(encoding="utf-8").splitlines()
    }
    articles = read_text_source(str(SHARED_DATA / "reference" / "enwiki-6514-articles.jsonl.gz"), None).texts
    rng = random.Random(seed + 7)
    order = rng.sample(range(len(articles)), len(articles))
    kinds = sorted(CORRUPTIONS)
    records = []
    for index in order:
        text = articles[index]
        if len(text) < 1500 or text[:300] in taken:
            continue
        label = len(records) % 6
        fraction = (5 - label) * LABEL_STEP
        body = text[:2500]
        if fraction:
            body = CORRUPTIONS[kinds[len(records) % len(kinds)]](body, fraction, rng)
        records.append({"text": body, "score": label})
        if len(records) == count:
            break
    path = work / "cleanliness-annotations.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


SCORE_SETS = ["attrs/signals", "attrs/dsir", "attrs/fasttext", "attrs/perplexity", "attrs/cleanliness"]


def score_with_every_rater(run, reference: Path, annotations: Path, negatives: str, perplexity_tokens: str) -> dict:
    """``corpus`` -> every attribute set of ``SCORE_SETS`` (and ``attrs/dedup``), training each rater first:
    DSIR and the perplexity proxy toward ``reference``, fastText with ``reference`` as positives and the
    corpus directory ``negatives`` as negatives (a seeded sample of as many bytes as ``reference``), the cleanliness rater on ``annotations``. Seconds per rater."""
    seconds: dict[str, float] = {}
    seconds["signals"] = run(
        "signals", "corpus", "--out", "attrs/signals", "--overwrite", done="attrs/signals/manifest.json"
    )
    seconds["dedup"] = run("dedup", "corpus", "--out", "attrs/dedup", "--overwrite", done="attrs/dedup/manifest.json")
    seconds["dsir"] = run(
        "raters",
        "dsir",
        "fit",
        "--target",
        str(reference),
        "--raw",
        "corpus",
        "--out",
        "models/dsir",
        "--overwrite",
        done="models/dsir/metrics.json",
    )
    seconds["dsir"] += run(
        "raters",
        "dsir",
        "score",
        "corpus",
        "--model",
        "models/dsir",
        "--out",
        "attrs/dsir",
        "--overwrite",
        done="attrs/dsir/manifest.json",
    )
    # as many negative bytes as positive ones at most: a pool 40x the reference would teach "always negative"
    balance = ["--max-bytes", str(reference.stat().st_size)]
    seconds["fasttext"] = run("raters", "fasttext", "train", "--positive", str(reference), "--negative", negatives,
                              *balance, "--out", "models/fasttext", "--overwrite",
                              done="models/fasttext/metrics.json")  # fmt: skip
    seconds["fasttext"] += run("raters", "fasttext", "score", "corpus", "--model", "models/fasttext",
                               "--out", "attrs/fasttext", "--overwrite", done="attrs/fasttext/manifest.json")  # fmt: skip
    seconds["perplexity"] = run("raters", "perplexity", "train", "--reference", str(reference),
                                "--out", "models/perplexity", "--tokens", perplexity_tokens, "--overwrite", done="models/perplexity/metrics.json")  # fmt: skip
    seconds["perplexity"] += run("raters", "perplexity", "score", "corpus", "--model", "models/perplexity",
                                 "--out", "attrs/perplexity", "--overwrite", done="attrs/perplexity/manifest.json")  # fmt: skip
    seconds["dimension"] = run("raters", "dimension", "train", "--annotations", str(annotations),
                               "--dimension", "cleanliness", "--out", "models/cleanliness", "--overwrite", done="models/cleanliness/metrics.json")  # fmt: skip
    seconds["dimension"] += run("raters", "dimension", "score", "corpus", "--model", "models/cleanliness",
                                "--out", "attrs/cleanliness", "--overwrite", done="attrs/cleanliness/manifest.json")  # fmt: skip
    return seconds


def one_hot_fits(work: Path, fit_dir: Path, attributes: list[str], workers: int) -> dict[str, float]:
    """Held-out loss of a proxy run per single score (all weight on it), same settings as the fit's runs;
    also writes ``single-<column>/weights.json`` so ``curate metarater select`` can use any of them. A fit that
    confirmed its answer (``raters.metarater.confirm``) trained these runs already: their losses are read."""
    import numpy as np

    from curation.corpus import Corpus
    from curation.proxy.text_source import text_hash
    from raters.metarater.fit import sample_documents
    from raters.metarater.proxy_runs import ProxyRunSettings, run_proxies
    from raters.metarater.scaling import ScoreScaling
    from raters.metarater.score_table import load_score_table

    fit = json.loads((fit_dir / "weights.json").read_text())
    if (fit.get("confirmation") or {}).get("single_losses"):
        losses = fit["confirmation"]["single_losses"]
        _write_single_fits(work, fit)
        return losses
    table = load_score_table(work / "corpus", [work / a for a in attributes], columns=fit["columns"])
    from curation.proxy.text_source import read_text_source

    heldout = read_text_source(f"fit={work / 'fit-heldout.jsonl'}", fit["config"]["heldout_bytes"], seed=0).texts
    sampled, texts, _ = sample_documents(
        Corpus.open(work / "corpus"), table, fit["config"]["max_documents"], fit["config"]["seed"],
        {text_hash(t) for t in heldout},
    )  # fmt: skip
    scaled = ScoreScaling.from_dict(fit["scaling"], fit["columns"]).apply(table.values[sampled])
    settings = ProxyRunSettings(**fit["config"]["proxy"])
    eye = np.eye(len(fit["columns"]))
    records = run_proxies(
        eye, texts, table.n_bytes[sampled], scaled, {"fit": heldout}, settings, "single", work / "single-runs", workers
    )
    losses = {column: record["loss"] for column, record in zip(fit["columns"], records, strict=True)}
    _write_single_fits(work, fit)
    return losses


def _write_single_fits(work: Path, fit: dict) -> None:
    """``single-<column>/weights.json``: the fit with all weight on one score, for ``curate metarater select``."""
    for column in fit["columns"]:
        single = dict(fit, weights={c: float(c == column) for c in fit["columns"]})
        (work / f"single-{column}").mkdir(exist_ok=True)
        (work / f"single-{column}" / "weights.json").write_text(json.dumps(single, indent=2))


def kept_by_kind(work: Path, selections: dict[str, str]) -> dict[str, dict[str, float]]:
    """Per selection and kind of document: the share of the pool's documents of that kind it kept."""
    from curation.corpus import Corpus

    ids, kinds = document_kinds(work / "corpus")
    totals = {k: kinds.count(k) for k in sorted(set(kinds))}
    out = {}
    for name, directory in selections.items():
        kept = set(Corpus.open(work / directory).read_documents(["id"]).column("id").to_pylist())
        out[name] = {
            k: sum(1 for i, kk in zip(ids, kinds, strict=True) if kk == k and i in kept) / n for k, n in totals.items()
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--work", type=Path, default=Path("runs/metarater-benchmark"))
    parser.add_argument("--c4", type=int, default=800)
    parser.add_argument("--wiki", type=int, default=400)
    parser.add_argument("--runs", type=int, default=64, help="Meta-rater proxy runs (paper: 256)")
    parser.add_argument("--run-tokens", default="50k", help="training tokens per proxy run")
    parser.add_argument("--workers-runs", type=int, default=12, help="runs timed with 1 and 2 workers (0: skip)")
    parser.add_argument("--perplexity-tokens", default="2M", help="training tokens of the perplexity rater's proxy")
    parser.add_argument("--budget", type=float, default=0.3, help="selection budget: share of the pool's tokens")
    parser.add_argument("--size", default="small", help="validation proxy size")
    parser.add_argument("--tokens", default="300k", help="validation training tokens")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument(
        "--validate-lr", default=None, help="peak learning rate of the validation proxies (default: curate validate's)"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--name", default="metarater")
    parser.add_argument("--resume", action="store_true", help="skip steps whose output is already in --work")
    args = parser.parse_args()

    work = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    pool, c4_heldout = build_pool(work, args.c4, args.wiki, args.seed)
    reference, fit_heldout = split_reference(work, args.wiki, args.seed)
    annotations = write_annotations(work, args.seed)
    common_crawl = [
        str(SHARED_DATA / "web" / name)
        for name in (
            "cc-main-2016-50-sample.warc.wet.gz",
            "cc-main-2017-30-sample.truncated.warc.wet.gz",
            "cc-sample-a.warc.gz",
            "cc-sample-b.warc.gz",
        )
    ]
    warc = SHARED_DATA / "web" / "trafilatura-eval-pages.warc.gz"

    run = make_runner(work, args.resume)
    seconds: dict[str, float] = {}
    seconds["ingest"] = run(
        "ingest", str(pool), str(warc), "--out", "corpus", "--overwrite", done="corpus/manifest.json"
    )
    seconds["ingest_negatives"] = run(
        "ingest", *common_crawl, "--out", "common-crawl", "--overwrite", done="common-crawl/manifest.json"
    )
    seconds.update(score_with_every_rater(run, reference, annotations, "common-crawl", args.perplexity_tokens))
    scores = SCORE_SETS
    score_args = [x for a in scores for x in ("-a", a)]
    heldout = f"fit={fit_heldout}"
    seconds["fit"] = run("metarater", "fit", "corpus", *score_args, "--heldout", heldout, "--runs", str(args.runs),
                         "--tokens", args.run_tokens, "--seed", str(args.seed), "--out", "fit", "--overwrite",
                         done="fit/weights.json")  # fmt: skip
    fit = json.loads((work / "fit" / "weights.json").read_text())

    from curation.corpus import Corpus

    pool_tokens = sum(
        n + 1 for n in Corpus.open(work / "corpus").read_documents(["n_bytes"]).column("n_bytes").to_pylist()
    )
    budget = str(int(args.budget * pool_tokens))
    started = time.perf_counter()
    single_losses = one_hot_fits(work, work / "fit", scores, workers=1)
    seconds["single_score_runs"] = time.perf_counter() - started
    best_single = min(single_losses, key=single_losses.get)
    seconds["select"] = run("metarater", "select", "corpus", *score_args, "--fit", "fit", "--tokens", budget,
                            "--out", "sel-metarater", "--overwrite")  # fmt: skip
    run("metarater", "select", "corpus", *score_args, "--fit", f"single-{best_single}", "--tokens", budget,
        "--out", "sel-single", "--overwrite")  # fmt: skip
    run("select", "corpus", "-a", "attrs/signals", "-a", "attrs/dedup", "--rule", HEURISTIC_RULE, "--out", "sel-heuristic",
        "--overwrite")  # fmt: skip
    seconds["validate"] = run(
        "validate", "--train", "metarater=sel-metarater", "--train", f"single={'sel-single'}",
        "--train", "heuristic=sel-heuristic", "--random-baseline", "corpus",
        "--heldout", f"wikitext={SHARED_DATA / 'reference' / 'wikitext-2-valid.txt'}",
        "--heldout", f"c4-heldout={c4_heldout}", "--tokens", args.tokens, "--seeds", str(args.seeds),
        "--size", args.size, "--evaluations", "6", "--heldout-bytes", "100000", "--out", "validation", "--overwrite",
        *(["--lr", args.validate_lr] if args.validate_lr else []),
    )  # fmt: skip

    workers = {}
    if args.workers_runs:
        for count in (1, 2):
            target = work / f"fit-workers{count}"
            shutil.rmtree(target, ignore_errors=True)
            elapsed = run("metarater", "fit", "corpus", *score_args, "--heldout", heldout, "--runs", str(args.workers_runs),
                          "--tokens", args.run_tokens, "--workers", str(count), "--out", str(target), "--no-tracking")  # fmt: skip
            proxy = json.loads((target / "weights.json").read_text())["seconds"]["proxies"]
            workers[count] = {"runs": args.workers_runs, "command_seconds": elapsed, "proxy_seconds": proxy}

    validation = json.loads((work / "validation" / "results.json").read_text())
    selections = {"metarater": "sel-metarater", "single": "sel-single", "heuristic": "sel-heuristic"}
    kinds = kept_by_kind(work, selections)
    payload = {
        "benchmark": "metarater",
        **provenance(["torch", "pyspark", "lightgbm", "fasttext-numpy2-wheel"]),
        "settings": vars(args) | {"work": str(work), "budget_tokens": int(budget), "heuristic_rule": HEURISTIC_RULE},
        "seconds": seconds,
        "fit": {k: fit[k] for k in ("columns", "weights", "regression", "learning_curve", "search", "seconds", "runs")},
        "single_score_losses": single_losses,
        "best_single_score": best_single,
        "workers": workers,
        "kept_by_kind": kinds,
        "validation": {k: validation[k] for k in ("model", "tokens", "seeds", "baseline", "train_sets", "results")},
    }
    write_results(RESULTS, args.name, payload, render(payload, (work / "validation" / "table.md").read_text()))
    print(render(payload, (work / "validation" / "table.md").read_text()))


def paired_differences(results: dict, name: str = "metarater") -> list[dict]:
    """``name`` minus every other training set, per held-out set: the mean over seeds of the per-seed difference of
    final bpb (seed s of both sets shares the proxy's initialisation and batch order), its standard error and
    the difference in standard errors (negative: ``name`` is better)."""
    import statistics

    rows = []
    for other in results:
        if other == name:
            continue
        for heldout, entry in results[name].items():
            mine, theirs = entry["final_bpb"], results[other][heldout]["final_bpb"]
            diffs = [mine[seed] - theirs[seed] for seed in mine if seed in theirs]
            mean = statistics.fmean(diffs)
            se = statistics.stdev(diffs) / len(diffs) ** 0.5 if len(diffs) > 1 else float("nan")
            rows.append({"against": other, "heldout": heldout, "seeds": len(diffs), "mean": mean, "se": se,
                         "z": mean / se if se and se == se else float("nan")})  # fmt: skip
    return rows


def _number(value: float | None) -> str:
    return "undefined" if value is None else f"{value:.3f}"


def render(p: dict, validation_table: str) -> str:
    fit = p["fit"]
    weights = "\n".join(
        f"| {c} | {w:.3f} | {p['single_score_losses'][c]:.4f} |"
        for c, w in sorted(fit["weights"].items(), key=lambda kv: -kv[1])
    )
    curve = "\n".join(f"| {pt['runs']} | {spearman_text(pt)} |" for pt in fit["learning_curve"])
    differences = "\n".join(
        f"| {d['against']} | {d['heldout']} | {d['seeds']} | {d['mean']:+.4f} | {d['se']:.4f} | {d['z']:+.1f} |"
        for d in paired_differences(p["validation"]["results"])
    )
    phases = "\n".join(f"| {k} | {v:,.0f} |" for k, v in p["seconds"].items())
    inner = fit["seconds"]
    kinds = sorted(next(iter(p["kept_by_kind"].values())))
    kept = "\n".join(
        f"| {name} | " + " | ".join(f"{100 * share[k]:.0f} %" for k in kinds) + " |"
        for name, share in p["kept_by_kind"].items()
    )
    workers = "\n".join(
        f"| {n} | {w['runs']} | {w['proxy_seconds']:,.0f} | {w['proxy_seconds'] / w['runs']:.1f} |"
        for n, w in p["workers"].items()
    )
    s = p["settings"]
    return (
        f"# Meta-rater benchmark ({p['date'][:10]})\n\n"
        f"{fit['runs']['count']} proxy runs ({s['run_tokens']} tokens each, tiny proxies, top 15%); selection budget "
        f"{s['budget_tokens']:,} tokens ({100 * s['budget']:.0f}% of the pool). Validation: {s['size']} proxies, "
        f"{s['tokens']} tokens, {s['seeds']} seeds"
        f"{', peak learning rate ' + s['validate_lr'] if s.get('validate_lr') else ''}.\n\n"
        f"## Weights learned, and each score alone (held-out loss of one proxy run, all weight on it)\n\n"
        f"| score | weight | loss alone (bpb) |\n|---|---:|---:|\n{weights}\n\nBest single score: "
        f"`{p['best_single_score']}`.\n\n"
        f"## Regression: held-out Spearman (95% bootstrap interval) against the number of proxy runs\n\n"
        f"| runs | Spearman |\n|---:|---:|\n{curve}\n\n"
        f"## Share of each kind of pool document kept\n\n| selection | "
        + " | ".join(kinds)
        + " |\n|---|"
        + "---:|" * len(kinds)
        + f"\n{kept}\n\n"
        f"## Validation (equal training tokens)\n\n{validation_table}\n"
        f"Meta-rater minus each other set, final bpb, paired by seed (negative: Meta-rater better):\n\n"
        f"| against | held-out | seeds | mean difference | standard error | in standard errors |\n"
        f"|---|---|---:|---:|---:|---:|\n{differences}\n\n"
        f"## Time\n\n| phase | seconds |\n|---|---:|\n{phases}\n\nInside the fit: proxies {inner['proxies']:,.0f} s, "
        f"regression {inner['regression']:.2f} s, search over {fit['search']['candidates']:,} candidates "
        f"{inner['search']:.2f} s.\n\n"
        + (
            f"Proxy phase with worker processes:\n\n| workers | runs | seconds | s / run |\n|---:|---:|---:|---:|\n{workers}\n\n"
            if workers
            else ""
        )
        + f"Machine: {p['machine']['cpu_model']}, {p['machine']['nproc']} CPUs.\n"
    )


if __name__ == "__main__":
    main()
