"""How far a remote read fetches ahead: a probe a little, a byte-range split at most its range
(benchmarks/object_store.py counts the bytes an S3-protocol server serves)."""

from __future__ import annotations

import pytest

from curation.readers.records import Split
from curation.storage import PROBE_READ_AHEAD, READ_BLOCK_BYTES


def _record_read_ahead(monkeypatch) -> list[int]:
    import io

    import curation.readers.jsonl as jsonl

    seen: list[int] = []

    def fake_open(path, layout, read_ahead=READ_BLOCK_BYTES, line_reader=False):
        assert line_reader  # JSON Lines read whole lines: gzip through ISA-L
        seen.append(read_ahead)
        return io.BytesIO(b'{"id": "a", "text": "one"}\n' * 40)

    monkeypatch.setattr(jsonl, "open_decompressed", fake_open)
    return seen


@pytest.mark.parametrize(
    ("start", "stop", "layout", "expected"),
    [
        (0, 100_000, "none", 100_000 + PROBE_READ_AHEAD),  # a small byte range: its length and a line more
        (0, 64 << 20, "none", READ_BLOCK_BYTES),  # a large one: the default block
        (0, None, "none", READ_BLOCK_BYTES),  # the whole file
        (0, None, "gzip", READ_BLOCK_BYTES),  # a compressed stream
    ],
)
def test_a_byte_range_split_reads_ahead_no_further_than_its_end(monkeypatch, start, stop, layout, expected):
    from curation.readers.jsonl import read_jsonl

    seen = _record_read_ahead(monkeypatch)
    split = Split(0, "s3://b/x.jsonl", "jsonl", layout, "byte", start, stop, "x")
    records = list(read_jsonl(split, {"text": "text", "id": "id"}, 1 << 20))
    assert records and seen == [expected]


def test_remote_files_fetch_the_read_ahead_asked_for(s3_server, s3_client, monkeypatch):
    from curation.storage import open_binary

    for key, value in s3_server.items():
        monkeypatch.setenv(key, value)
    s3_client.create_bucket(Bucket="read-ahead")
    s3_client.put_object(Bucket="read-ahead", Key="a.bin", Body=b"x" * 300_000)
    for read_ahead in (PROBE_READ_AHEAD, READ_BLOCK_BYTES):
        with open_binary("s3://read-ahead/a.bin", read_ahead) as fh:
            assert fh.read(4) == b"xxxx"
            assert fh.raw.remote.blocksize == read_ahead
            assert fh.raw.remote.cache.blocksize == read_ahead
