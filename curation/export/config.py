"""What an export writes: the format, the columns (and their names in the output), the file sizes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from curation.errors import ConfigError

FORMATS = ("parquet", "jsonl.zst")
EXTENSIONS = {"parquet": ".parquet", "jsonl.zst": ".jsonl.zst"}

# What most trainers read: the text, a stable id, and the provenance a data card needs.
DEFAULT_COLUMNS = ("text", "id", "url", "source", "timestamp", "lang", "n_bytes")


def parse_columns(value: str | Sequence[str] | None) -> tuple[str, ...] | None:
    """``"text,id,url"`` or ``["text", "id"]`` -> a tuple of names; None or "" keeps the default."""
    if value is None:
        return None
    items = value.split(",") if isinstance(value, str) else [part for v in value for part in str(v).split(",")]
    names = tuple(item.strip() for item in items if item.strip())
    return names or None


def parse_renames(value: Mapping[str, str] | Sequence[str] | None) -> tuple[tuple[str, str], ...]:
    """``{"id": "doc_id"}`` or ``["id=doc_id"]`` -> sorted ``(old, new)`` pairs."""
    if not value:
        return ()
    if isinstance(value, Mapping):
        pairs = [(str(k), str(v)) for k, v in value.items()]
    else:
        if isinstance(value, str):
            value = [value]
        pairs = []
        for item in value:
            old, sep, new = str(item).partition("=")
            if not sep or not old.strip() or not new.strip():
                raise ConfigError(f"--rename {item!r}: expected OLD=NEW, e.g. id=doc_id")
            pairs.append((old.strip(), new.strip()))
    olds = [old for old, _ in pairs]
    for old in olds:
        if olds.count(old) > 1:
            raise ConfigError(f"--rename: column {old!r} is renamed twice")
    return tuple(sorted(pairs))


@dataclass(frozen=True)
class ExportConfig:
    """Options of ``curate export``. Bad values raise ConfigError here, before any work.

    ``shard_rows`` is the number of documents per output file; 0 writes one file per (non-empty)
    corpus shard. ``row_group_rows`` applies to Parquet only. The zstd level is fixed per config, so
    the same input and config always give byte-identical files.
    """

    format: str = "parquet"
    columns: tuple[str, ...] | None = None
    rename: tuple[tuple[str, str], ...] = field(default=())
    shard_rows: int = 100_000
    row_group_rows: int = 10_000
    zstd_level: int = 3

    def __post_init__(self) -> None:
        if self.format not in FORMATS:
            raise ConfigError(f"--format {self.format!r}: expected one of {', '.join(FORMATS)}")
        object.__setattr__(self, "columns", parse_columns(self.columns))
        object.__setattr__(self, "rename", parse_renames(self.rename))
        if self.columns is not None:
            for name in self.columns:
                if self.columns.count(name) > 1:
                    raise ConfigError(f"--columns: {name!r} is listed twice")
        for key, low in (("shard_rows", 0), ("row_group_rows", 1)):
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ConfigError(f"--{key.replace('_', '-')} must be an integer >= {low}, got {value!r}")
        if isinstance(self.zstd_level, bool) or not isinstance(self.zstd_level, int) or not 1 <= self.zstd_level <= 19:
            raise ConfigError(f"--zstd-level must be an integer from 1 to 19, got {self.zstd_level!r}")

    @property
    def extension(self) -> str:
        return EXTENSIONS[self.format]

    def resolve_columns(self, available: Sequence[str]) -> list[tuple[str, str]]:
        """``(corpus column, output name)`` pairs, checked against the corpus's columns."""
        wanted = list(available) if self.columns == ("all",) else list(self.columns or DEFAULT_COLUMNS)
        for name in wanted:
            if name not in available:
                raise ConfigError(f"--columns: unknown column {name!r}; available: {', '.join(available)}")
        renames = dict(self.rename)
        for old in renames:
            if old not in wanted:
                where = "not exported (add it to --columns)" if old in available else "unknown"
                raise ConfigError(f"--rename {old}=...: column {old!r} is {where}; exported: {', '.join(wanted)}")
        pairs = [(name, renames.get(name, name)) for name in wanted]
        outputs = [new for _, new in pairs]
        for new in outputs:
            if outputs.count(new) > 1:
                raise ConfigError(f"--rename: two output columns would be named {new!r}")
        return pairs

    def as_dict(self) -> dict[str, Any]:
        return {
            "format": self.format,
            "columns": list(self.columns) if self.columns is not None else None,
            "rename": dict(self.rename),
            "shard_rows": self.shard_rows,
            "row_group_rows": self.row_group_rows,
            "zstd_level": self.zstd_level,
        }
