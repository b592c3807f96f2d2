"""``curate metarater fit|select``: Meta-rater (Zhuang et al., 2025)."""

from __future__ import annotations

import typer

metarater_app = typer.Typer(
    help="Meta-rater (Zhuang et al., 2025): learn how to weight quality scores from proxy runs, then select.",
    no_args_is_help=True,
)
