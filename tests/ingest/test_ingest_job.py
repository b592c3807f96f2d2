"""The ingest job end to end, in-process on local Spark: accounting, layout, idempotence."""

from __future__ import annotations

import json
from collections import Counter

import pyarrow.parquet as pq
import pytest

from curation.corpus import Corpus
from curation.errors import CorpusError, InputNotFoundError
from curation.ingest.config import HTML_RULES_VERSION, IngestConfig
from curation.ingest.job import input_checksums, run_ingest
from curation.schema import DOCUMENT_SCHEMA, REJECT_SCHEMA
from tests.bad_inputs import OPTIONS, WARC_EXPECTED, jsonl_expected
from tests.conftest import WEB


def _ingest(inputs, out, **options):
    cfg = IngestConfig(inputs=[str(i) for i in inputs], out=str(out), **options)
    return run_ingest(cfg, master="local[2]", tracking=False)


def _reconciles(corpus: Corpus) -> Counter:
    counts = corpus.manifest["counts"]
    rejects = corpus.read_rejects().to_pylist()
    by_reason = Counter(r["reason"] for r in rejects)
    assert counts["records_read"] == counts["documents"] + sum(counts["rejected"].values())
    assert by_reason == Counter(counts["rejected"]) + Counter(counts["input_errors"])
    assert corpus.read_documents().num_rows == counts["documents"]
    assert sum(s["rows"] for s in corpus.manifest["shards"]) == counts["documents"]
    return by_reason


def test_bad_inputs_every_record_accounted_for(spark, bad_inputs, tmp_path):
    result = _ingest([bad_inputs], tmp_path / "out", shards=3, **OPTIONS)
    corpus = Corpus.open(result.out)
    by_reason = _reconciles(corpus)
    inputs = {e["path"].rsplit("/", 1)[1]: e for e in corpus.manifest["inputs"]}

    mixed = inputs["mixed.jsonl"]
    expected = jsonl_expected()
    assert mixed["documents"] == expected.pop("kept") + expected["duplicate_id"]  # duplicates are found at sharding
    duplicates = expected.pop("duplicate_id")
    assert mixed["rejected"] == dict(sorted(expected.items()))
    assert corpus.manifest["counts"]["rejected"]["duplicate_id"] == duplicates

    warc = inputs["pages.warc.gz"]
    assert warc["documents"] == WARC_EXPECTED["kept"]
    assert warc["rejected"] == {k: v for k, v in sorted(WARC_EXPECTED.items()) if k != "kept"}
    assert inputs["cut.jsonl.gz"]["input_errors"] == {"truncated_input": 1} and inputs["cut.jsonl.gz"]["documents"] > 0
    assert inputs["fine.jsonl.zst"]["documents"] == 5
    assert inputs["empty.jsonl"]["input_errors"] == {"empty_input": 1}
    assert inputs["noise.bin"]["input_errors"] == {"unknown_format": 1}
    assert inputs["wrong-schema.parquet"]["input_errors"] == {"wrong_schema": 1}
    assert inputs["rows.parquet"]["documents"] == 1 and inputs["rows.parquet"]["rejected"] == {"missing_text": 1}
    assert by_reason["duplicate_id"] == 1

    docs = {d["id"]: d for d in corpus.read_documents().to_pylist()}
    assert docs["nul"]["text"] == "NULbytesinside are removed."
    assert docs["7"]["n_bytes"] == len(docs["7"]["text"].encode())
    assert docs["good-1"]["text"].startswith("A perfectly ordinary")  # the first of the duplicate ids is kept
    assert json.loads(docs["bad-utf8-light"]["meta"])["invalid_utf8_sequences"] == 1
    assert all(d["lang"] == "en" for d in docs.values() if d["id"].startswith("gz-"))
    # every line of the output says where it came from
    assert all(json.loads(d["meta"])["locator"] for d in docs.values())


def test_corpus_layout_and_schema(spark, bad_inputs, tmp_path):
    out = tmp_path / "out"
    _ingest([bad_inputs / "fine.jsonl.zst", bad_inputs / "mixed.jsonl"], out, shards=4, **OPTIONS)
    assert sorted(p.name for p in (out / "shards").iterdir()) == [f"part-{i:05d}.parquet" for i in range(4)]
    assert not (out / "_work").exists()
    assert not [p for p in out.rglob("*") if p.name.endswith(".tmp")]
    for path in (out / "shards").iterdir():
        meta = pq.ParquetFile(path)
        assert meta.schema_arrow.equals(DOCUMENT_SCHEMA)
        assert meta.metadata.row_group(0).column(0).compression == "ZSTD" if meta.metadata.num_rows else True
        ids = pq.read_table(path, columns=["id"]).column("id").to_pylist()
        assert ids == sorted(ids)
    for path in (out / "rejects").iterdir():
        assert pq.read_schema(path).equals(REJECT_SCHEMA)
    from curation.ids import shard_of

    for index, path in enumerate(sorted((out / "shards").iterdir())):
        assert all(shard_of(i, 4) == index for i in pq.read_table(path).column("id").to_pylist())


def test_rerun_is_a_no_op_and_other_config_is_refused(spark, bad_inputs, tmp_path, monkeypatch):
    out = tmp_path / "out"
    first = _ingest([bad_inputs / "fine.jsonl.zst"], out, shards=2)
    before = {p.name: p.read_bytes() for p in (out / "shards").iterdir()}
    again = _ingest([bad_inputs / "fine.jsonl.zst"], out, shards=2)
    assert again.skipped and not first.skipped
    assert {p.name: p.read_bytes() for p in (out / "shards").iterdir()} == before
    assert "html_rules" not in first.manifest  # no HTML among the inputs
    with monkeypatch.context() as patch:  # newer HTML rules leave a JSONL corpus as it is
        patch.setattr("curation.ingest.job.HTML_RULES_VERSION", HTML_RULES_VERSION + 1)
        assert _ingest([bad_inputs / "fine.jsonl.zst"], out, shards=2).skipped
    with pytest.raises(CorpusError, match="another config"):
        _ingest([bad_inputs / "fine.jsonl.zst"], out, shards=3)
    cfg = IngestConfig(inputs=[str(bad_inputs / "fine.jsonl.zst")], out=str(out), shards=3)
    run_ingest(cfg, master="local[2]", tracking=False, overwrite=True)
    assert len(list((out / "shards").iterdir())) == 3 and Corpus.open(out).manifest["config"]["shards"] == 3


def test_a_warc_corpus_of_older_html_rules_is_not_taken_as_complete(spark, bad_inputs, tmp_path, monkeypatch):
    out = tmp_path / "out"
    first = _ingest([bad_inputs / "pages.warc.gz"], out, shards=2)
    assert first.manifest["html_rules"] == HTML_RULES_VERSION
    assert _ingest([bad_inputs / "pages.warc.gz"], out, shards=2).skipped
    monkeypatch.setattr("curation.ingest.job.HTML_RULES_VERSION", HTML_RULES_VERSION + 1)
    older = f"made by older HTML rules \\(version {HTML_RULES_VERSION}; this is version {HTML_RULES_VERSION + 1}"
    with pytest.raises(CorpusError, match=older):
        _ingest([bad_inputs / "pages.warc.gz"], out, shards=2)
    with pytest.raises(CorpusError, match="another config"):  # other options too: not only the rules
        _ingest([bad_inputs / "pages.warc.gz"], out, shards=3)
    cfg = IngestConfig(inputs=[str(bad_inputs / "pages.warc.gz")], out=str(out), shards=2)
    again = run_ingest(cfg, master="local[2]", tracking=False, overwrite=True)
    assert not again.skipped and again.manifest["html_rules"] == HTML_RULES_VERSION + 1


def test_a_corpus_from_before_html_rules_were_versioned_is_version_1(spark, bad_inputs, tmp_path):
    """A manifest without ``html_rules`` and with the hash of that time (no rules in it): what ingest wrote up to
    2026-12-06. Its rerun is refused as made by version 1, not taken as complete."""
    out = tmp_path / "out"
    manifest = _ingest([bad_inputs / "pages.warc.gz"], out, shards=2).manifest
    cfg = IngestConfig(inputs=[str(bad_inputs / "pages.warc.gz")], out=str(out), shards=2)
    manifest.pop("html_rules")
    manifest["config_hash"] = cfg.config_hash(input_checksums(manifest["inputs"]))
    (out / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(CorpusError, match=f"older HTML rules \\(version 1; this is version {HTML_RULES_VERSION}"):
        _ingest([bad_inputs / "pages.warc.gz"], out, shards=2)


def test_shards_packed_into_tasks_or_one_a_task_give_the_same_bytes(spark, bad_inputs, tmp_path, monkeypatch):
    import curation.ingest.tasks as tasks

    groups: list[int] = []
    real_pack = tasks.pack

    def counting_pack(items, sizes, n):
        packed = real_pack(items, sizes, n)
        groups.append(len(packed))
        return packed

    monkeypatch.setattr(tasks, "pack", counting_pack)
    inputs = [bad_inputs / "fine.jsonl.zst", bad_inputs / "mixed.jsonl"]
    _ingest(inputs, tmp_path / "packed", shards=5, **OPTIONS)
    packed = groups[-1]
    monkeypatch.setattr("curation.ingest.shards.SHARD_TASK_BYTES", 1)  # every shard a task of its own
    _ingest(inputs, tmp_path / "one-a-task", shards=5, **OPTIONS)
    assert (packed, groups[-1]) == (2, 5)  # one task per core, then one per shard
    for name in ("shards", "rejects"):
        first = {p.name: p.read_bytes() for p in (tmp_path / "packed" / name).iterdir()}
        assert first and first == {p.name: p.read_bytes() for p in (tmp_path / "one-a-task" / name).iterdir()}


def test_same_input_same_bytes_whatever_the_splitting(spark, tmp_path):
    src = WEB / "c4-en-sample-1000.jsonl.gz"
    if not src.exists():
        pytest.skip("shared corpora not available")
    import shutil

    # Three files: at 16 MB a split per file, packed into 2 tasks (curation.ingest.tasks); at 0.05 MB many
    # splits per file, a task each. The copies repeat every id, so duplicate-id rejects are compared too.
    inputs = [src, *(shutil.copyfile(src, tmp_path / f"copy-{i}.jsonl.gz") for i in (1, 2))]
    a = _ingest(inputs, tmp_path / "a", shards=2, split_mb=16)
    b = _ingest(inputs, tmp_path / "b", shards=2, split_mb=0.05)
    assert [e["splits"] for e in a.manifest["inputs"]] == [1, 1, 1] and b.manifest["inputs"][0]["splits"] > 5
    assert a.manifest["counts"] == b.manifest["counts"] and a.manifest["counts"]["rejected"]["duplicate_id"] == 2000
    for name in ("part-00000.parquet", "part-00001.parquet"):
        assert (a.out / "shards" / name).read_bytes() == (b.out / "shards" / name).read_bytes()
    assert [e["rows"] for e in a.manifest["rejects"]] == [e["rows"] for e in b.manifest["rejects"]]


def test_every_shared_web_file_with_exact_accounting(spark, tmp_path):
    if not WEB.exists():
        pytest.skip("shared corpora not available")
    result = _ingest([WEB], tmp_path / "web", shards=4)
    corpus = Corpus.open(result.out)
    _reconciles(corpus)
    inputs = {e["path"].rsplit("/", 1)[1]: e for e in corpus.manifest["inputs"]}
    assert len(inputs) == len(list(WEB.iterdir())) - (1 if (WEB / "README.md").exists() else 0)
    assert inputs["c4-en-sample-1000.jsonl.gz"]["documents"] == 1000
    assert inputs["cc-main-2016-50-sample.warc.wet.gz"]["documents"] == 25
    assert inputs["cc-main-2017-30-sample.truncated.warc.wet.gz"]["rejected"]["truncated_record"] == 1
    assert inputs["trafilatura-eval-pages.warc.gz"]["documents"] > 880
    langs = Counter(corpus.read_documents(columns=["lang"]).column("lang").to_pylist())
    assert langs["en"] > 1000 and langs["de"] > 200


def test_missing_input_fails_before_any_work(tmp_path):
    with pytest.raises(InputNotFoundError):
        _ingest([tmp_path / "absent.warc.gz"], tmp_path / "out")
    assert not (tmp_path / "out" / "_work").exists()


def test_a_directory_without_manifest_is_not_a_corpus(tmp_path):
    (tmp_path / "half" / "shards").mkdir(parents=True)
    (tmp_path / "half" / "shards" / "part-00000.parquet").write_bytes(b"partial")
    with pytest.raises(CorpusError, match="incomplete"):
        Corpus.open(tmp_path / "half")
