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

_NEWLINES = str.maketrans({"\r": "\n", "\u2028": "\n", "\u2029": "\n", "\x85": "\n", "\x0b": "\n", "\x0c": "\n"})
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x84\x86-\x9f]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_HSPACE = re.compile(r"[^\S\n]+")
_BLANK_LINES = re.compile(r"\n{3,}")


def normalize_text(text: str) -> str:
    text = text.replace("\r\n", "\n").translate(_NEWLINES)
    text = _SURROGATE.sub("\ufffd", text)
    text = _CONTROL.sub("", text)
    text = unicodedata.normalize("NFC", text)
    text = _HSPACE.sub(" ", text)
    text = "\n".join(line.strip() for line in text.split("\n"))
    return _BLANK_LINES.sub("\n\n", text).strip("\n")


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
