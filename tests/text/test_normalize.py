import pytest

from curation.text.normalize import decode_bytes, normalize_text


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Cafe\u0301", "Caf\u00e9"),  # NFC composes the accent
        ("a\u0000b\u0007c", "abc"),  # NUL and other controls removed
        ("tab\there  and   spaces", "tab here and spaces"),
        ("line one  \r\nline two\rline three", "line one\nline two\nline three"),
        ("para 1\n\n\n\n\npara 2", "para 1\n\npara 2"),
        ("\n\n  padded  \n\n", "padded"),
        ("nbsp\u00a0\u2003wide", "nbsp wide"),
        ("sep\u2028next", "sep\nnext"),
        ("lone \ud800 surrogate", "lone \ufffd surrogate"),
        (" \t\n\u00a0", ""),
    ],
)
def test_normalize_text(raw, expected):
    assert normalize_text(raw) == expected


def test_normalize_is_idempotent():
    text = "Some  text\u0000 with\r\n\n\n\nmess\u0301"
    assert normalize_text(normalize_text(text)) == normalize_text(text)


def test_decode_bytes_counts_invalid_sequences():
    assert decode_bytes("ok é".encode()) == ("ok é", 0)
    text, bad = decode_bytes(b"ab\xffcd\xfe")
    assert text == "ab\ufffdcd\ufffd" and bad == 2
    # a genuine U+FFFD in the input is not counted as damage
    assert decode_bytes("x\ufffd".encode() + b"\xff")[1] == 1
    assert decode_bytes("caf\xe9".encode("latin-1"), "no-such-codec")[1] == 1
    assert decode_bytes("café".encode("latin-1"), "latin-1") == ("café", 0)


def test_unknown_declared_charset_falls_back_to_detection():
    from curation.text.extract import html_to_str

    html = "<html><body><p>Grüße aus Köln</p></body></html>".encode()
    assert "Grüße" in html_to_str(html, "utf8mb4")
    assert "Grüße" in html_to_str(html, "utf-8")


def _rules_one_at_a_time(text: str) -> str:
    """The module docstring's rules, applied in their order, one substitution each (the reference)."""
    import unicodedata

    from curation.text import normalize as n

    text = n._OTHER_NEWLINES.sub("\n", text.replace("\r\n", "\n").replace("\r", "\n"))
    text = n._CONTROL.sub("", n._SURROGATE.sub("\ufffd", text))
    text = n._OTHER_SPACES.sub(" ", unicodedata.normalize("NFC", text))
    text = n._SPACE_RUNS.sub(" ", text).replace(" \n", "\n").replace("\n ", "\n")
    return n._BLANK_LINES.sub("\n\n", text).strip("\n ")


def test_the_one_pass_gives_what_the_rules_one_at_a_time_give():
    """One scan with a lookup per match stands for four substitutions, and the spaces are replaced before NFC:
    checked against the rules applied in order, on generated text full of the characters they change and on
    real documents; and over all of Unicode, that NFC makes none of those characters out of others."""
    import gzip
    import json
    import sys
    import unicodedata
    from itertools import islice

    from hypothesis import given, settings
    from hypothesis import strategies as st

    from curation.text.normalize import _ANY_RULE, _REPLACEMENT
    from tests.conftest import shared

    for cp in range(sys.maxunicode + 1):
        if not 0xD800 <= cp <= 0xDFFF:
            made = unicodedata.normalize("NFC", chr(cp))
            if _ANY_RULE.search(chr(cp)):  # NFC keeps it, or makes one replaced the same way (U+2000, U+2001)
                assert not chr(cp).isprintable(), hex(cp)  # normalize_text's quick test sees every one
                assert made == chr(cp) or _REPLACEMENT.get(made) == _REPLACEMENT[chr(cp)], hex(cp)
            else:
                assert not _ANY_RULE.search(made), hex(cp)

    for cp in range(0xD800, 0xE000):
        assert not chr(cp).isprintable()
    special = "\r\n\t\x00\x0b\x0c\x1f\x7f\x85\x9f\xa0\u1680\u2000\u2001\u200a\u2028\u2029\u202f\u205f\u3000\ud800"
    alphabet = st.one_of(st.sampled_from([*special, "e\u0301", "  ", "\n\n\n", " \n", "\r\r\n"]), st.characters())

    @settings(max_examples=1000, deadline=None)
    @given(st.lists(alphabet, max_size=40).map("".join))
    def same(text):
        assert normalize_text(text) == _rules_one_at_a_time(text)

    same()
    with gzip.open(shared("web/c4-en-sample-1000.jsonl.gz"), "rt", encoding="utf-8") as fh:
        texts = [json.loads(line)["text"] for line in islice(fh, 300)]
    with gzip.open(shared("reference/enwiki-6514-articles.jsonl.gz"), "rt", encoding="utf-8") as fh:
        texts += [json.loads(line)["text"] for line in islice(fh, 100)]
    assert sum(1 for t in texts if _ANY_RULE.search(t)) > 50  # both paths are taken on real text
    assert sum(1 for t in texts if not _ANY_RULE.search(t)) > 50
    assert [normalize_text(t) for t in texts] == [_rules_one_at_a_time(t) for t in texts]


def test_the_batch_gives_what_each_text_gives():
    """`normalize_texts` lets Arrow's RE2 pick the texts that may change: its class must hold exactly
    `_ANY_RULE`'s characters (checked over all of Unicode but the surrogates, which Arrow cannot hold), and
    the batch must equal `normalize_text` text by text, on generated texts (a lone surrogate makes Arrow
    refuse the batch) and on real documents."""
    import gzip
    import json
    import sys
    from itertools import islice

    import pyarrow as pa
    import pyarrow.compute as pc
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from curation.text.normalize import _ANY_RULE, _MAY_CHANGE_RE2, normalize_texts
    from tests.conftest import shared

    chars = [chr(cp) for cp in range(sys.maxunicode + 1) if not 0xD800 <= cp <= 0xDFFF]
    in_class = pc.match_substring_regex(pa.array([f"x{c}x" for c in chars]), _MAY_CHANGE_RE2).to_pylist()
    assert [c for c, hit in zip(chars, in_class, strict=True) if hit] == [c for c in chars if _ANY_RULE.search(c)]

    special = "\r\n\t\x00\x0b\x0c\x1f\x7f\x85\x9f\xa0\u1680\u2000\u2001\u200a\u2028\u2029\u202f\u205f\u3000"
    pieces = st.sampled_from([*special, "e\u0301", "\u1100\u1161", " ", "  ", "\n", "\n\n\n", " \n", "\n ", "a", "é"])
    text = st.lists(st.one_of(pieces, st.characters(exclude_categories=["Cs"])), max_size=30).map("".join)

    @settings(max_examples=500, deadline=None)
    @given(st.lists(text, max_size=8), st.booleans())
    def same(texts, surrogate):
        texts = [*texts, "lone \ud800"] if surrogate else texts
        assert normalize_texts(texts) == [normalize_text(t) for t in texts]

    same()
    with gzip.open(shared("web/c4-en-sample-1000.jsonl.gz"), "rt", encoding="utf-8") as fh:
        texts = [json.loads(line)["text"] for line in fh]
    with gzip.open(shared("reference/enwiki-6514-articles.jsonl.gz"), "rt", encoding="utf-8") as fh:
        texts += [json.loads(line)["text"] for line in islice(fh, 300)]
    assert normalize_texts(texts) == [normalize_text(t) for t in texts]
