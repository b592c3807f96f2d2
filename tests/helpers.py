"""Running the real `curate` command in a subprocess, as a user would."""

from __future__ import annotations

import os
import subprocess
import sys


def curate_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "pipelines.cli", *args]


def curate_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ, PYSPARK_PYTHON=sys.executable, SPARK_LOCAL_IP="127.0.0.1", **extra)
    env.pop("MLFLOW_TRACKING_URI", None) if "MLFLOW_TRACKING_URI" not in extra else None
    return env


def run_curate(*args: str, cwd=None, timeout: float = 300, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        curate_cmd(*args), cwd=cwd, env=curate_env(**env), capture_output=True, text=True, timeout=timeout
    )
