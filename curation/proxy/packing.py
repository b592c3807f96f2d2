"""Documents to fixed-length training sequences, and the byte count behind every target token.

A stream is ``EOD doc1 EOD doc2 ...``: the separator opens every document, so the model always sees
where one begins. Rows hold ``seq_len + 1`` tokens and start every ``seq_len`` tokens (consecutive rows
share one token), so every token of the stream but the first is a target exactly once. The last row is
padded; padded targets carry the tokenizer's ``pad_id`` and are ignored by every loss.

Bits per byte = summed loss (nats) / ln 2 / bytes of the targets. A separator counts as one byte.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch


@dataclass(frozen=True)
class PackedSequences:
    rows: torch.Tensor  # int64 [n, seq_len + 1]
    row_bytes: torch.Tensor  # float64 [n]: UTF-8 bytes of each row's targets
    pad_id: int

    @property
    def num_rows(self) -> int:
        return int(self.rows.shape[0])

    @property
    def num_bytes(self) -> int:
        return int(self.row_bytes.sum().item())

    @property
    def num_targets(self) -> int:
        return int((self.rows[:, 1:] != self.pad_id).sum().item())


def _rows_from_stream(stream: np.ndarray, seq_len: int, pad_id: int) -> np.ndarray:
    targets = max(len(stream) - 1, 0)
    n_rows = max(1, -(-targets // seq_len))
    padded = np.full(n_rows * seq_len + 1, pad_id, dtype=np.int64)
    padded[: len(stream)] = stream
    index = np.arange(n_rows)[:, None] * seq_len + np.arange(seq_len + 1)[None, :]
    return padded[index]


def _row_bytes(rows: np.ndarray, token_bytes: np.ndarray) -> np.ndarray:
    return token_bytes[rows[:, 1:]].sum(axis=1).astype(np.float64)


def pack_documents(
    token_lists: list[list[int]], seq_len: int, eod_id: int, pad_id: int, token_bytes: list[int]
) -> PackedSequences:
    """All documents as one separated stream cut into overlapping rows (see the module docstring)."""
    pieces = []
    for tokens in token_lists:
        pieces.append(np.array([eod_id], dtype=np.int64))
        pieces.append(np.asarray(tokens, dtype=np.int64))
    stream = np.concatenate(pieces) if pieces else np.array([eod_id], dtype=np.int64)
    rows = _rows_from_stream(stream, seq_len, pad_id)
    sizes = np.asarray(token_bytes, dtype=np.int64)
    return PackedSequences(torch.from_numpy(rows), torch.from_numpy(_row_bytes(rows, sizes)), pad_id)


def document_windows(
    token_lists: list[list[int]], seq_len: int, eod_id: int, pad_id: int, token_bytes: list[int]
) -> tuple[PackedSequences, np.ndarray]:
    """Each document on its own rows (``EOD`` + its tokens), for per-document loss.

    Returns the rows and, for each row, the index of the document it belongs to.
    """
    sizes = np.asarray(token_bytes, dtype=np.int64)
    blocks, owners = [], []
    for index, tokens in enumerate(token_lists):
        stream = np.concatenate([np.array([eod_id], dtype=np.int64), np.asarray(tokens, dtype=np.int64)])
        rows = _rows_from_stream(stream, seq_len, pad_id)
        blocks.append(rows)
        owners.append(np.full(len(rows), index, dtype=np.int64))
    if not blocks:
        empty = np.zeros((0, seq_len + 1), dtype=np.int64)
        return PackedSequences(torch.from_numpy(empty), torch.zeros(0, dtype=torch.float64), pad_id), np.zeros(0, int)
    rows = np.concatenate(blocks)
    return PackedSequences(torch.from_numpy(rows), torch.from_numpy(_row_bytes(rows, sizes)), pad_id), np.concatenate(
        owners
    )
