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


def committed(kind: str, path: str | Path) -> bool:
    """Whether the output at ``path`` (a local directory or a URL) holds its commit marker."""
    from curation.destination import Destination

    return Destination(path).exists(COMMIT_MARKERS[kind])


def fingerprint(kind: str, path: str | Path) -> str | None:
    """Checksum of an output's commit marker (its manifest): equal fingerprints, equal outputs."""
    import hashlib

    from curation.destination import Destination

    data = Destination(path).read_bytes(COMMIT_MARKERS[kind])
    return hashlib.sha256(data).hexdigest() if data is not None else None


def read_state(workdir: str | Path) -> dict[str, Any] | None:
    """The work directory's pipeline.json (a local directory or a URL), or None when there is none."""
    from curation.destination import Destination

    where = Destination(workdir)
    data = where.read_bytes(STATE_NAME)
    if data is None:
        return None
    try:
        state = json.loads(data)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"{where.url(STATE_NAME)}: unreadable pipeline state ({exc}); remove it to start over"
        ) from None
    if state.get("format") != STATE_FORMAT:
        raise ConfigError(f"{where.url(STATE_NAME)}: not a pipeline state file (format={state.get('format')!r})")
    return state


def write_state(workdir: str | Path, state: dict[str, Any]) -> None:
    """Commit pipeline.json: by rename locally, in one PUT on an object store."""
    from curation.destination import Destination

    Destination(workdir).write_json(STATE_NAME, state)
