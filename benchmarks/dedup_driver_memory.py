"""Driver memory of dedup's clusters against corpus size: joined on the driver (the default up to
``driver_max_edges`` duplicate edges) against joined in Spark (connected components, ``driver_max_edges=0``).

Each corpus has N documents of real C4 words: 60 % unique documents (80 words drawn from the C4 sample's
vocabulary, seeded), 20 % exact copies of them and 20 % near copies (4 of 80 words replaced), so the stage
finds about 0.4 N duplicate edges. For every N and both paths, a fresh child process runs the stage alone
(local Spark, 2 workers) and records:
- the Python driver's peak heap while the stage runs (``tracemalloc``: exact, no other allocations counted);
- the JVM driver's peak used heap (sampled every 0.1 s; it includes garbage not yet collected, so it is an
  upper bound);
- the duplicate documents (one edge each) and seconds.

The driver path holds every edge as Python objects, then the cluster map, then sends it back to the JVM; the
Spark path keeps them in Spark's executors. The slope in bytes per edge says where a crawl-scale corpus
would exhaust a driver.

    python benchmarks/dedup_driver_memory.py --docs 10000 40000 160000
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from common import RESULTS, SHARED_DATA, child_env, markdown_table, provenance, write_results

ROOT = Path(__file__).resolve().parent.parent
PATHS = {"driver": 1_000_000_000, "spark": 0}  # driver_max_edges of each path


def synthetic_texts(n: int, seed: int) -> list[str]:
    """``n`` documents: 60 % unique, 20 % exact copies, 20 % near copies (4 of 80 words replaced)."""
    import gzip

    with gzip.open(SHARED_DATA / "web" / "c4-en-sample-1000.jsonl.gz", "rt", encoding="utf-8") as fh:
        vocabulary = sorted({word for line in fh for word in json.loads(line)["text"].split()})
    rng = random.Random(seed)
    unique = [" ".join(rng.choices(vocabulary, k=80)) for _ in range(int(n * 0.6))]
    texts = list(unique)
    while len(texts) < n:
        words = rng.choice(unique).split()
        if len(texts) % 2:  # a near copy
            for position in rng.sample(range(len(words)), 4):
                words[position] = rng.choice(vocabulary)
        texts.append(" ".join(words))
    rng.shuffle(texts)
    return texts


def child(corpus: str, out: str, driver_max_edges: int) -> dict:
    """One stage run in this process: its measurements."""
    import tracemalloc

    from curation.dedup.stage import DedupConfig, run_dedup
    from curation.spark import get_spark

    sc = get_spark("local[2]", "dedup-driver-memory").sparkContext
    runtime = sc._jvm.java.lang.Runtime.getRuntime()
    peak_jvm, done = [0], threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak_jvm[0] = max(peak_jvm[0], runtime.totalMemory() - runtime.freeMemory())
            time.sleep(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    sc._jvm.java.lang.System.gc()
    tracemalloc.start()
    sampler.start()
    started = time.perf_counter()
    result = run_dedup(corpus, out, DedupConfig(driver_max_edges=driver_max_edges), master="local[2]",
                       tracking=False)  # fmt: skip
    seconds = time.perf_counter() - started
    done.set()
    sampler.join()
    _, peak_python = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    counts = result.counts
    return {
        "seconds": round(seconds, 1),
        "python_peak_mib": round(peak_python / (1 << 20), 2),
        "jvm_peak_used_mib": round(peak_jvm[0] / (1 << 20), 1),
        "duplicate_documents": counts["near_duplicate_documents"],
        "counts": counts,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs", type=int, nargs="+", default=[10_000, 40_000, 160_000], help="corpus sizes")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out-dir", type=Path, default=RESULTS)
    parser.add_argument("--child", nargs=3, metavar=("CORPUS", "OUT", "MAX_EDGES"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child[0], args.child[1], int(args.child[2]))))
        return
    sys.path.insert(0, str(ROOT))
    from tests.raters.scores.conftest import write_corpus

    rows, work = [], Path(tempfile.mkdtemp(prefix="dedup-driver-memory-"))
    for n in args.docs:
        texts = synthetic_texts(n, args.seed)
        corpus = write_corpus(work / f"corpus-{n}", [{"id": f"d{i:08d}", "text": t} for i, t in enumerate(texts)],
                              shards=8)  # fmt: skip
        for path, max_edges in PATHS.items():
            done = subprocess.run(
                [sys.executable, __file__, "--child", str(corpus), str(work / f"dedup-{n}-{path}"), str(max_edges)],
                env=child_env(), capture_output=True, text=True, check=False,
            )  # fmt: skip
            if done.returncode != 0:
                raise SystemExit(f"dedup of {n:,} documents ({path}) failed:\n{done.stderr[-3000:]}")
            measured = json.loads(done.stdout.strip().splitlines()[-1])
            rows.append({"documents": n, "path": path, **measured})
            print(f"{n:,} documents, {path}: {measured['python_peak_mib']} MiB Python, {measured['seconds']} s",
                  file=sys.stderr)  # fmt: skip
    slopes = {}
    for path in PATHS:
        points = [(r["duplicate_documents"], r["python_peak_mib"]) for r in rows if r["path"] == path]
        if len(points) >= 2 and points[-1][0] > points[0][0]:
            slopes[path] = (points[-1][1] - points[0][1]) * (1 << 20) / (points[-1][0] - points[0][0])
    payload = {"benchmark": "dedup_driver_memory", **provenance(["pyspark", "datasketch"]), "rows": rows,
               "python_bytes_per_edge": slopes}  # fmt: skip
    table = markdown_table(
        ["documents", "duplicate documents", "clusters joined", "Python driver peak MiB", "JVM driver peak used MiB", "s"],
        [[r["documents"], r["duplicate_documents"], "on the driver" if r["path"] == "driver" else "in Spark", r["python_peak_mib"],
          r["jvm_peak_used_mib"], r["seconds"]] for r in rows],
    )  # fmt: skip
    per_edge = "; ".join(f"{path}: {value:,.0f} bytes per duplicate document" for path, value in slopes.items())
    markdown = (
        f"# Dedup: driver memory against corpus size ({payload['date'][:10]})\n\n"
        f"- command: `{payload['command']}`; {payload['machine']['cpu_model']}, {payload['machine']['nproc']} CPUs\n"
        f"- Python driver heap growth between the smallest and largest corpus: {per_edge}\n\n{table}\n"
    )
    write_results(args.out_dir, "dedup_driver_memory", payload, markdown)
    print(markdown)


if __name__ == "__main__":
    main()
