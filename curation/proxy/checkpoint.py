"""Saving and loading proxies: ``safetensors`` for every tensor, JSON for the rest, nothing pickled.

A model folder holds ``model.safetensors``, ``tokenizer.json`` for a BPE, and ``config.json`` written
last (a folder without it is an unfinished write). A training checkpoint adds ``optimizer.safetensors``
(AdamW's moments and step counts, flattened) and ``trainer.json`` (step, curve so far, the settings and
data fingerprint it belongs to), also written last.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from curation.corpus import commit, temporary_path, write_json_atomic
from curation.errors import ConfigError
from curation.proxy.config import ProxyConfig
from curation.proxy.model import ProxyLM
from curation.proxy.tokenizer import Tokenizer, load_tokenizer

MODEL_FORMAT = "curation.proxy/v1"
WEIGHTS_FILE = "model.safetensors"
CONFIG_FILE = "config.json"
OPTIMIZER_FILE = "optimizer.safetensors"
TRAINER_FILE = "trainer.json"


def save_tensors(tensors: dict[str, torch.Tensor], path: Path) -> None:
    from safetensors.torch import save_file

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_path(path)
    save_file({k: v.detach().cpu().contiguous() for k, v in tensors.items()}, str(tmp))
    commit(tmp, path)


def save_model(folder: Path, model: ProxyLM, tokenizer: Tokenizer, extra: dict[str, Any] | None = None) -> None:
    save_tensors(model.state_dict(), folder / WEIGHTS_FILE)
    tokenizer.save(folder)
    payload = {"format": MODEL_FORMAT, "model": model.cfg.to_dict(), "tokenizer": tokenizer.describe()}
    write_json_atomic(folder / CONFIG_FILE, {**payload, **(extra or {})})


def load_model(folder: Path, device: str | torch.device = "cpu") -> tuple[ProxyLM, Tokenizer]:
    from safetensors.torch import load_file

    config_path = folder / CONFIG_FILE
    if not config_path.is_file():
        raise ConfigError(f"{folder}: not a saved proxy model (no {CONFIG_FILE}; an unfinished save?)")
    payload = json.loads(config_path.read_text(encoding="utf-8"))
    if payload.get("format") != MODEL_FORMAT:
        raise ConfigError(f"{config_path}: not a proxy model config (format={payload.get('format')!r})")
    model = ProxyLM(ProxyConfig.from_dict(payload["model"]))
    try:
        model.load_state_dict(load_file(str(folder / WEIGHTS_FILE)))
    except (OSError, RuntimeError) as exc:
        raise ConfigError(f"{folder / WEIGHTS_FILE}: cannot load weights ({str(exc).splitlines()[0][:200]})") from exc
    return model.to(device), load_tokenizer(payload["tokenizer"], folder)


def optimizer_tensors(optimizer: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], list[dict]]:
    """AdamW's state as flat tensors (``state.<param index>.<name>``) plus its param groups as JSON."""
    state = optimizer.state_dict()
    tensors = {
        f"state.{index}.{name}": value if torch.is_tensor(value) else torch.tensor(value)
        for index, entries in state["state"].items()
        for name, value in entries.items()
    }
    groups = [
        {k: (list(v) if isinstance(v, tuple) else v) for k, v in group.items()} for group in state["param_groups"]
    ]
    return tensors, groups


def restore_optimizer(optimizer: torch.optim.Optimizer, tensors: dict[str, torch.Tensor], groups: list[dict]) -> None:
    state: dict[int, dict[str, torch.Tensor]] = {}
    for key, value in tensors.items():
        _, index, name = key.split(".", 2)
        state.setdefault(int(index), {})[name] = value
    for group in groups:
        if "betas" in group:
            group["betas"] = tuple(group["betas"])
    optimizer.load_state_dict({"state": state, "param_groups": groups})


def save_checkpoint(folder: Path, model: ProxyLM, tokenizer: Tokenizer, optimizer, trainer: dict[str, Any]) -> None:
    """Everything needed to continue training; ``trainer.json`` is committed last."""
    save_model(folder, model, tokenizer)
    tensors, groups = optimizer_tensors(optimizer)
    save_tensors(tensors, folder / OPTIMIZER_FILE)
    write_json_atomic(folder / TRAINER_FILE, {**trainer, "optimizer_param_groups": groups})


def load_checkpoint(folder: Path, model: ProxyLM, optimizer) -> dict[str, Any] | None:
    """Restore weights and optimiser from ``folder`` into ``model``/``optimizer``; None when there is no checkpoint."""
    from safetensors.torch import load_file

    trainer_path = folder / TRAINER_FILE
    if not trainer_path.is_file():
        return None
    trainer = json.loads(trainer_path.read_text(encoding="utf-8"))
    device = next(model.parameters()).device
    model.load_state_dict(load_file(str(folder / WEIGHTS_FILE), device=str(device)))
    restore_optimizer(
        optimizer, load_file(str(folder / OPTIMIZER_FILE), device=str(device)), trainer.pop("optimizer_param_groups")
    )
    return trainer
