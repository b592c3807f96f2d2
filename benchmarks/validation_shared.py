"""Proxy-model validation on the shared web corpora: does the curated set train a better model than a
uniform random sample of the same pool, at equal tokens?

Pipeline, all through the ``curate`` CLI (local Spark, a throw-away MLflow store in the work dir):

1. ``ingest`` the pool: the first ``--c4-pool`` documents of the C4 sample (the rest are held out), the
   trafilatura WARC pages, both Common Crawl WARC excerpts and both WET excerpts;
2. ``signals`` and ``dedup`` on it;
3. ``select`` with the rule of issue #3: ``gopher_quality.pass and fineweb_quality.pass and lang == 'en'
   and lang_score > 0.65 and is_dup_keep``;
4. ``validate --train curated=... --random-baseline POOL`` with two held-out sets: WikiText-2 validation
   (clean English) and the held-out C4 documents (web text, never in the pool, *not* filtered).

The random baseline draws, per seed, a uniform sample of pool documents as large (in bytes) as the
curated set, so both sets repeat the same number of times within the budget.

Writes ``benchmarks/results/validation_shared.{json,md}`` and leaves the work dir (``--work``) with the
corpora, ``validation/curves.png`` and ``mlflow.db``.

Usage::

    python benchmarks/validation_shared.py                     # small proxy, 500k tokens, 3 seeds
    python benchmarks/validation_shared.py --size tiny --tokens 100k --seeds 2   # quick look
"""

from __future__ import annotations

import argparse
import gzip
import json
import subprocess
import sys
import time
from pathlib import Path

from common import RESULTS, SHARED_DATA, child_env, provenance, write_results

RULE = "gopher_quality.pass and fineweb_quality.pass and lang == 'en' and lang_score > 0.65 and is_dup_keep"
WEB_INPUTS = [
    "trafilatura-eval-pages.warc.gz",
    "cc-sample-a.warc.gz",
    "cc-sample-b.warc.gz",
    "cc-main-2016-50-sample.warc.wet.gz",
    "cc-main-2017-30-sample.truncated.warc.wet.gz",
]


def curate(*args: str, cwd: Path) -> float:
    started = time.perf_counter()
    cmd = [sys.executable, "-m", "pipelines.cli", *args]
    print("$ curate " + " ".join(args), flush=True)
    done = subprocess.run(cmd, cwd=cwd, env=child_env() | {"MLFLOW_TRACKING_URI": f"sqlite:///{cwd / 'mlflow.db'}"})
    if done.returncode != 0:
        sys.exit(f"curate {args[0]} failed with exit code {done.returncode}")
    return time.perf_counter() - started


def split_c4(work: Path, pool_docs: int) -> tuple[Path, Path]:
    lines = gzip.decompress((SHARED_DATA / "web" / "c4-en-sample-1000.jsonl.gz").read_bytes()).splitlines()
    pool, held = work / "c4-pool.jsonl", work / "c4-heldout.jsonl"
    pool.write_bytes(b"\n".join(lines[:pool_docs]) + b"\n")
    held.write_bytes(b"\n".join(lines[pool_docs:]) + b"\n")
    return pool, held


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--work", type=Path, default=Path("runs/validation-shared"))
    parser.add_argument("--c4-pool", type=int, default=800)
    parser.add_argument("--size", default="small")
    parser.add_argument("--tokens", default="500k")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--evaluations", type=int, default=8)
    parser.add_argument("--heldout-bytes", type=int, default=100_000)
    args = parser.parse_args()

    work = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    c4_pool, c4_held = split_c4(work, args.c4_pool)
    inputs = [str(c4_pool), *(str(SHARED_DATA / "web" / name) for name in WEB_INPUTS)]
    timings = {
        "ingest": curate("ingest", *inputs, "--out", "pool", "--overwrite", cwd=work),
        "signals": curate("signals", "pool", "--out", "attributes/signals", "--overwrite", cwd=work),
        "dedup": curate("dedup", "pool", "--out", "attributes/dedup", "--overwrite", cwd=work),
    }
    timings["select"] = curate(
        "select", "pool", "--out", "curated", "--rule", RULE,
        "-a", "attributes/signals", "-a", "attributes/dedup", "--overwrite", cwd=work,
    )  # fmt: skip
    timings["validate"] = curate(
        "validate", "--train", "curated=curated", "--random-baseline", "pool",
        "--heldout", f"wikitext={SHARED_DATA / 'reference' / 'wikitext-2-valid.txt'}",
        "--heldout", f"c4-heldout={c4_held}",
        "--tokens", args.tokens, "--seeds", str(args.seeds), "--size", args.size,
        "--evaluations", str(args.evaluations), "--heldout-bytes", str(args.heldout_bytes),
        "--out", "validation", cwd=work,
    )  # fmt: skip

    results = json.loads((work / "validation" / "results.json").read_text())
    pool_manifest = json.loads((work / "pool" / "manifest.json").read_text())
    curated_manifest = json.loads((work / "curated" / "manifest.json").read_text())
    payload = {
        "benchmark": "validation_shared",
        **provenance(["torch", "pyspark", "mlflow"]),
        "settings": vars(args) | {"work": str(work), "rule": RULE},
        "pool_documents": pool_manifest["counts"]["documents"],
        "curated_documents": curated_manifest["counts"]["documents"],
        "seconds": timings,
        "validation": {
            k: results[k]
            for k in ("model", "tokenizer", "tokens", "seeds", "baseline", "train_sets", "heldout", "results")
        },
    }
    table = (work / "validation" / "table.md").read_text()
    markdown = (
        f"# Proxy validation on the shared web corpora ({payload['date'][:10]})\n\n"
        f"Pool: {payload['pool_documents']:,} documents ingested from {args.c4_pool} C4 documents, the trafilatura "
        f"WARC pages and the Common Crawl WARC/WET excerpts. Curated: {payload['curated_documents']:,} documents kept "
        f"by `{RULE}`.\n\n{table}\n"
        f"Machine: {payload['machine']['cpu_model']}, {payload['machine']['nproc']} CPUs; "
        f"validate took {timings['validate']:.0f} s.\n"
    )
    json_path, md_path = write_results(RESULTS, "validation_shared", payload, markdown)
    print(markdown)
    print(f"wrote {json_path} and {md_path}")


if __name__ == "__main__":
    main()
