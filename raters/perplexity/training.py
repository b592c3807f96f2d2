"""``curate raters perplexity train``: a proxy LM on reference text, held-out bits per byte, MLflow, save.

A seeded ``--heldout-fraction`` of the reference documents (at most ``MAX_HELDOUT_BYTES`` of them) is held
out whole; the proxy trains on the rest for ``--tokens`` target tokens, and its held-out bits per byte at
each evaluation goes to the console and the MLflow run. The model (safetensors + JSON) is written to
``MODEL_DIR`` with the held-out result, and logged to the run.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from curation.errors import ConfigError
from raters.model_folder import ModelOut
from raters.perplexity.model import ProxyPerplexity
from raters.training_run import METRICS_FILE, hold_out, save_trained

READ_BYTES_PER_TOKEN = 4  # reference text read per training token: no byte-level epoch repeats, ~1 BPE epoch
MAX_HELDOUT_BYTES = 200_000  # evaluation cost on a CPU stays a few seconds


@dataclass
class PerplexityTrainResult:
    out: Path | str  # a URL for a model folder on an object store
    rater: ProxyPerplexity
    metrics: dict[str, float]
    run_id: str | None


def split_reference(texts: list[str], fraction: float, seed: int) -> tuple[list[str], list[str]]:
    """(train, held-out): a seeded share of the documents, at most MAX_HELDOUT_BYTES of them, held out whole."""
    if not 0 < fraction < 1:
        raise ConfigError("--heldout-fraction must be between 0 and 1")
    order = np.random.default_rng([seed, 13]).permutation(len(texts))
    held, size = set(), 0
    for index in order[: int(round(fraction * len(texts)))]:
        if held and size + len(texts[index].encode("utf-8")) > MAX_HELDOUT_BYTES:
            break
        held.add(int(index))
        size += len(texts[index].encode("utf-8"))
    if not held or len(held) == len(texts):
        raise ConfigError(f"{len(texts)} reference documents: too few to hold out {fraction:.0%} and still train")
    return hold_out(texts, held)


def run_perplexity_train(
    reference: str,
    out: str | Path,
    *,
    size: str = "tiny",
    tokens: int = 2_000_000,
    seed: int = 0,
    tokenizer: str = "bytes",
    heldout_fraction: float = 0.05,
    device: str = "auto",
    tracking: bool = True,
    overwrite: bool = False,
    console=None,
) -> PerplexityTrainResult:
    import torch
    from rich.console import Console

    from curation.proxy.checkpoint import CONFIG_FILE, WEIGHTS_FILE
    from curation.proxy.config import preset
    from curation.proxy.text_source import read_text_source
    from curation.proxy.train import default_device
    from curation.tracking import stage_run

    console = console or Console(stderr=True)
    preset(size)  # an unknown size fails here, before any reading
    if tokens < 1:
        raise ConfigError("--tokens must be positive")
    if device not in ("auto", "cpu", "cuda"):
        raise ConfigError(f"--device {device!r}: choose auto, cpu or cuda")
    if device == "cuda" and not torch.cuda.is_available():
        raise ConfigError("--device cuda: no CUDA device is available")
    folder = ModelOut(out, CONFIG_FILE, "a model")
    folder.check_new(overwrite)
    out = folder.local
    torch_device = default_device() if device == "auto" else torch.device(device)

    source = read_text_source(reference, tokens * READ_BYTES_PER_TOKEN, seed=seed)
    train, heldout = split_reference(source.texts, heldout_fraction, seed)
    params: dict[str, Any] = {
        "reference": reference,
        "size": size,
        "tokens": tokens,
        "seed": seed,
        "tokenizer": tokenizer,
        "heldout_fraction": heldout_fraction,
        "train_documents": len(train),
        "heldout_documents": len(heldout),
        "device": str(torch_device),
        "out": folder.location,
    }
    with stage_run("perplexity-train", params, enabled=tracking) as run:

        def on_eval(point: dict[str, Any]) -> None:
            bpb = point["bpb"]["heldout"]
            metrics = {
                "heldout_bpb": bpb,
                **({"train_loss": point["train_loss"]} if point["train_loss"] is not None else {}),
            }
            run.log_metrics(metrics, step=point["tokens"])
            console.print(f"perplexity: {point['tokens']:,} tokens, held-out bpb {bpb:.4f}", highlight=False)

        rater = ProxyPerplexity.fit(
            train, size=size, tokens=tokens, seed=seed, tokenizer=tokenizer, heldout=heldout,
            device=torch_device, on_eval=on_eval,
        )  # fmt: skip
        final = rater.info["curve"][-1]
        metrics = {"heldout_bpb": final["bpb"]["heldout"], "heldout_documents": len(heldout), "tokens": final["tokens"]}
        files = (CONFIG_FILE, WEIGHTS_FILE, METRICS_FILE, "tokenizer.json")  # tokenizer.json: BPE only
        save_trained(run, out, rater, metrics, {"reference": reference}, files)
        folder.publish()
    return PerplexityTrainResult(folder.path, rater, metrics, run.run_id)
