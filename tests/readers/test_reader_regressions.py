"""Regressions: bugs the bad-input corpus and the fuzzers (tests/reliability_bad_inputs) found in the readers.

Each was a crash, a whole file lost for one bad record, a silent loss, or a multi-line message; each test builds
the smallest input that showed it and checks the record-level outcome now.
"""

from __future__ import annotations

import os
from collections import Counter

import pytest

from curation.readers import RawRecord, Split, plan_file, read_split
from curation.readers.streams import gzip_has_many_members
from tests.bad_inputs import GOOD_TEXT, parquet_bytes
from tests.reliability_bad_inputs.corpus import (
    conversion,
    cut_stream,
    http_block,
    members,
    one_stream,
    page,
    too_long,
    warc_record,
)

FIELDS = {"text": "text", "id": "id", "url": "url", "timestamp": "timestamp"}


def _outcomes(path, split_bytes: int = 1 << 30) -> list[tuple[str, str]]:
    """(locator, "record" or the reason) of everything the reader yields, over every split of the file."""
    plan = plan_file(str(path), "auto", split_bytes, None)
    items = []
    for index, (unit, start, stop) in enumerate(plan["ranges"]):
        split = Split(index, plan["path"], plan["format"], plan["layout"], unit, start, stop, plan["source"])
        items += list(read_split(split, FIELDS, 1 << 20, 1 << 20))
    assert all("\n" not in getattr(item, "detail", "") for item in items)  # one line per problem
    return [(i.locator, "record" if isinstance(i, RawRecord) else i.reason) for i in items]


def _summary(path, split_bytes: int = 1 << 30) -> Counter:
    return Counter(outcome for _, outcome in _outcomes(path, split_bytes))


def _write(tmp_path, name: str, data: bytes):
    path = tmp_path / name
    path.write_bytes(data)
    return path


def _doc(doc_id: str) -> bytes:
    return b'{"id": "%s", "text": "%s"}' % (doc_id.encode(), GOOD_TEXT.encode())


# ---------------------------------------------------------------------------------------------- JSON Lines
def test_deeply_nested_json_rejects_its_line_not_the_rest_of_the_file(tmp_path):
    # was: RecursionError escaped the line, and the file failed as unreadable_input from there on
    deep = b'{"id": "deep", "n": ' + b"[" * 5000 + b"]" * 5000 + b"}"
    path = _write(tmp_path, "deep.jsonl", b"\n".join([_doc("a"), deep, _doc("b")]) + b"\n")
    assert _summary(path) == {"record": 2, "malformed_json": 1}


def test_a_byte_order_mark_does_not_make_the_first_line_malformed(tmp_path):
    path = _write(tmp_path, "bom.jsonl", b"\xef\xbb\xbf" + _doc("a") + b"\n" + _doc("b") + b"\n")
    assert _summary(path) == {"record": 2}


def test_a_cut_zstd_frame_is_reported(tmp_path):
    # was: zstandard's stream reader ends silently at a cut frame: its records vanished without a word
    import zstandard

    frames = [zstandard.ZstdCompressor().compress(_doc(f"z{i}") + b"\n") for i in range(3)]
    path = _write(tmp_path, "cut.jsonl.zst", frames[0] + frames[1] + frames[2][:-4])
    assert _summary(path) == {"record": 2, "truncated_input": 1}


def test_corrupt_gzip_is_unreadable_not_truncated(tmp_path):
    path = _write(tmp_path, "bad.jsonl.gz", b"\x1f\x8b\x08\x00" + bytes(range(256)) * 8)
    assert _summary(path) == {"unreadable_input": 1}


def test_dictionary_encoded_parquet_text_is_text(tmp_path):
    import pyarrow as pa

    text = pa.array([GOOD_TEXT, GOOD_TEXT + " 2"]).dictionary_encode()
    path = _write(tmp_path, "dict.parquet", parquet_bytes({"text": text}))
    assert _summary(path) == {"record": 2}


def test_a_damaged_parquet_page_is_one_line(tmp_path):
    data = bytearray(parquet_bytes({"text": [GOOD_TEXT] * 3, "id": ["a", "b", "c"]}))
    data[4:40] = b"\xff" * 36  # the first column chunk's page header
    path = _write(tmp_path, "damaged.parquet", bytes(data))
    assert set(_summary(path)) <= {"unreadable_input", "record", "missing_text"}  # and _outcomes checks one line


# ---------------------------------------------------------------------------------------------- WARC / WET
def test_a_zero_length_response_is_one_empty_record(tmp_path):
    # was: EOFError parsing its (absent) HTTP headers: "truncated_input", and every later record lost
    data = members(
        page("https://z.example/a"), warc_record(b"", uri="https://z.example/0"), page("https://z.example/b")
    )
    path = _write(tmp_path, "zero.warc.gz", data)
    assert _outcomes(path)[1][1] == "empty_text" and _summary(path) == {"record": 2, "empty_text": 1}


@pytest.mark.parametrize("layout", ["members", "plain", "stream"])
def test_an_invalid_content_length_costs_its_record(tmp_path, layout):
    records = [page("https://l.example/a"), page("https://l.example/bad", length="abc"), page("https://l.example/b")]
    data = {"members": members(*records), "plain": b"".join(records), "stream": one_stream(*records)}[layout]
    path = _write(tmp_path, f"length.warc{'' if layout == 'plain' else '.gz'}", data)
    summary = _summary(path)
    assert summary["malformed_record"] == 1 and summary["record"] >= 1
    # seekable layouts find the next record; in one gzip stream the rest of the file cannot be searched
    assert summary == (
        {"record": 1, "malformed_record": 1, "unreadable_input": 1}
        if layout == "stream"
        else {"record": 2, "malformed_record": 1}
    )


@pytest.mark.parametrize("layout", ["members", "plain"])
def test_a_corrupt_warc_header_is_skipped_to_the_next_record(tmp_path, layout):
    # was: "Invalid WARC record" failed the file: every record after it lost
    records = [
        page("https://v.example/a"),
        page("https://v.example/bad", version="WARC/9.9"),
        page("https://v.example/b"),
    ]
    data = members(*records) if layout == "members" else b"".join(records)
    path = _write(tmp_path, f"version.warc{'.gz' if layout == 'members' else ''}", data)
    outcomes = _outcomes(path)
    assert [o for _, o in outcomes] == ["record", "malformed_record", "record"]
    assert _outcomes(path, split_bytes=64) == outcomes  # the same when the file is split


def test_a_garbage_gzip_member_is_skipped(tmp_path):
    data = (
        members(page("https://g.example/a")) + b"\x1f\x8b\x08\x00" + bytes(300) + members(page("https://g.example/b"))
    )
    path = _write(tmp_path, "member.warc.gz", data)
    assert _summary(path) == {"record": 2, "malformed_record": 1}


@pytest.mark.parametrize("extra", [-200, 37])
def test_a_wrong_content_length_mid_file_keeps_the_records_after_it(tmp_path, extra, capfd):
    # was: warcio printed a multi-line WARNING to stderr and the records after it were lost or misread
    records = [page(f"https://w.example/{i}") for i in range(4)]
    records[1] = too_long(records[1], extra)
    path = _write(tmp_path, "length.warc", b"".join(records))
    assert [o for _, o in _outcomes(path)] == ["record", "wrong_content_length", "record", "record"]
    assert "WARNING" not in capfd.readouterr().err


def test_a_member_shorter_than_its_content_length_mid_file(tmp_path):
    records = [page("https://m.example/a"), too_long(page("https://m.example/long"), 50), page("https://m.example/b")]
    path = _write(tmp_path, "long.warc.gz", members(*records))
    assert [o for _, o in _outcomes(path)] == ["record", "wrong_content_length", "record"]


def test_concatenated_single_stream_wets_are_read_as_a_stream(tmp_path):
    # was: taken for one member per record; warcio's "non-chunked gzip" error after the first member's records
    first = one_stream(*(conversion(f"https://c.example/a{i}", GOOD_TEXT.encode()) for i in range(3)))
    second = one_stream(*(conversion(f"https://c.example/b{i}", GOOD_TEXT.encode()) for i in range(3)))
    path = _write(tmp_path, "two.warc.wet.gz", first + second)
    assert not gzip_has_many_members(str(path))
    assert _summary(path) == {"record": 6}


def test_a_small_cut_stream_keeps_what_was_decompressed(tmp_path):
    # was: a cut inside the last 16 KiB of a gzip stream lost that whole block: here, every record
    records = [conversion(f"https://s.example/{i}", (f"text {i} " * 50).encode()) for i in range(3)]
    path = _write(tmp_path, "cut.warc.wet.gz", cut_stream(records))
    assert [o for _, o in _outcomes(path)] == ["record", "record", "truncated_record"]


def test_an_http_status_line_without_a_code_is_a_malformed_record(tmp_path):
    block = b"\x00\x01 not a status line\r\n\r\nbody"
    path = _write(
        tmp_path, "status.warc.gz", members(warc_record(block, uri="dns:x.example"), page("https://x.example/"))
    )
    assert _summary(path) == {"malformed_record": 1, "record": 1}


def test_binary_content_labelled_html_is_not_a_document(tmp_path):
    noise = bytes((i * 7919) % 256 for i in range(3000))
    path = _write(tmp_path, "bin.warc.gz", members(warc_record(http_block(noise), uri="https://b.example/")))
    assert _summary(path) == {"non_html_payload": 1}


def test_one_member_per_record_is_still_seekable(tmp_path):
    path = _write(tmp_path, "pages.warc.gz", members(*(page(f"https://p.example/{i}") for i in range(3))))
    assert gzip_has_many_members(str(path))
    assert _outcomes(path, split_bytes=64) == _outcomes(path)


def test_an_input_failure_ends_its_split(tmp_path):
    path = _write(
        tmp_path, "stream.warc.gz", one_stream(page("https://f.example/a"), page("https://f.example/b", version="X"))
    )
    items = _outcomes(path)
    assert [o for _, o in items] == ["record", "unreadable_input"]


def test_file_names_that_are_not_utf8(tmp_path):
    path = tmp_path / os.fsdecode(b"name-\xff.jsonl")
    path.write_bytes(_doc("a") + b"\n")
    assert _summary(path) == {"record": 1}  # the rows written from it: tests/ingest/test_process_regressions.py


@pytest.mark.parametrize("layout", ["members", "plain"])
def test_a_record_without_content_length_does_not_swallow_the_file(tmp_path, layout):
    # found by the fuzzer: warcio reads a record without a length to the end of the input
    bad = page("https://n.example/no-length")
    head, _, rest = bad.partition(b"Content-Length: ")
    records = [page("https://n.example/a"), head + rest.partition(b"\r\n")[2], page("https://n.example/b")]
    data = members(*records) if layout == "members" else b"".join(records)
    path = _write(tmp_path, f"nolength.warc{'.gz' if layout == 'members' else ''}", data)
    assert [o for _, o in _outcomes(path)] == ["record", "malformed_record", "record"]
    assert _outcomes(path, split_bytes=64) == _outcomes(path)


def test_junk_after_a_record_start_is_not_read_as_an_arc_record(tmp_path):
    # found by the fuzzer: "WARC/" and junk parsed as an ARC header line, and every WARC record after it refused
    junk = b"WARC/ur and water over several days.</p><p>Paragraph 7 explains\r\n\r\n"
    records = [page("https://j.example/a"), junk, page("https://j.example/b"), page("https://j.example/c")]
    path = _write(tmp_path, "junk.warc.gz", members(*records))
    assert [o for _, o in _outcomes(path)] == ["record", "malformed_record", "record", "record"]
    assert _outcomes(path, split_bytes=64) == _outcomes(path)


def test_warcio_offsets_going_back_do_not_make_reading_go_round_in_circles(tmp_path):
    # found by the fuzzer: after a member shorter than its Content-Length, warcio's offsets are off; junk after
    # the next record then sent the reader back to that record, again and again (memory grew by the GB)
    short = page("https://o.example/short")
    member_short = short.replace(b"Paragraph 7 explains how a starter ferments flour and water over several", b"")
    resource = warc_record(
        b"plain text resource " * 5, rtype="resource", uri="https://o.example/t", content_type="text/plain"
    )
    junk = resource[resource.index(b"WARC-Date") - 20 :]  # the end of a header line, and a whole record again
    path = _write(tmp_path, "loop.warc.gz", members(page("https://o.example/a"), member_short, resource + junk))
    outcomes = _outcomes(path)
    assert [o for _, o in outcomes] == ["record", "wrong_content_length", "record", "unreadable_input"]
    assert _outcomes(path, split_bytes=64) == outcomes
