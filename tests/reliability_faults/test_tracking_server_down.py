"""The MLflow tracking server is down before a job, or goes away during one (a real ``mlflow server``).

Before: ``curate signals`` fails fast with one line naming the tracking URI and writes nothing.
During: the job commits its outputs and says once that tracking was lost; the manifest's run id names the
run, which the store keeps RUNNING and without what was logged after the loss. Waits stay bounded even
when the server stops answering without closing connections (SIGSTOP: every request times out).
"""

from __future__ import annotations

import os
import signal
import socket
import time

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import jobs.mlflow_server
from curation.attribute_stage import AttributeProducer, run_attribute_stage
from curation.attributes import AttributeSet
from curation.tracking import END_TIMEOUT_S, stage_run, tracking_lost
from tests.helpers import run_curate
from tests.reliability_faults import c4_corpus, error_lines


class TrackingServer(jobs.mlflow_server.TrackingServer):
    """The server ``jobs/mlflow_server.py`` starts (127.0.0.1, SQLite store), and a look into its store."""

    def runs(self) -> dict:
        """Every run in the server's store, read from its SQLite file (the server may be gone)."""
        from mlflow import MlflowClient

        client = MlflowClient(tracking_uri=f"sqlite:///{self.db}")
        experiments = [e.experiment_id for e in client.search_experiments()]
        return {run.info.run_id: run for run in client.search_runs(experiments)}


def refuses(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) != 0


class StopsTrackingServer(AttributeProducer):
    """Words per document; its first task stops the tracking server and waits until it refuses connections,
    so the store goes away in the middle of the job, after the run started and before its results are logged."""

    name = "words"
    version = "v1"

    def __init__(self, process_group: int, port: int):
        self.process_group, self.port = process_group, port

    def output_schema(self):
        return pa.schema([pa.field("words", pa.int64())])

    def compute(self, batch):
        try:
            os.killpg(self.process_group, signal.SIGTERM)
        except ProcessLookupError:
            pass  # another task stopped it already
        deadline = time.monotonic() + 60
        while not refuses(self.port) and time.monotonic() < deadline:
            time.sleep(0.2)
        return {"words": [len(text.split()) for text in batch.column("text").to_pylist()]}


@pytest.fixture(scope="module")
def corpus(spark, tmp_path_factory):
    return c4_corpus(tmp_path_factory)


@pytest.fixture(scope="module", autouse=True)
def server(tmp_path_factory):
    """Started with the module (it takes ~10 s to answer); tests that use it wait until it does."""
    server = TrackingServer(tmp_path_factory.mktemp("mlflow-server")).start()
    try:
        yield server
    finally:
        server.stop()


def test_unreachable_server_fails_fast_with_one_line_and_writes_nothing(corpus, tmp_path):
    uri = f"http://127.0.0.1:{jobs.mlflow_server.free_port()}"  # nothing listens there
    out = tmp_path / "signals"
    started = time.monotonic()
    result = run_curate(
        "signals", str(corpus.root), "--out", str(out), "--master", "local[2]", MLFLOW_TRACKING_URI=uri, cwd=tmp_path
    )
    seconds = time.monotonic() - started
    assert result.returncode == 1, result.stderr
    assert seconds < 45, f"took {seconds:.0f} s to notice an unreachable tracking server"
    lines = error_lines(result.stderr)
    assert len(lines) == 1, result.stderr
    assert (
        lines[0].startswith("curate: error: MLflow tracking store ") and uri in lines[0] and "--no-tracking" in lines[0]
    )
    assert not (out / "manifest.json").exists() and not list(out.glob("part-*")) and not list(out.glob(".*"))
    assert not (tmp_path / "mlflow.db").exists()


def test_hung_server_costs_a_bounded_wait_once(server, monkeypatch, capfd):
    """SIGSTOP: connections are accepted and never answered, the worst case for MLflow's retries."""
    timeout_s = 1
    server.wait_ready()
    monkeypatch.setenv("MLFLOW_TRACKING_URI", server.uri)
    try:
        with stage_run("hung-server", {"fault": "sigstop"}) as run:
            run.log_metrics({"before": 1.0})
            monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", str(timeout_s))  # read by every request
            server.signal(signal.SIGSTOP)
            started = time.monotonic()
            run.log_metrics({"after": 2.0})  # 3 attempts of timeout_s; back-off 0 s, then 4 s + jitter <= 1 s
            run.log_dict({"after": True}, "after.json")  # tracking is lost: no more waits from here
            run.set_tags({"after": "yes"})
            with run.child("child", {"x": 1}) as child:
                child.log_metrics({"child": 1.0})
        seconds = time.monotonic() - started  # including the one try to end the run (at most timeout_s)
    finally:
        server.signal(signal.SIGCONT)
    assert seconds < 3 * timeout_s + 5 + min(END_TIMEOUT_S, timeout_s) + 3, seconds
    assert tracking_lost() and server.uri in tracking_lost() and run.run_id in tracking_lost()
    warnings = [line for line in error_lines(capfd.readouterr().err) if "tracking lost" in line]
    assert len(warnings) == 1 and warnings[0].startswith("curate: warning: tracking lost: MLflow store "), warnings


def test_server_stopped_mid_job_outputs_commit_and_the_run_stays_incomplete(
    corpus, server, tmp_path, monkeypatch, capfd
):
    server.wait_ready()
    monkeypatch.setenv("MLFLOW_TRACKING_URI", server.uri)
    out = tmp_path / "words"
    started = time.monotonic()
    attributes = run_attribute_stage(
        corpus.root, StopsTrackingServer(server.process.pid, server.port), out, master="local[2]"
    )
    seconds = time.monotonic() - started
    assert server.process.wait(timeout=30) is not None  # the server really went away during the job
    assert seconds < 120, seconds

    # The outputs are complete and committed: the manifest is there and reconciles with the corpus.
    reopened = AttributeSet.open(out, corpus)
    assert (
        reopened.manifest["rows"]
        == corpus.num_documents
        == sum(pq.ParquetFile(reopened.part_path(i)).metadata.num_rows for i in range(len(corpus.shard_paths)))
    )
    texts = corpus.read_documents(["text"]).column("text").to_pylist()
    assert reopened.read(["words"]).column("words").to_pylist() == [len(t.split()) for t in texts]

    # One warning line names the store and the run; the manifest names that run.
    run_id = attributes.manifest["mlflow_run_id"]
    stderr = capfd.readouterr().err
    warnings = [line for line in error_lines(stderr) if "tracking lost" in line]
    assert len(warnings) == 1 and server.uri in warnings[0] and run_id in warnings[0], warnings
    assert "Traceback" not in stderr and "curate: error" not in stderr, stderr

    # The store kept what was logged before the server went away, nothing after, and the run is not ended.
    run = server.runs()[run_id]
    assert run.data.params["producer"] == "words" and run.data.tags["curation.stage"] == "words"
    assert run.info.status == "RUNNING"
    assert "documents" not in run.data.metrics
