"""Attribute sets: per-document columns keyed by ``id``, stored beside a corpus, never rewriting text.

Layout of one set (one directory per producer and version, e.g. ``attributes/heuristics-v1/``)::

    part-00000.parquet ...   one file per corpus shard, same rows in the same order: ``id`` + columns
    manifest.json            written last: producer, version, columns, the corpus it describes
                             (path + manifest checksum), config, MLflow run id, counts

Because parts are aligned with the corpus shards row for row, a selection stage can read a shard and
its attributes side by side; the ``id`` column lets anyone join them instead.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from curation.corpus import MANIFEST_NAME, Corpus, shard_name
from curation.errors import CorpusError

ATTRIBUTES_FORMAT = "curation.attributes/v1"


def corpus_fingerprint(corpus: Corpus) -> str:
    """Checksum of the corpus manifest: attribute sets are valid only for the exact corpus they read."""
    return hashlib.sha256((corpus.root / MANIFEST_NAME).read_bytes()).hexdigest()


def part_name(shard: int) -> str:
    return shard_name(shard)


@dataclass(frozen=True)
class AttributeSet:
    root: Path
    manifest: dict[str, Any]

    @classmethod
    def open(cls, root: str | Path, corpus: Corpus | None = None) -> AttributeSet:
        root = Path(root)
        path = root / MANIFEST_NAME
        if not path.is_file():
            raise CorpusError(f"{root}: no {MANIFEST_NAME}; not a finished attribute set")
        manifest = json.loads(path.read_text(encoding="utf-8"))
        if manifest.get("format") != ATTRIBUTES_FORMAT:
            raise CorpusError(f"{path}: not an attribute set manifest (format={manifest.get('format')!r})")
        if corpus is not None and manifest["corpus"]["fingerprint"] != corpus_fingerprint(corpus):
            raise CorpusError(f"{root} was computed for another version of {corpus.root}; recompute it")
        return cls(root, manifest)

    @property
    def name(self) -> str:
        return self.manifest["name"]

    @property
    def columns(self) -> list[str]:
        return [c["name"] for c in self.manifest["columns"]]

    def part_path(self, shard: int) -> Path:
        return self.root / part_name(shard)

    def read(self, columns: list[str] | None = None):
        import pyarrow as pa
        import pyarrow.parquet as pq

        tables = [pq.read_table(self.part_path(i), columns=columns) for i in range(self.manifest["shards"])]
        return pa.concat_tables(tables)
