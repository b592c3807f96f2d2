"""Reading stage outputs for a report, where anything may be missing: a stage that failed, an output that
was never committed, a file from an older version. Such a gap becomes a note in the report, not a crash."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from curation.errors import CurationError
from curation.report.document import Block, Note
from curation.report.state import Stage

# What reading a damaged or unexpected output can raise (pyarrow's errors derive from these too).
READ_ERRORS = (OSError, ValueError, KeyError, TypeError, IndexError, AttributeError, ZeroDivisionError, CurationError)


class MissingOutput(Exception):
    """An output a section needs is absent or incomplete; the message becomes the note the reader sees."""


def stage_output(stage: Stage, key: str) -> Path:
    if stage.failed:
        raise MissingOutput(f"stage {stage.name!r} failed; its {key} output is not reported")
    path = stage.output(key)
    if path is None:
        raise MissingOutput(f"stage {stage.name!r} lists no {key} output")
    if not path.exists():
        raise MissingOutput(f"stage {stage.name!r}: its {key} output {path} does not exist (not run yet?)")
    return path


def read_json(path: Path, what: str) -> dict[str, Any]:
    if not path.is_file():
        raise MissingOutput(f"{path} is missing: {what} is unfinished or was not written")
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MissingOutput(f"{path}: unreadable ({exc})") from exc
    if not isinstance(payload, dict):
        raise MissingOutput(f"{path}: expected a JSON object")
    return payload


def corpus_manifest(root: Path) -> dict[str, Any]:
    from curation.corpus import MANIFEST_FORMAT, MANIFEST_NAME

    manifest = read_json(root / MANIFEST_NAME, f"the corpus {root}")
    if manifest.get("format") != MANIFEST_FORMAT:
        raise MissingOutput(f"{root / MANIFEST_NAME}: not a corpus manifest (format={manifest.get('format')!r})")
    return manifest


def guarded(stage: Stage, build: Callable[[Stage], list[Block]]) -> list[Block]:
    """The blocks ``build`` makes for one stage, or a note saying why there are none."""
    try:
        return build(stage)
    except MissingOutput as exc:
        return [Note(str(exc))]
    except READ_ERRORS as exc:
        return [Note(f"stage {stage.name!r}: its output could not be read ({type(exc).__name__}: {exc})")]
