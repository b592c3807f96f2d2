"""``curate run`` over the bad-input corpus, and the account of every record it read.

Shared by ``tests/reliability_bad_inputs/test_pipeline_bad_inputs.py`` (CI size) and
``benchmarks/reliability_bad_inputs.py`` (the 50 MB document at full size, the big real WARC too).

The pipeline: ingest -> signals -> dedup -> select (Gopher repetition, near-duplicates) -> mix (one real
WET file's pages against everything else, under a token budget) -> export. DataRater and validation are left out: they
judge documents, they do not read inputs.

``account()`` checks, from the work directory and the command's stderr:

* per input file: records read = kept + rejected (from the manifest, the corpus and ``rejects/``), and for a
  generated file the kept count, the reject reasons and the input errors equal the ones its kind expects;
* one line on stderr per problem (each input error, each reason records of a file were rejected for), in
  the format ``curate ingest`` prints, naming the file and the first record; no traceback, no warning of
  warcio's own;
* nothing lost downstream: each ingested id is exported, or in the rejects of select or mix (with the
  clause or the quota that dropped it); every attribute set has a row for every document.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.reliability_bad_inputs.corpus import KINDS, Outcome, file_outcomes, kind_files, options

ROOT = Path(__file__).resolve().parents[2]
MIX_SOURCE = "cc-main-2016-50-sample"  # the mixture: the pages of one real WET file against everything else


def pipeline_config(root: Path, inputs: list[Path], *, full_size: bool = False, tokens: str = "60k") -> Path:
    """``root/pipeline.yaml``: the lean pipeline over `inputs` (files or directories)."""
    import yaml

    config: dict[str, Any] = {
        "name": "bad-inputs",
        "spark": {"master": "local[2]"},
        "ingest": {"inputs": [str(p) for p in inputs], "shards": 2, **options(full_size)},
        "signals": {},
        "dedup": {},
        "select": {"rule": ["gopher_repetition.pass", "is_dup_keep"]},
        "mix": {"targets": {MIX_SOURCE: 0.6, "*": 0.4}, "tokens": tokens},
        "export": {"format": "parquet"},
        "report": False,
    }
    path = root / "pipeline.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


def run_pipeline(config: Path, work: Path, timeout: float = 900) -> tuple[subprocess.CompletedProcess, float]:
    """``curate run CONFIG --workdir WORK --no-tracking`` as a user runs it; (the process, seconds)."""
    env = dict(os.environ)
    env.update(
        PYSPARK_PYTHON=sys.executable,
        SPARK_LOCAL_IP="127.0.0.1",
        PYTHONPATH=os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p),
        COLUMNS="200",
    )
    env.pop("MLFLOW_TRACKING_URI", None)
    command = [sys.executable, "-m", "pipelines.cli", "run", str(config), "--workdir", str(work), "--no-tracking"]
    started = time.monotonic()
    done = subprocess.run(
        command, cwd=work.parent, env=env, capture_output=True, text=True, errors="replace", timeout=timeout
    )
    return done, time.monotonic() - started


@dataclass
class FileAccount:
    path: str
    kind: str | None  # None: a real file, whose outcome is not known in advance
    records_read: int
    kept: int
    rejected: Counter
    input_errors: Counter
    expected: Outcome | None
    problem_lines: list[str]
    problems: list[str] = field(default_factory=list)  # what does not hold for this file

    @property
    def name(self) -> str:
        return display_name(self.path)


@dataclass
class PipelineAccount:
    files: list[FileAccount]
    stages: dict[str, dict[str, int]]  # stage -> documents in, kept, rejected
    lost: list[str]  # ingested ids found nowhere downstream
    problems: list[str]  # every invariant that does not hold, in words
    stderr_problem_lines: int

    def by_kind(self) -> dict[str, list[FileAccount]]:
        kinds: dict[str, list[FileAccount]] = {}
        for account in self.files:
            kinds.setdefault(account.kind or "real files", []).append(account)
        return kinds


def display_name(path: str) -> str:
    """A file's name as the problem lines print it."""
    from curation.text.normalize import valid_unicode

    return valid_unicode(Path(path).name)


def problem_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith(("rejected: ", "input error: "))]


def expected_lines(name: str, outcome: Outcome) -> list[str]:
    """The start of each problem line a file with this outcome must have (``curation.ingest.summary``)."""
    lines = []
    for reason, n in sorted(outcome.rejected.items()):
        if reason != "warc_record_skipped":  # not a problem: requests, warcinfo, metadata records
            lines.append(f"rejected: {name}: {n:,} {'record' if n == 1 else 'records'} as {reason} (first at ")
    lines += [f"input error: {name} " for _ in outcome.input_errors]
    return lines


def _ids(table, column: str = "id") -> list[str]:
    return table.column(column).to_pylist()


def _reject_ids(corpus) -> tuple[list[str], Counter]:
    rows = corpus.read_rejects().to_pylist()
    return [r["locator"].removeprefix("id=") for r in rows], Counter(r["reason"] for r in rows)


def account(work: Path, generated: Path, real_files: list[Path], stderr: str) -> PipelineAccount:
    """Every record of every input, from the work directory of a finished run and its stderr."""
    import json

    from curation.attributes import AttributeSet
    from curation.corpus import Corpus
    from curation.readers.records import INPUT_FAILURES
    from curation.text.normalize import valid_unicode

    problems: list[str] = []
    corpus = Corpus.open(work / "corpus")
    documents = corpus.read_documents(["id", "meta"]).to_pylist()
    kept_by_file = Counter(json.loads(d["meta"])["input"] for d in documents)
    rejects = corpus.read_rejects().to_pylist()
    rejected_by_file: dict[str, Counter] = {}
    errors_by_file: dict[str, Counter] = {}
    for row in rejects:
        target = errors_by_file if row["reason"] in INPUT_FAILURES else rejected_by_file
        target.setdefault(row["source_file"], Counter())[row["reason"]] += 1
    manifest_inputs = {valid_unicode(entry["path"]): entry for entry in corpus.manifest["inputs"]}

    expected = {valid_unicode(os.path.abspath(path)): outcome for path, outcome in file_outcomes(generated).items()}
    kind_of = {valid_unicode(os.path.abspath(p)): kind for kind, paths in kind_files(generated).items() for p in paths}
    wanted = list(expected) + [os.path.abspath(path) for path in real_files]
    lines = problem_lines(stderr)
    files = []
    for path in wanted:
        entry = manifest_inputs.get(path)
        if entry is None:
            problems.append(f"{display_name(path)}: not among the manifest's inputs")
            continue
        result = FileAccount(
            path,
            kind_of.get(path),
            entry["records_read"],
            kept_by_file[path],
            rejected_by_file.get(path, Counter()),
            errors_by_file.get(path, Counter()),
            expected.get(path),
            [
                line
                for line in lines
                if line.startswith((f"rejected: {display_name(path)}: ", f"input error: {display_name(path)} "))
            ],
        )
        _check_file(result)
        problems += [f"{result.name}: {p}" for p in result.problems]
        files.append(result)

    stages, lost = _downstream(work, corpus, problems)
    for name in ("signals", "dedup"):
        rows = AttributeSet.open(work / "attributes" / name, corpus).manifest["rows"]
        if rows != corpus.num_documents:
            problems.append(f"attributes/{name}: {rows} rows for {corpus.num_documents} documents")
    if "Traceback" in stderr:
        problems.append("a traceback on stderr")
    if "WARNING: Record not followed by newline" in stderr or "ERROR: non-chunked gzip" in stderr:
        problems.append("warcio's own multi-line warnings on stderr")
    return PipelineAccount(files, stages, lost, problems, len(lines))


def _check_file(result: FileAccount) -> None:
    if result.records_read != result.kept + sum(result.rejected.values()):
        result.problems.append(
            f"{result.records_read} records read != {result.kept} kept + {sum(result.rejected.values())} rejected"
        )
    outcome = result.expected
    if outcome is None:  # a real file: its problem lines follow from what happened to it
        outcome = Outcome(result.kept, dict(result.rejected), dict(result.input_errors))
    else:
        got = (result.kept, dict(result.rejected), dict(result.input_errors))
        if got != (outcome.kept, outcome.rejected, outcome.input_errors):
            result.problems.append(
                f"kept {result.kept}, rejected {dict(result.rejected)}, input errors {dict(result.input_errors)}; "
                f"expected {outcome.kept}, {outcome.rejected}, {outcome.input_errors}"
            )
    wanted = expected_lines(result.name, outcome)
    for start in wanted:
        if not any(line.startswith(start) for line in result.problem_lines):
            result.problems.append(f"no problem line starting {start!r} on stderr")
    if len(result.problem_lines) != len(wanted):
        result.problems.append(f"{len(result.problem_lines)} problem lines, expected {len(wanted)}")
    for line in result.problem_lines:
        if line.startswith("input error: ") and not re.match(
            r"input error: .+ (offset|record|line|byte|row)=\d+: ", line
        ):
            result.problems.append(f"an input error line without a record locator: {line!r}")


def _downstream(work: Path, corpus, problems: list[str]) -> tuple[dict[str, dict[str, int]], list[str]]:
    """select, mix, export: every ingested id goes on, or is in a stage's rejects with its reason."""
    import pyarrow.parquet as pq

    from curation.corpus import Corpus
    from curation.mix.job import REPEAT_MARK

    ingested = _ids(corpus.read_documents(["id"]))
    curated = Corpus.open(work / "curated")
    selected = _ids(curated.read_documents(["id"]))
    select_rejected, select_reasons = _reject_ids(curated)
    mixed_corpus = Corpus.open(work / "mixed")
    mixed = _ids(mixed_corpus.read_documents(["id"]))
    mix_rejected, mix_reasons = _reject_ids(mixed_corpus)
    export_manifest = json_file(work / "export" / "manifest.json")
    exported = [
        i for f in export_manifest["files"] for i in _ids(pq.read_table(work / "export" / f["path"], columns=["id"]))
    ]

    def check(stage: str, into: list[str], kept: list[str], rejected: list[str], reasons: Counter, reason: str):
        if sorted(into) != sorted(kept + rejected):
            problems.append(f"{stage}: {len(into)} documents in != {len(kept)} kept + {len(rejected)} rejected")
        if set(reasons) - {reason}:
            problems.append(f"{stage}: reject reasons {dict(reasons)}, expected only {reason!r}")

    base = [i.split(REPEAT_MARK)[0] for i in mixed]
    check("select", ingested, selected, select_rejected, select_reasons, "rule")
    check("mix", selected, sorted(set(base)), mix_rejected, mix_reasons, "mixture")
    if sorted(exported) != sorted(mixed):
        problems.append(f"export: {len(exported)} rows for {len(mixed)} documents of the mixture")
    found = {i.split(REPEAT_MARK)[0] for i in exported} | set(select_rejected) | set(mix_rejected)
    lost = sorted(set(ingested) - found)
    if lost:
        problems.append(f"{len(lost)} ingested documents are neither exported nor in a stage's rejects")
    stages = {
        "select": {"in": len(ingested), "kept": len(selected), "rejected": len(select_rejected)},
        "mix": {
            "in": len(selected),
            "kept": len(set(base)),
            "rejected": len(mix_rejected),
            "repeats": len(mixed) - len(set(base)),
        },
        "export": {"in": len(mixed), "kept": len(exported), "rejected": 0},
    }
    return stages, lost


def json_file(path: Path) -> dict[str, Any]:
    import json

    return json.loads(path.read_text(encoding="utf-8"))


def kinds_table(result: PipelineAccount) -> list[dict[str, Any]]:
    """Per kind: files, records, kept, rejected by reason, input errors, expected vs got, problem lines."""
    rows = []
    by_kind = result.by_kind()
    for kind in [k.name for k in KINDS] + ["real files"]:
        accounts = by_kind.get(kind, [])
        if not accounts:
            continue
        got = Outcome()
        for a in accounts:
            got = got + Outcome(a.kept, dict(a.rejected), dict(a.input_errors))
        expected = next((k.expected for k in KINDS if k.name == kind), None)
        rows.append(
            {
                "kind": kind,
                "files": len(accounts),
                "records": sum(a.records_read for a in accounts),
                "kept": got.kept,
                "rejected": dict(sorted(got.rejected.items())),
                "input_errors": dict(sorted(got.input_errors.items())),
                "expected": None if expected is None else {
                    "kept": expected.kept, "rejected": expected.rejected, "input_errors": expected.input_errors,
                },
                "as_expected": not any(a.problems for a in accounts),
                "problem_lines": sum(len(a.problem_lines) for a in accounts),
                "problems": [p for a in accounts for p in a.problems],
            }
        )  # fmt: skip
    return rows
