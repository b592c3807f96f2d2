"""JSON Lines' gzip reader (ISA-L): the bytes and the errors of the standard library's ``gzip``."""

from __future__ import annotations

import gzip
import zlib

import pytest

from curation.readers.streams import CORRUPT_DEFLATE, open_decompressed

LINES = b"".join(b'{"id": %d, "text": "line %d"}\n' % (i, i) for i in range(20_000))


def _both(path) -> tuple[bytes, bytes]:
    with open_decompressed(str(path), "gzip", line_reader=True) as fh:
        ours = b"".join(fh)
    with gzip.open(path, "rb") as fh:
        return ours, fh.read()


@pytest.mark.parametrize(
    "content",
    [
        gzip.compress(LINES, mtime=0),
        gzip.compress(LINES[:70_000], mtime=0) + gzip.compress(LINES[70_000:], mtime=0),  # two members
        gzip.compress(LINES, mtime=0) + b"\0" * 4096 + gzip.compress(b"last\n", mtime=0) + b"\0" * 10,  # padding
        b"",  # an empty file: no members, no lines
        gzip.compress(b"", mtime=0),
        gzip.compress(b"\n" * 5_000_000, compresslevel=9, mtime=0),  # 5 MB from a few kB: inflated a MB at a time
    ],
    ids=["one member", "two members", "zero padding", "empty file", "empty member", "highly compressed"],
)
def test_reads_the_bytes_gzip_reads(tmp_path, content):
    path = tmp_path / "x.jsonl.gz"
    path.write_bytes(content)
    ours, theirs = _both(path)
    assert ours == theirs


def test_a_cut_stream_gives_every_line_before_the_cut_then_eoferror(tmp_path):
    whole = gzip.compress(LINES, mtime=0)
    path = tmp_path / "cut.jsonl.gz"
    path.write_bytes(whole[: len(whole) * 3 // 4])
    lines = []
    with pytest.raises(EOFError), open_decompressed(str(path), "gzip", line_reader=True) as fh:
        for line in fh:
            lines.append(line)
    with pytest.raises(EOFError), gzip.open(path, "rb") as fh:
        expected = []
        for line in fh:
            expected.append(line)
    assert len(lines) > 10_000 and [line for line in lines if line.endswith(b"\n")] == expected


@pytest.mark.parametrize("where", ["deflate", "crc"])
def test_corrupt_data_raises_what_the_reader_reports(tmp_path, where):
    damaged = bytearray(gzip.compress(LINES, mtime=0))
    damaged[len(damaged) // 2 if where == "deflate" else -6] ^= 0xFF
    path = tmp_path / "bad.jsonl.gz"
    path.write_bytes(bytes(damaged))
    with pytest.raises(CORRUPT_DEFLATE), open_decompressed(str(path), "gzip", line_reader=True) as fh:
        fh.read()
    assert zlib.error in CORRUPT_DEFLATE


def test_bytes_after_a_member_that_are_not_gzip_are_an_error_as_in_gzip(tmp_path):
    path = tmp_path / "trailing.jsonl.gz"
    path.write_bytes(gzip.compress(LINES, mtime=0) + b"not gzip")
    with pytest.raises(gzip.BadGzipFile), open_decompressed(str(path), "gzip", line_reader=True) as fh:
        fh.read()
    with pytest.raises(gzip.BadGzipFile), gzip.open(path, "rb") as fh:
        fh.read()
