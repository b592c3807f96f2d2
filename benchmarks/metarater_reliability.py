"""How much of a Meta-rater proxy run's loss is about the data its weighting selects, and how much is run noise.

Meta-rater learns weights by regressing proxy-run loss on the score weights that chose each run's data. The
regression can only learn what the loss says about the data: if two runs of the *same* weighting (different
proxy seeds: initialisation, batch order and which part of the selection is trained on) differ as much as
runs of different weightings, the loss is noise to it. This measures that, per proxy budget:

- ``K`` weightings drawn as the fit draws them (Dirichlet), each trained with ``S`` seeds;
- the reliability of one run, ICC(1) = (MSB - MSW) / (MSB + (S - 1) MSW) from a one-way ANOVA over the
  weightings (1: a run's loss is all about its data; 0: all noise), with a bootstrap interval over weightings;
- the Spearman correlation between the losses of seed 0 and seed 1 across the weightings;
- the spread of losses between weightings (standard deviation of the weighting means) and within them.

Input: a work directory of ``benchmarks/curation_quality.py`` (its ``corpus``, ``attrs/`` and
``fit-heldout.jsonl``), so the pool, scores and held-out set are the fit's own.

Usage::

    python benchmarks/metarater_reliability.py --work runs/curation-quality --tokens 200k 1M
    python benchmarks/metarater_reliability.py --work runs/curation-quality --size small --tokens 300k
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from common import RESULTS, markdown_table, provenance, write_results
from metarater import SCORE_SETS
from pool import document_kinds


def measure(
    inputs,
    kinds: list[str],
    weights: np.ndarray,
    size: str,
    tokens: int,
    lr: float,
    seeds: int,
    top: float,
    work: Path,
    alpha: float = 1.0,
) -> dict:
    from scipy.stats import spearmanr

    from raters.metarater.proxy_runs import ProxyRunSettings, run_proxies, top_documents
    from raters.metarater.reliability import icc1, icc1_interval

    losses = np.zeros((len(weights), seeds))
    seconds = 0.0  # training time of the runs, as recorded when each trained (a rerun reuses finished runs)
    for seed in range(seeds):
        settings = ProxyRunSettings(size=size, tokens=tokens, top_fraction=top, lr=lr, seed=seed)
        sparse = "" if alpha == 1 else f"-alpha{alpha:g}"
        runs_dir = work / "reliability" / f"{size}-{tokens}-lr{lr:g}-top{top:g}{sparse}-seed{seed}"
        records = run_proxies(
            weights, inputs.texts, inputs.n_bytes, inputs.scaled, inputs.heldout, settings,
            inputs.data_fingerprint, runs_dir,
        )  # fmt: skip
        losses[:, seed] = [r["loss"] for r in records]
        seconds += sum(r["seconds"] for r in records)
    means = losses.mean(axis=1)
    selected = np.concatenate([top_documents(inputs.scaled, w, top) for w in weights])
    names, counts = np.unique(np.asarray(kinds)[selected], return_counts=True)
    return {
        "size": size,
        "tokens": tokens,
        "lr": lr,
        "top_fraction": top,
        "alpha": alpha,
        "weightings": len(weights),
        "seeds": seeds,
        "icc1": icc1(losses),
        "icc1_ci95": icc1_interval(losses, 0),
        "spearman_seed0_seed1": float(spearmanr(losses[:, 0], losses[:, 1])[0]),
        "between_sd": float(means.std(ddof=1)),
        "within_sd": float(np.sqrt(np.mean(losses.var(axis=1, ddof=1)))),
        "loss_mean": float(losses.mean()),
        "losses": losses.tolist(),
        "selected_by_kind": {str(k): round(int(c) / len(selected), 4) for k, c in zip(names, counts, strict=True)},
        "seconds": round(seconds, 1),
    }


def render(payload: dict) -> str:
    rows = [
        [f"`{r['size']}`", f"{r['tokens']:,}", f"{r['lr']:g}", f"{100 * r['top_fraction']:.0f} %",
         f"{r.get('alpha', 1.0):g}", r["weightings"],
         r["seeds"],
         f"{r['icc1']:.2f} [{r['icc1_ci95'][0]:.2f}, {r['icc1_ci95'][1]:.2f}]", f"{r['spearman_seed0_seed1']:.2f}",
         f"{r['between_sd']:.4f}", f"{r['within_sd']:.4f}", f"{r['loss_mean']:.3f}", f"{r['seconds']:,.0f}"]
        for r in payload["rows"]
    ]  # fmt: skip
    table = markdown_table(
        ["proxy", "tokens per run", "lr", "top share", "Dirichlet alpha", "weightings", "seeds", "ICC(1) [95 % CI]", "Spearman seed 0 vs 1",
         "SD between weightings (bpb)", "SD within (run noise, bpb)", "mean loss (bpb)", "training seconds"],
        rows,
    )  # fmt: skip
    kinds = sorted({k for r in payload["rows"] for k in r["selected_by_kind"]})
    seen = {}
    for r in payload["rows"]:
        seen.setdefault((r["top_fraction"], r.get("alpha", 1.0)), r["selected_by_kind"])
    composition = markdown_table(
        ["top share", "alpha", *kinds],
        [[f"{100 * top:.0f} %", f"{alpha:g}", *[f"{100 * shares.get(k, 0):.0f} %" for k in kinds]]
         for (top, alpha), shares in seen.items()],
    )  # fmt: skip
    m = payload["machine"]
    return (
        f"# Meta-rater proxy runs: data signal against run noise ({payload['date'][:10]})\n\n"
        f"Pool: `{payload['work']}` ({payload['documents']:,} documents, {len(payload['columns'])} scores); "
        f"weightings: Dirichlet(alpha), seed {payload['seed']}; each run trains on the top share of documents "
        f"by weighted score, loss on the fit's held-out set. Seeds change "
        f"the proxy's initialisation, batch order and which part of the selection it trains on.\n\n{table}\n\n"
        f"ICC(1) is the share of a run's loss variance that is about its weighting's data (1 = all of it).\n\n"
        f"What the weightings select, by kind of document (share of the selected documents, all weightings):\n\n"
        f"{composition}\n\n"
        f"Machine: {m['cpu_model']}, {m['nproc']} CPUs, {m['memory_gib']} GiB.\n"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, required=True, help="a curation_quality.py work directory")
    parser.add_argument("--weightings", type=int, default=16, help="weightings drawn (K)")
    parser.add_argument("--seeds", type=int, default=2, help="proxy seeds per weighting (S, at least 2)")
    parser.add_argument("--size", default="tiny", help="proxy preset")
    parser.add_argument("--tokens", nargs="+", default=["200k", "1M"], help="training tokens per run, each measured")
    parser.add_argument("--lr", type=float, default=3e-3, help="proxy learning rate (the fit's default: 3e-3)")
    measured = {"type": float, "nargs": "+"}  # each value given is measured
    parser.add_argument("--top-fraction", default=[0.15], help="shares of documents each run keeps", **measured)
    parser.add_argument("--alpha", default=[1.0], help="Dirichlet concentrations (the paper's: 1)", **measured)
    parser.add_argument("--seed", type=int, default=0, help="seed of the weightings")
    parser.add_argument("--name", default="metarater_reliability", help="results file name")
    args = parser.parse_args(argv)
    if args.seeds < 2 or args.weightings < 3:
        parser.error("need at least 2 seeds and 3 weightings")

    from curation.proxy.config import parse_token_count
    from raters.metarater.dirichlet import sample_weights
    from raters.metarater.fit import MetaraterConfig, load_proxy_inputs

    work = args.work.resolve()
    inputs = load_proxy_inputs(
        work / "corpus", [work / a for a in SCORE_SETS], [f"fit={work / 'fit-heldout.jsonl'}"], MetaraterConfig()
    )
    kind_of = dict(zip(*document_kinds(work / "corpus"), strict=True))
    kinds = [kind_of[inputs.table.ids[i]] for i in inputs.sampled]  # the pool's kind of each document
    rows = []
    for alpha in args.alpha:
        weights = sample_weights(args.weightings, len(inputs.table.columns), args.seed, alpha)
        for top in args.top_fraction:
            for tokens in args.tokens:
                rows.append(measure(inputs, kinds, weights, args.size, parse_token_count(tokens), args.lr,
                                    args.seeds, top, work, alpha))  # fmt: skip
                row = rows[-1]
                print(
                    f"{args.size} {tokens} top {top:g} alpha {alpha:g}: ICC(1) {row['icc1']:.2f}, {row['seconds']:.0f} s"
                )
    payload = {
        "benchmark": "metarater_reliability",
        **provenance(["torch", "lightgbm"], argv=argv),
        "work": str(args.work),
        "documents": len(inputs.texts),
        "columns": inputs.table.columns,
        "seed": args.seed,
        "rows": rows,
    }
    markdown = render(payload)
    write_results(RESULTS, args.name, payload, markdown)
    print(markdown)


if __name__ == "__main__":
    main()
