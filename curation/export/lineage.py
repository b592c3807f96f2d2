"""Where an exported corpus came from: its manifest, and every corpus and attribute set before it.

Each corpus-writing stage records its parent in ``manifest["lineage"]``: select (and the DataRater
filter, which is a select) writes ``lineage.corpus = {path, fingerprint}``, the attribute sets with
their MLflow run ids, and the rule; ingest lists its raw ``inputs`` with checksums. Any lineage entry
with a ``path`` and a ``fingerprint`` (a mixture's several inputs included) is followed as a parent
corpus, so stages added later are walked without changes here.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from curation.corpus import MANIFEST_NAME

PARENT_SKIP_KEYS = {"attributes"}  # attribute sets are described, not walked: they describe the parent


def _read_manifest(directory: Path) -> tuple[dict[str, Any], str] | None:
    path = directory / MANIFEST_NAME
    try:
        raw = path.read_bytes()
        return json.loads(raw), hashlib.sha256(raw).hexdigest()
    except (OSError, json.JSONDecodeError):
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
    found = _read_manifest(Path(entry["path"])) if entry.get("path") else None
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
    """The corpus at ``root`` and its ancestors, nearest first (``depth`` 0 is ``root`` itself).

    An ancestor whose directory is gone is listed with ``missing: true`` and the checksum its child
    recorded; ``fingerprint_matches`` is false when an ancestor was rewritten after its child was made.
    """
    chain: list[dict[str, Any]] = []
    seen: set[str] = set()
    queue: list[tuple[Path, str | None, int]] = [(Path(root).resolve(), None, 0)]
    while queue:
        directory, recorded, depth = queue.pop(0)
        if str(directory) in seen:
            continue
        seen.add(str(directory))
        entry: dict[str, Any] = {"depth": depth, "path": str(directory)}
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
        entry["parents"] = [str(Path(p["path"]).resolve()) for p in parents]
        chain.append(entry)
        queue.extend((Path(p["path"]).resolve(), p["fingerprint"], depth + 1) for p in parents)
    return chain
