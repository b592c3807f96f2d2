"""The Python API of the raters' stages: what ``curate datarater train|score|filter`` and ``curate metarater
fit|select`` do, with the command line's defaults and typed errors. Each returns a
``curation.api.StageResult``.

    from raters import api

    model = api.datarater_train("runs/corpus", "runs/models/datarater", steps=150)
    scores = api.datarater_score("runs/corpus", model.path, "runs/attrs/datarater")
    kept = api.datarater_filter("runs/corpus", scores.path, "runs/curated", rho=0.5)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from curation.api import StageResult, attribute_stage_result, corpus_stage_result


def datarater_train(
    train: str | Path,
    out: str | Path,
    *,
    heldout: str | Path | None = None,
    heldout_fraction: float = 0.1,
    config: str | Path | None = None,
    steps: int | None = None,
    population: int | None = None,
    unroll: int | None = None,
    remat: str | None = None,
    seed: int | None = None,
    checkpoint_every: int = 25,
    tracking: bool = True,
    overwrite: bool = False,
) -> StageResult:
    """Meta-train a DataRater on ``train`` (outer loss on ``heldout``, or a disjoint ``heldout_fraction`` of
    ``train``); ``config`` is a YAML file of ``DataRaterConfig`` settings, the keyword settings override it.
    Resumes from ``out/checkpoint``. ``out`` may be a URL (give it as a string). Counts: ``outer_steps``,
    ``resumed_from``."""
    from raters.datarater.training import load_config, run_datarater_train

    overrides = {"outer_steps": steps, "population": population, "unroll": unroll, "seed": seed, "remat": remat}
    cfg = load_config(Path(config) if config else None, overrides)
    result = run_datarater_train(str(train), str(out), cfg, heldout_spec=str(heldout) if heldout else None,
                                 heldout_fraction=heldout_fraction, checkpoint_every=checkpoint_every,
                                 tracking=tracking, overwrite=overwrite)  # fmt: skip
    return StageResult(
        path=result.out,
        counts={"outer_steps": result.trainer.step, "resumed_from": result.resumed_from},
        run_id=result.run_id,
        details=result,
    )


def datarater_score(
    corpus: str | Path,
    model: str | Path,
    out: str | Path,
    *,
    batch_size: int = 64,
    device: str = "auto",
    master: str | None = None,
    conf: Mapping[str, str] | None = None,
    tracking: bool = True,
    overwrite: bool = False,
) -> StageResult:
    """``datarater_score`` for every document of ``corpus`` with the rater in ``model`` (a folder or a URL), as
    an attribute set."""
    from curation.attribute_stage import run_attribute_stage
    from raters.datarater.scoring import DataRaterScores

    result = run_attribute_stage(corpus, DataRaterScores(str(model), batch_size=batch_size, device=device), out,
                                 master=master, spark_conf=dict(conf or {}), tracking=tracking,
                                 overwrite=overwrite)  # fmt: skip
    return attribute_stage_result(result)


def datarater_filter(
    corpus: str | Path,
    scores: str | Path,
    out: str | Path,
    *,
    rho: float = 0.25,
    batch_size: int = 128,
    mode: str = "probability",
    seed: int = 0,
    keep_out: str | Path | None = None,
    master: str | None = None,
    conf: Mapping[str, str] | None = None,
    tracking: bool = True,
    overwrite: bool = False,
) -> StageResult:
    """The documents DataRater prefers, dropping a share ``rho``: the paper's batch rule (``mode="batch"``)
    or its per-document equivalent (``"probability"``). Keep flags go to ``keep_out`` (default: beside
    ``scores``, named by rho and mode)."""
    from raters.datarater.filter_stage import FilterConfig, run_datarater_filter

    keep_dir = keep_out or default_keep_dir(scores, mode, rho)
    result = run_datarater_filter(corpus, scores, keep_dir, out, FilterConfig(rho=rho, batch_size=batch_size,
                                  mode=mode, seed=seed), tracking=tracking, overwrite=overwrite, master=master,
                                  spark_conf=dict(conf or {}))  # fmt: skip
    return corpus_stage_result(result)


def default_keep_dir(scores: str | Path, mode: str, rho: float) -> Path | str:
    """Where ``datarater filter`` puts its keep flags unless told: beside the scores (a URL beside a URL)."""
    from curation.storage import is_remote

    suffix = f"-keep-{mode}-rho{round(100 * rho)}"
    if is_remote(str(scores)):
        return str(scores).rstrip("/") + suffix
    scores = Path(scores)
    return scores.with_name(scores.name + suffix)


def metarater_fit(
    corpus: str | Path,
    attributes: Sequence[str | Path],
    heldout: Sequence[str],
    out: str | Path,
    *,
    runs: int = 64,
    tokens: int | str = "200k",
    size: str = "tiny",
    top_fraction: float = 0.15,
    lr: float | None = None,
    alpha: float = 1.0,
    regressor: str = "lightgbm",
    column: Sequence[str] | None = None,
    lower_is_better: Sequence[str] | None = None,
    classifier_output: str = "argmax",
    candidates: int = 1_000_000,
    top_candidates: int = 128,
    max_documents: int = 100_000,
    workers: int = 1,
    members_per_batch: int | None = None,
    reliability_runs: int = 8,
    seed: int = 0,
    tracking: bool = True,
    overwrite: bool = False,
) -> StageResult:
    """Learn Meta-rater weights over the scores in ``attributes`` from ``runs`` proxy runs evaluated on
    ``heldout`` (``NAME=PATH`` or paths). Counts: ``runs`` and the regression's held-out Spearman."""
    from curation.proxy.config import parse_token_count
    from raters.metarater.fit import MetaraterConfig, run_metarater_fit
    from raters.metarater.proxy_runs import ProxyRunSettings
    from raters.metarater.regression import RegressionSettings

    cfg = MetaraterConfig(
        runs=runs, alpha=alpha, candidates=candidates, top_candidates=top_candidates, classifier_output=classifier_output,
        max_documents=max_documents, seed=seed, workers=workers, members_per_batch=members_per_batch,
        reliability_runs=reliability_runs,
        proxy=ProxyRunSettings(
            size=size, tokens=parse_token_count(str(tokens)), top_fraction=top_fraction, lr=lr, seed=seed
        ),
        regression=RegressionSettings(model=regressor, seed=seed),
    )  # fmt: skip
    result = run_metarater_fit(corpus, [str(a) for a in attributes], list(heldout), out, cfg,
                               columns=list(column) if column else None,
                               lower_is_better=list(lower_is_better) if lower_is_better else None,
                               tracking=tracking, overwrite=overwrite)  # fmt: skip
    fit = _read_fit(result.out)
    regression = fit.get("regression", {})
    return StageResult(
        path=result.out,  # a Path, or the URL of a fit on an object store
        counts={
            "runs": fit["runs"]["count"],
            "valid_spearman": regression.get("valid_spearman"),
            "run_icc1": (fit.get("reliability") or {}).get("icc1"),
        },
        run_id=(fit.get("mlflow") or {}).get("run_id"),
        details=result,
    )


def _read_fit(out: Path | str) -> dict[str, Any]:
    from raters.metarater.select import load_fit

    return load_fit(out)


def metarater_select(
    corpus: str | Path,
    attributes: Sequence[str | Path],
    fit: str | Path,
    out: str | Path,
    *,
    tokens: int | str | None = None,
    fraction: float | None = None,
    keep_out: str | Path | None = None,
    master: str | None = None,
    conf: Mapping[str, str] | None = None,
    tracking: bool = True,
    overwrite: bool = False,
) -> StageResult:
    """The best documents by a fit's weighted score, best first, up to ``tokens`` or a ``fraction`` of them."""
    from curation.proxy.config import parse_token_count
    from raters.metarater.select import run_metarater_select

    budget = parse_token_count(str(tokens)) if tokens is not None else None
    result = run_metarater_select(corpus, [str(a) for a in attributes], fit, out, tokens=budget, fraction=fraction,
                                  keep_dir=str(keep_out) if keep_out else None, tracking=tracking,
                                  overwrite=overwrite, master=master, spark_conf=dict(conf or {}))  # fmt: skip
    return corpus_stage_result(result)
