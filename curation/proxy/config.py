"""Proxy model sizes and training settings.

The presets span the sizes the methods need: ``tiny`` (~0.1M parameters) for tests and DataRater's
inner models on a laptop, up to ``large`` (~100M) for GPU validation runs. Counts below are for the
byte-level vocabulary (258 ids); ``ProxyConfig.num_parameters`` gives the exact figure for any config.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any, Literal

from curation.errors import ConfigError


@dataclass(frozen=True)
class ProxyConfig:
    """Shape of a proxy LM: a pre-norm causal transformer with tied input/output embeddings."""

    vocab_size: int = 258
    seq_len: int = 256
    d_model: int = 128
    n_layers: int = 4
    n_heads: int = 4
    mlp_ratio: int = 4
    positions: Literal["rope", "learned"] = "rope"
    rope_base: float = 10000.0

    def __post_init__(self) -> None:
        for name in ("vocab_size", "seq_len", "d_model", "n_layers", "n_heads", "mlp_ratio"):
            if getattr(self, name) < 1:
                raise ConfigError(f"proxy {name} must be at least 1")
        if self.d_model % self.n_heads:
            raise ConfigError(f"proxy d_model={self.d_model} is not divisible by n_heads={self.n_heads}")
        if self.positions == "rope" and (self.d_model // self.n_heads) % 2:
            raise ConfigError("RoPE needs an even head dimension (d_model / n_heads)")
        if self.positions not in ("rope", "learned"):
            raise ConfigError(f"proxy positions must be 'rope' or 'learned', not {self.positions!r}")

    @property
    def num_parameters(self) -> int:
        d, hidden = self.d_model, self.d_model * self.mlp_ratio
        per_block = 2 * d + 3 * d * d + d * d + 2 * d * hidden  # two LayerNorm scales, qkv, out, MLP (no biases)
        positions = self.seq_len * d if self.positions == "learned" else 0
        return self.vocab_size * d + positions + self.n_layers * per_block + d

    def with_vocab(self, vocab_size: int) -> ProxyConfig:
        return replace(self, vocab_size=vocab_size)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, payload: dict[str, Any]) -> ProxyConfig:
        unknown = set(payload) - set(cls.__dataclass_fields__)
        if unknown:
            raise ConfigError(f"unknown proxy config keys: {sorted(unknown)}")
        return cls(**payload)


PRESETS: dict[str, ProxyConfig] = {
    "tiny": ProxyConfig(d_model=64, n_layers=2, n_heads=2),  # ~0.12M parameters
    "small": ProxyConfig(d_model=128, n_layers=4, n_heads=4),  # ~0.82M
    "medium": ProxyConfig(d_model=384, n_layers=6, n_heads=6, seq_len=512),  # ~10.7M
    "large": ProxyConfig(d_model=768, n_layers=14, n_heads=12, seq_len=1024),  # ~99.5M
}


# Validation's peak learning rate per preset when none is given (benchmarks/results/proxy_noise.md: 300k tokens,
# 5 seeds on the same text). At 3e-3, small had a loss spike in 4 of 5 runs, and 4-12x the seed-to-seed spread of
# final bpb at 1e-3, which was also 0.3-0.4 bpb better on average. tiny was stable at 3e-3 and 0.4 bpb better
# there than at 1e-3. medium and large were not measured and take the lower rate.
VALIDATION_LR = {"tiny": 3e-3}
VALIDATION_LR_LARGER = 1e-3


def validation_lr(size: str) -> float:
    """The default peak learning rate of a validation proxy of preset ``size``."""
    return VALIDATION_LR.get(size, VALIDATION_LR_LARGER)


def preset(name: str) -> ProxyConfig:
    try:
        return PRESETS[name]
    except KeyError:
        raise ConfigError(f"unknown proxy size {name!r}; choose one of {', '.join(PRESETS)}") from None


@dataclass(frozen=True)
class TrainConfig:
    """How a proxy is trained: a token budget, AdamW, linear warmup then cosine decay, gradient clipping."""

    tokens: int = 1_000_000
    batch_size: int = 16
    lr: float = 3e-3
    min_lr_ratio: float = 0.1
    warmup_fraction: float = 0.05
    weight_decay: float = 0.1
    betas: tuple[float, float] = (0.9, 0.95)
    grad_clip: float = 1.0
    evaluations: int = 10  # held-out evaluations spread over the run (plus one before the first step)
    seed: int = 0
    precision: Literal["auto", "fp32", "bf16", "fp16"] = "auto"  # auto: bf16/fp16 autocast on GPU, fp32 on CPU

    def __post_init__(self) -> None:
        if self.tokens < 1:
            raise ConfigError("the token budget must be positive")
        if self.batch_size < 1:
            raise ConfigError("batch_size must be at least 1")
        if not 0 <= self.warmup_fraction < 1:
            raise ConfigError("warmup_fraction must be in [0, 1)")
        if self.evaluations < 1:
            raise ConfigError("evaluations must be at least 1")
        if self.precision not in ("auto", "fp32", "bf16", "fp16"):
            raise ConfigError(f"precision must be auto, fp32, bf16 or fp16, not {self.precision!r}")

    def steps(self, seq_len: int) -> int:
        """Optimizer steps that spend the budget: each step sees batch_size x seq_len target tokens."""
        return max(1, self.tokens // (self.batch_size * seq_len))

    def to_dict(self) -> dict[str, Any]:
        payload = asdict(self)
        payload["betas"] = list(self.betas)
        return payload


def parse_token_count(text: str) -> int:
    """``2M``, ``500k``, ``1.5G`` or a plain integer."""
    value = text.strip().lower().replace("_", "").replace(",", "")
    scale = {"k": 10**3, "m": 10**6, "g": 10**9, "b": 10**9}.get(value[-1:], 1)
    number = value[:-1] if scale != 1 else value
    try:
        count = int(float(number) * scale)
    except ValueError:
        raise ConfigError(f"not a token count: {text!r} (examples: 500k, 2M, 1000000)") from None
    if count < 1:
        raise ConfigError(f"token count must be positive: {text!r}")
    return count
