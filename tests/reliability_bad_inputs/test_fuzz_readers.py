"""Fuzzing the readers with hypothesis: arbitrary bytes, and valid JSONL (plain, gzip, zstd), WARC (plain, one
gzip member per record), WET (one gzip stream) and Parquet files mutated (bit flips, cuts, splices, deleted ranges, inserted NULs, invalid UTF-8, stray newlines and WARC
lines), the compressed ones both before and after compression, fed to what ingest runs per file on an
executor: ``plan_file`` (format, layout, splits) and, per split, ``read_split`` and ``process_split`` (which
builds the documents and writes them). No Spark.

What must hold for every input:
* no exception escapes: a bad record is a ``RecordRejected``, a bad file an ``InputFailed`` (what ingest turns
  into a reject row and one line), each with a documented reason (``REJECT_REASONS``, ``INPUT_FAILURES``), and
  never ``processing_failed`` (the catch-all that would hide a bug);
* a split yields at most one ``InputFailed``, and nothing after it;
* the reader's own count reconciles: records read = documents + rejected, per split;
* splitting a file (64-byte splits) reads the same records with the same outcomes as reading it whole;
* reading one of these small files ends, within a minute of CPU.

Bounded: ``FUZZ_EXAMPLES`` examples per property (30, derandomized, no example database: the same inputs on
every run, a few seconds in all), or ``CURATION_FUZZ_EXAMPLES`` when set (``benchmarks/reliability_bad_inputs.py``
sets thousands).
"""

from __future__ import annotations

import gzip
import os
import re
import signal
import tempfile
from collections import Counter
from contextlib import contextmanager
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from curation.destination import Destination
from curation.ingest.config import IngestConfig
from curation.ingest.process import process_split
from curation.readers import InputFailed, RawRecord, RecordRejected, Split, plan_file, read_split
from curation.readers.records import INPUT_FAILURES, REJECT_REASONS
from tests.bad_inputs import GOOD_TEXT, JSONL_KINDS, parquet_bytes
from tests.reliability_bad_inputs.corpus import conversion, members, one_stream, page, warc_record

FUZZ_EXAMPLES = int(os.environ.get("CURATION_FUZZ_EXAMPLES", "30"))
FUZZ = settings(
    max_examples=FUZZ_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
OPTIONS = {"max_record_mb": 0.01, "max_text_mb": 0.01, "max_html_mb": 0.05, "extraction_timeout_s": 10.0}
FIELDS = IngestConfig(inputs=["x"], out="x").fields


# ---------------------------------------------------------------------------------------------- seeds
def _jsonl() -> bytes:
    lines = [
        line for kind in ("jsonl_valid", "json_wrong_types", "unicode_edge_cases") for line, _ in JSONL_KINDS[kind]
    ]
    return b"\n".join(lines) + b"\n"


def _warc_records() -> list[bytes]:
    return [
        page("https://fuzz.example/a"),
        warc_record(b"GET / HTTP/1.1\r\n\r\n", rtype="request", uri="https://fuzz.example/a"),
        page("https://fuzz.example/b"),
        warc_record(
            b"plain text resource " * 5, rtype="resource", uri="https://fuzz.example/t", content_type="text/plain"
        ),
    ]


def _wet_records() -> list[bytes]:
    return [conversion(f"https://fuzz.example/wet/{i}", f"{GOOD_TEXT} number {i}".encode()) for i in range(4)]


def _parquet() -> bytes:
    return parquet_bytes(
        {"text": [GOOD_TEXT, "second document", None], "id": ["p1", "p2", "p3"], "url": ["https://p/1", None, None]}
    )


# name -> (file name suffix, the plain content, how it is stored): mutations hit the stored bytes or, for the
# compressed ones, the content before compression (so that the parser behind the decompressor is fuzzed too).
def _zstd(content: bytes) -> bytes:
    import zstandard

    return zstandard.ZstdCompressor().compress(content)


def _members(content: bytes) -> bytes:
    """One gzip member per record: the content cut before every line that starts a WARC record."""
    starts = [0] + [m.start() + 1 for m in re.finditer(rb"\nWARC/", content)]
    return members(*(content[a:b] for a, b in zip(starts, [*starts[1:], len(content)], strict=True) if b > a))


SEEDS = {
    "jsonl": (".jsonl", _jsonl(), None),
    "jsonl.gz": (".jsonl.gz", _jsonl(), lambda content: gzip.compress(content, mtime=0)),
    "jsonl.zst": (".jsonl.zst", _jsonl(), _zstd),
    "warc": (".warc", b"".join(_warc_records()), None),
    "warc.gz": (".warc.gz", b"".join(_warc_records()), _members),
    "wet": (".warc.wet.gz", b"".join(_wet_records()), one_stream),
    "parquet": (".parquet", _parquet(), None),
}
INSERTS = [
    b"\x00",
    b"\xff",
    b"\xc0\xaf",
    b"\xed\xa0\x80",
    b"\n",
    b"\r\n",
    b"\r\n\r\n",
    b"WARC/1.0\r\n",
    b'{"',
    b"\x1f\x8b",
]


@st.composite
def mutated(draw, seed: bytes) -> bytes:
    """`seed` after one to three mutations."""
    data = bytearray(seed)
    for _ in range(draw(st.integers(1, 3))):
        op = draw(st.sampled_from(["flip", "cut", "splice", "delete", "insert", "duplicate"]))
        at = draw(st.integers(0, len(data)))
        if op == "flip" and data:
            i = min(at, len(data) - 1)
            data[i] ^= 1 << draw(st.integers(0, 7))
        elif op == "cut":
            del data[at:]
        elif op == "splice":  # a piece of the seed, somewhere else
            start = draw(st.integers(0, len(seed)))
            data[at:at] = seed[start : start + draw(st.integers(1, 200))]
        elif op == "delete":
            del data[at : at + draw(st.integers(1, 64))]
        elif op == "insert":
            data[at:at] = draw(st.sampled_from(INSERTS)) * draw(st.integers(1, 3))
        elif op == "duplicate":
            data[at:at] = data[at : at + draw(st.integers(1, 400))]
    return bytes(data)


def fuzzed(name: str):
    """Files of one format: mutations of the stored file, of the content before compression, or any bytes."""
    suffix, content, store = SEEDS[name]
    stored = store(content) if store else content
    options = [mutated(stored)]
    if store is not None:
        options.append(mutated(content).map(store))
    return st.tuples(st.just(suffix), st.one_of(*options, st.binary(max_size=2048)))


# ---------------------------------------------------------------------------------------------- the properties
def _read(path: Path, split_bytes: int) -> list[tuple[str, str]]:
    """Read a file as ingest does, checking every split; (locator, outcome) of each record, in order."""
    cfg = IngestConfig(inputs=[str(path)], out=str(path.parent / "out"), langid=False, **OPTIONS)
    plan = plan_file(str(path), "auto", split_bytes, None)
    outcomes: list[tuple[str, str]] = []
    for index, (unit, start, stop) in enumerate(plan["ranges"]):
        split = Split(index, plan["path"], plan["format"], plan["layout"], unit, start, stop, plan["source"])
        items = list(read_split(split, FIELDS, int(cfg.max_record_mb * (1 << 20)), int(cfg.max_html_mb * (1 << 20))))
        failures = [i for i, item in enumerate(items) if isinstance(item, InputFailed)]
        assert len(failures) <= 1 and (not failures or failures[0] == len(items) - 1), items
        for item in items:
            assert isinstance(item, (RawRecord, RecordRejected, InputFailed)), item
            if isinstance(item, RecordRejected):
                assert item.reason in REJECT_REASONS, item
            elif isinstance(item, InputFailed):
                assert item.reason in INPUT_FAILURES, item
            assert "\n" not in getattr(item, "detail", ""), item  # one line per problem
        stats = process_split(split, cfg, Destination(path.parent / f"work-{split_bytes}"))
        assert stats["records_read"] == stats["documents"] + sum(stats["rejected"].values())
        assert stats["records_read"] == sum(1 for item in items if not isinstance(item, InputFailed))
        assert "processing_failed" not in stats["rejected"], stats["examples"]
        assert set(stats["rejected"]) <= set(REJECT_REASONS) and set(stats["input_errors"]) <= set(INPUT_FAILURES)
        outcomes += [
            (item.locator, item.reason if not isinstance(item, RawRecord) else "record")
            for item in items
            if not (isinstance(item, InputFailed) and item.reason == "empty_input")  # said by the first split only
        ]
    return outcomes


@contextmanager
def cpu_limit(seconds: float):
    """Fail, rather than hang, when reading goes round in circles (it did once: see test_reader_regressions).
    CPU time (SIGVTALRM): the extraction timeout has the real-time alarm."""

    def _raise(signum, frame):
        raise AssertionError(f"reading one small file took over {seconds:g} s of CPU: a loop?")

    previous = signal.signal(signal.SIGVTALRM, _raise)
    signal.setitimer(signal.ITIMER_VIRTUAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_VIRTUAL, 0)
        signal.signal(signal.SIGVTALRM, previous)


def check_file(suffix: str, data: bytes) -> None:
    with tempfile.TemporaryDirectory(prefix="fuzz-") as tmp, cpu_limit(60):
        path = Path(tmp) / f"input{suffix}"
        path.write_bytes(data)
        whole = _read(path, 1 << 30)
        split = _read(path, 64)
        assert Counter(split) == Counter(whole), (split, whole)


@pytest.mark.parametrize("name", sorted(SEEDS))
def test_every_seed_is_read_whole(name):
    """The seeds themselves are good files: every record read, none rejected but the expected ones."""
    suffix, content, store = SEEDS[name]
    data = store(content) if store else content
    with tempfile.TemporaryDirectory(prefix="fuzz-") as tmp:
        path = Path(tmp) / f"input{suffix}"
        path.write_bytes(data)
        outcomes = Counter(outcome for _, outcome in _read(path, 1 << 30))
    assert outcomes["record"] >= 2 and not (set(outcomes) & set(INPUT_FAILURES)), outcomes


@FUZZ
@given(fuzzed("jsonl"))
def test_fuzz_jsonl(case):
    check_file(*case)


@FUZZ
@given(fuzzed("jsonl.gz"))
def test_fuzz_jsonl_gz(case):
    check_file(*case)


@FUZZ
@given(fuzzed("jsonl.zst"))
def test_fuzz_jsonl_zst(case):
    check_file(*case)


@FUZZ
@given(fuzzed("warc"))
def test_fuzz_warc(case):
    check_file(*case)


@FUZZ
@given(fuzzed("warc.gz"))
def test_fuzz_warc_gz(case):
    check_file(*case)


@FUZZ
@given(fuzzed("wet"))
def test_fuzz_wet(case):
    check_file(*case)


@FUZZ
@given(fuzzed("parquet"))
def test_fuzz_parquet(case):
    check_file(*case)
