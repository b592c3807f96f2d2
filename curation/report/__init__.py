"""``curate report``: one HTML page (and the same in Markdown) that says what a pipeline run did and whether
it worked: stages, funnel, rater scores, removed and kept examples, proxy validation, rater weights, export.

Reads ``WORKDIR/pipeline.json`` (see ``state``) and the outputs it lists; writes ``WORKDIR/report/``."""

from curation.report.build import ReportResult, build_report

__all__ = ["ReportResult", "build_report"]
