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
