"""Unicode and whitespace normalisation applied to every document's text.

Rules, in order:
1. Unicode NFC.
2. Control characters (category Cc, which includes NUL) are removed, except newline and tab;
   carriage returns become newlines; other line/paragraph separators (U+2028, U+2029, U+0085)
   become newlines; lone surrogates and non-characters become U+FFFD.
3. Runs of horizontal whitespace (tabs, spaces, NBSP and other Zs) collapse to one space;
   lines are stripped at both ends.
4. Three or more consecutive newlines collapse to two (one blank line); leading and trailing
   blank lines are dropped.
"""

from __future__ import annotations

import codecs
import re
import unicodedata

# Explicit classes and str.replace: much faster in CPython than negated classes like [^\S\n].
_OTHER_NEWLINES = re.compile(r"[\x0b\x0c\x85\u2028\u2029]")
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x84\x86-\x9f]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_OTHER_SPACES = re.compile(r"[\t\xa0\u1680\u2000-\u200a\u202f\u205f\u3000]")
_SPACE_RUNS = re.compile(r"  +")
_BLANK_LINES = re.compile(r"\n{3,}")


def normalize_text(text: str) -> str:
    text = _OTHER_NEWLINES.sub("\n", text.replace("\r\n", "\n").replace("\r", "\n"))
    text = _SURROGATE.sub("\ufffd", text)
    text = _CONTROL.sub("", text)
    if not unicodedata.is_normalized("NFC", text):
        text = unicodedata.normalize("NFC", text)
    text = _OTHER_SPACES.sub(" ", text)
    if "  " in text:
        text = _SPACE_RUNS.sub(" ", text)
    text = text.replace(" \n", "\n").replace("\n ", "\n")  # after collapsing, at most one space sits there
    if "\n\n\n" in text:
        text = _BLANK_LINES.sub("\n\n", text)
    return text.strip("\n ")


def valid_unicode(text: str | None) -> str | None:
    """`text` with lone surrogates as U+FFFD. They come from JSON escapes such as ``"\\udc80"`` and from file
    names that are not UTF-8 (``os.fsdecode``); UTF-8 cannot encode them, so Arrow would refuse the row."""
    return _SURROGATE.sub("\ufffd", text) if text else text


def decode_bytes(data: bytes, encoding: str | None = None) -> tuple[str, int]:
    """Decode bytes as `encoding` (default UTF-8); return the text and the count of invalid sequences.

    Invalid sequences become U+FFFD rather than killing the record; the caller decides whether the
    damage is tolerable (see ``IngestConfig.max_invalid_utf8_fraction``).
    """
    codec = encoding or "utf-8"
    try:
        codecs.lookup(codec)
    except LookupError:
        codec = "utf-8"
    try:
        return data.decode(codec), 0
    except UnicodeDecodeError:
        text = data.decode(codec, errors="replace")
        genuine = data.count("\ufffd".encode("utf-8")) if codec.replace("-", "").lower() == "utf8" else 0
        return text, text.count("\ufffd") - genuine
