"""Adam as plain tensor operations on a dict of parameters, so gradients flow through the update.

The inner models of DataRater are trained with Adam and the meta-gradient is taken through K of those
updates; ``torch.optim`` updates in place outside autograd, so it cannot be used there.

One change from textbook Adam, needed for second-order gradients: the denominator is
``sqrt(v_hat + eps_root) + eps`` (optax's ``eps_root``). With ``eps_root = 0`` a parameter whose gradient is
exactly zero (an unused embedding row) has ``sqrt(0)``, whose derivative is infinite, and the meta-gradient
becomes NaN.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class AdamSettings:
    lr: float = 1e-3
    betas: tuple[float, float] = (0.9, 0.95)
    eps: float = 1e-8
    eps_root: float = 1e-12
    weight_decay: float = 0.0


def adam_init(params: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    state = {"step": torch.zeros((), dtype=torch.float64)}
    for name, p in params.items():
        state[f"m.{name}"] = torch.zeros_like(p)
        state[f"v.{name}"] = torch.zeros_like(p)
    return state


def adam_step(
    params: dict[str, torch.Tensor],
    grads: dict[str, torch.Tensor],
    state: dict[str, torch.Tensor],
    settings: AdamSettings,
) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """One AdamW update; returns new parameters and state without modifying the inputs."""
    b1, b2 = settings.betas
    step = state["step"] + 1
    correction1 = 1 - b1 ** step.item()
    correction2 = 1 - b2 ** step.item()
    new_params, new_state = {}, {"step": step}
    for name, p in params.items():
        g = grads[name]
        m = b1 * state[f"m.{name}"] + (1 - b1) * g
        v = b2 * state[f"v.{name}"] + (1 - b2) * g * g
        update = (m / correction1) / (torch.sqrt(v / correction2 + settings.eps_root) + settings.eps)
        if settings.weight_decay and p.dim() >= 2:
            update = update + settings.weight_decay * p
        new_params[name] = p - settings.lr * update
        new_state[f"m.{name}"], new_state[f"v.{name}"] = m, v
    return new_params, new_state


def detached(tensors: dict[str, torch.Tensor], requires_grad: bool = False) -> dict[str, torch.Tensor]:
    return {name: t.detach().requires_grad_(requires_grad and t.is_floating_point()) for name, t in tensors.items()}
