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
from collections.abc import Sequence

# Explicit classes and str.replace: much faster in CPython than negated classes like [^\S\n].
_OTHER_NEWLINES = re.compile(r"[\x0b\x0c\x85\u2028\u2029]")
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x84\x86-\x9f]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_OTHER_SPACES = re.compile(r"[\t\xa0\u1680\u2000-\u200a\u202f\u205f\u3000]")
_SPACE_RUNS = re.compile(r"  +")
_BLANK_LINES = re.compile(r"\n{3,}")
# Every character the four classes above (and carriage return) change, in one class: most documents hold
# none or a few (a no-break space), so one scan with a lookup per match replaces four substitutions. The
# spaces are replaced before NFC here, after it in the rules' order: the same, since NFC turns no other
# character into one of these, and only U+2000 and U+2001 of them into another (U+2002, U+2003: spaces
# too). tests/text/test_normalize.py checks both over all of Unicode and against the rules one at a time.
_ANY_RULE = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ud800-\udfff]")


def _replacements() -> dict[str, str]:
    """What each character of ``_ANY_RULE`` becomes, by the first rule that names it."""
    rules = ((_OTHER_NEWLINES, "\n"), (_SURROGATE, "\ufffd"), (_CONTROL, ""), (_OTHER_SPACES, " "))
    table = {"\r": "\n"}
    for char in map(chr, [*range(0x3001), *range(0xD800, 0xE000)]):
        if char != "\r" and _ANY_RULE.match(char):
            table[char] = next(replacement for pattern, replacement in rules if pattern.match(char))
    return table


_REPLACEMENT = _replacements()


def normalize_text(text: str) -> str:
    # Every character of _ANY_RULE is unprintable (categories Cc, Zs but the space, Zl, Zp, Cs), so a text
    # that is printable once its newlines are set aside holds none: a copy and one C loop instead of a regex
    # scan, 5 against 10 us on a C4 document. Other unprintable characters (format ones such as U+00AD or
    # U+200B) leave the scan to decide.
    if not text.replace("\n", " ").isprintable():
        if "\r" in text:
            text = text.replace("\r\n", "\n")
        # Tabs and no-break spaces, most of the matches in text extracted from HTML, by str.replace: much faster
        # than a Python call per match (each character's replacement does not depend on its neighbours). Then
        # the same test again for the rest.
        text = text.replace("\t", " ").replace("\xa0", " ")
        if not text.replace("\n", " ").isprintable() and _ANY_RULE.search(text) is not None:
            text = _ANY_RULE.sub(lambda match: _REPLACEMENT[match.group()], text)  # a class alone scans fast
    if not text.isascii() and not unicodedata.is_normalized("NFC", text):
        text = unicodedata.normalize("NFC", text)
    if "  " in text:
        text = _SPACE_RUNS.sub(" ", text)
    text = text.replace(" \n", "\n").replace("\n ", "\n")  # after collapsing, at most one space sits there
    if "\n\n\n" in text:
        text = _BLANK_LINES.sub("\n\n", text)
    return text.strip("\n ")


# What `normalize_text` may change, as one RE2 pattern that Arrow runs over a whole batch: a character of
# _ANY_RULE (lone surrogates aside: an Arrow string cannot hold one), or the whitespace that rules 3 and 4
# change (a double space, a space beside a newline, three newlines, a space or newline at either end).
# RE2's ^ and $ match only at the ends of the text. tests/text/test_normalize.py checks the class against
# _ANY_RULE over all of Unicode and the batch against the text-at-a-time function.
_MAY_CHANGE_RE2 = (
    r"[\x{0}-\x{9}\x{b}-\x{1f}\x{7f}-\x{a0}\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}]"
    r"|  | \n|\n |\n\n\n|^[ \n]|[ \n]$"
)


def normalize_texts(texts: Sequence[str]) -> list[str]:
    """``[normalize_text(t) for t in texts]``, about 3x faster on web text: Arrow finds, in C++ over the whole
    batch, the texts that hold anything the rules change; the rest (98 in 100 C4 documents) are returned as
    they are once Python has checked that they are NFC, and only the others go through `normalize_text`."""
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        may_change = pc.match_substring_regex(pa.array(texts, pa.string()), _MAY_CHANGE_RE2).to_pylist()
    except UnicodeEncodeError:  # a lone surrogate somewhere in the batch: UTF-8, hence Arrow, cannot hold it
        return [normalize_text(text) for text in texts]
    return [
        normalize_text(text) if changes or not (text.isascii() or unicodedata.is_normalized("NFC", text)) else text
        for text, changes in zip(texts, may_change, strict=True)
    ]


def valid_unicode(text: str | None) -> str | None:
    """`text` with lone surrogates as U+FFFD. They come from JSON escapes such as ``"\\udc80"`` and from file
    names that are not UTF-8 (``os.fsdecode``); UTF-8 cannot encode them, so Arrow would refuse the row."""
    return text if not text or text.isascii() else _SURROGATE.sub("\ufffd", text)  # isascii: no scan


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
