"""Does DataRater filtering help? Meta-train a rater on a mixed-quality corpus, filter, and compare proxies
trained on the filtered set with proxies trained on a uniform random sample of the same pool (equal tokens,
several seeds), all through the ``curate`` CLI.

The pool (seeded, reproducible, nothing invented):
- the first ``--c4`` documents of the shared C4 sample (real, mixed-quality web text); the rest are held out;
- the trafilatura WARC pages (real HTML, mostly German and English);
- ``--wiki`` Wikipedia articles as they are, and ``--wiki`` other articles corrupted with one of the labelled
  corruptions of ``curation.text.corruption`` (characters, shuffled words, boilerplate, mojibake) at 50%.
Held-out sets: WikiText-2 validation and the held-out C4 documents.

Steps: ``ingest`` -> ``datarater train`` (on the pool, outer loss on a disjoint 10% of its documents) ->
``datarater score`` -> ``datarater filter --rho R`` -> ``validate --train datarater=... --random-baseline pool``.
Also reports, from the scores, how often each kind of document survives the filter.

Usage::

    python benchmarks/datarater_filtering.py                  # writes benchmarks/results/datarater_filtering.*
    python benchmarks/datarater_filtering.py --steps 40 --seeds 2 --tokens 100k   # quick look
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import subprocess
import sys
import time
from pathlib import Path

from common import RESULTS, SHARED_DATA, child_env, provenance, write_results


def curate(*args: str, cwd: Path) -> float:
    started = time.perf_counter()
    print("$ curate " + " ".join(args), flush=True)
    env = child_env() | {"MLFLOW_TRACKING_URI": f"sqlite:///{cwd / 'mlflow.db'}"}
    done = subprocess.run([sys.executable, "-m", "pipelines.cli", *args], cwd=cwd, env=env)
    if done.returncode != 0:
        sys.exit(f"curate {args[0]} failed with exit code {done.returncode}")
    return time.perf_counter() - started


def write_target(work: Path, wiki_docs: int, seed: int, count: int = 200) -> Path:
    """Clean Wikipedia articles that are in neither the pool nor WikiText-2, for ``--target wiki``."""
    from curation.proxy.text_source import read_text_source

    articles = read_text_source(str(SHARED_DATA / "reference" / "enwiki-6514-articles.jsonl.gz"), None).texts
    used = set(random.Random(seed).sample(range(len(articles)), 2 * wiki_docs))
    spare = [i for i in range(len(articles)) if i not in used]
    chosen = random.Random(seed + 1).sample(spare, count)
    path = work / "target-wiki.jsonl"
    path.write_text("".join(json.dumps({"text": articles[i][:6000]}) + "\n" for i in chosen), encoding="utf-8")
    return path


def make_runner(work: Path, resume: bool):
    """``run(*args, done=PATH)``: ``curate *args`` in ``work``, or, with ``resume``, nothing when ``work/PATH``
    (the step's output) exists already. Returns the seconds it took."""

    def run(*args: str, done: str | None = None) -> float:
        if resume and done and (work / done).exists():
            print(f"resume: {done} exists, skipping curate {' '.join(args[:2])}", flush=True)
            return 0.0
        return curate(*args, cwd=work)

    return run


def datarater_scores(run, model: str, scores: str, steps: int, population: int, seed: int,
                     heldout: Path | None) -> dict[str, float]:  # fmt: skip
    """``curate datarater train`` on ``corpus`` (outer loss on a disjoint 10% of it, or on ``heldout``), then
    ``curate datarater score`` into ``scores``; the seconds of each."""
    seconds = {"train": run(
        "datarater", "train", "--train", "corpus", "--out", model, "--steps", str(steps),
        "--population", str(population), "--seed", str(seed), "--overwrite",
        *(["--heldout", str(heldout)] if heldout else []), done=f"{model}/rater.json",
    )}  # fmt: skip
    seconds["score"] = run("datarater", "score", "corpus", "--model", model, "--out", scores, "--overwrite",
                           done=f"{scores}/manifest.json")  # fmt: skip
    return seconds


def build_pool(work: Path, c4_docs: int, wiki_docs: int, seed: int) -> tuple[Path, Path]:
    from curation.proxy.text_source import read_text_source
    from curation.text.corruption import CORRUPTIONS

    lines = gzip.decompress((SHARED_DATA / "web" / "c4-en-sample-1000.jsonl.gz").read_bytes()).splitlines()
    (work / "c4-heldout.jsonl").write_bytes(b"\n".join(lines[c4_docs:]) + b"\n")
    articles = read_text_source(str(SHARED_DATA / "reference" / "enwiki-6514-articles.jsonl.gz"), None).texts
    order = random.Random(seed).sample(range(len(articles)), 2 * wiki_docs)
    rng = random.Random(seed)
    kinds = sorted(CORRUPTIONS)
    records = []
    for i, line in enumerate(lines[:c4_docs]):
        records.append({**json.loads(line), "id": f"c4-{i}", "url": f"https://c4.invalid/{i}?kind=c4"})
    for n, index in enumerate(order):
        text = articles[index][:6000]
        if n < wiki_docs:
            records.append({"id": f"wiki-{n}", "text": text, "url": f"https://wiki.invalid/{n}?kind=wiki"})
        else:
            kind = kinds[n % len(kinds)]
            noisy = CORRUPTIONS[kind](text, 0.5, rng)
            records.append({"id": f"noisy-{n}", "text": noisy, "url": f"https://wiki.invalid/{n}?kind={kind}"})
    pool = work / "pool.jsonl"
    pool.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return pool, work / "c4-heldout.jsonl"


def survival(work: Path, filtered: str = "filtered") -> dict[str, dict[str, float]]:
    """Per kind of document: how many, and the share the filter kept."""
    from curation.corpus import Corpus

    pool = Corpus.open(work / "corpus").read_documents(["url", "source"])
    kept = set(Corpus.open(work / filtered).read_documents(["url"]).column("url").to_pylist())
    out: dict[str, dict[str, float]] = {}
    for url, source in zip(pool.column("url").to_pylist(), pool.column("source").to_pylist(), strict=True):
        kind = url.split("?kind=")[1] if url and "?kind=" in url else Path(source or "warc").name.split(".")[0]
        entry = out.setdefault(kind, {"documents": 0, "kept": 0})
        entry["documents"] += 1
        entry["kept"] += url in kept
    return {k: {**v, "kept_share": v["kept"] / v["documents"]} for k, v in sorted(out.items())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--work", type=Path, default=Path("runs/datarater-filtering"))
    parser.add_argument("--c4", type=int, default=800)
    parser.add_argument("--wiki", type=int, default=400)
    parser.add_argument("--steps", type=int, default=150, help="outer steps of meta-training")
    parser.add_argument("--population", type=int, default=4)
    parser.add_argument(
        "--rho", type=float, nargs="+", default=[0.5], help="fractions dropped; several values make a rho sweep"
    )
    parser.add_argument("--size", default="tiny")
    parser.add_argument("--tokens", default="300k")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--target",
        choices=["pool", "wiki"],
        default="pool",
        help="outer-loss held-out set: a disjoint 10%% of the pool (the paper's setting) or 200 clean Wikipedia articles",
    )
    parser.add_argument("--name", default="datarater_filtering", help="results file name")
    args = parser.parse_args()

    work = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    pool, c4_heldout = build_pool(work, args.c4, args.wiki, args.seed)
    warc = SHARED_DATA / "web" / "trafilatura-eval-pages.warc.gz"
    seconds = {"ingest": curate("ingest", str(pool), str(warc), "--out", "corpus", "--overwrite", cwd=work)}
    heldout = write_target(work, args.wiki, args.seed) if args.target == "wiki" else None
    seconds.update(datarater_scores(lambda *a: curate(*a, cwd=work), "model", "attrs/datarater", args.steps,
                                    args.population, args.seed, heldout))  # fmt: skip
    names = {rho: ("datarater" if len(args.rho) == 1 else f"rho{round(100 * rho)}") for rho in args.rho}
    seconds["filter"] = 0.0
    for rho, name in names.items():
        seconds["filter"] += curate(
            "datarater", "filter", "corpus", "--scores", "attrs/datarater", "--out", f"filtered-{name}",
            "--rho", str(rho), "--overwrite", cwd=work,
        )  # fmt: skip
    seconds["validate"] = curate(
        "validate", *[x for name in names.values() for x in ("--train", f"{name}=filtered-{name}")],
        "--random-baseline", "corpus",
        "--heldout", f"wikitext={SHARED_DATA / 'reference' / 'wikitext-2-valid.txt'}",
        "--heldout", f"c4-heldout={c4_heldout}", "--tokens", args.tokens, "--seeds", str(args.seeds),
        "--size", args.size, "--evaluations", "6", "--heldout-bytes", "100000", "--out", "validation", "--overwrite",
        cwd=work,
    )  # fmt: skip

    results = json.loads((work / "validation" / "results.json").read_text())
    kept = {name: survival(work, f"filtered-{name}") for name in names.values()}
    payload = {
        "benchmark": "datarater_filtering",
        **provenance(["torch", "pyspark"]),
        "settings": vars(args) | {"work": str(work)},
        "seconds": seconds,
        "kept_by_kind": kept,
        "validation": {k: results[k] for k in ("model", "tokens", "seeds", "baseline", "train_sets", "results")},
    }
    first = next(iter(kept.values()))
    kinds = "\n".join(
        f"| {kind} | {v['documents']:,} | "
        + " | ".join(f"{100 * kept[name][kind]['kept_share']:.0f} %" for name in names.values())
        + " |"
        for kind, v in first.items()
    )
    header = "| kind | documents | " + " | ".join(f"kept, rho = {rho}" for rho in names) + " |\n|---|---:|"
    header += "---:|" * len(names)
    markdown = (
        f"# DataRater filtering vs random ({payload['date'][:10]})\n\n"
        f"Rater meta-trained for {args.steps} outer steps (population {args.population}) on the pool, outer loss on "
        + ("a disjoint 10% of the pool" if args.target == "pool" else "200 clean Wikipedia articles")
        + f"; filter rho = {', '.join(str(r) for r in args.rho)}.\n\n{header}\n{kinds}\n\n"
        + (work / "validation" / "table.md").read_text()
        + f"\nMachine: {payload['machine']['cpu_model']}, {payload['machine']['nproc']} CPUs; seconds: "
        + ", ".join(f"{k} {v:.0f}" for k, v in seconds.items())
        + "\n"
    )
    write_results(RESULTS, args.name, payload, markdown)
    print(markdown)


if __name__ == "__main__":
    main()
