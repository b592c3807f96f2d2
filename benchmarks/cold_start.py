"""Cold start of a local Spark job: the JVM's defaults against C1 only and against C1 with the class archive
(``curation.jvm_start``), each in fresh processes, interleaved and repeated.

Two measures:

- ``session``: a fresh Python process creates the session (``curation.spark.get_spark``, ``local[W]``), runs
  one Python job (a trivial RDD map: starts the Python workers) and one SQL job; the seconds of each part,
  Python's start-up and imports included in the first;
- ``ingest``: the whole of ``curate ingest`` on 1,000 C4 documents (``--no-langid --no-tracking``), as a user
  runs it: wall seconds from process start to exit.

The variants: ``default`` (``CURATION_LEAN_JVM=0``: the JVM's own settings), ``c1`` (``-XX:TieredStopAtLevel=1``
only) and ``c1+archive`` (what a session gets once the archive is made; the script makes it first, in a
temporary cache folder, and reports how long that took). A JVM-heavy job (a grouping and join of
``--jvm-rows`` rows in Spark SQL, no Python) checks that C1 alone does not slow a longer JVM job.

Usage::

    python benchmarks/cold_start.py [--repeats 3] [--workers 2]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import RESULTS, SHARED_DATA, child_env, markdown_table, provenance, write_results

VARIANTS = ("default", "c1", "c1+archive")
SESSION_CODE = """
import json, sys, time
started = time.perf_counter()
from curation.spark import get_spark
spark = get_spark(sys.argv[1], conf=json.loads(sys.argv[2]))
session = time.perf_counter()
spark.sparkContext.parallelize(range(2), 2).map(lambda x: x + 1).count()
python_job = time.perf_counter()
spark.range(100).selectExpr("id % 7 AS k").groupBy("k").count().collect()
sql_job = time.perf_counter()
if sys.argv[3] != "0":
    from pyspark.sql import functions as F
    rows = spark.range(int(sys.argv[3])).withColumn("k", F.col("id") % 100003).withColumn("h", F.xxhash64("id"))
    rows.groupBy("k").agg(F.min("h"), F.count("*")).join(rows.select("k").distinct(), "k").count()
heavy = time.perf_counter()
print(json.dumps({"session": session - started, "python_job": python_job - session, "sql_job": sql_job - python_job,
                  "jvm_heavy": heavy - sql_job}))
"""


def java_options(variant: str, archive: Path) -> str:
    from curation.jvm_start import C1_ONLY, QUIET_ARCHIVE
    from curation.spark import LOG_CONFIG

    options = [f"-Dlog4j2.configurationFile=file:{LOG_CONFIG}"]
    if variant != "default":
        options.append(C1_ONLY)
    if variant == "c1+archive":
        options += [f"-XX:SharedArchiveFile={archive}", QUIET_ARCHIVE]
    return " ".join(options)


def session_times(variant: str, archive: Path, master: str, jvm_rows: int) -> dict:
    import json

    conf = {"spark.driver.extraJavaOptions": java_options(variant, archive)}
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", SESSION_CODE, master, json.dumps(conf), str(jvm_rows)],
        env=child_env() | {"CURATION_LEAN_JVM": "0"}, capture_output=True, text=True, check=True,
    )  # fmt: skip
    times = json.loads(done.stdout.strip().splitlines()[-1])
    return times | {"wall": time.perf_counter() - started}


def ingest_seconds(variant: str, cache: Path, empty_cache: Path, master: str, data: Path, out: Path) -> float:
    """``curate ingest`` as a user runs it; ``c1`` runs with an empty cache whose builder lock is fresh, so the
    session gets C1 without the archive and starts no builder."""
    env = child_env()
    if variant == "default":
        env["CURATION_LEAN_JVM"] = "0"
    else:
        env.pop("CURATION_LEAN_JVM", None)
        env["XDG_CACHE_HOME"] = str(cache if variant == "c1+archive" else empty_cache)
    shutil.rmtree(out, ignore_errors=True)
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "pipelines.cli", "ingest", str(data), "--out", str(out), "--no-langid",
         "--no-tracking", "--master", master],
        env=env, capture_output=True, check=True, cwd=Path(__file__).resolve().parent.parent,
    )  # fmt: skip
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--jvm-rows", type=int, default=30_000_000, help="rows of the JVM-heavy job (0 skips it)")
    parser.add_argument("--name", default="cold_start")
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from curation import jvm_start

    machine_before = provenance(["pyspark"], java=True)
    master = f"local[{args.workers}]"
    work = Path(tempfile.mkdtemp(prefix="cold-start-"))
    try:
        cache, empty_cache = work / "cache", work / "empty-cache"
        os.environ["XDG_CACHE_HOME"] = str(cache)
        archive = jvm_start.archive_path()
        started = time.perf_counter()
        if not jvm_start.build_archive(archive):
            raise SystemExit("making the class archive failed")
        build_seconds = time.perf_counter() - started
        archive_size = archive.stat().st_size
        os.environ["XDG_CACHE_HOME"] = str(empty_cache)
        lock = jvm_start.archive_path().with_suffix(".building")
        lock.parent.mkdir(parents=True)
        del os.environ["XDG_CACHE_HOME"]
        data = SHARED_DATA / "web" / "c4-en-sample-1000.jsonl.gz"
        sessions: dict[str, list[dict]] = {v: [] for v in VARIANTS}
        ingests: dict[str, list[float]] = {v: [] for v in VARIANTS}
        for repeat in range(args.repeats):
            for variant in VARIANTS:
                sessions[variant].append(session_times(variant, archive, master, args.jvm_rows))
                lock.write_text("benchmark")  # fresh: the c1 row's session starts no builder
                ingests[variant].append(ingest_seconds(variant, cache, empty_cache, master, data, work / "corpus"))
                print(repeat, variant, sessions[variant][-1], round(ingests[variant][-1], 2), flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    def median(values: list[float]) -> float:
        return statistics.median(values)

    rows = []
    for variant in VARIANTS:
        runs = sessions[variant]
        parts = {k: median([r[k] for r in runs]) for k in ("session", "python_job", "sql_job", "jvm_heavy", "wall")}
        rows.append({"variant": variant, **parts, "ingest": median(ingests[variant])})
    payload = {
        "benchmark": "cold_start",
        **machine_before,
        "settings": vars(args) | {"master": master},
        "archive": {"build_seconds": build_seconds, "bytes": archive_size},
        "rows": rows,
        "trials": {"sessions": sessions, "ingests": ingests},
    }
    base = rows[0]
    table = markdown_table(
        ["variant", "session s", "first Python job s", "first SQL job s", "to first results s", "× default",
         "curate ingest, 1,000 docs, wall s", "× default", "JVM-heavy job s"],
        [[r["variant"], r["session"], r["python_job"], r["sql_job"], to_results(r), to_results(base) / to_results(r),
          r["ingest"], base["ingest"] / r["ingest"], r["jvm_heavy"] if args.jvm_rows else None] for r in rows],
    )  # fmt: skip
    m = payload["machine"]
    markdown = (
        f"# Cold start of a local Spark job ({payload['date'][:10]})\n\n"
        f"Command: `{payload['command']}`. Medians of {args.repeats} interleaved repeats, each a fresh process, "
        f"`{master}`. The archive took {build_seconds:.0f} s to make (once per Java and PySpark install).\n\n"
        f"{table}\n\nMachine: {m['cpu_model']}, {m['nproc']} CPUs, {m['memory_gib']} GiB; load average before: "
        f"{m.get('load_average')}.\n"
    )
    write_results(RESULTS, args.name, payload, markdown)
    print(markdown)


def to_results(row: dict) -> float:
    """From process start to the first SQL job's results."""
    return row["session"] + row["python_job"] + row["sql_job"]


if __name__ == "__main__":
    main()
