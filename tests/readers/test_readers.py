"""Readers on the real quirky files of ../shared/data/web and on generated bad input."""

from collections import Counter

import pytest

from curation.readers import InputFailed, RawRecord, RecordRejected, Split, plan_file, read_split
from tests.bad_inputs import JSONL_LINES
from tests.conftest import shared

FIELDS = {"text": "text", "id": "id", "url": "url", "timestamp": "timestamp"}


def _read(split: Split):
    return list(read_split(split, FIELDS, 1 << 26, 8 << 20))


def _splits(path, split_bytes):
    plan = plan_file(str(path), "auto", split_bytes, None)
    return plan, [Split(i, plan["path"], plan["format"], plan["layout"], *r) for i, r in enumerate(plan["ranges"])]


def _summary(items):
    return Counter(type(i).__name__ if not isinstance(i, (RecordRejected, InputFailed)) else i.reason for i in items)


def test_single_stream_gzip_wet_is_read_anyway():
    path = shared("web/cc-main-2016-50-sample.warc.wet.gz")
    plan, splits = _splits(path, 1 << 30)
    assert plan["layout"] == "stream"  # warcio's default iterator refuses this file
    items = _read(splits[0])
    assert _summary(items) == {"RawRecord": 25, "warc_record_skipped": 1}
    assert all(not r.is_html and r.url and r.source_id for r in items if isinstance(r, RawRecord))


def test_truncated_wet_keeps_records_before_the_cut_and_reports_it():
    path = shared("web/cc-main-2017-30-sample.truncated.warc.wet.gz")
    _, splits = _splits(path, 1 << 30)
    items = _read(splits[0])
    assert _summary(items) == {"RawRecord": 43, "warc_record_skipped": 1, "truncated_record": 1}
    cut = [i for i in items if getattr(i, "reason", None) == "truncated_record"][0]
    assert "10300 bytes short" in cut.detail and cut.locator == "offset=120398"


@pytest.mark.parametrize(
    "name", ["trafilatura-eval-pages.warc.gz", "cc-main-2016-50-sample.warc.wet.gz", "c4-en-sample-1000.jsonl.gz"]
)
def test_splitting_a_big_file_reads_the_same_records(name):
    path = shared(f"web/{name}")
    _, whole = _splits(path, 1 << 30)
    plan, parts = _splits(path, 32 << 10)
    assert len(whole) == 1 and len(parts) > 2, plan["ranges"][:3]
    one = [(i.locator, getattr(i, "source_id", None)) for i in _read(whole[0])]
    many = [(i.locator, getattr(i, "source_id", None)) for s in parts for i in _read(s)]
    assert many == one


def test_plain_jsonl_byte_splits_partition_the_lines(tmp_path):
    path = tmp_path / "lines.jsonl"
    path.write_text("".join(f'{{"id": "{i}", "text": "line {i} {"x" * (i % 17)}"}}\n' for i in range(500)))
    plan, parts = _splits(path, 1000)
    assert plan["layout"] == "none" and len(parts) > 5
    ids = [i.source_id for s in parts for i in _read(s)]
    assert ids == [str(i) for i in range(500)]


def test_mixed_jsonl_rejects_with_reasons(bad_inputs):
    items = _read(Split(0, str(bad_inputs / "mixed.jsonl"), "jsonl", "none"))
    reader_level = {"malformed_json", "not_an_object", "missing_text", "bad_field_type"}
    expected = Counter(reason for _, reason in JSONL_LINES if reason in reader_level)
    assert Counter(i.reason for i in items if isinstance(i, RecordRejected)) == expected
    assert len(items) == len(JSONL_LINES)  # the blank lines at the end are not records
    assert all(i.locator.startswith("byte=") for i in items)


def test_truncated_gzip_jsonl(bad_inputs):
    items = _read(Split(0, str(bad_inputs / "cut.jsonl.gz"), "jsonl", "gzip"))
    assert isinstance(items[-1], InputFailed) and items[-1].reason == "truncated_input"
    kept = [i for i in items if isinstance(i, RawRecord)]
    assert kept and [r.source_id for r in kept] == [f"gz-{i}" for i in range(len(kept))]


def test_wrong_parquet_schema_is_an_input_failure(bad_inputs):
    items = _read(Split(0, str(bad_inputs / "wrong-schema.parquet"), "parquet", "none"))
    assert len(items) == 1 and items[0].reason == "wrong_schema" and "'text'" in items[0].detail


def test_generated_warc(bad_inputs):
    items = _read(Split(0, str(bad_inputs / "pages.warc.gz"), "warc", "members"))
    assert _summary(items) == {"RawRecord": 3, "non_html_payload": 1, "http_status": 1, "warc_record_skipped": 1}


def test_uncompressed_warc_splits_read_the_same_records(tmp_path):
    import gzip

    plain = tmp_path / "pages.warc"
    plain.write_bytes(gzip.decompress(shared("web/cc-sample-a.warc.gz").read_bytes()))
    plan, parts = _splits(plain, 64 << 10)
    _, whole = _splits(plain, 1 << 30)
    assert plan["layout"] == "plain" and len(parts) > 2
    one = [(i.locator, getattr(i, "source_id", None)) for i in _read(whole[0])]
    assert [(i.locator, getattr(i, "source_id", None)) for s in parts for i in _read(s)] == one
