"""A rater's saved model folder: its JSON config, written last, says the folder holds a finished model.

Shared by the raters that save one (DSIR, fastText quality, dimension raters, proxy perplexity): reading the
config back with its format checked, the checksum that identifies the saved files in an attribute set's
config, and refusing to write a new model over a finished one.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from curation.errors import ConfigError


def read_model_config(
    folder: Path, name: str, expected_format: str, how: str, what: str | None = None
) -> dict[str, Any]:
    """``folder / name`` parsed, checked to be of ``expected_format``. ``how`` is the command that trains one;
    ``what`` names the model in the errors (default: "a trained model", or the format when it differs)."""
    path = folder / name
    if not path.is_file():
        raise ConfigError(f"{folder}: not {what or 'a trained model'} (no {name}; run `{how}`)")
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ConfigError(f"{path}: unreadable ({exc})") from exc
    if payload.get("format") != expected_format:
        raise ConfigError(f"{path}: not {what or f'a {expected_format} model'} (format={payload.get('format')!r})")
    return payload


def model_checksum(folder: str | Path, files: Sequence[str]) -> str:
    """Identifies a saved model in an attribute set's config (a model retrained into the same folder differs):
    the SHA-256 of ``files`` read one after the other, 16 hex digits."""
    digest = hashlib.sha256()
    for name in files:
        with open(Path(folder) / name, "rb") as fh:
            for block in iter(lambda fh=fh: fh.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()[:16]


def check_model_dir(out: Path, config_file: str, what: str, overwrite: bool) -> None:
    """Refuse to write over a finished model (one with ``config_file``) unless asked. With ``overwrite`` its
    config goes first, so an interrupted retrain leaves an unfinished model (refused when loading), never old
    files under a new config. ``what`` names the model in the error, e.g. "a DSIR model"."""
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out} exists and is not a directory")
    if (out / config_file).is_file():
        if not overwrite:
            raise ConfigError(f"{out} already holds {what}; pass --overwrite or choose another --out")
        (out / config_file).unlink()
