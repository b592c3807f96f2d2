"""``WORKDIR/pipeline.json``: what a ``curate run`` did, stage by stage, rewritten atomically after each stage.

It is how a rerun knows what it may skip (a stage whose config hash is unchanged and whose outputs are still
committed) and what ``curate report`` reads. Format ``curation.pipeline/v1``::

    {"format", "name", "config_path", "config_hash", "workdir", "mlflow_run_id", "tracking_uri", "finished",
     "stages": [{"name", "kind", "status": "done"|"skipped"|"running"|"failed", "config_hash", "seconds",
                 "mlflow_run_id", "outputs": {"corpus"|"attributes"|"model"|"validation"|"export": path}}]}
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from curation.corpus import write_json_atomic
from curation.errors import ConfigError

STATE_NAME = "pipeline.json"
STATE_FORMAT = "curation.pipeline/v1"

# The file whose presence means an output was committed (each stage writes it last), per kind of output.
COMMIT_MARKERS = {
    "corpus": "manifest.json",
    "attributes": "manifest.json",
    "export": "manifest.json",
    "validation": "results.json",
    "datarater_model": "rater.json",
    "metarater_model": "weights.json",
}


def marker(kind: str, path: str | Path) -> Path:
    return Path(path) / COMMIT_MARKERS[kind]


def fingerprint(kind: str, path: str | Path) -> str | None:
    """Checksum of an output's commit marker (its manifest): equal fingerprints, equal outputs."""
    from curation.corpus import file_sha256

    file = marker(kind, path)
    return file_sha256(file) if file.is_file() else None


def read_state(workdir: Path) -> dict[str, Any] | None:
    path = workdir / STATE_NAME
    if not path.is_file():
        return None
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ConfigError(f"{path}: unreadable pipeline state ({exc}); remove it to start over") from None
    if state.get("format") != STATE_FORMAT:
        raise ConfigError(f"{path}: not a pipeline state file (format={state.get('format')!r})")
    return state


def write_state(workdir: Path, state: dict[str, Any]) -> None:
    write_json_atomic(workdir / STATE_NAME, state)
