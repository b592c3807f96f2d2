"""Validated options of the ingest job. A bad value fails here, before Spark starts."""

from __future__ import annotations

import hashlib
import json
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from curation.readers.detect import normalise_format
from curation.text.extract import EXTRACTORS

MiB = 1 << 20


# The version of the rules that turn HTML records into text, outside the options: bumped when a change of code
# changes the text of the same HTML. WARC inputs are the only ones holding HTML, so it is part of the config hash
# of a corpus with a WARC input, and only of those: a corpus (or a half-done run) made from WARCs by older rules
# is never taken as complete, or resumed, by newer ones, while JSONL and Parquet corpora keep their hash.
# 1: up to 2026-12-06. 2: HTML without a declared charset that is valid UTF-8 (with a non-ASCII byte) is read as
#    UTF-8, not as what the charset detector guessed (`curation.text.extract.html_to_str`).
HTML_RULES_VERSION = 2


class IngestConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    inputs: list[str] = Field(min_length=1, description="files, directories or globs")
    out: str
    format: str = "auto"
    extractor: Literal[EXTRACTORS] = "resiliparse"  # type: ignore[valid-type]
    shards: int = Field(8, ge=1, le=100_000)
    text_field: str = "text"
    id_field: str = "id"
    url_field: str = "url"
    timestamp_field: str = "timestamp"
    source: str | None = None
    langid: bool = True
    lid_model: str | None = None
    split_mb: float = Field(16.0, gt=0, description="target input size of one task; bigger files are split")
    max_record_mb: float = Field(64.0, gt=0)
    max_html_mb: float = Field(8.0, gt=0)
    max_text_mb: float = Field(8.0, gt=0)
    max_invalid_utf8: float = Field(0.01, ge=0, le=1, description="fraction of a text's characters")
    extraction_timeout_s: float = Field(30.0, ge=0)
    row_group_rows: int = Field(4096, ge=1)

    @field_validator("format")
    @classmethod
    def _known_format(cls, value: str) -> str:
        from curation.errors import ConfigError

        try:
            return normalise_format(value)
        except ConfigError as exc:
            raise ValueError(str(exc)) from None

    @property
    def fields(self) -> dict[str, str]:
        return {"text": self.text_field, "id": self.id_field, "url": self.url_field, "timestamp": self.timestamp_field}

    def output_affecting(self) -> dict:
        """The options that change the output bytes (not paths of the run, not Spark settings)."""
        return self.model_dump(exclude={"out"})

    def config_hash(self, input_checksums: list[str], html_rules: int | None = None) -> str:
        """The digest of what the corpus's bytes depend on: the options, the inputs' checksums and, with HTML
        among the inputs, the HTML rules' version (``html_rules``; version 1 was never part of the hash)."""
        payload: dict = {"config": self.output_affecting(), "inputs": input_checksums}
        if html_rules is not None and html_rules != 1:
            payload["html_rules"] = html_rules
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]
