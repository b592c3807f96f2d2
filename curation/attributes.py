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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from curation.corpus import MANIFEST_NAME, Corpus, open_directory, read_parquet, shard_name
from curation.errors import CorpusError

ATTRIBUTES_FORMAT = "curation.attributes/v1"


def corpus_fingerprint(corpus: Corpus) -> str:
    """Checksum of the corpus manifest: attribute sets are valid only for the exact corpus they read."""
    from curation.destination import Destination

    data = Destination(corpus.root).read_bytes(MANIFEST_NAME)
    if data is None:
        raise CorpusError(f"{corpus.root}: its {MANIFEST_NAME} is gone")
    return hashlib.sha256(data).hexdigest()


def part_name(shard: int) -> str:
    return shard_name(shard)


@dataclass(frozen=True)
class AttributeSet:
    """A finished attribute set, opened through its manifest: ``root`` is a ``Path``, or the URL of a set on an
    object store."""

    root: Path | str
    manifest: dict[str, Any]

    @classmethod
    def open(cls, root: str | Path, corpus: Corpus | None = None) -> AttributeSet:
        root, manifest, directory = open_directory(root, "attribute set")
        if manifest.get("format") != ATTRIBUTES_FORMAT:
            raise CorpusError(
                f"{directory.url(MANIFEST_NAME)}: not an attribute set manifest (format={manifest.get('format')!r})"
            )
        if corpus is not None and manifest["corpus"]["fingerprint"] != corpus_fingerprint(corpus):
            raise CorpusError(f"{root} was computed for another version of {corpus.root}; recompute it")
        return cls(root, manifest)

    @property
    def name(self) -> str:
        return self.manifest["name"]

    @property
    def columns(self) -> list[str]:
        return [c["name"] for c in self.manifest["columns"]]

    def part_path(self, shard: int) -> Path | str:
        return self.root / part_name(shard) if isinstance(self.root, Path) else f"{self.root}/{part_name(shard)}"

    def read(self, columns: list[str] | None = None):
        import pyarrow as pa

        tables = [read_parquet(self.part_path(i), columns=columns) for i in range(self.manifest["shards"])]
        return pa.concat_tables(tables)
