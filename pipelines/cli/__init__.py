"""The ``curate`` command line: a thin layer over the library (``curation``), the raters (``raters``) and
the pipeline runner (``pipelines.runner``). One module per command group; ``app`` holds the root commands."""

from pipelines.cli.app import app, main

__all__ = ["app", "main"]
