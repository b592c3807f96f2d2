"""``ProxyPerplexity``: a proxy LM trained on reference text; a document's score is its bits per byte.

Bits per byte of a document: its summed next-token loss (nats) / ln 2 / its UTF-8 bytes, each document
scored on its own (``EOD`` + its tokens, cut into the model's windows). NaN for an empty document.
Saved with ``curation.proxy.checkpoint.save_model`` (``model.safetensors``, ``config.json`` last, plus
``tokenizer.json`` for a BPE); the rater's facts go under ``config.json``'s ``"perplexity"`` key. Any saved
proxy model folder (e.g. one ``curate validate`` trained) loads and scores too.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from curation.errors import ConfigError
from curation.proxy.model import ProxyLM
from curation.proxy.tokenizer import Tokenizer

PERPLEXITY_KEY = "perplexity"


class ProxyPerplexity:
    def __init__(self, model: ProxyLM, tokenizer: Tokenizer, info: dict[str, Any] | None = None):
        self.model, self.tokenizer, self.info = model.eval(), tokenizer, dict(info or {})

    @classmethod
    def fit(
        cls,
        texts: Sequence[str],
        *,
        size: str = "tiny",
        tokens: int = 2_000_000,
        seed: int = 0,
        tokenizer: str = "bytes",
        heldout: Sequence[str] = (),
        batch_size: int = 16,
        lr: float = 3e-3,
        evaluations: int = 5,
        device: torch.device | None = None,
        on_eval: Callable[[dict[str, Any]], None] | None = None,
    ) -> ProxyPerplexity:
        """Train a proxy of preset ``size`` on ``texts`` for ``tokens`` target tokens (bpb on ``heldout``)."""
        from curation.proxy.config import TrainConfig, preset
        from curation.proxy.packing import pack_documents
        from curation.proxy.tokenizer import tokenizer_from_option
        from curation.proxy.train import train_proxy

        if not texts:
            raise ConfigError("no reference text to train on")
        tok = tokenizer_from_option(tokenizer, texts)
        model_cfg = preset(size).with_vocab(tok.vocab_size)
        train_cfg = TrainConfig(tokens=tokens, batch_size=batch_size, lr=lr, evaluations=evaluations, seed=seed)

        def pack(batch):
            return pack_documents(
                tok.encode_batch(list(batch)), model_cfg.seq_len, tok.eod_id, tok.pad_id, tok.token_bytes()
            )

        held = {"heldout": pack(heldout)} if heldout else {}
        result = train_proxy(model_cfg, train_cfg, pack(texts), held, tok, device=device, on_eval=on_eval)
        info = {
            "size": size,
            "parameters": model_cfg.num_parameters,
            "tokens": result.tokens,
            "steps": result.steps,
            "seed": seed,
            "train_documents": len(texts),
            "heldout_documents": len(heldout),
            "curve": result.curve,
        }
        return cls(result.model, tok, info)

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    def score(self, texts: Sequence[str | None], batch_size: int = 32) -> np.ndarray:
        """Bits per byte of each text on its own (float64; NaN for an empty text)."""
        from curation.proxy.evaluate import document_bits_per_byte
        from curation.proxy.train import autocast_for

        autocast, _ = autocast_for(self.device, "auto")
        texts = [t or "" for t in texts]
        return document_bits_per_byte(self.model, self.tokenizer, texts, batch_size=batch_size, autocast=autocast)

    def save(self, folder: str | Path, extra: dict[str, Any] | None = None) -> None:
        from curation.proxy.checkpoint import save_model

        save_model(Path(folder), self.model, self.tokenizer, {PERPLEXITY_KEY: {**self.info, **(extra or {})}})

    @classmethod
    def load(cls, folder: str | Path, device: str | torch.device = "cpu") -> ProxyPerplexity:
        import json

        from curation.proxy.checkpoint import CONFIG_FILE, load_model
        from raters.model_folder import opened_model_folder

        with opened_model_folder(folder) as folder:  # a path or a URL (downloaded once per process)
            if not (folder / CONFIG_FILE).is_file():
                raise ConfigError(
                    f"{folder}: not a proxy model (no {CONFIG_FILE}; run `curate raters perplexity train`)"
                )
            model, tokenizer = load_model(folder, device)
            payload = json.loads((folder / CONFIG_FILE).read_text(encoding="utf-8"))
            return cls(model, tokenizer, payload.get(PERPLEXITY_KEY, {}))
