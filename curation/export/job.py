"""`curate export`: a committed corpus as files trainers read (Parquet or JSON Lines + zstd).

A driver-side stream, no Spark: each output file is filled from ranges of corpus shards read batch
by batch, so memory holds one row group (Parquet) or one batch (JSONL), never the corpus. Layout::

    OUT/data/part-00000.parquet ...   (or .jsonl.zst) the only files under data/, so a reader
                                      pointed at OUT/data sees nothing else
    OUT/manifest.json                 written last: options, config_hash, files with checksums,
                                      rows reconciled against the corpus, code version, lineage

Every file is written under a temporary name and committed by rename; ``_export_progress.json``
lists the committed ones, so a rerun after a crash keeps them (checksum verified) and writes the
rest. A rerun with a finished manifest for the same config does nothing.

The corpus and OUT may be URLs (``s3://...``, any fsspec filesystem). On an object store, which has
no rename, each file is written to a local staging file and uploaded whole under its final name
(``curation.destination.Destination``); the progress record and the manifest are one PUT each, the
manifest last. A rerun keeps the recorded files whose objects are there with the recorded size (an
object is whole or absent) without downloading them.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from curation.corpus import MANIFEST_NAME, Corpus, file_sha256, write_json_atomic
from curation.destination import Destination
from curation.errors import ConfigError, CorpusError, OutputError
from curation.export.config import EXTENSIONS, ExportConfig
from curation.parquet_stream import open_parquet_stream

EXPORT_FORMAT = "curation.export/v1"
DATA_DIR = "data"
PROGRESS_NAME = "_export_progress.json"
READ_BATCH_ROWS = 1024


@dataclass
class ExportResult:
    out: Path | str  # a local directory, or the URL of a remote one
    manifest: dict[str, Any]
    skipped: bool
    seconds: float


@dataclass(frozen=True)
class Segment:
    """Rows ``[start, stop)`` of one corpus shard."""

    shard: int
    start: int
    stop: int


@dataclass(frozen=True)
class FilePlan:
    name: str
    segments: tuple[Segment, ...]

    @property
    def rows(self) -> int:
        return sum(s.stop - s.start for s in self.segments)


def _git_commit() -> str | None:
    """HEAD of the checkout the package runs from; None for an installed package."""
    import subprocess

    import curation

    package = Path(curation.__file__).resolve().parent
    try:

        def git(*args: str) -> str:
            return subprocess.run(
                ["git", *args], cwd=package, capture_output=True, text=True, timeout=5, check=True
            ).stdout.strip()

        if Path(git("rev-parse", "--show-toplevel")).resolve() != package.parent:
            return None  # a package installed inside some other repository
        return git("rev-parse", "HEAD") or None
    except (OSError, subprocess.SubprocessError):
        return None


def code_version() -> dict[str, Any]:
    from curation import __version__

    return {"package": "curation", "version": __version__, "git_commit": _git_commit()}


def _shard_footer(path: Path | str):
    """A corpus shard's Parquet footer (a path or a URL): for an object, a few ranged reads of its end."""
    import pyarrow.parquet as pq

    from curation.storage import PROBE_READ_AHEAD, open_binary

    with open_binary(str(path), read_ahead=PROBE_READ_AHEAD) as fh:
        parquet = pq.ParquetFile(fh)
        return parquet.metadata, parquet.schema_arrow


def _check_shards(corpus: Corpus) -> list[int]:
    """Rows per shard, checked in the Parquet footers against the manifest before any work."""
    rows = []
    for entry, path in zip(corpus.manifest["shards"], corpus.shard_paths, strict=True):
        actual = _shard_footer(path)[0].num_rows
        if actual != entry["rows"]:
            raise CorpusError(f"{path}: {actual} rows but the corpus manifest says {entry['rows']}")
        rows.append(actual)
    if sum(rows) != corpus.num_documents:
        raise CorpusError(f"{corpus.root}: shards hold {sum(rows)} rows, the manifest counts {corpus.num_documents}")
    return rows


def _source_schema(corpus: Corpus):
    """The Arrow schema of the corpus's shards (the document schema for a corpus without shards)."""
    from curation.schema import DOCUMENT_SCHEMA

    return _shard_footer(corpus.shard_paths[0])[1] if corpus.shard_paths else DOCUMENT_SCHEMA


def plan_files(shard_rows: list[int], rows_per_file: int, extension: str) -> list[FilePlan]:
    """Cut the corpus, in shard order, into files of ``rows_per_file`` rows (0: one per non-empty shard).

    At least one file, so an empty corpus still exports its schema.
    """
    groups: list[list[Segment]] = []
    if rows_per_file == 0:
        groups = [[Segment(i, 0, n)] for i, n in enumerate(shard_rows) if n]
    else:
        current: list[Segment] = []
        room = rows_per_file
        for shard, n in enumerate(shard_rows):
            start = 0
            while start < n:
                take = min(room, n - start)
                current.append(Segment(shard, start, start + take))
                start += take
                room -= take
                if room == 0:
                    groups.append(current)
                    current, room = [], rows_per_file
        if current:
            groups.append(current)
    groups = groups or [[]]
    return [FilePlan(f"part-{i:05d}{extension}", tuple(g)) for i, g in enumerate(groups)]


def read_segment(path: Path | str, segment: Segment, columns: list[str]):
    """The record batches of one shard range (a path or a URL), reading only the row groups that overlap it."""

    parquet = open_parquet_stream(path)
    groups, first, offset = [], None, 0
    for index in range(parquet.metadata.num_row_groups):
        n = parquet.metadata.row_group(index).num_rows
        if offset < segment.stop and offset + n > segment.start:
            groups.append(index)
            first = offset if first is None else first
        offset += n
    if not groups:
        return
    position = first
    for batch in parquet.iter_batches(batch_size=READ_BATCH_ROWS, row_groups=groups, columns=columns):
        low, high = max(segment.start - position, 0), min(segment.stop - position, batch.num_rows)
        if high > low:
            yield batch.slice(low, high - low)
        position += batch.num_rows
        if position >= segment.stop:
            break


def _write_file(corpus: Corpus, plan: FilePlan, tmp: Path, config: ExportConfig, source_columns, schema) -> int:
    import pyarrow as pa

    from curation.export.writers import open_writer

    paths = corpus.shard_paths
    with open_writer(config.format, tmp, schema, config.zstd_level, config.row_group_rows) as writer:
        for segment in plan.segments:
            for batch in read_segment(paths[segment.shard], segment, source_columns):
                writer.write(pa.RecordBatch.from_arrays(batch.columns, schema=schema))
    return writer.rows


@dataclass
class _PartFile:
    """The ``write`` of ``Destination.commit_file`` for one planned file: fills it, checks it holds the planned
    rows (before it is committed), and keeps its size (an object's staging copy is gone once it is uploaded)."""

    corpus: Corpus
    plan: FilePlan
    config: ExportConfig
    source_columns: list[str]
    schema: Any
    bytes: int = 0

    def __call__(self, tmp: Path) -> None:
        rows = _write_file(self.corpus, self.plan, tmp, self.config, self.source_columns, self.schema)
        if rows != self.plan.rows:
            raise CorpusError(f"{self.plan.name}: read {rows} rows from the corpus, expected {self.plan.rows}")
        self.bytes = tmp.stat().st_size


def _commit_part(directory: Destination, part: _PartFile) -> dict[str, Any]:
    """Write one file and commit it under its final name; its entry in the progress record and the manifest."""
    relative = f"{DATA_DIR}/{part.plan.name}"
    try:
        digest = directory.commit_file(relative, part, tag="")
    except OSError as exc:
        if exc.errno in OutputError.ERRNOS:
            raise OutputError.writing(directory.url(relative), exc) from exc
        raise
    return {"path": relative, "rows": part.plan.rows, "bytes": part.bytes, "sha256": digest}


def _still_committed(directory: Destination, plan: FilePlan, recorded: dict[str, Any] | None) -> bool:
    """Whether a file the progress record lists is in place as recorded: its rows, and its checksum (a local
    file) or its size (an object, which is whole or absent: not downloaded again)."""
    relative = f"{DATA_DIR}/{plan.name}"
    if not recorded or recorded["rows"] != plan.rows or not directory.exists(relative):
        return False
    if directory.remote:
        from curation.storage import size

        return size(directory.url(relative)) == recorded["bytes"]
    return file_sha256(directory.url(relative)) == recorded["sha256"]


def _write_json(directory: Destination, relative: str, payload: dict[str, Any]) -> None:
    """Commit a JSON file of OUT: by ``write_json_atomic`` locally (called by this module's name, so a test can
    stop an export at one line), in one PUT remotely."""
    if directory.remote:
        directory.write_json(relative, payload)
    else:
        write_json_atomic(Path(directory.url(relative)), payload)


def _read_json(directory: Destination, relative: str) -> dict[str, Any] | None:
    """A JSON file of OUT, or None when there is none."""
    raw = directory.read_bytes(relative)
    return None if raw is None else json.loads(raw)


def _is_leftover(path: Path) -> bool:
    """Temporary files of an interrupted export (ours, safe to delete)."""
    return path.is_file() and path.name.startswith(".") and path.name.endswith(".tmp")


def _remove_leftovers(directory: Destination) -> None:
    """Temporary files an interrupted local export left in OUT (remotely there are none: files are staged in
    a local temporary directory and uploaded whole)."""
    if directory.remote:
        return
    out = Path(directory.location)
    for folder in (out, out / DATA_DIR):
        if folder.is_dir():
            for path in folder.iterdir():
                if _is_leftover(path):
                    path.unlink(missing_ok=True)


def _holds_no_objects(location: str) -> bool:
    """Nothing under the URL prefix ``location``."""
    from curation.storage import filesystem

    fs, inner = filesystem(location)
    inner = inner.rstrip("/")
    fs.invalidate_cache(inner)
    try:
        return not fs.ls(inner)
    except FileNotFoundError:
        return True


def _is_empty(directory: Destination) -> bool:
    """OUT holds nothing but what an interrupted export leaves (temporary files, an empty data/)."""
    if directory.remote:
        return _holds_no_objects(directory.location)
    out = Path(directory.location)
    if not out.exists():
        return True
    for path in out.iterdir():
        if _is_leftover(path):
            continue
        if path.name == DATA_DIR and path.is_dir() and all(_is_leftover(p) for p in path.iterdir()):
            continue
        return False
    return True


def _existing_manifest(directory: Destination) -> dict[str, Any] | None:
    """OUT's manifest, if it has one."""
    try:
        return _read_json(directory, MANIFEST_NAME)
    except (OSError, ValueError) as exc:  # ValueError: not JSON, or not UTF-8
        raise CorpusError(
            f"{directory.url(MANIFEST_NAME)}: unreadable manifest ({exc}); remove it or choose another --out"
        ) from exc


def _check_out(directory: Destination) -> None:
    """--out is a directory (local) or can be written (remote: a missing bucket or denied access is one line
    before any work)."""
    if directory.remote:
        directory.check_writable()
        return
    out = Path(directory.location)
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out} exists and is not a directory")


def _check_outside(directory: Destination, root: Path | str) -> None:
    """--out must be neither the corpus nor inside it: a path compared as a path, a URL by its prefix."""
    from curation.storage import is_remote

    out = directory.location
    if directory.remote:
        inside = is_remote(str(root)) and (out == str(root) or out.startswith(f"{root}/"))
    else:
        inside = not is_remote(str(root)) and (Path(out) == Path(root) or Path(root) in Path(out).parents)
    if inside:
        raise ConfigError(f"--out {out} is inside the input corpus {root}; choose a directory outside it")


def _prepare_out(directory: Destination, config_hash: str, overwrite: bool) -> tuple[dict | None, dict[str, dict]]:
    """Fail-fast checks on --out. Returns (finished manifest to reuse or None, committed files to keep)."""
    _check_out(directory)
    out = directory.path
    existing = _existing_manifest(directory)
    if existing is not None:
        if existing.get("format") != EXPORT_FORMAT:
            raise ConfigError(
                f"--out {out} holds a {existing.get('format')!r} manifest, not an export; choose another --out"
            )
        if existing.get("config_hash") == config_hash and not overwrite:
            present = {f"{DATA_DIR}/{name}" for name in directory.list(DATA_DIR)}
            missing = [f["path"] for f in existing["files"] if f["path"] not in present]
            if missing:
                raise CorpusError(f"{out}: the manifest lists {missing[0]} but it is missing; rerun with --overwrite")
            return existing, {}
        if not overwrite:
            raise ConfigError(
                f"--out {out} holds an export made with another config ({existing.get('config_hash')}); "
                "pass --overwrite or choose another --out"
            )
        directory.remove(MANIFEST_NAME)  # from here on the directory is not a finished export
    progress = None if overwrite else _read_json(directory, PROGRESS_NAME)
    if progress is not None:
        if progress.get("config_hash") == config_hash:
            return None, progress.get("files", {})
        raise ConfigError(
            f"--out {out} holds an unfinished export with another config ({progress.get('config_hash')}); "
            "pass --overwrite or choose another --out"
        )
    if not overwrite and not _is_empty(directory):
        raise ConfigError(f"--out {out} is not empty; pass --overwrite or choose another --out")
    directory.remove(PROGRESS_NAME)
    return None, {}


def _remove_strays(directory: Destination, keep: set[str]) -> None:
    """Part files of an earlier export (another config, more files) would be read with the new ones."""
    for name in directory.list(DATA_DIR):
        if name.startswith("part-") and name.endswith(tuple(EXTENSIONS.values())) and name not in keep:
            directory.remove(f"{DATA_DIR}/{name}")


def _progress(console, directory: Destination, plans: list[FilePlan]):
    """Files committed and documents/s while the export runs. Remotely none (no listing of the store every
    half second): the line printed per committed file says how far it is."""
    from contextlib import nullcontext

    from curation.progress import PartProgress

    if directory.remote:
        return nullcontext()
    data = Path(directory.url(DATA_DIR))
    return PartProgress(console, "export", [data / p.name for p in plans], [p.rows for p in plans])


def _how_to_load(config: ExportConfig) -> dict[str, str]:
    """How to read the export, paths relative to --out (a hint for people, kept in the manifest)."""
    pattern = f"{DATA_DIR}/*{config.extension}"
    keys = ""
    renamed = dict(config.rename)
    if renamed.get("text", "text") != "text":
        keys += f", text_key={renamed['text']!r}"
    if renamed.get("id", "id") != "id":
        keys += f", id_key={renamed['id']!r}"
    if config.format == "parquet":
        return {
            "datasets": f'load_dataset("parquet", data_files="{pattern}")',
            "datatrove": f'ParquetReader("{DATA_DIR}"{keys})',
        }
    return {
        "datasets": f'load_dataset("json", data_files="{pattern}")',
        "datatrove": f'JsonlReader("{DATA_DIR}"{keys})',
    }


def run_export(
    corpus_dir: str | os.PathLike,
    out_dir: str | os.PathLike,
    config: ExportConfig | None = None,
    *,
    tracking: bool = True,
    overwrite: bool = False,
    console=None,
) -> ExportResult:
    """Export a committed corpus; see the module docstring. Raises ConfigError/CorpusError before any work."""
    import pyarrow as pa
    from rich.console import Console

    from curation.attributes import corpus_fingerprint
    from curation.export.lineage import corpus_lineage
    from curation.export.writers import check_json_schema
    from curation.tracking import stage_run

    config = config or ExportConfig()
    console = console or Console(stderr=True)
    started = time.perf_counter()
    corpus = Corpus.open(corpus_dir)
    root = corpus.root.resolve() if isinstance(corpus.root, Path) else corpus.root
    directory = Destination(out_dir)
    out = directory.path
    _check_outside(directory, root)
    shard_rows = _check_shards(corpus)
    source_schema = _source_schema(corpus)
    pairs = config.resolve_columns(source_schema.names)
    schema = pa.schema([source_schema.field(old).with_name(new) for old, new in pairs])  # no corpus metadata
    if config.format == "jsonl.zst":
        check_json_schema(schema)
    fingerprint = corpus_fingerprint(corpus)
    options = {
        **config.as_dict(),
        "columns": [{"name": new, "source": old, "type": str(schema.field(new).type)} for old, new in pairs],
    }
    config_hash = hashlib.sha256(
        json.dumps({"format": EXPORT_FORMAT, "options": options, "corpus": fingerprint}, sort_keys=True).encode()
    ).hexdigest()[:16]
    finished, committed = _prepare_out(directory, config_hash, overwrite)
    if finished is not None:
        console.print(f"export: {out} is already complete for this corpus and config; nothing to do", highlight=False)
        return ExportResult(out, finished, True, time.perf_counter() - started)
    plans = plan_files(shard_rows, config.shard_rows, config.extension)
    lineage = corpus_lineage(root)

    params = {
        "corpus": str(root),
        "out": str(out),
        "format": config.format,
        "columns": ",".join(f"{old}={new}" if old != new else old for old, new in pairs),
        "shard_rows": config.shard_rows,
        "files": len(plans),
        "config_hash": config_hash,
    }
    with stage_run("export", params, enabled=tracking) as run:
        directory.make_folder(DATA_DIR)
        _remove_leftovers(directory)
        # Claim the directory for this config before the first file: a kill at any point later leaves a progress
        # record, so the rerun resumes (rewriting a file committed but not yet recorded) instead of refusing.
        _write_json(directory, PROGRESS_NAME, {"config_hash": config_hash, "files": committed})
        source_columns = [old for old, _ in pairs]
        files, resumed = [], 0
        with _progress(console, directory, plans):
            for plan in plans:
                done = committed.get(plan.name)
                if _still_committed(directory, plan, done):
                    files.append(done)
                    resumed += 1
                    continue
                entry = _commit_part(directory, _PartFile(corpus, plan, config, source_columns, schema))
                files.append(entry)
                committed[plan.name] = entry
                _write_json(directory, PROGRESS_NAME, {"config_hash": config_hash, "files": committed})
                console.print(f"export: {entry['path']} {entry['rows']:,} rows", highlight=False)
        total_rows = sum(f["rows"] for f in files)
        if total_rows != corpus.num_documents:
            raise CorpusError(f"export: {total_rows} rows written, the corpus has {corpus.num_documents} documents")
        _remove_strays(directory, {plan.name for plan in plans})
        total_bytes = sum(f["bytes"] for f in files)
        manifest = {
            "format": EXPORT_FORMAT,
            "kind": "export",
            "export_format": config.format,
            "options": options,
            "config_hash": config_hash,
            "input": {
                "path": str(root),
                "manifest_sha256": fingerprint,
                "kind": corpus.manifest.get("kind"),
                "documents": corpus.num_documents,
            },
            "lineage": lineage,
            "files": files,
            "counts": {"files": len(files), "rows": total_rows, "bytes": total_bytes},
            "reconciled": True,
            "how_to_load": _how_to_load(config),
            "created_by": code_version(),
            "mlflow_run_id": run.run_id,
        }
        _write_json(directory, MANIFEST_NAME, manifest)
        directory.remove(PROGRESS_NAME)
        seconds = time.perf_counter() - started
        run.log_metrics(
            {
                "rows": total_rows,
                "bytes": total_bytes,
                "files": len(files),
                "resumed_files": resumed,
                "seconds": seconds,
            }
        )
        if run.logging:  # remotely the manifest is downloaded for it
            with directory.local_copy(MANIFEST_NAME) as local_manifest:
                run.log_artifact(local_manifest)
        return ExportResult(out, manifest, False, seconds)
