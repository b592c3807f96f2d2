"""``curate run`` over every kind of bad input at once (``corpus.KINDS``, 27 kinds in 53 files, and the real quirky
files of ../shared/data/web), ingest -> signals -> dedup -> select -> mix -> export: zero crashes, every record kept
or rejected with a reason, the outcome of each generated kind exactly the expected one, one clear line on stderr per
problem, nothing lost between the stages.

The "50 MB single document" is 1.5 MiB here, against limits scaled with it (``corpus.options``);
``benchmarks/reliability_bad_inputs.py`` runs it at full size, with the 26 MB trafilatura WARC as well.
"""

from __future__ import annotations

import pytest

from tests.bad_inputs import CUT_GZIP_LINES, cut_jsonl_gz_kept
from tests.conftest import shared
from tests.reliability_bad_inputs.accounting import account, pipeline_config, run_pipeline
from tests.reliability_bad_inputs.corpus import KINDS, REAL_FILES, write_corpus


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    real = [shared(f"web/{name}") for name in REAL_FILES]
    root = tmp_path_factory.mktemp("bad-inputs")
    generated = root / "corpus"
    write_corpus(generated)
    config = pipeline_config(root, [generated, *real])
    done, seconds = run_pipeline(config, root / "work", timeout=600)
    return root, generated, real, done, seconds


def test_the_corpus_covers_twenty_kinds_of_bad_input():
    assert CUT_GZIP_LINES > cut_jsonl_gz_kept() > 0  # the cut gzip keeps some lines, not all
    bad = [kind for kind in KINDS if not kind.control]
    assert len(bad) >= 20 and len({kind.name for kind in KINDS}) == len(KINDS)
    covered = " ".join(kind.covers for kind in bad).lower()
    for words in (
        "truncated gzip",
        "concatenated (multi-member) gzip",
        "corrupted warc headers",
        "wrong content-length",
        "binary payloads",
        "invalid utf-8",
        "nul bytes",
        "50 mb single document",
        "deeply nested html",
        "empty files",
        "zero-byte records",
        "duplicate ids",
        "wrong parquet schema",
        "json with wrong types",
        "unicode edge cases",
        "wet quirks",
    ):
        assert words in covered, words


def test_zero_crashes_and_every_record_accounted_for(finished):
    root, generated, real, done, seconds = finished
    assert done.returncode == 0, done.stderr[-3000:]
    result = account(root / "work", generated, real, done.stderr)
    assert result.problems == [], "\n".join(result.problems)
    assert result.lost == []
    assert len(result.files) == sum(len(kind.files) for kind in KINDS) + len(real)
    assert all(a.records_read == a.kept + sum(a.rejected.values()) for a in result.files)
    assert result.stages["select"]["rejected"] > 0 and result.stages["mix"]["rejected"] > 0  # both reject paths ran


def test_one_clear_line_per_problem(finished):
    _, _, _, done, _ = finished
    assert "Traceback" not in done.stderr
    lines = [line for line in done.stderr.splitlines() if line.startswith(("rejected: ", "input error: "))]
    assert len(lines) == len(set(lines)) > 40
    # the file, the first record and what is wrong, on one line, e.g.:
    assert any(
        line.startswith(
            "rejected: 19-wrong_content_length-plain.warc: 2 records as wrong_content_length (first at offset="
        )
        for line in lines
    )
    assert any(line.startswith("input error: 09-truncated_gzip-cut.jsonl.gz line=") for line in lines)
