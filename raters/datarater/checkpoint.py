"""Saving DataRater: the rater alone for scoring, and the whole meta-training state for resuming.

``MODEL_DIR/rater.safetensors`` + ``rater.json`` (written last): what ``curate datarater score`` loads.
``MODEL_DIR/checkpoint/state.safetensors`` + ``state.json`` (written last): the rater, every inner model's
parameters and Adam state, every member's outer Adam state, the step and the curve so far. Nothing pickled.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from curation.corpus import write_json_atomic
from curation.errors import ConfigError
from curation.proxy.checkpoint import save_tensors
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


def load_rater(folder: Path, device: str | torch.device = "cpu") -> tuple[RaterTransformer, Tokenizer, dict]:
    from safetensors.torch import load_file

    config_path = Path(folder) / RATER_CONFIG
    if not config_path.is_file():
        raise ConfigError(f"{folder}: not a trained DataRater (no {RATER_CONFIG}; run `curate datarater train`)")
    payload = json.loads(config_path.read_text(encoding="utf-8"))
    if payload.get("format") != RATER_FORMAT:
        raise ConfigError(f"{config_path}: not a DataRater model (format={payload.get('format')!r})")
    tokenizer = load_tokenizer(payload["tokenizer"], Path(folder))
    rater = RaterTransformer(ProxyConfig.from_dict(payload["model"]), tokenizer.pad_id)
    try:
        rater.load_state_dict(load_file(str(Path(folder) / RATER_WEIGHTS)))
    except (OSError, RuntimeError) as exc:
        raise ConfigError(f"{folder / RATER_WEIGHTS}: cannot load weights ({str(exc).splitlines()[0][:200]})") from exc
    return rater.to(device).eval(), tokenizer, payload


def save_state(folder: Path, tensors: dict[str, torch.Tensor], state: dict[str, Any]) -> None:
    save_tensors(tensors, folder / "state.safetensors")
    write_json_atomic(folder / "state.json", state)


def load_state(folder: Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]] | None:
    from safetensors.torch import load_file

    if not (folder / "state.json").is_file():
        return None
    return load_file(str(folder / "state.safetensors")), json.loads((folder / "state.json").read_text("utf-8"))
