"""Running an attribute producer over a corpus with Spark: one task per corpus shard.

A producer declares the columns it reads and writes and computes them for a batch of documents;
this module does everything else the same way for every producer (signals now, rater scores later):
fail-fast checks, one task per shard streaming row groups (bounded memory, one producer instance per
Python worker), parts committed by rename (a rerun skips finished parts), manifest last, MLflow run.

A task that fails removes its temporary part, so a retry (Spark's ``spark.task.maxFailures``; ``local[N,F]``
in local mode) writes the part from scratch: never a duplicated or half-written row. An output that cannot
be written (disk full, file size limit, read-only, not a directory) is an ``OutputError`` naming the path.

Fault injection, for tests of those retries: ``CURATION_INJECT_TASK_FAILURE=SHARD:MARKER_DIR`` makes the
task of shard SHARD fail once, after it has written rows to its temporary part; the failing attempt claims
``MARKER_DIR/shard-NNNNN.failed`` (``O_CREAT|O_EXCL``, so exactly one attempt fails) and the retry succeeds.
The driver reads the variable and ships it with the task, so executors need not inherit the environment
(MARKER_DIR must be shared by them). Unset, nothing changes.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from abc import ABC, abstractmethod
from functools import lru_cache
from pathlib import Path
from typing import Any

from curation.attributes import ATTRIBUTES_FORMAT, AttributeSet, corpus_fingerprint, part_name
from curation.corpus import MANIFEST_NAME, Corpus, commit, temporary_path
from curation.destination import Destination
from curation.errors import ConfigError, CorpusError, InjectedFaultError, OutputError
from curation.malloc_trim import trim_heap
from curation.parquet_stream import open_parquet_stream

INJECT_TASK_FAILURE_ENV = "CURATION_INJECT_TASK_FAILURE"


class AttributeProducer(ABC):
    """Computes per-document columns from document columns. Subclasses are small and picklable."""

    name: str
    version: str
    input_columns: tuple[str, ...] = ("text",)

    @abstractmethod
    def output_schema(self):
        """Arrow schema of the produced columns (``id`` is added by the stage)."""

    @abstractmethod
    def compute(self, batch) -> dict[str, Any]:
        """Column name -> values (list or Arrow array), one value per row of the Arrow table `batch`."""

    def descriptions(self) -> dict[str, str]:
        return {}

    def config(self) -> dict[str, Any]:
        return {}

    def task_resources(self) -> dict[str, float]:
        """What each Spark task of this stage needs beyond a CPU, e.g. ``{"gpu": 0.25}``: asked for through a
        stage-level profile (``curation.spark_resources``). Not part of the output's identity."""
        return {}


@lru_cache(maxsize=8)
def _producer_instance(blob: bytes) -> AttributeProducer:
    """One live producer per Python worker process (filters and models are loaded once)."""
    import pickle

    return pickle.loads(blob)  # noqa: S301 - our own object, pickled by the driver of this job


def compute_part(
    shard_path: str,
    shard: int,
    producer_blob: bytes,
    out_dir: str | Destination,
    batch_rows: int,
    inject_failure: tuple[int, str] | None = None,
) -> dict[str, Any]:
    """Compute one part (skipped when already committed); return its row count and seconds."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    out = out_dir if isinstance(out_dir, Destination) else Destination(out_dir)
    name = part_name(shard)
    if out.exists(name):
        rows = open_parquet_stream(out.url(name)).metadata.num_rows
        return {"shard": shard, "rows": rows, "seconds": 0.0, "resumed": True}
    started = time.perf_counter()
    producer = _producer_instance(producer_blob)
    schema = pa.schema([pa.field("id", pa.string(), nullable=False), *producer.output_schema()])
    final = out.staging_path(name)  # local: the part's place; remote: a local file uploaded once complete
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_path(final)
    rows = 0
    source = open_parquet_stream(shard_path)
    try:
        with pq.ParquetWriter(tmp, schema, compression="zstd") as writer:
            for batch in source.iter_batches(batch_size=batch_rows, columns=["id", *producer.input_columns]):
                table = pa.Table.from_batches([batch])
                values = producer.compute(table)
                columns = [table.column("id")] + [
                    pa.array(values[f.name], type=f.type) for f in producer.output_schema()
                ]
                writer.write_table(pa.Table.from_arrays(columns, schema=schema), row_group_size=batch_rows)
                rows += table.num_rows
                del batch, table, values, columns
                trim_heap()  # the worker runs batch after batch: hand back what this one freed
                if inject_failure is not None and inject_failure[0] == shard:
                    _fail_once(shard, inject_failure[1])
            if rows == 0:
                writer.write_table(schema.empty_table())
        commit(tmp, final)
        out.publish(name)
    except BaseException as exc:
        tmp.unlink(missing_ok=True)  # a retry starts from scratch; nothing half-written stays behind
        if isinstance(exc, OSError) and exc.errno in OutputError.ERRNOS:  # the input shard was opened before
            raise OutputError.writing(final, exc) from exc
        raise
    return {"shard": shard, "rows": rows, "seconds": round(time.perf_counter() - started, 3), "resumed": False}


def injected_task_failure() -> tuple[int, str] | None:
    """The fault to inject (see the module docstring), read on the driver; None when unset."""
    spec = os.environ.get(INJECT_TASK_FAILURE_ENV)
    if not spec:
        return None
    shard, sep, marker_dir = spec.partition(":")
    if not sep or not shard.strip().isdigit() or not Path(marker_dir).is_dir():
        raise ConfigError(f"{INJECT_TASK_FAILURE_ENV}={spec!r}: expected SHARD:MARKER_DIR with an existing MARKER_DIR")
    return int(shard), marker_dir


def _fail_once(shard: int, marker_dir: str) -> None:
    """Raise the first time this is called for `shard` (by any attempt, in any process), pass afterwards."""
    marker = Path(marker_dir) / f"shard-{shard:05d}.failed"
    try:
        os.close(os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
    except FileExistsError:
        return  # an earlier attempt failed here: this is the retry
    raise InjectedFaultError(f"injected failure of the task for shard {shard} ({INJECT_TASK_FAILURE_ENV}, {marker})")


def _summary(out: Destination, n_parts: int, schema) -> dict[str, dict[str, float | None]]:
    """Per column: pass counts for booleans; mean/min/max of the defined values for numbers, with the count
    of undefined ones (null or NaN) so the manifest stays strict JSON. All undefined: mean/min/max None."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from curation.corpus import read_parquet

    table = pa.concat_tables([read_parquet(out.url(part_name(i))) for i in range(n_parts)])
    summary: dict[str, dict[str, float | None]] = {}
    for field in schema:
        column = table.column(field.name)
        if pa.types.is_boolean(field.type):
            summary[field.name] = {"true": int(pc.sum(column).as_py() or 0), "rows": len(column)}
        elif pa.types.is_integer(field.type) or pa.types.is_floating(field.type):
            if pa.types.is_floating(field.type):
                column = column.filter(pc.invert(pc.is_nan(column)))
            column = column.drop_null()
            stats = pc.min_max(column)
            summary[field.name] = {
                "mean": pc.mean(column).as_py(),
                "min": stats["min"].as_py(),
                "max": stats["max"].as_py(),
                "undefined": len(table) - len(column),
            }
    return summary


def prepare_attribute_dir(corpus: Corpus, out_dir: str | Path, stage: str, config: dict[str, Any], overwrite: bool):
    """Fail-fast checks before any work; returns (out, fingerprint, config_hash, finished set or None). ``out``
    is a ``Path``, or the URL of a set written to an object store.

    A finished set for the same corpus and config is returned as is (nothing to redo); one for another
    corpus or config is an error unless ``overwrite``, which removes its manifest and parts first.
    """
    directory = Destination(out_dir)
    out: Path | str = directory.location if directory.remote else Path(directory.location)
    if not directory.remote and out.exists() and not out.is_dir():
        raise CorpusError(f"--out {out} exists and is not a directory")
    fingerprint = corpus_fingerprint(corpus)
    config_hash = hashlib.sha256(
        json.dumps({"config": config, "corpus": fingerprint}, sort_keys=True).encode()
    ).hexdigest()[:16]
    if directory.remote:
        directory.check_writable()
    existing_bytes = directory.read_bytes(MANIFEST_NAME)
    if existing_bytes is not None:
        existing = json.loads(existing_bytes)
        if existing.get("config_hash") == config_hash and not overwrite:
            return out, fingerprint, config_hash, AttributeSet(out, existing)
        if not overwrite:
            raise CorpusError(
                f"{out} holds {stage} attributes of another corpus or config; pass --overwrite or choose another --out"
            )
        directory.remove(MANIFEST_NAME)
        for stale in directory.list(""):
            if stale.startswith("part-") and stale.endswith(".parquet"):
                directory.remove(stale)
    try:
        directory.make_folder("")
    except OSError as exc:
        raise OutputError.writing(out, exc) from exc
    remove_unfinished_parts(out)  # a killed run's
    return out, fingerprint, config_hash, None


def remove_unfinished_parts(out: Path | str) -> None:
    """Delete temporary part files of tasks that never committed (a killed run, an executor lost mid-task):
    readers never see them, but they hold disk. Called before work starts and before the manifest. (On an
    object store a part appears only once whole, so there are none there.)"""
    if isinstance(out, Path):
        for leftover in out.glob(".part-*.tmp"):
            leftover.unlink(missing_ok=True)


def write_attribute_manifest(
    out: Path | str,
    corpus: Corpus,
    *,
    producer: str,
    version: str,
    schema,
    descriptions: dict[str, str],
    config: dict[str, Any],
    config_hash: str,
    fingerprint: str,
    rows: int,
    run,
    extra: dict[str, Any] | None = None,
) -> AttributeSet:
    """Check the row count, summarise the columns, write the manifest last and log it to the stage's run."""
    if rows != corpus.num_documents:
        raise CorpusError(f"{producer}: {rows} attribute rows for {corpus.num_documents} documents")
    remove_unfinished_parts(out)  # of tasks lost in this run (Spark reran them under another name)
    directory = Destination(out)
    n_parts = len(corpus.shard_paths)
    summary = _summary(directory, n_parts, schema)
    manifest = {
        "format": ATTRIBUTES_FORMAT,
        "name": f"{producer}-{version}",
        "producer": producer,
        "version": version,
        "columns": [{"name": f.name, "type": str(f.type), "description": descriptions.get(f.name, "")} for f in schema],
        "corpus": {"path": str(corpus.root), "fingerprint": fingerprint, "documents": corpus.num_documents},
        "config": config,
        "config_hash": config_hash,
        "shards": n_parts,
        "rows": rows,
        "summary": summary,
        **(extra or {}),
        "mlflow_run_id": run.run_id,
    }
    try:
        directory.write_json(MANIFEST_NAME, manifest)
    except OSError as exc:
        raise OutputError.writing(directory.url(MANIFEST_NAME), exc) from exc
    run.log_metrics(
        {f"{name}.true_fraction": s["true"] / max(1, s["rows"]) for name, s in summary.items() if "true" in s}
    )
    with directory.local_copy(MANIFEST_NAME) as local_manifest:
        run.log_artifact(local_manifest)
    return AttributeSet(out, manifest)


def write_computed_attributes(
    out: Path | str,
    corpus: Corpus,
    *,
    producer: str,
    version: str,
    ids: list[str],
    shard_rows: list[int],
    columns: dict[str, Any],
    schema,
    descriptions: dict[str, str],
    config: dict[str, Any],
    config_hash: str,
    fingerprint: str,
    run,
) -> AttributeSet:
    """An attribute set whose values were computed on the driver (one value per document, corpus order):
    written part by part aligned with the corpus shards, each committed by rename, then the manifest."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    directory = Destination(out)
    full = pa.schema([pa.field("id", pa.string(), nullable=False), *schema])
    start = 0
    for index, rows in enumerate(shard_rows):
        stop = start + rows
        arrays = [pa.array(ids[start:stop], pa.string())]
        arrays += [pa.array(columns[f.name][start:stop], type=f.type) for f in schema]
        final = directory.staging_path(part_name(index))
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = temporary_path(final)
        pq.write_table(pa.Table.from_arrays(arrays, schema=full), tmp, compression="zstd")
        commit(tmp, final)
        directory.publish(part_name(index))
        start = stop
    return write_attribute_manifest(
        out,
        corpus,
        producer=producer,
        version=version,
        schema=schema,
        descriptions=descriptions,
        config=config,
        config_hash=config_hash,
        fingerprint=fingerprint,
        rows=start,
        run=run,
    )


def run_attribute_stage(
    corpus_dir: str | Path,
    producer: AttributeProducer,
    out_dir: str | Path,
    *,
    master: str | None = None,
    spark_conf: dict[str, str] | None = None,
    tracking: bool = True,
    overwrite: bool = False,
    batch_rows: int = 1024,
    console=None,
) -> AttributeSet:
    import pickle

    from rich.console import Console

    from curation.progress import PartProgress, TaskProgress
    from curation.tracking import stage_run

    console = console or Console(stderr=True)
    corpus = Corpus.open(corpus_dir)
    inject = injected_task_failure()
    config = {"producer": producer.name, "version": producer.version, **producer.config()}
    out, fingerprint, config_hash, finished = prepare_attribute_dir(corpus, out_dir, producer.name, config, overwrite)
    if finished is not None:
        console.print(
            f"{producer.name}: {out} is already complete for this corpus and config; nothing to do", highlight=False
        )
        return finished
    blob = pickle.dumps(producer)
    shards = [str(p) for p in corpus.shard_paths]
    params = {**config, "corpus": str(corpus.root), "out": str(out), "shards": len(shards)}
    directory = Destination(out)
    with stage_run(producer.name, params, enabled=tracking) as run:
        from curation.spark import get_spark
        from curation.spark_resources import task_profile

        sc = get_spark(master, f"curation-{producer.name}", spark_conf).sparkContext
        console.print(
            f"{producer.name}: {corpus.num_documents:,} documents in {len(shards)} shards on {sc.master}",
            highlight=False,
        )
        started = time.perf_counter()
        rows = [int(shard["rows"]) for shard in corpus.manifest["shards"]]
        progress = (  # remote: no listing of the store every half second
            TaskProgress(console, sc, producer.name, corpus.num_documents)
            if directory.remote
            else PartProgress(console, producer.name, [out / part_name(i) for i in range(len(shards))], rows)
        )
        tasks = sc.parallelize(largest_first(corpus), max(1, len(shards)))
        profile = task_profile(sc, producer.task_resources())
        if profile is not None:
            tasks = tasks.withResources(profile)
            asked = ", ".join(f"{amount:g} {name}" for name, amount in producer.task_resources().items())
            console.print(f"{producer.name}: each task asks Spark for {asked}", highlight=False)
        with progress:
            results = tasks.map(lambda i: compute_part(shards[i], i, blob, directory, batch_rows, inject)).collect()
        seconds = time.perf_counter() - started
        rows = sum(r["rows"] for r in results)
        attributes = write_attribute_manifest(
            out,
            corpus,
            producer=producer.name,
            version=producer.version,
            schema=producer.output_schema(),
            descriptions=producer.descriptions(),
            config=config,
            config_hash=config_hash,
            fingerprint=fingerprint,
            rows=rows,
            run=run,
        )
        run.log_metrics({"documents": rows, "seconds": seconds, "docs_per_s": rows / max(seconds, 1e-9)})
        resumed = sum(1 for r in results if r["resumed"])
        console.print(
            f"{producer.name}: {rows:,} documents in {seconds:,.1f} s ({rows / max(seconds, 1e-9):,.0f} docs/s)"
            + (f", {resumed} part(s) reused from an interrupted run" if resumed else ""),
            highlight=False,
        )
        return attributes


def largest_first(corpus: Corpus) -> list[int]:
    """Shard indices, largest shard first, so the slowest tasks start early."""
    return sorted(range(len(corpus.shard_paths)), key=lambda i: -corpus.manifest["shards"][i]["bytes"])
