"""The Python API of the raters' stages: what ``curate datarater train|score|filter``, ``curate metarater
fit|select`` and ``curate raters ...`` (the quality raters' training and scoring, ``log-model``) do, with the
command line's defaults and typed errors. Each returns a ``curation.api.StageResult``.

    from raters import api

    model = api.datarater_train("runs/corpus", "runs/models/datarater", steps=150)
    scores = api.datarater_score("runs/corpus", model.path, "runs/attrs/datarater")
    kept = api.datarater_filter("runs/corpus", scores.path, "runs/curated", rho=0.5)

    dsir = api.dsir_fit(["wiki.jsonl.gz"], ["runs/corpus"], "runs/models/dsir")
    api.quality_score("runs/corpus", "dsir", dsir.path, "runs/attrs/dsir")
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from curation.api import StageResult, attribute_stage_result, corpus_stage_result, strings


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
    return datarater_train_result(result)


def datarater_train_result(result) -> StageResult:
    """A ``DataRaterTrainResult``: the model folder, its outer steps and the step it resumed from."""
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
    gpus_per_task: float = 0.0,
    master: str | None = None,
    conf: Mapping[str, str] | None = None,
    tracking: bool = True,
    overwrite: bool = False,
) -> StageResult:
    """``datarater_score`` for every document of ``corpus`` with the rater in ``model`` (a folder or a URL), as
    an attribute set. On a cluster, ``gpus_per_task`` asks Spark for that share of a GPU for each scoring task
    (a stage-level profile, ``curation.spark_resources``)."""
    from curation.attribute_stage import run_attribute_stage
    from raters.datarater.scoring import DataRaterScores

    producer = DataRaterScores(str(model), batch_size=batch_size, device=device, gpus_per_task=gpus_per_task)
    result = run_attribute_stage(corpus, producer, out, master=master, spark_conf=dict(conf or {}), tracking=tracking,
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
    confirm_seeds: int = 3,
    confirm_singles: int = 2,
    confirm_observed: int = 2,
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
        reliability_runs=reliability_runs, confirm_seeds=confirm_seeds, confirm_singles=confirm_singles,
        confirm_observed=confirm_observed,
        proxy=ProxyRunSettings(
            size=size, tokens=parse_token_count(str(tokens)), top_fraction=top_fraction, lr=lr, seed=seed
        ),
        regression=RegressionSettings(model=regressor, seed=seed),
    )  # fmt: skip
    result = run_metarater_fit(corpus, strings(attributes), strings(heldout), out, cfg,
                               columns=list(column) if column else None,
                               lower_is_better=list(lower_is_better) if lower_is_better else None,
                               tracking=tracking, overwrite=overwrite)  # fmt: skip
    return metarater_fit_result(result)


def metarater_fit_result(result) -> StageResult:
    """A ``FitResult``: the fit folder, its proxy runs, the regression's held-out Spearman and the runs'
    reliability (ICC(1)), and the fit's MLflow run."""
    fit = result.fit
    return StageResult(
        path=result.out,  # a Path, or the URL of a fit on an object store
        counts={
            "runs": fit["runs"]["count"],
            "valid_spearman": fit.get("regression", {}).get("valid_spearman"),
            "run_icc1": (fit.get("reliability") or {}).get("icc1"),
        },
        run_id=(fit.get("mlflow") or {}).get("run_id"),
        details=result,
    )


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
    result = run_metarater_select(corpus, strings(attributes), fit, out, tokens=budget, fraction=fraction,
                                  keep_dir=str(keep_out) if keep_out else None, tracking=tracking,
                                  overwrite=overwrite, master=master, spark_conf=dict(conf or {}))  # fmt: skip
    return corpus_stage_result(result)


# ------------------------------------------------------------------------------------------ quality raters


def _trained(result) -> StageResult:
    """A quality rater's training: its model folder, held-out metrics as counts, and its MLflow run."""
    return StageResult(path=result.out, counts=dict(result.metrics), run_id=result.run_id, details=result)


def dsir_fit(
    target: Sequence[str | Path],
    raw: Sequence[str | Path],
    out: str | Path,
    *,
    buckets: int = 10_000,
    smoothing: float = 1.0,
    heldout_fraction: float = 0.1,
    seed: int = 0,
    max_bytes: int | None = None,
    tracking: bool = True,
    overwrite: bool = False,
) -> StageResult:
    """``curate raters dsir fit``: DSIR's hashed n-gram bags of the ``target`` and ``raw`` texts (corpus
    directories, Parquet, JSONL or text files, ``NAME=PATH``). Counts: the held-out metrics (``heldout_auc``)."""
    from raters.dsir.fitting import run_dsir_fit

    return _trained(run_dsir_fit(strings(target), strings(raw), str(out), buckets=buckets,
                                 smoothing=smoothing, heldout_fraction=heldout_fraction, seed=seed, max_bytes=max_bytes,
                                 tracking=tracking, overwrite=overwrite))  # fmt: skip


def _fasttext_settings(epoch: int, lr: float, word_ngrams: int, dim: int, bucket: int, thread: int, seed: int):
    from raters.fasttext_quality.supervised import FastTextSettings

    return FastTextSettings(epoch=epoch, lr=lr, word_ngrams=word_ngrams, dim=dim, bucket=bucket, thread=thread,
                            seed=seed)  # fmt: skip


def fasttext_train(
    positive: Sequence[str | Path],
    negative: Sequence[str | Path],
    out: str | Path,
    *,
    epoch: int = 10,
    lr: float = 0.5,
    word_ngrams: int = 2,
    dim: int = 32,
    bucket: int = 100_000,
    thread: int = 1,
    heldout_fraction: float = 0.1,
    seed: int = 0,
    max_bytes: int | None = None,
    tracking: bool = True,
    overwrite: bool = False,
) -> StageResult:
    """``curate raters fasttext train``: a DCLM-style classifier of ``positive`` against ``negative`` text.
    Counts: the held-out metrics (``heldout_accuracy``, ``heldout_auc``, ...)."""
    from raters.fasttext_quality.training import run_fasttext_train

    settings = _fasttext_settings(epoch, lr, word_ngrams, dim, bucket, thread, seed)
    return _trained(run_fasttext_train(strings(positive), strings(negative), str(out), settings,
                                       heldout_fraction=heldout_fraction, max_bytes=max_bytes, tracking=tracking,
                                       overwrite=overwrite))  # fmt: skip


def perplexity_train(
    reference: str | Path,
    out: str | Path,
    *,
    size: str = "tiny",
    tokens: int | str = "2M",
    tokenizer: str = "bytes",
    heldout_fraction: float = 0.05,
    seed: int = 0,
    device: str = "auto",
    tracking: bool = True,
    overwrite: bool = False,
) -> StageResult:
    """``curate raters perplexity train``: a proxy LM on ``reference`` text, whose bits per byte score
    documents. Counts: ``heldout_bpb``, ``heldout_documents``, ``tokens``."""
    from curation.proxy.config import parse_token_count
    from raters.perplexity.training import run_perplexity_train

    return _trained(run_perplexity_train(str(reference), str(out), size=size, tokens=parse_token_count(str(tokens)),
                                         seed=seed, tokenizer=tokenizer, heldout_fraction=heldout_fraction,
                                         device=device, tracking=tracking, overwrite=overwrite))  # fmt: skip


def dimension_train(
    annotations: str | Path,
    dimension: str,
    out: str | Path,
    *,
    label_field: str = "score",
    heldout_fraction: float = 0.2,
    epoch: int = 10,
    lr: float = 0.5,
    word_ngrams: int = 2,
    dim: int = 32,
    bucket: int = 100_000,
    thread: int = 1,
    seed: int = 0,
    tracking: bool = True,
    overwrite: bool = False,
) -> StageResult:
    """``curate raters dimension train``: a 0-5 rater of one quality ``dimension`` from JSONL ``annotations``
    (``text`` and ``label_field``). Counts: the held-out metrics (``heldout_macro_f1``, ...)."""
    from raters.dimension.training import run_dimension_train

    settings = _fasttext_settings(epoch, lr, word_ngrams, dim, bucket, thread, seed)
    return _trained(run_dimension_train(str(annotations), dimension, str(out), settings, label_field=label_field,
                                        heldout_fraction=heldout_fraction, tracking=tracking,
                                        overwrite=overwrite))  # fmt: skip


def quality_score(
    corpus: str | Path,
    kind: str,
    model: str | Path,
    out: str | Path,
    *,
    batch_size: int = 32,
    device: str = "auto",
    gpus_per_task: float = 0.0,
    master: str | None = None,
    conf: Mapping[str, str] | None = None,
    tracking: bool = True,
    overwrite: bool = False,
) -> StageResult:
    """``curate raters KIND score``: every document of ``corpus`` scored by the ``kind`` rater (``dsir``,
    ``fasttext``, ``perplexity``, ``dimension``) in ``model`` (a folder, a URL or an MLflow model URI such as
    ``models:/NAME/1``), as an attribute set. ``batch_size``, ``device`` and ``gpus_per_task`` (a GPU share per
    Spark task on a cluster) apply to perplexity."""
    from curation.attribute_stage import run_attribute_stage
    from raters.quality_producers import quality_producer

    producer = quality_producer(kind, str(model), batch_size=batch_size, device=device, gpus_per_task=gpus_per_task)
    result = run_attribute_stage(corpus, producer, out, master=master, spark_conf=dict(conf or {}),
                                 tracking=tracking, overwrite=overwrite)  # fmt: skip
    return attribute_stage_result(result)


def log_model(model: str | Path, *, register: str | None = None, device: str = "cpu") -> StageResult:
    """``curate raters log-model``: the rater in ``model`` logged to MLflow as a pyfunc model with a model card,
    registered as a new version of ``register`` when given. ``path`` is the model's URI (``models:/NAME/VERSION``
    when registered, else ``runs:/RUN_ID/rater``)."""
    from raters.mlflow_model import log_mlflow_model

    logged = log_mlflow_model(str(model), register=register, device=device)
    counts = {"registered_version": logged.registered_version} if register else {}
    return StageResult(path=logged.registered_uri or logged.model_uri, counts=counts, run_id=logged.run_id,
                       details=logged)  # fmt: skip
