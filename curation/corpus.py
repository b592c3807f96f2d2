"""A corpus directory: ``shards/part-NNNNN.parquet`` + ``rejects/`` + ``manifest.json``.

Readers trust only what the manifest lists. Every file is written under a temporary name and
committed by ``os.replace``; the manifest is committed last, so a directory without a manifest
(or with shards the manifest does not list) is an unfinished write, never a corpus.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from curation.errors import CorpusError
from curation.parquet_stream import open_parquet_stream

MANIFEST_NAME = "manifest.json"
MANIFEST_FORMAT = "curation.corpus/v1"
SHARDS_DIR = "shards"
REJECTS_DIR = "rejects"
WORK_DIR = "_work"


def shard_name(index: int) -> str:
    return f"part-{index:05d}.parquet"


def file_sha256(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    from curation.storage import open_binary

    digest = hashlib.sha256()
    with open_binary(str(path)) as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def temporary_path(final: Path, tag: str = "") -> Path:
    """A sibling name that no reader globbing ``*.parquet`` or ``manifest.json`` will pick up."""
    return final.with_name(f".{final.name}.{tag or os.getpid()}.tmp")


def commit(tmp: Path, final: Path) -> None:
    """Atomically move a finished file into place (same filesystem, so rename is atomic)."""
    final.parent.mkdir(parents=True, exist_ok=True)
    os.replace(tmp, final)


def write_json_atomic(path: Path, payload: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_path(path)
    # A lone surrogate (a file name that is not UTF-8) is written as its JSON escape: the same string reads back.
    with open(tmp, "w", encoding="utf-8", errors="backslashreplace") as fh:
        json.dump(payload, fh, indent=2, sort_keys=True, ensure_ascii=False, allow_nan=False)
        fh.write("\n")
        fh.flush()
        os.fsync(fh.fileno())
    commit(tmp, path)


def write_parquet_atomic(table, path: Path, row_group_rows: int = 8192) -> None:
    """Write an Arrow table as one zstd Parquet file, committed by rename."""
    import pyarrow.parquet as pq

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_path(path)
    pq.write_table(table, tmp, compression="zstd", row_group_size=row_group_rows)
    commit(tmp, path)


@dataclass(frozen=True)
class Corpus:
    """A committed corpus directory, opened through its manifest."""

    root: Path
    manifest: dict[str, Any]

    @classmethod
    def open(cls, root: str | os.PathLike) -> Corpus:
        root = Path(root)
        manifest_path = root / MANIFEST_NAME
        if not root.is_dir():
            raise CorpusError(f"{root}: no such corpus directory")
        if not manifest_path.is_file():
            raise CorpusError(f"{root}: no {MANIFEST_NAME}; the corpus is incomplete (a write did not finish)")
        try:
            manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise CorpusError(f"{manifest_path}: unreadable manifest ({exc})") from exc
        if manifest.get("format") != MANIFEST_FORMAT:
            raise CorpusError(f"{manifest_path}: not a curation corpus manifest (format={manifest.get('format')!r})")
        for shard in manifest.get("shards", []):
            if not (root / shard["path"]).is_file():
                raise CorpusError(f"{root}: manifest lists {shard['path']} but the file is missing")
        return cls(root, manifest)

    @property
    def shard_paths(self) -> list[Path]:
        return [self.root / shard["path"] for shard in self.manifest["shards"]]

    @property
    def reject_paths(self) -> list[Path]:
        return [self.root / entry["path"] for entry in self.manifest.get("rejects", [])]

    @property
    def num_documents(self) -> int:
        return int(self.manifest["counts"]["documents"])

    def read_documents(self, columns: list[str] | None = None):
        """All documents as one Arrow table (small corpora and tests; stages stream shards)."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        from curation.schema import DOCUMENT_SCHEMA

        tables = [pq.read_table(path, columns=columns) for path in self.shard_paths]
        if not tables:
            schema = DOCUMENT_SCHEMA if columns is None else pa.schema([DOCUMENT_SCHEMA.field(c) for c in columns])
            return schema.empty_table()
        return pa.concat_tables(tables)

    def read_rejects(self):
        import pyarrow as pa
        import pyarrow.parquet as pq

        from curation.schema import REJECT_SCHEMA

        tables = [pq.read_table(path) for path in self.reject_paths]
        return pa.concat_tables(tables) if tables else REJECT_SCHEMA.empty_table()

    def iter_batches(self, columns: list[str] | None = None, batch_size: int = 4096) -> Iterator:
        for path in self.shard_paths:
            yield from open_parquet_stream(path).iter_batches(batch_size=batch_size, columns=columns)
