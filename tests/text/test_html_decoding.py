"""How HTML bytes become a string (`html_to_str`): the declared charset, else UTF-8 when the bytes are valid
UTF-8 with a non-ASCII byte, else Resiliparse's detector."""

from __future__ import annotations

import re

from resiliparse.parse.encoding import bytes_to_str, detect_encoding

from curation.text.extract import html_to_str
from tests.conftest import shared


def _detected(html: bytes) -> str:
    """What every page without a declared charset got before (ingest rules version 1)."""
    return bytes_to_str(html, detect_encoding(html))


def test_valid_utf8_is_read_as_utf8_where_the_detector_guesses_cp1252():
    html = "<p>What’s your ATL?</p>".encode()
    assert detect_encoding(html) != "utf-8"  # the detector's mistake this rule is about
    assert _detected(html) == "<p>Whatâ€™s your ATL?</p>"
    assert html_to_str(html) == "<p>What’s your ATL?</p>"


def test_a_byte_order_mark_is_dropped_as_bytes_to_str_drops_it():
    html = b"\xef\xbb\xbf<p>Gr\xc3\xbc\xc3\x9fe</p>"
    assert html_to_str(html) == "<p>Grüße</p>" == bytes_to_str(html, "utf-8")


def test_ascii_only_bytes_go_to_the_detector_which_knows_7_bit_encodings():
    html = "<p>日本語のテキストです。これはテストです。</p>".encode("iso2022_jp")
    assert html.isascii() and detect_encoding(html) == "iso2022_jp"
    assert html_to_str(html) == "<p>日本語のテキストです。これはテストです。</p>"


def test_bytes_that_are_not_utf8_go_to_the_detector():
    for text, codec in (
        ("<p>Привет, как дела? Это тестовая страница на русском языке.</p>", "cp1251"),
        ("<p>Les élèves étaient très fatigués après la fête à l'école; ils sont rentrés à pied.</p>", "cp1252"),
    ):
        html = text.encode(codec)
        assert detect_encoding(html) == codec  # decoded by what the detector says, not by a fallback
        assert html_to_str(html) == _detected(html) == text


def test_a_declared_charset_still_wins_over_utf8():
    html = "<p>Grüße</p>".encode()
    assert html_to_str(html, "iso-8859-1") == "<p>GrÃ¼Ã\x9fe</p>"


def test_real_pages_change_only_where_the_detector_made_mojibake():
    """On the 923 evaluation pages (none declares a charset in its HTTP headers): pages that are not valid UTF-8,
    or are all ASCII, decode as before; the valid UTF-8 pages decode as UTF-8. Where that differs from the
    detector's reading, the detector had taken the UTF-8 bytes for another codec, and the page's own meta tag
    says UTF-8."""
    from curation.readers import RawRecord, plan_file, read_split, splits_of

    plan = plan_file(str(shared("web/trafilatura-eval-pages.warc.gz")), "auto", 1 << 62, None)
    (split,) = splits_of([plan])
    pages = [item for item in read_split(split, {}, 1 << 26, 1 << 23) if isinstance(item, RawRecord)]
    assert len(pages) == 923
    changed = 0
    for raw in pages:
        html = raw.payload
        assert raw.charset is None
        try:
            utf8 = html.decode("utf-8-sig")
        except UnicodeDecodeError:
            utf8 = None
        if utf8 is None or html.isascii():
            assert html_to_str(html) == _detected(html)
            continue
        assert html_to_str(html) == utf8
        before = _detected(html)
        if before != utf8:
            changed += 1
            assert before == html.decode(detect_encoding(html)), raw.url  # the UTF-8 bytes read as another codec
            assert re.search(rb"<meta[^>]*charset=[\"']?utf-?8", html, re.IGNORECASE), raw.url  # and said UTF-8
    assert 5 <= changed <= 20  # 9 when written: the rule is exercised, and changes few pages
