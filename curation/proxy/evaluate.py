"""Held-out bits per byte, for a whole text set or for each document (perplexity scoring)."""

from __future__ import annotations

import math

import numpy as np
import torch

from curation.proxy.model import ProxyLM
from curation.proxy.packing import PackedSequences, document_windows
from curation.proxy.tokenizer import Tokenizer


def _summed_row_losses(model: ProxyLM, packed: PackedSequences, batch_size: int, autocast) -> torch.Tensor:
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    sums = []
    try:
        with torch.no_grad():
            for start in range(0, packed.num_rows, batch_size):
                rows = packed.rows[start : start + batch_size].to(device)
                with autocast():
                    losses = model.token_losses(rows, packed.pad_id)
                sums.append(losses.double().sum(dim=1).cpu())
    finally:
        model.train(was_training)
    return torch.cat(sums) if sums else torch.zeros(0, dtype=torch.float64)


def bits_per_byte(model: ProxyLM, packed: PackedSequences, batch_size: int = 32, autocast=None) -> float:
    """Summed loss over every target (nats) / ln 2 / the UTF-8 bytes those targets stand for."""
    from contextlib import nullcontext

    total = _summed_row_losses(model, packed, batch_size, autocast or nullcontext).sum().item()
    return total / math.log(2) / max(packed.num_bytes, 1)


def document_bits_per_byte(
    model: ProxyLM, tokenizer: Tokenizer, texts: list[str], batch_size: int = 32, autocast=None
) -> np.ndarray:
    """Bits per byte of each document on its own (CCNet-style perplexity); NaN for an empty document."""
    from contextlib import nullcontext

    windows, owners = document_windows(
        tokenizer.encode_batch(texts), model.cfg.seq_len, tokenizer.eod_id, tokenizer.pad_id, tokenizer.token_bytes()
    )
    row_loss = _summed_row_losses(model, windows, batch_size, autocast or nullcontext).numpy()
    loss = np.bincount(owners, weights=row_loss, minlength=len(texts))
    size = np.bincount(owners, weights=windows.row_bytes.numpy(), minlength=len(texts))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(size > 0, loss / math.log(2) / size, np.nan)
