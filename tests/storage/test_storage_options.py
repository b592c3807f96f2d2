"""``curate --storage-options FILE``: the endpoint and credentials of an S3-protocol server given in a file
instead of the environment; the secret never reaches the outputs; a bad file fails before any work."""

from __future__ import annotations

import json

import pytest

from tests.conftest import shared
from tests.helpers import run_curate

SECRET = "not-in-any-output-7f3a"


@pytest.fixture(scope="module")
def bucket(s3_client):
    s3_client.create_bucket(Bucket="options-inputs")
    s3_client.upload_file(str(shared("web/cc-sample-a.warc.gz")), "options-inputs", "crawl/cc-sample-a.warc.gz")
    return "s3://options-inputs/crawl/"


def no_credentials_env(tmp_path) -> dict[str, str]:
    """An environment where S3 finds neither an endpoint nor credentials of its own."""
    return {
        "AWS_ENDPOINT_URL": "",
        "AWS_ACCESS_KEY_ID": "",
        "AWS_SECRET_ACCESS_KEY": "",
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
        "AWS_CONFIG_FILE": str(tmp_path / "none"),
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_MAX_ATTEMPTS": "1",
    }


def test_endpoint_and_credentials_from_a_file_and_the_secret_stays_out(bucket, s3_server, tmp_path):
    options = tmp_path / "storage.yaml"
    options.write_text(
        "s3:\n"
        f"  endpoint_url: {s3_server['AWS_ENDPOINT_URL']}\n"
        "  key: testing\n"
        f"  secret: {SECRET}\n"
        "  client_kwargs: {region_name: us-east-1}\n"
    )
    env = no_credentials_env(tmp_path)
    out = tmp_path / "out"
    without = run_curate("ingest", bucket, "--out", str(out), "--no-tracking", cwd=tmp_path, timeout=120, **env)
    assert without.returncode != 0 and not out.exists()  # the environment alone does not reach the store

    proc = run_curate("--storage-options", str(options), "ingest", bucket, "--out", str(out), cwd=tmp_path,
                      MLFLOW_TRACKING_URI=f"sqlite:///{tmp_path / 'mlflow.db'}", **env)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    manifest = json.loads((out / "manifest.json").read_text())
    assert [i["path"] for i in manifest["inputs"]] == [f"{bucket}cc-sample-a.warc.gz"]
    assert manifest["counts"]["documents"] > 0, manifest["counts"]
    written = [p for p in [*out.rglob("*"), *tmp_path.glob("mlflow.db*"), *tmp_path.rglob("mlruns/**/*")]]
    leaks = [str(p) for p in written if p.is_file() and SECRET.encode() in p.read_bytes()]
    assert leaks == [] and SECRET not in proc.stdout + proc.stderr


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("s3: [not, a, mapping]\n", "expected a mapping of scheme to keyword arguments"),
        ("s3: {endpoint_url: x\n", "not valid JSON or YAML"),
        ('{"s3 bucket": {"key": "k"}}', "'s3 bucket' is not a URL scheme"),
    ],
)
def test_a_bad_options_file_is_one_line_before_any_work(tmp_path, content, message):
    options = tmp_path / "storage.yaml"
    options.write_text(content)
    proc = run_curate("--storage-options", str(options), "ingest", "s3://b/x/", "--out", str(tmp_path / "out"),
                      "--no-tracking", cwd=tmp_path)  # fmt: skip
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode != 0 and len(lines) == 1, proc.stderr
    assert str(options) in lines[0] and message in lines[0], lines
    assert not (tmp_path / "out").exists()
