"""The ``curate`` command. Heavy libraries are imported inside commands so ``--help`` is instant."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from curation.errors import CurationError
from pipelines.cli.datarater import datarater_app
from pipelines.cli.export import export_command
from pipelines.cli.metarater import metarater_app
from pipelines.cli.mix import mix_command, top_command
from pipelines.cli.options import (
    OverwriteAttributes,
    SparkConf,
    SparkMaster,
    Tracking,
    fail,
    one_line_errors,
)
from pipelines.cli.pipeline import run_command
from pipelines.cli.raters import raters_app
from pipelines.cli.report import report_command

app = typer.Typer(
    name="curate",
    help="Meta-learned data curation for LLM pre-training: ingest web corpora, score, select, validate.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _main(
    storage_options: Annotated[
        Optional[Path],
        typer.Option(
            "--storage-options",
            help="JSON or YAML file of keyword arguments per URL scheme for its fsspec filesystem, e.g. "
            '{"s3": {"endpoint_url": "...", "key": "...", "secret": "..."}}; goes before the command: '
            "curate --storage-options FILE ingest s3://... . Its path is also read from CURATION_STORAGE_OPTIONS; "
            "its content never reaches a manifest, MLflow or a log.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Meta-learned data curation for LLM pre-training."""
    if storage_options is not None:
        with one_line_errors():
            from curation.storage import use_storage_options

            use_storage_options(storage_options)


@app.command()
def ingest(
    inputs: Annotated[
        list[str],
        typer.Argument(
            help="Input files, directories or globs (WARC, WET, JSONL[.gz|.zst], Parquet).", show_default=False
        ),
    ],
    out: Annotated[
        str,
        typer.Option("--out", "-o", help="Output corpus directory: a path, or a URL (s3://, gs://, abfs://, hdfs://)."),
    ],
    fmt: Annotated[
        str, typer.Option("--format", help="auto (extension + magic bytes), warc, wet, jsonl or parquet.")
    ] = "auto",
    extractor: Annotated[
        str, typer.Option(help="HTML main-text extractor: resiliparse or trafilatura.")
    ] = "resiliparse",
    shards: Annotated[
        int, typer.Option(help="Number of output shards (documents are assigned by a hash of their id).")
    ] = 8,
    text_field: Annotated[str, typer.Option(help="JSONL/Parquet field holding the text.")] = "text",
    id_field: Annotated[str, typer.Option(help="JSONL/Parquet field holding the id (else a hash of url+text).")] = "id",
    url_field: Annotated[str, typer.Option(help="JSONL/Parquet field holding the URL.")] = "url",
    timestamp_field: Annotated[str, typer.Option(help="JSONL/Parquet field holding the timestamp.")] = "timestamp",
    source: Annotated[
        Optional[str], typer.Option(help="Value of the `source` column (default: each input's file name).")
    ] = None,
    langid: Annotated[
        bool, typer.Option("--langid/--no-langid", help="Identify languages offline with fastText lid.176.")
    ] = True,
    lid_model: Annotated[
        Optional[str], typer.Option(help="A local fastText language-ID model instead of the bundled lid.176.ftz.")
    ] = None,
    split_mb: Annotated[
        float, typer.Option(help="Target input MiB per Spark task; bigger files are split at record boundaries.")
    ] = 16.0,
    max_record_mb: Annotated[
        float, typer.Option(help="Raw JSONL lines larger than this are rejected unparsed.")
    ] = 64.0,
    max_html_mb: Annotated[
        float, typer.Option(help="HTML payloads larger than this are rejected, not extracted.")
    ] = 8.0,
    max_text_mb: Annotated[float, typer.Option(help="Documents whose normalised text is larger are rejected.")] = 8.0,
    max_invalid_utf8: Annotated[
        float, typer.Option(help="Reject a text when this fraction of it was undecodable bytes.")
    ] = 0.01,
    extraction_timeout: Annotated[
        float, typer.Option(help="Seconds allowed to extract one page (0 = no limit).")
    ] = 30.0,
    master: SparkMaster = None,
    conf: SparkConf = None,
    tracking: Annotated[
        bool,
        typer.Option(
            "--tracking/--no-tracking",
            help="Record the job as an MLflow run (MLFLOW_TRACKING_URI, default ./mlflow.db).",
        ),
    ] = True,
    overwrite: Annotated[
        bool, typer.Option(help="Replace a corpus in --out that was made with another config.")
    ] = False,
) -> None:
    """Read web corpora with Spark and write a sharded Parquet corpus (shards/, rejects/, manifest.json).

    Every input record ends in a shard or in rejects/ with a reason; the counts are reconciled before
    the manifest is written. Rerunning the same command resumes after a crash and gives identical shards.
    """
    from pydantic import ValidationError

    from curation.ingest.config import IngestConfig

    try:
        cfg = IngestConfig(
            inputs=inputs,
            out=out,
            format=fmt,
            extractor=extractor,
            shards=shards,
            text_field=text_field,
            id_field=id_field,
            url_field=url_field,
            timestamp_field=timestamp_field,
            source=source,
            langid=langid,
            lid_model=lid_model,
            split_mb=split_mb,
            max_record_mb=max_record_mb,
            max_html_mb=max_html_mb,
            max_text_mb=max_text_mb,
            max_invalid_utf8=max_invalid_utf8,
            extraction_timeout_s=extraction_timeout,
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        option = "-".join(str(p) for p in first["loc"]).replace("_", "-")
        fail(CurationError(f"--{option}: {first['msg'].removeprefix('Value error, ')}"), 2)
    with one_line_errors():
        from curation.ingest.job import run_ingest
        from curation.ingest.summary import print_summary
        from curation.spark import parse_conf

        result = run_ingest(cfg, master=master, spark_conf=parse_conf(conf), tracking=tracking, overwrite=overwrite)
        print_summary(result)


@app.command()
def signals(
    corpus: Annotated[
        str,
        typer.Argument(
            help="A corpus directory written by `curate ingest` (or select): a path or a URL.", show_default=False
        ),
    ],
    out: Annotated[
        str,
        typer.Option(
            "--out",
            "-o",
            help="Attribute set directory to write (e.g. CORPUS/../attributes/signals-v1): a path or a URL.",
        ),
    ],
    threshold: Annotated[
        list[str] | None,
        typer.Option(
            "--threshold",
            help="FILTER.SETTING=VALUE: a datatrove argument of one filter instead of its default, e.g. "
            "gopher_quality.min_doc_words=30 or fineweb_quality.short_line_thr=0.8 (repeatable). Filters: "
            "gopher_quality, gopher_repetition, c4_quality, fineweb_quality; settings: their datatrove classes'.",
            show_default=False,
        ),
    ] = None,
    master: SparkMaster = None,
    conf: SparkConf = None,
    tracking: Tracking = True,
    overwrite: OverwriteAttributes = False,
) -> None:
    """Quality signals per document as an attribute set keyed by id (text is never rewritten).

    Columns: pass/fail and reason of datatrove's Gopher quality, Gopher repetition, C4 quality and
    FineWeb quality filters, and the 11 numeric RedPajama-v2 signals Meta-rater uses.
    """
    with one_line_errors():
        from curation import api
        from curation.signals.heuristics import parse_threshold_options
        from curation.spark import parse_conf

        result = api.signals(corpus, out, thresholds=parse_threshold_options(threshold), master=master,
                             conf=parse_conf(conf), tracking=tracking, overwrite=overwrite).details  # fmt: skip
        for name, stats in result.manifest["summary"].items():
            if "true" in stats:
                typer.echo(
                    f"{name}: {stats['true']:,} of {stats['rows']:,} documents ({100 * stats['true'] / max(1, stats['rows']):.1f}%)"
                )
        typer.echo(f"attributes: {result.root} ({len(result.columns)} columns)")


@app.command()
def dedup(
    corpus: Annotated[
        str,
        typer.Argument(
            help="A corpus directory written by `curate ingest` (or select): a path or a URL.", show_default=False
        ),
    ],
    out: Annotated[
        str,
        typer.Option(
            "--out", "-o", help="Attribute set directory to write (e.g. attributes/dedup-v1): a path or a URL."
        ),
    ],
    ngram: Annotated[int, typer.Option(help="Words per shingle.")] = 5,
    num_perm: Annotated[int, typer.Option(help="MinHash permutations (signature length).")] = 112,
    bands: Annotated[int, typer.Option(help="LSH bands; bands x rows must equal --num-perm.")] = 28,
    rows: Annotated[int, typer.Option(help="Signature rows per LSH band.")] = 4,
    seed: Annotated[int, typer.Option(help="MinHash seed.")] = 1,
    verify_threshold: Annotated[
        float, typer.Option(help="Keep a candidate pair when its estimated Jaccard is at least this.")
    ] = 0.5,
    verify: Annotated[
        bool, typer.Option("--verify/--no-verify", help="Verify LSH candidates (--no-verify: every candidate counts).")
    ] = True,
    fineweb: Annotated[
        bool, typer.Option("--fineweb", help="FineWeb's setting instead: 5-grams, 14x8 bands, no verification.")
    ] = False,
    max_bucket: Annotated[
        int, typer.Option(help="An LSH bucket larger than this pairs its members with its smallest id only.")
    ] = 1000,
    driver_max_edges: Annotated[
        int,
        typer.Option(
            help="Duplicate edges up to which clusters are joined on the driver; above it, in Spark (connected "
            "components), so the driver's memory does not grow with the corpus. 0: always in Spark."
        ),
    ] = 1_000_000,
    master: SparkMaster = None,
    conf: SparkConf = None,
    tracking: Tracking = True,
    overwrite: OverwriteAttributes = False,
) -> None:
    """Exact and near-duplicate clusters (MinHash-LSH) as an attribute set keyed by id.

    Columns: exact_key, exact_cluster_size, is_exact_dup_keep, cluster_id, cluster_size, is_dup_keep.
    The defaults find documents sharing about half or more of their word 5-grams (LSH threshold
    (1/28)^(1/4) = 0.43, then verification at estimated Jaccard 0.5); one document per cluster, the
    smallest id, keeps is_dup_keep. Select with e.g. --rule "is_dup_keep".
    """
    with one_line_errors():
        from curation import api
        from curation.spark import parse_conf

        result = api.dedup(
            corpus, out, ngram=ngram, num_perm=num_perm, bands=bands, rows=rows, seed=seed,
            verify_threshold=verify_threshold if verify else None, fineweb=fineweb, max_bucket=max_bucket,
            driver_max_edges=driver_max_edges,
            master=master, conf=parse_conf(conf), tracking=tracking, overwrite=overwrite,
        ).details  # fmt: skip
        summary = result.attributes.manifest["summary"]
        for name in ("is_exact_dup_keep", "is_dup_keep"):
            stats = summary[name]
            typer.echo(
                f"{name}: {stats['true']:,} of {stats['rows']:,} documents ({100 * stats['true'] / max(1, stats['rows']):.1f}%)"
            )
        typer.echo(f"attributes: {result.attributes.root} ({len(result.attributes.columns)} columns)")


@app.command()
def select(
    corpus: Annotated[str, typer.Argument(help="The corpus to select from: a path or a URL.", show_default=False)],
    out: Annotated[str, typer.Option("--out", "-o", help="Directory of the new corpus: a path or a URL.")],
    rule: Annotated[
        str,
        typer.Option(
            help="Keep rule, e.g. \"gopher_quality.pass and lang == 'en' and lang_score > 0.65\", or a YAML file with `rule: [clauses]`."
        ),
    ],
    attributes: Annotated[
        Optional[list[str]],
        typer.Option(
            "--attributes", "-a", help="Attribute set directories the rule reads (repeatable): paths or URLs."
        ),
    ] = None,
    master: SparkMaster = None,
    conf: SparkConf = None,
    tracking: Tracking = True,
    overwrite: Annotated[bool, typer.Option(help="Replace a corpus in --out made from another input or rule.")] = False,
) -> None:
    """Keep the documents that pass every clause of a rule; write them as a new corpus with lineage.

    Clauses (the top-level `and`s) apply in order; the funnel of documents and bytes surviving each is
    printed and logged to MLflow, and every dropped document goes to rejects/ with its failing clause.
    Columns: the corpus's own (lang, lang_score, n_bytes, source, url, ...) and the attribute sets'.
    """
    with one_line_errors():
        from curation import api
        from curation.select.job import print_funnel
        from curation.spark import parse_conf

        result = api.select(corpus, rule, out, attributes=attributes or [], master=master, conf=parse_conf(conf),
                            tracking=tracking, overwrite=overwrite)  # fmt: skip
        print_funnel(result.details)


@app.command()
def validate(
    train: Annotated[
        Optional[list[str]],
        typer.Option(
            "--train",
            help="A training set as NAME=PATH (repeatable): a corpus directory, Parquet, JSONL[.gz|.zst] or text file.",
        ),
    ] = None,
    heldout: Annotated[
        Optional[list[str]],
        typer.Option("--heldout", help="A held-out set as NAME=PATH or PATH (repeatable); same formats as --train."),
    ] = None,
    out: Annotated[
        str, typer.Option("--out", "-o", help="Directory for results.json, table.md, curves.png: a path or a URL.")
    ] = "validation",
    tokens: Annotated[
        str, typer.Option(help="Training tokens per proxy, e.g. 500k or 2M (equal for every run).")
    ] = "1M",
    seeds: Annotated[int, typer.Option(help="Proxies per training set (seeds 0..N-1).")] = 3,
    random_baseline: Annotated[
        Optional[str],
        typer.Option(
            "--random-baseline",
            help="A pool (e.g. the corpus before curation) to draw a uniform random training set 'random' from, as large as the largest --train set, redrawn per seed.",
        ),
    ] = None,
    baseline: Annotated[
        Optional[str],
        typer.Option(help="The training set token savings are measured against (default: random, else the first)."),
    ] = None,
    size: Annotated[
        str, typer.Option(help="Proxy size: tiny (0.1M), small (0.8M), medium (11M), large (99M).")
    ] = "small",
    seq_len: Annotated[Optional[int], typer.Option(help="Sequence length (default: the size's).")] = None,
    batch_size: Annotated[int, typer.Option(help="Sequences per optimizer step.")] = 16,
    lr: Annotated[
        Optional[float],
        typer.Option(
            help="Peak AdamW learning rate (warmup, then cosine to 10%); default 3e-3 for tiny, 1e-3 for larger "
            "sizes (small at 3e-3 spiked in 4 of 5 runs: benchmarks/results/proxy_noise.md)."
        ),
    ] = None,
    evaluations: Annotated[int, typer.Option(help="Held-out evaluations per run (plus one before training).")] = 10,
    heldout_bytes: Annotated[
        int, typer.Option(help="Sample each held-out set down to about this many bytes (seeded).")
    ] = 250_000,
    tokenizer: Annotated[
        str, typer.Option(help="bytes (default), bpe:VOCAB (trained on the training sets) or a tokenizer.json path.")
    ] = "bytes",
    device: Annotated[str, typer.Option(help="auto (GPU when present), cpu or cuda.")] = "auto",
    members_per_batch: Annotated[
        Optional[int],
        typer.Option(
            help="Proxies trained together as one batched model (default: as many as half the free GPU memory holds; "
            "one on CPU, where batching measured no faster: benchmarks/results/proxy_population.md)."
        ),
    ] = None,
    tracking: Tracking = True,
    overwrite: Annotated[bool, typer.Option(help="Discard proxies checkpointed in --out by an earlier run.")] = False,
) -> None:
    """Proxy-model validation: train small LMs on each training set with the same token budget and
    compare held-out bits per byte.

    One proxy per training set and seed; each is evaluated on every held-out set during training. Writes
    a comparison table (final bpb, mean ± std over seeds), results.json, and curves.png into --out, and
    reports token savings: the share of the baseline's tokens a run saves to reach the baseline's final
    held-out loss. One MLflow run, with a child run per proxy. Rerunning resumes unfinished proxies.

    Example: curate validate --train curated=runs/curated --random-baseline runs/corpus
    --heldout wiki=../shared/data/reference/wikitext-2-valid.txt --tokens 2M --seeds 3
    """
    with one_line_errors():
        from curation import api
        from curation.destination import Destination
        from curation.storage import is_remote

        result = api.validate(
            train or [],
            heldout or [],
            out if is_remote(out) else str(Path(out)),
            tokens=tokens,
            tracking=tracking,
            overwrite=overwrite,
            seeds=seeds,
            random_baseline=random_baseline,
            baseline=baseline,
            size=size,
            seq_len=seq_len,
            batch_size=batch_size,
            lr=lr,
            evaluations=evaluations,
            heldout_bytes=heldout_bytes,
            tokenizer=tokenizer,
            device=device,
            members_per_batch=members_per_batch,
        ).details
        typer.echo(Destination(str(result.out)).read_bytes("table.md").decode("utf-8"))
        typer.echo(f"results: {result.out}/results.json; curves: {result.out}/curves.png")


app.add_typer(datarater_app, name="datarater")
app.add_typer(raters_app, name="raters")
app.add_typer(metarater_app, name="metarater")
app.command("run")(run_command)
app.command("mix")(mix_command)
app.command("top")(top_command)
app.command("export")(export_command)
app.command("report")(report_command)


@app.command()
def demo(
    workdir: Annotated[
        Path, typer.Option("--dir", help="Where the demo writes its inputs, outputs and MLflow store.")
    ] = Path("runs/demo"),
    tracking: Annotated[bool, typer.Option("--tracking/--no-tracking", help="Record the run in MLflow.")] = True,
) -> None:
    """The whole pipeline, offline, in a few minutes on 2 CPU cores (local Spark, local MLflow).

    Builds a small mixed-quality corpus from what any Python install has (pydoc pages of the standard
    library as WARC, with labelled web-junk variants of other modules' documentation in the same crawl,
    docstrings as JSONL, a few broken records), then runs `curate run DIR/pipeline.yaml`: ingest ->
    quality signals -> near-duplicates -> DataRater (meta-train, score, keep flags) -> select -> a
    source mixture -> proxy validation (curated and DataRater-only against a random sample of equal
    tokens) -> Parquet export -> HTML report. Rerunning skips what is already done.
    """
    import yaml

    from curation.demo import build_demo_inputs, demo_pipeline
    from pipelines.cli.pipeline import print_pipeline_summary
    from pipelines.config import parse_pipeline_config
    from pipelines.runner import run_pipeline

    workdir = workdir.resolve()
    os.environ.setdefault("MLFLOW_TRACKING_URI", f"sqlite:///{workdir / 'mlflow.db'}")
    with one_line_errors():
        typer.echo(f"demo: writing inputs under {workdir / 'input'}", err=True)
        paths = build_demo_inputs(workdir)
        config_path = workdir / "pipeline.yaml"
        payload = demo_pipeline(workdir, paths)
        config_path.write_text(yaml.safe_dump(payload, sort_keys=False), encoding="utf-8")
        cfg = parse_pipeline_config(payload, config_path)
        result = run_pipeline(cfg, config_path, tracking=tracking)
        print_pipeline_summary(result, tracking)
    typer.echo(f"\nrerun or change it: curate run {config_path}")


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        typer.echo("curate: interrupted", err=True)
        sys.exit(130)


if __name__ == "__main__":
    main()
