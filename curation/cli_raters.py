"""``curate raters ...``: the quality scores Meta-rater combines (DSIR, fastText quality, proxy perplexity,
dimension raters). Each trains (when it needs to) and scores a corpus into its own attribute set."""

from __future__ import annotations

import typer

raters_app = typer.Typer(
    help="Quality raters: train them and score a corpus, one attribute set per rater.", no_args_is_help=True
)
