"""How many tokens a document costs: its UTF-8 bytes (``bytes``, the default) or the length of its
encoding under a Hugging Face ``tokenizers`` file (``tokenizer.json``, any model: BPE, Unigram, ...).

Budgets and shares are in these tokens, so the same ``--tokens 2M`` means 2M of what the trainer will
count. The byte count is the corpus's ``n_bytes`` column (no text read); a tokenizer encodes the text
in batches, streamed shard by shard, without special tokens. A document separator is not counted.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from curation.errors import ConfigError
from curation.parquet_stream import open_parquet_stream

BYTES = "bytes"
TOKENIZER_FILE = "tokenizer.json"


class ByteTokens:
    """Tokens = UTF-8 bytes, read from the corpus's ``n_bytes``."""

    name = BYTES

    def describe(self) -> dict:
        return {"name": BYTES}

    def shard_tokens(self, shard_path: Path, n_bytes: np.ndarray) -> np.ndarray:
        return n_bytes.astype(np.int64)


class TokenizerTokens:
    """Tokens = ``len(tokenizer.encode(text).ids)`` for a saved ``tokenizers`` JSON file."""

    def __init__(self, path: Path, batch_rows: int = 512):
        from tokenizers import Tokenizer

        from curation.corpus import file_sha256

        self.path = path.resolve()
        try:
            self._tokenizer = Tokenizer.from_file(str(self.path))
        except Exception as exc:  # noqa: BLE001 - tokenizers raises a bare Exception on bad files
            raise ConfigError(f"{path}: not a usable tokenizers JSON file ({str(exc).splitlines()[0][:150]})") from exc
        self.sha256 = file_sha256(self.path)
        self.name = f"{self.path.parent.name}/{self.path.name}" if self.path.parent.name else self.path.name
        self.batch_rows = batch_rows

    def describe(self) -> dict:
        return {
            "name": self.name,
            "path": str(self.path),
            "sha256": self.sha256,
            "vocab_size": self._tokenizer.get_vocab_size(),
        }

    def count(self, texts: list[str]) -> np.ndarray:
        encodings = self._tokenizer.encode_batch(texts, add_special_tokens=False)
        return np.fromiter((len(e.ids) for e in encodings), dtype=np.int64, count=len(texts))

    def shard_tokens(self, shard_path: Path, n_bytes: np.ndarray) -> np.ndarray:
        counts = [
            self.count(batch.column(0).to_pylist())
            for batch in open_parquet_stream(shard_path).iter_batches(batch_size=self.batch_rows, columns=["text"])
        ]
        return np.concatenate(counts) if counts else np.zeros(0, dtype=np.int64)


def token_counter(option: str) -> ByteTokens | TokenizerTokens:
    """``bytes`` or a path to a ``tokenizer.json`` (or a directory holding one)."""
    if option == BYTES:
        return ByteTokens()
    path = Path(option)
    if path.is_dir():
        path = path / TOKENIZER_FILE
    if not path.is_file():
        raise ConfigError(f"--tokenizer {option!r}: not 'bytes' or an existing tokenizer.json")
    return TokenizerTokens(path)
