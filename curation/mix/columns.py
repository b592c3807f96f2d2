"""Columns by name from a corpus and its attribute sets, read shard by shard with the ids checked.

Both ``mix`` and ``top`` name one column (a source, a score) that may live in the corpus itself
(``source``, ``lang``, ``lang_score``, ``n_bytes``) or in any attribute set given; this finds its owner
once, checks its type before any work, and reads it aligned with the corpus shards.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from curation.attributes import AttributeSet
from curation.corpus import Corpus, read_parquet, read_parquet_schema
from curation.errors import ConfigError, CorpusError


@dataclass(frozen=True)
class ColumnSource:
    """Where one column is read from: the corpus (``attributes is None``) or an attribute set."""

    name: str
    type: object  # pyarrow DataType
    attributes: AttributeSet | None

    def describe(self) -> dict:
        if self.attributes is None:
            return {"column": self.name, "from": "corpus"}
        return {
            "column": self.name,
            "from": str(self.attributes.root),
            "name": self.attributes.name,
            "config_hash": self.attributes.manifest.get("config_hash"),
            "mlflow_run_id": self.attributes.manifest.get("mlflow_run_id"),
        }


def find_column(corpus: Corpus, sets: list[AttributeSet], name: str, option: str) -> ColumnSource:
    """The one input holding ``name`` (``a.b`` also finds ``a_b``, as in select rules), with its Arrow type."""
    from curation.schema import DOCUMENT_SCHEMA
    from curation.select.job import _available_columns  # the same lookup (and clash check) as select

    available = _available_columns(corpus, sets)
    if name not in available and name.replace(".", "_") in available:
        name = name.replace(".", "_")
    if name not in available:
        raise ConfigError(f"{option} {name!r}: unknown column; available: {', '.join(sorted(available))}")
    owner = available[name]
    if owner is None:
        return ColumnSource(name, DOCUMENT_SCHEMA.field(name).type, None)
    attribute_set = sets[owner]
    column_type = read_parquet_schema(attribute_set.part_path(0)).field(name).type
    return ColumnSource(name, column_type, attribute_set)


def read_shard_columns(corpus: Corpus, shard: int, corpus_columns: list[str], extra: list[ColumnSource]):
    """Shard ``shard``'s ``id`` + ``corpus_columns`` + each attribute column, as one Arrow table."""
    wanted = ["id", *[c for c in corpus_columns if c != "id"]]
    wanted += [c.name for c in extra if c.attributes is None and c.name not in wanted]
    shard_path = corpus.shard_paths[shard]
    table = read_parquet(shard_path, columns=wanted)
    for source in extra:
        if source.attributes is None:
            continue
        path = source.attributes.part_path(shard)
        part = read_parquet(path, columns=["id", source.name])
        if not part.column("id").equals(table.column("id")):
            raise CorpusError(f"{path} is not aligned with {shard_path} (ids differ); recompute the attribute set")
        table = table.append_column(source.name, part.column(source.name))
    return table


def open_inputs(corpus_dir: str | Path, attribute_dirs: list[str | Path]) -> tuple[Corpus, list[AttributeSet]]:
    corpus = Corpus.open(corpus_dir)
    return corpus, [AttributeSet.open(d, corpus) for d in attribute_dirs]
