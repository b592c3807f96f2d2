"""What every ``curate`` sub-command shares: Spark and tracking options, and one-line errors."""

from __future__ import annotations

import os
import re
from contextlib import contextmanager
from typing import Annotated, Optional

import typer

from curation.errors import CurationError

# Options every Spark stage takes.
SparkMaster = Annotated[
    Optional[str], typer.Option("--master", help="Spark master URL (default local[*]; e.g. spark://host:7077).")
]
SparkConf = Annotated[Optional[list[str]], typer.Option("--conf", help="Extra Spark setting KEY=VALUE (repeatable).")]
Tracking = Annotated[bool, typer.Option("--tracking/--no-tracking", help="Record the stage as an MLflow run.")]
OverwriteAttributes = Annotated[
    bool, typer.Option("--overwrite", help="Replace an attribute set computed for another corpus or config.")
]
GpusPerTask = Annotated[
    float,
    typer.Option(
        help="On a cluster: the share of a GPU each scoring task asks Spark for (a stage-level resource profile; "
        "the executors need spark.executor.resource.gpu.amount). 0: none."
    ),
]


def fail(exc: BaseException, code: int) -> None:
    typer.echo(f"curate: error: {exc}", err=True)
    raise typer.Exit(code)


def _task_failure(exc: BaseException) -> str | None:
    """The one line that matters from a failed Spark job: the Python exception raised in a task."""
    if not (type(exc).__module__.startswith(("pyspark", "py4j"))):
        return None
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    for line in reversed(lines):
        if re.match(r"^[\w.]+(Error|Exception|Interrupt): ", line):
            return line
    return lines[0] if lines else type(exc).__name__


@contextmanager
def one_line_errors():
    """Typed errors and Spark task failures become one line and a non-zero exit (CURATION_DEBUG=1: traceback)."""
    try:
        yield
    except CurationError as exc:
        fail(exc, exc.exit_code)
    except OSError as exc:  # a full disk, a read-only or missing directory, no permission: the OS's own words
        if os.environ.get("CURATION_DEBUG"):
            raise
        where = f"{exc.filename}: " if exc.filename else ""
        fail(CurationError(f"{where}{exc.strerror or exc} (set CURATION_DEBUG=1 for the traceback)"), 1)
    except Exception as exc:
        message = _task_failure(exc)
        if message is None or os.environ.get("CURATION_DEBUG"):
            raise
        fail(CurationError(f"Spark job failed: {message} (set CURATION_DEBUG=1 for the traceback)"), 1)
