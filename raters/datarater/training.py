"""``curate datarater train``: meta-train a rater on a corpus, with progress, MLflow, checkpoints and resume.

The held-out split the outer loss uses is disjoint from the training rows: by default a seeded share of the
training corpus's *documents* (so no document feeds both), or any corpus given with ``--heldout``.

``--out`` may be a URL (``raters.model_folder``): training writes a local staging folder, each checkpoint
is mirrored to ``URL/checkpoint/`` (``latest.json`` last) and the rater is uploaded at the end,
``rater.json`` last. A training started again with the same URL, on any machine, downloads the checkpoint
first and resumes from it, as it does from a local ``--out``.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from curation.errors import ConfigError
from raters.datarater.meta import DEVIATIONS, DataRaterConfig, MetaTrainer
from raters.training_run import hold_out

MAX_TRAIN_BYTES = 50_000_000  # meta-training reads a seeded sample of at most this much text


@dataclass
class DataRaterTrainResult:
    out: Path | str  # a URL for a model folder on an object store
    trainer: MetaTrainer
    curve: list[dict[str, float]]
    resumed_from: int
    run_id: str | None


def load_config(path: Path | None, overrides: dict[str, Any]) -> DataRaterConfig:
    """Defaults, then a YAML/JSON file's keys, then command-line overrides; unknown keys are refused."""
    payload: dict[str, Any] = {}
    if path is not None:
        import yaml

        try:
            loaded = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigError(f"{path}: cannot read the DataRater config ({str(exc).splitlines()[0]})") from exc
        if not isinstance(loaded, dict):
            raise ConfigError(f"{path}: a DataRater config is a mapping of settings")
        unknown = sorted(set(loaded) - set(DataRaterConfig.__dataclass_fields__))
        if unknown:
            raise ConfigError(f"{path}: unknown DataRater setting(s) {unknown}")
        payload.update(loaded)
    payload.update({k: v for k, v in overrides.items() if v is not None})
    unknown = sorted(set(payload) - set(DataRaterConfig.__dataclass_fields__))
    if unknown:
        raise ConfigError(f"unknown DataRater setting(s) {unknown}")
    if "outer_betas" in payload:
        payload["outer_betas"] = tuple(payload["outer_betas"])
    try:
        return DataRaterConfig(**payload)
    except TypeError as exc:
        raise ConfigError(f"bad DataRater config: {exc}") from exc


def split_documents(texts: list[str], fraction: float, seed: int) -> tuple[list[str], list[str]]:
    """(train, held-out): a seeded share of the documents held out whole."""
    import numpy as np

    if not 0 < fraction < 1:
        raise ConfigError("--heldout-fraction must be between 0 and 1")
    order = np.random.default_rng([seed, 7]).permutation(len(texts))
    cut = max(1, int(round(fraction * len(texts))))
    if cut >= len(texts):
        raise ConfigError("the training corpus has too few documents to hold some out; pass --heldout")
    return hold_out(texts, set(order[:cut].tolist()))


# Settings a checkpoint may be resumed with other values of: the number of outer steps (runs can be extended) and
# the rematerialisation mode, which trades memory for time but computes the same meta-gradient (bitwise on CPU:
# tests/raters/test_datarater_meta.py and the benchmark's "same rater" column), so a run started with
# remat="steps" may go on with "none" and the other way round. Leaving remat out also keeps the identity of
# checkpoints written before the setting existed.
NOT_IN_IDENTITY = ("outer_steps", "remat")


def _identity(cfg: DataRaterConfig, train, heldout) -> str:
    """What a checkpoint must match to be resumed: every setting but those in ``NOT_IN_IDENTITY``, and the data."""
    settings = {k: v for k, v in cfg.to_dict().items() if k not in NOT_IN_IDENTITY}
    digest = hashlib.sha256(json.dumps(settings, sort_keys=True).encode())
    digest.update(train.rows.numpy().tobytes())
    digest.update(heldout.rows.numpy().tobytes())
    return digest.hexdigest()[:16]


def run_datarater_train(
    train_spec: str,
    out: str | Path,
    cfg: DataRaterConfig,
    heldout_spec: str | None = None,
    heldout_fraction: float = 0.1,
    checkpoint_every: int = 25,
    tracking: bool = True,
    overwrite: bool = False,
    console=None,
    on_step=None,
) -> DataRaterTrainResult:
    import shutil

    from rich.console import Console

    from curation.proxy.packing import pack_documents
    from curation.proxy.text_source import read_text_source
    from curation.proxy.tokenizer import ByteTokenizer
    from curation.tracking import stage_run
    from raters.datarater.checkpoint import CHECKPOINT_DIR, RATER_CONFIG, load_state, save_rater, save_state
    from raters.model_folder import ModelOut

    console = console or Console(stderr=True)
    if checkpoint_every < 1:
        raise ConfigError("--checkpoint-every must be at least 1")
    folder = ModelOut(out, RATER_CONFIG, "a DataRater")
    folder.check_writable()
    shown = folder.location if folder.remote else Path(out)  # --out as the messages and the result name it
    out = folder.local if folder.remote else Path(out)
    source = read_text_source(train_spec, MAX_TRAIN_BYTES, seed=cfg.seed)
    if heldout_spec:
        train_texts, held_texts = source.texts, read_text_source(heldout_spec, MAX_TRAIN_BYTES, seed=cfg.seed).texts
    else:
        train_texts, held_texts = split_documents(source.texts, heldout_fraction, cfg.seed)
    tokenizer = ByteTokenizer()

    def pack(texts):
        return pack_documents(
            tokenizer.encode_batch(texts), cfg.seq_len, tokenizer.eod_id, tokenizer.pad_id, tokenizer.token_bytes()
        )

    train, heldout = pack(train_texts), pack(held_texts)
    if train.num_rows < cfg.inner_batch:
        raise ConfigError(f"{train_spec}: {train.num_rows} training sequences, fewer than one inner batch")
    identity = _identity(cfg, train, heldout)
    trainer = MetaTrainer(cfg, train, heldout, tokenizer.vocab_size)
    checkpoint = out / CHECKPOINT_DIR
    curve: list[dict[str, float]] = []
    folder.pull(CHECKPOINT_DIR)  # a URL: its checkpoint, to resume from
    with folder.errors_named():
        saved = load_state(checkpoint) if checkpoint.exists() else None
    if saved is not None and saved[1].get("identity") != identity:
        if not overwrite:
            raise ConfigError(
                f"{shown}: holds meta-training for another corpus or config; use --overwrite or another --out"
            )
        shutil.rmtree(checkpoint)
        folder.remove_tree(CHECKPOINT_DIR)
        saved = None
    if saved is not None:
        trainer.restore(saved[0], saved[1]["trainer"])
        curve = saved[1]["curve"]
        resumed = f"{folder.location}/{CHECKPOINT_DIR}" if folder.remote else checkpoint
        console.print(f"resuming meta-training at outer step {trainer.step} from {resumed}", highlight=False)
    resumed_from = trainer.step

    params = {
        **cfg.to_dict(),
        "train": train_spec,
        "heldout": heldout_spec or f"{heldout_fraction:.0%} of the training documents",
        "train_sequences": train.num_rows,
        "heldout_sequences": heldout.num_rows,
        "rater_parameters": sum(p.numel() for p in trainer.rater.parameters()),
        "inner_parameters": trainer.inner_cfg.num_parameters,
    }

    def commit_state() -> None:
        tensors, facts = trainer.state()
        save_state(checkpoint, tensors, {"identity": identity, "trainer": facts, "curve": curve})
        folder.mirror(CHECKPOINT_DIR, last=f"{CHECKPOINT_DIR}/latest.json")

    with stage_run("datarater-train", params, enabled=tracking) as run:
        for point in curve:
            run.log_metrics({k: v for k, v in point.items() if k != "step"}, step=int(point["step"]))
        last_line = time.perf_counter()
        while trainer.step < cfg.outer_steps:
            metrics = trainer.outer_step()
            point = {"step": trainer.step, **metrics}
            curve.append(point)
            run.log_metrics(metrics, step=trainer.step)
            if on_step:
                on_step(trainer, point)
            now = time.perf_counter()
            if trainer.step == cfg.outer_steps or now - last_line > 10 or trainer.step <= 1:
                console.print(
                    f"outer step {trainer.step}/{cfg.outer_steps}: outer loss {metrics['outer_loss']:.4f}, "
                    f"meta-grad norm {metrics['meta_grad_norm']:.4f}, {metrics['seconds']:.2f} s/step",
                    highlight=False,
                )
                last_line = now
            if trainer.step % checkpoint_every == 0 or trainer.step == cfg.outer_steps:
                commit_state()
        save_rater(
            out,
            trainer.rater,
            tokenizer,
            {
                "datarater": cfg.to_dict(),
                "outer_steps": trainer.step,
                "mlflow_run_id": run.run_id,
                "train": train_spec,
                "deviations": DEVIATIONS,
            },
        )
        folder.publish(skip=(f"{CHECKPOINT_DIR}/",))  # mirrored at each commit already
        run.log_dict({"deviations": DEVIATIONS, "config": cfg.to_dict()}, "datarater.json")
    return DataRaterTrainResult(shown, trainer, curve, resumed_from, run.run_id)
