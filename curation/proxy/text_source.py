"""Documents for proxy training and evaluation, from whatever a user has at hand.

Accepted: a corpus directory (``manifest.json`` + Parquet shards, as written by ``curate ingest`` or
``select``), a Parquet file with a ``text`` column, JSON Lines (plain, ``.gz`` or ``.zst``) with a
``text`` field, or plain text, where paragraphs separated by blank lines are the documents. A file may be
a URL of an object store (``s3://bucket/heldout.jsonl.gz``), and so may a corpus directory.

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
    """``NAME=PATH`` or ``PATH`` (named after the file or directory). A URL (``s3://b/lang=en/x.jsonl``) or a
    path that exists is a path whatever ``=`` it holds."""
    from curation.storage import is_remote

    if "=" in spec and not is_remote(spec) and not Path(spec).exists():
        name, path = spec.split("=", 1)
        if not re.fullmatch(r"[A-Za-z0-9_.\-]+", name):
            raise ConfigError(f"{spec!r}: a name may use letters, digits, '.', '_' and '-' only")
        return name, path
    name = spec.rstrip("/").rpartition("/")[2]
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


def _read_corpus(root: Path | str, max_bytes: int | None, seed: int) -> list[str]:
    from curation.corpus import Corpus, read_parquet

    corpus = Corpus.open(root)
    sizes = [read_parquet(path, columns=["n_bytes"]).column("n_bytes").to_numpy() for path in corpus.shard_paths]
    lengths = np.concatenate(sizes) if sizes else np.zeros(0, dtype=np.int64)
    order = np.random.default_rng(seed).permutation(len(lengths)) if max_bytes is not None else np.arange(len(lengths))
    chosen = _take_until(lengths, order, max_bytes)
    texts, start = [], 0
    for path, shard_sizes in zip(corpus.shard_paths, sizes, strict=True):
        stop = start + len(shard_sizes)
        rows = chosen[(chosen >= start) & (chosen < stop)] - start
        if len(rows):
            column = read_parquet(path, columns=["text"]).column("text")
            texts.extend(column.take(rows).to_pylist())
        start = stop
    return texts


def _read_jsonl(path: str | Path, text_field: str, skipped: list[str]) -> list[str]:
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


def read_text_source(spec: str, max_bytes: int | None = None, seed: int = 0, text_field: str = "text") -> TextSource:
    """Load documents named by ``spec`` (``NAME=PATH`` or ``PATH``); see the module docstring. A file may
    also be a URL (``s3://``, ``gs://``, ... through ``curation.storage``)."""
    from curation.storage import is_remote

    name, raw_path = parse_named(spec)
    remote = is_remote(raw_path)
    if remote:
        corpus_dir = _check_remote_source(raw_path)
    elif not Path(raw_path).exists():
        raise InputNotFoundError(f"{raw_path}: no such file or corpus directory")
    else:
        corpus_dir = Path(raw_path).is_dir()
    path = raw_path.rstrip("/") if remote else Path(raw_path)
    skipped: list[str] = []
    if corpus_dir:
        texts = _read_corpus(path, max_bytes, seed)
    else:
        suffixes = "".join(Path(raw_path).suffixes[-2:])
        if suffixes.endswith(".parquet"):
            texts = _read_parquet(raw_path, text_field)
        elif ".jsonl" in suffixes or ".json" in suffixes:
            texts = _read_jsonl(raw_path, text_field, skipped)
        else:
            texts = _read_plain(raw_path)
        texts = _sample(texts, max_bytes, seed)
    for line in skipped[:20]:
        print(line, file=sys.stderr)
    if len(skipped) > 20:
        print(f"{path}: {len(skipped) - 20} more records skipped", file=sys.stderr)
    if not texts:
        raise ConfigError(f"{raw_path}: no documents with text")
    return TextSource(name=name, path=str(path), texts=texts, skipped=skipped)


def _check_remote_source(url: str) -> bool:
    """One object, or a corpus directory (True); a missing one or an unreachable store is one line naming
    the URL."""
    from curation.storage import filesystem, resolve_remote

    found = resolve_remote(url)  # raises InputNotFoundError naming the URL
    fs, inner = filesystem(url)
    if found == [fs.unstrip_protocol(inner)]:
        return False
    if fs.isfile(inner.rstrip("/") + "/manifest.json"):
        return True
    raise ConfigError(f"{url}: names {len(found)} objects; give one file or a corpus directory")


def _read_parquet(path: str, text_field: str) -> list[str]:
    import pyarrow.parquet as pq

    from curation.storage import open_binary

    with open_binary(path) as fh:
        return [t for t in pq.read_table(fh, columns=[text_field]).column(text_field).to_pylist() if t]


def _read_plain(path: str) -> list[str]:
    from curation.storage import open_binary

    with open_binary(path) as fh:
        content = fh.read().decode("utf-8", errors="replace").replace("\r\n", "\n").replace("\r", "\n")  # text mode
    return [block.strip() for block in re.split(r"\n\s*\n", content) if block.strip()]
