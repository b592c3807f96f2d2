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
from typing import TYPE_CHECKING, Any

from curation.errors import CorpusError

if TYPE_CHECKING:
    from curation.destination import Destination
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


def json_bytes(payload: dict[str, Any]) -> bytes:
    """The bytes of a JSON file as every stage writes it (sorted keys, indent 2, a final newline). A lone
    surrogate (a file name that is not UTF-8) is written as its JSON escape: the same string reads back."""
    text = json.dumps(payload, indent=2, sort_keys=True, ensure_ascii=False, allow_nan=False) + "\n"
    return text.encode("utf-8", errors="backslashreplace")


def write_json_atomic(path: Path, payload: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_path(path)
    with open(tmp, "wb") as fh:
        fh.write(json_bytes(payload))
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


def read_parquet(path: str | Path, columns: list[str] | None = None):
    """One whole Parquet file (a local path or a URL) as an Arrow table."""
    import pyarrow.parquet as pq

    from curation.storage import is_remote, open_binary

    if not is_remote(str(path)):
        return pq.read_table(path, columns=columns)
    with open_binary(str(path)) as fh:
        return pq.read_table(fh, columns=columns)


def read_parquet_schema(path: str | Path):
    """The Arrow schema in a Parquet file's footer (a local path or a URL)."""
    import pyarrow.parquet as pq

    from curation.storage import PROBE_READ_AHEAD, is_remote, open_binary

    if not is_remote(str(path)):
        return pq.read_schema(path)
    with open_binary(str(path), read_ahead=PROBE_READ_AHEAD) as fh:
        return pq.read_schema(fh)


def open_directory(root: str | os.PathLike, what: str) -> tuple[Path | str, dict[str, Any], Destination]:
    """A committed directory's location (a ``Path``, or the URL of a remote one), its parsed manifest, and the
    directory to check the files it lists against. No manifest: a ``CorpusError`` (an unfinished write)."""
    from curation.destination import Destination
    from curation.storage import is_remote, refuse_mangled_url

    if not is_remote(str(root)):
        refuse_mangled_url(root)
        local = Path(root)
        if not local.is_dir():
            raise CorpusError(f"{local}: no such {what} directory")
    directory = Destination(root)
    location: Path | str = directory.location if directory.remote else Path(root)
    try:
        data = directory.read_bytes(MANIFEST_NAME)
    except OSError as exc:
        raise CorpusError(f"{location}: cannot read its {MANIFEST_NAME} ({exc})") from exc
    if data is None:
        suffix = "the corpus is incomplete (a write did not finish)" if what == "corpus" else f"not a finished {what}"
        raise CorpusError(f"{location}: no {MANIFEST_NAME}; {suffix}")
    try:
        manifest = json.loads(data)
    except json.JSONDecodeError as exc:
        raise CorpusError(f"{directory.url(MANIFEST_NAME)}: unreadable manifest ({exc})") from exc
    return location, manifest, directory


@dataclass(frozen=True)
class Corpus:
    """A committed corpus directory, opened through its manifest: on local disk (``root`` is a ``Path``) or on
    an object store (``root`` is its URL)."""

    root: Path | str
    manifest: dict[str, Any]

    @classmethod
    def open(cls, root: str | os.PathLike) -> Corpus:
        root, manifest, directory = open_directory(root, "corpus")
        if manifest.get("format") != MANIFEST_FORMAT:
            raise CorpusError(
                f"{directory.url(MANIFEST_NAME)}: not a curation corpus manifest (format={manifest.get('format')!r})"
            )
        listed = [shard["path"] for shard in manifest.get("shards", [])]
        if directory.remote:  # one listing, not a request per shard
            present = {f"{SHARDS_DIR}/{name}" for name in directory.list(SHARDS_DIR)}
            missing = [path for path in listed if path not in present]
        else:
            missing = [path for path in listed if not (root / path).is_file()]
        if missing:
            raise CorpusError(f"{root}: manifest lists {missing[0]} but the file is missing")
        return cls(root, manifest)

    def path(self, relative: str) -> Path | str:
        """A file of the corpus: a ``Path`` on local disk, a URL on an object store."""
        return self.root / relative if isinstance(self.root, Path) else f"{self.root}/{relative}"

    @property
    def shard_paths(self) -> list[Path | str]:
        return [self.path(shard["path"]) for shard in self.manifest["shards"]]

    @property
    def reject_paths(self) -> list[Path | str]:
        return [self.path(entry["path"]) for entry in self.manifest.get("rejects", [])]

    @property
    def num_documents(self) -> int:
        return int(self.manifest["counts"]["documents"])

    def read_documents(self, columns: list[str] | None = None):
        """All documents as one Arrow table (small corpora and tests; stages stream shards)."""
        import pyarrow as pa

        from curation.schema import DOCUMENT_SCHEMA

        tables = [read_parquet(path, columns=columns) for path in self.shard_paths]
        if not tables:
            schema = DOCUMENT_SCHEMA if columns is None else pa.schema([DOCUMENT_SCHEMA.field(c) for c in columns])
            return schema.empty_table()
        return pa.concat_tables(tables)

    def read_rejects(self):
        import pyarrow as pa

        from curation.schema import REJECT_SCHEMA

        tables = [read_parquet(path) for path in self.reject_paths]
        return pa.concat_tables(tables) if tables else REJECT_SCHEMA.empty_table()

    def iter_batches(self, columns: list[str] | None = None, batch_size: int = 4096) -> Iterator:
        for path in self.shard_paths:
            yield from open_parquet_stream(path).iter_batches(batch_size=batch_size, columns=columns)
