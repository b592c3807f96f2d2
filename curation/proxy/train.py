"""Training a proxy: AdamW, linear warmup then cosine decay, gradient clipping, autocast on GPU.

Deterministic for a seed on CPU: the weights come from the seed, and the batch order is a pure
function of (seed, step), so a run resumed from a checkpoint sees exactly the batches an
uninterrupted run would have seen and ends with the same weights.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from curation.errors import ConfigError
from curation.proxy.checkpoint import (
    CONFIG_FILE,
    load_checkpoint,
    load_model,
    remove_checkpoints,
    save_checkpoint,
    save_model,
)
from curation.proxy.config import ProxyConfig, TrainConfig
from curation.proxy.evaluate import bits_per_byte
from curation.proxy.model import ProxyLM
from curation.proxy.packing import PackedSequences
from curation.proxy.tokenizer import Tokenizer

FINAL_DIR = "final"


def default_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def autocast_for(device: torch.device, precision: str) -> tuple[Callable, bool]:
    """A context factory for the forward pass, and whether fp16 loss scaling is needed."""
    if precision == "auto":
        if device.type != "cuda":
            return nullcontext, False
        precision = "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    if precision == "fp32":
        return nullcontext, False
    dtype = torch.bfloat16 if precision == "bf16" else torch.float16
    return (lambda: torch.autocast(device.type, dtype=dtype)), precision == "fp16"


def learning_rate(step: int, steps: int, cfg: TrainConfig) -> float:
    """Linear warmup to ``lr``, then cosine decay towards ``lr * min_lr_ratio`` (reached at ``step == steps``)."""
    warmup = max(1, round(cfg.warmup_fraction * steps))
    if step < warmup:
        return cfg.lr * (step + 1) / warmup
    progress = (step - warmup) / max(1, steps - warmup)
    floor = cfg.lr * cfg.min_lr_ratio
    return floor + (cfg.lr - floor) * 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))


def batch_rows(step: int, num_rows: int, batch_size: int, seed: int) -> np.ndarray:
    """Row indices of batch ``step``: epochs are seeded permutations laid end to end."""
    start = step * batch_size
    indices = []
    while len(indices) < batch_size:
        epoch, offset = divmod(start + len(indices), num_rows)
        order = np.random.default_rng([seed, epoch]).permutation(num_rows)
        indices.extend(order[offset : offset + batch_size - len(indices)].tolist())
    return np.asarray(indices)


def evaluation_steps(steps: int, evaluations: int) -> list[int]:
    return sorted({round(i * steps / evaluations) for i in range(evaluations + 1)})


def fingerprint(packed: PackedSequences) -> str:
    return hashlib.sha256(packed.rows.numpy().tobytes()).hexdigest()[:16]


def make_optimizer(model: ProxyLM, cfg: TrainConfig) -> torch.optim.AdamW:
    """AdamW with weight decay on matrices only (not on LayerNorm scales)."""
    matrices = [p for p in model.parameters() if p.dim() >= 2]
    scales = [p for p in model.parameters() if p.dim() < 2]
    groups = [{"params": matrices, "weight_decay": cfg.weight_decay}, {"params": scales, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=cfg.lr, betas=cfg.betas, foreach=True)


def run_identity(
    model_cfg: ProxyConfig,
    train_cfg: TrainConfig,
    train: PackedSequences,
    heldout: dict[str, PackedSequences],
    tokenizer: Tokenizer,
) -> dict[str, Any]:
    """What a checkpoint or finished model must match to be resumed or reused: settings and data."""
    return {
        "model": model_cfg.to_dict(),
        "train": train_cfg.to_dict(),
        "tokenizer": tokenizer.describe(),
        "train_data": fingerprint(train),
        "heldout_data": {name: fingerprint(packed) for name, packed in sorted(heldout.items())},
    }


def load_finished(folder: Path, identity: dict[str, Any], device: torch.device):
    """The model and curve of a run that already finished with these settings and data, else None."""
    config_path = folder / CONFIG_FILE
    if not config_path.is_file():
        return None
    saved = json.loads(config_path.read_text(encoding="utf-8"))
    if saved.get("identity") != identity:
        raise ConfigError(
            f"{folder}: a finished model of a different run (settings or data differ); remove it or write elsewhere"
        )
    model, _ = load_model(folder, device)
    return model, saved["curve"]


@dataclass
class TrainResult:
    model: ProxyLM
    curve: list[dict[str, Any]]  # {"step", "tokens", "train_loss", "bpb": {heldout: value}}
    steps: int
    tokens: int
    seconds: float
    resumed_from: int = 0  # the step training started from (== steps: finished earlier, reused)

    @property
    def final_bpb(self) -> dict[str, float]:
        return self.curve[-1]["bpb"]


def train_proxy(
    model_cfg: ProxyConfig,
    train_cfg: TrainConfig,
    train: PackedSequences,
    heldout: dict[str, PackedSequences],
    tokenizer: Tokenizer,
    checkpoint_dir: Path | None = None,
    device: torch.device | None = None,
    on_step: Callable[[int, int, float], None] | None = None,
    on_eval: Callable[[dict[str, Any]], None] | None = None,
    initial_evaluation: bool = True,
) -> TrainResult:
    """Train one proxy on ``train`` for ``train_cfg.tokens`` target tokens, evaluating bpb on ``heldout``.

    With ``checkpoint_dir``, a checkpoint is committed at every evaluation and an existing one for the
    same settings and data is resumed; the finished model is saved there as ``final/``.
    ``initial_evaluation=False`` skips the evaluation of the untrained model (only the final one matters
    to Meta-rater's proxy runs).
    """
    device = device or default_device()
    if train.num_rows == 0:
        raise ConfigError("no training sequences")
    steps = train_cfg.steps(model_cfg.seq_len)
    tokens_per_step = train_cfg.batch_size * model_cfg.seq_len
    evals = evaluation_steps(steps, train_cfg.evaluations)
    autocast, needs_scaling = autocast_for(device, train_cfg.precision)
    identity = run_identity(model_cfg, train_cfg, train, heldout, tokenizer)

    if checkpoint_dir is not None:
        finished = load_finished(checkpoint_dir / FINAL_DIR, identity, device)
        if finished is not None:
            model, curve = finished
            return TrainResult(model, curve, steps, steps * tokens_per_step, 0.0, resumed_from=steps)

    model = ProxyLM(model_cfg, seed=train_cfg.seed).to(device)
    optimizer = make_optimizer(model, train_cfg)
    scaler = torch.amp.GradScaler(device.type) if needs_scaling else None
    curve: list[dict[str, Any]] = []
    start_step = 0
    if checkpoint_dir is not None:
        saved = load_checkpoint(checkpoint_dir, model, optimizer, identity)
        if saved is not None:
            start_step, curve = saved["step"], saved["curve"]

    def evaluate(step: int, train_loss: float | None) -> None:
        point = {
            "step": step,
            "tokens": step * tokens_per_step,
            "train_loss": train_loss,
            "bpb": {name: bits_per_byte(model, packed, autocast=autocast) for name, packed in heldout.items()},
        }
        curve.append(point)
        if on_eval:
            on_eval(point)
        if checkpoint_dir is not None and step < steps:
            trainer = {"identity": identity, "step": step, "curve": curve}
            save_checkpoint(checkpoint_dir, model, tokenizer, optimizer, trainer)

    began = time.perf_counter()
    if start_step == 0 and not curve and initial_evaluation:
        evaluate(0, None)
    model.train()
    recent: list[float] = []
    for step in range(start_step, steps):
        for group in optimizer.param_groups:
            group["lr"] = learning_rate(step, steps, train_cfg)
        rows = train.rows[batch_rows(step, train.num_rows, train_cfg.batch_size, train_cfg.seed)].to(device)
        with autocast():
            losses = model.token_losses(rows, train.pad_id)
        loss = losses.sum() / (rows[:, 1:] != train.pad_id).sum().clamp_min(1)
        optimizer.zero_grad(set_to_none=True)
        if scaler is not None:
            scaler.scale(loss).backward()
            scaler.unscale_(optimizer)
        else:
            loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), train_cfg.grad_clip)
        if scaler is not None:
            scaler.step(optimizer)
            scaler.update()
        else:
            optimizer.step()
        recent.append(loss.item())
        if on_step:
            on_step(step + 1, steps, recent[-1])
        if step + 1 in evals:
            evaluate(step + 1, float(np.mean(recent)))
            recent = []
    seconds = time.perf_counter() - began
    if checkpoint_dir is not None:
        save_model(checkpoint_dir / FINAL_DIR, model, tokenizer, {"curve": curve, "identity": identity})
        remove_checkpoints(checkpoint_dir)  # the finished model supersedes them
    return TrainResult(model, curve, steps, steps * tokens_per_step, seconds, resumed_from=start_step)
