"""Run noise of proxy validation: how far a proxy's final held-out loss moves with its seed alone.

Validation compares training sets by the final held-out bits per byte of proxies, mean ± std over seeds.
A difference between sets is only visible above the noise of one proxy run: here every run trains on the
same text (a fixed C4 + Wikipedia sample) and only the seed (initialisation and batch order) changes, so
the standard deviation over seeds is the noise floor; loss spikes (a step whose loss jumps by more than 1
nat over the previous one) are counted, since an unstable run is a noisy one.

Usage::

    python benchmarks/proxy_noise.py                       # tiny and small, lr 3e-3 (the default) and 1e-3
    python benchmarks/proxy_noise.py --sizes small --lrs 3e-3 1e-3 5e-4 --seeds 5 --tokens 300000
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import time

from common import RESULTS, SHARED_DATA, load_average, markdown_table, provenance, write_results

SPIKE_NATS = 1.0


def measure(size: str, lr: float, seeds: int, tokens: int, train_texts: list[str], heldout: dict) -> dict:
    from curation.proxy.config import TrainConfig, preset
    from curation.proxy.packing import pack_documents
    from curation.proxy.tokenizer import ByteTokenizer
    from curation.proxy.train_population import PopulationMember, train_population

    cfg = preset(size)
    tok = ByteTokenizer()

    def pack(texts):
        return pack_documents(tok.encode_batch(texts), cfg.seq_len, tok.eod_id, tok.pad_id, tok.token_bytes())

    packed = pack(train_texts)
    held = {name: pack(texts) for name, texts in heldout.items()}
    per_step: list[float] = []
    started = time.perf_counter()
    # one member per batch, so the training losses arrive seed after seed, step after step
    results = train_population(
        cfg,
        TrainConfig(tokens=tokens, batch_size=16, lr=lr, evaluations=1),
        [PopulationMember(packed, seed) for seed in range(seeds)],
        held,
        tok,
        per_batch=1,
        on_step=lambda step, steps, values: per_step.extend(values),
        initial_evaluation=False,
    )
    seconds = time.perf_counter() - started
    steps = results[0].steps
    runs = [per_step[seed * steps : (seed + 1) * steps] for seed in range(seeds)]
    row = {"size": size, "lr": lr, "seeds": seeds, "tokens": results[0].tokens, "seconds": round(seconds, 1)}
    for name in heldout:
        finals = [r.final_bpb[name] for r in results]
        row[name] = {"finals": finals, "mean": statistics.fmean(finals), "std": statistics.stdev(finals)}
    row["runs_with_spikes"] = sum(1 for run in runs if any(b - a > SPIKE_NATS for a, b in itertools.pairwise(run)))
    print(row, flush=True)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", nargs="+", default=["tiny", "small"])
    parser.add_argument("--lrs", nargs="+", type=float, default=[3e-3, 1e-3])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--tokens", type=int, default=300_000, help="training tokens per run (validation's 300k)")
    parser.add_argument("--name", default="proxy_noise", help="results file name under benchmarks/results/")
    args = parser.parse_args()

    from curation.proxy.text_source import read_text_source

    c4 = read_text_source(str(SHARED_DATA / "web" / "c4-en-sample-1000.jsonl.gz"), 600_000, seed=0).texts
    wiki = read_text_source(str(SHARED_DATA / "reference" / "enwiki-6514-articles.jsonl.gz"), 600_000, seed=0).texts
    heldout = {
        "wikitext": read_text_source(str(SHARED_DATA / "reference" / "wikitext-2-valid.txt"), 100_000, seed=0).texts,
        "c4": read_text_source(str(SHARED_DATA / "web" / "c4-en-sample-1000.jsonl.gz"), 100_000, seed=1).texts,
    }
    held_set = set(heldout["c4"])
    train_texts = [t for t in c4 if t not in held_set] + wiki
    rows = [measure(size, lr, args.seeds, args.tokens, train_texts, heldout) for size in args.sizes for lr in args.lrs]
    payload = {
        "benchmark": "proxy_noise",
        **provenance(["torch"]),
        "settings": vars(args),
        "train_bytes": sum(len(t.encode()) for t in train_texts),
        "rows": rows,
        "load_average_end": load_average(),
    }
    table = markdown_table(
        ["size", "lr", "seeds", "wikitext bpb", "c4 bpb", "runs with a loss spike", "seconds"],
        [
            [
                r["size"],
                f"{r['lr']:g}",
                r["seeds"],
                f"{r['wikitext']['mean']:.4f} ± {r['wikitext']['std']:.4f}",
                f"{r['c4']['mean']:.4f} ± {r['c4']['std']:.4f}",
                f"{r['runs_with_spikes']} of {r['seeds']}",
                r["seconds"],
            ]
            for r in rows
        ],  # fmt: skip
    )
    markdown = (
        f"# Run noise of proxy validation ({payload['date'][:10]})\n\n{table}\n\n"
        f"Every run trains on the same {payload['train_bytes']:,} bytes of C4 + Wikipedia for {args.tokens:,} tokens "
        f"(batch 16, warmup 5 %, cosine to 10 %, clipping 1.0); only the seed changes. Final held-out bits per byte, "
        f"mean ± std over seeds, on WikiText-2 validation and on C4 documents not trained on (~100 kB each). A loss "
        f"spike: a step whose training loss is more than {SPIKE_NATS:g} nat above the step before. "
        f"Machine: {payload['machine']['cpu_model']}, {payload['machine']['nproc']} CPUs.\n"
    )
    write_results(RESULTS, args.name, payload, markdown)
    print(markdown)


if __name__ == "__main__":
    main()
