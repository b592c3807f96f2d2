"""`curate export`: a corpus as Parquet or JSON Lines + zstd files for trainers."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from pipelines.cli.options import Tracking, one_line_errors


def export_command(
    corpus: Annotated[
        str,
        typer.Argument(
            help="A corpus directory (from ingest, select, a filter or a mixture): a path or a URL.",
            show_default=False,
        ),
    ],
    out: Annotated[
        str,
        typer.Option("--out", "-o", help="Export directory: data/part-NNNNN.* + manifest.json; a path or a URL."),
    ],
    fmt: Annotated[
        str,
        typer.Option(
            "--format",
            "-f",
            help="parquet (zstd Parquet) or jsonl.zst (JSON Lines, one zstd frame per file).",
        ),
    ] = "parquet",
    columns: Annotated[
        Optional[str],
        typer.Option(
            help="Comma-separated corpus columns to write, in this order, or 'all'. "
            "Default: text,id,url,source,timestamp,lang,n_bytes (also available: lang_score, meta).",
            show_default=False,
        ),
    ] = None,
    rename: Annotated[
        Optional[list[str]],
        typer.Option(help="Name a column differently in the output, OLD=NEW (repeatable), e.g. id=doc_id."),
    ] = None,
    shard_rows: Annotated[
        int, typer.Option(help="Documents per output file; 0 writes one file per non-empty corpus shard.")
    ] = 100_000,
    row_group_rows: Annotated[int, typer.Option(help="Rows per Parquet row group.")] = 10_000,
    zstd_level: Annotated[
        int, typer.Option(help="zstd compression level (1-19), fixed so output is reproducible.")
    ] = 3,
    tracking: Tracking = True,
    overwrite: Annotated[
        bool, typer.Option(help="Replace an export in --out made from another corpus or with other options.")
    ] = False,
) -> None:
    """Write a corpus as files trainers and data tools read as they are.

    \b
    Formats (files OUT/data/part-00000.parquet, part-00001.parquet, ...):
      parquet    zstd Parquet. Hugging Face datasets:
                   load_dataset("parquet", data_files="OUT/data/*.parquet")
                 datatrove: ParquetReader("OUT/data")
      jsonl.zst  JSON Lines compressed with zstd:
                   load_dataset("json", data_files="OUT/data/*.jsonl.zst")
                 datatrove: JsonlReader("OUT/data")

    \b
    Schema: --columns picks and orders the corpus columns (id, text, url,
    source, timestamp, lang, lang_score, n_bytes, meta); --rename OLD=NEW
    fits them to a trainer's names. An unknown column is an error before
    anything is written.

    \b
    OUT/manifest.json, written last, lists each file with rows, bytes and
    sha256, the options, the code version and the corpus's lineage (every
    ancestor corpus, rule and attribute set, with MLflow run ids). The same
    corpus and options give byte-identical files; a rerun is a no-op and an
    interrupted export resumes, keeping the files it had committed.

    \b
    CORPUS and OUT may be URLs (s3://bucket/export, any fsspec filesystem):
    each file is uploaded whole under its final name, the manifest last.

    \b
    Example:
      curate export runs/curated --format jsonl.zst --out runs/export \\
          --columns text,id,url --rename id=doc_id --shard-rows 50000
    """
    with one_line_errors():
        from curation.export import ExportConfig, run_export

        config = ExportConfig(
            format=fmt,
            columns=columns,
            rename=tuple(rename or ()),
            shard_rows=shard_rows,
            row_group_rows=row_group_rows,
            zstd_level=zstd_level,
        )
        result = run_export(corpus, out, config, tracking=tracking, overwrite=overwrite)
        counts = result.manifest["counts"]
        state = "already complete, nothing written" if result.skipped else f"{result.seconds:,.1f} s"
        typer.echo(
            f"export: {counts['files']:,} {result.manifest['export_format']} file(s), {counts['rows']:,} rows, "
            f"{counts['bytes'] / (1 << 20):,.2f} MiB in {result.out}/data ({state})"
        )
        typer.echo(f"manifest: {result.out}/manifest.json")
