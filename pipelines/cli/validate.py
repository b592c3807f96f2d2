"""``curate validate``: proxy models trained on each set at equal tokens, evaluated on held-out text."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from pipelines.cli.options import Tracking, one_line_errors


def validate_command(
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
