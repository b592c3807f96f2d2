"""Saving DataRater: the rater alone for scoring, and the whole meta-training state for resuming.

``MODEL_DIR/rater.safetensors`` + ``rater.json`` (written last): what ``curate datarater score`` loads.
``MODEL_DIR/checkpoint/step-N/state.safetensors`` + ``state.json``, and ``checkpoint/latest.json`` (switched
last, by rename) naming the complete one: the rater, every inner model's parameters and Adam state, every
member's outer Adam state, the step and the curve so far. Nothing pickled.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from curation.corpus import write_json_atomic
from curation.errors import ConfigError
from curation.proxy.checkpoint import load_tensors, save_tensors
from curation.proxy.config import ProxyConfig
from curation.proxy.tokenizer import Tokenizer, load_tokenizer
from raters.datarater.model import RaterTransformer

RATER_FORMAT = "curation.datarater/v1"
RATER_WEIGHTS = "rater.safetensors"
RATER_CONFIG = "rater.json"
CHECKPOINT_DIR = "checkpoint"


def save_rater(folder: Path, rater: RaterTransformer, tokenizer: Tokenizer, extra: dict[str, Any]) -> None:
    save_tensors(rater.state_dict(), folder / RATER_WEIGHTS)
    tokenizer.save(folder)
    payload = {"format": RATER_FORMAT, "model": rater.cfg.to_dict(), "tokenizer": tokenizer.describe(), **extra}
    write_json_atomic(folder / RATER_CONFIG, payload)


def load_rater(folder: str | Path, device: str | torch.device = "cpu") -> tuple[RaterTransformer, Tokenizer, dict]:
    """The rater saved in ``folder``: a path or a URL (downloaded once per process)."""
    from raters.model_folder import opened_model_folder

    with opened_model_folder(folder) as local:
        return _load_rater(local, device)


def _load_rater(folder: Path, device: str | torch.device) -> tuple[RaterTransformer, Tokenizer, dict]:
    config_path = folder / RATER_CONFIG
    if not config_path.is_file():
        raise ConfigError(f"{folder}: not a trained DataRater (no {RATER_CONFIG}; run `curate datarater train`)")
    payload = json.loads(config_path.read_text(encoding="utf-8"))
    if payload.get("format") != RATER_FORMAT:
        raise ConfigError(f"{config_path}: not a DataRater model (format={payload.get('format')!r})")
    tokenizer = load_tokenizer(payload["tokenizer"], folder)
    rater = RaterTransformer(ProxyConfig.from_dict(payload["model"]), tokenizer.pad_id)
    try:
        rater.load_state_dict(load_tensors(folder / RATER_WEIGHTS))
    except (OSError, RuntimeError) as exc:
        raise ConfigError(f"{folder / RATER_WEIGHTS}: cannot load weights ({str(exc).splitlines()[0][:200]})") from exc
    return rater.to(device).eval(), tokenizer, payload


def save_state(folder: Path, tensors: dict[str, torch.Tensor], state: dict[str, Any]) -> None:
    """The meta-training state as one unit: a new ``step-N/`` folder, then ``latest.json`` switched to it."""
    import shutil

    step_dir = folder / f"step-{int(state['trainer']['step']):08d}"
    if step_dir.exists():
        shutil.rmtree(step_dir)
    save_tensors(tensors, step_dir / "state.safetensors")
    write_json_atomic(step_dir / "state.json", state)
    write_json_atomic(folder / "latest.json", {"checkpoint": step_dir.name})
    for old in folder.glob("step-*"):
        if old != step_dir:
            shutil.rmtree(old, ignore_errors=True)


def load_state(folder: Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]] | None:
    pointer = folder / "latest.json"
    if not pointer.is_file():
        return None
    step_dir = folder / json.loads(pointer.read_text(encoding="utf-8"))["checkpoint"]
    try:
        state = json.loads((step_dir / "state.json").read_text("utf-8"))
        return load_tensors(step_dir / "state.safetensors"), state
    except (OSError, ValueError) as exc:
        raise ConfigError(
            f"{step_dir}: unreadable DataRater checkpoint ({exc}); remove {folder} to start over"
        ) from exc
