"""Do the learned raters choose better data than the hand rules? One command, one table: Meta-rater, DataRater
(both outer-loss settings), the best single score, the heuristic rule, an oracle and random, validated with
proxies at equal training tokens over several seeds, plus each rater's agreement with human labels.

Pool: ``pool.build_pool`` (every web file of the shared data, the register-labelled web documents, clean and
corrupted Wikipedia articles; see that module). Every step goes through the ``curate`` CLI in ``--work``:

1. ``ingest`` the pool; every rater is trained and scores it (``metarater.score_with_every_rater``: the
   heuristic signals, dedup, DSIR, fastText, the perplexity proxy, the cleanliness rater). fastText's
   negatives are the pool itself, unlabelled (GPT-3's recipe: reference text against the crawl to filter);
2. ``metarater fit`` (``--runs`` proxy runs on the fit's own held-out Wikipedia); one more proxy run per single
   score, all weight on it, picks the **best single score on the fit's held-out set**, not on the sets it is
   reported on;
3. ``datarater train`` twice: outer loss on a disjoint 10% of the pool (the paper's setting), and on the
   clean reference articles; each scores the pool;
4. selections, each ranker keeping ``--keep`` of the documents: Meta-rater (``metarater select
   --fraction``), the best single score (the same, with its one-hot weights), DataRater (``datarater filter
   --rho 1-keep``); the heuristic rule (``validation_shared.RULE``) and the **oracle** (drops exactly the
   corrupted articles and the documents ingest's language ID calls non-English) keep what passes;
5. one ``validate`` of every selection against a fresh random sample of the pool per seed, on WikiText-2
   validation and the held-out C4 documents (neither seen by any rater); differences paired by seed;
6. ``human_agreement.py`` with this run's raters, once per DataRater.

Usage::

    python benchmarks/curation_quality.py                  # writes benchmarks/results/curation_quality.*
    python benchmarks/curation_quality.py --runs 16 --run-tokens 50k --datarater-steps 20 --seeds 2 \\
        --tokens 100k --name curation_quality_quick        # a quick look (~20 min on 2 cores)
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from common import RESULTS, SHARED_DATA, markdown_table, provenance, write_results
from datarater_filtering import datarater_scores, make_runner
from metarater import (
    SCORE_SETS,
    kept_by_kind,
    one_hot_fits,
    paired_differences,
    score_with_every_rater,
    write_annotations,
)
from pool import build_pool, document_kinds
from validation_shared import RULE as HEURISTIC_RULE

from raters.metarater.fit import spearman_text

ORACLE_RULE = "not corrupted and lang == 'en'"
DATARATERS = {"datarater-pool": None, "datarater-reference": "reference"}  # name -> outer-loss target
LEARNED = ["metarater", "datarater-pool", "datarater-reference", "single"]
GOAL_SAVINGS = 0.5  # DataRater: token savings against random
GOAL_HEURISTIC_SE = 3.0  # DataRater ahead of the heuristic rule by this many standard errors
GOAL_ORACLE_SHARE = 0.75  # DataRater's savings at least this share of the oracle's


def write_pool_labels(work: Path) -> Path:
    """``attrs/pool-labels``: each document's ``kind`` and whether it is a corrupted article (``corrupted``),
    from the pool's own bookkeeping; what the oracle's rule reads."""
    import pyarrow as pa

    from curation.attribute_stage import prepare_attribute_dir, write_computed_attributes
    from curation.corpus import Corpus
    from curation.text.corruption import CORRUPTIONS
    from curation.tracking import StageRun

    corpus = Corpus.open(work / "corpus")
    ids, kinds = document_kinds(work / "corpus")
    out, fingerprint, config_hash, _ = prepare_attribute_dir(
        corpus, work / "attrs/pool-labels", "pool-labels", {}, True
    )
    write_computed_attributes(
        out, corpus, producer="pool-labels", version="1", ids=ids,
        shard_rows=[entry["rows"] for entry in corpus.manifest["shards"]],
        columns={"kind": kinds, "corrupted": [kind in CORRUPTIONS for kind in kinds]},
        schema=[pa.field("kind", pa.string()), pa.field("corrupted", pa.bool_())],
        descriptions={"kind": "source of the document in the benchmark pool", "corrupted": "a corrupted article"},
        config={}, config_hash=config_hash, fingerprint=fingerprint, run=StageRun(),
    )  # fmt: skip
    return out


def select_all(run, args, best_single: str, dataraters: dict[str, str | None]) -> dict[str, float]:
    """Every selection into ``sel-<name>``; seconds per selection."""
    score_args = [x for a in SCORE_SETS for x in ("-a", a)]
    keep = str(args.keep)
    seconds = {
        "metarater": run("metarater", "select", "corpus", *score_args, "--fit", "fit", "--fraction", keep,
                         "--out", "sel-metarater", "--overwrite", done="sel-metarater/manifest.json"),
        "single": run("metarater", "select", "corpus", *score_args, "--fit", f"single-{best_single}",
                      "--fraction", keep, "--out", "sel-single", "--overwrite", done="sel-single/manifest.json"),
        "heuristic": run("select", "corpus", "-a", "attrs/signals", "-a", "attrs/dedup", "--rule", HEURISTIC_RULE,
                         "--out", "sel-heuristic", "--overwrite", done="sel-heuristic/manifest.json"),
        "oracle": run("select", "corpus", "-a", "attrs/pool-labels", "--rule", ORACLE_RULE, "--out", "sel-oracle",
                      "--overwrite", done="sel-oracle/manifest.json"),
    }  # fmt: skip
    for name in dataraters:
        seconds[name] = run("datarater", "filter", "corpus", "--scores", f"attrs/{name}", "--out", f"sel-{name}",
                            "--rho", str(round(1 - args.keep, 6)), "--seed", str(args.seed), "--overwrite",
                            done=f"sel-{name}/manifest.json")  # fmt: skip
    return seconds


def human_agreement_rows(work: Path, bootstrap: int, dataraters: dict[str, str | None]) -> dict:
    """``human_agreement.py`` with this run's raters, once per DataRater (once without one when there is
    none): the DataRater, Meta-rater and best-heuristic rows of each, and how many documents were scored."""
    import human_agreement

    out: dict = {}
    for name in dataraters or ["none"]:
        model = ["--datarater", str(work / "models" / name)] if name in dataraters else []
        human_agreement.main([
            "--work", str(work / f"human-{name}"), "--models-from", str(work), *model,
            "--bootstrap", str(bootstrap), "--out-dir", str(work), "--name", f"human-{name}",
        ])  # fmt: skip
        payload = json.loads((work / f"human-{name}.json").read_text())
        for row in payload["rows"]:
            if row["score"] == "datarater_score":
                out[name] = row
            elif row["score"] == "metarater_score" or row["score"] == payload["best_heuristic"]:
                out.setdefault(row["score"], row)
        out["documents"] = payload["counts"]["scored"]
        out["best_heuristic"] = payload["best_heuristic"]
    return out


def _in_se(d: dict) -> str:
    """A paired difference in standard errors; every seed's difference exactly 0 (the same documents, so the
    same proxies) is said so rather than as 0/0."""
    if d["mean"] == 0 and d["se"] == 0:
        return "same selection"
    return f"{d['z']:+.1f} SE"


def goals(validation: dict, differences: dict[str, list[dict]], dataraters: dict[str, str | None]) -> list[dict]:
    """The issue's goals, each checked on both held-out sets from this run's numbers."""
    results = validation["results"]
    heldouts = list(results["random"])
    rows = []

    def find(name: str, other: str, heldout: str) -> dict:
        return next(d for d in differences[name] if d["against"] == other and d["heldout"] == heldout)

    for heldout in heldouts:
        d = find("metarater", "single", heldout)
        rows.append({"goal": "Meta-rater at least as good as the best single score", "heldout": heldout,
                     "measured": f"{d['mean']:+.4f} bpb ({_in_se(d)})", "met": d["mean"] <= 0})  # fmt: skip
        oracle = results["oracle"][heldout]["token_savings"]
        for name in dataraters:
            savings = results[name][heldout]["token_savings"]
            rows.append({"goal": f"{name}: ≥ {GOAL_SAVINGS:.0%} token savings against random", "heldout": heldout,
                         "measured": _savings(savings), "met": savings is not None and savings >= GOAL_SAVINGS})  # fmt: skip
            d = find(name, "heuristic", heldout)
            rows.append({"goal": f"{name}: ahead of the heuristic rule by ≥ {GOAL_HEURISTIC_SE:.0f} SE",
                         "heldout": heldout, "measured": f"{d['mean']:+.4f} bpb ({_in_se(d)})",
                         "met": d["z"] <= -GOAL_HEURISTIC_SE})  # fmt: skip
            met = savings is not None and oracle is not None and savings >= GOAL_ORACLE_SHARE * oracle
            rows.append({"goal": f"{name}: savings within {1 - GOAL_ORACLE_SHARE:.0%} of the oracle's",
                         "heldout": heldout, "measured": f"{_savings(savings)} vs oracle {_savings(oracle)}",
                         "met": met})  # fmt: skip
    return rows


def _savings(value: float | None) -> str:
    return "not reached" if value is None else f"{100 * value:+.1f} %"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--work", type=Path, default=Path("runs/curation-quality"))
    parser.add_argument("--c4", type=int, default=800, help="C4 documents in the pool (the rest are held out)")
    parser.add_argument("--wiki", type=int, default=1000, help="clean Wikipedia articles, and as many corrupted")
    parser.add_argument("--reference", type=int, default=400, help="articles for rater reference + fit held-out")
    # The Meta-rater runs' defaults are the setting whose runs measured most reliable (docs/results.md).
    parser.add_argument("--runs", type=int, default=128, help="Meta-rater proxy runs (paper: 256)")
    parser.add_argument("--run-tokens", default="300k", help="training tokens per Meta-rater proxy run")
    parser.add_argument("--run-size", default="small", help="proxy preset of the Meta-rater proxy runs")
    parser.add_argument("--run-lr", type=float, default=1e-3, help="learning rate of the Meta-rater proxy runs")
    parser.add_argument("--run-top-fraction", type=float, default=0.5,
                        help="share of documents each Meta-rater proxy run trains on (paper: 0.15)")  # fmt: skip
    parser.add_argument("--run-alpha", type=float, default=0.2,
                        help="Dirichlet concentration of the Meta-rater weightings (paper: 1)")  # fmt: skip
    parser.add_argument("--run-regressor", default="lightgbm", choices=["lightgbm", "linear"],
                        help="Meta-rater's regression of loss on weights (paper: lightgbm)")  # fmt: skip
    parser.add_argument("--perplexity-tokens", default="2M", help="training tokens of the perplexity rater's proxy")
    parser.add_argument("--datarater-steps", type=int, default=300, help="DataRater outer steps")
    parser.add_argument("--population", type=int, default=4, help="DataRater inner population")
    parser.add_argument("--keep", type=float, default=0.5, help="share of documents each ranker keeps")
    parser.add_argument("--size", default="small", help="validation proxy size")
    parser.add_argument("--tokens", default="300k", help="validation training tokens per run")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--bootstrap", type=int, default=1000, help="bootstrap resamples of the human agreement")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--name", default="curation_quality", help="results file name")
    parser.add_argument(
        "--skip-datarater",
        action="store_true",
        help="leave DataRater out (its training is most of the time): Meta-rater and the baselines only",
    )
    parser.add_argument("--resume", action="store_true", help="skip steps whose output is already in --work")
    args = parser.parse_args()
    if not 0 < args.keep < 1:
        parser.error("--keep must be between 0 and 1")

    work = args.work.resolve()
    pool = build_pool(work, c4_docs=args.c4, wiki_docs=args.wiki, reference_docs=args.reference, seed=args.seed)
    annotations = write_annotations(work, args.seed)
    reused: list[str] = []  # outputs an earlier run left in --work that --resume kept (their phases show 0 s)
    run_fresh = make_runner(work, args.resume)

    def run(*curate_args: str, done: str | None = None) -> float:
        if args.resume and done and (work / done).exists():
            reused.append(done)
        return run_fresh(*curate_args, done=done)

    seconds = {"ingest": run("ingest", *pool.ingest_inputs, "--out", "corpus", "--overwrite",
                             done="corpus/manifest.json")}  # fmt: skip
    seconds |= score_with_every_rater(run, pool.reference, annotations, "corpus", args.perplexity_tokens)
    score_args = [x for a in SCORE_SETS for x in ("-a", a)]
    seconds["metarater_fit"] = run("metarater", "fit", "corpus", *score_args, "--heldout", f"fit={pool.fit_heldout}",
                                   "--runs", str(args.runs), "--tokens", args.run_tokens, "--seed", str(args.seed),
                                   "--size", args.run_size, "--lr", str(args.run_lr),
                                   "--top-fraction", str(args.run_top_fraction), "--alpha", str(args.run_alpha),
                                   "--regressor", args.run_regressor,
                                   "--out", "fit", "--overwrite", done="fit/weights.json")  # fmt: skip
    started = time.perf_counter()
    single_losses = one_hot_fits(work, work / "fit", SCORE_SETS, workers=1)
    seconds["single_score_runs"] = time.perf_counter() - started
    best_single = min(single_losses, key=single_losses.get)
    dataraters = {} if args.skip_datarater else DATARATERS
    learned = [name for name in LEARNED if name in dataraters or not name.startswith("datarater")]
    for name, target in dataraters.items():
        heldout = pool.reference if target == "reference" else None
        for step, value in datarater_scores(run, f"models/{name}", f"attrs/{name}", args.datarater_steps,
                                            args.population, args.seed, heldout).items():  # fmt: skip
            seconds[f"{name}_{step}"] = value
    write_pool_labels(work)
    seconds |= {f"select_{k}": v for k, v in select_all(run, args, best_single, dataraters).items()}
    selections = {name: f"sel-{name}" for name in ["oracle", "heuristic", *learned]}
    seconds["validate"] = run(
        "validate", *[x for name, d in selections.items() for x in ("--train", f"{name}={d}")],
        "--random-baseline", "corpus",
        "--heldout", f"wikitext={SHARED_DATA / 'reference' / 'wikitext-2-valid.txt'}",
        "--heldout", f"c4-heldout={pool.c4_heldout}", "--tokens", args.tokens, "--seeds", str(args.seeds),
        "--size", args.size, "--evaluations", "6", "--heldout-bytes", "100000", "--out", "validation",
        # --resume keeps the proxies of sets whose data did not change (each proxy's identity includes its data)
        *([] if args.resume else ["--overwrite"]),
        done="validation/results.json",
    )  # fmt: skip
    started = time.perf_counter()
    human = human_agreement_rows(work, args.bootstrap, dataraters)
    seconds["human_agreement"] = time.perf_counter() - started

    from curation.corpus import Corpus

    validation = json.loads((work / "validation" / "results.json").read_text())
    results = validation["results"]
    pool_bytes = sum(Corpus.open(work / "corpus").read_documents(["n_bytes"]).column("n_bytes").to_pylist())
    kept_bytes = {
        name: sum(Corpus.open(work / d).read_documents(["n_bytes"]).column("n_bytes").to_pylist()) / pool_bytes
        for name, d in selections.items()
    }
    kinds = document_kinds(work / "corpus")[1]
    differences = {name: paired_differences(results, name) for name in learned}
    payload = {
        "benchmark": "curation_quality",
        **provenance(["torch", "pyspark", "lightgbm", "fasttext-numpy2-wheel"]),
        "settings": vars(args) | {"work": str(work), "heuristic_rule": HEURISTIC_RULE, "oracle_rule": ORACLE_RULE},
        "pool": {
            "inputs": pool.make_up,
            "wikitext_articles_excluded": pool.wikitext_articles_excluded,
            "documents_by_kind": {k: kinds.count(k) for k in sorted(set(kinds))},
            "documents": len(kinds),
            "bytes": pool_bytes,
        },
        "seconds": seconds,
        "reused_outputs": reused,
        "fit": json.loads((work / "fit" / "weights.json").read_text()) | {"single_score_losses": single_losses},
        "best_single_score": best_single,
        "kept_bytes_share": kept_bytes,
        "kept_by_kind": kept_by_kind(work, selections),
        "validation": {k: validation[k] for k in ("model", "tokens", "seeds", "baseline", "train_sets", "results")},
        "differences": differences,
        "goals": goals(validation, differences, dataraters),
        "human_agreement": human,
    }
    markdown = render(payload)
    write_results(RESULTS, args.name, payload, markdown)
    print(markdown)


def _reliability_line(reliability: dict | None) -> str:
    """How much of a proxy run's loss is about its data (the fit's ICC(1)), as a paragraph; empty if not measured."""
    if not reliability or reliability.get("icc1") is None:
        return ""
    low, high = reliability["icc1_ci95"] or (float("nan"), float("nan"))
    return (
        f"Run noise: {reliability['weightings']} weightings trained again with proxy seed "
        f"{reliability['second_seed']}: ICC(1) {reliability['icc1']:.2f} [{low:.2f}, {high:.2f}] (the share of a "
        f"run's loss variance that is about its data); spread between weightings {reliability['between_sd']:.4f} "
        f"bpb, within {reliability['within_sd']:.4f} bpb.\n\n"
    )


def _comparison_line(comparison: dict | None) -> str:
    """Both regressors' cross-validated Spearman on the fit's runs, as a sentence; empty if not measured."""
    if not comparison:
        return ""
    shown = ", ".join(
        f"{name} {comparison[name]['cv_spearman']:.3f} ± {comparison[name]['cv_spearman_sd']:.3f}"
        for name in ("lightgbm", "linear")
        if comparison[name]["cv_spearman"] is not None
    )
    return (
        f"Both regressors on the same runs, {comparison['repeats']} × {comparison['folds']}-fold cross-validation "
        f"(Spearman of out-of-fold predictions; mean ± SD over repeats): {shown}.\n\n"
    )


def _confirmation_section(confirmation: dict | None) -> str:
    """The fit's confirmation of its answer (``raters.metarater.confirm``), as the fit's report shows it."""
    if not confirmation:
        return ""
    from raters.metarater.confirm import confirmation_text

    return "\n".join(confirmation_text(confirmation)) + "\n\n"


def _flags(settings: dict) -> str:
    """The run's command-line settings as flags (the work directory and derived values left out)."""
    derived = {"work", "resume", "heuristic_rule", "oracle_rule"}
    flags = [(f"--{k.replace('_', '-')}", v) for k, v in settings.items() if k not in derived and v is not False]
    return " ".join(flag if v is True else f"{flag} {v}" for flag, v in flags)


def _bpb(entry: dict) -> str:
    import statistics

    values = list(entry["final_bpb"].values())
    se = statistics.stdev(values) / len(values) ** 0.5 if len(values) > 1 else float("nan")
    return f"{statistics.fmean(values):.4f} ± {se:.4f}"


def render(p: dict) -> str:
    s, pool, results = p["settings"], p["pool"], p["validation"]["results"]
    heldouts = list(results["random"])
    make_up = markdown_table(
        ["input", "records given to ingest"],
        [[k, "(WARC/WET: see kinds)" if v is None else v] for k, v in pool["inputs"].items()],
    )
    by_kind = markdown_table(["kind", "documents after ingest"], list(pool["documents_by_kind"].items()))
    kinds = sorted(pool["documents_by_kind"])
    kept = markdown_table(
        ["selection", "share of pool bytes", *kinds],
        [
            [name, f"{100 * p['kept_bytes_share'][name]:.0f} %", *(f"{100 * share[k]:.0f} %" for k in kinds)]
            for name, share in p["kept_by_kind"].items()
        ],
    )
    validation = markdown_table(
        ["training set", *(f"{h}: bpb (mean ± SE)" for h in heldouts), *(f"{h}: savings" for h in heldouts)],
        [
            [name, *(_bpb(results[name][h]) for h in heldouts),
             *("baseline" if results[name][h]["is_baseline"] else _savings(results[name][h]["token_savings"])
               for h in heldouts)]
            for name in results
        ],
    )  # fmt: skip
    diff_rows = [
        [name, d["against"], d["heldout"], f"{d['mean']:+.4f}", f"{d['se']:.4f}", _in_se(d).removesuffix(" SE")]
        for name, rows in p["differences"].items()
        for d in rows
        if d["against"] in ("random", "heuristic", "oracle", "single") and d["against"] != name
    ]
    differences = markdown_table(["selection", "against", "held-out", "mean difference", "SE", "in SE"], diff_rows)
    goal_table = markdown_table(
        ["goal", "held-out", "measured", "met"],
        [[g["goal"], g["heldout"], g["measured"], "yes" if g["met"] else "**no**"] for g in p["goals"]],
    )
    h = p["human_agreement"]
    human_rows = [
        [label, f"`{h[key]['score']}`", f"{h[key]['spearman']:.3f}",
         f"[{h[key]['spearman_ci95'][0]:.3f}, {h[key]['spearman_ci95'][1]:.3f}]", f"{h[key]['auc']:.3f}"]
        for label, key in [("DataRater, pool target", "datarater-pool"),
                           ("DataRater, reference target", "datarater-reference"),
                           ("Meta-rater", "metarater_score"), ("best heuristic", h["best_heuristic"])]
        if key in h
    ]  # fmt: skip
    human = markdown_table(["rater", "score", "Spearman", "95 % CI", "AUC"], human_rows)
    fit = p["fit"]
    weights = markdown_table(
        ["score", "weight", "loss of one run, all weight on it (bpb)"],
        [[c, f"{w:.3f}", f"{fit['single_score_losses'][c]:.4f}"]
         for c, w in sorted(fit["weights"].items(), key=lambda kv: -kv[1])],
    )  # fmt: skip
    curve = markdown_table(["proxy runs", "held-out Spearman [95 % bootstrap interval]"],
                           [[point["runs"], spearman_text(point)] for point in fit["learning_curve"]])  # fmt: skip
    phases = markdown_table(["phase", "seconds"], [[k, f"{v:,.0f}"] for k, v in p["seconds"].items()])
    if p.get("reused_outputs"):
        phases += (
            "\n\nRun with `--resume`: these outputs of an earlier run in the same work directory were kept, and "
            f"their phases show 0 s: {', '.join(f'`{d}`' for d in p['reused_outputs'])}."
        )
    m = p["machine"]
    return (
        f"# Curation quality: learned raters against the hand rules ({p['date'][:10]})\n\n"
        f"Command: `python benchmarks/curation_quality.py {_flags(s)}`.\n\n"
        f"## Pool: {pool['documents']:,} documents, {pool['bytes'] / 1e6:.1f} MB of text\n\n{make_up}\n\n{by_kind}\n\n"
        f"Wikipedia articles left out because WikiText-2 (held out) holds them: {pool['wikitext_articles_excluded']}.\n\n"
        f"## Goals\n\n{goal_table}\n\n"
        f"## Validation: `{s['size']}` proxies, {s['tokens']} tokens, {s['seeds']} seeds, equal training tokens\n\n"
        f"Each ranker keeps {100 * s['keep']:.0f} % of the documents; the heuristic rule "
        f"(`{s['heuristic_rule']}`) and the oracle (`{s['oracle_rule']}`) keep what passes. Savings: share of "
        f"random's tokens a set saves to reach random's final held-out loss.\n\n{validation}\n\n"
        f"Differences of final bpb, paired by seed (negative: the selection is better):\n\n{differences}\n\n"
        f"## Share of each kind of document kept\n\n{kept}\n\n"
        f"## Agreement with human line labels ({h['documents']} documents of line-quality-en)\n\n{human}\n\n"
        f"## Meta-rater fit: {fit['runs']['count']} `{s.get('run_size', 'tiny')}` proxy runs of {s['run_tokens']} "
        f"tokens, top {100 * s.get('run_top_fraction', 0.15):.0f} % of the documents each, Dirichlet("
        f"{s.get('run_alpha', 1.0):g}) weightings, {s.get('run_regressor', 'lightgbm')} regression\n\n"
        f"How well the regression predicts the held-out runs' loss as the runs grow:\n\n{curve}\n\n"
        f"{_comparison_line(fit.get('regressor_comparison'))}"
        f"{_reliability_line(fit.get('reliability'))}"
        f"Weights found, and each score alone:\n\n{weights}\n\n"
        f"{_confirmation_section(fit.get('confirmation'))}"
        f"Best single score (lowest loss on the fit's held-out set): `{p['best_single_score']}`.\n\n"
        f"## Time\n\n{phases}\n\nMachine: {m['cpu_model']}, {m['nproc']} CPUs, {m['memory_gib']} GiB.\n"
    )


if __name__ == "__main__":
    main()
