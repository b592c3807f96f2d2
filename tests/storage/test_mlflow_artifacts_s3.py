"""MLflow artifacts in the same object store as the data: an MLflow server whose ``--artifacts-destination``
is an ``s3://`` prefix on the S3-protocol test server; a stage's artifacts land there as objects."""

from __future__ import annotations

import pytest

from jobs.mlflow_server import TrackingServer


@pytest.fixture(scope="module")
def server_with_s3_artifacts(s3_server, s3_client, tmp_path_factory):
    s3_client.create_bucket(Bucket="mlflow-artifacts")
    env = s3_server | {"MLFLOW_S3_ENDPOINT_URL": s3_server["AWS_ENDPOINT_URL"]}
    server = TrackingServer(
        tmp_path_factory.mktemp("mlflow-s3"), artifacts_destination="s3://mlflow-artifacts/runs", env=env
    ).start()
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


def test_stage_artifacts_go_to_the_object_store(server_with_s3_artifacts, s3_client, monkeypatch, tmp_path):
    import mlflow

    from curation.tracking import stage_run

    monkeypatch.setenv("MLFLOW_TRACKING_URI", server_with_s3_artifacts.uri)
    monkeypatch.chdir(tmp_path)
    # The client holds no credentials of the store: the server proxies the upload.
    for name in ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name, raising=False)
    try:
        with stage_run("artifact-probe", {"what": "a manifest"}) as run:
            run.log_dict({"documents": 3}, "manifest.json")
            run_id = run.run_id
    finally:
        mlflow.set_tracking_uri(None)
    keys = [o["Key"] for o in s3_client.list_objects_v2(Bucket="mlflow-artifacts").get("Contents", [])]
    assert any(key.startswith("runs/") and key.endswith(f"{run_id}/artifacts/manifest.json") for key in keys), keys
    body = s3_client.get_object(Bucket="mlflow-artifacts", Key=next(k for k in keys if k.endswith("manifest.json")))
    assert b'"documents": 3' in body["Body"].read()
