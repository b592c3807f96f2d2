"""Proxy LM training throughput: tokens/s and achieved FLOP/s for a few sizes, on CPU and (when present) GPU.

Each size trains through ``curation.proxy.train.train_proxy`` (what ``curate validate`` runs: AdamW, warmup +
cosine, clipping; autocast bf16 on GPU) on real Wikipedia text from ``../shared/data/reference`` for
``--steps`` optimizer steps, with no held-out evaluation in the timed span. Throughput = trained tokens /
wall time of the loop (first step included; ``--steps`` amortises it).

FLOPs per trained token: 6 x (non-embedding parameters + the tied output projection, vocab x d_model)
+ 12 x layers x d_model x seq_len (attention scores and values, forward + backward; PaLM's formula). On a
GPU the achieved FLOP/s is given as a fraction of the device's dense bf16 peak (from the table below, or
``--peak-tflops``); CPUs have no such figure here, so only FLOP/s is reported.

Usage::

    python benchmarks/proxy.py                            # tiny, small, medium on CPU (+ GPU if present)
    python benchmarks/proxy.py --sizes tiny small --steps 20
"""

from __future__ import annotations

import argparse
import time

from common import RESULTS, SHARED_DATA, machine_info, markdown_table, provenance, write_results

# Dense bf16 tensor-core peaks (TFLOP/s) from the vendors' data sheets (SXM parts, no sparsity).
GPU_PEAK_TFLOPS = {"H100": 989.0, "H200": 989.0, "A100": 312.0, "L4": 121.0, "A10": 125.0}


def flops_per_token(cfg) -> float:
    d, layers = cfg.d_model, cfg.n_layers
    non_embedding = cfg.num_parameters - cfg.vocab_size * d - (cfg.seq_len * d if cfg.positions == "learned" else 0)
    return 6 * (non_embedding + cfg.vocab_size * d) + 12 * layers * d * cfg.seq_len


def gpu_peak(name: str, override: float | None) -> float | None:
    if override:
        return override
    return next((peak for key, peak in GPU_PEAK_TFLOPS.items() if key in name), None)


def measure(size: str, device, steps: int, batch_size: int, texts: list[str]) -> dict:
    import torch

    from curation.proxy.config import TrainConfig, preset
    from curation.proxy.packing import pack_documents
    from curation.proxy.tokenizer import ByteTokenizer
    from curation.proxy.train import train_proxy

    cfg = preset(size)
    tok = ByteTokenizer()
    packed = pack_documents(tok.encode_batch(texts), cfg.seq_len, tok.eod_id, tok.pad_id, tok.token_bytes())
    train_cfg = TrainConfig(tokens=steps * batch_size * cfg.seq_len, batch_size=batch_size, evaluations=1)
    if device.type == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    started = time.perf_counter()
    result = train_proxy(cfg, train_cfg, packed, {}, tok, device=device)
    if device.type == "cuda":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - started
    tokens_per_s = result.tokens / seconds
    row = {
        "size": size,
        "device": str(device),
        "parameters": cfg.num_parameters,
        "seq_len": cfg.seq_len,
        "batch_size": batch_size,
        "steps": result.steps,
        "seconds": round(seconds, 2),
        "tokens_per_s": round(tokens_per_s, 1),
        "tflops_per_s": round(tokens_per_s * flops_per_token(cfg) / 1e12, 4),
        "final_train_loss": result.curve[-1]["train_loss"],
    }
    if device.type == "cuda":
        row["peak_memory_gib"] = round(torch.cuda.max_memory_allocated() / (1 << 30), 2)
    print(row, flush=True)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", nargs="+", default=["tiny", "small", "medium"])
    parser.add_argument("--gpu-sizes", nargs="+", default=["tiny", "small", "medium", "large"])
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--peak-tflops", type=float, default=None, help="GPU dense bf16 peak, if not in the table")
    parser.add_argument("--name", default="proxy", help="results file name under benchmarks/results/")
    args = parser.parse_args()

    import torch

    from curation.proxy.text_source import read_text_source

    texts = read_text_source(str(SHARED_DATA / "reference" / "enwiki-6514-articles.jsonl.gz"), 8_000_000, seed=0).texts
    rows = [measure(size, torch.device("cpu"), args.steps, args.batch_size, texts) for size in args.sizes]
    gpu = None
    if torch.cuda.is_available():
        gpu = torch.cuda.get_device_name(0)
        peak = gpu_peak(gpu, args.peak_tflops)
        for size in args.gpu_sizes:
            row = measure(size, torch.device("cuda"), args.steps * 4, args.batch_size * 4, texts)
            row["fraction_of_peak"] = round(row["tflops_per_s"] / peak, 4) if peak else None
            rows.append(row)

    payload = {
        "benchmark": "proxy",
        **provenance(["torch"], machine=machine_info() | {"gpu": gpu, "torch_threads": torch.get_num_threads()}),
        "settings": vars(args),
        "rows": rows,
    }
    headers = ["size", "device", "parameters", "seq len", "batch", "tokens/s", "TFLOP/s", "of peak"]
    table = markdown_table(
        headers,
        [
            [
                r["size"],
                r["device"],
                r["parameters"],
                r["seq_len"],
                r["batch_size"],
                r["tokens_per_s"],
                r["tflops_per_s"],
                r.get("fraction_of_peak"),
            ]
            for r in rows
        ],  # fmt: skip
        digits=3,
    )
    machine = payload["machine"]
    markdown = (
        f"# Proxy training throughput ({payload['date'][:10]})\n\n{table}\n\n"
        f"CPU: {machine['cpu_model']}, {machine['nproc']} CPUs, torch threads {machine['torch_threads']}"
        + (f"; GPU: {gpu}" if gpu else "; no GPU on this machine")
        + f". {args.steps} steps per CPU row. Load average at the end: {machine['load_average']}.\n"
    )
    json_path, md_path = write_results(RESULTS, args.name, payload, markdown)
    print(markdown)
    print(f"wrote {json_path} and {md_path}")


if __name__ == "__main__":
    main()
