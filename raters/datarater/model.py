"""The rater: a bidirectional (non-causal) transformer over a token sequence, mean-pooled to one score.

It reuses the proxy's blocks with causal masking off and padding masked out of attention and pooling.
The score is unbounded; what a batch's weights are is decided by ``weights.BatchSoftmaxWeights``. The
output layer starts at zero, so an untrained rater gives every sequence the same weight (plain training)
and any ranking it has later was meta-learned.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from curation.proxy.config import ProxyConfig
from curation.proxy.model import Block, rope_tables


class RaterTransformer(nn.Module):
    def __init__(self, cfg: ProxyConfig, pad_id: int, seed: int = 0):
        super().__init__()
        self.cfg, self.pad_id = cfg, pad_id
        with torch.random.fork_rng(devices=[]):
            self.embed = nn.Embedding(cfg.vocab_size, cfg.d_model)
            self.blocks = nn.ModuleList(Block(cfg, causal=False) for _ in range(cfg.n_layers))
            self.norm_out = nn.LayerNorm(cfg.d_model, bias=False)
            self.head = nn.Linear(cfg.d_model, 1)
        cos, sin = rope_tables(cfg.seq_len, cfg.d_model // cfg.n_heads, cfg.rope_base)
        self.register_buffer("rope_cos", cos, persistent=False)
        self.register_buffer("rope_sin", sin, persistent=False)
        generator = torch.Generator().manual_seed(seed)
        residual_std = 0.02 / math.sqrt(2 * cfg.n_layers)
        with torch.no_grad():
            for name, param in self.named_parameters():
                if name.startswith("head."):
                    param.zero_()  # every score starts equal: uniform weights, i.e. ordinary training
                elif param.dim() == 1:
                    param.fill_(1.0)
                else:
                    std = residual_std if name.endswith(("out.weight", "down.weight")) else 0.02
                    param.copy_(torch.randn(param.shape, generator=generator) * std)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """One score per sequence of ``tokens`` [B, T]; padding is ignored."""
        keep = tokens != self.pad_id
        x = self.embed(tokens)
        for block in self.blocks:
            x = block(x, (self.rope_cos, self.rope_sin), math_attention=False, key_mask=keep)
        x = self.norm_out(x)
        weights = keep.unsqueeze(-1).to(x.dtype)
        pooled = (x * weights).sum(dim=1) / weights.sum(dim=1).clamp_min(1.0)
        return self.head(pooled).squeeze(-1)
