"""DataRater benchmarks: the corruption sanity check, meta-training cost against K, and scoring throughput.

1. **Corruption sanity check** (the paper's Fig. 3). Real Wikipedia articles (``../shared/data/reference``),
   each damaged by one of the four labelled corruptions of ``curation.text.corruption`` at a known fraction
   in {0, 0.25, 0.5, 0.75, 1}; the held-out split is clean articles. The rater is meta-trained and, every
   ``--probe-every`` outer steps, scores a fixed probe of 400 sequences: Spearman of score vs. -noise,
   overall and per kind of corruption.
2. **Meta-training cost against the unroll length K** = 1, 2, 4, 8, for each rematerialisation mode
   (``remat`` = none, blocks, steps): seconds per outer step and peak resident memory, each (K, remat) in its
   own process (population 1, so the figure is per inner model), on WikiText-2 validation text (a 1 MB file,
   so the process's memory before meta-training is small). Every process also reports a digest of the rater
   after its steps: the modes must agree bit for bit (they compute the same thing), and the table says so.
3. **Scoring throughput**: ``curate datarater score`` (Spark local[N], one torch thread per task) against a
   plain single-process batched loop over the same documents with the same model, both per CPU core.

Usage::

    python benchmarks/datarater.py                 # all three; writes benchmarks/results/datarater.*
    python benchmarks/datarater.py --sanity-steps 20 --k 1 2    # quick look
    python benchmarks/datarater.py --skip sanity scoring --name datarater_unroll   # the K x remat table only
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import subprocess
import sys
import time
from pathlib import Path

from common import (
    RESULTS,
    SHARED_DATA,
    child_env,
    machine_info,
    markdown_table,
    package_versions,
    provenance,
    write_results,
)

WIKI = SHARED_DATA / "reference" / "enwiki-6514-articles.jsonl.gz"
WIKITEXT = SHARED_DATA / "reference" / "wikitext-2-valid.txt"
LEVELS = [0.0, 0.25, 0.5, 0.75, 1.0]


def sanity(steps: int, probe_every: int, population: int) -> dict:
    import numpy as np

    from curation.proxy.packing import document_windows, pack_documents
    from curation.proxy.text_source import read_text_source
    from curation.proxy.tokenizer import ByteTokenizer
    from curation.text.corruption import CORRUPTIONS
    from raters.datarater.meta import DataRaterConfig, MetaTrainer, spearman

    articles = read_text_source(str(WIKI), max_bytes=3_000_000, seed=21).texts
    held, train = articles[:30], articles[30:]
    rng = random.Random(0)
    kinds = sorted(CORRUPTIONS)
    noise, kind_of, texts = [], [], []
    for i, text in enumerate(train):
        level, kind = LEVELS[i % len(LEVELS)], kinds[(i // len(LEVELS)) % len(kinds)]
        texts.append(CORRUPTIONS[kind](text, level, rng))
        noise.append(level)
        kind_of.append(kind)
    tok = ByteTokenizer()
    cfg = DataRaterConfig(population=population, outer_steps=steps)
    rows, owners = document_windows(tok.encode_batch(texts), cfg.seq_len, tok.eod_id, tok.pad_id, tok.token_bytes())
    heldout = pack_documents(tok.encode_batch(held), cfg.seq_len, tok.eod_id, tok.pad_id, tok.token_bytes())
    trainer = MetaTrainer(cfg, rows, heldout, tok.vocab_size)
    probe = np.random.default_rng(0).choice(rows.num_rows, 400, replace=False)
    probe_noise = np.array(noise)[owners][probe]
    probe_kind = np.array(kind_of)[owners][probe]

    def measure() -> dict:
        scores = trainer.score_rows(rows.rows[probe])
        point = {"step": trainer.step, "spearman": spearman(scores, -probe_noise)}
        for kind in kinds:
            mask = probe_kind == kind
            point[kind] = spearman(scores[mask], -probe_noise[mask])
        print(point, flush=True)
        return point

    curve, started = [measure()], time.perf_counter()
    while trainer.step < steps:
        trainer.outer_step()
        if trainer.step % probe_every == 0 or trainer.step == steps:
            curve.append(measure())
    return {"config": cfg.to_dict(), "sequences": rows.num_rows, "curve": curve,
            "seconds_per_step": (time.perf_counter() - started) / steps}  # fmt: skip


def cost_of_k(k: int, steps: int, remat: str) -> dict:
    """Runs in a child process so its peak RSS is its own."""
    code = f"""
import hashlib, json, resource, time, sys
sys.path.insert(0, {str(Path(__file__).resolve().parent)!r})
from curation.proxy.packing import pack_documents
from curation.proxy.text_source import read_text_source
from curation.proxy.tokenizer import ByteTokenizer
from raters.datarater.meta import DataRaterConfig, MetaTrainer
texts = read_text_source({str(WIKITEXT)!r}).texts  # 1 MB file: a low baseline for the peak
tok = ByteTokenizer()
cfg = DataRaterConfig(population=1, unroll={k}, outer_steps={steps}, remat={remat!r})
pack = lambda t: pack_documents(tok.encode_batch(t), cfg.seq_len, tok.eod_id, tok.pad_id, tok.token_bytes())
trainer = MetaTrainer(cfg, pack(texts[10:]), pack(texts[:10]), tok.vocab_size)
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
trainer.outer_step()
began = time.perf_counter()
for _ in range({steps}):
    trainer.outer_step()
seconds = (time.perf_counter() - began) / {steps}
digest = hashlib.sha256(b"".join(p.detach().numpy().tobytes() for p in trainer.rater.parameters())).hexdigest()
print(json.dumps({{"k": {k}, "remat": {remat!r}, "seconds_per_step": seconds,
                  "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "rss_before_training_mib": before, "rater_digest": digest[:16]}}))
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=child_env(), check=True)
    row = json.loads(done.stdout.strip().splitlines()[-1])
    print(row, flush=True)
    return row


def unroll_table(rows: list[dict]) -> str:
    """One line per (K, remat): cost, and time and memory growth relative to remat=none at the same K."""
    baseline = {r["k"]: r for r in rows if r["remat"] == "none"}
    lines = []
    for r in rows:
        growth = r["peak_rss_mib"] - r["rss_before_training_mib"]
        base = baseline.get(r["k"])
        base_growth = base["peak_rss_mib"] - base["rss_before_training_mib"] if base else None
        lines.append(
            [
                r["k"],
                r["remat"],
                r["seconds_per_step"],
                base and r["seconds_per_step"] / base["seconds_per_step"],
                r["peak_rss_mib"],
                growth,
                base_growth and growth / base_growth,
                "yes" if base and r["rater_digest"] == base["rater_digest"] else ("–" if not base else "NO"),
            ]
        )
    headers = ["K", "remat", "s / outer step", "time vs none", "peak RSS MiB", "growth during meta-training MiB",
               "growth vs none", "same rater as none"]  # fmt: skip
    return markdown_table(headers, lines)


def scoring(work: Path, documents: int, model_steps: int) -> dict:
    import numpy as np
    import torch

    from curation.proxy.text_source import read_text_source
    from raters.datarater.checkpoint import load_rater
    from raters.datarater.scoring import score_texts

    work.mkdir(parents=True, exist_ok=True)
    texts = read_text_source(str(SHARED_DATA / "web" / "c4-en-sample-1000.jsonl.gz"), None).texts[:documents]
    with open(work / "docs.jsonl", "w") as fh:
        for i, text in enumerate(texts):
            fh.write(json.dumps({"id": f"d{i}", "text": text}) + "\n")
    env = child_env()

    def curate(*args):
        subprocess.run([sys.executable, "-m", "pipelines.cli", *args], cwd=work, env=env, check=True)

    curate("ingest", "docs.jsonl", "--out", "corpus", "--overwrite", "--no-tracking")
    curate("datarater", "train", "--train", "corpus", "--out", "model", "--steps", str(model_steps),
           "--population", "2", "--no-tracking", "--overwrite")  # fmt: skip
    cores = os.cpu_count() or 1
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "pipelines.cli", "datarater", "score", "corpus", "--model", "model", "--out", "scores",
         "--overwrite", "--no-tracking"],
        cwd=work, env=env, check=True, capture_output=True, text=True,
    )  # fmt: skip
    spark_seconds = time.perf_counter() - started
    # The stage's own line "datarater: N documents in S s": the Spark job without JVM start-up.
    match = re.search(r"datarater: ([\d,]+) documents in ([\d.,]+) s", done.stderr)
    job_seconds = float(match.group(2).replace(",", "")) if match else None

    import pyarrow.parquet as pq

    from curation.corpus import Corpus

    corpus_texts = Corpus.open(work / "corpus").read_documents(["text"]).column("text").to_pylist()
    rater, tokenizer, _ = load_rater(work / "model")
    torch.set_num_threads(1)
    started = time.perf_counter()
    plain = score_texts(rater, tokenizer, corpus_texts)
    plain_seconds = time.perf_counter() - started
    parts = sorted((work / "scores").glob("part-*.parquet"))
    spark_scores = np.concatenate([pq.read_table(p).column("datarater_score").to_numpy() for p in parts])
    return {
        "documents": len(corpus_texts),
        "cores": cores,
        "spark_seconds_incl_startup": spark_seconds,
        "spark_job_seconds": job_seconds,
        "spark_docs_per_s_per_core_incl_startup": len(corpus_texts) / spark_seconds / cores,
        "spark_docs_per_s_per_core": len(corpus_texts) / job_seconds / cores if job_seconds else None,
        "plain_loop_seconds_1_thread": plain_seconds,
        "plain_docs_per_s_per_core": len(corpus_texts) / plain_seconds,
        "max_abs_score_difference": float(np.max(np.abs(spark_scores - plain.astype(np.float32)))),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sanity-steps", type=int, default=60)
    parser.add_argument("--probe-every", type=int, default=10)
    parser.add_argument("--population", type=int, default=4)
    parser.add_argument("--k", type=int, nargs="+", default=[1, 2, 4, 8])
    parser.add_argument("--k-steps", type=int, default=3)
    parser.add_argument("--remat", nargs="+", default=["none", "blocks", "steps"], choices=["none", "blocks", "steps"])
    parser.add_argument("--score-docs", type=int, default=1000)
    parser.add_argument("--work", type=Path, default=Path("runs/datarater-bench"))
    parser.add_argument("--skip", nargs="*", default=[], choices=["sanity", "k", "scoring"])
    parser.add_argument("--name", default="datarater", help="results file name under benchmarks/results/")
    args = parser.parse_args()

    payload: dict = {
        "benchmark": "datarater",
        **provenance(["torch"]),
        "settings": vars(args) | {"work": str(args.work)},
    }
    sections = [f"# DataRater benchmarks ({payload['date'][:10]})\n"]
    if "sanity" not in args.skip:
        result = sanity(args.sanity_steps, args.probe_every, args.population)
        payload["sanity"] = result
        kinds = [k for k in result["curve"][0] if k not in ("step", "spearman")]
        rows = [[p["step"], p["spearman"], *[p[k] for k in kinds]] for p in result["curve"]]
        sections.append(
            "## Corruption sanity check: Spearman(score, -noise) on 400 probe sequences\n\n"
            + markdown_table(["outer step", "all", *kinds], rows, digits=3)
            + f"\n\n{result['sequences']:,} training sequences; {result['seconds_per_step']:.2f} s per outer step.\n"
        )
    if "k" not in args.skip:
        rows = [cost_of_k(k, args.k_steps, remat) for k in args.k for remat in args.remat]
        payload["unroll_cost"] = rows
        sections.append(
            "## Meta-training cost against K and rematerialisation (population 1, default sizes)\n\n"
            + unroll_table(rows)
            + f"\n\nSeconds: mean over {args.k_steps} timed outer step(s) after one warm-up step, each (K, remat) in "
            "its own process. "
            "Growth: peak RSS minus RSS before the first outer step. Same rater: the rater's parameters after "
            "the run are bitwise equal to those of remat=none at the same K.\n"
        )
    if "scoring" not in args.skip:
        result = scoring(args.work.resolve(), args.score_docs, model_steps=5)
        payload["scoring"] = result
        sections.append(
            "## Scoring throughput (documents/s per CPU core)\n\n"
            + markdown_table(
                ["job", "docs/s/core"],
                [
                    ["curate datarater score: the Spark job", result["spark_docs_per_s_per_core"]],
                    ["the whole command, JVM start-up included", result["spark_docs_per_s_per_core_incl_startup"]],
                    ["plain single-process loop, 1 torch thread", result["plain_docs_per_s_per_core"]],
                ],
            )
            + f"\n\n{result['documents']:,} C4 documents, {result['cores']} cores; largest difference between "
            f"the two jobs' scores: {result['max_abs_score_difference']:.1e}.\n"
        )
    payload["machine"] = machine_info()
    payload["versions"] = package_versions(["torch", "pyspark"])
    sections.append(f"Machine: {payload['machine']['cpu_model']}, {payload['machine']['nproc']} CPUs.\n")
    write_results(RESULTS, args.name, payload, "\n".join(sections))
    print("\n".join(sections))


if __name__ == "__main__":
    main()
