import gzip

import pytest

from curation.errors import ConfigError, InputNotFoundError
from curation.readers.detect import detect_format, normalise_format, resolve_inputs


def test_resolve_inputs_expands_dirs_and_globs(tmp_path):
    (tmp_path / "a.jsonl").write_text("{}\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.jsonl").write_text("{}\n")
    (tmp_path / "sub" / ".hidden").write_text("x")
    (tmp_path / "_work").mkdir()
    (tmp_path / "_work" / "c.jsonl").write_text("{}\n")
    files = resolve_inputs([str(tmp_path)])
    assert [f.rsplit("/", 1)[1] for f in files] == ["a.jsonl", "b.jsonl"]
    assert resolve_inputs([str(tmp_path / "*.jsonl"), str(tmp_path / "a.jsonl")]) == [str(tmp_path / "a.jsonl")]


def test_missing_input_fails_fast(tmp_path):
    with pytest.raises(InputNotFoundError, match="input not found: .*nope"):
        resolve_inputs([str(tmp_path / "nope.warc.gz")])
    with pytest.raises(InputNotFoundError):
        resolve_inputs([str(tmp_path / "*.parquet")])


def test_detect_format_by_extension_and_magic(tmp_path):
    assert detect_format(str(tmp_path / "x.warc.gz")) == "warc"
    assert detect_format(str(tmp_path / "x.warc.wet.gz")) == "warc"
    assert detect_format(str(tmp_path / "x.jsonl.zst")) == "jsonl"
    assert detect_format(str(tmp_path / "x.parquet")) == "parquet"
    mystery = tmp_path / "dump.data"
    mystery.write_bytes(gzip.compress(b"WARC/1.0\r\nWARC-Type: warcinfo\r\n"))
    assert detect_format(str(mystery)) == "warc"
    mystery.write_bytes(b'{"text": "hi"}\n')
    assert detect_format(str(mystery)) == "jsonl"
    mystery.write_bytes(b"\x00\x01 binary")
    assert detect_format(str(mystery)) is None


def test_format_names():
    assert normalise_format("WET") == "warc"
    assert normalise_format("auto") == "auto"
    with pytest.raises(ConfigError, match="unknown format"):
        normalise_format("csv")
