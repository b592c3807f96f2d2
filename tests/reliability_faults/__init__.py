"""Reliability under faults: the tracking server going away, Spark tasks failing and being retried, an
output location that cannot be written. Each test injects a real fault and checks what a user would see
(one line on stderr, the exit code) and what a reader of the output would trust (the manifest).

The modules share one small real corpus (the first C4 documents), ingested once per test session.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from tests.conftest import shared

C4 = "web/c4-en-sample-1000.jsonl.gz"
_corpora: dict[tuple[int, int], Path] = {}


def c4_corpus(tmp_path_factory, documents: int = 60, shards: int = 3):
    """A corpus of the first `documents` C4 documents in `shards` shards (needs the `spark` fixture)."""
    from curation.corpus import Corpus

    key = (documents, shards)
    if key not in _corpora:
        from curation.ingest.config import IngestConfig
        from curation.ingest.job import run_ingest

        source = shared(C4)
        root = tmp_path_factory.mktemp(f"c4-{documents}x{shards}")
        with gzip.open(source, "rt", encoding="utf-8") as fh, open(root / "c4.jsonl", "w", encoding="utf-8") as out:
            for _, line in zip(range(documents), fh, strict=False):
                assert json.loads(line)["text"].strip()
                out.write(line)
        cfg = IngestConfig(inputs=[str(root / "c4.jsonl")], out=str(root / "corpus"), shards=shards, langid=False)
        run_ingest(cfg, master="local[2]", tracking=False)
        _corpora[key] = root / "corpus"
    corpus = Corpus.open(_corpora[key])
    assert corpus.num_documents == documents
    return corpus


def error_lines(stderr: str) -> list[str]:
    """The non-empty lines a command printed on stderr."""
    return [line for line in stderr.splitlines() if line.strip()]
