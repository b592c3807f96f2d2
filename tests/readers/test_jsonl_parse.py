"""A JSON line parsed by orjson gives the record the standard library's json gives; lines orjson refuses
take json's lenient path and are read, or rejected, as before."""

from __future__ import annotations

import json

import pytest

from curation.readers.jsonl import _parse_line, record_from_mapping
from curation.readers.records import RawRecord, RecordRejected

FIELDS = {"text": "text", "id": "id", "url": "url", "timestamp": "timestamp"}
LINES = [
    b'{"id": "a", "text": "plain", "url": "https://x.example/", "timestamp": "2019-04-25 12:57:54"}\n',
    '{"text": "caf\u00e9 \u2014 \u65e5\u672c", "id": 7, "extra": {"k": [1, 2.5, null, true]}}\n'.encode(),
    b'{"text": "escapes \\u00e9 \\n \\t \\"q\\"", "n": 1e-7, "big": 18446744073709551615, "neg": -0}\n',
    b'{"text": "dup", "text": "second wins", "id": "d"}',  # no newline: a last line
    b'{"text": "nan", "score": NaN}\n',  # not strict JSON: json reads it
    b'{"text": "lone \\udc80 surrogate"}\n',  # orjson refuses lone surrogates, json keeps them
    b'{"text": "huge", "n": 123456789012345678901234567890}\n',  # over 64 bits
    b'\xef\xbb\xbf{"text": "after a byte-order mark"}\n',
    b'{"text": "bad utf-8 \xff here"}\n',
    b"[1, 2]\n",
    b'{"text": 3}\n',
    b'{"text": "cut\n',
]


def _json_only(line: bytes):
    """The record the json module alone gives (the reader before orjson), for lines it parses."""
    obj = json.loads(line.decode("utf-8"))
    return record_from_mapping(obj, "line=1", FIELDS) if isinstance(obj, dict) else None


@pytest.mark.parametrize("line", LINES[:4], ids=["ascii", "unicode", "escapes and numbers", "duplicate key"])
def test_strict_lines_give_the_json_module_s_record(line):
    assert _parse_line(line, "line=1", FIELDS) == _json_only(line)


def test_lines_orjson_refuses_are_read_or_rejected_by_json():
    results = [_parse_line(line, "line=1", FIELDS) for line in LINES[4:]]
    assert [r.payload if isinstance(r, RawRecord) else r.reason for r in results] == [
        "nan",
        "lone \udc80 surrogate",
        "huge",
        "after a byte-order mark",
        "bad utf-8 \ufffd here",
        "not_an_object",
        "bad_field_type",
        "malformed_json",
    ]
    assert results[0].meta["score"] != results[0].meta["score"]  # NaN
    assert results[2].meta["n"] == 123456789012345678901234567890
    assert results[4].meta["invalid_utf8_sequences"] == 1
    assert isinstance(results[7], RecordRejected) and "column" in results[7].detail


@pytest.mark.parametrize(
    "literal", ["18446744073709551616", "-9223372036854775809", '[1, {"k": 99999999999999999999}]', "1e30", "2.5e19"]
)
def test_numbers_beyond_64_bits_are_read_as_json_reads_them(literal):
    line = b'{"text": "t", "n": %s}\n' % literal.encode()
    record = _parse_line(line, "line=1", FIELDS)
    assert record == _json_only(line) and repr(record.meta["n"]) == repr(json.loads(literal))
