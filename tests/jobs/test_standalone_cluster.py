"""The same ingest on a real Spark standalone master with two workers (loopback only) equals local mode."""

from __future__ import annotations

import pytest

from tests.conftest import shared
from tests.helpers import run_curate


@pytest.mark.cluster
def test_cluster_ingest_equals_local(tmp_path):
    from jobs.local_cluster import local_cluster

    inputs = [
        str(shared("web/cc-sample-a.warc.gz")),
        str(shared("web/c4-en-sample-1000.jsonl.gz")),
        str(shared("web/cc-main-2016-50-sample.warc.wet.gz")),
    ]
    common = ["ingest", *inputs, "--shards", "4", "--split-mb", "0.3", "--no-tracking"]
    local = run_curate(*common, "--out", str(tmp_path / "local"), "--master", "local[2]")
    assert local.returncode == 0, local.stderr
    with local_cluster(workers=2, cores=1, memory="1g") as cluster:
        assert cluster.status()["aliveworkers"] == 2
        remote = run_curate(*common, "--out", str(tmp_path / "cluster"), "--master", cluster.master_url, timeout=600)
        assert remote.returncode == 0, remote.stderr
        assert f"on {cluster.master_url}" in remote.stderr
    for name in [f"shards/part-{i:05d}.parquet" for i in range(4)] + ["manifest.json"]:
        assert (tmp_path / "local" / name).read_bytes() == (tmp_path / "cluster" / name).read_bytes(), name
