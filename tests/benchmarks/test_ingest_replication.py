"""The ingest benchmark's WARC copies (``benchmarks/ingest.py``, ``replicate_warc``): the same records, new ids
in every copy but the first, and Common Crawl's payload-type header on every response record unless the
benchmark is asked for the file as it is."""

from __future__ import annotations

import sys

from tests.conftest import REPO, shared

sys.path.insert(0, str(REPO / "benchmarks"))


def _records(path, rec_type: str | None = "response"):
    from warcio.archiveiterator import ArchiveIterator

    with open(path, "rb") as fh:
        return [
            (dict(record.rec_headers.headers), record.content_stream().read())
            for record in ArchiveIterator(fh)
            if rec_type is None or record.rec_type == rec_type
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
    others = [headers for headers, _ in _records(paths[1], None) if headers["WARC-Type"] != "response"]
    assert others and all("WARC-Identified-Payload-Type" not in headers for headers in others)  # warcinfo, request


def test_a_payload_type_already_there_is_kept_as_it_is(tmp_path):
    import io

    from ingest import replicate_warc
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    src = tmp_path / "src.warc.gz"
    with open(src, "wb") as fh:
        writer = WARCWriter(fh, gzip=True)
        http = StatusAndHeaders("200 OK", [("Content-Type", "text/html")], protocol="HTTP/1.1")
        for url, identified in (("https://a.example/", "application/xhtml+xml"), ("https://b.example/", None)):
            extra = {"WARC-Identified-Payload-Type": identified} if identified else None
            record = writer.create_warc_record(
                url, "response", payload=io.BytesIO(b"<p>x</p>"), http_headers=http, warc_headers_dict=extra
            )
            writer.write_record(record)
    from warcio.archiveiterator import ArchiveIterator

    copy = replicate_warc(src, tmp_path / "warc", 1)[0]
    with open(copy, "rb") as fh:
        types = [
            [value for name, value in record.rec_headers.headers if name == "WARC-Identified-Payload-Type"]
            for record in ArchiveIterator(fh)
        ]
    assert types == [["application/xhtml+xml"], ["text/html"]]  # one each: none added beside one already there


def test_as_is_the_first_copy_is_the_source_byte_for_byte(tmp_path):
    from ingest import replicate_warc

    src = shared("web/cc-sample-a.warc.gz")
    paths = replicate_warc(src, tmp_path / "warc", 2, add_payload_type=False)
    assert paths[0].read_bytes() == src.read_bytes()
    assert all("WARC-Identified-Payload-Type" not in headers for headers, _ in _records(paths[1]))
