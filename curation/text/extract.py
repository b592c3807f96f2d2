"""HTML to main text with a real extractor: Resiliparse (default) or trafilatura.

Both are selectable with ``--extractor``; their quality on the trafilatura evaluation pages and
their speed are measured by ``benchmarks/extraction_quality.py`` and reported in ``docs/results.md``.
"""

from __future__ import annotations

import signal
import threading
from contextlib import contextmanager

EXTRACTORS = ("resiliparse", "trafilatura")


# Resiliparse's main-content extraction takes time quadratic in the nesting depth (20,000 nested <div>
# take about a minute), inside C code that the --extraction-timeout alarm cannot interrupt. Pages nested
# deeper than this are refused before extraction; Blink stops nesting at 512 too, and real pages stay far
# below (at most 42 levels on the 960 pages of the shared WARCs). The check (_check_depth) costs about
# 0.17 ms a page, about 6 % of a page's ingest (0.26 ms as one 513-level query; timed by hand on those pages,
# 2026-12-07).
MAX_HTML_DEPTH = 512


class ExtractionTimeout(Exception):
    pass


class HtmlTooDeep(Exception):
    pass


@contextmanager
def _time_limit(seconds: float):
    """Interrupt a runaway extraction; only possible on the main thread (Spark's Python workers are)."""
    if seconds <= 0 or threading.current_thread() is not threading.main_thread():
        yield
        return

    def _raise(signum, frame):
        raise ExtractionTimeout(f"extraction took longer than {seconds:g}s")

    previous = signal.signal(signal.SIGALRM, _raise)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def html_to_str(html: bytes, declared_charset: str | None = None) -> str:
    """Decode HTML bytes: the declared charset if Python knows it; else UTF-8 when the bytes are valid UTF-8
    and not all ASCII; else Resiliparse's detector.

    Bytes in a legacy encoding are almost never valid UTF-8 once they hold a non-ASCII byte. The detector, on
    the other hand, took valid UTF-8 for cp1252 or ISO-8859-11/13 on 10 of the 929 pages of the shared WARCs
    that declare no charset in their HTTP headers (all 10 declare UTF-8 in a meta tag) and made mojibake of
    them ("What’s" read as "Whatâ€™s"). Trying UTF-8 first is also cheaper than the detector, by about 0.1 ms
    a page. ASCII-only bytes still go to the detector, which knows the 7-bit encodings (ISO-2022, HZ). A
    byte-order mark is dropped, as `bytes_to_str` drops it.
    """
    import codecs

    from resiliparse.parse.encoding import bytes_to_str, detect_encoding

    try:
        encoding = codecs.lookup(declared_charset).name if declared_charset else None
    except LookupError:  # e.g. "utf8mb4", "none", "x-user-defined" from real servers
        encoding = None
    if encoding is None and not html.isascii():
        try:
            return html.decode("utf-8-sig")
        except UnicodeDecodeError:
            pass
    return bytes_to_str(html, encoding or detect_encoding(html))


def _at_depth(depth: int) -> str:
    """A CSS selector matched by some element of a tree exactly when the tree nests at least ``depth`` elements
    (``depth`` >= 2): elements with at least ``depth - 1`` element ancestors, of which only first element
    children are tried. That is enough: an element that deep has an ancestor-or-self at exactly ``depth``, whose
    parent's first element child is as deep (``:first-child`` passes over text and comments before it). Lexbor
    tries every candidate by walking up its ancestors, so fewer candidates cost less: 11 % less than ``*`` in
    the last place on the shared pages. Not for ``depth`` 1: a doctype comes before ``<html>``."""
    if depth < 2:
        raise ValueError("depth must be at least 2")
    return " > ".join(["*"] * (depth - 1) + ["*:first-child"])


# Two queries, in C: a short one that clears nearly every page, then the full one for pages nested deeper than
# the first looks. One 513-level query spends a third of its time parsing its selector, on every page.
_SCREEN_SELECTOR = _at_depth(min(64, MAX_HTML_DEPTH + 1))
_DEEP_SELECTOR = _at_depth(MAX_HTML_DEPTH + 1)


def _check_depth(tree) -> None:
    """Raise HtmlTooDeep when an element sits deeper than MAX_HTML_DEPTH."""
    document = tree.document
    if document is None or document.query_selector(_SCREEN_SELECTOR) is None:
        return
    if document.query_selector(_DEEP_SELECTOR) is not None:
        raise HtmlTooDeep(f"HTML nested deeper than {MAX_HTML_DEPTH} elements")


class HtmlExtractor:
    def __init__(self, name: str = "resiliparse", timeout_s: float = 30.0):
        if name not in EXTRACTORS:
            from curation.errors import ConfigError

            raise ConfigError(f"unknown extractor {name!r}; choose one of {', '.join(EXTRACTORS)}")
        self.name = name
        self.timeout_s = timeout_s

    def check(self) -> None:
        """Fail fast, before any work, when the extractor's library cannot be imported."""
        from curation.errors import ConfigError

        module = "resiliparse.extract.html2text" if self.name == "resiliparse" else "trafilatura"
        try:
            __import__(module)
        except ImportError as exc:
            raise ConfigError(f"extractor {self.name!r} is not usable: {exc}".replace("\n", " ")) from exc

    def extract(self, html: str) -> str:
        """Main text of a page ('' when the page has none). May raise ExtractionTimeout."""
        with _time_limit(self.timeout_s):
            if self.name == "resiliparse":
                from resiliparse.extract.html2text import extract_plain_text
                from resiliparse.parse.html import HTMLTree

                tree = HTMLTree.parse(html)
                _check_depth(tree)
                return extract_plain_text(tree, main_content=True, alt_texts=False, links=False, noscript=False)
            import trafilatura

            return (
                trafilatura.extract(
                    html, favor_precision=True, include_comments=False, include_tables=True, deduplicate=False
                )
                or ""
            )
