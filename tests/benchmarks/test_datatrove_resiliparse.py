"""``benchmarks/datatrove_resiliparse.py``: the WARC benchmark's datatrove side with Resiliparse must run the
same extractor as ours, or its ratio compares two different amounts of work."""

from __future__ import annotations

import sys

from tests.conftest import REPO, shared

sys.path.insert(0, str(REPO / "benchmarks"))


def _pages(limit: int) -> list[str]:
    """The first pages of the shared WARC as ingest hands them to the extractor (the reader, then
    ``html_to_str`` with the declared charset): extraction_quality.py's own reading."""
    from extraction_quality import decoded_html, read_pages

    pages, _ = read_pages(shared("web/trafilatura-eval-pages.warc.gz"), limit)
    decoded_html(pages)
    return [page["html"] for page in pages if "html" in page]


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
