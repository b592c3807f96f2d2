"""Denied access: an S3-protocol server that enforces IAM (moto's server in its own process, with
authorization on after the setup requests), read with the keys of a user who has no policy. The job stops
before any work with one line naming the URL."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers import run_curate
from tests.s3_server import free_port

SETUP_REQUESTS = 4  # create bucket, put object, create user, create access key: unauthenticated, then IAM applies


@pytest.fixture(scope="module")
def locked_store(tmp_path_factory):
    pytest.importorskip("moto.server", reason="moto[server] is a dev dependency")
    boto3 = pytest.importorskip("boto3")
    port = free_port()
    log = tmp_path_factory.mktemp("moto") / "server.log"
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        env=dict(os.environ, INITIAL_NO_AUTH_ACTION_COUNT=str(SETUP_REQUESTS)),
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline and server.poll() is None, log.read_text()[-2000:]
                time.sleep(0.2)
        endpoint = f"http://127.0.0.1:{port}"
        root = dict(endpoint_url=endpoint, aws_access_key_id="testing", aws_secret_access_key="testing",
                    region_name="us-east-1")  # fmt: skip
        s3, iam = boto3.client("s3", **root), boto3.client("iam", **root)
        s3.create_bucket(Bucket="locked")
        s3.put_object(Bucket="locked", Key="crawl/docs.jsonl", Body=b'{"id": "a", "text": "hello world"}\n')
        iam.create_user(UserName="reader")
        key = iam.create_access_key(UserName="reader")["AccessKey"]
        yield {
            "AWS_ENDPOINT_URL": endpoint,
            "AWS_ACCESS_KEY_ID": key["AccessKeyId"],
            "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"],
            "AWS_DEFAULT_REGION": "us-east-1",
        }
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.mark.parametrize("url", ["s3://locked/crawl/", "s3://locked/crawl/docs.jsonl"])
def test_denied_access_is_one_line_naming_the_url_before_any_work(locked_store, tmp_path, url):
    out = tmp_path / "out"
    proc = run_curate("ingest", url, "--out", str(out), "--no-tracking", cwd=tmp_path, timeout=120, **locked_store)
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode != 0 and len(lines) == 1, proc.stderr[-2000:]
    assert lines[0].startswith(f"curate: error: {url}: access denied"), lines[0]
    assert locked_store["AWS_SECRET_ACCESS_KEY"] not in proc.stderr
    assert not out.exists()
