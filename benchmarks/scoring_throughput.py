"""Scoring throughput of the quality raters: documents/s per core for DSIR, fastText quality and proxy
perplexity, through their Spark stage and as a plain loop, with datatrove's fastText filter beside ours.

    python benchmarks/scoring_throughput.py [--workers 2] [--trials 3] [--perplexity-tokens 200k]

Two corpora, each ingested into ``2 x workers`` shards (not timed):

* ``c4``: the C4 sample (1,000 documents), the input of issue #20's goals;
* ``web``: the C4 sample, register-core-en (2,780) and CC-MAIN-2019-30 raw (697): 4,477 web documents.

Models (trained first, not timed): DSIR with 1,000 Wikipedia articles as the target and the C4 sample as
the raw pool; the fastText classifier with the same two as positives and negatives; a ``tiny`` byte-level
perplexity LM on Wikipedia. Rows, per corpus and rater:

* ``spark warm``: ``run_attribute_stage`` in this process, its session and Python workers started and the
  model loaded; before each timed run an untimed run scores 200 other Wikipedia articles, so DSIR's n-gram
  cache holds other text, not the documents timed; the minimum over ``--trials`` runs;
* ``spark cold``: the ``curate raters ... score`` command in a fresh process: JVM, session, workers, model
  load and the job (the whole wall time);
* ``plain loop``: the producer's own ``compute`` over 1,024-row batches in one process on one core
  (one torch thread), what a task runs without Spark;
* ``datatrove`` (fastText only): ``JsonlReader -> FastTextClassifierFilter`` with our model file,
  ``LocalPipelineExecutor(tasks=2 x workers, workers=workers)``, its scores in the documents' metadata and
  no output written; it predicts on the text with newlines removed, ours with newlines as spaces.

The Spark scores are checked against the plain loop's (largest absolute difference). Per core = docs/s
divided by the workers (``--workers``; the plain loop runs on one core).
"""

from __future__ import annotations

import argparse
import gzip
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import (
    RESULTS,
    SHARED_DATA,
    child_env,
    format_versions,
    machine_info,
    markdown_table,
    provenance,
    write_results,
)

WEB = SHARED_DATA / "web"
CORPORA = {
    "c4": [WEB / "c4-en-sample-1000.jsonl.gz"],
    "web": [
        WEB / "c4-en-sample-1000.jsonl.gz",
        SHARED_DATA / "labels" / "register-core-en" / "core-en-2780.jsonl.gz",
        WEB / "cc-main-2019-30-raw-697.jsonl.gz",
    ],
}
WIKIPEDIA = SHARED_DATA / "reference" / "enwiki-6514-articles.jsonl.gz"
RATERS = ("dsir", "fasttext", "perplexity")
GOALS = {"dsir": 1_000, "fasttext": 500}  # docs/s/core on the C4 sample, issue #20


def read_texts(path: Path, limit: int | None = None) -> list[str]:
    texts = []
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        for line in fh:
            texts.append(json.loads(line)["text"])
            if limit is not None and len(texts) >= limit:
                break
    return texts


def write_jsonl(texts: list[str], path: Path) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        for i, text in enumerate(texts):
            fh.write(json.dumps({"id": f"d{i:06d}", "text": text}) + "\n")


def producer_for(rater: str, model: Path):
    """The attribute producer a pipeline's ``raters`` section would build for this model (perplexity on CPU)."""
    from raters.quality_producers import quality_producer

    return quality_producer(rater, str(model), device="cpu")


def train_models(work: Path, perplexity_tokens: int) -> dict[str, Path]:
    from raters.dsir.fitting import run_dsir_fit
    from raters.fasttext_quality.supervised import FastTextSettings
    from raters.fasttext_quality.training import run_fasttext_train
    from raters.perplexity.training import run_perplexity_train

    write_jsonl(read_texts(WIKIPEDIA, 1_000), work / "wikipedia.jsonl")
    target, raw = str(work / "wikipedia.jsonl"), str(WEB / "c4-en-sample-1000.jsonl.gz")
    models = {rater: work / "models" / rater for rater in RATERS}
    run_dsir_fit([target], [raw], models["dsir"], tracking=False, overwrite=True)
    run_fasttext_train([target], [raw], models["fasttext"], FastTextSettings(), tracking=False, overwrite=True)
    run_perplexity_train(target, models["perplexity"], tokens=perplexity_tokens, device="cpu", tracking=False,
                         overwrite=True)  # fmt: skip
    return models


def plain_loop(producer, corpus: Path) -> tuple[float, dict[str, float]]:
    """Seconds of the producer's ``compute`` over the corpus in 1,024-row batches, one thread; the scores."""
    import torch

    from curation.corpus import Corpus

    torch.set_num_threads(1)
    table = Corpus.open(corpus).read_documents(["id", "text"])
    column = producer.output_schema()[0].name
    producer.compute(table.slice(0, 8))  # loads the model
    scores: list[float] = []
    started = time.perf_counter()
    for batch in table.to_batches(max_chunksize=1024):
        scores.extend(producer.compute(batch)[column].tolist())
    seconds = time.perf_counter() - started
    order = table.column("id").to_pylist()
    return seconds, dict(zip(order, scores, strict=True))


def stage_scores(out: Path, column: str) -> dict[str, float]:
    import pyarrow.parquet as pq

    scores: dict[str, float] = {}
    for part in sorted(out.glob("part-*.parquet")):
        table = pq.read_table(part, columns=["id", column])
        scores.update(zip(table.column("id").to_pylist(), table.column(column).to_pylist(), strict=True))
    return scores


def spark_warm(producer, corpus: Path, out: Path, warmup: Path, master: str, trials: int) -> float:
    from curation.attribute_stage import run_attribute_stage

    times = []
    for _ in range(trials):
        run_attribute_stage(warmup, producer, out.with_name(out.name + "-warmup"), master=master, tracking=False,
                            overwrite=True)  # fmt: skip
        started = time.perf_counter()
        run_attribute_stage(corpus, producer, out, master=master, tracking=False, overwrite=True)
        times.append(time.perf_counter() - started)
    return min(times)


def spark_cold(rater: str, corpus: Path, model: Path, out: Path, master: str) -> float:
    command = [sys.executable, "-m", "pipelines.cli", "raters", rater, "score", str(corpus), "--model", str(model),
               "--out", str(out), "--overwrite", "--no-tracking", "--master", master]  # fmt: skip
    started = time.perf_counter()
    subprocess.run(command, env=child_env(), check=True, capture_output=True, text=True)
    return time.perf_counter() - started


def datatrove_fasttext(jsonl: Path, model: Path, workers: int, logs: Path) -> float:
    from datatrove.executor import LocalPipelineExecutor
    from datatrove.pipeline.filters import FastTextClassifierFilter
    from datatrove.pipeline.readers import JsonlReader

    from raters.fasttext_quality.model import MODEL_FILE

    pipeline = [
        JsonlReader(str(jsonl.parent), glob_pattern=jsonl.name),
        # keep_labels at 0 keeps every document; with neither keep_labels nor remove_labels datatrove 0.10.1's
        # label check fails (`None or [] + None`)
        FastTextClassifierFilter(str(model / MODEL_FILE), keep_labels=("hq", 0.0), save_labels_in_metadata=True),
    ]
    executor = LocalPipelineExecutor(pipeline, tasks=2 * workers, workers=workers, logging_dir=str(logs))
    started = time.perf_counter()
    executor.run()
    return time.perf_counter() - started


def measure(work: Path, workers: int, trials: int, models: dict[str, Path]) -> list[dict]:
    from curation.api import ingest
    from curation.corpus import Corpus
    from curation.spark import get_spark

    master = f"local[{workers}]"
    get_spark(master, "bench-scoring")

    def corpus_of(name: str, texts: list[str]) -> tuple[Path, Path]:
        jsonl = work / name / "docs.jsonl"
        jsonl.parent.mkdir(parents=True, exist_ok=True)
        write_jsonl(texts, jsonl)
        ingest([str(jsonl)], work / name / "corpus", master=master, tracking=False, overwrite=True,
               shards=2 * workers, langid=False)  # fmt: skip
        return jsonl, work / name / "corpus"

    _, warmup = corpus_of("warmup", read_texts(WIKIPEDIA, 1_200)[1_000:])  # not among the models' articles
    rows = []
    for name, sources in CORPORA.items():
        # empty texts are left out: ingest rejects them and datatrove's reader skips them
        texts = [text for source in sources for text in read_texts(source) if text.strip()]
        jsonl, corpus = corpus_of(name, texts)
        if Corpus.open(corpus).num_documents != len(texts):
            raise SystemExit(f"{name}: ingest kept {Corpus.open(corpus).num_documents} of {len(texts)} documents")
        chars = sum(len(t) for t in texts)
        for rater in RATERS:
            producer = producer_for(rater, models[rater])
            column = producer.output_schema()[0].name
            out = work / name / f"scores-{rater}"
            loop_s, loop_scores = plain_loop(producer, corpus)
            warm_s = spark_warm(producer, corpus, out, warmup, master, trials)
            spark = stage_scores(out, column)
            differences = [abs(spark[i] - s) for i, s in loop_scores.items() if s == s and spark[i] == spark[i]]
            cold_s = spark_cold(rater, corpus, models[rater], work / name / f"cold-{rater}", master)
            row = {"corpus": name, "rater": rater, "documents": len(texts), "mean_chars": chars / len(texts),
                   "warm_s": warm_s, "cold_s": cold_s, "plain_loop_s": loop_s,
                   "warm_docs_per_s_per_core": len(texts) / warm_s / workers,
                   "cold_docs_per_s_per_core": len(texts) / cold_s / workers,
                   "plain_docs_per_s_per_core": len(texts) / loop_s,
                   "scores_equal": len(spark) == len(loop_scores) and max(differences, default=0.0) == 0.0,
                   "max_abs_difference": max(differences, default=0.0)}  # fmt: skip
            if rater == "fasttext":
                dt_s = datatrove_fasttext(jsonl, models[rater], workers, work / name / "datatrove-logs")
                row.update(datatrove_s=dt_s, datatrove_docs_per_s_per_core=len(texts) / dt_s / workers)
            print(json.dumps(row), flush=True)
            rows.append(row)
    return rows


def render(payload: dict) -> str:
    rows = payload["rows"]
    table = markdown_table(
        ["corpus", "rater", "docs", "mean chars", "spark warm s", "spark cold s", "docs/s/core warm",
         "docs/s/core cold", "plain loop docs/s (1 core)", "datatrove docs/s/core", "Spark = loop"],
        [[r["corpus"], r["rater"], r["documents"], round(r["mean_chars"]), r["warm_s"], r["cold_s"],
          r["warm_docs_per_s_per_core"], r["cold_docs_per_s_per_core"], r["plain_docs_per_s_per_core"],
          r.get("datatrove_docs_per_s_per_core"), "yes" if r["scores_equal"] else f"{r['max_abs_difference']:.1e}"]
         for r in rows],
    )  # fmt: skip
    goals = []
    for rater, floor in GOALS.items():
        row = next(r for r in rows if r["corpus"] == "c4" and r["rater"] == rater)
        rate = row["warm_docs_per_s_per_core"]
        goals.append(f"- {rater} ≥ {floor:,} docs/s/core on the C4 sample (Spark, warm): {rate:,.0f} "
                     f"({'met' if rate >= floor else 'NOT met'})")  # fmt: skip
    machine = payload["machine"]
    return "\n".join([
        "# Scoring throughput: DSIR, fastText quality and proxy perplexity",
        "",
        f"- date (UTC): {payload['date']}",
        f"- machine: {machine['cpu_model']}, nproc={machine['nproc']}, {machine['memory_gib']} GiB RAM; "
        f"{machine['os']}; python {machine['python']}",
        f"- versions: {format_versions(payload['versions'])}",
        f"- command: `{payload['command']}`; W = {payload['workers']} workers (Spark `local[W]`, datatrove "
        f"`workers=W`), {2 * payload['workers']} shards; warm = minimum over {payload['trials']} trials",
        "",
        table,
        "",
        "**Goals** (issue #20):",
        *goals,
        "",
        "*spark warm*: the attribute stage with its session, Python workers and model already loaded; *spark cold*: "
        "the `curate raters ... score` command in a fresh process (JVM, session, workers, model load, job); *plain "
        "loop*: the producer's `compute` over 1,024-row batches in one process, one thread; *datatrove*: "
        "`JsonlReader → FastTextClassifierFilter` (same model file; reads JSONL, writes nothing). *Spark = loop*: "
        "the stage's scores equal the plain loop's, or the largest absolute difference. NeMo Curator's published "
        "nightly floors for its fastText classifiers are about 470–550 documents/s/core (issue #20's figure, not "
        "measured here).",
        "",
    ])  # fmt: skip


def main() -> None:
    from curation.proxy.config import parse_token_count

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--trials", type=int, default=3)
    parser.add_argument("--perplexity-tokens", default="200k", help="training tokens of the perplexity LM")
    parser.add_argument("--work", type=Path, help="work directory (default: a temporary one)")
    parser.add_argument("--name", default="scoring_throughput")
    parser.add_argument("--out-dir", type=Path, default=RESULTS, help="where <name>.json and <name>.md go")
    args = parser.parse_args()
    machine = machine_info(java=True)
    with tempfile.TemporaryDirectory(prefix="bench-scoring-") as tmp:
        work = args.work or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        models = train_models(work, parse_token_count(args.perplexity_tokens))
        rows = measure(work, args.workers, args.trials, models)
    payload = {
        **provenance(["pyspark", "torch", "fasttext-numpy2-wheel", "datatrove", "pyarrow"], machine=machine),
        "workers": args.workers,
        "trials": args.trials,
        "rows": rows,
    }
    json_path, md_path = write_results(args.out_dir, args.name, payload, render(payload))
    print(md_path.read_text())


if __name__ == "__main__":
    main()
