"""The contract between ``curate run``'s runner and its stages: a ``Stage`` says what it reads and writes and
runs itself into a ``curation.api.StageResult`` (the same result the Python API returns: path, counts,
MLflow run id, skipped); a ``RunContext`` holds what every stage of one run shares."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from curation.api import StageResult
from curation.pipeline_state import committed, fingerprint


@dataclass(frozen=True)
class RunContext:
    """What every stage of one pipeline run shares: the Spark master and settings, whether MLflow tracks the
    stages (each a nested run of the pipeline's), and the console progress and summaries go to."""

    master: str | None
    spark_conf: dict[str, str] = field(default_factory=dict)
    tracking: bool = True
    console: Any = None


@dataclass
class Stage:
    """One step: what it reads (output kind, path), what it writes, and how. ``run(overwrite)`` returns the
    stage's ``StageResult`` (``skipped`` when the stage itself found its output done)."""

    name: str
    settings: dict[str, Any]
    reads: list[tuple[str, Path | str]]
    writes: dict[str, tuple[str, Path | str]]  # output key -> (marker kind, path or URL)
    run: Callable[[bool], StageResult]
    always_run: bool = False  # the stage checks its own inputs (ingest: the input files' checksums)

    def config_hash(self) -> str:
        inputs = [fingerprint(kind, path) for kind, path in self.reads]
        payload = json.dumps({"stage": self.name, "settings": self.settings, "inputs": inputs}, sort_keys=True)
        return hashlib.sha256(payload.encode()).hexdigest()[:16]

    def committed(self) -> bool:
        return all(committed(kind, path) for kind, path in self.writes.values())
