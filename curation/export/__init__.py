"""Export a curated corpus in the formats trainers read: Parquet or JSON Lines + zstd, with a manifest."""

from curation.export.config import DEFAULT_COLUMNS, FORMATS, ExportConfig
from curation.export.job import EXPORT_FORMAT, ExportResult, run_export

__all__ = ["DEFAULT_COLUMNS", "EXPORT_FORMAT", "FORMATS", "ExportConfig", "ExportResult", "run_export"]
