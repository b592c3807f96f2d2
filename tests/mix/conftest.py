"""A corpus of three real sources for the mixture and top tests: C4 web pages, Wikipedia articles
(first 3 kB, cut at a paragraph) and the TurkuNLP line-quality web documents, ingested in 3 shards."""

from __future__ import annotations

import gzip
import json
from itertools import islice

import pytest

from tests.conftest import shared


def _wiki_head(text: str, limit: int = 3000) -> str:
    head = text[:limit]
    cut = head.rfind("\n")
    return head[:cut] if cut > limit // 2 else head


@pytest.fixture(scope="session")
def sources_corpus(spark, tmp_path_factory):
    from curation.corpus import Corpus
    from curation.ingest.config import IngestConfig
    from curation.ingest.job import run_ingest

    c4_path = shared("web/c4-en-sample-1000.jsonl.gz")
    wiki_path = shared("reference/enwiki-6514-articles.jsonl.gz")
    web_path = shared("labels/line-quality-en/train.json")
    root = tmp_path_factory.mktemp("mix-corpus")
    with gzip.open(c4_path, "rt", encoding="utf-8") as fh:
        c4 = [json.loads(line) for line in islice(fh, 200)]
    with gzip.open(wiki_path, "rt", encoding="utf-8") as fh:
        wiki = [json.loads(line) for line in islice(fh, 40)]
    web = json.loads(web_path.read_text(encoding="utf-8"))
    files = {
        "c4": [{"text": r["text"], "url": r["url"]} for r in c4],
        "wiki": [{"id": f"wiki-{r['id']}", "text": _wiki_head(r["text"]), "url": r["url"]} for r in wiki],
        "web": [{"text": "\n".join(r["text"])} for r in web],
    }
    for name, rows in files.items():
        (root / f"{name}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    cfg = IngestConfig(
        inputs=[str(root / f"{n}.jsonl") for n in files], out=str(root / "corpus"), shards=3, langid=False
    )
    run_ingest(cfg, master="local[2]", tracking=False)
    corpus = Corpus.open(root / "corpus")
    assert set(corpus.read_documents(["source"]).column("source").to_pylist()) == {"c4", "wiki", "web"}
    return corpus
