"""Annotations for a dimension rater: JSON Lines (plain, ``.gz`` or ``.zst``), one labelled document a line.

Each record has the document's ``text`` (a non-empty string) and a score 0-5 (a JSON number, field ``score``
unless ``label_field`` says otherwise). A fractional score (e.g. the mean of several annotators) is rounded
to the nearest class, halves to even. Any other line (not JSON, a missing or non-string text, a missing,
non-numeric or out-of-range score) is reported with file:line and skipped; the skipped lines are counted.
"""

from __future__ import annotations

import json
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from curation.errors import ConfigError, InputNotFoundError

CLASSES = tuple(range(6))  # scores 0..5
SHOWN_SKIPS = 20  # bad lines printed one by one; the rest are counted


@dataclass
class Annotations:
    path: str
    texts: list[str]
    labels: np.ndarray  # int64, one class in 0..5 per text
    skipped: list[str] = field(default_factory=list)  # "file:line: reason", one per bad line
    rounded: int = 0  # fractional scores rounded to a class

    def class_counts(self) -> dict[int, int]:
        return {c: int((self.labels == c).sum()) for c in CLASSES}


def _label(record, label_field: str) -> tuple[int, bool]:
    """(class, was rounded) from a record, or ValueError saying what is wrong."""
    if not isinstance(record, dict):
        raise ValueError("not a JSON object")
    text = record.get("text")
    if not isinstance(text, str) or not text.strip():
        raise ValueError("'text' is missing, empty or not a string")
    if label_field not in record:
        raise ValueError(f"no {label_field!r} field")
    score = record[label_field]
    if isinstance(score, bool) or not isinstance(score, int | float) or not math.isfinite(score):
        raise ValueError(f"{label_field!r} is {json.dumps(score)[:40]}, not a number")
    if not 0 <= score <= 5:
        raise ValueError(f"{label_field!r} is {score}, outside 0-5")
    value = int(round(score))
    return value, value != score


def read_annotations(path: str | Path, label_field: str = "score", report=None) -> Annotations:
    """Every usable record of ``path``; bad lines go to ``report`` (default: stderr), the first 20 in full."""
    from curation.readers.streams import compression_of, open_decompressed
    from curation.storage import as_path

    path = str(path)
    if not as_path(path).is_file():  # a local file or an object at a URL
        raise InputNotFoundError(f"{path}: no such annotations file")
    report = report or (lambda line: print(line, file=sys.stderr))
    texts, labels, skipped, rounded = [], [], [], 0
    with open_decompressed(str(path), compression_of(str(path))) as fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                label, was_rounded = _label(record, label_field)
            except ValueError as exc:  # json.JSONDecodeError is a ValueError
                reason = str(exc).splitlines()[0][:120]
                skipped.append(f"{path}:{number}: skipped ({reason})")
                if len(skipped) <= SHOWN_SKIPS:
                    report(skipped[-1])
                continue
            texts.append(record["text"])
            labels.append(label)
            rounded += was_rounded
    if len(skipped) > SHOWN_SKIPS:
        report(f"{path}: {len(skipped) - SHOWN_SKIPS} more bad lines skipped")
    return Annotations(str(path), texts, np.asarray(labels, dtype=np.int64), skipped, rounded)


def check_enough(annotations: Annotations, minimum: int) -> None:
    """Fail fast when the labels cannot train and evaluate a rater."""
    usable = len(annotations.texts)
    if usable < minimum:
        raise ConfigError(
            f"{annotations.path}: {usable} usable annotations ({len(annotations.skipped)} bad lines skipped); "
            f"a dimension rater needs at least {minimum}"
        )
    present = [c for c, n in annotations.class_counts().items() if n]
    if len(present) < 2:
        raise ConfigError(f"{annotations.path}: every annotation has score {present[0]}; need at least two classes")
