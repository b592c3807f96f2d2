"""Settings of a mixture (``MixConfig``) and of a top selection (``TopConfig``), checked on construction."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from curation.errors import ConfigError

OTHERS = "*"  # the target name that pools every value not named by another target
ON_SHORT = ("repeat", "fill")
SHARE_TOLERANCE = 1e-3


def parse_targets(specs: list[str]) -> dict[str, float]:
    """``["c4=0.6", "wiki=40%"]`` -> ``{"c4": 0.6, "wiki": 0.4}`` (order kept; checked by ``MixConfig``)."""
    targets: dict[str, float] = {}
    for spec in specs:
        name, sep, share = spec.rpartition("=")
        if not sep or not name:
            raise ConfigError(f"--target {spec!r}: expected NAME=SHARE, e.g. c4=0.6 or wiki=40%")
        try:
            value = float(share[:-1]) / 100 if share.endswith("%") else float(share)
        except ValueError:
            raise ConfigError(f"--target {spec!r}: {share!r} is not a number") from None
        if name in targets:
            raise ConfigError(f"--target {name!r} is given twice")
        targets[name] = value
    return targets


def _token_budget(value: int | str, option: str) -> int:
    if isinstance(value, str):
        from curation.proxy.config import parse_token_count

        return parse_token_count(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{option} must be a positive token count, not {value!r}")
    return value


@dataclass(frozen=True)
class MixConfig:
    """Target shares of the values of ``column`` under a budget of ``tokens``.

    ``targets`` maps a value to its share of the budget; the shares must sum to 1 (within 0.001; they are
    then normalised). A value no target names gets share 0: its documents are dropped to rejects/,
    unless the target ``*`` is given, which pools all such values under one share.
    ``on_short``: what to do when a value has fewer tokens than its quota; ``repeat`` its documents (whole
    passes, then a seeded partial pass; copies get ids ``ID#r1``, ``ID#r2``, ...) so every share is met,
    or ``fill``: no repeats; its shortfall goes to the values with tokens to spare, in proportion to
    their shares (the budget is met if the corpus holds enough, the shares then are not).
    """

    targets: dict[str, float]
    tokens: int | str
    column: str = "source"
    seed: int = 0
    tokenizer: str = "bytes"
    on_short: str = "repeat"
    attributes: tuple[str, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        object.__setattr__(self, "tokens", _token_budget(self.tokens, "--tokens"))
        object.__setattr__(self, "attributes", tuple(str(a) for a in self.attributes))
        if self.on_short not in ON_SHORT:
            raise ConfigError(f"--on-short must be one of {', '.join(ON_SHORT)}, not {self.on_short!r}")
        if not self.targets:
            raise ConfigError("give at least one --target NAME=SHARE")
        for name, share in self.targets.items():
            if not isinstance(share, (int, float)) or not math.isfinite(share) or share < 0:
                raise ConfigError(f"--target {name}={share}: a share must be a number >= 0")
        total = sum(self.targets.values())
        if abs(total - 1) > SHARE_TOLERANCE:
            given = ", ".join(f"{name}={share:g}" for name, share in self.targets.items())
            raise ConfigError(f"--target shares must sum to 1, not {total:.4g} ({given})")
        object.__setattr__(self, "targets", {name: share / total for name, share in self.targets.items()})


@dataclass(frozen=True)
class TopConfig:
    """Keep the best documents by ``score``: a ``fraction`` of them, ``k`` of them, or as many as fit in
    ``tokens`` (counted with ``tokenizer``). Higher is better unless ``lower_is_better``."""

    score: str
    fraction: float | None = None
    k: int | None = None
    tokens: int | str | None = None
    lower_is_better: bool = False
    tokenizer: str = "bytes"

    def __post_init__(self) -> None:
        given = [name for name in ("fraction", "k", "tokens") if getattr(self, name) is not None]
        if len(given) != 1:
            raise ConfigError("give exactly one of --fraction, --k and --tokens")
        if self.fraction is not None and not 0 < self.fraction <= 1:
            raise ConfigError(f"--fraction must be in (0, 1], not {self.fraction}")
        if self.k is not None and (isinstance(self.k, bool) or not isinstance(self.k, int) or self.k < 1):
            raise ConfigError(f"--k must be a positive number of documents, not {self.k!r}")
        if self.tokens is not None:
            object.__setattr__(self, "tokens", _token_budget(self.tokens, "--tokens"))
