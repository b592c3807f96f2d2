"""``curate mix``: a corpus with target shares of a column's values (default ``source``) under a token budget.

Driver-side and deterministic: a first pass reads only the cheap columns (id, the value column, n_bytes;
text only when a tokenizer counts tokens, batch by batch), the plan is decided from them
(``curation.mix.plan``), then each shard is read once, its chosen rows (and their repeats) written
sorted by id, and its dropped rows written to ``rejects/`` with reason ``mixture``. One shard in memory
at a time. The manifest (last) records lineage, the per-value outcome and reconciled counts:
documents in = kept + rejected, documents out = kept + repeats.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from curation.attributes import corpus_fingerprint
from curation.corpus import (
    MANIFEST_FORMAT,
    MANIFEST_NAME,
    REJECTS_DIR,
    SHARDS_DIR,
    read_parquet,
    shard_name,
)
from curation.destination import Destination
from curation.errors import AccountingError, ConfigError, CorpusError
from curation.mix.config import OTHERS, MixConfig

REASON = "mixture"
REPEAT_MARK = "#r"


@dataclass
class MixResult:
    out: Path | str
    manifest: dict[str, Any]
    skipped: bool
    seconds: float


def _is_text(arrow_type) -> bool:
    import pyarrow as pa

    if pa.types.is_dictionary(arrow_type):
        arrow_type = arrow_type.value_type
    return pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type)


def _read_values(corpus, column) -> tuple[list[str], np.ndarray, list[str | None], np.ndarray, list[int]]:
    """ids, value codes, distinct values (first-seen order), n_bytes and rows per shard: the cheap pass."""
    from curation.mix.columns import read_shard_columns

    ids: list[str] = []
    codes: list[int] = []
    values: dict[str | None, int] = {}
    n_bytes, shard_rows = [], []
    for shard in range(len(corpus.shard_paths)):
        table = read_shard_columns(corpus, shard, ["n_bytes"], [column])
        ids.extend(table.column("id").to_pylist())
        codes.extend(values.setdefault(v, len(values)) for v in table.column(column.name).to_pylist())
        n_bytes.append(table.column("n_bytes").to_numpy().astype(np.int64))
        shard_rows.append(table.num_rows)
    n_bytes_all = np.concatenate(n_bytes) if n_bytes else np.zeros(0, dtype=np.int64)
    return ids, np.asarray(codes, dtype=np.int64), list(values), n_bytes_all, shard_rows


def _check_targets(cfg: MixConfig, column: str, values: list[str | None]) -> None:
    present = {v for v in values if v is not None}
    listing = ", ".join(sorted(present)[:20]) + (" ..." if len(present) > 20 else "")
    for name in cfg.targets:
        if name != OTHERS and name not in present:
            raise ConfigError(f"--target {name!r}: no document has {column}={name!r} (values: {listing})")
    if OTHERS in cfg.targets and cfg.targets[OTHERS] > 0 and not (set(values) - set(cfg.targets)):
        raise ConfigError(f"--target {OTHERS!r}: every value of {column} is named by another target")


def _metric_name(value: str) -> str:
    return re.sub(r"[^A-Za-z0-9_\-. /]", "_", value)[:200] or "_"


def _with_ids(table, ids: list[str]):
    import pyarrow as pa

    from curation.schema import DOCUMENT_SCHEMA

    position = table.schema.get_field_index("id")
    return table.set_column(position, DOCUMENT_SCHEMA.field("id"), pa.array(ids, pa.string()))


def _write_shard(corpus, shard: int, copies: np.ndarray, details: list[str | None], out: Destination, taken: set[str]):
    """Commit one output shard (chosen rows + repeats, sorted by id) and its rejects; return its counts."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from curation.schema import REJECT_SCHEMA, sample_of

    shard_path = corpus.shard_paths[shard]
    documents = read_parquet(shard_path)
    if documents.num_rows != len(copies):
        raise CorpusError(f"{shard_path}: {documents.num_rows} rows, the manifest-time read saw {len(copies)}")
    ids = documents.column("id").to_pylist()
    pieces = [documents.filter(pa.array(copies >= 1))]
    for copy in range(1, int(copies.max(initial=0))):
        rows = np.flatnonzero(copies > copy)
        new_ids = [f"{ids[i]}{REPEAT_MARK}{copy}" for i in rows]
        clash = next((i for i in new_ids if i in taken), None)
        if clash is not None:
            raise CorpusError(f"{shard_path}: the repeat id {clash!r} is already a document id; cannot repeat")
        pieces.append(_with_ids(documents.take(pa.array(rows)), new_ids))
    kept = pa.concat_tables(pieces).sort_by("id")
    shard_file = f"{SHARDS_DIR}/{shard_name(shard)}"
    digest = out.commit_file(
        shard_file, lambda p: pq.write_table(kept, p, compression="zstd", row_group_size=4096), "mix"
    )
    dropped = np.flatnonzero(copies == 0)
    rejects_file = None
    if len(dropped):
        texts = documents.column("text").take(pa.array(dropped)).to_pylist()
        rows = [
            {
                "source_file": str(shard_path),
                "locator": f"id={ids[i]}",
                "reason": REASON,
                "detail": details[i],
                "sample": sample_of(text),
            }
            for i, text in zip(dropped, texts, strict=True)
        ]
        rejects = pa.Table.from_pylist(rows, schema=REJECT_SCHEMA)
        rejects_file = f"{REJECTS_DIR}/mix-{shard:05d}.parquet"
        out.commit_file(
            rejects_file, lambda p: pq.write_table(rejects, p, compression="zstd", row_group_size=8192), "mix"
        )
    return {
        "shard": {
            "path": shard_file,
            "rows": kept.num_rows,
            "bytes": int(pc.sum(kept.column("n_bytes")).as_py() or 0),
            "sha256": digest,
        },
        "rejects": {"path": rejects_file, "rows": len(dropped)} if rejects_file else None,
        "kept": int((copies >= 1).sum()),
        "repeats": int((copies - 1).clip(min=0).sum()),
        "rejected": len(dropped),
    }


def _reject_details(plan, column: str, values: list[str | None], codes: np.ndarray) -> list[str | None]:
    """The reason each dropped document was dropped, in words (None for kept documents)."""
    texts = {}
    for g, group in enumerate(plan.groups):
        for code, value in enumerate(values):
            shown = f"{column}={'null' if value is None else value}"
            if not group.targeted:
                texts[(g, code)] = f"{shown}: not among the --target values (share 0)"
            elif group.target_share == 0:
                texts[(g, code)] = f"{shown}: target share 0"
            else:
                via = f" (target {OTHERS!r})" if group.name == OTHERS else ""
                texts[(g, code)] = f"{shown}: quota {group.allotted_tokens:,} tokens reached{via}"
    return [
        texts[(int(g), int(c))] if n == 0 else None for g, c, n in zip(plan.group_of, codes, plan.copies, strict=True)
    ]


def _remove_strays(out: Destination, keep: set[str]) -> None:
    """Parquet files in shards/ or rejects/ from an earlier, different mix would confuse a directory reader."""
    for folder in (SHARDS_DIR, REJECTS_DIR):
        for name in out.list(folder):
            if name.endswith(".parquet") and f"{folder}/{name}" not in keep:
                out.remove(f"{folder}/{name}")


def run_mix(
    corpus_dir: str | Path,
    out_dir: str | Path,
    cfg: MixConfig,
    tracking: bool = True,
    overwrite: bool = False,
    console=None,
) -> MixResult:
    from rich.console import Console

    from curation.mix.columns import find_column, open_inputs
    from curation.mix.plan import plan_mixture
    from curation.mix.tokens import token_counter
    from curation.tracking import stage_run

    console = console or Console(stderr=True)
    started = time.perf_counter()
    corpus, sets = open_inputs(corpus_dir, list(cfg.attributes))
    column = find_column(corpus, sets, cfg.column, "--column")
    if not _is_text(column.type):
        raise ConfigError(f"--column {column.name!r} is {column.type}; a mixture needs a string column (e.g. source)")
    counter = token_counter(cfg.tokenizer)
    directory = Destination(out_dir)
    out = directory.path
    if directory.is_location_of(corpus.root):
        raise ConfigError("--out must differ from the input corpus")
    lineage = {
        "corpus": {"path": str(corpus.root), "fingerprint": corpus_fingerprint(corpus)},
        "attributes": [
            {"path": str(s.root), "name": s.name, "mlflow_run_id": s.manifest.get("mlflow_run_id")} for s in sets
        ],
        "column": column.describe(),
        "targets": cfg.targets,
        "tokens": cfg.tokens,
        "seed": cfg.seed,
        "on_short": cfg.on_short,
        "tokenizer": counter.describe(),
    }
    config_hash = hashlib.sha256(json.dumps(lineage, sort_keys=True).encode()).hexdigest()[:16]
    if directory.remote:
        directory.check_writable()
    existing = None
    existing_bytes = directory.read_bytes(MANIFEST_NAME)
    if existing_bytes is not None:
        existing = json.loads(existing_bytes)
        if existing.get("config_hash") == config_hash and not overwrite:
            console.print(f"mix: {out} is already complete for this mixture and input; nothing to do", highlight=False)
            return MixResult(out, existing, True, time.perf_counter() - started)
        if not overwrite:
            raise CorpusError(f"{out} holds another corpus; pass --overwrite or choose another --out")

    ids, codes, values, n_bytes, shard_rows = _read_values(corpus, column)
    _check_targets(cfg, column.name, values)
    if len(ids) != corpus.num_documents:
        raise CorpusError(f"{corpus.root}: {len(ids)} rows in the shards, the manifest counts {corpus.num_documents}")
    starts = np.cumsum([0, *shard_rows])
    tokens = np.concatenate(
        [counter.shard_tokens(path, n_bytes[starts[i] : starts[i + 1]]) for i, path in enumerate(corpus.shard_paths)]
        or [np.zeros(0, dtype=np.int64)]
    )
    plan = plan_mixture(ids, tokens, codes, values, cfg.targets, cfg.tokens, cfg.seed, cfg.on_short)
    details = _reject_details(plan, column.name, values, codes)

    params = {**asdict(cfg), "corpus": str(corpus.root), "out": str(out)}
    params["tokenizer"] = counter.name
    with stage_run("mix", params, enabled=tracking) as run:
        if existing is not None:
            directory.remove(MANIFEST_NAME)  # overwrite: the old corpus stops being one before any file changes
        directory.make_folder(SHARDS_DIR)
        directory.make_folder(REJECTS_DIR)
        taken = set(ids)
        results = []
        for shard in range(len(shard_rows)):
            lo, hi = starts[shard], starts[shard + 1]
            results.append(_write_shard(corpus, shard, plan.copies[lo:hi], details[lo:hi], directory, taken))
        shards = [r["shard"] for r in results]
        reject_files = [r["rejects"] for r in results if r["rejects"]]
        _remove_strays(directory, {s["path"] for s in shards} | {r["path"] for r in reject_files})
        kept = sum(r["kept"] for r in results)
        repeats = sum(r["repeats"] for r in results)
        rejected = sum(r["rejected"] for r in results)
        documents = sum(s["rows"] for s in shards)
        if kept + rejected != len(ids) or documents != kept + repeats:
            raise AccountingError(
                f"mix: {len(ids)} documents in, {kept} kept + {rejected} rejected; "
                f"{documents} written for {kept} kept + {repeats} repeats"
            )
        total_output = plan.tokens_output
        mixture = {
            "column": column.name,
            "budget_tokens": cfg.tokens,
            "tokens_output": total_output,
            "tokenizer": counter.describe(),
            "on_short": cfg.on_short,
            "seed": cfg.seed,
            "values": {group.name: group.summary(total_output) for group in plan.groups},
        }
        from curation import __version__

        manifest = {
            "format": MANIFEST_FORMAT,
            "kind": "mix",
            "schema": corpus.manifest["schema"],
            "created_by": {"package": "curation", "version": __version__},
            "config_hash": config_hash,
            "lineage": lineage,
            "mixture": mixture,
            "shards": shards,
            "rejects": reject_files,
            "counts": {
                "records_read": len(ids),
                "documents": documents,
                "kept": kept,
                "repeats": repeats,
                "rejected": {REASON: rejected},
                "input_errors": {},
                "bytes_out": sum(s["bytes"] for s in shards),
            },
            "reconciled": True,
            "mlflow_run_id": run.run_id,
        }
        directory.write_json(MANIFEST_NAME, manifest)
        metrics = {"documents": documents, "kept": kept, "repeats": repeats, "rejected": rejected}
        metrics["tokens_output"] = total_output
        for name, entry in mixture["values"].items():
            key = _metric_name(name)
            for field in ("tokens_output", "achieved_share", "documents_selected", "documents_repeated"):
                metrics[f"{key}.{field}"] = entry[field]
        run.log_metrics(metrics)
        with directory.local_copy(MANIFEST_NAME) as local_manifest:
            run.log_artifact(local_manifest)
        return MixResult(out, manifest, False, time.perf_counter() - started)


def print_mixture(result: MixResult, console=None) -> None:
    import sys

    from rich.console import Console
    from rich.table import Table

    console = console or Console(width=None if sys.stdout.isatty() else 120)
    mixture = result.manifest["mixture"]
    table = Table(
        title=f"mix → {result.out} ({mixture['tokenizer']['name']} tokens, by {mixture['column']})",
        title_justify="left",
    )
    columns = ("value", "docs available", "tokens available", "target", "quota", "docs selected", "tokens selected")
    for name in (*columns, "tokens repeated", "achieved"):
        table.add_column(name, justify="left" if name == "value" else "right", overflow="fold")
    for name, entry in mixture["values"].items():
        targeted = entry["targeted"]
        table.add_row(
            name,
            f"{entry['documents_available']:,}",
            f"{entry['tokens_available']:,}",
            f"{100 * entry['target_share']:.1f}%" if targeted else "dropped",
            f"{entry['quota_tokens']:,}" if targeted else "",
            f"{entry['documents_selected']:,}",
            f"{entry['tokens_selected']:,}",
            f"{entry['tokens_repeated']:,}" if entry["tokens_repeated"] else "",
            f"{100 * entry['achieved_share']:.2f}%",
        )
    console.print(table)
    counts = result.manifest["counts"]
    state = "already complete, skipped" if result.skipped else f"{result.seconds:,.1f} s"
    console.print(
        f"{mixture['tokens_output']:,} of {mixture['budget_tokens']:,} budget tokens; {counts['documents']:,} documents "
        f"({counts['kept']:,} kept + {counts['repeats']:,} repeats), {counts['rejected'][REASON]:,} in rejects/; {state}",
        highlight=False,
    )
    for name, entry in mixture["values"].items():
        if mixture["on_short"] == "fill" and entry["targeted"] and entry["tokens_available"] < entry["quota_tokens"]:
            console.print(
                f"{name}: only {entry['tokens_available']:,} tokens for a quota of {entry['quota_tokens']:,}; "
                f"{entry['shortfall_tokens']:,} short"
                + (", given to the others" if mixture["on_short"] == "fill" else ""),
                highlight=False,
            )
