"""A Spark standalone cluster on this machine: one master and N workers, bound to 127.0.0.1.

Uses the ``spark-class`` launcher of the installed pyspark (no separate Spark download). For
integration tests and for trying cluster mode on a laptop:

    python -m jobs.local_cluster --workers 2          # prints the master URL, Ctrl-C stops it
    curate ingest INPUT --out OUT --master spark://127.0.0.1:PORT

Workers run Python tasks with the driver's interpreter (``PYSPARK_PYTHON``), so the installed
``curation`` package is importable there. Nothing listens on any interface but loopback.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

HOST = "127.0.0.1"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def _spark_class() -> str:
    import pyspark

    return str(Path(pyspark.__file__).parent / "bin" / "spark-class")


class LocalCluster:
    def __init__(
        self,
        workers: int = 2,
        cores: int = 1,
        memory: str = "1g",
        log_dir: str | Path | None = None,
        env: dict[str, str] | None = None,
    ):
        self.workers = workers
        self.cores = cores
        self.memory = memory
        self.log_dir = Path(log_dir or tempfile.mkdtemp(prefix="curation-cluster-"))
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.extra_env = dict(env or {})  # e.g. PYTHONPATH for the executors' Python workers
        self.port = _free_port()
        self.ui_port = _free_port()
        self.processes: list[subprocess.Popen] = []
        self.worker_processes: list[subprocess.Popen] = []  # the live daemon of each worker slot, by index

    @property
    def master_url(self) -> str:
        return f"spark://{HOST}:{self.port}"

    def _env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            SPARK_LOCAL_IP=HOST, SPARK_MASTER_HOST=HOST, PYSPARK_PYTHON=env.get("PYSPARK_PYTHON", sys.executable)
        )
        env.setdefault("SPARK_WORKER_DIR", str(self.log_dir / "work"))
        env.update(self.extra_env)
        return env

    @property
    def work_dir(self) -> Path:
        """Where the workers keep each executor's folder: ``APP_ID/EXECUTOR_ID/{stdout,stderr}``."""
        return Path(self._env()["SPARK_WORKER_DIR"])

    def _launch(self, name: str, args: list[str]) -> subprocess.Popen:
        log = open(self.log_dir / f"{name}.log", "ab")
        process = subprocess.Popen(
            [_spark_class(), *args], stdout=log, stderr=subprocess.STDOUT, env=self._env(), start_new_session=True
        )
        self.processes.append(process)
        return process

    def status(self) -> dict:
        with urllib.request.urlopen(f"http://{HOST}:{self.ui_port}/json/", timeout=2) as response:
            return json.load(response)

    def start(self, timeout_s: float = 90) -> LocalCluster:
        self._launch(
            "master",
            [
                "org.apache.spark.deploy.master.Master",
                "--host",
                HOST,
                "--port",
                str(self.port),
                "--webui-port",
                str(self.ui_port),
            ],
        )
        self.worker_processes = [self._launch_worker(i) for i in range(self.workers)]
        self._wait_for_workers(timeout_s)
        return self

    def _launch_worker(self, index: int) -> subprocess.Popen:
        args = ["org.apache.spark.deploy.worker.Worker", "--host", HOST, "--cores", str(self.cores)]
        args += ["--memory", self.memory, "--webui-port", str(_free_port()), self.master_url]
        return self._launch(f"worker-{index}", args)

    def restart_workers(self, timeout_s: float = 90) -> list[int]:
        """Start a new daemon for every worker whose daemon exited (a killed node replaced); wait until the
        master counts them all alive. Returns the indices restarted."""
        dead = [i for i, process in enumerate(self.worker_processes) if process.poll() is not None]
        if not dead:
            return []
        known = {worker["id"] for worker in self.status().get("workers", [])}
        for index in dead:
            self.worker_processes[index] = self._launch_worker(index)
        self._wait_for_workers(timeout_s, len(dead), known)
        return dead

    def _alive_workers(self, known: set[str]) -> int:
        return sum(1 for w in self.status().get("workers", []) if w.get("state") == "ALIVE" and w["id"] not in known)

    def _wait_for_workers(self, timeout_s: float, count: int | None = None, known: set[str] = frozenset()) -> None:
        """Until ``count`` (default: all) workers not in ``known`` are registered alive with the master."""
        count = self.workers if count is None else count
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            for process in [self.processes[0], *self.worker_processes]:
                if process.poll() is not None:
                    self.stop()
                    raise RuntimeError(f"a Spark daemon exited early; see logs in {self.log_dir}")
            try:
                if self._alive_workers(known) >= count:
                    return
            except OSError:
                pass
            time.sleep(0.5)
        self.stop()
        raise RuntimeError(f"cluster not ready after {timeout_s:.0f}s; see logs in {self.log_dir}")

    def stop(self) -> None:
        for process in reversed(self.processes):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
        self.processes.clear()


@contextmanager
def local_cluster(
    workers: int = 2,
    cores: int = 1,
    memory: str = "1g",
    log_dir: str | Path | None = None,
    env: dict[str, str] | None = None,
):
    cluster = LocalCluster(workers, cores, memory, log_dir, env).start()
    try:
        yield cluster
    finally:
        cluster.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description="Run a Spark standalone master + workers on 127.0.0.1 until Ctrl-C.")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--cores", type=int, default=1, help="cores per worker")
    parser.add_argument("--memory", default="1g", help="memory per worker")
    args = parser.parse_args()
    with local_cluster(args.workers, args.cores, args.memory) as cluster:
        print(
            f"master: {cluster.master_url}  (web UI http://{HOST}:{cluster.ui_port}, logs {cluster.log_dir})",
            flush=True,
        )
        try:
            while all(p.poll() is None for p in cluster.processes):
                time.sleep(1)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
