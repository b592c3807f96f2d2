"""The curation-quality pool (``benchmarks/pool.py``): every web file of the shared data joins it, a file added
to ``web/`` joins with no code change, held-out and reference texts stay out, and it is the same for a seed."""

from __future__ import annotations

import gzip
import json
import sys

import pytest

from tests.conftest import REPO, shared

sys.path.insert(0, str(REPO / "benchmarks"))
pool = pytest.importorskip("pool")


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """The shared data folder with one extra web file (5 real C4 documents under a new name) and a
    non-document JSON file, linked file by file."""
    root = tmp_path_factory.mktemp("data")
    for folder in ("web", "reference", "labels/register-core-en"):
        (root / folder).mkdir(parents=True)
        for path in shared(folder).iterdir():
            (root / folder / path.name).symlink_to(path)
    lines = gzip.decompress(shared("web/c4-en-sample-1000.jsonl.gz").read_bytes()).splitlines()[-5:]
    (root / "web" / "new-crawl.jsonl.gz").write_bytes(gzip.compress(b"\n".join(lines) + b"\n"))
    (root / "web" / "notes.json").write_text(json.dumps({"about": "not documents"}))
    return root


def test_every_web_file_is_found_including_a_new_one(data):
    names = [p.name for p in pool.web_files(data)]
    assert "new-crawl.jsonl.gz" in names and "trafilatura-eval-pages.warc.gz" in names
    assert "cc-main-2016-50-sample.warc.wet.gz" in names and "cc-main-2019-30-raw-697.jsonl.gz" in names
    assert "notes.json" not in names and "trafilatura-eval-pages.expected.json.gz" not in names


def test_pool_make_up_held_out_and_reference_are_disjoint_and_seeded(data, tmp_path):
    built = pool.build_pool(tmp_path / "a", c4_docs=990, wiki_docs=30, reference_docs=20, seed=3, data=data)
    assert built.make_up["new-crawl.jsonl.gz"] == 5 and built.make_up["c4"] == 990
    assert str(data / "web" / "new-crawl.jsonl.gz") in built.ingest_inputs
    assert str(data / "web" / pool.C4_FILE) not in built.ingest_inputs  # C4 enters split, through pool.jsonl
    records = [json.loads(line) for line in built.jsonl.read_text().splitlines()]
    kinds = [pool.kind_of(r["url"], None) for r in records]
    assert kinds.count("c4") == 990 and kinds.count("wiki") == 30 and kinds.count("register-core") == 2780
    assert sum(kinds.count(k) for k in ("boilerplate", "characters", "mojibake", "shuffle_words")) == 30
    assert len(built.c4_heldout.read_text().splitlines()) == 10
    texts = {r["text"] for r in records}
    held = [
        json.loads(line)["text"] for p in (built.reference, built.fit_heldout) for line in p.read_text().splitlines()
    ]
    assert len(held) == 20 and not texts & set(held)
    heldout_c4 = {json.loads(line)["text"] for line in built.c4_heldout.read_text().splitlines()}
    assert not texts & heldout_c4
    again = pool.build_pool(tmp_path / "b", c4_docs=990, wiki_docs=30, reference_docs=20, seed=3, data=data)
    assert again.jsonl.read_bytes() == built.jsonl.read_bytes()
    assert again.reference.read_bytes() == built.reference.read_bytes()


def test_kind_of_reads_the_url_then_the_source_file():
    assert pool.kind_of("https://wiki.invalid/3?kind=mojibake", "pool.jsonl") == "mojibake"
    assert pool.kind_of("https://example.com/a", "/data/web/cc-sample-a.warc.gz") == "cc-sample-a"
