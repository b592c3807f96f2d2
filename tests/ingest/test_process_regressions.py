"""Regressions in turning records into documents (``process_split``, no Spark), found by the bad-input corpus:
strings Arrow cannot encode crashed the whole split, and deeply nested HTML ran for a minute per page past its
timeout."""

from __future__ import annotations

import json
import os
import time

import pyarrow.parquet as pq

from curation.destination import Destination
from curation.ingest.config import IngestConfig
from curation.ingest.process import process_split, split_paths
from curation.readers import Split, plan_file
from tests.reliability_bad_inputs.corpus import http_block, members, warc_record


def _process(path, tmp_path):
    cfg = IngestConfig(inputs=[str(path)], out=str(tmp_path / "out"), langid=False)
    plan = plan_file(str(path), "auto", 1 << 30, None)
    split = Split(0, plan["path"], plan["format"], plan["layout"], *plan["ranges"][0], plan["source"])
    stats = process_split(split, cfg, Destination(tmp_path / "work"))
    paths = {name: tmp_path / "work" / relative for name, relative in split_paths(split).items()}
    docs = pq.read_table(paths["docs"]).to_pylist() if paths["docs"].is_file() else []
    docs.sort(key=lambda doc: doc["_order"])  # input order (the file is grouped by shard)
    rejects = pq.read_table(paths["rejects"]).to_pylist() if paths["rejects"].is_file() else []
    return stats, docs, rejects


def test_lone_surrogates_in_id_url_and_keys_become_replacement_characters(tmp_path):
    # was: UnicodeEncodeError ("surrogates not allowed") writing the split: the task, and the job, failed
    path = tmp_path / "lone.jsonl"
    path.write_bytes(
        b'{"id": "a\\ud800", "text": "lone surrogate in the id"}\n'
        b'{"id": "b", "text": "in the url", "url": "https://x.example/\\udc80"}\n'
        b'{"id": "c", "text": "in a key", "k\\udc00": 1}\n'
    )
    stats, docs, _ = _process(path, tmp_path)
    assert stats["documents"] == 3
    assert docs[0]["id"] == "a\ufffd" and docs[1]["url"] == "https://x.example/\ufffd"
    assert json.loads(docs[2]["meta"])["k\ufffd"] == 1


def test_a_file_name_that_is_not_utf8(tmp_path):
    # was: the same crash, from the input's path in every row (meta, source, rejects' source_file)
    path = tmp_path / os.fsdecode(b"name-\xff.jsonl")
    path.write_bytes(b'{"id": "a", "text": "kept"}\n{"id": "b", "text": ""}\n')
    stats, docs, rejects = _process(path, tmp_path)
    assert stats["documents"] == 1 and stats["rejected"] == {"empty_text": 1}
    assert docs[0]["source"] == "name-\ufffd" and rejects[0]["source_file"].endswith("name-\ufffd.jsonl")


def test_deeply_nested_html_is_refused_at_once(tmp_path):
    # was: about a minute per page in Resiliparse's C code, which the extraction timeout cannot interrupt
    deep = b"<html><body>" + b"<div>" * 20_000 + b"<p>deep text</p>" + b"</div>" * 20_000 + b"</body></html>"
    path = tmp_path / "deep.warc.gz"
    path.write_bytes(members(warc_record(http_block(deep), uri="https://deep.example/")))
    started = time.perf_counter()
    stats, _, rejects = _process(path, tmp_path)
    assert stats["rejected"] == {"html_too_deep": 1} and time.perf_counter() - started < 10
    assert "deeper than 512" in rejects[0]["detail"]
