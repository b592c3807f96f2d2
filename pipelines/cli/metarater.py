"""``curate metarater fit|select``: Meta-rater (Zhuang et al., 2025)."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from pipelines.cli.options import SparkConf, SparkMaster, Tracking, one_line_errors

metarater_app = typer.Typer(
    help="Meta-rater (Zhuang et al., 2025): learn how to weight quality scores from proxy runs, then select.",
    no_args_is_help=True,
)

Attributes = Annotated[
    list[str],
    typer.Option(
        "--attributes",
        "-a",
        help="Attribute set holding quality scores (repeatable; a path or a URL): curate signals, raters ..., "
        "datarater score.",
    ),
]


@metarater_app.command("fit")
def metarater_fit(
    corpus: Annotated[str, typer.Argument(help="The scored corpus: a path or a URL.", show_default=False)],
    attributes: Attributes,
    heldout: Annotated[
        list[str],
        typer.Option(help="Held-out set NAME=PATH (repeatable); a proxy's loss is its mean bpb over them."),
    ],
    out: Annotated[
        str, typer.Option("--out", "-o", help="Fit directory (runs/, weights.json, report.md): a path or a URL.")
    ],
    runs: Annotated[int, typer.Option(help="Proxy runs, one per Dirichlet weighting (paper: 256).")] = 64,
    tokens: Annotated[str, typer.Option(help="Training tokens per proxy run (e.g. 200k, 2M).")] = "200k",
    size: Annotated[str, typer.Option(help="Proxy preset: tiny, small, medium or large.")] = "tiny",
    top_fraction: Annotated[float, typer.Option(help="Share of documents each run trains on (paper: 0.15).")] = 0.15,
    lr: Annotated[
        Optional[float],
        typer.Option(
            help="Proxy learning rate (default: the preset's, as in curate validate: 3e-3 for tiny, 1e-3 for larger "
            "presets, which spiked at 3e-3: benchmarks/results/proxy_noise.md)."
        ),
    ] = None,
    alpha: Annotated[
        float,
        typer.Option(
            help="Dirichlet concentration of the weightings, and of the search's candidates (paper: 1). Below 1 "
            "most of each weighting's mass goes to a few scores, so runs differ more in the data they train on."
        ),
    ] = 1.0,
    regressor: Annotated[
        str,
        typer.Option(
            help="Regression of proxy loss on the weights: lightgbm (the paper) or linear (ridge). The report "
            "shows both regressors' cross-validated Spearman on the fit's runs, to choose by."
        ),
    ] = "lightgbm",
    column: Annotated[
        Optional[list[str]],
        typer.Option("--column", help="Use only these score columns (repeatable; default: every known score)."),
    ] = None,
    lower_is_better: Annotated[
        Optional[list[str]],
        typer.Option(help="A score column where lower is better, beyond the known ones (repeatable)."),
    ] = None,
    classifier_output: Annotated[
        str, typer.Option(help="Dimension raters: argmax (the paper) or expected class.")
    ] = "argmax",
    candidates: Annotated[
        int, typer.Option(help="Dirichlet candidates scored by the regressor (paper: 1M).")
    ] = 1_000_000,
    top_candidates: Annotated[int, typer.Option(help="Best candidates averaged into the final weights.")] = 128,
    max_documents: Annotated[
        int, typer.Option(help="Proxies train on a seeded sample of at most this many documents.")
    ] = 100_000,
    workers: Annotated[int, typer.Option(help="Proxy runs trained in parallel (processes).")] = 1,
    members_per_batch: Annotated[
        Optional[int],
        typer.Option(
            help="Proxy runs trained together as one batched model (default: as many as half the free GPU memory holds; "
            "one on CPU, where batching measured no faster: benchmarks/results/proxy_population.md)."
        ),
    ] = None,
    reliability_runs: Annotated[
        int,
        typer.Option(
            help="Weightings trained a second time with another proxy seed, to measure how much of a run's loss "
            "is about its data (ICC(1) in the report; a warning when it is below 0.5). 0 skips it."
        ),
    ] = 8,
    confirm_seeds: Annotated[
        int,
        typer.Option(
            help="Not in the paper: the finalists (the search's answer, the best single scores, the best observed "
            "runs) are trained again with this many fresh proxy seeds, and the one with the lowest mean loss is the "
            "answer; the report shows them all. 0 keeps the search's answer, as the paper does."
        ),
    ] = 3,
    confirm_singles: Annotated[
        int, typer.Option(help="Finalists among the scores alone, ranked by one proxy run per score.")
    ] = 2,
    confirm_observed: Annotated[
        int, typer.Option(help="Finalists among the fit's proxy runs, ranked by their loss.")
    ] = 2,
    seed: Annotated[int, typer.Option(help="Seed of weights, sample, proxies and split.")] = 0,
    tracking: Tracking = True,
    overwrite: Annotated[bool, typer.Option(help="Discard an earlier fit in --out made from other inputs.")] = False,
) -> None:
    """Learn Meta-rater weights: scale every score to [0, 5], train a proxy per Dirichlet weighting on the
    top share of documents, regress held-out loss on the weights (LightGBM or linear; Spearman on a held-out 20%),
    and average the best of many predicted candidates. Then (not in the paper; --confirm-seeds 0 skips it)
    train that answer, the best single scores and the best observed runs again with fresh proxy seeds, and keep
    the one with the lowest mean loss.

    One MLflow run with a child per proxy run. Finished proxy runs survive a crash: rerun the same command
    to go on. Writes weights.json (read by `curate metarater select`), weights.png and report.md.

    Example: curate metarater fit runs/corpus -a runs/attributes/signals-v1 -a runs/attributes/dsir
    --heldout wiki=../shared/data/reference/wikitext-2-valid.txt --runs 64 --out runs/metarater
    """
    with one_line_errors():
        from curation.destination import Destination
        from raters import api

        result = api.metarater_fit(
            corpus, attributes, heldout, out, runs=runs, tokens=tokens, size=size, top_fraction=top_fraction, lr=lr,
            alpha=alpha, regressor=regressor, column=column, lower_is_better=lower_is_better, classifier_output=classifier_output,
            candidates=candidates, top_candidates=top_candidates, max_documents=max_documents, workers=workers,
            members_per_batch=members_per_batch, reliability_runs=reliability_runs, confirm_seeds=confirm_seeds,
            confirm_singles=confirm_singles, confirm_observed=confirm_observed, seed=seed, tracking=tracking,
            overwrite=overwrite,
        ).details  # fmt: skip
        typer.echo(Destination(str(result.out)).read_bytes("report.md").decode("utf-8"))
        typer.echo(f"weights: {result.out}/weights.json; chart: {result.out}/weights.png")


@metarater_app.command("select")
def metarater_select(
    corpus: Annotated[str, typer.Argument(help="The corpus to select from: a path or a URL.", show_default=False)],
    attributes: Attributes,
    fit: Annotated[str, typer.Option("--fit", help="A directory written by `curate metarater fit`: a path or a URL.")],
    out: Annotated[str, typer.Option("--out", "-o", help="Directory of the selected corpus: a path or a URL.")],
    tokens: Annotated[
        Optional[str], typer.Option(help="Token budget (byte-level tokens: bytes + 1 per document), e.g. 50M.")
    ] = None,
    fraction: Annotated[Optional[float], typer.Option(help="Or: keep this share of the documents.")] = None,
    keep_out: Annotated[
        Optional[str], typer.Option(help="Where the score and keep flags go (default: beside --out).")
    ] = None,
    master: SparkMaster = None,
    conf: SparkConf = None,
    tracking: Tracking = True,
    overwrite: Annotated[
        bool, typer.Option(help="Replace earlier outputs made from other inputs or settings.")
    ] = False,
) -> None:
    """Select the best documents by the fitted weighted score, best first, up to a token budget; write them
    as a new corpus (rejects/ gets the rest, with the reason) whose lineage names the fit and the scores."""
    with one_line_errors():
        from curation.select.job import print_funnel
        from curation.spark import parse_conf
        from raters import api

        result = api.metarater_select(corpus, attributes, fit, out, tokens=tokens, fraction=fraction,
                                      keep_out=keep_out, master=master, conf=parse_conf(conf), tracking=tracking,
                                      overwrite=overwrite)  # fmt: skip
        print_funnel(result.details)
