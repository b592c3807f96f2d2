"""`curate select`: apply a rule to a corpus and its attribute sets, write the kept documents as a new corpus.

One Spark task per shard reads the shard and the aligned part of every attribute set, evaluates the
clauses in order, and writes the kept rows (still sorted by id) and the dropped ones to ``rejects/``
with the clause that dropped them. The new manifest records lineage: the input corpus (path and
checksum), the attribute sets (with their MLflow run ids), the rule, and the funnel.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from curation.attributes import AttributeSet, corpus_fingerprint
from curation.corpus import MANIFEST_FORMAT, MANIFEST_NAME, REJECTS_DIR, SHARDS_DIR, Corpus, read_parquet, shard_name
from curation.destination import Destination
from curation.errors import ConfigError, CorpusError


def _attempt_tag(shard: int) -> str:
    """A temporary-name tag unique to this task attempt, so two attempts never write the same temporary."""
    from pyspark import TaskContext

    context = TaskContext.get()
    return f"s{shard}a{context.taskAttemptId()}" if context else f"s{shard}"


@dataclass
class SelectResult:
    out: Path | str
    manifest: dict[str, Any]
    skipped: bool
    seconds: float


def _available_columns(corpus: Corpus, sets: list[AttributeSet]) -> dict[str, int | None]:
    """Column -> index of the attribute set holding it (None: the corpus itself)."""
    from curation.schema import DOCUMENT_SCHEMA

    available: dict[str, int | None] = {name: None for name in DOCUMENT_SCHEMA.names if name != "text"}
    for index, attribute_set in enumerate(sets):
        for column in attribute_set.columns:
            if column in available:
                owner = "the corpus" if available[column] is None else sets[available[column]].root
                raise ConfigError(
                    f"column {column!r} is in both {owner} and {attribute_set.root}; select from one of them"
                )
            available[column] = index
    return available


def select_part(
    shard: int,
    shard_path: str,
    part_paths: list[str],
    rule: list[str],
    columns_by_set: list[list[str]],
    out: Destination,
) -> dict:
    """Evaluate the rule on one shard; commit the kept rows and the rejects under their final names in ``out``
    (the same bytes on every attempt)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from curation.schema import REJECT_SCHEMA, sample_of
    from curation.select.rules import evaluate, parse_rule

    clauses = parse_rule(rule)
    documents = read_parquet(shard_path)
    table = documents.drop_columns(["text"])
    for path, columns in zip(part_paths, columns_by_set, strict=True):
        part = read_parquet(path, columns=["id", *columns])
        if not part.column("id").equals(documents.column("id")):
            raise CorpusError(f"{path} is not aligned with {shard_path} (ids differ); recompute the attribute set")
        for column in columns:
            table = table.append_column(column, part.column(column))
    alive = pa.array([True] * documents.num_rows, type=pa.bool_())  # typed: an empty shard is not a null array
    funnel, dropped_by = [], [None] * documents.num_rows
    n_bytes = documents.column("n_bytes")
    for index, clause in enumerate(clauses):
        passed = evaluate(clause, table)
        newly = pc.and_(alive, pc.invert(passed)).to_pylist()
        dropped_by = [index if hit else prior for hit, prior in zip(newly, dropped_by, strict=True)]
        alive = pc.and_(alive, passed)
        funnel.append([int(pc.sum(alive).as_py() or 0), int(pc.sum(pc.if_else(alive, n_bytes, 0)).as_py() or 0)])
    tag = _attempt_tag(shard)
    kept = documents.filter(alive)
    shard_file = f"{SHARDS_DIR}/{shard_name(shard)}"
    digest = out.commit_file(
        shard_file, lambda p: pq.write_table(kept, p, compression="zstd", row_group_size=4096), tag
    )
    rejects_file = ""
    dropped = documents.filter(pc.invert(alive))
    if dropped.num_rows:
        reasons = [dropped_by[i] for i, ok in enumerate(alive.to_pylist()) if not ok]
        rows = [
            {
                "source_file": shard_path,
                "locator": f"id={doc_id}",
                "reason": "rule",
                "detail": f"clause {clause + 1}: {clauses[clause].text}",
                "sample": sample_of(text),
            }
            for doc_id, text, clause in zip(
                dropped.column("id").to_pylist(), dropped.column("text").to_pylist(), reasons, strict=True
            )
        ]
        rejects = pa.Table.from_pylist(rows, schema=REJECT_SCHEMA)
        rejects_file = f"{REJECTS_DIR}/select-{shard:05d}.parquet"
        out.commit_file(rejects_file, lambda p: pq.write_table(rejects, p, compression="zstd"), tag)
    return {
        "shard": shard,
        "path": shard_file,
        "sha256": digest,
        "rows_in": documents.num_rows,
        "bytes_in": int(pc.sum(n_bytes).as_py() or 0),
        "rows": kept.num_rows,
        "bytes": int(pc.sum(kept.column("n_bytes")).as_py() or 0),
        "funnel": funnel,
        "rejects_path": rejects_file,
        "rejected": dropped.num_rows,
    }


def run_select(
    corpus_dir,
    attribute_dirs: list[str],
    rule: str | list[str],
    out_dir,
    *,
    master: str | None = None,
    spark_conf: dict[str, str] | None = None,
    tracking: bool = True,
    overwrite: bool = False,
    console=None,
) -> SelectResult:
    from rich.console import Console

    from curation.select.rules import check_columns, parse_rule
    from curation.tracking import stage_run

    console = console or Console(stderr=True)
    started = time.perf_counter()
    corpus = Corpus.open(corpus_dir)
    sets = [AttributeSet.open(d, corpus) for d in attribute_dirs]
    clauses = parse_rule(rule)
    available = _available_columns(corpus, sets)
    check_columns(clauses, available)
    needed = set().union(*(c.columns for c in clauses))
    columns_by_set = [[c for c in s.columns if c in needed] for s in sets]
    texts = [c.text for c in clauses]
    directory = Destination(out_dir)
    out = directory.path
    if directory.is_location_of(corpus.root):
        raise ConfigError("--out must differ from the input corpus")
    lineage = {
        "corpus": {"path": str(corpus.root), "fingerprint": corpus_fingerprint(corpus)},
        "attributes": [
            {"path": str(s.root), "name": s.name, "mlflow_run_id": s.manifest.get("mlflow_run_id")} for s in sets
        ],
        "rule": texts,
    }
    config_hash = hashlib.sha256(json.dumps(lineage, sort_keys=True).encode()).hexdigest()[:16]
    if directory.remote:
        directory.check_writable()
    existing_bytes = directory.read_bytes(MANIFEST_NAME)
    if existing_bytes is not None:
        existing = json.loads(existing_bytes)
        if existing.get("config_hash") == config_hash and not overwrite:
            console.print(f"select: {out} is already complete for this rule and input; nothing to do", highlight=False)
            return SelectResult(out, existing, True, time.perf_counter() - started)
        if not overwrite:
            raise CorpusError(f"{out} holds another corpus; pass --overwrite or choose another --out")
        directory.remove(MANIFEST_NAME)
    directory.make_folder("")
    shard_paths = [str(p) for p in corpus.shard_paths]
    parts = [[str(s.part_path(i)) for s in sets] for i in range(len(shard_paths))]
    params = {
        "corpus": str(corpus.root),
        "attributes": [s.name for s in sets],
        "rule": " and ".join(texts),
        "out": str(out),
    }
    with stage_run("select", params, enabled=tracking) as run:
        run.log_inputs([s.root for s in sets])  # params name the sets only
        from curation.progress import TaskProgress
        from curation.spark import get_spark

        sc = get_spark(master, "curation-select", spark_conf).sparkContext
        with TaskProgress(console, sc, "select", corpus.num_documents):
            results = sorted(
                sc.parallelize(range(len(shard_paths)), max(1, len(shard_paths)))
                .map(lambda i: select_part(i, shard_paths[i], parts[i], texts, columns_by_set, directory))
                .collect(),
                key=lambda r: r["shard"],
            )
        rows_in = sum(r["rows_in"] for r in results)
        kept = sum(r["rows"] for r in results)
        rejected = sum(r["rejected"] for r in results)
        if rows_in != corpus.num_documents or rows_in != kept + rejected:
            raise CorpusError(
                f"select: {rows_in} documents in, {kept} kept + {rejected} rejected; expected {corpus.num_documents} in"
            )
        directory.make_folder(REJECTS_DIR)  # present even when empty, where folders exist
        shards = [{key: r[key] for key in ("path", "rows", "bytes", "sha256")} for r in results]
        reject_files = [{"path": r["rejects_path"], "rows": r["rejected"]} for r in results if r["rejects_path"]]
        keep = {s["path"] for s in shards} | {r["path"] for r in reject_files}
        for folder in (SHARDS_DIR, REJECTS_DIR):  # files of an older run that this one does not list
            for name in directory.list(folder):
                if f"{folder}/{name}" not in keep:
                    directory.remove(f"{folder}/{name}")
        bytes_in = sum(r["bytes_in"] for r in results)
        funnel = [{"clause": "input", "documents": rows_in, "bytes": bytes_in}]
        for index, text in enumerate(texts):
            funnel.append(
                {
                    "clause": text,
                    "documents": sum(r["funnel"][index][0] for r in results),
                    "bytes": sum(r["funnel"][index][1] for r in results),
                }
            )
        from curation import __version__

        manifest = {
            "format": MANIFEST_FORMAT,
            "kind": "select",
            "schema": corpus.manifest["schema"],
            "created_by": {"package": "curation", "version": __version__},
            "config_hash": config_hash,
            "lineage": lineage,
            "funnel": funnel,
            "shards": shards,
            "rejects": reject_files,
            "counts": {
                "records_read": rows_in,
                "documents": kept,
                "rejected": {"rule": rejected},
                "input_errors": {},
                "bytes_out": sum(s["bytes"] for s in shards),
            },
            "reconciled": True,
            "mlflow_run_id": run.run_id,
        }
        directory.write_json(MANIFEST_NAME, manifest)
        for index, step in enumerate(funnel):
            run.log_metrics(
                {f"funnel.{index:02d}.documents": step["documents"], f"funnel.{index:02d}.bytes": step["bytes"]}
            )
        run.log_dict({"funnel": funnel}, "funnel.json")
        with directory.local_copy(MANIFEST_NAME) as local_manifest:
            run.log_artifact(local_manifest)
        return SelectResult(out, manifest, False, time.perf_counter() - started)


def print_funnel(result: SelectResult, console=None) -> None:
    import sys

    from rich.console import Console
    from rich.table import Table

    console = console or Console(width=None if sys.stdout.isatty() else 110)
    funnel = result.manifest["funnel"]
    table = Table(title=f"select → {result.out}", title_justify="left")
    for name, justify in (
        ("step", "left"),
        ("documents", "right"),
        ("% of input", "right"),
        ("MiB", "right"),
        ("% bytes", "right"),
    ):
        table.add_column(name, justify=justify, overflow="fold")
    first = funnel[0]
    for step in funnel:
        table.add_row(
            step["clause"],
            f"{step['documents']:,}",
            f"{100 * step['documents'] / max(1, first['documents']):.1f}",
            f"{step['bytes'] / (1 << 20):,.2f}",
            f"{100 * step['bytes'] / max(1, first['bytes']):.1f}",
        )
    console.print(table)
    counts = result.manifest["counts"]
    state = "already complete, skipped" if result.skipped else f"{result.seconds:,.1f} s"
    console.print(
        f"{counts['documents']:,} kept, {counts['rejected']['rule']:,} in rejects/ with the clause that dropped them; {state}",
        highlight=False,
    )
