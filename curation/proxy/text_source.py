"""Documents for proxy training and evaluation, from whatever a user has at hand.

Accepted: a corpus directory (``manifest.json`` + Parquet shards, as written by ``curate ingest`` or
``select``), a Parquet file with a ``text`` column, JSON Lines (plain, ``.gz`` or ``.zst``) with a
``text`` field, or plain text, where paragraphs separated by blank lines are the documents.

With a byte budget, a seeded uniform sample of documents is taken (from a corpus directory only the
``n_bytes`` column is read to draw it, then only the drawn rows' text); without one, everything.
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from curation.errors import ConfigError, InputNotFoundError


@dataclass
class TextSource:
    name: str
    path: str
    texts: list[str]
    skipped: list[str] = field(default_factory=list)  # one line per record that could not be used

    @property
    def num_bytes(self) -> int:
        return sum(len(text.encode("utf-8")) for text in self.texts)


def text_hash(text: str) -> str:
    """Identity of a document's text, to keep held-out documents out of training sets."""
    import hashlib

    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def parse_named(spec: str) -> tuple[str, str]:
    """``NAME=PATH`` or ``PATH`` (named after the file or directory)."""
    if "=" in spec and not Path(spec).exists():
        name, path = spec.split("=", 1)
        if not re.fullmatch(r"[A-Za-z0-9_.\-]+", name):
            raise ConfigError(f"{spec!r}: a name may use letters, digits, '.', '_' and '-' only")
        return name, path
    path = Path(spec)
    name = path.name
    for suffix in (".gz", ".zst", ".jsonl", ".json", ".txt", ".parquet"):
        name = name.removesuffix(suffix)
    return name or "text", spec


def _take_until(lengths: np.ndarray, order: np.ndarray, max_bytes: int | None) -> np.ndarray:
    if max_bytes is None:
        return np.sort(order)
    cumulative = np.cumsum(lengths[order])
    count = int(np.searchsorted(cumulative, max_bytes, side="left")) + 1
    return np.sort(order[: min(count, len(order))])


def _sample(texts: list[str], max_bytes: int | None, seed: int) -> list[str]:
    if max_bytes is None:
        return texts
    lengths = np.array([len(text.encode("utf-8")) for text in texts], dtype=np.int64)
    order = np.random.default_rng(seed).permutation(len(texts))
    return [texts[i] for i in _take_until(lengths, order, max_bytes)]


def _read_corpus(root: Path, max_bytes: int | None, seed: int) -> list[str]:
    import pyarrow.parquet as pq

    from curation.corpus import Corpus

    corpus = Corpus.open(root)
    sizes = [pq.read_table(path, columns=["n_bytes"]).column("n_bytes").to_numpy() for path in corpus.shard_paths]
    lengths = np.concatenate(sizes) if sizes else np.zeros(0, dtype=np.int64)
    order = np.random.default_rng(seed).permutation(len(lengths)) if max_bytes is not None else np.arange(len(lengths))
    chosen = _take_until(lengths, order, max_bytes)
    texts, start = [], 0
    for path, shard_sizes in zip(corpus.shard_paths, sizes, strict=True):
        stop = start + len(shard_sizes)
        rows = chosen[(chosen >= start) & (chosen < stop)] - start
        if len(rows):
            column = pq.read_table(path, columns=["text"]).column("text")
            texts.extend(column.take(rows).to_pylist())
        start = stop
    return texts


def _read_jsonl(path: Path, text_field: str, skipped: list[str]) -> list[str]:
    from curation.readers.streams import compression_of, open_decompressed

    texts = []
    with open_decompressed(str(path), compression_of(str(path))) as fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                text = record[text_field]
                if not isinstance(text, str):
                    raise TypeError(f"{text_field!r} is {type(text).__name__}, not a string")
            except (ValueError, KeyError, TypeError) as exc:
                skipped.append(f"{path}: line {number}: skipped ({type(exc).__name__}: {str(exc)[:100]})")
                continue
            if text.strip():
                texts.append(text)
    return texts


def _read_plain(path: Path) -> list[str]:
    content = path.read_text(encoding="utf-8", errors="replace")
    return [block.strip() for block in re.split(r"\n\s*\n", content) if block.strip()]


def read_text_source(spec: str, max_bytes: int | None = None, seed: int = 0, text_field: str = "text") -> TextSource:
    """Load documents named by ``spec`` (``NAME=PATH`` or ``PATH``); see the module docstring."""
    name, raw_path = parse_named(spec)
    path = Path(raw_path)
    if not path.exists():
        raise InputNotFoundError(f"{raw_path}: no such file or corpus directory")
    skipped: list[str] = []
    if path.is_dir():
        texts = _read_corpus(path, max_bytes, seed)
    else:
        suffixes = "".join(path.suffixes[-2:])
        if path.suffix == ".parquet":
            import pyarrow.parquet as pq

            texts = [t for t in pq.read_table(path, columns=[text_field]).column(text_field).to_pylist() if t]
        elif ".jsonl" in suffixes or ".json" in suffixes:
            texts = _read_jsonl(path, text_field, skipped)
        else:
            texts = _read_plain(path)
        texts = _sample(texts, max_bytes, seed)
    for line in skipped[:20]:
        print(line, file=sys.stderr)
    if len(skipped) > 20:
        print(f"{path}: {len(skipped) - 20} more records skipped", file=sys.stderr)
    if not texts:
        raise ConfigError(f"{raw_path}: no documents with text")
    return TextSource(name=name, path=str(path), texts=texts, skipped=skipped)
