"""The ingest job: plan → process splits → shard → reconcile → commit (manifest last) → track.

Fail-fast checks (inputs exist, options valid, output writable, language model present, tracking
store reachable) all run before Spark starts. Work is cached per split under ``OUT/_work/<hash>/``,
so a rerun after a crash redoes only unfinished splits and writes byte-identical shards.
"""

from __future__ import annotations

import json
import shutil
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from curation.corpus import (
    MANIFEST_FORMAT,
    MANIFEST_NAME,
    REJECTS_DIR,
    SHARDS_DIR,
    WORK_DIR,
    commit,
    file_sha256,
    shard_name,
    write_json_atomic,
)
from curation.errors import AccountingError, ConfigError, CorpusError
from curation.ingest.config import IngestConfig, MiB
from curation.readers import Split


@dataclass
class IngestResult:
    out: Path
    manifest: dict[str, Any]
    skipped: bool
    seconds: float
    run_id: str | None = None
    # Per input path: seconds spent in its splits and the first example of each problem. Kept out
    # of the manifest, which must stay byte-identical between runs.
    input_seconds: dict[str, float] = field(default_factory=dict)
    problems: list[tuple[str, str, int, str, str]] = field(default_factory=list)


def code_version() -> str:
    import subprocess

    from curation import __version__

    try:
        sha = subprocess.run(
            ["git", "rev-parse", "--short=12", "HEAD"],
            cwd=Path(__file__).parent,
            capture_output=True,
            text=True,
            timeout=5,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        sha = ""
    return f"{__version__}+g{sha}" if sha else __version__


def _check_output(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out} exists and is not a directory")
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / f".write-probe-{id(out)}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise ConfigError(f"--out {out} is not writable: {exc.strerror or exc}") from exc


def _existing_manifest(out: Path) -> dict[str, Any] | None:
    path = out / MANIFEST_NAME
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None


def _splits_from_plan(plans: list[dict[str, Any]]) -> list[Split]:
    splits: list[Split] = []
    for plan in plans:
        for unit, start, stop in plan["ranges"]:
            splits.append(
                Split(len(splits), plan["path"], plan["format"], plan["layout"], unit, start, stop, plan["source"])
            )
    return splits


def _estimated_size(split: Split, plan: dict[str, Any]) -> int:
    if split.unit == "byte":
        return (split.stop if split.stop is not None else plan["size"]) - split.start
    return plan["size"] // max(1, len(plan["ranges"]))


def run_ingest(
    cfg: IngestConfig,
    *,
    master: str | None = None,
    spark_conf: dict[str, str] | None = None,
    tracking: bool = True,
    overwrite: bool = False,
    console=None,
) -> IngestResult:
    from rich.console import Console

    from curation.readers.detect import resolve_inputs
    from curation.tracking import stage_run

    console = console or Console(stderr=True)
    started = time.perf_counter()
    files = resolve_inputs(cfg.inputs)
    out = Path(cfg.out).resolve()
    _check_output(out)
    from curation.text.extract import HtmlExtractor

    HtmlExtractor(cfg.extractor, cfg.extraction_timeout_s).check()
    if cfg.langid:
        from curation.text.langid import LanguageIdentifier

        LanguageIdentifier(cfg.lid_model).check()
    if cfg.lid_model and not cfg.langid:
        raise ConfigError("--lid-model given together with --no-langid")

    params = {**cfg.output_affecting(), "out": str(out), "n_input_files": len(files), "master": master or "local[*]"}
    with stage_run("ingest", params, enabled=tracking) as run:
        from curation.spark import get_spark

        spark = get_spark(master, "curation-ingest", spark_conf)
        sc = spark.sparkContext
        console.print(f"ingest: planning {len(files)} input file(s) on {sc.master}", highlight=False)
        split_bytes = int(cfg.split_mb * MiB)
        fmt, source = cfg.format, cfg.source
        from curation.ingest.tasks import pack, task_count
        from curation.readers import plan_file

        # Planning reads little of each file: one task per core, not per file.
        plan_tasks = pack(files, [1] * len(files), min(len(files), max(1, sc.defaultParallelism)))
        plans = (
            sc.parallelize(plan_tasks, max(1, len(plan_tasks)))
            .flatMap(lambda paths: [plan_file(p, fmt, split_bytes, source) for p in paths])
            .collect()
        )
        plans.sort(key=lambda plan: plan["path"])
        config_hash = cfg.config_hash([f"{p['path']}:{p.get('sha256') or p['etag']}" for p in plans])

        existing = _existing_manifest(out)
        if existing and existing.get("config_hash") == config_hash:  # --overwrite replaces only another config
            console.print(
                f"ingest: {out} is already complete for this config ({config_hash}); nothing to do", highlight=False
            )
            run.log_metrics({"skipped": 1})
            return IngestResult(out, existing, True, time.perf_counter() - started, run.run_id)
        if existing and not overwrite:
            raise CorpusError(
                f"{out} holds a corpus made with another config ({existing.get('config_hash')}); pass --overwrite or choose another --out"
            )
        (out / MANIFEST_NAME).unlink(missing_ok=True)  # from here on the directory is not a corpus

        work = out / WORK_DIR / config_hash
        splits = _splits_from_plan(plans)
        plan_by_path = {p["path"]: p for p in plans}
        write_json_atomic(work / "plan.json", {"config_hash": config_hash, "plans": plans})
        sizes = [_estimated_size(s, plan_by_path[s.path]) for s in splits]
        tasks = pack(splits, sizes, task_count(len(splits), sum(sizes), split_bytes, sc.defaultParallelism))
        console.print(
            f"ingest: {len(splits)} split(s) over {len(plans)} file(s), {sum(p['size'] for p in plans) / MiB:,.1f} MiB, "
            f"in {len(tasks)} task(s)",
            highlight=False,
        )

        from curation.ingest.process import process_split, split_paths
        from curation.progress import SplitProgress

        process_started = time.perf_counter()
        work_dir = str(work)
        monitor = SplitProgress(console, work / "splits", {s.key: s.path for s in splits})
        with monitor:
            stats = (
                sc.parallelize(tasks, max(1, len(tasks)))
                .flatMap(lambda group: [process_split(s, cfg, work_dir) for s in group])
                .collect()
            )
        process_seconds = time.perf_counter() - process_started
        stats_by_key = {s["split"]: s for s in stats}

        from curation.ingest.shards import write_shards

        doc_files = [str(split_paths(work, s)["docs"]) for s in splits if stats_by_key[s.key]["documents"]]
        shard_started = time.perf_counter()
        shard_results = write_shards(sc, doc_files, out, cfg.shards, cfg.row_group_rows)
        shard_seconds = time.perf_counter() - shard_started

        manifest = _commit(cfg, out, work, plans, splits, stats_by_key, shard_results, config_hash)
        seconds = time.perf_counter() - started
        counts = manifest["counts"]
        run.log_metrics(
            {
                "records_read": counts["records_read"],
                "documents": counts["documents"],
                "rejected": sum(counts["rejected"].values()),
                "input_errors": sum(counts["input_errors"].values()),
                "bytes_out": counts["bytes_out"],
                "seconds_total": seconds,
                "seconds_process": process_seconds,
                "seconds_shard": shard_seconds,
                "records_per_s": counts["records_read"] / max(process_seconds, 1e-9),
                **{f"rejected.{k}": v for k, v in counts["rejected"].items()},
            }
        )
        run.log_artifact(out / MANIFEST_NAME)
        shutil.rmtree(out / WORK_DIR, ignore_errors=True)
        input_seconds: Counter[str] = Counter()
        for split in splits:
            input_seconds[split.path] += stats_by_key[split.key]["seconds"]
        problems = _problems(splits, stats_by_key) + _duplicate_problems(out, manifest)
        return IngestResult(out, manifest, False, seconds, run.run_id, dict(input_seconds), problems)


def _problems(splits: list[Split], stats_by_key: dict[str, dict]) -> list[tuple[str, str, int, str, str]]:
    """(input, reason, count, first locator, first detail) for every kind of problem in every input."""
    found: dict[tuple[str, str], list] = {}
    for split in splits:  # in input order, so the first example is the earliest record
        stats = stats_by_key[split.key]
        for reason, n in {**stats["rejected"], **stats["input_errors"]}.items():
            entry = found.setdefault((split.path, reason), [0, *stats["examples"].get(reason, ["", ""])])
            entry[0] += n
    return [(path, reason, n, locator, detail) for (path, reason), (n, locator, detail) in found.items()]


def _duplicate_problems(out: Path, manifest: dict[str, Any]) -> list[tuple[str, str, int, str, str]]:
    """(input, "duplicate_id", count, first locator, its detail) per input with duplicate ids. They are found
    when the shards are written, after the splits' own problems, so they are read back from rejects/."""
    import pyarrow.parquet as pq

    found: dict[str, list] = {}
    for entry in manifest["rejects"]:
        if not entry["path"].startswith(f"{REJECTS_DIR}/duplicates-"):
            continue
        for row in pq.read_table(out / entry["path"], columns=["source_file", "locator", "detail"]).to_pylist():
            found.setdefault(row["source_file"], [0, row["locator"], row["detail"]])[0] += 1
    return [(path, "duplicate_id", n, locator, detail) for path, (n, locator, detail) in sorted(found.items())]


def _commit(cfg, out: Path, work: Path, plans, splits, stats_by_key, shard_results, config_hash) -> dict[str, Any]:
    """Reconcile every count, move outputs into place, then write the manifest (last)."""
    from curation import __version__
    from curation.ingest.process import split_paths
    from curation.schema import DOCUMENT_SCHEMA_VERSION, REJECT_SCHEMA_VERSION

    totals: Counter[str] = Counter()
    rejected: Counter[str] = Counter()
    input_errors: Counter[str] = Counter()
    inputs = []
    for plan in plans:
        mine = [stats_by_key[s.key] for s in splits if s.path == plan["path"]]
        file_rejected = sum((Counter(s["rejected"]) for s in mine), Counter())
        file_errors = sum((Counter(s["input_errors"]) for s in mine), Counter())
        entry = {
            "path": plan["path"],
            "size": plan["size"],
            **{key: plan[key] for key in ("sha256", "etag") if key in plan},  # etag: a remote object's checksum
            "format": plan["format"],
            "layout": plan["layout"],
            "source": plan["source"],
            "splits": len(mine),
            "records_read": sum(s["records_read"] for s in mine),
            "documents": sum(s["documents"] for s in mine),
            "rejected": dict(sorted(file_rejected.items())),
            "input_errors": dict(sorted(file_errors.items())),
        }
        inputs.append(entry)
        totals.update(records_read=entry["records_read"], split_documents=entry["documents"])
        rejected.update(file_rejected)
        input_errors.update(file_errors)

    documents = sum(r["rows"] for r in shard_results.values())
    duplicates = sum(r["dups"] for r in shard_results.values())
    if duplicates:
        rejected["duplicate_id"] += duplicates
    if totals["split_documents"] != documents + duplicates:
        raise AccountingError(
            f"{totals['split_documents']} documents processed but {documents} written + {duplicates} duplicates"
        )
    if totals["records_read"] != documents + sum(rejected.values()):
        raise AccountingError(
            f"{totals['records_read']} records read != {documents} documents + {sum(rejected.values())} rejected"
        )

    (out / SHARDS_DIR).mkdir(exist_ok=True)
    (out / REJECTS_DIR).mkdir(exist_ok=True)
    shards = []
    for shard in range(cfg.shards):
        result = shard_results[shard]
        final = out / SHARDS_DIR / shard_name(shard)
        commit(Path(result["path"]), final)
        shards.append(
            {
                "path": f"{SHARDS_DIR}/{final.name}",
                "rows": result["rows"],
                "bytes": result["bytes"],
                "sha256": file_sha256(final),
            }
        )
    reject_files = []
    for split in splits:
        source = split_paths(work, split)["rejects"]
        if source.is_file():
            final = out / REJECTS_DIR / f"input-{split.key}.parquet"
            shutil.copyfile(source, final.with_name(f".{final.name}.tmp"))
            commit(final.with_name(f".{final.name}.tmp"), final)
            reject_files.append(final)
    for shard in range(cfg.shards):
        if shard_results[shard]["dup_path"]:
            final = out / REJECTS_DIR / f"duplicates-{shard:05d}.parquet"
            commit(Path(shard_results[shard]["dup_path"]), final)
            reject_files.append(final)
    _remove_strays(
        out,
        {f"{SHARDS_DIR}/{s['path'].split('/')[-1]}" for s in shards}
        | {f"{REJECTS_DIR}/{p.name}" for p in reject_files},
    )

    import pyarrow.parquet as pq

    manifest = {
        "format": MANIFEST_FORMAT,
        "kind": "ingest",
        "schema": {"document": DOCUMENT_SCHEMA_VERSION, "reject": REJECT_SCHEMA_VERSION},
        "created_by": {"package": "curation", "version": __version__, "code": code_version()},
        "config": cfg.output_affecting(),
        "config_hash": config_hash,
        "inputs": inputs,
        "shards": shards,
        "rejects": [
            {"path": f"{REJECTS_DIR}/{p.name}", "rows": pq.ParquetFile(p).metadata.num_rows} for p in reject_files
        ],
        "counts": {
            "records_read": totals["records_read"],
            "documents": documents,
            "rejected": dict(sorted(rejected.items())),
            "input_errors": dict(sorted(input_errors.items())),
            "bytes_out": sum(s["bytes"] for s in shards),
        },
        "reconciled": True,
    }
    write_json_atomic(out / MANIFEST_NAME, manifest)
    return manifest


def _remove_strays(out: Path, keep: set[str]) -> None:
    """Files in shards/ or rejects/ from an older, different run would confuse a directory reader."""
    for folder in (SHARDS_DIR, REJECTS_DIR):
        for path in (out / folder).iterdir():
            if f"{folder}/{path.name}" not in keep:
                path.unlink()
