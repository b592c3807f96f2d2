"""Meta-training the rater (the paper's Algorithm 1, with its population, resets and per-member Adam).

One outer step, for each inner model i of the population:
1. from its current parameters theta_i and Adam state, take K inner updates on batches of training rows,
   each on sum_j softmax_B(rater(x_j)) * loss(x_j; theta) with the differentiable Adam, keeping the graph
   (or, with ``remat="steps"``, only each update's inputs, the graph being rebuilt one update at a time in 3);
2. measure the updated model's mean loss on a batch of the held-out split (disjoint from the training rows);
3. differentiate that loss w.r.t. the rater's parameters: exact second order through the K updates;
4. clip the meta-gradient's global norm and feed it to member i's own outer Adam, giving an update u_i;
5. keep the K-step-advanced theta_i (detached): inner models keep training as meta-training goes on.
The rater moves by the mean of the u_i. Member i is re-initialised every ``lifetime`` outer steps, offset by
i x lifetime / P, so the population always spans early and late training.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch
from torch.autograd.function import once_differentiable

from curation.errors import ConfigError
from curation.proxy.config import ProxyConfig, preset
from curation.proxy.model import ProxyLM, functional_sequence_losses
from curation.proxy.packing import PackedSequences
from raters.datarater.differentiable_adam import AdamSettings, adam_init, adam_step, detached
from raters.datarater.model import RaterTransformer
from raters.datarater.weights import BatchSoftmaxWeights

# Where this implementation departs from the paper, and why (also in docs/datarater.md).
DEVIATIONS = {
    "scale": "inner models and rater are small (presets tiny/small, 0.1-1M parameters, 128-256 tokens) so "
    "meta-training runs on CPU; the paper used 8 x 400M inner models and a 50M rater on 2048-token sequences",
    "eps_root": "the inner Adam adds eps_root inside the square root (optax) so second-order gradients stay "
    "finite for parameters with zero gradient",
    "per_sequence_loss": "the inner loss weights each sequence's mean token loss; the paper sums token losses "
    "(identical up to a constant factor for full-length packed rows)",
    "memory": "MixFlow-MG in part. Implemented: rematerialisation of whole inner updates (remat='steps'): the "
    "unroll keeps each update's inputs (parameters, Adam moments) and rebuilds one update's second-order graph "
    "at a time in the meta-backward, so memory stays flat in K, for one more forward and first-order backward "
    "per update. Not implemented: MixFlow-MG's mixed-mode (forward-over-reverse) Hessian-vector products; the "
    "meta-gradient is reverse-over-reverse autograd (create_graph=True) in every mode. remat='blocks' "
    "(non-reentrant checkpoint around each block of the inner model) is exact but saves no memory under "
    "reverse-over-reverse: the create_graph backward keeps the recomputed activations for the second backward. "
    "The default remat='none' keeps the graph of all K updates: memory grows linearly with K",
}

# Rematerialisation of the unroll (DataRaterConfig.remat). All three give the same meta-gradient (tests check
# it against remat="none" and finite differences); they differ in memory and time only.
# - "none": the graph of all K inner updates is kept until the meta-backward; memory grows linearly in K.
# - "steps": only each update's inputs are kept; the meta-backward recomputes one update at a time
#   (``RematerialisedUpdate``). Memory flat in K; each update runs forward and first-order backward twice.
# - "blocks": activation checkpointing of the inner model's transformer blocks. Exact, but with create_graph=True
#   the recomputed activations are kept by the second-order graph anyway, and the blocks are recomputed in both
#   backward passes: more peak memory than "none" in benchmarks/results/datarater_unroll.md, and more compute.
#   Kept so that result can be reproduced; do not use it to save memory.
REMAT = ("none", "blocks", "steps")


@dataclass(frozen=True)
class DataRaterConfig:
    inner: str = "tiny"  # proxy preset of the inner models
    seq_len: int = 128
    rater_d_model: int = 64
    rater_layers: int = 2
    rater_heads: int = 2
    population: int = 8  # paper: 8
    unroll: int = 2  # K, paper: 2
    inner_batch: int = 16  # paper: 128
    outer_batch: int = 16  # paper: 128
    inner_lr: float = 1e-3
    outer_lr: float = 1e-3
    outer_betas: tuple[float, float] = (0.9, 0.99)
    outer_weight_decay: float = 0.1  # paper: decoupled weight decay 0.1
    outer_warmup: int = 100  # paper: 100 steps of linear warmup
    outer_clip: float = 0.01  # paper: global-norm clipping at 0.01
    lifetime: int = 200  # outer steps between re-initialisations of an inner model
    outer_steps: int = 500
    temperature: float | None = None  # deviation from the paper when set
    seed: int = 0
    remat: str = "none"  # "none", "blocks" or "steps": memory against time, same result (see REMAT)

    def __post_init__(self) -> None:
        if self.unroll < 1 or self.population < 1:
            raise ConfigError("unroll (K) and population must be at least 1")
        if self.inner_batch < 2:
            raise ConfigError("inner_batch must be at least 2: the weights are a softmax over the batch")
        if self.lifetime < 1 or self.outer_steps < 1:
            raise ConfigError("lifetime and outer_steps must be at least 1")
        if self.remat not in REMAT:
            raise ConfigError(f"remat must be one of {', '.join(REMAT)}, not {self.remat!r}")

    def inner_model(self, vocab_size: int) -> ProxyConfig:
        from dataclasses import replace

        return replace(preset(self.inner), seq_len=self.seq_len, vocab_size=vocab_size)

    def rater_model(self, vocab_size: int) -> ProxyConfig:
        return ProxyConfig(
            vocab_size=vocab_size,
            seq_len=self.seq_len,
            d_model=self.rater_d_model,
            n_layers=self.rater_layers,
            n_heads=self.rater_heads,
        )

    def to_dict(self) -> dict[str, Any]:
        payload = asdict(self)
        payload["outer_betas"] = list(self.outer_betas)
        return payload


@dataclass
class InnerMember:
    params: dict[str, torch.Tensor]
    adam: dict[str, torch.Tensor]
    generation: int = 0  # how many times it was re-initialised
    age: int = 0  # outer steps since its last initialisation
    outer: dict[str, torch.Tensor] = field(default_factory=dict)  # its own Adam state for the meta-gradient


@dataclass(frozen=True)
class InnerUpdate:
    """One inner Adam update of a proxy LM on the rater-weighted loss of a batch of training rows."""

    inner_model: ProxyLM
    rater: RaterTransformer
    weights: BatchSoftmaxWeights
    settings: AdamSettings
    pad_id: int
    remat_blocks: bool = False

    def __call__(
        self,
        params: dict[str, torch.Tensor],
        adam: dict[str, torch.Tensor],
        rows: torch.Tensor,
        create_graph: bool = True,
    ) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
        """New (params, adam); with ``create_graph`` differentiable w.r.t. the rater and the inputs (second order)."""
        batch_weights = self.weights(self.rater(rows[:, 1:]))
        losses = functional_sequence_losses(self.inner_model, params, rows, self.pad_id, self.remat_blocks)
        inner_loss = (batch_weights * losses).sum()
        grads = torch.autograd.grad(inner_loss, list(params.values()), create_graph=create_graph)
        return adam_step(params, dict(zip(params, grads, strict=True)), adam, self.settings)


class RematerialisedUpdate(torch.autograd.Function):
    """An inner update whose graph is not kept: only its inputs are (``remat="steps"``).

    Forward runs the update first order and keeps its inputs. When the meta-gradient reaches it, backward runs
    the same update again with ``create_graph=True`` and takes the vector-Jacobian product w.r.t. the
    parameters, the Adam moments and the rater. The graph of one update exists at a time, so memory stays flat
    in K, for a second forward and first backward per update. The meta-gradient is first order in the rater
    (``once_differentiable``): enough for meta-training, not for a Hessian of the outer loss.
    """

    @staticmethod
    def forward(ctx, update: InnerUpdate, names: list[str], step: torch.Tensor, rows: torch.Tensor, *tensors):
        # tensors: the parameters, first moments and second moments in ``names`` order, then the rater's parameters
        state = tensors[: 3 * len(names)]
        ctx.update, ctx.names = update, names
        ctx.save_for_backward(step, rows, *state)
        with torch.enable_grad():
            inputs = [t.detach().requires_grad_(True) for t in state]
            params, adam = update(*_unflatten(names, step, inputs), rows, create_graph=False)
        return tuple(t.detach() for t in _flatten(names, params, adam))

    @staticmethod
    @once_differentiable
    def backward(ctx, *cotangents):
        step, rows, *state = ctx.saved_tensors
        needed = ctx.needs_input_grad[4:]
        inputs = [t.detach().requires_grad_(True) for t in state]
        wanted = [t for t, want in zip([*inputs, *ctx.update.rater.parameters()], needed, strict=True) if want]
        with torch.enable_grad():
            params, adam = ctx.update(*_unflatten(ctx.names, step, inputs), rows, create_graph=True)
            grads = iter(torch.autograd.grad(_flatten(ctx.names, params, adam), wanted, cotangents, allow_unused=True))
        return (None, None, None, None, *[next(grads) if want else None for want in needed])


def _flatten(names, params, adam) -> list[torch.Tensor]:
    return [params[k] for k in names] + [adam[f"m.{k}"] for k in names] + [adam[f"v.{k}"] for k in names]


def _unflatten(names, step, tensors) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    n = len(names)
    params = dict(zip(names, tensors[:n], strict=True))
    adam = {"step": step}
    for i, k in enumerate(names):
        adam[f"m.{k}"], adam[f"v.{k}"] = tensors[n + i], tensors[2 * n + i]
    return params, adam


def meta_objective(
    inner_model: ProxyLM,
    rater: RaterTransformer,
    params: dict[str, torch.Tensor],
    adam: dict[str, torch.Tensor],
    inner_batches: list[torch.Tensor],
    outer_batch: torch.Tensor,
    weights: BatchSoftmaxWeights,
    inner_adam: AdamSettings,
    pad_id: int,
    remat: str = "none",
) -> tuple[torch.Tensor, dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """Held-out loss after K weighted inner Adam updates, differentiable w.r.t. the rater (second order).

    ``remat`` trades time for memory without changing the result: "blocks" recomputes each transformer
    block's activations, "steps" each whole inner update (see ``REMAT``).
    """
    if remat not in REMAT:
        raise ConfigError(f"remat must be one of {', '.join(REMAT)}, not {remat!r}")
    update = InnerUpdate(inner_model, rater, weights, inner_adam, pad_id, remat_blocks=remat == "blocks")
    if remat == "steps":  # the caller wants no gradient w.r.t. the starting point; not asking saves work in step 1
        params, adam = detached(params), detached(adam)
    for rows in inner_batches:
        if remat == "steps":
            names = list(params)
            flat = RematerialisedUpdate.apply(
                update, names, adam["step"], rows, *_flatten(names, params, adam), *rater.parameters()
            )
            params, adam = _unflatten(names, adam["step"] + 1, flat)
        else:
            params, adam = update(params, adam, rows)
    outer_loss = functional_sequence_losses(inner_model, params, outer_batch, pad_id, remat == "blocks").mean()
    return outer_loss, params, adam


class MetaTrainer:
    def __init__(self, cfg: DataRaterConfig, train: PackedSequences, heldout: PackedSequences, vocab_size: int):
        if train.rows.shape[1] != cfg.seq_len + 1 or heldout.rows.shape[1] != cfg.seq_len + 1:
            raise ConfigError(f"training and held-out rows must hold seq_len + 1 = {cfg.seq_len + 1} tokens")
        self.cfg, self.train, self.heldout = cfg, train, heldout
        self.pad_id = train.pad_id
        self.inner_cfg = cfg.inner_model(vocab_size)
        self.inner_model = ProxyLM(self.inner_cfg, seed=0)
        self.rater = RaterTransformer(cfg.rater_model(vocab_size), self.pad_id, seed=cfg.seed)
        self.weights = BatchSoftmaxWeights(cfg.temperature)
        self.inner_adam = AdamSettings(lr=cfg.inner_lr)
        self.step = 0
        self.members = [self._fresh_member(i, 0) for i in range(cfg.population)]
        for member in self.members:
            member.outer = adam_init(dict(self.rater.named_parameters()))

    def _fresh_member(self, index: int, generation: int) -> InnerMember:
        seed = (self.cfg.seed * 1_000_003 + index * 10_007 + generation) % (2**31)
        params = detached(dict(ProxyLM(self.inner_cfg, seed=seed).named_parameters()), requires_grad=True)
        return InnerMember(params, adam_init(params), generation=generation)

    def _rows(self, packed: PackedSequences, size: int, *key: int) -> torch.Tensor:
        rng = np.random.default_rng([self.cfg.seed, self.step, *key])
        return packed.rows[rng.choice(packed.num_rows, size=size, replace=packed.num_rows < size)]

    def outer_learning_rate(self) -> float:
        return self.cfg.outer_lr * min(1.0, (self.step + 1) / max(1, self.cfg.outer_warmup))

    def outer_step(self) -> dict[str, float]:
        """One meta-update of the rater from every member of the population; returns its metrics."""
        began = time.perf_counter()
        cfg = self.cfg
        rater_params = dict(self.rater.named_parameters())
        outer_settings = AdamSettings(
            lr=self.outer_learning_rate(), betas=cfg.outer_betas, eps=1e-8, eps_root=0.0, weight_decay=0.0
        )
        updates: list[dict[str, torch.Tensor]] = []
        losses, norms = [], []
        for index, member in enumerate(self.members):
            inner_batches = [self._rows(self.train, cfg.inner_batch, index, k) for k in range(cfg.unroll)]
            outer_batch = self._rows(self.heldout, cfg.outer_batch, index, 1_000_000)
            outer_loss, params, adam = meta_objective(
                self.inner_model,
                self.rater,
                member.params,
                member.adam,
                inner_batches,
                outer_batch,
                self.weights,
                self.inner_adam,
                self.pad_id,
                cfg.remat,
            )
            grads = torch.autograd.grad(outer_loss, list(rater_params.values()))
            norm = torch.sqrt(sum((g.double() ** 2).sum() for g in grads)).item()
            scale = min(1.0, cfg.outer_clip / (norm + 1e-12))
            grads = {name: g * scale for name, g in zip(rater_params, grads, strict=True)}
            with torch.no_grad():
                moved, member.outer = adam_step(detached(rater_params), grads, member.outer, outer_settings)
            updates.append({name: rater_params[name].detach() - moved[name] for name in rater_params})
            member.params, member.adam = detached(params, requires_grad=True), detached(adam)
            member.age += 1
            losses.append(outer_loss.item())
            norms.append(norm)
        with torch.no_grad():
            lr = outer_settings.lr
            for name, p in rater_params.items():
                mean_update = torch.stack([u[name] for u in updates]).mean(dim=0)
                decay = cfg.outer_weight_decay * lr * p if p.dim() >= 2 else 0.0
                p.sub_(mean_update + decay)
        self.step += 1
        self._reset_due_members()
        return {
            "outer_loss": float(np.mean(losses)),
            "meta_grad_norm": float(np.mean(norms)),
            "outer_lr": lr,
            "seconds": time.perf_counter() - began,
        }

    def _reset_due_members(self) -> None:
        cfg = self.cfg
        for index, member in enumerate(self.members):
            offset = index * cfg.lifetime // cfg.population
            if (self.step + offset) % cfg.lifetime == 0:
                fresh = self._fresh_member(index, member.generation + 1)
                fresh.outer = member.outer
                self.members[index] = fresh

    def state(self) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        """Everything needed to resume: tensors (for safetensors) and small JSON-able facts."""
        tensors = {f"rater.{k}": v for k, v in self.rater.state_dict().items()}
        members = []
        for i, member in enumerate(self.members):
            for kind in ("params", "adam", "outer"):
                tensors.update({f"member.{i}.{kind}.{k}": v for k, v in getattr(member, kind).items()})
            members.append({"generation": member.generation, "age": member.age})
        return tensors, {"step": self.step, "members": members}

    def restore(self, tensors: dict[str, torch.Tensor], facts: dict[str, Any]) -> None:
        self.rater.load_state_dict({k[len("rater.") :]: v for k, v in tensors.items() if k.startswith("rater.")})
        self.step = facts["step"]
        for i, info in enumerate(facts["members"]):
            parts: dict[str, dict[str, torch.Tensor]] = {"params": {}, "adam": {}, "outer": {}}
            prefix = f"member.{i}."
            for key, value in tensors.items():
                if key.startswith(prefix):
                    kind, name = key[len(prefix) :].split(".", 1)
                    parts[kind][name] = value
            self.members[i] = InnerMember(
                detached(parts["params"], requires_grad=True),
                parts["adam"],
                generation=info["generation"],
                age=info["age"],
                outer=parts["outer"],
            )

    @torch.no_grad()
    def score_rows(self, rows: torch.Tensor, batch_size: int = 64) -> np.ndarray:
        was = self.rater.training
        self.rater.eval()
        scores = [self.rater(rows[i : i + batch_size, 1:]).numpy() for i in range(0, len(rows), batch_size)]
        self.rater.train(was)
        return np.concatenate(scores) if scores else np.zeros(0)


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Rank correlation; 0 when either side is constant (an untrained rater scores everything alike)."""
    from scipy.stats import spearmanr

    if np.ptp(a) == 0 or np.ptp(b) == 0:
        return 0.0
    value = spearmanr(a, b).statistic
    return float(value) if not math.isnan(value) else 0.0
