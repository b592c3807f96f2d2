"""The benchmarks' harness: what every result records (``provenance``: time, command, machine, versions, git
commit and dirty flag), Markdown tables, and result files written atomically (``write_results``).

The scripts run as ``python benchmarks/<name>.py``, which puts this folder on ``sys.path``, so they import
this module as ``common``.
"""

from __future__ import annotations

import json
import os
import platform
import shlex
import subprocess
import sys
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = Path(os.environ.get("CURATION_SHARED_DATA", ROOT.parent / "shared" / "data"))
RESULTS = Path(__file__).resolve().parent / "results"


def command_output(cmd: list[str]) -> str:
    """stdout + stderr of a command, stripped; "" when it cannot run or takes over 30 s."""
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return ""
    return (done.stdout + done.stderr).strip()


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def machine_info(java: bool = False) -> dict:
    """CPU model, CPUs usable by this process (``nproc``), memory, OS, Python, the load average now and,
    with ``java``, the first line of ``java -version``."""
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in command_output(["lscpu"]).splitlines()
            if line.startswith("Model name")
        ),
        "",
    )
    nproc = command_output(["nproc"])
    info: dict = {
        "nproc": int(nproc) if nproc.isdigit() else os.cpu_count(),
        "cpu_model": model,
        "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / (1 << 30), 1),
        "os": platform.platform(),
        "python": platform.python_version(),
    }
    if java:
        lines = command_output(["java", "-version"]).splitlines()
        info["java"] = lines[0] if lines else ""
    info["load_average"] = load_average()
    return info


def package_versions(names: list[str]) -> dict:
    """Installed version of each package (None if missing), our code version, git commit and dirty flag."""
    out: dict = {}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    from curation.ingest.job import code_version

    out["curation"] = code_version()
    out["git_commit"] = command_output(["git", "-C", str(ROOT), "rev-parse", "HEAD"]) or None
    # tracked files changed, other than the results a running benchmark is writing
    status = ["git", "-C", str(ROOT), "status", "--porcelain", "-uno", "--", ".", ":!benchmarks/results"]
    out["curation_worktree_dirty"] = bool(command_output(status))
    return out


def provenance(
    packages: list[str], *, java: bool = False, machine: dict | None = None, argv: list[str] | None = None
) -> dict:
    """What every result file starts with: ``date`` (UTC, to the second), the ``command`` that made it (the
    script and ``argv``, default the process's arguments), the ``machine`` (``machine_info``, or the one the
    script recorded itself, e.g. before its work) and the ``versions`` of ``packages``, our code, the git
    commit and whether the worktree was dirty."""
    script = Path(sys.argv[0])
    shown = f"benchmarks/{script.name}" if script.resolve().parent == RESULTS.parent else sys.argv[0]
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": shlex.join(["python", shown, *(sys.argv[1:] if argv is None else argv)]),
        "machine": machine if machine is not None else machine_info(java=java),
        "versions": package_versions(packages),
    }


def format_versions(versions: dict) -> str:
    """``package_versions`` as one line: ``name version, ...`` and `` (worktree dirty)`` when it was."""
    text = ", ".join(f"{k} {v}" for k, v in versions.items() if k != "curation_worktree_dirty")
    return text + (" (worktree dirty)" if versions.get("curation_worktree_dirty") else "")


def missing_datatrove_io() -> list[str]:
    """datatrove's readers need its ``io`` extra, which ``datatrove[processing]`` does not pull in."""
    from importlib.util import find_spec

    wanted = {"cchardet": "faust-cchardet", "magic": "python-magic", "orjson": "orjson"}
    return [package for module, package in wanted.items() if find_spec(module) is None]


def child_env() -> dict:
    """Environment for child processes: Spark workers on this interpreter, wide rich output, no MLflow."""
    env = dict(os.environ)
    env.setdefault("PYSPARK_PYTHON", sys.executable)
    env.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    env["COLUMNS"] = "200"  # rich: keep the CLI's summary line on one line
    env.pop("MLFLOW_TRACKING_URI", None)
    return env


def cell(value, digits: int = 2, large: float = 100, large_digits: int = 0) -> str:
    """One table cell: None as "–", ints with thousands separators, floats with ``digits`` decimals below
    ``large`` in absolute value and ``large_digits`` decimals (with separators) from there on."""
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}f}" if abs(value) < large else f"{value:,.{large_digits}f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def markdown_table(headers: list[str], rows: list[list], **number_format) -> str:
    """A Markdown table; ``number_format`` (digits, large, large_digits) goes to ``cell``."""
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    return "\n".join(lines + ["| " + " | ".join(cell(v, **number_format) for v in row) + " |" for row in rows])


def write_results(out_dir: Path, name: str, payload: dict, markdown: str) -> tuple[Path, Path]:
    """Write ``<name>.json`` and ``<name>.md`` in ``out_dir``, each through a temporary file and a rename."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = out_dir / f"{name}.json", out_dir / f"{name}.md"
    texts = json.dumps(payload, indent=2, ensure_ascii=False) + "\n", markdown
    for path, text in zip(paths, texts, strict=True):
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
    return paths
