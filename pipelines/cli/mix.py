"""``curate mix`` and ``curate top``: mixtures under a token budget, and top-k selections on any score."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from pipelines.cli.options import OverwriteAttributes, Tracking, one_line_errors

Attributes = Annotated[
    Optional[list[str]],
    typer.Option(
        "--attributes", "-a", help="Attribute set directories (paths or URLs) holding the column (repeatable)."
    ),
]
Tokenizer = Annotated[
    str,
    typer.Option(
        help="What a token is: bytes (UTF-8 bytes, the corpus's n_bytes) or a tokenizers tokenizer.json path."
    ),
]


def mix_command(
    corpus: Annotated[str, typer.Argument(help="The corpus to draw the mixture from.", show_default=False)],
    out: Annotated[str, typer.Option("--out", "-o", help="Directory of the new corpus (a path or a URL).")],
    target: Annotated[
        list[str],
        typer.Option(
            help="NAME=SHARE (repeatable), e.g. c4=0.6 or wiki=40%; the shares sum to 1. '*=SHARE' pools every value "
            "no other target names; without it those values are dropped (rejects/, share 0)."
        ),
    ],
    tokens: Annotated[str, typer.Option(help="Total token budget of the mixture, e.g. 500k, 2M.")],
    column: Annotated[
        str, typer.Option(help="String column whose values the shares are of: the corpus's or an attribute set's.")
    ] = "source",
    attributes: Attributes = None,
    seed: Annotated[int, typer.Option(help="Seed of the document order (a hash of seed and id).")] = 0,
    tokenizer: Tokenizer = "bytes",
    on_short: Annotated[
        str,
        typer.Option(
            help="A value with fewer tokens than its quota: repeat its documents (copies get ids ID#r1, ID#r2, ...) "
            "so every share is met, or fill: no repeats, its shortfall goes to the other values by share."
        ),
    ] = "repeat",
    tracking: Tracking = True,
    overwrite: Annotated[
        bool, typer.Option(help="Replace a corpus in --out made from another input or mixture.")
    ] = False,
) -> None:
    """Draw a mixture with target shares of a column's values (default: source) under a token budget.

    Each value's quota is its share of --tokens. A value with more tokens keeps a seeded random subset
    (documents ordered by a hash of seed and id, kept while they fit: never above the quota, short by
    less than one document); the rest go to rejects/ with reason 'mixture'. A value with fewer tokens is
    repeated or filled (--on-short). The new corpus's manifest records the lineage, the tokenizer and,
    per value, tokens available, quota, selected, repeated and the achieved share (also in MLflow).

    Example: curate mix runs/corpus --out runs/mix --target c4=0.7 --target wiki=0.3 --tokens 2M
    """
    with one_line_errors():
        from curation.mix.config import MixConfig, parse_targets
        from curation.mix.job import print_mixture, run_mix

        cfg = MixConfig(
            targets=parse_targets(target),
            tokens=tokens,
            column=column,
            seed=seed,
            tokenizer=tokenizer,
            on_short=on_short,
            attributes=tuple(str(a) for a in attributes or []),
        )
        print_mixture(run_mix(corpus, out, cfg, tracking=tracking, overwrite=overwrite))


def top_command(
    corpus: Annotated[str, typer.Argument(help="The corpus whose documents are ranked.", show_default=False)],
    score: Annotated[
        str, typer.Option(help="Numeric column to rank by: the corpus's (e.g. lang_score) or an attribute set's.")
    ],
    out: Annotated[
        str, typer.Option("--out", "-o", help="Attribute set directory (a path or a URL) for top_keep and top_rank.")
    ],
    attributes: Attributes = None,
    fraction: Annotated[Optional[float], typer.Option(help="Keep this fraction of the documents, best first.")] = None,
    k: Annotated[Optional[int], typer.Option("--k", help="Keep this many documents, best first.")] = None,
    tokens: Annotated[
        Optional[str],
        typer.Option(help="Keep the longest best-first run of documents whose tokens fit this budget, e.g. 2M."),
    ] = None,
    lower_is_better: Annotated[bool, typer.Option("--lower-is-better", help="Rank the lowest scores first.")] = False,
    tokenizer: Tokenizer = "bytes",
    tracking: Tracking = True,
    overwrite: OverwriteAttributes = False,
) -> None:
    """Flag the best documents by any numeric score: top fraction, top k, or a token budget.

    Ranks best first (ties by id, NaN and null last) and writes an attribute set with top_keep (bool) and
    top_rank (1 = best). Apply it with select, alone or with other clauses; dropped documents land in
    rejects/ with the clause top_keep.

    Example: curate top runs/corpus --score fasttext_quality -a attributes/fasttext --fraction 0.3
    --out attributes/top30 && curate select runs/corpus -a attributes/top30 --rule top_keep --out runs/top30
    """
    with one_line_errors():
        from curation.mix.config import TopConfig
        from curation.mix.top import run_top

        cfg = TopConfig(
            score=score, fraction=fraction, k=k, tokens=tokens, lower_is_better=lower_is_better, tokenizer=tokenizer
        )
        result = run_top(corpus, [str(a) for a in attributes or []], out, cfg, tracking=tracking, overwrite=overwrite)
        stats = result.attributes.manifest["summary"]["top_keep"]
        direction = "lowest" if lower_is_better else "highest"
        line = f"top_keep: {stats['true']:,} of {stats['rows']:,} documents ({direction} {score} first)"
        if result.kept_tokens is not None:
            line += f", {result.kept_tokens:,} {'tokens' if tokens else 'bytes'}"
        typer.echo(line)
        typer.echo(f"attributes: {result.attributes.root} (select with --rule top_keep)")
