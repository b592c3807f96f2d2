"""Training many same-shape proxies at once: the population counterpart of ``train_proxy``.

Members share the model config and the training settings (token budget, batch size, schedule, AdamW,
clipping, evaluations) and differ in their training data and seed (initialisation and batch order). Each
member ends exactly where ``train_proxy`` would take it alone, to float tolerance (a test checks losses and
weights): its own batches (``batch_rows`` with its seed), its own AdamW moments (slices of stacked
tensors), gradient clipping on its own gradient norm, its own curve, checkpoints and final model, in the
same folder format as ``train_proxy`` so either can resume or reuse the other's work.

Members are taken ``per_batch`` at a time (``members_per_batch`` picks it for the machine). A batch of one
member, or fp16 training (one loss scaler would let one member's overflow skip every member's step), goes
through ``train_proxy`` itself. Members resumed from checkpoints of different steps are brought level
first: the ones behind train alone, in a smaller population, until they reach the others.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from curation.errors import ConfigError
from curation.proxy.checkpoint import load_checkpoint, remove_checkpoints, save_checkpoint, save_model
from curation.proxy.config import ProxyConfig, TrainConfig
from curation.proxy.model import ProxyLM
from curation.proxy.packing import PackedSequences
from curation.proxy.population import PopulationLM, members_per_batch
from curation.proxy.tokenizer import Tokenizer
from curation.proxy.train import (
    FINAL_DIR,
    TrainResult,
    autocast_for,
    batch_rows,
    default_device,
    evaluation_steps,
    learning_rate,
    load_finished,
    make_optimizer,
    run_identity,
    train_proxy,
)


@dataclass(frozen=True)
class PopulationMember:
    """One proxy of a population: what it trains on, its seed, and where its checkpoints go (optional)."""

    train: PackedSequences
    seed: int
    checkpoint_dir: Path | None = None


@dataclass(frozen=True)
class _Plan:
    """What every member of one ``train_population`` call shares."""

    model_cfg: ProxyConfig
    train_cfg: TrainConfig
    heldout: dict[str, PackedSequences]
    tokenizer: Tokenizer
    device: torch.device
    on_step: Callable[[int, int, list[float]], None] | None
    on_eval: Callable[[int, dict[str, Any]], None] | None
    initial_evaluation: bool

    @property
    def steps(self) -> int:
        return self.train_cfg.steps(self.model_cfg.seq_len)

    @property
    def tokens_per_step(self) -> int:
        return self.train_cfg.batch_size * self.model_cfg.seq_len


@dataclass
class _Pending:
    """A member being trained: its own ProxyLM and AdamW hold its state between batched segments."""

    index: int
    member: PopulationMember
    model: ProxyLM
    optimizer: torch.optim.AdamW
    identity: dict[str, Any]
    step: int = 0
    curve: list[dict[str, Any]] = field(default_factory=list)
    recent: list[float] = field(default_factory=list)
    resumed_from: int = 0


def population_bits_per_byte(
    population: PopulationLM, packed: PackedSequences, autocast, batch_size: int = 32
) -> list[float]:
    """``bits_per_byte`` of every member on the same held-out rows, in one batched pass per chunk.

    A chunk holds ``batch_size // P`` rows per member, so its tensors are no larger than one model's with
    ``batch_size`` rows: on CPU, tensors above glibc's mmap ceiling (32 MiB) get fresh pages at every
    allocation, and a 4-member chunk of 32 rows made GELU and log-softmax ~5x slower per element."""
    import math

    device = population.stacked[0].device
    if device.type == "cpu":
        batch_size = max(1, batch_size // population.size)
    totals = torch.zeros(population.size, dtype=torch.float64)
    was_training = population.training
    population.eval()
    try:
        with torch.no_grad():
            for start in range(0, packed.num_rows, batch_size):
                rows = packed.rows[start : start + batch_size].to(device)
                with autocast():
                    losses = population.token_losses(rows.expand(population.size, *rows.shape), packed.pad_id)
                totals += losses.double().sum(dim=(1, 2)).cpu()
    finally:
        population.train(was_training)
    return [total / math.log(2) / max(packed.num_bytes, 1) for total in totals.tolist()]


def _stack_optimizer(population: PopulationLM, train_cfg: TrainConfig, group: list[_Pending]) -> torch.optim.AdamW:
    """AdamW over the stacked parameters (weight decay on matrices only, as ``make_optimizer``), its moments
    stacked from the members' own optimisers."""
    matrices = [p for p in population.stacked if p.dim() >= 3]  # a member's matrix, stacked
    scales = [p for p in population.stacked if p.dim() < 3]
    optimizer = torch.optim.AdamW(
        [{"params": matrices, "weight_decay": train_cfg.weight_decay}, {"params": scales, "weight_decay": 0.0}],
        lr=train_cfg.lr,
        betas=train_cfg.betas,
        foreach=True,
    )
    states = [{name: m.optimizer.state.get(p) for name, p in m.model.named_parameters()} for m in group]
    for name, stacked in zip(population.names, population.stacked, strict=True):
        member_states = [s[name] for s in states]
        if any(not s for s in member_states):
            continue  # no step taken yet
        optimizer.state[stacked] = {
            "step": member_states[0]["step"].clone(),
            "exp_avg": torch.stack([s["exp_avg"] for s in member_states]),
            "exp_avg_sq": torch.stack([s["exp_avg_sq"] for s in member_states]),
        }
    return optimizer


def _unstack(population: PopulationLM, optimizer: torch.optim.AdamW, group: list[_Pending]) -> None:
    """Copy each member's slice of parameters and AdamW moments back into its own model and optimiser."""
    for slot, member in enumerate(group):
        own = dict(member.model.named_parameters())
        with torch.no_grad():
            for name, stacked in zip(population.names, population.stacked, strict=True):
                own[name].copy_(stacked[slot])
                state = optimizer.state.get(stacked)
                if state:
                    member.optimizer.state[own[name]] = {
                        "step": state["step"].clone(),
                        "exp_avg": state["exp_avg"][slot].clone(),
                        "exp_avg_sq": state["exp_avg_sq"][slot].clone(),
                    }


def _clip_per_member(population: PopulationLM, max_norm: float) -> None:
    """``clip_grad_norm_`` applied to each member's own gradient (its global norm over its slices)."""
    grads = [p.grad for p in population.stacked if p.grad is not None]
    norms = torch.stack([g.flatten(1).norm(dim=1) for g in grads]).norm(dim=0)  # [P]
    coef = (max_norm / (norms + 1e-6)).clamp(max=1.0)
    for g in grads:
        g.mul_(coef.view(-1, *([1] * (g.dim() - 1))).to(g.dtype))


def train_population(
    model_cfg: ProxyConfig,
    train_cfg: TrainConfig,
    members: list[PopulationMember],
    heldout: dict[str, PackedSequences],
    tokenizer: Tokenizer,
    device: torch.device | None = None,
    per_batch: int | None = None,
    on_step: Callable[[int, int, list[float]], None] | None = None,
    on_eval: Callable[[int, dict[str, Any]], None] | None = None,
    on_member_done: Callable[[int, TrainResult], None] | None = None,
    initial_evaluation: bool = True,
) -> list[TrainResult]:
    """Train every member for ``train_cfg.tokens`` tokens (``train_cfg.seed`` is ignored: each member has its
    own); one ``TrainResult`` per member, in order. ``per_batch`` overrides ``members_per_batch``.

    Callbacks: ``on_step(step, steps, losses of the members in the batch)``, ``on_eval(member, point)``,
    ``on_member_done(member, result)`` as each member finishes.
    """
    device = device or default_device()
    if any(m.train.num_rows == 0 for m in members):
        raise ConfigError("no training sequences")
    if per_batch is not None and per_batch < 1:
        raise ConfigError("members per batch must be at least 1")
    _, needs_scaling = autocast_for(device, train_cfg.precision)
    size = per_batch or members_per_batch(model_cfg, train_cfg.batch_size, device, len(members))
    if needs_scaling:
        size = 1
    results: list[TrainResult | None] = [None] * len(members)

    def finished(index: int, result: TrainResult) -> None:
        results[index] = result
        if on_member_done:
            on_member_done(index, result)

    plan = _Plan(model_cfg, train_cfg, heldout, tokenizer, device, on_step, on_eval, initial_evaluation)
    for start in range(0, len(members), size):
        chunk = list(range(start, min(start + size, len(members))))
        if len(chunk) == 1:
            index, member = chunk[0], members[chunk[0]]
            result = train_proxy(
                model_cfg,
                replace(train_cfg, seed=member.seed),
                member.train,
                heldout,
                tokenizer,
                checkpoint_dir=member.checkpoint_dir,
                device=device,
                on_step=(lambda step, steps, loss: on_step(step, steps, [loss])) if on_step else None,
                on_eval=(lambda point, index=index: on_eval(index, point)) if on_eval else None,
                initial_evaluation=initial_evaluation,
            )
            finished(index, result)
            continue
        _train_chunk(plan, [(index, members[index]) for index in chunk], finished)
    return [r for r in results if r is not None]


def _train_chunk(
    plan: _Plan, chunk: list[tuple[int, PopulationMember]], finished: Callable[[int, TrainResult], None]
) -> None:
    """Train the members of ``chunk`` (index, member) as populations, bringing resumed members level first."""
    steps, tokens = plan.steps, plan.steps * plan.tokens_per_step
    pending: list[_Pending] = []
    for index, member in chunk:
        member_cfg = replace(plan.train_cfg, seed=member.seed)
        identity = run_identity(plan.model_cfg, member_cfg, member.train, plan.heldout, plan.tokenizer)
        if member.checkpoint_dir is not None:
            done = load_finished(member.checkpoint_dir / FINAL_DIR, identity, plan.device)
            if done is not None:
                model, curve = done
                finished(index, TrainResult(model, curve, steps, tokens, 0.0, resumed_from=steps))
                continue
        model = ProxyLM(plan.model_cfg, seed=member.seed).to(plan.device)
        state = _Pending(index, member, model, make_optimizer(model, member_cfg), identity)
        if member.checkpoint_dir is not None:
            saved = load_checkpoint(member.checkpoint_dir, model, state.optimizer, identity)
            if saved is not None:
                state.step, state.curve = saved["step"], saved["curve"]
                state.resumed_from = state.step
        pending.append(state)
    began = time.perf_counter()
    while any(m.step < steps for m in pending):
        level = min(m.step for m in pending if m.step < steps)
        group = [m for m in pending if m.step == level]
        stop = min([m.step for m in pending if m.step > level] + [steps])
        _train_group(plan, group, level, stop)
    seconds = (time.perf_counter() - began) / max(len(pending), 1)  # each member's share of the chunk's time
    for m in pending:
        folder = m.member.checkpoint_dir
        if folder is not None:
            save_model(folder / FINAL_DIR, m.model, plan.tokenizer, {"curve": m.curve, "identity": m.identity})
            remove_checkpoints(folder)
        finished(m.index, TrainResult(m.model, m.curve, steps, tokens, seconds, m.resumed_from))


def _train_group(plan: _Plan, group: list[_Pending], start: int, stop: int) -> None:
    """Train ``group`` (members all at step ``start``) as one population up to step ``stop``."""
    train_cfg, steps = plan.train_cfg, plan.steps
    evals = evaluation_steps(steps, train_cfg.evaluations)
    autocast, _ = autocast_for(plan.device, train_cfg.precision)
    population = PopulationLM(plan.model_cfg, [dict(m.model.named_parameters()) for m in group]).to(plan.device)
    optimizer = _stack_optimizer(population, train_cfg, group)
    pad_id = group[0].member.train.pad_id

    def evaluate(step: int, record: list[_Pending] = group) -> None:
        """Evaluate every member; record the point (and checkpoint) for the members in ``record``."""
        bpb = {name: population_bits_per_byte(population, packed, autocast) for name, packed in plan.heldout.items()}
        if step < steps and any(m.member.checkpoint_dir is not None for m in record):
            _unstack(population, optimizer, group)
        for slot, m in enumerate(group):
            if m not in record:
                continue
            point = {
                "step": step,
                "tokens": step * plan.tokens_per_step,
                "train_loss": float(np.mean(m.recent)) if m.recent else None,
                "bpb": {name: values[slot] for name, values in bpb.items()},
            }
            m.curve.append(point)
            m.recent = []
            if plan.on_eval:
                plan.on_eval(m.index, point)
            folder = m.member.checkpoint_dir
            if folder is not None and step < steps:
                trainer = {"identity": m.identity, "step": step, "curve": m.curve}
                save_checkpoint(folder, m.model, plan.tokenizer, m.optimizer, trainer)

    unevaluated = [m for m in group if not m.curve]  # a crash in the first checkpoint round leaves a mix
    if start == 0 and plan.initial_evaluation and unevaluated:
        evaluate(0, unevaluated)
    population.train()
    for step in range(start, stop):
        for param_group in optimizer.param_groups:
            param_group["lr"] = learning_rate(step, steps, train_cfg)
        rows = torch.stack(
            [
                m.member.train.rows[batch_rows(step, m.member.train.num_rows, train_cfg.batch_size, m.member.seed)]
                for m in group
            ]
        ).to(plan.device)
        with autocast():
            losses = population.token_losses(rows, pad_id)
        member_losses = losses.sum(dim=(1, 2)) / (rows[..., 1:] != pad_id).sum(dim=(1, 2)).clamp_min(1)
        optimizer.zero_grad(set_to_none=True)
        member_losses.sum().backward()  # members are independent: each slice gets its own gradient
        _clip_per_member(population, train_cfg.grad_clip)
        optimizer.step()
        values = member_losses.detach().tolist()
        for m, value in zip(group, values, strict=True):
            m.recent.append(value)
        if plan.on_step:
            plan.on_step(step + 1, steps, values)
        if step + 1 in evals:
            evaluate(step + 1)
    _unstack(population, optimizer, group)
    for m in group:
        m.step = stop
