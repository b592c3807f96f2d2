"""``curate datarater train|score|filter|report``: DataRater (Calian et al., 2025)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from pipelines.cli.options import GpusPerTask, OverwriteAttributes, SparkConf, SparkMaster, Tracking, one_line_errors

datarater_app = typer.Typer(
    help="DataRater (Calian et al., 2025): meta-learn a rater, score a corpus, filter it.", no_args_is_help=True
)


@datarater_app.command("train")
def datarater_train(
    train: Annotated[str, typer.Option("--train", help="Training corpus (corpus dir, Parquet, JSONL or text).")],
    out: Annotated[str, typer.Option("--out", "-o", help="Model directory (rater + checkpoint/): a path or a URL.")],
    heldout: Annotated[
        Optional[str],
        typer.Option(help="Held-out corpus for the outer loss (default: a disjoint share of --train's documents)."),
    ] = None,
    heldout_fraction: Annotated[float, typer.Option(help="Share of --train's documents held out.")] = 0.1,
    config: Annotated[
        Optional[Path], typer.Option("--config", help="YAML file of DataRater settings (see raters/datarater/meta.py).")
    ] = None,
    steps: Annotated[
        Optional[int], typer.Option(help="Outer (meta) steps (default 500, or the --config file's).")
    ] = None,
    population: Annotated[
        Optional[int], typer.Option(help="Inner models (default 8 as in the paper, or the --config file's).")
    ] = None,
    unroll: Annotated[
        Optional[int],
        typer.Option(help="Inner updates per meta-gradient, K (default 2 as in the paper, or the --config file's)."),
    ] = None,
    remat: Annotated[
        Optional[str],
        typer.Option(
            help="none (default): keep all K inner updates' graphs; steps: rebuild one update at a time in the "
            "meta-backward (memory nearly flat in K, same result, ~15% slower)."
        ),
    ] = None,
    seed: Annotated[Optional[int], typer.Option(help="Seed of the rater, inner models and batches.")] = None,
    checkpoint_every: Annotated[int, typer.Option(help="Commit a resumable checkpoint every N outer steps.")] = 25,
    tracking: Tracking = True,
    overwrite: Annotated[
        bool, typer.Option(help="Discard a checkpoint in --out from another corpus or config.")
    ] = False,
) -> None:
    """Meta-train a DataRater: inner proxy LMs train on rater-weighted batches, the rater learns from their
    held-out loss (exact second-order meta-gradients through K inner Adam updates).

    Progress shows outer step, outer loss, meta-gradient norm and time per step; the run is resumable from
    --out/checkpoint; the rater is saved as safetensors in --out for `curate datarater score`.
    """
    with one_line_errors():
        from raters import api

        result = api.datarater_train(
            train, out, heldout=heldout, heldout_fraction=heldout_fraction, config=config, steps=steps,
            population=population, unroll=unroll, remat=remat, seed=seed, checkpoint_every=checkpoint_every,
            tracking=tracking, overwrite=overwrite,
        ).details  # fmt: skip
        typer.echo(f"rater: {result.out} ({result.trainer.step} outer steps)")


@datarater_app.command("score")
def datarater_score(
    corpus: Annotated[str, typer.Argument(help="The corpus to score: a path or a URL.", show_default=False)],
    model: Annotated[
        str,
        typer.Option(
            help="A model directory written by `curate datarater train`: a path, a URL or an MLflow model URI (models:/NAME/VERSION)."
        ),
    ],
    out: Annotated[
        str, typer.Option("--out", "-o", help="Attribute set directory for datarater_score: a path or a URL.")
    ],
    batch_size: Annotated[int, typer.Option(help="Rater windows per forward pass.")] = 64,
    device: Annotated[str, typer.Option(help="auto (the task's GPU when present), or cpu.")] = "auto",
    gpus_per_task: GpusPerTask = 0.0,
    master: SparkMaster = None,
    conf: SparkConf = None,
    tracking: Tracking = True,
    overwrite: OverwriteAttributes = False,
) -> None:
    """Score every document with a trained DataRater (Spark; the model is loaded once per worker)."""
    with one_line_errors():
        from curation.spark import parse_conf
        from raters import api

        result = api.datarater_score(corpus, model, out, batch_size=batch_size, device=device,
                                     gpus_per_task=gpus_per_task, master=master,
                                     conf=parse_conf(conf), tracking=tracking, overwrite=overwrite).details  # fmt: skip
        stats = result.manifest["summary"]["datarater_score"]
        typer.echo(f"datarater_score: mean {stats['mean']:.4f}, min {stats['min']:.4f}, max {stats['max']:.4f}")
        typer.echo(f"attributes: {result.root}")


@datarater_app.command("filter")
def datarater_filter(
    corpus: Annotated[str, typer.Argument(help="The scored corpus (a path or a URL).", show_default=False)],
    scores: Annotated[str, typer.Option(help="Attribute set written by `curate datarater score` (a path or a URL).")],
    out: Annotated[str, typer.Option("--out", "-o", help="Directory of the filtered corpus (a path or a URL).")],
    rho: Annotated[float, typer.Option(help="Fraction dropped (paper: 0.1 for C4, 0.5 C4-noclean, 0.75 Pile).")] = 0.25,
    batch_size: Annotated[int, typer.Option(help="Documents kept per training batch (N); N/(1-rho) are scored.")] = 128,
    mode: Annotated[
        str,
        typer.Option(
            help="probability: per-document P_accept (distributable); batch: drop the bottom rho of each batch."
        ),
    ] = "probability",
    seed: Annotated[int, typer.Option(help="Seed of the batch order or of the per-document draws.")] = 0,
    keep_out: Annotated[
        Optional[str], typer.Option(help="Where the keep flags go (default: beside --scores, named by rho and mode).")
    ] = None,
    master: SparkMaster = None,
    conf: SparkConf = None,
    tracking: Tracking = True,
    overwrite: Annotated[
        bool, typer.Option(help="Replace earlier outputs made from other inputs or settings.")
    ] = False,
) -> None:
    """Keep the documents DataRater prefers: the paper's batch rule, or its per-document equivalent."""
    with one_line_errors():
        from curation.select.job import print_funnel
        from curation.spark import parse_conf
        from raters import api

        result = api.datarater_filter(
            corpus, scores, out, rho=rho, batch_size=batch_size, mode=mode, seed=seed, keep_out=keep_out,
            master=master, conf=parse_conf(conf), tracking=tracking, overwrite=overwrite,
        )  # fmt: skip
        print_funnel(result.details)


@datarater_app.command("report")
def datarater_report(
    corpus: Annotated[str, typer.Argument(help="The scored corpus (a path or a URL).", show_default=False)],
    scores: Annotated[str, typer.Option(help="Attribute set written by `curate datarater score` (a path or a URL).")],
    out: Annotated[str, typer.Option("--out", "-o", help="Directory for report.md and report.json (a path or a URL).")],
    sample: Annotated[int, typer.Option(help="Documents sampled (seeded) for the heuristics analysis.")] = 5000,
    tracking: Tracking = True,
) -> None:
    """What the rater learned: highest- and lowest-scored documents, and the correlation of its score with
    the numeric heuristics (Spearman per heuristic, R² of a linear fit on all). Logged to MLflow."""
    with one_line_errors():
        from curation.destination import Destination
        from curation.tracking import stage_run
        from raters.datarater.report import learned_report

        destination = Destination(out)
        destination.check_writable("--out")
        markdown, payload = learned_report(corpus, scores, sample=sample)
        destination.commit_file("report.md", lambda path: path.write_text(markdown, encoding="utf-8"), "driver")
        destination.write_json("report.json", payload)
        params = {"corpus": str(corpus), "scores": str(scores), "sample": sample}
        with stage_run("datarater-report", params, enabled=tracking) as run:
            if payload["heuristics_r2"] is not None:
                run.log_metrics({"heuristics_r2": payload["heuristics_r2"]})
            for name in ("report.md", "report.json"):
                with destination.local_copy(name) as local:
                    run.log_artifact(local)
        typer.echo(markdown)
