"""Saving and loading proxies: ``safetensors`` for every tensor, JSON for the rest, nothing pickled.

A model folder holds ``model.safetensors``, ``tokenizer.json`` for a BPE, and ``config.json`` written
last (a folder without it is an unfinished write). A training checkpoint is such a folder
(``step-NNNNNNNN/``) plus ``optimizer.safetensors`` (AdamW's moments and step counts, flattened) and
``trainer.json`` (step, curve so far, the settings and data fingerprint it belongs to); ``latest.json``,
switched by rename, says which step folder is the checkpoint.
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
LATEST_FILE = "latest.json"


def save_tensors(tensors: dict[str, torch.Tensor], path: Path) -> None:
    from safetensors.torch import save_file

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_path(path)
    save_file({k: v.detach().cpu().contiguous() for k, v in tensors.items()}, str(tmp))
    commit(tmp, path)


def load_tensors(path: Path, device: str | torch.device = "cpu") -> dict[str, torch.Tensor]:
    """A ``safetensors`` file's tensors. Anything else (a pickle renamed, a truncated file) is a ConfigError
    naming the file: the format has no code in it, and nothing here falls back to unpickling."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        return load_file(str(path), device=str(device))
    except (OSError, SafetensorError) as exc:
        raise ConfigError(f"{path}: not a readable safetensors file ({str(exc).splitlines()[0][:200]})") from exc


def save_model(folder: Path, model: ProxyLM, tokenizer: Tokenizer, extra: dict[str, Any] | None = None) -> None:
    save_tensors(model.state_dict(), folder / WEIGHTS_FILE)
    tokenizer.save(folder)
    payload = {"format": MODEL_FORMAT, "model": model.cfg.to_dict(), "tokenizer": tokenizer.describe()}
    write_json_atomic(folder / CONFIG_FILE, {**payload, **(extra or {})})


def load_model(folder: Path, device: str | torch.device = "cpu") -> tuple[ProxyLM, Tokenizer]:
    config_path = folder / CONFIG_FILE
    if not config_path.is_file():
        raise ConfigError(f"{folder}: not a saved proxy model (no {CONFIG_FILE}; an unfinished save?)")
    payload = json.loads(config_path.read_text(encoding="utf-8"))
    if payload.get("format") != MODEL_FORMAT:
        raise ConfigError(f"{config_path}: not a proxy model config (format={payload.get('format')!r})")
    model = ProxyLM(ProxyConfig.from_dict(payload["model"]))
    try:
        model.load_state_dict(load_tensors(folder / WEIGHTS_FILE))
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
    """Everything needed to continue training, as one unit.

    The files go into a new ``step-NNNNNNNN/`` folder; ``latest.json`` is then switched to it by rename, and
    only after that are older step folders removed. A crash at any point leaves ``latest.json`` naming a
    complete checkpoint (or none), never new weights beside an old optimiser state.
    """
    import shutil

    step_dir = folder / f"step-{int(trainer['step']):08d}"
    if step_dir.exists():
        shutil.rmtree(step_dir)  # left by a write that crashed before latest.json pointed at it
    save_model(step_dir, model, tokenizer)
    tensors, groups = optimizer_tensors(optimizer)
    save_tensors(tensors, step_dir / OPTIMIZER_FILE)
    write_json_atomic(step_dir / TRAINER_FILE, {**trainer, "optimizer_param_groups": groups})
    write_json_atomic(folder / LATEST_FILE, {"checkpoint": step_dir.name})
    for old in folder.glob("step-*"):
        if old != step_dir:
            shutil.rmtree(old, ignore_errors=True)


def load_checkpoint(folder: Path, model: ProxyLM, optimizer, identity: dict[str, Any]) -> dict[str, Any] | None:
    """Restore the latest checkpoint in ``folder`` into ``model``/``optimizer``; None when there is none.

    A checkpoint of another run (``identity`` differs: settings, tokenizer or data) is refused before any
    tensor is loaded.
    """
    pointer = folder / LATEST_FILE
    if not pointer.is_file():
        return None
    step_dir = folder / json.loads(pointer.read_text(encoding="utf-8"))["checkpoint"]
    try:
        trainer = json.loads((step_dir / TRAINER_FILE).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ConfigError(f"{step_dir}: unreadable checkpoint ({exc}); remove {folder} to start over") from exc
    if trainer.get("identity") != identity:
        raise ConfigError(
            f"{folder}: a checkpoint of a different run (settings or data differ); remove it or write elsewhere"
        )
    device = next(model.parameters()).device
    try:
        model.load_state_dict(load_tensors(step_dir / WEIGHTS_FILE, device))
        tensors = load_tensors(step_dir / OPTIMIZER_FILE, device)
        restore_optimizer(optimizer, tensors, trainer.pop("optimizer_param_groups"))
    except (OSError, RuntimeError, ValueError, KeyError) as exc:
        raise ConfigError(f"{step_dir}: cannot restore the checkpoint ({str(exc).splitlines()[0][:200]})") from exc
    return trainer


def remove_checkpoints(folder: Path) -> None:
    """Drop the resumable checkpoint (pointer first, so no reader follows it to a half-removed folder)."""
    import shutil

    (folder / LATEST_FILE).unlink(missing_ok=True)
    for old in folder.glob("step-*"):
        shutil.rmtree(old, ignore_errors=True)
