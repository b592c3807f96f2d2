"""Deciding a mixture on the driver from cheap columns only (id, value, tokens): no text is held.

Each target value's documents are put in a seeded order, a hash of (seed, id), so the choice of a
document depends only on the seed and its own id (stable across reshardings, computable anywhere).
A value's quota is its share of the budget (largest-remainder rounding, so the quotas sum to the
budget exactly). Down-sampling keeps the longest prefix of that order whose tokens fit the quota:
the selection is never above the quota and short of it by less than one document. Up-sampling
(``repeat``) takes every document ``quota // available`` times, then a prefix of the same order for
the remainder. ``fill`` gives the shortfall of short values to the others instead (water-filling).
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field

import numpy as np

from curation.mix.config import OTHERS


def split_budget(budget: int, shares: list[float]) -> list[int]:
    """Integer quotas proportional to ``shares`` summing to ``budget`` (largest remainder; ties: first)."""
    total = sum(shares)
    if budget <= 0 or total <= 0:
        return [0] * len(shares)
    raw = [budget * share / total for share in shares]
    quotas = [math.floor(r) for r in raw]
    for index in sorted(range(len(raw)), key=lambda i: (-(raw[i] - quotas[i]), i))[: budget - sum(quotas)]:
        quotas[index] += 1
    return quotas


def sampling_keys(ids: list[str], seed: int) -> np.ndarray:
    """A 64-bit hash of (seed, id) per document: its place in the seeded order."""
    prefix = f"{seed}\x00".encode()
    return np.fromiter(
        (int.from_bytes(hashlib.blake2b(prefix + i.encode(), digest_size=8).digest(), "big") for i in ids),
        dtype=np.uint64,
        count=len(ids),
    )


def fill_allotments(quotas: list[int], available: list[int], shares: list[float]) -> list[int]:
    """``fill``: a value short of its quota gets what it has; the shortfall is split over the values with
    tokens to spare in proportion to their shares, again and again until none is short or none can take more."""
    allotted = list(quotas)
    settled: set[int] = set()
    while True:
        short = [g for g in range(len(quotas)) if g not in settled and available[g] < allotted[g]]
        if not short:
            return allotted
        excess = sum(allotted[g] - available[g] for g in short)
        for g in short:
            allotted[g] = available[g]
            settled.add(g)
        spare = [g for g in range(len(quotas)) if g not in settled and shares[g] > 0]
        if not spare:
            return allotted
        for g, extra in zip(spare, split_budget(excess, [shares[g] for g in spare]), strict=True):
            allotted[g] += extra


def copies_in_order(tokens: np.ndarray, allotted: int, repeat: bool) -> np.ndarray:
    """Copies of each document (given in the seeded order) within ``allotted`` tokens: 0 dropped, 1 kept,
    n > 1 kept and repeated n - 1 times."""
    available = int(tokens.sum())
    if available <= allotted:
        copies = np.ones(len(tokens), dtype=np.int64)
        if repeat and available > 0 and allotted > available:
            passes, remainder = divmod(allotted, available)
            copies[:] = passes
            copies[: int(np.searchsorted(np.cumsum(tokens), remainder, side="right"))] += 1
        return copies
    copies = np.zeros(len(tokens), dtype=np.int64)
    copies[: int(np.searchsorted(np.cumsum(tokens), allotted, side="right"))] = 1
    return copies


@dataclass
class GroupPlan:
    """One target (a value, or ``*`` for the values no target names), or a value no target names."""

    name: str
    target_share: float
    values: list[str | None]
    quota_tokens: int = 0
    allotted_tokens: int = 0
    documents_available: int = 0
    tokens_available: int = 0
    documents_selected: int = 0
    tokens_selected: int = 0
    documents_repeated: int = 0
    tokens_repeated: int = 0
    targeted: bool = True

    @property
    def tokens_output(self) -> int:
        return self.tokens_selected + self.tokens_repeated

    def summary(self, total_output: int) -> dict:
        entry = {
            "target_share": self.target_share,
            "quota_tokens": self.quota_tokens,
            "documents_available": self.documents_available,
            "tokens_available": self.tokens_available,
            "documents_selected": self.documents_selected,
            "tokens_selected": self.tokens_selected,
            "documents_repeated": self.documents_repeated,
            "tokens_repeated": self.tokens_repeated,
            "tokens_output": self.tokens_output,
            "shortfall_tokens": max(0, self.quota_tokens - self.tokens_output),
            "achieved_share": self.tokens_output / total_output if total_output else 0.0,
            "targeted": self.targeted,
        }
        if self.allotted_tokens != self.quota_tokens:
            entry["allotted_tokens"] = self.allotted_tokens
        if self.name == OTHERS:
            entry["values"] = self.values
        return entry


@dataclass
class MixPlan:
    copies: np.ndarray  # per document in corpus order: 0 rejected, 1 kept, n kept + (n - 1) repeats
    group_of: np.ndarray  # per document: index into groups
    groups: list[GroupPlan] = field(default_factory=list)

    @property
    def tokens_output(self) -> int:
        return sum(g.tokens_output for g in self.groups)


def plan_mixture(
    ids: list[str],
    tokens: np.ndarray,
    value_codes: np.ndarray,
    values: list[str | None],
    targets: dict[str, float],
    budget: int,
    seed: int,
    on_short: str,
) -> MixPlan:
    """``value_codes[i]`` indexes ``values`` (the distinct values of the column; None is null)."""
    named = [name for name in targets if name != OTHERS]
    groups = [GroupPlan(name, targets[name], [name]) for name in named]
    group_of_value = {}
    for code, value in enumerate(values):
        if value in named:
            group_of_value[code] = named.index(value)
    if OTHERS in targets:
        others = [v for v in values if v not in named]
        groups.append(GroupPlan(OTHERS, targets[OTHERS], sorted(others, key=lambda v: (v is None, v or ""))))
        for code in range(len(values)):
            group_of_value.setdefault(code, len(groups) - 1)
    for code in sorted(
        (c for c in range(len(values)) if c not in group_of_value), key=lambda c: (values[c] is None, values[c] or "")
    ):
        group_of_value[code] = len(groups)
        groups.append(GroupPlan("null" if values[code] is None else values[code], 0.0, [values[code]], targeted=False))
    lookup = np.array([group_of_value[c] for c in range(len(values))], dtype=np.int64)
    group_of = lookup[value_codes] if len(value_codes) else np.zeros(0, dtype=np.int64)

    members = [np.flatnonzero(group_of == g) for g in range(len(groups))]
    for group, index in zip(groups, members, strict=True):
        group.documents_available = len(index)
        group.tokens_available = int(tokens[index].sum())
    targeted = [g for g in range(len(groups)) if groups[g].targeted]
    quotas = split_budget(budget, [groups[g].target_share for g in targeted])
    for g, quota in zip(targeted, quotas, strict=True):
        groups[g].quota_tokens = groups[g].allotted_tokens = quota
    if on_short == "fill":
        allotted = fill_allotments(
            quotas, [groups[g].tokens_available for g in targeted], [groups[g].target_share for g in targeted]
        )
        for g, tokens_allotted in zip(targeted, allotted, strict=True):
            groups[g].allotted_tokens = tokens_allotted

    keys = sampling_keys(ids, seed)
    copies = np.zeros(len(ids), dtype=np.int64)
    for group, index in zip(groups, members, strict=True):
        if not group.targeted or len(index) == 0:
            continue
        order = index[sorted(range(len(index)), key=lambda j: (keys[index[j]], ids[index[j]]))]
        chosen = copies_in_order(tokens[order], group.allotted_tokens, repeat=on_short == "repeat")
        copies[order] = chosen
        picked = chosen > 0
        group.documents_selected = int(picked.sum())
        group.tokens_selected = int(tokens[order][picked].sum())
        group.documents_repeated = int((chosen[picked] - 1).sum())
        group.tokens_repeated = int(((chosen - 1).clip(min=0) * tokens[order]).sum())
    return MixPlan(copies, group_of, groups)
