"""Is there a mixture of scores better than the best single score, at the proxy level, for a regression to find?

A Meta-rater fit picks weights from proxy runs trained with one proxy seed. If the best mixtures it saw are
better than the best single score only by that seed's luck, no regression can beat the single score. This
trains, with fresh proxy seeds (``--seeds``, by default 1-3; the fit's runs used seed 0):

- the ``--top`` weightings with the lowest observed loss among the fit's runs (chosen on seed 0, so their
  seed-0 losses are optimistic: the winner's curse; only the fresh seeds are compared);
- the final weights of each fit in ``--fit`` (LightGBM, linear, ...);
- each score in ``--single`` alone (the best single scores of the fit's one-hot runs);

and reports each one's mean loss and its difference from ``--reference`` (a single score), paired by seed,
with its standard error.

Input: a work directory of ``benchmarks/curation_quality.py``, whose ``fit/`` holds the fit's runs.

Usage::

    python benchmarks/metarater_headroom.py --work runs/curation-quality --fit runs/curation-quality/fit \\
        runs/cq-linear/fit
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
from common import RESULTS, markdown_table, provenance, write_results


def candidates(work: Path, fits: list[Path], top: int, single: list[str]) -> tuple[dict[str, np.ndarray], dict]:
    """name -> weights, in a fixed order; and the seed-0 loss of the fit's observed runs."""
    fit = json.loads((work / "fit" / "weights.json").read_text())
    columns = fit["columns"]
    runs = [json.loads(p.read_text()) for p in sorted((work / "fit" / "runs").glob("run-*.json"))]
    losses = np.array([r["loss"] for r in runs])
    chosen: dict[str, np.ndarray] = {}
    seed0: dict[str, float] = {}
    for index in np.argsort(losses, kind="stable")[:top]:
        name = f"observed run {runs[index]['index']}"
        chosen[name], seed0[name] = np.array(runs[index]["weights"]), float(losses[index])
    for path in fits:
        other = json.loads((path / "weights.json").read_text())
        if other["columns"] != columns:
            raise SystemExit(f"{path}: another set of scores than {work / 'fit'}")
        model = (other.get("regression") or {}).get("model", "lightgbm")
        chosen[f"Meta-rater ({model}, {path.parent.name})"] = np.array([other["weights"][c] for c in columns])
    for name in single:
        if name not in columns:
            raise SystemExit(f"--single {name}: not one of the fit's scores")
        chosen[name] = np.eye(len(columns))[columns.index(name)]
    return chosen, seed0


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, required=True, help="a curation_quality.py work directory")
    parser.add_argument("--fit", type=Path, nargs="*", default=[], help="fit directories whose final weights to train")
    parser.add_argument("--top", type=int, default=5, help="best observed weightings of the fit to train again")
    parser.add_argument("--single", nargs="+", default=["proxy_bpb", "dsir_log_ratio",
                        "lines_ending_with_terminal_punctuation_mark"], help="scores trained alone")  # fmt: skip
    parser.add_argument("--reference", default="proxy_bpb", help="the single score every row is compared with")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3], help="fresh proxy seeds")
    parser.add_argument("--name", default="metarater_headroom", help="results file name")
    args = parser.parse_args(argv)
    if args.reference not in args.single:
        parser.error("--reference must be one of --single")

    from raters.metarater.fit import load_proxy_inputs, metarater_config
    from raters.metarater.proxy_runs import run_proxies

    work = args.work.resolve()
    fit = json.loads((work / "fit" / "weights.json").read_text())
    settings = {k: v for k, v in fit["config"].items() if k != "members_per_batch"}
    cfg = metarater_config(settings)
    inputs = load_proxy_inputs(
        work / "corpus",
        sorted({source["attribute_set"] for source in fit["sources"].values()}),
        [f"fit={work / 'fit-heldout.jsonl'}"],
        cfg,
        columns=fit["columns"],
        lower_is_better=[c for c, bounds in fit["scaling"].items() if bounds["lower_is_better"]],
    )
    if inputs.data_fingerprint != fit["data_fingerprint"]:
        raise SystemExit(f"{work}: the corpus or scores changed since the fit")
    chosen, seed0 = candidates(work, [p.resolve() for p in args.fit], args.top, args.single)
    names = list(chosen)
    matrix = np.array([chosen[n] for n in names])
    losses: dict[str, list[float]] = {n: [] for n in names}
    started = time.perf_counter()
    for seed in args.seeds:
        records = run_proxies(
            matrix, inputs.texts, inputs.n_bytes, inputs.scaled, inputs.heldout, replace(cfg.proxy, seed=seed),
            inputs.data_fingerprint, work / "headroom" / f"seed{seed}", cfg.workers,
        )  # fmt: skip
        for name, record in zip(names, records, strict=True):
            losses[name].append(record["loss"])
        print(f"seed {seed}: {time.perf_counter() - started:.0f} s", flush=True)
    reference = np.array(losses[args.reference])
    rows = []
    for name in names:
        values = np.array(losses[name])
        diff = values - reference
        se = float(diff.std(ddof=1) / np.sqrt(len(diff))) if len(diff) > 1 else float("nan")
        rows.append({
            "weighting": name,
            "top_weights": {fit["columns"][j]: round(float(chosen[name][j]), 3)
                            for j in np.argsort(-chosen[name])[:3] if chosen[name][j] > 0},
            "seed0_loss": seed0.get(name),
            "losses": values.tolist(),
            "mean": float(values.mean()),
            "difference": float(diff.mean()),
            "se": se,
            "z": float(diff.mean() / se) if se > 0 else 0.0,
        })  # fmt: skip
    payload = {
        "benchmark": "metarater_headroom",
        **provenance(["torch", "lightgbm", "scikit-learn"], argv=argv),
        "work": str(args.work),
        "fit_config": fit["config"],
        "seeds": args.seeds,
        "reference": args.reference,
        "seconds": round(time.perf_counter() - started, 1),
        "rows": rows,
    }
    markdown = render(payload)
    write_results(RESULTS, args.name, payload, markdown)
    print(markdown)


def render(p: dict) -> str:
    proxy = p["fit_config"]["proxy"]
    table = markdown_table(
        ["weighting", "largest weights", "fit's seed-0 loss", "mean loss, fresh seeds", f"vs {p['reference']}", "SE",
         "z"],
        [[r["weighting"], ", ".join(f"{k} {v:g}" for k, v in r["top_weights"].items()),
          "–" if r["seed0_loss"] is None else f"{r['seed0_loss']:.4f}", f"{r['mean']:.4f}",
          f"{r['difference']:+.4f}", f"{r['se']:.4f}", f"{r['z']:+.1f}"] for r in p["rows"]],
    )  # fmt: skip
    m = p["machine"]
    return (
        "# Meta-rater headroom: is any mixture better than the best single score?\n\n"
        f"- date: {p['date']}; work: `{p['work']}`; {p['seconds']:.0f} s\n"
        f"- proxy runs as the fit's: `{proxy['size']}`, {proxy['tokens']:,} tokens, lr {proxy['lr']:g}, top "
        f"{100 * proxy['top_fraction']:g} %, Dirichlet({p['fit_config'].get('alpha', 1):g}) weightings; fresh "
        f"proxy seeds {', '.join(map(str, p['seeds']))} (the fit's runs used seed {proxy['seed']})\n"
        f"- loss: mean bits per byte on the fit's held-out set; differences paired by seed (negative: better "
        f"than `{p['reference']}` alone)\n\n"
        f"{table}\n\nMachine: {m['cpu_model']}, {m['nproc']} CPUs, {m['memory_gib']} GiB.\n"
    )


if __name__ == "__main__":
    main()
