"""The WARC reader inflates gzip members with zlib-ng instead of zlib (speed): it must read every file, whole, cut
or corrupted anywhere, exactly as it did with zlib: the same records, rejects, locators and details."""

from __future__ import annotations

import dataclasses
import zlib

import pytest

import curation.readers.warc as warc
from curation.readers import Split, plan_file, read_split
from tests.conftest import shared
from tests.reliability_bad_inputs.corpus import conversion, members, page, too_long

FIELDS = {"text": "text", "id": "id", "url": "url", "timestamp": "timestamp"}


def _zlib_member():
    return zlib.decompressobj(wbits=31)


def _read_all(path) -> list[tuple]:
    plan = plan_file(str(path), "auto", 1 << 30, None)
    items = []
    for index, (unit, start, stop) in enumerate(plan["ranges"]):
        split = Split(index, plan["path"], plan["format"], plan["layout"], unit, start, stop, plan["source"])
        items += [
            (type(item).__name__, dataclasses.asdict(item)) for item in read_split(split, FIELDS, 1 << 22, 1 << 22)
        ]
    return items


def _both(monkeypatch, path) -> tuple[list, list]:
    """What the reader yields for `path` with zlib-ng (the default) and with zlib inflating the members."""
    ours = _read_all(path)
    with monkeypatch.context() as patch:
        patch.setattr(warc, "_inflate_gzip_member", _zlib_member)
        reference = _read_all(path)
    return ours, reference


@pytest.fixture(scope="module")
def small_warc() -> bytes:
    """Four members: two pages, a record whose Content-Length is too long, a WET conversion."""
    return members(
        page("https://inflate.example/a"),
        page("https://inflate.example/b"),
        too_long(page("https://inflate.example/c"), 7),
        conversion("https://inflate.example/d", b"Converted text. " * 60),
    )


@pytest.fixture(scope="module")
def real_members() -> bytes:
    """The first three records of the trafilatura pages (real HTML, several deflate blocks a member)."""
    path = shared("web/trafilatura-eval-pages.warc.gz")
    offsets = warc.record_offsets(str(path))
    return path.read_bytes()[: offsets[3]]


def test_the_default_inflater_is_zlib_ng_not_zlib():
    assert type(warc._inflate_gzip_member()).__module__ == "zlib_ng"


def test_a_whole_real_file_reads_the_same(monkeypatch):
    path = shared("web/trafilatura-eval-pages.warc.gz")
    ours, reference = _both(monkeypatch, path)
    assert len(ours) == 923 and sum(kind == "RawRecord" for kind, _ in ours) > 900
    assert ours == reference


@pytest.mark.parametrize("source", ["small_warc", "real_members"])
def test_a_file_cut_anywhere_reads_the_same(request, monkeypatch, tmp_path, source):
    data = request.getfixturevalue(source)
    path = tmp_path / "cut.warc.gz"
    cuts = sorted({*range(1, len(data), max(1, len(data) // 150)), len(data) - 1, len(data) - 9})
    outcomes = set()
    for cut in cuts:
        path.write_bytes(data[:cut])
        ours, reference = _both(monkeypatch, path)
        assert ours == reference, f"cut at byte {cut}"
        outcomes.update(item["reason"] for kind, item in ours if kind != "RawRecord")
    assert {"truncated_record", "truncated_input"} & outcomes  # the cuts did reach the reader's damage paths


@pytest.mark.parametrize("source", ["small_warc", "real_members"])
def test_a_file_corrupted_anywhere_reads_the_same(request, monkeypatch, tmp_path, source):
    data = request.getfixturevalue(source)
    path = tmp_path / "corrupt.warc.gz"
    positions = range(0, len(data), max(1, len(data) // 150))
    differs_from_whole = 0
    whole = None
    for at in positions:
        damaged = bytearray(data)
        damaged[at] ^= 0x5A
        path.write_bytes(bytes(damaged))
        ours, reference = _both(monkeypatch, path)
        assert ours == reference, f"byte {at} corrupted"
        if whole is None:
            path.write_bytes(data)
            whole = _read_all(path)
        differs_from_whole += ours != whole
    assert differs_from_whole > len(positions) // 2  # most corruptions change what is read: they were seen
