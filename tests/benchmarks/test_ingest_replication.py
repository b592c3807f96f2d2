"""The ingest benchmark's WARC copies (``benchmarks/ingest.py``, ``replicate_warc``): the same records, new ids
in every copy but the first, and Common Crawl's payload-type header on every response record unless the
benchmark is asked for the file as it is."""

from __future__ import annotations

import sys

from tests.conftest import REPO, shared

sys.path.insert(0, str(REPO / "benchmarks"))


def _records(path):
    from warcio.archiveiterator import ArchiveIterator

    with open(path, "rb") as fh:
        return [
            (dict(record.rec_headers.headers), record.content_stream().read())
            for record in ArchiveIterator(fh)
            if record.rec_type == "response"
        ]


def test_copies_carry_the_payload_type_and_new_ids(tmp_path):
    from ingest import replicate_warc

    src = shared("web/cc-sample-a.warc.gz")
    source = _records(src)
    assert source and all("WARC-Identified-Payload-Type" not in headers for headers, _ in source)
    paths = replicate_warc(src, tmp_path / "warc", 3)
    assert [p.name for p in paths] == ["copy-000.warc.gz", "copy-001.warc.gz", "copy-002.warc.gz"]
    ids = []
    for path in paths:
        records = _records(path)
        assert [payload for _, payload in records] == [payload for _, payload in source]
        assert all(headers["WARC-Identified-Payload-Type"] == "text/html" for headers, _ in records)
        for (headers, _), (original, _) in zip(records, source, strict=True):
            assert {
                k: v for k, v in headers.items() if k not in ("WARC-Record-ID", "WARC-Identified-Payload-Type")
            } == {k: v for k, v in original.items() if k != "WARC-Record-ID"}
        ids.append([headers["WARC-Record-ID"] for headers, _ in records])
    assert ids[0] == [headers["WARC-Record-ID"] for headers, _ in source]  # copy 0 keeps its ids
    assert len({i for copy in ids for i in copy}) == 3 * len(source)  # the others get new ones


def test_as_is_the_first_copy_is_the_source_byte_for_byte(tmp_path):
    from ingest import replicate_warc

    src = shared("web/cc-sample-a.warc.gz")
    paths = replicate_warc(src, tmp_path / "warc", 2, payload_type=False)
    assert paths[0].read_bytes() == src.read_bytes()
    assert all("WARC-Identified-Payload-Type" not in headers for headers, _ in _records(paths[1]))
