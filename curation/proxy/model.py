"""The proxy LM: a small pre-norm causal transformer with tied embeddings, readable top to bottom.

Two ways to run it:
- as an ordinary ``nn.Module`` (``forward``/``token_losses``), attention through PyTorch's fused
  ``scaled_dot_product_attention`` for speed;
- in functional mode for meta-learning (``functional_sequence_losses``): parameters passed explicitly
  through ``torch.func.functional_call`` and attention written out as plain matrix products
  (``math_attention=True``), because fused attention kernels have no double backward and DataRater
  differentiates through inner updates. ``remat_blocks=True`` there recomputes each block's activations
  when they are needed instead of keeping them (non-reentrant ``torch.utils.checkpoint``).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from curation.proxy.config import ProxyConfig


def rope_tables(seq_len: int, head_dim: int, base: float) -> tuple[torch.Tensor, torch.Tensor]:
    inverse = 1.0 / (base ** (torch.arange(0, head_dim, 2, dtype=torch.float64) / head_dim))
    angles = torch.outer(torch.arange(seq_len, dtype=torch.float64), inverse)
    return angles.cos().float(), angles.sin().float()


def apply_rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotate pairs (x[2i], x[2i+1]) of every head by position-dependent angles. x: [B, H, T, D]."""
    t = x.shape[-2]
    cos, sin = cos[:t].to(x.dtype), sin[:t].to(x.dtype)
    even, odd = x[..., 0::2], x[..., 1::2]
    rotated = torch.stack((even * cos - odd * sin, even * sin + odd * cos), dim=-1)
    return rotated.flatten(-2)


def attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    math_attention: bool,
    causal: bool = True,
    key_mask: torch.Tensor | None = None,
) -> torch.Tensor:
    """Causal (LM) or bidirectional (rater) attention; ``key_mask`` [B, T] marks the keys that may be attended."""
    mask = None
    if key_mask is not None:
        mask = key_mask[:, None, None, :]
    if not math_attention:
        if causal and mask is not None:  # SDPA takes one mask: fold the causal triangle into it
            t = q.shape[-2]
            mask = mask & torch.ones(t, t, dtype=torch.bool, device=q.device).tril()
            return F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        return F.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=causal and mask is None)
    t = q.shape[-2]
    scores = (q @ k.transpose(-2, -1)) / math.sqrt(q.shape[-1])
    if causal:
        scores = scores.masked_fill(torch.ones(t, t, dtype=torch.bool, device=q.device).triu(1), float("-inf"))
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    return scores.softmax(dim=-1) @ v


class Block(nn.Module):
    def __init__(self, cfg: ProxyConfig, causal: bool = True):
        super().__init__()
        self.n_heads = cfg.n_heads
        self.causal = causal
        self.norm_attn = nn.LayerNorm(cfg.d_model, bias=False)
        self.qkv = nn.Linear(cfg.d_model, 3 * cfg.d_model, bias=False)
        self.out = nn.Linear(cfg.d_model, cfg.d_model, bias=False)
        self.norm_mlp = nn.LayerNorm(cfg.d_model, bias=False)
        self.up = nn.Linear(cfg.d_model, cfg.mlp_ratio * cfg.d_model, bias=False)
        self.down = nn.Linear(cfg.mlp_ratio * cfg.d_model, cfg.d_model, bias=False)

    def forward(
        self,
        x: torch.Tensor,
        rope: tuple[torch.Tensor, torch.Tensor] | None,
        math_attention: bool,
        key_mask: torch.Tensor | None = None,
    ):
        b, t, d = x.shape
        q, k, v = self.qkv(self.norm_attn(x)).split(d, dim=-1)
        q, k, v = (z.view(b, t, self.n_heads, d // self.n_heads).transpose(1, 2) for z in (q, k, v))
        if rope is not None:
            q, k = apply_rope(q, *rope), apply_rope(k, *rope)
        attended = attention(q, k, v, math_attention, self.causal, key_mask).transpose(1, 2).reshape(b, t, d)
        x = x + self.out(attended)
        return x + self.down(F.gelu(self.up(self.norm_mlp(x))))


def checkpointed_block(
    block: Block, x: torch.Tensor, rope: tuple[torch.Tensor, torch.Tensor] | None, math_attention: bool
) -> torch.Tensor:
    """``block(x, ...)`` whose activations are recomputed in backward rather than kept.

    The block's parameters go to the checkpoint as explicit inputs. Under ``functional_call`` they are the
    caller's tensors only while the forward runs; a recomputation that read them from the module later would
    use the module's own weights, and the (meta-)gradient would be silently wrong (a test checks it is not).
    The non-reentrant variant supports ``autograd.grad`` and ``create_graph=True`` through the recomputation.
    """
    from torch.func import functional_call
    from torch.utils.checkpoint import checkpoint

    names, tensors = zip(*block.named_parameters(), strict=True)

    def run(x: torch.Tensor, *tensors: torch.Tensor) -> torch.Tensor:
        return functional_call(block, dict(zip(names, tensors, strict=True)), (x, rope, math_attention))

    return checkpoint(run, x, *tensors, use_reentrant=False)


class ProxyLM(nn.Module):
    def __init__(self, cfg: ProxyConfig, seed: int = 0):
        super().__init__()
        self.cfg = cfg
        with torch.random.fork_rng(devices=[]):  # PyTorch's default init draws from the global RNG; ours does not
            self.embed = nn.Embedding(cfg.vocab_size, cfg.d_model)
            self.positions = nn.Embedding(cfg.seq_len, cfg.d_model) if cfg.positions == "learned" else None
            self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layers))
            self.norm_out = nn.LayerNorm(cfg.d_model, bias=False)
        if cfg.positions == "rope":
            cos, sin = rope_tables(cfg.seq_len, cfg.d_model // cfg.n_heads, cfg.rope_base)
            self.register_buffer("rope_cos", cos, persistent=False)
            self.register_buffer("rope_sin", sin, persistent=False)
        self.reset_parameters(seed)

    def reset_parameters(self, seed: int) -> None:
        """GPT-2's initialisation from a private generator: same seed, same weights, global RNG untouched."""
        generator = torch.Generator().manual_seed(seed)
        residual_std = 0.02 / math.sqrt(2 * self.cfg.n_layers)
        with torch.no_grad():
            for name, param in self.named_parameters():
                if param.dim() == 1:
                    param.fill_(1.0)  # LayerNorm scales
                    continue
                std = residual_std if name.endswith(("out.weight", "down.weight")) else 0.02
                param.copy_(torch.randn(param.shape, generator=generator) * std)

    def forward(self, tokens: torch.Tensor, math_attention: bool = False, remat_blocks: bool = False) -> torch.Tensor:
        """Logits [B, T, vocab] for input tokens [B, T] (T <= seq_len)."""
        t = tokens.shape[1]
        if t > self.cfg.seq_len:
            raise ValueError(f"sequence of {t} tokens is longer than the model's seq_len {self.cfg.seq_len}")
        x = self.embed(tokens)
        rope = None
        if self.positions is not None:
            x = x + self.positions.weight[:t]
        else:
            rope = (self.rope_cos, self.rope_sin)
        for block in self.blocks:
            x = checkpointed_block(block, x, rope, math_attention) if remat_blocks else block(x, rope, math_attention)
        return self.norm_out(x) @ self.embed.weight.T  # tied output embedding

    def token_losses(self, rows: torch.Tensor, pad_id: int, math_attention: bool = False) -> torch.Tensor:
        """Loss in nats of every target in ``rows`` [B, T+1] (inputs rows[:, :-1], targets rows[:, 1:]); 0 at padding."""
        return token_losses_from_logits(self(rows[:, :-1], math_attention), rows[:, 1:], pad_id)

    def sequence_losses(self, rows: torch.Tensor, pad_id: int, math_attention: bool = False) -> torch.Tensor:
        """Mean loss per row [B]: what DataRater weights."""
        return mean_per_row(self.token_losses(rows, pad_id, math_attention), rows, pad_id)


def token_losses_from_logits(logits: torch.Tensor, targets: torch.Tensor, pad_id: int) -> torch.Tensor:
    if logits.dtype in (torch.float16, torch.bfloat16):
        logits = logits.float()  # the loss in full precision under autocast
    losses = F.cross_entropy(logits.flatten(0, 1), targets.flatten(), ignore_index=pad_id, reduction="none")
    return losses.view_as(targets)


def mean_per_row(losses: torch.Tensor, rows: torch.Tensor, pad_id: int) -> torch.Tensor:
    counts = (rows[:, 1:] != pad_id).sum(dim=1).clamp_min(1)
    return losses.sum(dim=1) / counts


def functional_sequence_losses(
    model: ProxyLM, params: dict[str, torch.Tensor], rows: torch.Tensor, pad_id: int, remat_blocks: bool = False
) -> torch.Tensor:
    """``model.sequence_losses`` with explicit parameters, differentiable twice (meta-learning)."""
    from torch.func import functional_call

    options = {"math_attention": True, "remat_blocks": remat_blocks}
    logits = functional_call(model, params, (rows[:, :-1],), options)
    return mean_per_row(token_losses_from_logits(logits, rows[:, 1:], pad_id), rows, pad_id)
