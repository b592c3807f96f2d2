"""A population of same-shape proxy LMs as one batched model.

Meta-rater's proxy runs, ``curate validate``'s training sets x seeds and a rater's sweep train many proxies
that share a shape and differ only in data, seed or weighting. ``PopulationLM`` stacks their parameters along
a leading member axis ([P, ...]) so that one forward and one backward serve every member: each matrix product
of ``ProxyLM`` becomes a batched one (``bmm``), attention runs over [P x B] rows, and the embedding table of
member p is row block p of one [P x V, D] table. Members never mix: member p's loss depends on member p's
parameters only, so the gradient of the summed member losses w.r.t. member p's slice is exactly member p's
own gradient, and an elementwise optimiser (AdamW) on the stacked tensors is member p's AdamW on its slice.

Member p is built by ``ProxyLM(cfg, seed=seeds[p])`` and read back as one (``member_state``), so a
population starts from, and ends in, the same weights a proxy trained alone would have.

How many members go into one batch is a property of the machine (``members_per_batch``): on a GPU a
tiny model is bound by kernel launches and a batch should hold as many members as memory allows; on a CPU
one member's matrix products already run near the cores' peak, and batching measured no faster
(``benchmarks/results/proxy_population.md``), so the CPU default is one member per batch.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from curation.errors import ConfigError
from curation.proxy.config import ProxyConfig
from curation.proxy.model import ProxyLM, apply_rope, attention, rope_tables, token_losses_from_logits

LAYER_NORM_EPS = 1e-5  # nn.LayerNorm's default, as in ProxyLM
# CPU: one member per batch unless asked otherwise. On 2 cores (benchmarks/results/proxy_population.md) a
# tiny proxy's step already runs its matrix products near the cores' peak, batches of 2-8 members ran whole
# runs at 0.9-1.0x the speed of one at a time, and a batch of one is train_proxy itself.
CPU_MEMBERS_PER_BATCH = 1
# GPU: share of the free device memory a population may plan for, and the most members in one batch.
GPU_MEMORY_SHARE = 0.5
MAX_MEMBERS_PER_BATCH = 256


class PopulationLM(nn.Module):
    """P ``ProxyLM``s of one config, parameters stacked along dim 0, run in one batched pass."""

    def __init__(self, cfg: ProxyConfig, members: list[dict[str, torch.Tensor]]):
        super().__init__()
        if not members:
            raise ConfigError("a population needs at least one member")
        self.cfg = cfg
        self.names = list(members[0])
        self.stacked = nn.ParameterList(
            nn.Parameter(torch.stack([state[name].detach() for state in members]).contiguous()) for name in self.names
        )
        if cfg.positions == "rope":
            cos, sin = rope_tables(cfg.seq_len, cfg.d_model // cfg.n_heads, cfg.rope_base)
            self.register_buffer("rope_cos", cos, persistent=False)
            self.register_buffer("rope_sin", sin, persistent=False)

    @classmethod
    def from_seeds(cls, cfg: ProxyConfig, seeds: list[int]) -> PopulationLM:
        """Member p initialised exactly as ``ProxyLM(cfg, seed=seeds[p])``."""
        return cls(cfg, [dict(ProxyLM(cfg, seed=seed).named_parameters()) for seed in seeds])

    @property
    def size(self) -> int:
        return int(self.stacked[0].shape[0])

    def params(self) -> dict[str, torch.Tensor]:
        return dict(zip(self.names, self.stacked, strict=True))

    def member_state(self, index: int) -> dict[str, torch.Tensor]:
        """Member ``index``'s parameters under ``ProxyLM``'s names (copies, detached)."""
        return {name: p[index].detach().clone() for name, p in zip(self.names, self.stacked, strict=True)}

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """Logits [P, B, T, vocab] for input tokens [P, B, T]: member p reads tokens[p]."""
        cfg, p = self.cfg, self.params()
        members, batch, t = tokens.shape
        if members != self.size:
            raise ValueError(f"tokens for {members} members given to a population of {self.size}")
        if t > cfg.seq_len:
            raise ValueError(f"sequence of {t} tokens is longer than the model's seq_len {cfg.seq_len}")
        d, heads = cfg.d_model, cfg.n_heads
        table = p["embed.weight"]  # [P, V, D]
        offsets = torch.arange(members, device=tokens.device)[:, None, None] * cfg.vocab_size
        x = F.embedding(tokens + offsets, table.reshape(-1, d))  # [P, B, T, D]
        rope = None
        if cfg.positions == "learned":
            x = x + p["positions.weight"][:, None, :t]
        else:
            rope = (self.rope_cos, self.rope_sin)
        x = x.reshape(members, batch * t, d)

        def norm(z: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
            return F.layer_norm(z, (d,), eps=LAYER_NORM_EPS) * scale[:, None, :]

        def linear(z: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:  # nn.Linear(bias=False) per member
            return torch.bmm(z, weight.transpose(1, 2))

        for i in range(cfg.n_layers):
            w = lambda name, i=i: p[f"blocks.{i}.{name}"]  # noqa: E731
            q, k, v = linear(norm(x, w("norm_attn.weight")), w("qkv.weight")).split(d, dim=-1)
            q, k, v = (z.reshape(members * batch, t, heads, d // heads).transpose(1, 2) for z in (q, k, v))
            if rope is not None:
                q, k = apply_rope(q, *rope), apply_rope(k, *rope)
            attended = attention(q, k, v, math_attention=False).transpose(1, 2).reshape(members, batch * t, d)
            x = x + linear(attended, w("out.weight"))
            x = x + linear(F.gelu(linear(norm(x, w("norm_mlp.weight")), w("up.weight"))), w("down.weight"))
        logits = torch.bmm(norm(x, p["norm_out.weight"]), table.transpose(1, 2))  # tied output embedding
        return logits.view(members, batch, t, cfg.vocab_size)

    def token_losses(self, rows: torch.Tensor, pad_id: int) -> torch.Tensor:
        """Loss in nats of every target of ``rows`` [P, B, T+1]; 0 at padding."""
        logits = self(rows[..., :-1])
        return token_losses_from_logits(logits.flatten(0, 1), rows[..., 1:].flatten(0, 1), pad_id).view_as(
            rows[..., 1:]
        )


def member_bytes(cfg: ProxyConfig, batch_size: int) -> int:
    """A rough upper bound of one member's training memory in bytes (fp32): parameters with their gradient
    and two AdamW moments, plus the activations a step keeps for backward (per layer: the residual stream,
    norms, q/k/v, attention output and the MLP's hidden layer twice; then the logits three times over)."""
    tokens = batch_size * cfg.seq_len
    per_layer = tokens * (10 * cfg.d_model + 2 * cfg.mlp_ratio * cfg.d_model)
    activations = cfg.n_layers * per_layer + 3 * tokens * cfg.vocab_size
    return 4 * (4 * cfg.num_parameters + activations)


def members_per_batch(cfg: ProxyConfig, batch_size: int, device: torch.device, members: int) -> int:
    """How many of ``members`` proxies to train in one batched model on ``device`` (at least 1)."""
    if members < 1:
        return 1
    if device.type == "cuda":  # a small model is bound by kernel launches: as many members as memory allows
        free, _ = torch.cuda.mem_get_info(device)
        fit = int(GPU_MEMORY_SHARE * free // member_bytes(cfg, batch_size))
    else:
        fit = CPU_MEMBERS_PER_BATCH
    return max(1, min(members, fit, MAX_MEMBERS_PER_BATCH))
