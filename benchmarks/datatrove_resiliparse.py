"""Resiliparse as a datatrove extraction step, for ``ingest.py``'s ``datatrove-warc-resiliparse`` row.

Datatrove ships Trafilatura and ReadabilityInscriptis extractors, not Resiliparse. This is the subclass of
its ``BaseExtractor`` a datatrove user would write: the same ``extract_plain_text`` call with the same options
as our ``HtmlExtractor``, run in datatrove's sandboxed extraction subprocess like its own extractors. It leaves
out our nesting-depth check (``curation.text.extract.MAX_HTML_DEPTH``), which is work only ours does.
"""

from __future__ import annotations

from datatrove.pipeline.extractors.base import BaseExtractor


class Resiliparse(BaseExtractor):
    name = "⛏ Resiliparse"
    _requires_dependencies = ["resiliparse"]

    def __init__(self, timeout: float = 30):
        super().__init__(timeout)

    def extract(self, text: str) -> str:
        from resiliparse.extract.html2text import extract_plain_text
        from resiliparse.parse.html import HTMLTree

        return extract_plain_text(HTMLTree.parse(text), main_content=True, alt_texts=False, links=False, noscript=False)
