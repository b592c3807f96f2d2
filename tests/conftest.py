"""Shared fixtures. Tests that need the real corpora skip with a reason when ../shared is absent."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from tests.s3_server import s3_client, s3_server  # noqa: F401 - the S3 server's fixtures, for every test

# The tests start a Spark driver JVM for each `curate` command they run (well over a hundred). Without the
# optimising JIT and with the serial collector such a short-lived JVM starts about 2 s sooner; neither changes
# what Java computes, so outputs are the same. Read by spark-submit for the driver (and inherited by the
# commands the tests run); a value set outside the tests wins.
os.environ.setdefault("SPARK_SUBMIT_OPTS", "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC")

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = Path(os.environ.get("CURATION_SHARED_DATA", REPO.parent / "shared" / "data"))
WEB = SHARED_DATA / "web"

os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")


def _threads_per_test_process() -> int | None:
    """Under pytest-xdist, each worker's share of the cores; None when the tests run in one process."""
    workers = os.environ.get("PYTEST_XDIST_WORKER_COUNT", "")
    if not workers.isdigit() or int(workers) < 2:
        return None
    return max(1, (os.cpu_count() or 1) // int(workers))


# With the tests in several processes (pytest-xdist, `-n 2` in pyproject.toml), torch, LightGBM (OpenMP) and
# BLAS would each start a thread per core in every process: 4 busy threads on CI's 2 cores, and the proxy-
# training tests ran 2-3x slower (the Meta-rater fit tests, side by side: 85 and 71 s, against 39 and 22 s
# with one thread each). So every test process gets its share of the cores; set before anything imports
# torch, and inherited by the commands the tests run. A value set outside the tests wins.
if (_threads := _threads_per_test_process()) is not None:
    for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(_variable, str(_threads))


def shared(relative: str) -> Path:
    path = SHARED_DATA / relative
    if not path.exists():
        pytest.skip(f"real corpus {path} not available (expected ../shared/data beside the checkout)")
    return path


@pytest.fixture(scope="session")
def spark():
    from curation.spark import get_spark

    session = get_spark("local[2]", "curation-tests")
    yield session
    session.stop()


@pytest.fixture(scope="session")
def bad_inputs(tmp_path_factory) -> Path:
    from tests.bad_inputs import write_bad_inputs

    return write_bad_inputs(tmp_path_factory.mktemp("bad-inputs"))


@pytest.fixture(autouse=True)
def _tracking_uri_not_left_behind():
    """A test that sets MLflow's tracking URI in this process (``mlflow.set_tracking_uri``, as a notebook
    would) leaves it to no later test: those read ``MLFLOW_TRACKING_URI`` from their own environment."""
    yield
    mlflow = sys.modules.get("mlflow")
    if mlflow is not None:
        mlflow.set_tracking_uri(None)
