"""Where an exported corpus came from: its manifest, and every corpus and attribute set before it.

Each corpus-writing stage records its parent in ``manifest["lineage"]``: select (and the DataRater
filter, which is a select) writes ``lineage.corpus = {path, fingerprint}``, the attribute sets with
their MLflow run ids, and the rule; ingest lists its raw ``inputs`` with checksums. Any lineage entry
with a ``path`` and a ``fingerprint`` (a mixture's several inputs included) is followed as a parent
corpus, so stages added later are walked without changes here.

A path in the chain is a local directory (named resolved) or a URL (``s3://...``, named as written): a corpus
on an object store and the stages before it are read through ``Destination``, and an ancestor that cannot be
read (gone, denied, its filesystem not installed) is listed as missing.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from curation.corpus import MANIFEST_NAME
from curation.errors import ConfigError

PARENT_SKIP_KEYS = {"attributes"}  # attribute sets are described, not walked: they describe the parent


def _location(path: str | Path) -> str:
    """How the chain names a directory: a URL as written (without a final slash), a local path resolved."""
    from curation.storage import is_remote

    return str(path).rstrip("/") if is_remote(str(path)) else str(Path(path).resolve())


def _read_manifest(location: str) -> tuple[dict[str, Any], str] | None:
    """The manifest of the directory at ``location`` (a path or a URL) and its sha256; None when unreadable."""
    from curation.destination import Destination

    try:
        raw = Destination(location).read_bytes(MANIFEST_NAME)
        return (json.loads(raw), hashlib.sha256(raw).hexdigest()) if raw is not None else None
    except (OSError, ValueError, ConfigError):  # gone, denied, not JSON, or its filesystem not installed
        return None


def _parent_refs(lineage: dict[str, Any]) -> list[dict[str, Any]]:
    refs = []
    for key, value in sorted(lineage.items()):
        if key in PARENT_SKIP_KEYS:
            continue
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, dict) and "path" in item and "fingerprint" in item:
                refs.append(item)
    return refs


def _attribute_set(entry: dict[str, Any]) -> dict[str, Any]:
    described = {
        "path": entry.get("path"),
        "name": entry.get("name"),
        "mlflow_run_id": entry.get("mlflow_run_id"),
    }
    found = _read_manifest(_location(entry["path"])) if entry.get("path") else None
    if found is None:
        described["missing"] = True
        return described
    manifest, sha = found
    described.update(
        producer=manifest.get("producer"),
        version=manifest.get("version"),
        config_hash=manifest.get("config_hash"),
        manifest_sha256=sha,
    )
    return described


def corpus_lineage(root: str | Path) -> list[dict[str, Any]]:
    """The corpus at ``root`` (a path or a URL) and its ancestors, nearest first (``depth`` 0 is ``root`` itself).

    An ancestor whose directory is gone is listed with ``missing: true`` and the checksum its child
    recorded; ``fingerprint_matches`` is false when an ancestor was rewritten after its child was made.
    """
    chain: list[dict[str, Any]] = []
    seen: set[str] = set()
    queue: list[tuple[str, str | None, int]] = [(_location(root), None, 0)]
    while queue:
        directory, recorded, depth = queue.pop(0)
        if directory in seen:
            continue
        seen.add(directory)
        entry: dict[str, Any] = {"depth": depth, "path": directory}
        found = _read_manifest(directory)
        if found is None:
            entry.update(missing=True, manifest_sha256=recorded)
            chain.append(entry)
            continue
        manifest, sha = found
        lineage = manifest.get("lineage") or {}
        created_by = manifest.get("created_by") or {}
        entry.update(
            kind=manifest.get("kind"),
            manifest_sha256=sha,
            config_hash=manifest.get("config_hash"),
            mlflow_run_id=manifest.get("mlflow_run_id"),
            documents=(manifest.get("counts") or {}).get("documents"),
            code_version=created_by.get("code") or created_by.get("version"),
        )
        if recorded is not None:
            entry["fingerprint_matches"] = sha == recorded
        if "rule" in lineage:
            entry["rule"] = lineage["rule"]
        if "seed" in lineage:
            entry["seed"] = lineage["seed"]
        if lineage.get("attributes"):
            entry["attribute_sets"] = [_attribute_set(a) for a in lineage["attributes"]]
        if manifest.get("config") is not None:
            entry["config"] = manifest["config"]
        if manifest.get("inputs"):
            entry["inputs"] = [
                {key: item.get(key) for key in ("path", "size", "sha256", "format")} for item in manifest["inputs"]
            ]
        parents = _parent_refs(lineage)
        entry["parents"] = [_location(p["path"]) for p in parents]
        chain.append(entry)
        queue.extend((_location(p["path"]), p["fingerprint"], depth + 1) for p in parents)
    return chain
