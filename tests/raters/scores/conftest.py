"""Real text for the rater tests, read once per session, and small corpora written without Spark."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import shared


def write_corpus(root: Path, records: list[dict], shards: int = 2) -> Path:
    """A committed corpus directory (Parquet shards + manifest) like `curate ingest` writes, without
    starting Spark for it: the rater tests spend their one Spark start on scoring."""
    import pyarrow as pa

    from curation.corpus import MANIFEST_FORMAT, file_sha256, write_json_atomic, write_parquet_atomic
    from curation.schema import DOCUMENT_SCHEMA, DOCUMENT_SCHEMA_VERSION, REJECT_SCHEMA_VERSION

    entries = []
    for shard in range(shards):
        rows = [
            {"id": r["id"], "text": r["text"], "url": r.get("url"), "n_bytes": len(r["text"].encode("utf-8"))}
            for r in records[shard::shards]
        ]
        path = root / "shards" / f"part-{shard:05d}.parquet"
        write_parquet_atomic(pa.Table.from_pylist(rows, schema=DOCUMENT_SCHEMA), path)
        entries.append(
            {
                "path": f"shards/part-{shard:05d}.parquet",
                "rows": len(rows),
                "bytes": sum(r["n_bytes"] for r in rows),
                "sha256": file_sha256(path),
            }
        )
    manifest = {
        "format": MANIFEST_FORMAT,
        "kind": "test",
        "schema": {"document": DOCUMENT_SCHEMA_VERSION, "reject": REJECT_SCHEMA_VERSION},
        "shards": entries,
        "counts": {"documents": len(records)},
    }
    write_json_atomic(root / "manifest.json", manifest)
    return root


def write_jsonl(path: Path, texts: list[str]) -> Path:
    with open(path, "w", encoding="utf-8") as fh:
        for i, text in enumerate(texts):
            fh.write(json.dumps({"id": f"{path.stem}-{i}", "text": text}) + "\n")
    return path


@pytest.fixture(scope="session")
def wikipedia() -> list[str]:
    """About 40 MB of real Wikipedia articles: a seeded sample of about 2,600 of the 6,514."""
    from curation.proxy.text_source import read_text_source

    return read_text_source(str(shared("reference/enwiki-6514-articles.jsonl.gz")), max_bytes=40_000_000, seed=3).texts


@pytest.fixture(scope="session")
def c4() -> list[str]:
    """The 1,000 real C4 documents."""
    from curation.proxy.text_source import read_text_source

    return read_text_source(str(shared("web/c4-en-sample-1000.jsonl.gz"))).texts


@pytest.fixture(scope="session")
def fasttext_folder(wikipedia, c4, tmp_path_factory) -> Path:
    """A small fastText quality model (Wikipedia against C4), saved: for the tests of a saved rater's uses."""
    from raters.fasttext_quality.model import QualityClassifier
    from raters.fasttext_quality.supervised import FastTextSettings

    folder = tmp_path_factory.mktemp("fasttext") / "model"
    settings = FastTextSettings(dim=16, bucket=20_000, epoch=5, seed=7)
    QualityClassifier.fit([t[:2000] for t in wikipedia[:300]], c4[:300], settings).save(folder)
    return folder
