"""Resolving INPUT arguments (files, directories, globs) and detecting each file's format."""

from __future__ import annotations

import glob
import os

from curation.errors import ConfigError, InputNotFoundError
from curation.readers.streams import PARQUET_MAGIC, compression_of, decompressed_head
from curation.storage import PROBE_READ_AHEAD, is_remote, local_path, open_binary, resolve_remote

FORMATS = ("warc", "jsonl", "parquet")
FORMAT_ALIASES = {"wet": "warc", "warc.wet": "warc", "json": "jsonl", "ndjson": "jsonl"}
_SKIP_NAMES = ("manifest.json", "_SUCCESS")


def resolve_inputs(patterns: list[str]) -> list[str]:
    """Expand every argument to a sorted, de-duplicated list of files; fail fast on any that match nothing."""
    if not patterns:
        raise InputNotFoundError("no input given")
    files: list[str] = []
    for pattern in patterns:
        if is_remote(pattern):
            files.extend(resolve_remote(pattern))
            continue
        pattern = local_path(pattern)
        matches = sorted(glob.glob(pattern, recursive=True)) if glob.has_magic(pattern) else [pattern]
        if not matches or not any(os.path.exists(m) for m in matches):
            raise InputNotFoundError(f"input not found: {pattern}")
        for match in matches:
            if os.path.isdir(match):
                for root, dirs, names in os.walk(match):
                    dirs[:] = sorted(d for d in dirs if not d.startswith((".", "_")))
                    files.extend(
                        os.path.join(root, name)
                        for name in sorted(names)
                        if not name.startswith((".", "_")) and name not in _SKIP_NAMES
                    )
            elif os.path.isfile(match):
                files.append(match)
    unique = sorted({f if is_remote(f) else os.path.abspath(f) for f in files})
    if not unique:
        raise InputNotFoundError(f"no input files under: {' '.join(patterns)}")
    for path in unique:
        if not is_remote(path) and not os.access(path, os.R_OK):
            raise InputNotFoundError(f"input not readable (permission denied): {path}")
    return unique


def normalise_format(name: str) -> str:
    name = FORMAT_ALIASES.get(name.lower(), name.lower())
    if name != "auto" and name not in FORMATS:
        raise ConfigError(f"unknown format {name!r}; choose auto, wet, {', '.join(FORMATS)}")
    return name


def detect_format(path: str) -> str | None:
    """Format by extension, confirmed or decided by magic bytes; None when it cannot be told."""
    lower = path.lower()
    for suffix in (".gz", ".zst", ".zstd"):
        if lower.endswith(suffix):
            lower = lower[: -len(suffix)]
    if lower.endswith((".warc", ".wet", ".arc")):
        return "warc"
    if lower.endswith((".jsonl", ".json", ".ndjson")):
        return "jsonl"
    if lower.endswith(".parquet"):
        return "parquet"
    compression = compression_of(path)
    if compression == "none":
        with open_binary(path, PROBE_READ_AHEAD) as fh:
            if fh.read(4) == PARQUET_MAGIC:
                return "parquet"
    head = decompressed_head(path, compression).lstrip()
    if head.startswith(b"WARC/"):
        return "warc"
    if head.startswith(b"{"):
        return "jsonl"
    return None
