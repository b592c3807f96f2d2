"""Reliability under bad input: every kind of malformed input through the whole pipeline, at full size, and the
readers fuzzed for longer than CI can afford.

1. The generated corpus (``tests/reliability_bad_inputs/corpus.py``: 27 kinds, 25 of them bad input, each with
   its expected outcome) at full size, with the "50 MB single document" really 50 MiB (as a JSON line, an HTML
   page and a WET text), plus every real file of ../shared/data/web (the quirky CC WARC/WET excerpts, the C4
   sample and the 26 MB trafilatura WARC), through ``curate run``: ingest -> signals -> dedup -> select -> mix
   -> export. Per kind: records, kept, rejected by reason, input errors, expected against got, problem lines
   on stderr; crashes (a non-zero exit or a traceback) and records lost (a record read but neither kept nor
   rejected, or a document that neither reaches the export nor sits in a stage's rejects).
2. The hypothesis fuzzers of ``tests/reliability_bad_inputs/test_fuzz_readers.py`` with
   ``CURATION_FUZZ_EXAMPLES`` examples per property (``--fuzz-examples``, default 2000); examples tried and
   failures, per property.

Usage::

    python benchmarks/reliability_bad_inputs.py                        # about 15 minutes on 2 cores
    python benchmarks/reliability_bad_inputs.py --fuzz-examples 200    # a shorter fuzz
    python benchmarks/reliability_bad_inputs.py --ci-size --fuzz-examples 0   # the CI corpus only
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests.reliability_bad_inputs, this checkout

from common import (  # noqa: E402
    RESULTS,
    SHARED_DATA,
    child_env,
    markdown_table,
    provenance,
    write_results,
)

from tests.reliability_bad_inputs.accounting import account, kinds_table, pipeline_config, run_pipeline  # noqa: E402
from tests.reliability_bad_inputs.corpus import BIG_REAL_FILES, HUGE_MB, KINDS, REAL_FILES, write_corpus  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
FUZZ_TESTS = "tests/reliability_bad_inputs/test_fuzz_readers.py"


def run_fuzz(examples: int, timeout: float) -> dict:
    """The fuzz properties under pytest with ``examples`` per property; per property: examples, failures."""
    env = child_env()
    env.update(CURATION_FUZZ_EXAMPLES=str(examples), PYTHONPATH=str(ROOT))
    command = [sys.executable, "-m", "pytest", FUZZ_TESTS, "-q", "-p", "no:cacheprovider", "-k", "test_fuzz_"]
    command += ["-n", "0"]  # one process, as before the suite's addopts asked for two: seconds stay comparable
    command += ["--hypothesis-show-statistics"]
    started = time.monotonic()
    try:
        done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
        output, code = done.stdout + done.stderr, done.returncode
    except subprocess.TimeoutExpired as exc:
        output, code = (
            (exc.stdout or b"").decode(errors="replace") if isinstance(exc.stdout, bytes) else (exc.stdout or ""),
            -9,
        )
    properties: dict[str, dict] = {}
    current = None
    for line in output.splitlines():
        if match := re.match(r".*::(test_fuzz_\w+):$", line.strip()):
            current = properties.setdefault(match.group(1), {"passing": 0, "failing": 0, "invalid": 0})
        elif current is not None and (match := re.search(r"(\d+) passing, (\d+) failing, and (\d+) invalid", line)):
            for key, value in zip(("passing", "failing", "invalid"), match.groups(), strict=True):
                current[key] += int(value)
    failed = re.findall(r"^FAILED (\S+)", output, flags=re.M)
    return {
        "examples_per_property": examples,
        "exit_code": code,
        "seconds": round(time.monotonic() - started, 1),
        "properties": properties,
        "examples_tried": sum(p["passing"] + p["failing"] for p in properties.values()),
        "failing_examples": sum(p["failing"] for p in properties.values()),
        "failed_tests": failed,
        "output_tail": "\n".join(output.splitlines()[-40:]) if code != 0 else "",
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fuzz-examples", type=int, default=2000, help="hypothesis examples per property (0: none)")
    parser.add_argument("--ci-size", action="store_true", help="the CI corpus (1.5 MiB 'huge' document, no big files)")
    parser.add_argument("--tokens", default="300k", help="the mixture's token budget")
    parser.add_argument("--timeout", type=float, default=3600, help="seconds for the pipeline, and for the fuzzing")
    parser.add_argument("--work", type=Path, help="work directory (default: a temporary one, removed at the end)")
    parser.add_argument("--name", default="reliability_bad_inputs", help="results file name")
    parser.add_argument("--out", type=Path, default=RESULTS, help="results folder (default benchmarks/results)")
    args = parser.parse_args(argv)
    full_size = not args.ci_size

    started = time.monotonic()
    work = (args.work or Path(tempfile.mkdtemp(prefix="reliability-bad-inputs-"))).resolve()
    work.mkdir(parents=True, exist_ok=True)
    generated = work / "corpus"
    write_corpus(generated, full_size=full_size)
    names = REAL_FILES + (BIG_REAL_FILES if full_size else ())
    real = [SHARED_DATA / "web" / name for name in names if (SHARED_DATA / "web" / name).is_file()]
    missing = [name for name in names if not (SHARED_DATA / "web" / name).is_file()]
    config = pipeline_config(work, [generated, *real], full_size=full_size, tokens=args.tokens)
    print(
        f"corpus: {sum(1 for _ in generated.iterdir())} generated files, {len(real)} real files; running the pipeline"
    )
    done, pipeline_seconds = run_pipeline(config, work / "work", timeout=args.timeout)
    (work / "stderr.log").write_text(done.stderr, encoding="utf-8")
    crashed = done.returncode != 0
    if crashed:
        print(done.stderr[-3000:])
        result = None
    else:
        result = account(work / "work", generated, real, done.stderr)
    stage_seconds = {}
    if (work / "work" / "pipeline.json").is_file():
        import json

        state = json.loads((work / "work" / "pipeline.json").read_text(encoding="utf-8"))
        stage_seconds = {s["name"]: s["seconds"] for s in state["stages"]}
    print(f"pipeline: exit {done.returncode} in {pipeline_seconds:.0f} s; {stage_seconds}", flush=True)

    fuzz = run_fuzz(args.fuzz_examples, args.timeout) if args.fuzz_examples > 0 else None
    if fuzz:
        print(f"fuzz: {fuzz['examples_tried']} examples, {fuzz['failing_examples']} failing, exit {fuzz['exit_code']}")

    kinds = kinds_table(result) if result else []
    records = sum(row["records"] for row in kinds)
    unreconciled = sum(
        1 for a in (result.files if result else []) if a.records_read != a.kept + sum(a.rejected.values())
    )
    lost = (len(result.lost) if result else None, unreconciled)
    payload = {
        "benchmark": "reliability_bad_inputs",
        **provenance(["pyspark", "pyarrow", "warcio", "resiliparse", "zstandard", "hypothesis"], java=True, argv=argv),
        "settings": {
            "full_size": full_size,
            "huge_document_mib": HUGE_MB[full_size],
            "fuzz_examples": args.fuzz_examples,
            "tokens": args.tokens,
            "real_files": [p.name for p in real],
            "real_files_missing": missing,
            "work": str(work),
        },
        "pipeline": {
            "exit_code": done.returncode,
            "seconds": round(pipeline_seconds, 1),
            "stage_seconds": stage_seconds,
            "crashes": int(crashed) + done.stderr.count("Traceback"),
            "kinds_tried": len([k for k in KINDS if not k.control]),
            "kinds_with_controls": len(KINDS),
            "input_files": len(result.files) if result else None,
            "records": records,
            "records_lost": (lost[0] or 0) + lost[1] if result else None,
            "kinds_not_as_expected": [row["kind"] for row in kinds if not row["as_expected"]],
            "problem_lines": result.stderr_problem_lines if result else None,
            "stages": result.stages if result else None,
            "problems": result.problems if result else [done.stderr[-2000:]],
        },
        "kinds": kinds,
        "fuzz": fuzz,
        "seconds": round(time.monotonic() - started, 1),
    }
    markdown = _markdown(payload)
    write_results(args.out, args.name, payload, markdown)
    print(markdown)
    ok = not crashed and result is not None and not result.problems and (fuzz is None or fuzz["exit_code"] == 0)
    if args.work is None and ok:
        shutil.rmtree(work, ignore_errors=True)
    return 0 if ok else 1


def _reasons(counts: dict) -> str:
    return ", ".join(f"{reason} {n}" for reason, n in counts.items()) or "–"


def _markdown(payload: dict) -> str:
    pipeline, fuzz, settings = payload["pipeline"], payload["fuzz"], payload["settings"]
    rows = [
        [
            row["kind"],
            row["files"],
            row["records"],
            row["kept"],
            _reasons(row["rejected"]),
            _reasons(row["input_errors"]),
            "–" if row["expected"] is None else ("yes" if row["as_expected"] else "NO"),
            row["problem_lines"],
        ]
        for row in payload["kinds"]
    ]
    size = f"{settings['huge_document_mib']:g} MiB"
    text = (
        f"# Reliability under bad input ({payload['date'][:10]})\n\n"
        f"`curate run` (ingest, signals, dedup, select, mix, export; `--no-tracking`) over {pipeline['kinds_tried']} "
        f'kinds of generated bad input (and 2 well-formed controls), the "50 MB single document" at {size}, plus '
        f"the real files of ../shared/data/web ({', '.join(settings['real_files'])}). *As expected*: the kind's "
        "records kept, rejects by reason and input errors are exactly the ones the corpus was built to produce "
        "(the real files have no expected outcome; their counts must reconcile). *Problem lines*: the lines on "
        "stderr naming the file, the first record and the reason, one per problem.\n\n"
        f"- exit code {pipeline['exit_code']}, crashes {pipeline['crashes']}, "
        f"records {pipeline['records']:,} in {pipeline['input_files']} files, records lost {pipeline['records_lost']}, "
        f"kinds not as expected: {', '.join(pipeline['kinds_not_as_expected']) or 'none'}, "
        f"problem lines {pipeline['problem_lines']}\n"
        f"- pipeline {pipeline['seconds']:.0f} s: "
        + ", ".join(f"{k} {v:.0f} s" for k, v in pipeline["stage_seconds"].items())
        + "\n"
    )
    if pipeline["stages"]:
        text += (
            "- downstream: "
            + "; ".join(
                f"{stage} {v['in']:,} in, {v['kept']:,} kept, {v['rejected']:,} rejected"
                for stage, v in pipeline["stages"].items()
            )
            + "\n"
        )
    text += "\n" + markdown_table(
        ["kind", "files", "records", "kept", "rejected", "input errors", "as expected", "problem lines"], rows
    )
    if pipeline["problems"]:
        text += "\n\n## Problems\n\n" + "\n".join(f"- {p}" for p in pipeline["problems"][:50])
    if fuzz:
        fuzz_rows = [
            [name, p["passing"] + p["failing"], p["failing"], p["invalid"]]
            for name, p in sorted(fuzz["properties"].items())
        ]
        text += (
            f"\n\n## Fuzzing the readers\n\n`{FUZZ_TESTS}` with `CURATION_FUZZ_EXAMPLES={fuzz['examples_per_property']}`: "
            f"{fuzz['examples_tried']:,} examples tried, {fuzz['failing_examples']} failing, exit code "
            f"{fuzz['exit_code']}, {fuzz['seconds']:.0f} s.\n\n"
            + markdown_table(["property", "examples", "failing", "invalid"], fuzz_rows)
        )
        if fuzz["failed_tests"]:
            text += "\n\nFailed: " + ", ".join(fuzz["failed_tests"])
    machine = payload["machine"]
    text += (
        f"\n\nWhole benchmark: {payload['seconds']:.0f} s. Machine: {machine['cpu_model']}, {machine['nproc']} CPUs, "
        f"load average {machine['load_average']} at the start.\n"
    )
    return text


if __name__ == "__main__":
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    sys.exit(main())
