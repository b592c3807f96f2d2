"""Proxy runs per hour: one proxy at a time against proxy populations trained as one batched model.

A "run" is what Meta-rater trains per sampled weighting: a proxy trained on its own data for ``--tokens``
tokens (default 200k, ``curate metarater fit``'s default), then evaluated once on the held-out text. Each
size trains ``--runs`` such proxies, all with seed 0 and each on a different slice of real text (C4 and
Wikipedia from ``../shared/data``), through ``curation.proxy.train_population.train_population``:

- ``one at a time``: ``per_batch=1``, which is ``train_proxy`` for each run in turn (the code before
  populations);
- ``batched P``: the same runs, P at a time in one ``PopulationLM``;
- ``auto``: the batch that ``members_per_batch`` chooses for this machine (the default everywhere).

Every variant trains the same runs in the same process on the same cores, one after the other, and the
whole sequence is repeated ``--repeats`` times, interleaved, so drift of the machine hits every variant
alike; the table gives the median. It also gives the largest difference of a run's final held-out bits per
byte between the batched and the one-at-a-time variant. The batched model sums in another order, so the
two agree to float rounding at first (per-step losses within ~1e-6 over the first steps); Adam then
amplifies the difference, and a loss spike amplifies it much more (``small`` at lr 3e-3 has one), so this
column also measures how far rounding alone moves a run's final loss.

Usage::

    python benchmarks/proxy_population.py                  # tiny and small, CPU (+ GPU when present)
    python benchmarks/proxy_population.py --sizes tiny --runs 8 --batches 2 4 8 --repeats 3
"""

from __future__ import annotations

import argparse
import statistics
import time

from common import RESULTS, SHARED_DATA, load_average, machine_info, markdown_table, provenance, write_results


def run_texts(runs: int, run_bytes: int) -> tuple[list[list[str]], list[str]]:
    """``runs`` disjoint slices of real text of about ``run_bytes`` each, and a held-out set."""
    from curation.proxy.text_source import read_text_source

    c4 = read_text_source(str(SHARED_DATA / "web" / "c4-en-sample-1000.jsonl.gz"), 10**9, seed=0).texts
    wiki = read_text_source(str(SHARED_DATA / "reference" / "enwiki-6514-articles.jsonl.gz"), 10**9, seed=0).texts
    heldout = read_text_source(str(SHARED_DATA / "reference" / "wikitext-2-valid.txt"), 100_000, seed=0).texts
    pool = [t for pair in zip(c4, wiki, strict=False) for t in pair] + wiki[len(c4) :]
    slices, current, size = [], [], 0
    for text in pool:
        current.append(text)
        size += len(text.encode())
        if size >= run_bytes:
            slices.append(current)
            current, size = [], 0
            if len(slices) == runs:
                return slices, heldout
    raise SystemExit(f"not enough text for {runs} runs of {run_bytes:,} bytes")


def train(size: str, per_batch: int | None, packed, heldout, tokens: int, device) -> tuple[float, list[float], int]:
    """Seconds, each run's final held-out bpb, and the batch size used."""
    import torch

    from curation.proxy.config import TrainConfig, preset
    from curation.proxy.population import members_per_batch
    from curation.proxy.tokenizer import ByteTokenizer
    from curation.proxy.train_population import PopulationMember, train_population

    cfg = preset(size)
    train_cfg = TrainConfig(tokens=tokens, batch_size=16, evaluations=1)
    members = [PopulationMember(rows, seed=0) for rows in packed]
    used = per_batch or members_per_batch(cfg, train_cfg.batch_size, device, len(members))
    if device.type == "cuda":
        torch.cuda.synchronize()
    started = time.perf_counter()
    results = train_population(
        cfg, train_cfg, members, heldout, ByteTokenizer(), device=device, per_batch=used, initial_evaluation=False
    )
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - started, [r.final_bpb["wikitext"] for r in results], used


def measure(size: str, device, runs: int, tokens: int, batches: list[int], repeats: int) -> list[dict]:
    from curation.proxy.config import preset
    from curation.proxy.packing import pack_documents
    from curation.proxy.tokenizer import ByteTokenizer

    cfg = preset(size)
    tok = ByteTokenizer()

    def pack(texts):
        return pack_documents(tok.encode_batch(texts), cfg.seq_len, tok.eod_id, tok.pad_id, tok.token_bytes())

    slices, held = run_texts(runs, 4 * tokens)  # 4 bytes of text per budget token, as Meta-rater's runs
    packed = [pack(texts) for texts in slices]
    heldout = {"wikitext": pack(held)}
    variants = [("one at a time", 1)] + [(f"batched {b}", b) for b in batches] + [("auto", None)]
    seconds: dict[str, list[float]] = {name: [] for name, _ in variants}
    bpb: dict[str, list[float]] = {}
    used: dict[str, int] = {}
    for per_batch in (1, 2):  # untimed warm-up: the first passes of a process pay for kernel set-up
        train(size, per_batch, packed[:2], heldout, 10 * 16 * cfg.seq_len, device)
    for repeat in range(repeats):
        for name, per_batch in variants:
            elapsed, finals, used[name] = train(size, per_batch, packed, heldout, tokens, device)
            seconds[name].append(elapsed)
            bpb[name] = finals
            print(f"{size} {device} repeat {repeat}: {name} ({used[name]} per batch) {elapsed:.1f} s", flush=True)
    base = statistics.median(seconds["one at a time"])
    rows = []
    for name, _ in variants:
        median = statistics.median(seconds[name])
        rows.append(
            {
                "size": size,
                "device": str(device),
                "variant": name,
                "members_per_batch": used[name],
                "runs": runs,
                "tokens_per_run": tokens,
                "seconds": [round(s, 2) for s in seconds[name]],
                "median_seconds": round(median, 2),
                "runs_per_hour": round(runs * 3600 / median, 1),
                "speedup": round(base / median, 3),
                "max_abs_bpb_difference": max(abs(a - b) for a, b in zip(bpb[name], bpb["one at a time"], strict=True)),
            }
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", nargs="+", default=["tiny", "small"])
    parser.add_argument("--runs", type=int, default=8, help="proxy runs per variant")
    parser.add_argument("--tokens", type=int, default=200_000, help="training tokens per run")
    parser.add_argument("--batches", nargs="+", type=int, default=[2, 4, 8], help="members per batch to compare")
    parser.add_argument("--gpu-batches", nargs="+", type=int, default=[8, 32, 128])
    parser.add_argument("--gpu-runs", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--name", default="proxy_population", help="results file name under benchmarks/results/")
    args = parser.parse_args()

    import torch

    rows = []
    for size in args.sizes:
        rows += measure(size, torch.device("cpu"), args.runs, args.tokens, args.batches, args.repeats)
    gpu = None
    if torch.cuda.is_available():
        gpu = torch.cuda.get_device_name(0)
        for size in args.sizes:
            rows += measure(size, torch.device("cuda"), args.gpu_runs, args.tokens, args.gpu_batches, args.repeats)
    payload = {
        "benchmark": "proxy_population",
        **provenance(["torch"], machine=machine_info() | {"gpu": gpu, "torch_threads": torch.get_num_threads()}),
        "settings": vars(args),
        "rows": rows,
        "load_average_end": load_average(),
    }
    headers = [
        "size",
        "device",
        "variant",
        "per batch",
        "runs",
        "median s",
        "runs / hour",
        "vs one at a time",
        "max |Δ bpb|",
    ]
    table = markdown_table(
        headers,
        [
            [
                r["size"],
                r["device"],
                r["variant"],
                r["members_per_batch"],
                r["runs"],
                r["median_seconds"],
                r["runs_per_hour"],
                f"{r['speedup']:.2f}x",
                f"{r['max_abs_bpb_difference']:.1e}",
            ]
            for r in rows
        ],  # fmt: skip
        digits=1,
    )
    machine = payload["machine"]
    markdown = (
        f"# Proxy runs per hour: one at a time against batched populations ({payload['date'][:10]})\n\n{table}\n\n"
        f"A run: {args.tokens:,} training tokens (batch 16 x the preset's 256-token rows) on its own slice of "
        f"real C4 + Wikipedia text, then one held-out evaluation on ~100 kB of WikiText-2; median of "
        f"{args.repeats} interleaved repeats. max |Δ bpb|: the largest difference of a run's final held-out bpb "
        f"from the same run trained one at a time; per-step losses agree to ~1e-6 at first, then Adam amplifies "
        f"rounding differences (more so after a loss spike). CPU: {machine['cpu_model']}, {machine['nproc']} CPUs, torch threads "
        f"{machine['torch_threads']}" + (f"; GPU: {gpu}" if gpu else "; no GPU on this machine") + ". "
        f"Load average at the end: {payload['load_average_end']}.\n"
    )
    write_results(RESULTS, args.name, payload, markdown)
    print(markdown)


if __name__ == "__main__":
    main()
