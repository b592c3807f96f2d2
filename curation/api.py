"""The Python API of the core stages: what ``curate ingest|signals|dedup|select|top|mix|validate|export|report``
do, callable from a notebook or an orchestrator task. Same config classes, defaults and typed errors
(``curation.errors``) as the command line; each returns a ``StageResult``. The raters' stages are in ``raters.api``, whole pipelines in
``pipelines.api``.

    from curation import api

    corpus = api.ingest(["../shared/data/web/c4-en-sample-1000.jsonl.gz"], "runs/corpus")
    signals = api.signals(corpus.path, "runs/attrs/signals")
    kept = api.select(corpus.path, "gopher_quality.pass and lang == 'en'", "runs/curated", attributes=[signals.path])
    print(kept.counts["documents"], "of", corpus.counts["documents"], "documents kept; MLflow run", kept.run_id)

Spark runs in local mode unless ``master`` names a cluster; ``tracking=False`` skips MLflow; ``overwrite``
replaces outputs made from other inputs or settings, as ``--overwrite`` does.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from curation.errors import ConfigError


@dataclass(frozen=True)
class StageResult:
    """What a stage wrote: its output directory, its counts, its MLflow run (None without tracking) and
    whether the output was already there for the same inputs and settings (nothing recomputed). ``path`` is
    a ``Path``, or a URL for an output on an object store."""

    path: Path | str
    counts: dict[str, Any] = field(default_factory=dict)
    run_id: str | None = None
    skipped: bool = False
    details: Any = None  # the stage's own result object, for what the summary leaves out


def attribute_stage_result(attribute_set, details=None) -> StageResult:
    manifest = attribute_set.manifest
    trues = {name: s["true"] for name, s in manifest["summary"].items() if "true" in s}
    return StageResult(
        path=attribute_set.root,
        counts={"documents": manifest["rows"], **{f"{name}.true": n for name, n in trues.items()}},
        run_id=manifest.get("mlflow_run_id"),
        details=details if details is not None else attribute_set,
    )


def corpus_stage_result(result) -> StageResult:
    from curation.storage import is_remote

    return StageResult(
        path=result.out if is_remote(str(result.out)) else Path(result.out),
        counts=dict(result.manifest["counts"]),
        run_id=getattr(result, "run_id", None) or result.manifest.get("mlflow_run_id"),
        skipped=result.skipped,
        details=result,
    )


def dedup_result(result) -> StageResult:
    """A ``DedupResult``: its attribute set, with the duplicate counts."""
    summary = attribute_stage_result(result.attributes, details=result)
    return StageResult(summary.path, {**summary.counts, **result.counts}, summary.run_id, details=result)


def validation_result(result) -> StageResult:
    """A ``ValidationResult``: final bits per byte per set and held-out set, and the parent MLflow run."""
    bpb = {name: {h: entry["mean"] for h, entry in sets.items()} for name, sets in result.results["results"].items()}
    return StageResult(
        path=result.out,  # a Path, or the URL of a validation on an object store
        counts={"final_bpb": bpb},
        run_id=(result.results.get("mlflow") or {}).get("parent_run_id"),
        details=result,
    )


def export_result(result) -> StageResult:
    """An ``ExportResult``: files, rows and bytes written."""
    return StageResult(path=result.out, counts=dict(result.manifest["counts"]),
                       run_id=result.manifest.get("mlflow_run_id"), skipped=result.skipped, details=result)  # fmt: skip


def ingest(
    inputs: Sequence[str | Path],
    out: str | Path,
    *,
    master: str | None = None,
    conf: Mapping[str, str] | None = None,
    tracking: bool = True,
    overwrite: bool = False,
    **options: Any,
) -> StageResult:
    """``curate ingest``: raw WARC/WET/JSONL/Parquet files, directories, globs or URLs to a corpus directory.

    ``options`` are the fields of ``curation.ingest.config.IngestConfig`` (``shards``, ``format``,
    ``text_field``, ``split_mb``, ``langid``, ...), with its defaults. Counts: ``records_read``,
    ``documents``, ``rejected`` and ``input_errors`` by reason.
    """
    from pydantic import ValidationError

    from curation.ingest.config import IngestConfig
    from curation.ingest.job import run_ingest

    try:
        cfg = IngestConfig(inputs=[str(i) for i in inputs], out=str(out), **options)
    except ValidationError as exc:
        first = exc.errors()[0]
        name = ".".join(str(p) for p in first["loc"])
        raise ConfigError(f"ingest option {name}: {first['msg'].removeprefix('Value error, ')}") from None
    return corpus_stage_result(run_ingest(cfg, master=master, spark_conf=dict(conf or {}), tracking=tracking,
                                     overwrite=overwrite))  # fmt: skip


def signals(
    corpus: str | Path,
    out: str | Path,
    *,
    thresholds: Mapping[str, Mapping[str, Any]] | None = None,
    master: str | None = None,
    conf: Mapping[str, str] | None = None,
    tracking: bool = True,
    overwrite: bool = False,
) -> StageResult:
    """``curate signals``: datatrove's four filters' verdicts and the 11 RedPajama-v2 numeric signals, as an
    attribute set. Counts: ``documents`` and, per verdict, how many passed (``<filter>_pass.true``).
    ``thresholds`` sets filters' datatrove arguments, e.g. ``{"gopher_quality": {"min_doc_words": 30}}``
    (``--threshold gopher_quality.min_doc_words=30``); datatrove's defaults otherwise."""
    from curation.attribute_stage import run_attribute_stage
    from curation.signals.heuristics import HeuristicSignals

    producer = HeuristicSignals(thresholds={k: dict(v) for k, v in (thresholds or {}).items()})
    result = run_attribute_stage(corpus, producer, out, master=master, spark_conf=dict(conf or {}),
                                 tracking=tracking, overwrite=overwrite)  # fmt: skip
    return attribute_stage_result(result)


def dedup(
    corpus: str | Path,
    out: str | Path,
    *,
    ngram: int = 5,
    num_perm: int = 112,
    bands: int = 28,
    rows: int = 4,
    seed: int = 1,
    verify_threshold: float | None = 0.5,
    fineweb: bool = False,
    max_bucket: int = 1000,
    driver_max_edges: int = 1_000_000,
    master: str | None = None,
    conf: Mapping[str, str] | None = None,
    tracking: bool = True,
    overwrite: bool = False,
) -> StageResult:
    """``curate dedup``: exact and MinHash-LSH near-duplicate clusters as an attribute set; ``fineweb=True``
    uses FineWeb's setting, ``verify_threshold=None`` counts every LSH candidate (``--no-verify``); above
    ``driver_max_edges`` duplicate edges the clusters are joined in Spark instead of on the driver."""
    from curation.dedup.minhash import MinHashParams
    from curation.dedup.stage import DedupConfig, run_dedup

    params = MinHashParams.fineweb() if fineweb else MinHashParams(ngram, num_perm, bands, rows, seed, verify_threshold)
    config = DedupConfig(params=params, max_bucket=max_bucket, driver_max_edges=driver_max_edges)
    result = run_dedup(corpus, out, config, master=master, spark_conf=dict(conf or {}), tracking=tracking,
                       overwrite=overwrite)  # fmt: skip
    return dedup_result(result)


def select(
    corpus: str | Path,
    rule: str,
    out: str | Path,
    *,
    attributes: Sequence[str | Path] = (),
    master: str | None = None,
    conf: Mapping[str, str] | None = None,
    tracking: bool = True,
    overwrite: bool = False,
) -> StageResult:
    """``curate select``: the documents passing every clause of ``rule`` (over the corpus's and the
    ``attributes`` sets' columns) as a new corpus; the dropped ones in its ``rejects/`` with their clause."""
    from curation.select.job import run_select

    result = run_select(corpus, strings(attributes), rule, out, master=master,
                        spark_conf=dict(conf or {}), tracking=tracking, overwrite=overwrite)  # fmt: skip
    return corpus_stage_result(result)


def strings(values: str | Path | Sequence[str | Path]) -> list[str]:
    """A list option given as a list, or as one string or path (one item, not its characters)."""
    return [str(values)] if isinstance(values, str | Path) else [str(value) for value in values]


def _specs(sets: Mapping[str, str | Path] | Sequence[str]) -> list[str]:
    if isinstance(sets, Mapping):
        return [f"{name}={path}" for name, path in sets.items()]
    return strings(sets)


def validate(
    train: Mapping[str, str | Path] | Sequence[str],
    heldout: Mapping[str, str | Path] | Sequence[str],
    out: str | Path,
    *,
    tokens: int | str = "1M",
    random_baseline: str | Path | None = None,
    tracking: bool = True,
    overwrite: bool = False,
    **options: Any,
) -> StageResult:
    """``curate validate``: proxy LMs trained on each ``train`` set (name -> corpus or text file, or
    ``NAME=PATH`` strings) at equal ``tokens``, evaluated on each ``heldout`` set (the same, or bare paths), and
    on a uniform random sample of the ``random_baseline`` pool when one is given. ``options`` are the other
    fields of ``curation.validate.job.ValidateConfig`` (``seeds``, ``size``, ``lr``, ...).
    Counts: ``{"final_bpb": {set: {heldout: mean}}}``; ``details.results`` has everything."""
    from curation.proxy.config import parse_token_count
    from curation.validate.job import ValidateConfig, run_validate

    try:
        cfg = ValidateConfig(
            train=_specs(train),
            heldout=_specs(heldout),
            out=str(out),
            tokens=parse_token_count(str(tokens)),
            random_baseline=None if random_baseline is None else str(random_baseline),
            **options,
        )
    except TypeError as exc:
        raise ConfigError(f"validate: {exc}") from None
    return validation_result(run_validate(cfg, tracking=tracking, overwrite=overwrite))


def top(
    corpus: str | Path,
    score: str,
    out: str | Path,
    *,
    attributes: Sequence[str | Path] = (),
    fraction: float | None = None,
    k: int | None = None,
    tokens: int | str | None = None,
    lower_is_better: bool = False,
    tokenizer: str = "bytes",
    tracking: bool = True,
    overwrite: bool = False,
) -> StageResult:
    """``curate top``: flag the best documents by the numeric column ``score`` (the corpus's or one of the
    ``attributes`` sets'): a ``fraction``, ``k`` of them, or a ``tokens`` budget (exactly one). Writes an
    attribute set with ``top_keep`` and ``top_rank``; keep them with ``select(corpus, "top_keep", ...)``.
    Counts: ``documents``, ``top_keep.true`` and ``kept_tokens`` (tokens with a budget, else UTF-8 bytes)."""
    from curation.mix.config import TopConfig
    from curation.mix.top import run_top

    cfg = TopConfig(score=score, fraction=fraction, k=k, tokens=tokens, lower_is_better=lower_is_better,
                    tokenizer=tokenizer)  # fmt: skip
    result = run_top(corpus, strings(attributes), out, cfg, tracking=tracking, overwrite=overwrite)
    summary = attribute_stage_result(result.attributes, details=result)
    return StageResult(summary.path, {**summary.counts, "kept_tokens": result.kept_tokens}, summary.run_id,
                       skipped=result.skipped, details=result)  # fmt: skip


def mix(
    corpus: str | Path,
    targets: Mapping[str, float] | Sequence[str],
    tokens: int | str,
    out: str | Path,
    *,
    column: str = "source",
    attributes: Sequence[str | Path] = (),
    seed: int = 0,
    tokenizer: str = "bytes",
    on_short: str = "repeat",
    tracking: bool = True,
    overwrite: bool = False,
) -> StageResult:
    """``curate mix``: a new corpus with target shares of ``column``'s values under a ``tokens`` budget.
    ``targets`` maps values to shares (``{"c4": 0.7, "wiki": 0.3}``; ``"*"`` pools the values no other target
    names) or is a list of ``NAME=SHARE`` strings as on the command line. Counts: the new corpus's."""
    from curation.mix.config import MixConfig, parse_targets
    from curation.mix.job import run_mix

    shares = dict(targets) if isinstance(targets, Mapping) else parse_targets(strings(targets))
    cfg = MixConfig(targets=shares, tokens=tokens, column=column, seed=seed, tokenizer=tokenizer, on_short=on_short,
                    attributes=tuple(strings(attributes)))  # fmt: skip
    return corpus_stage_result(run_mix(corpus, out, cfg, tracking=tracking, overwrite=overwrite))


def export(
    corpus: str | Path,
    out: str | Path,
    *,
    format: str = "parquet",
    columns: str | Sequence[str] | None = None,
    rename: Mapping[str, str] | Sequence[str] = (),
    shard_rows: int = 100_000,
    row_group_rows: int = 10_000,
    zstd_level: int = 3,
    tracking: bool = True,
    overwrite: bool = False,
) -> StageResult:
    """``curate export``: the corpus as ``parquet`` or ``jsonl.zst`` files for trainers (``out/data/``) with a
    manifest. ``columns`` picks and orders them (a list, a comma-separated string or ``"all"``); ``rename``
    maps old to new names. Counts: ``files``, ``rows``, ``bytes``."""
    from curation.export import ExportConfig, run_export

    if isinstance(columns, str) or columns is None:
        chosen = columns
    else:
        chosen = ",".join(columns)
    renames = [f"{old}={new}" for old, new in rename.items()] if isinstance(rename, Mapping) else strings(rename)
    config = ExportConfig(format=format, columns=chosen, rename=tuple(renames), shard_rows=shard_rows,
                          row_group_rows=row_group_rows, zstd_level=zstd_level)  # fmt: skip
    return export_result(run_export(corpus, out, config, tracking=tracking, overwrite=overwrite))


def report(run: str | Path, out: str | Path | None = None, *, tracking: bool = True) -> StageResult:
    """``curate report``: a pipeline's HTML and Markdown report, from its work directory or the MLflow run id
    of its parent run, into ``out`` (default ``WORKDIR/report``); logged to that run unless ``tracking`` is
    False. ``path`` is ``report.html``; ``details`` has the Markdown and chart paths."""
    from curation.report import build_report
    from curation.report.state import resolve_run

    result = build_report(resolve_run(str(run)), out, log_to_mlflow=tracking)
    return StageResult(path=result.html_path, counts={"charts": len(result.chart_paths)},
                       run_id=result.mlflow_run_id, details=result)  # fmt: skip
