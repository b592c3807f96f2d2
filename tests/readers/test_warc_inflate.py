"""The WARC reader inflates gzip members with zlib-ng instead of zlib (speed): it must read every file, whole, cut
or corrupted anywhere, exactly as it did with zlib: the same records, rejects, locators and details."""

from __future__ import annotations

import dataclasses
import hashlib
import zlib

import pytest

import curation.readers.warc as warc
from curation.readers import plan_file, read_split, splits_of
from tests.conftest import shared
from tests.reliability_bad_inputs.corpus import conversion, members, page, too_long

FIELDS = {"text": "text", "id": "id", "url": "url", "timestamp": "timestamp"}


def _read_all(path) -> tuple[str, list[tuple[str, str]]]:
    """The file's layout, and each item the reader yields as (kind, digest of all its fields)."""
    plan = plan_file(str(path), "auto", 1 << 30, None)
    items = []
    for split in splits_of([plan]):
        for item in read_split(split, FIELDS, 1 << 22, 1 << 22):
            fields = dataclasses.asdict(item)
            items.append(
                (type(item).__name__, fields.get("reason", ""), hashlib.sha256(repr(fields).encode()).hexdigest())
            )
    return plan["layout"], items


def _both(monkeypatch, path) -> tuple[tuple, tuple]:
    """What the reader yields for `path` with zlib-ng (the default) and with zlib inflating the members."""
    ours = _read_all(path)
    made = []

    def zlib_member():
        made.append(1)
        return zlib.decompressobj(wbits=31)

    with monkeypatch.context() as patch:
        patch.setattr(warc, "_inflate_gzip_member", zlib_member)
        reference = _read_all(path)
    assert made or ours[0] != "members", "the reference read did not inflate with zlib"
    return ours, reference


def _first_member() -> bytes:
    return members(page("https://inflate.example/first"))


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


def test_the_reader_inflates_members_with_zlib_ng(tmp_path):
    assert type(warc._inflate_gzip_member()).__module__ == "zlib_ng"
    path = tmp_path / "one.warc.gz"
    path.write_bytes(_first_member())
    with path.open("rb") as fh:
        iterator = warc._iterator(fh)
        next(iter(iterator))
        assert type(iterator.reader.decompressor).__module__ == "zlib_ng"


def test_a_whole_real_file_reads_the_same(monkeypatch):
    path = shared("web/trafilatura-eval-pages.warc.gz")
    ours, reference = _both(monkeypatch, path)
    assert ours[0] == "members" and len(ours[1]) == 923 and sum(kind == "RawRecord" for kind, *_ in ours[1]) > 900
    assert ours == reference


# A whole first member goes before every cut or corrupted byte: the file then stays in the "members" layout,
# which warcio inflates member by member (damage in a file's first member makes it a gzip stream, read by Python's
# gzip module whichever inflater the reader has).
@pytest.mark.parametrize("source", ["small_warc", "real_members"])
def test_a_file_cut_anywhere_reads_the_same(request, monkeypatch, tmp_path, source):
    data = _first_member() + request.getfixturevalue(source)
    first = len(_first_member())
    path = tmp_path / "cut.warc.gz"
    cuts = sorted({*range(first + 1, len(data), max(1, (len(data) - first) // 150)), len(data) - 1, len(data) - 9})
    reasons, layouts = set(), []
    for cut in cuts:
        path.write_bytes(data[:cut])
        ours, reference = _both(monkeypatch, path)
        assert ours == reference, f"cut at byte {cut}"
        layouts.append(ours[0])
        reasons.update(reason for _, reason, _ in ours[1])
    assert "truncated_record" in reasons  # the cuts did reach the reader's damage paths
    assert layouts.count("members") > 0.9 * len(cuts)  # (a cut in the second member's header reads as a stream)


@pytest.mark.parametrize("source", ["small_warc", "real_members"])
def test_a_file_corrupted_anywhere_reads_the_same(request, monkeypatch, tmp_path, source):
    data = _first_member() + request.getfixturevalue(source)
    first = len(_first_member())
    path = tmp_path / "corrupt.warc.gz"
    path.write_bytes(data)
    whole = _read_all(path)
    positions = range(first, len(data), max(1, (len(data) - first) // 150))
    changed, layouts = 0, []
    for at in positions:
        damaged = bytearray(data)
        damaged[at] ^= 0x5A
        path.write_bytes(bytes(damaged))
        ours, reference = _both(monkeypatch, path)
        assert ours == reference, f"byte {at} corrupted"
        layouts.append(ours[0])
        changed += ours != whole
    assert changed > len(positions) // 2  # most corruptions change what is read: they were seen
    assert layouts.count("members") > 0.9 * len(positions)
