"""``curate signals``, ``curate dedup`` and ``curate select``: attribute sets over a corpus, and a new corpus
from a rule over them."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from pipelines.cli.options import OverwriteAttributes, SparkConf, SparkMaster, Tracking, one_line_errors

CorpusArgument = Annotated[
    str,
    typer.Argument(
        help="A corpus directory written by `curate ingest` (or select): a path or a URL.", show_default=False
    ),
]


def signals_command(
    corpus: CorpusArgument,
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


def dedup_command(
    corpus: CorpusArgument,
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


def select_command(
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
