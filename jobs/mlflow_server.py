"""An MLflow tracking server for curation jobs, bound to 127.0.0.1 unless told otherwise.

    python -m jobs.mlflow_server --store runs/mlflow-server          # prints the URI; Ctrl-C stops it
    export MLFLOW_TRACKING_URI=http://127.0.0.1:5000

Runs the installed ``mlflow server`` with a SQLite backend store and a local artifact folder under
``--store``, in a process group of its own (the server starts worker processes; stopping it stops them all).
MLflow's server has no authentication: listening on another interface (``--host 0.0.0.0``) lets anyone who
reaches the port read and write every run, so it is refused unless ``--allow-remote`` says it is meant.
The integration tests (``tests/reliability_faults/``) start their servers through this module.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

LOOPBACK = "127.0.0.1"


def free_port(host: str = LOOPBACK) -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def server_command(
    store: Path, host: str, port: int, workers: int = 1, artifacts_destination: str | None = None
) -> list[str]:
    """The ``mlflow server`` command line: SQLite runs under ``store``; artifacts under ``store`` too, or at
    ``artifacts_destination`` (e.g. ``s3://bucket/mlflow``), which the server proxies: clients upload through
    it and need no credentials of the store."""
    return [
        sys.executable,
        "-m",
        "mlflow",
        "server",
        "--host",
        host,
        "--port",
        str(port),
        "--backend-store-uri",
        f"sqlite:///{store / 'mlflow.db'}",
        "--artifacts-destination",
        artifacts_destination or str(store / "artifacts"),
        "--workers",
        str(workers),
    ]


class TrackingServer:
    """A running ``mlflow server``; ``host`` defaults to loopback and another interface needs ``allow_remote``."""

    def __init__(
        self,
        store: str | os.PathLike,
        host: str = LOOPBACK,
        port: int = 0,
        allow_remote: bool = False,
        artifacts_destination: str | None = None,
        env: dict[str, str] | None = None,
    ):
        if not is_loopback(host) and not allow_remote:
            raise ValueError(
                f"refusing to serve MLflow on {host}: the server has no authentication; "
                "pass allow_remote (--allow-remote) if every host that can reach it may read and write runs"
            )
        self.store = Path(store).resolve()
        self.artifacts_destination = artifacts_destination
        self.extra_env = dict(env or {})  # e.g. the artifact store's credentials and MLFLOW_S3_ENDPOINT_URL
        self.host = host
        self.port = port or free_port(host if is_loopback(host) else "")
        connect = LOOPBACK if host in ("0.0.0.0", "::") else host
        self.uri = f"http://{connect}:{self.port}"
        self.db = self.store / "mlflow.db"
        self.log = self.store / "server.log"
        self.process: subprocess.Popen | None = None

    def start(self) -> TrackingServer:
        self.store.mkdir(parents=True, exist_ok=True)
        # Not the client's MLflow settings (a tracking URI would point the server at itself), but the S3
        # artifact store's (MLFLOW_S3_ENDPOINT_URL, MLFLOW_S3_IGNORE_TLS).
        env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_") or k.startswith("MLFLOW_S3_")}
        env.update(self.extra_env)
        env["MLFLOW_SERVER_ENABLE_JOB_EXECUTION"] = "false"  # no job runner: starts in about half the time
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(
                server_command(self.store, self.host, self.port, artifacts_destination=self.artifacts_destination),
                cwd=self.store,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return self

    def wait_ready(self, timeout_s: float = 90) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                tail = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
                raise RuntimeError(f"mlflow server exited; the end of {self.log}:\n{tail}")
            try:
                with urllib.request.urlopen(f"{self.uri}/health", timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.5)
        raise RuntimeError(f"mlflow server did not answer on {self.uri} within {timeout_s:.0f} s; see {self.log}")

    def signal(self, sig: int) -> None:
        assert self.process is not None, "not started"
        os.killpg(self.process.pid, sig)

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.signal(signal.SIGCONT)
            self.signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                pass
        try:
            self.signal(signal.SIGKILL)  # whatever of the group is left (its uvicorn worker)
        except ProcessLookupError:
            pass
        self.process.wait()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", type=Path, default=Path("runs/mlflow-server"), help="runs and artifacts folder")
    parser.add_argument("--host", default=LOOPBACK, help=f"interface to listen on (default {LOOPBACK})")
    parser.add_argument("--port", type=int, default=5000, help="port (default 5000; 0 picks a free one)")
    parser.add_argument(
        "--allow-remote", action="store_true", help="allow a non-loopback --host (MLflow has no authentication)"
    )
    parser.add_argument(
        "--artifacts-destination",
        help="where the server stores artifacts, e.g. s3://bucket/mlflow (default: STORE/artifacts); for an "
        "S3-compatible store set AWS_* credentials and MLFLOW_S3_ENDPOINT_URL in this command's environment",
    )
    args = parser.parse_args(argv)
    try:
        server = TrackingServer(
            args.store, args.host, args.port, args.allow_remote, artifacts_destination=args.artifacts_destination
        ).start()
        server.wait_ready()
    except (ValueError, RuntimeError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"MLflow tracking server on {server.uri} (store {server.store}); Ctrl-C stops it", flush=True)
    print(f"export MLFLOW_TRACKING_URI={server.uri}", flush=True)
    try:
        while server.process.poll() is None:
            time.sleep(1)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
