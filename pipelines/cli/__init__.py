"""The ``curate`` command line: a thin layer over the library (``curation``), the raters (``raters``) and
the pipeline runner (``pipelines.runner``). One module per command group (``ingest``, ``attributes``, ``raters``,
``datarater``, ``metarater``, ``mix``, ``validate``, ``export``, ``report``, ``pipeline``, ``demo``); ``app`` registers them
under the root options."""

from pipelines.cli.app import app, main

__all__ = ["app", "main"]
