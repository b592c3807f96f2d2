"""``benchmarks/datatrove_resiliparse.py``: the WARC benchmark's datatrove side with Resiliparse must run the
same extractor as ours, or its ratio compares two different amounts of work."""

from __future__ import annotations

import sys

from tests.conftest import REPO, shared

sys.path.insert(0, str(REPO / "benchmarks"))


def _pages(limit: int) -> list[str]:
    from warcio.archiveiterator import ArchiveIterator

    from curation.text.extract import html_to_str

    pages = []
    with open(shared("web/trafilatura-eval-pages.warc.gz"), "rb") as fh:
        for record in ArchiveIterator(fh):
            if record.rec_type == "response":
                pages.append(html_to_str(record.content_stream().read()))
                if len(pages) == limit:
                    break
    return pages


def test_datatrove_resiliparse_extracts_what_ours_extracts():
    from datatrove_resiliparse import Resiliparse

    from curation.text.extract import HtmlExtractor

    theirs, ours = Resiliparse(timeout=30), HtmlExtractor("resiliparse")
    pages = _pages(60)
    texts = [theirs.extract(page) for page in pages]
    assert texts == [ours.extract(page) for page in pages]
    assert sum(bool(text.strip()) for text in texts) >= 50  # real main text, not empty strings on both sides
    other = HtmlExtractor("trafilatura")  # a different extractor would show
    assert [other.extract(page) for page in pages[:10]] != texts[:10]
