"""Stage-level GPU requests (curation.spark_resources): only a scoring stage's tasks ask Spark for a GPU share.
On a real standalone cluster whose workers declare one GPU (a discovery script; no CUDA is needed to schedule
it), the probe's tasks get GPU 0 when they ask, and no GPU when they do not."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from curation.errors import ConfigError
from tests.conftest import REPO


class FakeContext:
    def __init__(self, master: str, conf: dict[str, str]):
        self.master, self._conf = master, conf

    def getConf(self):  # noqa: N802 - SparkContext's name
        return self._conf


def test_a_profile_is_asked_only_on_a_cluster_whose_executors_have_the_resource():
    from curation.spark_resources import task_profile

    gpus = {"spark.executor.resource.gpu.amount": "1"}
    assert task_profile(FakeContext("local[2]", {}), {"gpu": 0.25}) is None  # local mode: the machine's GPU
    assert task_profile(FakeContext("spark://h:7077", gpus), {}) is None
    assert task_profile(FakeContext("spark://h:7077", gpus), {"gpu": 0}) is None
    profile = task_profile(FakeContext("spark://h:7077", gpus), {"gpu": 0.25})
    assert profile.taskResources["gpu"].amount == 0.25 and profile.taskResources["cpus"].amount == 1
    with pytest.raises(ConfigError, match="spark.executor.resource.gpu.amount"):
        task_profile(FakeContext("spark://h:7077", {}), {"gpu": 0.25})
    with pytest.raises(ConfigError, match="fraction of one"):
        task_profile(FakeContext("spark://h:7077", gpus), {"gpu": 1.5})
    with pytest.raises(ConfigError, match="dynamicAllocation"):
        task_profile(FakeContext("spark://h:7077", {**gpus, "spark.dynamicAllocation.enabled": "true"}), {"gpu": 1})


def test_torch_scorers_ask_for_their_gpu_share_unless_on_cpu():
    from raters.saved_model_scores import SavedModelScores

    class Scorer(SavedModelScores):
        name, version = "probe", "1"
        output_schema = compute = load_model = None

        def __init__(self, device, gpus_per_task):
            self.device, self.gpus_per_task = device, gpus_per_task

    assert Scorer("auto", 0.25).task_resources() == {"gpu": 0.25}
    assert Scorer("cpu", 0.25).task_resources() == {}
    assert Scorer("auto", 0.0).task_resources() == {}


@pytest.mark.cluster
def test_only_the_stage_that_asks_gets_a_gpu_on_a_standalone_cluster(tmp_path):
    from jobs.local_cluster import local_cluster
    from tests.raters.scores.conftest import write_corpus

    corpus = write_corpus(tmp_path / "corpus", [{"id": f"d{i}", "text": f"document {i}"} for i in range(8)], shards=4)
    script = tmp_path / "gpu.sh"
    script.write_text('#!/bin/sh\necho \'{"name": "gpu", "addresses": ["0"]}\'\n')
    script.chmod(0o755)
    worker_opts = f"-Dspark.worker.resource.gpu.amount=1 -Dspark.worker.resource.gpu.discoveryScript={script}"
    env = {"PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]), "SPARK_LOCAL_IP": "127.0.0.1"}
    conf = {"spark.executor.resource.gpu.amount": "1", "spark.executor.resource.gpu.discoveryScript": str(script),
            "spark.executor.cores": "2"}  # fmt: skip
    with local_cluster(workers=1, cores=2, memory="1g", env={**env, "SPARK_WORKER_OPTS": worker_opts}) as cluster:
        seen = {}
        for gpus in ("0.5", "0"):
            done = subprocess.run(
                [sys.executable, "-m", "tests.jobs.gpu_probe", str(corpus), str(tmp_path / f"gpu-{gpus}"),
                 cluster.master_url, json.dumps(conf), gpus],
                cwd=REPO, env={**os.environ, **env, "PYSPARK_PYTHON": sys.executable}, capture_output=True, text=True,
                timeout=300,
            )  # fmt: skip
            assert done.returncode == 0, done.stderr[-3000:]
            seen[gpus] = json.loads(done.stdout.strip().splitlines()[-1])
            if gpus == "0.5":
                assert "each task asks Spark for 0.5 gpu" in done.stderr
    assert seen["0.5"] == ["0"] * 8  # every task of the stage that asked got the worker's GPU
    assert seen["0"] == [""] * 8  # the same stage without the request: no GPU held
