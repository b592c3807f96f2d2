"""`run_export` on a real selected corpus: the files load in datasets and datatrove as they are, the
manifest's checksums, counts and lineage hold, reruns are no-ops and byte-identical, crashes resume."""

from __future__ import annotations

import hashlib
import json
import shutil

import pyarrow.parquet as pq
import pytest

from curation.corpus import Corpus
from curation.errors import ConfigError, CorpusError
from curation.export import EXPORT_FORMAT, ExportConfig, run_export
from tests.export.conftest import ATTRIBUTE_RUN_ID, RULE


def _corpus_rows(chain, columns=("id", "text", "url")):
    table = Corpus.open(chain.selected).read_documents(list(columns))
    return {row["id"]: row for row in table.to_pylist()}


def _sha256(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def parquet_export(chain, tmp_path_factory):
    out = tmp_path_factory.mktemp("parquet") / "export"
    return run_export(chain.selected, out, ExportConfig(shard_rows=150, row_group_rows=64), tracking=False)


def test_parquet_loads_in_datasets_and_datatrove(chain, parquet_export, tmp_path):
    from datasets import load_dataset
    from datatrove.pipeline.readers import ParquetReader

    expected = _corpus_rows(chain)
    out = parquet_export.out
    files = sorted((out / "data").iterdir())
    assert [f.name for f in files] == [f"part-{i:05d}.parquet" for i in range(len(files))] and len(files) >= 2

    loaded = load_dataset(
        "parquet", data_files=str(out / "data" / "*.parquet"), split="train", cache_dir=str(tmp_path / "hf")
    )
    assert loaded.column_names == ["text", "id", "url", "source", "timestamp", "lang", "n_bytes"]
    assert loaded.num_rows == len(expected)
    assert {row["id"]: (row["text"], row["url"]) for row in loaded} == {
        i: (r["text"], r["url"]) for i, r in expected.items()
    }
    assert set(loaded["lang"]) == {"en"} and min(loaded["n_bytes"]) > 0

    documents = list(ParquetReader(str(out / "data")).run())
    assert {d.id: (d.text, d.metadata["url"]) for d in documents} == {
        i: (r["text"], r["url"]) for i, r in expected.items()
    }
    assert len(documents) == len(expected)


def test_parquet_files_follow_the_options(chain, parquet_export):
    manifest = parquet_export.manifest
    sizes = [f["rows"] for f in manifest["files"]]
    total = Corpus.open(chain.selected).num_documents
    assert sizes[:-1] == [150] * (len(sizes) - 1) and sum(sizes) == total
    groups = [
        pq.ParquetFile(parquet_export.out / manifest["files"][0]["path"]).metadata.row_group(i).num_rows
        for i in range(3)
    ]
    assert groups == [64, 64, 22]  # row groups cut by row count alone, across corpus shard boundaries
    schema = pq.read_schema(parquet_export.out / manifest["files"][0]["path"])
    assert str(schema.field("timestamp").type) == "timestamp[us, tz=UTC]"
    assert b"curation.schema" not in (schema.metadata or {}).get(b"ARROW:schema", b"")


def test_manifest_checksums_counts_and_lineage(chain, parquet_export):
    out, manifest = parquet_export.out, parquet_export.manifest
    assert json.loads((out / "manifest.json").read_text()) == manifest
    assert manifest["format"] == EXPORT_FORMAT and manifest["export_format"] == "parquet"
    for entry in manifest["files"]:
        path = out / entry["path"]
        assert _sha256(path) == entry["sha256"] and path.stat().st_size == entry["bytes"]
        assert pq.ParquetFile(path).metadata.num_rows == entry["rows"]
    corpus = Corpus.open(chain.selected)
    assert manifest["counts"]["rows"] == corpus.num_documents == sum(f["rows"] for f in manifest["files"])
    assert manifest["input"]["manifest_sha256"] == _sha256(chain.selected / "manifest.json")
    version = manifest["created_by"]
    assert version["version"] and (version["git_commit"] is None or len(version["git_commit"]) == 40)

    selected, ingested = manifest["lineage"]
    assert (selected["kind"], selected["depth"], selected["path"]) == ("select", 0, str(chain.selected))
    assert selected["rule"] == [part.strip() for part in RULE.split(" and ")]
    (attributes,) = selected["attribute_sets"]
    assert attributes["name"] == "length-v1" and attributes["mlflow_run_id"] == ATTRIBUTE_RUN_ID
    assert attributes["config_hash"] and attributes["path"] == str(chain.attributes)
    assert selected["parents"] == [str(chain.ingested)]
    assert (ingested["kind"], ingested["depth"], ingested["fingerprint_matches"]) == ("ingest", 1, True)
    assert ingested["manifest_sha256"] == _sha256(chain.ingested / "manifest.json")
    assert ingested["inputs"][0]["path"] == str(chain.source)
    assert ingested["inputs"][0]["sha256"] == _sha256(chain.source) and ingested["documents"] == 1000


def test_rerun_is_a_no_op_and_a_fresh_run_is_byte_identical(chain, parquet_export, tmp_path):
    out = parquet_export.out
    stamps = {p.name: p.stat().st_mtime_ns for p in (out / "data").iterdir()}
    again = run_export(chain.selected, out, ExportConfig(shard_rows=150, row_group_rows=64), tracking=False)
    assert again.skipped and again.manifest == parquet_export.manifest
    assert {p.name: p.stat().st_mtime_ns for p in (out / "data").iterdir()} == stamps

    fresh = run_export(
        chain.selected, tmp_path / "fresh", ExportConfig(shard_rows=150, row_group_rows=64), tracking=False
    )
    assert [f["sha256"] for f in fresh.manifest["files"]] == [f["sha256"] for f in parquet_export.manifest["files"]]
    assert fresh.manifest["config_hash"] == parquet_export.manifest["config_hash"]


def test_jsonl_zst_loads_in_datasets_and_datatrove_with_renamed_columns(chain, tmp_path):
    from datasets import load_dataset
    from datatrove.pipeline.readers import JsonlReader

    config = ExportConfig(
        format="jsonl.zst",
        columns="id,text,url,timestamp,lang_score",
        rename=["id=doc_id", "text=content"],
        shard_rows=0,
    )
    result = run_export(chain.selected, tmp_path / "jsonl", config, tracking=False)
    corpus = Corpus.open(chain.selected)
    nonempty = [s for s in corpus.manifest["shards"] if s["rows"]]
    assert [f["rows"] for f in result.manifest["files"]] == [s["rows"] for s in nonempty]  # one file per shard
    expected = _corpus_rows(chain, ("id", "text", "url", "timestamp", "lang_score"))

    loaded = load_dataset(
        "json", data_files=str(result.out / "data" / "*.jsonl.zst"), split="train", cache_dir=str(tmp_path / "hf")
    )
    assert loaded.column_names == ["doc_id", "content", "url", "timestamp", "lang_score"]
    assert loaded.num_rows == len(expected)
    assert {row["doc_id"]: row["content"] for row in loaded} == {i: r["text"] for i, r in expected.items()}
    first = loaded[0]
    want = expected[first["doc_id"]]
    assert first["timestamp"].replace(tzinfo=None) == want["timestamp"].replace(tzinfo=None)
    assert abs(first["lang_score"] - want["lang_score"]) < 1e-6

    reader = JsonlReader(str(result.out / "data"), id_key="doc_id", text_key="content")
    documents = list(reader.run())
    assert {d.id: (d.text, d.metadata["url"]) for d in documents} == {
        i: (r["text"], r["url"]) for i, r in expected.items()
    }
    assert result.manifest["how_to_load"]["datatrove"] == "JsonlReader(\"data\", text_key='content', id_key='doc_id')"


def test_interrupted_export_resumes_keeping_committed_files(chain, parquet_export, tmp_path, monkeypatch):
    import curation.export.job as job

    config = ExportConfig(shard_rows=150, row_group_rows=64)
    real, calls = job._write_file, []

    def dies_on_third(corpus, plan, tmp, *args):
        calls.append(plan.name)
        if len(calls) == 3:
            tmp.write_bytes(b"half a file")
            raise KeyboardInterrupt
        return real(corpus, plan, tmp, *args)

    monkeypatch.setattr(job, "_write_file", dies_on_third)
    out = tmp_path / "resumed"
    with pytest.raises(KeyboardInterrupt):
        run_export(chain.selected, out, config, tracking=False)
    assert not (out / "manifest.json").exists()
    assert sorted(p.name for p in (out / "data").iterdir()) == ["part-00000.parquet", "part-00001.parquet"]
    stamps = {p.name: p.stat().st_mtime_ns for p in (out / "data").iterdir()}

    monkeypatch.setattr(job, "_write_file", real)
    with pytest.raises(ConfigError, match="unfinished export with another config"):
        run_export(chain.selected, out, ExportConfig(shard_rows=100), tracking=False)
    result = run_export(chain.selected, out, config, tracking=False)
    assert not result.skipped and not (out / "_export_progress.json").exists()
    assert all((out / "data" / name).stat().st_mtime_ns == stamp for name, stamp in stamps.items())
    assert [f["sha256"] for f in result.manifest["files"]] == [f["sha256"] for f in parquet_export.manifest["files"]]


def test_bad_options_fail_before_any_work(chain, tmp_path):
    out = tmp_path / "never"
    with pytest.raises(ConfigError) as info:
        run_export(chain.selected, out, ExportConfig(columns="text,bogus"), tracking=False)
    message = str(info.value)
    assert "'bogus'" in message and "available: id, text, url, source, timestamp" in message
    assert "\n" not in message and not out.exists()
    with pytest.raises(ConfigError, match="'lang_score' is not exported"):
        run_export(chain.selected, out, ExportConfig(rename={"lang_score": "score"}), tracking=False)
    with pytest.raises(ConfigError, match="two output columns would be named 'url'"):
        run_export(chain.selected, out, ExportConfig(rename=["id=url"]), tracking=False)
    with pytest.raises(ConfigError, match="--format 'csv'"):
        ExportConfig(format="csv")
    with pytest.raises(ConfigError, match="--rename 'id'"):
        ExportConfig(rename=["id"])
    with pytest.raises(ConfigError, match="--shard-rows"):
        ExportConfig(shard_rows=-1)
    with pytest.raises(ConfigError, match="inside the input corpus"):
        run_export(chain.selected, chain.selected / "export", tracking=False)
    assert not out.exists()


def test_other_config_needs_overwrite_which_removes_old_files(chain, parquet_export, tmp_path):
    out = tmp_path / "switch"
    shutil.copytree(parquet_export.out, out)
    with pytest.raises(ConfigError, match="another config .* --overwrite"):
        run_export(chain.selected, out, ExportConfig(format="jsonl.zst"), tracking=False)
    result = run_export(chain.selected, out, ExportConfig(format="jsonl.zst"), tracking=False, overwrite=True)
    assert sorted(p.name for p in (out / "data").iterdir()) == [f["path"][5:] for f in result.manifest["files"]]
    assert all(name.endswith(".jsonl.zst") for name in (p.name for p in (out / "data").iterdir()))

    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("mine")
    with pytest.raises(ConfigError, match="is not empty"):
        run_export(chain.selected, tmp_path / "busy", tracking=False)


def test_row_counts_must_reconcile_with_the_corpus(chain, tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(chain.selected, broken)
    manifest = json.loads((broken / "manifest.json").read_text())
    manifest["counts"]["documents"] += 1
    (broken / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(CorpusError, match="the manifest counts"):
        run_export(broken, tmp_path / "out", tracking=False)
    assert not (tmp_path / "out").exists()
