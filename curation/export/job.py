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
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from curation.corpus import MANIFEST_NAME, Corpus, commit, file_sha256, temporary_path, write_json_atomic
from curation.errors import ConfigError, CorpusError, OutputError
from curation.export.config import EXTENSIONS, ExportConfig
from curation.parquet_stream import open_parquet_stream

EXPORT_FORMAT = "curation.export/v1"
DATA_DIR = "data"
PROGRESS_NAME = "_export_progress.json"
READ_BATCH_ROWS = 1024


@dataclass
class ExportResult:
    out: Path
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


def _check_shards(corpus: Corpus) -> list[int]:
    """Rows per shard, checked in the Parquet footers against the manifest before any work."""
    import pyarrow.parquet as pq

    rows = []
    for entry, path in zip(corpus.manifest["shards"], corpus.shard_paths, strict=True):
        actual = pq.ParquetFile(path).metadata.num_rows
        if actual != entry["rows"]:
            raise CorpusError(f"{path}: {actual} rows but the corpus manifest says {entry['rows']}")
        rows.append(actual)
    if sum(rows) != corpus.num_documents:
        raise CorpusError(f"{corpus.root}: shards hold {sum(rows)} rows, the manifest counts {corpus.num_documents}")
    return rows


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


def read_segment(path: Path, segment: Segment, columns: list[str]):
    """The record batches of one shard range, reading only the row groups that overlap it."""

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


def _is_leftover(path: Path) -> bool:
    """Temporary files of an interrupted export (ours, safe to delete)."""
    return path.is_file() and path.name.startswith(".") and path.name.endswith(".tmp")


def _remove_leftovers(out: Path) -> None:
    for folder in (out, out / DATA_DIR):
        if folder.is_dir():
            for path in folder.iterdir():
                if _is_leftover(path):
                    path.unlink(missing_ok=True)


def _is_empty(out: Path) -> bool:
    if not out.exists():
        return True
    for path in out.iterdir():
        if _is_leftover(path):
            continue
        if path.name == DATA_DIR and path.is_dir() and all(_is_leftover(p) for p in path.iterdir()):
            continue
        return False
    return True


def _prepare_out(out: Path, config_hash: str, overwrite: bool) -> tuple[dict | None, dict[str, dict]]:
    """Fail-fast checks on --out. Returns (finished manifest to reuse or None, committed files to keep)."""
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out} exists and is not a directory")
    manifest_path = out / MANIFEST_NAME
    progress_path = out / PROGRESS_NAME
    if manifest_path.is_file():
        try:
            existing = json.loads(manifest_path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise CorpusError(
                f"{manifest_path}: unreadable manifest ({exc}); remove it or choose another --out"
            ) from exc
        if existing.get("format") != EXPORT_FORMAT:
            raise ConfigError(
                f"--out {out} holds a {existing.get('format')!r} manifest, not an export; choose another --out"
            )
        if existing.get("config_hash") == config_hash and not overwrite:
            missing = [f["path"] for f in existing["files"] if not (out / f["path"]).is_file()]
            if missing:
                raise CorpusError(f"{out}: the manifest lists {missing[0]} but it is missing; rerun with --overwrite")
            return existing, {}
        if not overwrite:
            raise ConfigError(
                f"--out {out} holds an export made with another config ({existing.get('config_hash')}); "
                "pass --overwrite or choose another --out"
            )
        manifest_path.unlink()  # from here on the directory is not a finished export
    if progress_path.is_file() and not overwrite:
        progress = json.loads(progress_path.read_text(encoding="utf-8"))
        if progress.get("config_hash") == config_hash:
            return None, progress.get("files", {})
        raise ConfigError(
            f"--out {out} holds an unfinished export with another config ({progress.get('config_hash')}); "
            "pass --overwrite or choose another --out"
        )
    if not overwrite and not _is_empty(out):
        raise ConfigError(f"--out {out} is not empty; pass --overwrite or choose another --out")
    progress_path.unlink(missing_ok=True)
    return None, {}


def _remove_strays(out: Path, keep: set[str]) -> None:
    """Part files of an earlier export (another config, more files) would be read with the new ones."""
    data = out / DATA_DIR
    for path in data.iterdir():
        if path.name.startswith("part-") and path.name.endswith(tuple(EXTENSIONS.values())) and path.name not in keep:
            path.unlink()


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
    import pyarrow.parquet as pq
    from rich.console import Console

    from curation.attributes import corpus_fingerprint
    from curation.export.lineage import corpus_lineage
    from curation.export.writers import check_json_schema
    from curation.schema import DOCUMENT_SCHEMA
    from curation.tracking import stage_run

    config = config or ExportConfig()
    console = console or Console(stderr=True)
    started = time.perf_counter()
    corpus = Corpus.open(corpus_dir)
    root = corpus.root.resolve()
    from curation.storage import refuse_url

    refuse_url(out_dir, "export")
    out = Path(out_dir).resolve()
    if out == root or root in out.parents:
        raise ConfigError(f"--out {out} is inside the input corpus {root}; choose a directory outside it")
    shard_rows = _check_shards(corpus)
    source_schema = pq.read_schema(corpus.shard_paths[0]) if corpus.shard_paths else DOCUMENT_SCHEMA
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
    finished, committed = _prepare_out(out, config_hash, overwrite)
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
        data = out / DATA_DIR
        data.mkdir(parents=True, exist_ok=True)
        _remove_leftovers(out)
        # Claim the directory for this config before the first file: a kill at any point later leaves a progress
        # record, so the rerun resumes (rewriting a file committed but not yet recorded) instead of refusing.
        write_json_atomic(out / PROGRESS_NAME, {"config_hash": config_hash, "files": committed})
        source_columns = [old for old, _ in pairs]
        files, resumed = [], 0
        from curation.progress import PartProgress

        progress = PartProgress(console, "export", [data / p.name for p in plans], [p.rows for p in plans])
        with progress:
            for plan in plans:
                final = data / plan.name
                done = committed.get(plan.name)
                if done and done["rows"] == plan.rows and final.is_file() and file_sha256(final) == done["sha256"]:
                    files.append(done)
                    resumed += 1
                    continue
                tmp = temporary_path(final)
                try:
                    rows = _write_file(corpus, plan, tmp, config, source_columns, schema)
                except BaseException as exc:
                    tmp.unlink(missing_ok=True)
                    if isinstance(exc, OSError) and exc.errno in OutputError.ERRNOS:
                        raise OutputError.writing(final, exc) from exc
                    raise
                if rows != plan.rows:
                    tmp.unlink(missing_ok=True)
                    raise CorpusError(f"{plan.name}: read {rows} rows from the corpus, expected {plan.rows}")
                commit(tmp, final)
                entry = {
                    "path": f"{DATA_DIR}/{plan.name}",
                    "rows": rows,
                    "bytes": final.stat().st_size,
                    "sha256": file_sha256(final),
                }
                files.append(entry)
                committed[plan.name] = entry
                write_json_atomic(out / PROGRESS_NAME, {"config_hash": config_hash, "files": committed})
                console.print(f"export: {entry['path']} {rows:,} rows", highlight=False)
        total_rows = sum(f["rows"] for f in files)
        if total_rows != corpus.num_documents:
            raise CorpusError(f"export: {total_rows} rows written, the corpus has {corpus.num_documents} documents")
        _remove_strays(out, {plan.name for plan in plans})
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
        write_json_atomic(out / MANIFEST_NAME, manifest)
        (out / PROGRESS_NAME).unlink(missing_ok=True)
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
        run.log_artifact(out / MANIFEST_NAME)
        return ExportResult(out, manifest, False, seconds)
