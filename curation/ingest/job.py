"""The ingest job: plan → process splits → shard → reconcile → commit (manifest last) → track.

Fail-fast checks (inputs exist, options valid, output writable, language model present, tracking
store reachable) all run before Spark starts. Work is cached per split under ``OUT/_work/<hash>/``,
so a rerun after a crash redoes only unfinished splits and writes byte-identical shards.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from curation.corpus import MANIFEST_FORMAT, MANIFEST_NAME, REJECTS_DIR, SHARDS_DIR, WORK_DIR
from curation.destination import Destination
from curation.errors import AccountingError, ConfigError, CorpusError
from curation.ingest.config import HTML_RULES_VERSION, IngestConfig, MiB
from curation.readers import Split, splits_of


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


def _existing_manifest(out: Destination) -> dict[str, Any] | None:
    try:
        data = out.read_bytes(MANIFEST_NAME)
        return json.loads(data) if data is not None else None
    except (OSError, json.JSONDecodeError):
        return None


def input_checksums(inputs: list[dict[str, Any]]) -> list[str]:
    """What the config hash takes of the inputs (plans, or the manifest's ``inputs``): path and checksum (sha256,
    or a remote object's etag)."""
    return [f"{entry['path']}:{entry.get('sha256') or entry['etag']}" for entry in inputs]


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
    out = Destination(cfg.out)
    out.check_writable("--out")
    from curation.text.extract import HtmlExtractor

    HtmlExtractor(cfg.extractor, cfg.extraction_timeout_s).check()
    if cfg.langid:
        from curation.text.langid import LanguageIdentifier

        LanguageIdentifier(cfg.lid_model).check()
    if cfg.lid_model and not cfg.langid:
        raise ConfigError("--lid-model given together with --no-langid")

    params = {
        **cfg.output_affecting(),
        "out": out.location,
        "n_input_files": len(files),
        "master": master or "local[*]",
    }
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
        checksums = input_checksums(plans)
        html_rules = HTML_RULES_VERSION if any(p["format"] == "warc" for p in plans) else None
        config_hash = cfg.config_hash(checksums, html_rules)

        existing = _existing_manifest(out)
        if existing and existing.get("config_hash") == config_hash:  # --overwrite replaces only another config
            console.print(
                f"ingest: {out} is already complete for this config ({config_hash}); nothing to do", highlight=False
            )
            run.log_metrics({"skipped": 1})
            return IngestResult(_shown(out), existing, True, time.perf_counter() - started, run.run_id)
        if existing and not overwrite:
            older = existing.get("html_rules", 1)
            if html_rules and older != html_rules and existing.get("config_hash") == cfg.config_hash(checksums, older):
                raise CorpusError(
                    f"{out} holds a corpus of the same config made by older HTML rules (version {older}; this is "
                    f"version {html_rules}, see docs/ingest.md); pass --overwrite or choose another --out"
                )
            raise CorpusError(
                f"{out} holds a corpus made with another config ({existing.get('config_hash')}); pass --overwrite or choose another --out"
            )
        out.remove(MANIFEST_NAME)  # from here on the directory is not a corpus

        work = out.sub(f"{WORK_DIR}/{config_hash}")
        splits = splits_of(plans)
        plan_by_path = {p["path"]: p for p in plans}
        work.write_json("plan.json", {"config_hash": config_hash, "plans": plans})
        sizes = [_estimated_size(s, plan_by_path[s.path]) for s in splits]
        tasks = pack(splits, sizes, task_count(len(splits), sum(sizes), split_bytes, sc.defaultParallelism))
        console.print(
            f"ingest: {len(splits)} split(s) over {len(plans)} file(s), {sum(p['size'] for p in plans) / MiB:,.1f} MiB, "
            f"in {len(tasks)} task(s)",
            highlight=False,
        )

        from curation.ingest.process import process_split, split_paths
        from curation.progress import SplitProgress, TaskProgress

        process_started = time.perf_counter()
        monitor = (  # remote: no listing of the store every half second
            TaskProgress(console, sc, "ingest", None)
            if work.remote
            else SplitProgress(console, Path(work.url("splits")), {s.key: s.path for s in splits})
        )
        with monitor:
            stats = (
                sc.parallelize(tasks, max(1, len(tasks)))
                .flatMap(lambda group: [process_split(s, cfg, work) for s in group])
                .collect()
            )
        process_seconds = time.perf_counter() - process_started
        stats_by_key = {s["split"]: s for s in stats}

        from curation.ingest.shards import write_shards

        doc_files = [work.url(split_paths(s)["docs"]) for s in splits if stats_by_key[s.key]["documents"]]
        shard_started = time.perf_counter()
        shard_results = write_shards(sc, doc_files, out, cfg.shards, cfg.row_group_rows)
        shard_seconds = time.perf_counter() - shard_started

        manifest = _commit(cfg, out, plans, splits, stats_by_key, shard_results, config_hash, html_rules)
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
        with out.local_copy(MANIFEST_NAME) as local_manifest:
            run.log_artifact(local_manifest)
        out.remove_tree(WORK_DIR)
        input_seconds: Counter[str] = Counter()
        for split in splits:
            input_seconds[split.path] += stats_by_key[split.key]["seconds"]
        problems = _problems(splits, stats_by_key) + _duplicate_problems(out, manifest)
        return IngestResult(_shown(out), manifest, False, seconds, run.run_id, dict(input_seconds), problems)


def _problems(splits: list[Split], stats_by_key: dict[str, dict]) -> list[tuple[str, str, int, str, str]]:
    """(input, reason, count, first locator, first detail) for every kind of problem in every input."""
    found: dict[tuple[str, str], list] = {}
    for split in splits:  # in input order, so the first example is the earliest record
        stats = stats_by_key[split.key]
        for reason, n in {**stats["rejected"], **stats["input_errors"]}.items():
            entry = found.setdefault((split.path, reason), [0, *stats["examples"].get(reason, ["", ""])])
            entry[0] += n
    return [(path, reason, n, locator, detail) for (path, reason), (n, locator, detail) in found.items()]


def _shown(out: Destination) -> Path | str:
    """The output as results give it: a path for a local directory, the URL for a remote one."""
    return out.location if out.remote else Path(out.location)


def _duplicate_problems(out: Destination, manifest: dict[str, Any]) -> list[tuple[str, str, int, str, str]]:
    """(input, "duplicate_id", count, first locator, its detail) per input with duplicate ids. They are found
    when the shards are written, after the splits' own problems, so they are read back from rejects/."""
    from curation.parquet_stream import open_parquet_stream

    found: dict[str, list] = {}
    for entry in manifest["rejects"]:
        if not entry["path"].startswith(f"{REJECTS_DIR}/duplicates-"):
            continue
        rows = open_parquet_stream(out.url(entry["path"])).read(columns=["source_file", "locator", "detail"])
        for row in rows.to_pylist():
            found.setdefault(row["source_file"], [0, row["locator"], row["detail"]])[0] += 1
    return [(path, "duplicate_id", n, locator, detail) for path, (n, locator, detail) in sorted(found.items())]


def _commit(
    cfg, out: Destination, plans, splits, stats_by_key, shard_results, config_hash, html_rules: int | None
) -> dict[str, Any]:
    """Reconcile every count, commit the rejects, remove strays, then write the manifest (last). The shards
    are already committed under their final names by their tasks."""
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

    shards = [
        {key: shard_results[shard][key] for key in ("path", "rows", "bytes", "sha256")} for shard in range(cfg.shards)
    ]
    rejects = []  # (path, rows)
    for split in splits:
        stats = stats_by_key[split.key]
        rows = sum(stats["rejected"].values()) + sum(stats["input_errors"].values())
        if rows:  # a split writes its rejects file exactly when it has rows
            final = f"{REJECTS_DIR}/input-{split.key}.parquet"
            out.copy(f"{WORK_DIR}/{config_hash}/{split_paths(split)['rejects']}", final)
            rejects.append((final, rows))
    for shard in range(cfg.shards):
        if shard_results[shard]["dup_path"]:
            rejects.append((shard_results[shard]["dup_path"], shard_results[shard]["dups"]))
    out.make_folder(REJECTS_DIR)  # present even when empty, where folders exist
    _remove_strays(out, {s["path"] for s in shards} | {path for path, _ in rejects})

    manifest = {
        "format": MANIFEST_FORMAT,
        "kind": "ingest",
        "schema": {"document": DOCUMENT_SCHEMA_VERSION, "reject": REJECT_SCHEMA_VERSION},
        "created_by": {"package": "curation", "version": __version__, "code": code_version()},
        "config": cfg.output_affecting(),
        **({"html_rules": html_rules} if html_rules is not None else {}),
        "config_hash": config_hash,
        "inputs": inputs,
        "shards": shards,
        "rejects": [{"path": path, "rows": rows} for path, rows in rejects],
        "counts": {
            "records_read": totals["records_read"],
            "documents": documents,
            "rejected": dict(sorted(rejected.items())),
            "input_errors": dict(sorted(input_errors.items())),
            "bytes_out": sum(s["bytes"] for s in shards),
        },
        "reconciled": True,
    }
    out.write_json(MANIFEST_NAME, manifest)
    return manifest


def _remove_strays(out: Destination, keep: set[str]) -> None:
    """Files in shards/ or rejects/ from an older, different run (or a killed task's temporary) would confuse
    a directory reader."""
    for folder in (SHARDS_DIR, REJECTS_DIR):
        for name in out.list(folder):
            if f"{folder}/{name}" not in keep:
                out.remove(f"{folder}/{name}")
