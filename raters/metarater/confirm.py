"""Confirmation: the fit's answer chosen among a few finalists by proxy runs with fresh seeds. Not in the paper.

The paper's answer is the search's: the average of the candidates the regressor predicts best. On a pool where
no mixture is measurably better than a single score (docs/results.md), that average can only tie or lose
against the best single score, and a regression of a hundred-odd noisy runs cannot tell which. So the fit
trains its finalists again, each with ``seeds`` fresh proxy seeds (initialisation, batch order and the part of
the selection trained on), and answers with the one whose mean held-out loss is lowest:

- ``search``: the regression's answer;
- ``single:<score>``: the ``singles`` scores whose run with all weight on them (one run per score, at the
  fit's proxy seed: ``runs-single/``) had the lowest loss;
- ``run:<index>``: the weightings of the ``observed`` proxy runs with the lowest loss.

The fresh seeds are the fit's proxy seed + 2, + 3, ... (+ 1 is the reliability check's), so no finalist is
judged on the run that made it a finalist. Ties keep the order above: the search's answer first.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

SINGLE_RUNS_DIR = "runs-single"
CONFIRM_RUNS_DIR = "runs-confirm"
FIRST_SEED_OFFSET = 2  # the fit's proxy seed + 1 trains the reliability check's second runs


@dataclass(frozen=True)
class Finalist:
    name: str  # "search", "single:<score>" or "run:<index>"
    weights: np.ndarray
    screening_loss: float | None  # the loss that made it a finalist (None for the search's answer)


def finalists(
    search_weights: np.ndarray,
    columns: list[str],
    single_losses: np.ndarray,
    run_weights: np.ndarray,
    run_losses: np.ndarray,
    singles: int,
    observed: int,
) -> list[Finalist]:
    """The search's answer, the best ``singles`` single scores and the best ``observed`` runs; a weighting that
    is already a finalist is not added twice."""
    chosen = [Finalist("search", np.asarray(search_weights, dtype=np.float64), None)]
    eye = np.eye(len(columns))
    for index in np.argsort(single_losses, kind="stable")[:singles]:
        chosen.append(Finalist(f"single:{columns[index]}", eye[index], float(single_losses[index])))
    for index in np.argsort(run_losses, kind="stable")[:observed]:
        chosen.append(
            Finalist(f"run:{index}", np.asarray(run_weights[index], dtype=np.float64), float(run_losses[index]))
        )
    unique: list[Finalist] = []
    for finalist in chosen:
        if not any(np.allclose(finalist.weights, other.weights, atol=1e-12) for other in unique):
            unique.append(finalist)
    return unique


def confirm_seeds(proxy_seed: int, seeds: int) -> list[int]:
    return [proxy_seed + FIRST_SEED_OFFSET + i for i in range(seeds)]


def confirmation_summary(names: list[str], losses: np.ndarray, seeds: list[int]) -> dict[str, Any]:
    """From a (finalists x seeds) table of losses: each finalist's mean and standard error, its difference from
    the search's answer paired by seed, and the chosen one (lowest mean; ties: the earlier finalist)."""
    losses = np.asarray(losses, dtype=np.float64)
    count = losses.shape[1]

    def standard_error(values: np.ndarray) -> float | None:
        return float(values.std(ddof=1) / np.sqrt(count)) if count > 1 else None

    means = losses.mean(axis=1)
    chosen = int(np.argmin(means))  # argmin keeps the first of equal means
    rows = []
    for name, row, mean in zip(names, losses, means, strict=True):
        difference = row - losses[0]
        rows.append(
            {
                "name": name,
                "losses": [float(x) for x in row],
                "mean": float(mean),
                "se": standard_error(row),
                "vs_search": float(difference.mean()),
                "vs_search_se": standard_error(difference),
            }
        )
    return {"seeds": seeds, "finalists": rows, "chosen": names[chosen]}


def run_confirmation(inputs, search_weights: np.ndarray, run_weights: np.ndarray, run_losses: np.ndarray, cfg, out: Path,
                     on_done) -> dict[str, Any]:  # fmt: skip
    """Screen every score alone, train the finalists with fresh seeds, and choose (see the module's text).
    ``inputs``: the fit's ``ProxyInputs``; ``on_done(runs_dir, record, reused)`` as each run finishes."""
    from dataclasses import replace

    from raters.metarater.proxy_runs import run_proxies

    columns = inputs.table.columns

    def train(weights: np.ndarray, seed: int, runs_dir: str) -> np.ndarray:
        records = run_proxies(
            weights, inputs.texts, inputs.n_bytes, inputs.scaled, inputs.heldout, replace(cfg.proxy, seed=seed),
            inputs.data_fingerprint, out / runs_dir, cfg.workers,
            lambda record, reused: on_done(runs_dir, record, reused), cfg.members_per_batch,
        )  # fmt: skip
        return np.asarray([r["loss"] for r in records], dtype=np.float64)

    single_losses = train(np.eye(len(columns)), cfg.proxy.seed, SINGLE_RUNS_DIR)
    chosen = finalists(
        search_weights, columns, single_losses, run_weights, run_losses, cfg.confirm_singles, cfg.confirm_observed
    )
    seeds = confirm_seeds(cfg.proxy.seed, cfg.confirm_seeds)
    stacked = np.stack([f.weights for f in chosen])
    table = np.column_stack([train(stacked, seed, f"{CONFIRM_RUNS_DIR}/seed-{seed}") for seed in seeds])
    summary = confirmation_summary([f.name for f in chosen], table, seeds)
    for row, finalist in zip(summary["finalists"], chosen, strict=True):
        row["weights"] = dict(zip(columns, (float(w) for w in finalist.weights), strict=True))
        row["screening_loss"] = finalist.screening_loss
    summary["single_losses"] = dict(zip(columns, (float(x) for x in single_losses), strict=True))
    return summary


def planned_runs(columns: int, cfg) -> int:
    """Proxy runs the confirmation trains at most (for the progress bar): every score once, the finalists once
    per seed."""
    if cfg.confirm_seeds == 0:
        return 0
    return columns + (1 + min(cfg.confirm_singles, columns) + cfg.confirm_observed) * cfg.confirm_seeds


def confirmation_text(confirmation: dict[str, Any]) -> list[str]:
    """The report's section: every finalist's losses and the chosen one."""
    seeds = confirmation["seeds"]
    lines = [
        f"Finalists trained again with proxy seeds {', '.join(map(str, seeds))} (not in the paper); the one with the "
        f"lowest mean loss is the answer: **{confirmation['chosen']}**.",
        "",
        "| finalist | largest weights | loss that made it a finalist | mean loss ± SE | minus search's, paired (SE) |",
        "|---|---|---|---|---|",
    ]
    for row in confirmation["finalists"]:
        top = sorted(row["weights"].items(), key=lambda kv: -kv[1])[:3]
        shown = ", ".join(f"{name} {weight:.2f}" for name, weight in top if weight >= 0.005)
        screening = "–" if row["screening_loss"] is None else f"{row['screening_loss']:.4f}"
        se = "" if row["se"] is None else f" ± {row['se']:.4f}"
        paired = "0" if row["name"] == "search" else f"{row['vs_search']:+.4f}"
        if row["name"] != "search" and row["vs_search_se"]:
            paired += f" ({row['vs_search'] / row['vs_search_se']:+.1f} SE)"
        lines.append(f"| {row['name']} | {shown} | {screening} | {row['mean']:.4f}{se} | {paired} |")
    return lines
