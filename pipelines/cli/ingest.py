"""``curate ingest``: raw web corpora to a sharded Parquet corpus."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from curation.errors import CurationError
from pipelines.cli.options import SparkConf, SparkMaster, fail, one_line_errors


def ingest_command(
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
