"""The whole pipeline on a real Spark standalone cluster (master + 2 workers on 127.0.0.1): every stage's output
byte-identical to local mode, and the job finishes with the same bytes when executors and a worker are killed
under it.

The pipeline (``tests/reliability/kill_points.py``): 60 C4 pages (6 more copying them, exact and near
duplicates) + 30 Wikipedia articles in 2 shards; ingest -> signals -> dedup -> DataRater (train 2 outer steps on
the driver, score in Spark tasks, keep flags) -> select -> mix -> export. About 10 minutes on 2 busy cores, so
``slow`` (deselected by default): ``benchmarks/reliability_cluster.py`` runs it, and more kills.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest

from pipelines.runner import STAGES as PIPELINE_STAGES
from tests.conftest import SHARED_DATA, shared
from tests.reliability.kill_points import Case, compare_outputs, pipeline_config, run_reference, write_inputs

pytestmark = [pytest.mark.cluster, pytest.mark.slow]

# The runner's stages this pipeline has (no Meta-rater, no validation; datarater_only is validation's)
STAGES = [s for s in PIPELINE_STAGES if not s.startswith("metarater") and s not in ("datarater_only", "validate")]
SPARK_STAGES = ["ingest", "signals", "dedup", "datarater_score", "select"]  # the others run on the driver


@dataclass
class Runs:
    local: Case
    remote: Case
    config: object  # the cluster's pipeline.yaml
    cluster: object


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    from jobs.local_cluster import local_cluster
    from tests.reliability.determinism import executor_env

    shared("web/c4-en-sample-1000.jsonl.gz")
    shared("reference/enwiki-6514-articles.jsonl.gz")
    root = tmp_path_factory.mktemp("cluster-pipeline")
    write_inputs(root, SHARED_DATA, c4=60, wiki=30, duplicates=6)
    options = {"shards": 2, "tokens": "150k", "export_rows": 20, "datarater": True, "dedup": True}
    local = run_reference(pipeline_config(root, **options, file_name="local.yaml"), root / "local", timeout=900)
    with local_cluster(workers=2, cores=1, log_dir=root / "cluster-logs", env=executor_env()) as cluster:
        config = pipeline_config(root, **options, master=cluster.master_url, file_name="cluster.yaml")
        remote = run_reference(config, root / "cluster", timeout=900)
        yield Runs(local, remote, config, cluster)


def test_every_stage_on_the_cluster_is_byte_identical_to_local_mode(runs):
    from tests.reliability.determinism import compare_stages, score_differences

    assert f"on {runs.cluster.master_url}" in (runs.remote.root / "reference.log").read_text()
    comparisons = compare_stages(runs.local.work, runs.remote.work)
    assert [c.stage for c in comparisons] == STAGES
    assert {c.stage: c.problems for c in comparisons if not c.same} == {}
    assert all(c.files > 0 for c in comparisons), [(c.stage, c.files) for c in comparisons]
    assert compare_outputs(runs.local.work, runs.remote.work) == ([], 0)  # the same check as a resume's

    compared, problems = score_differences(runs.local.work, runs.remote.work)
    assert problems == []
    assert compared >= 96 * 10  # DataRater scores, keep probabilities and the signals' numbers, all bit for bit
    scores = json.loads((runs.remote.work / "attributes" / "datarater" / "manifest.json").read_text())
    assert scores["summary"]["datarater_score"]["undefined"] == 0
    counts = json.loads((runs.remote.work / "attributes" / "dedup" / "manifest.json").read_text())["counts"]
    assert counts["exact_duplicate_documents"] == 3 and counts["near_duplicate_documents"] == 6  # shuffles decided


def test_executors_and_a_worker_killed_mid_stage_the_job_finishes_with_identical_output(runs, tmp_path):
    """An executor JVM in signals, a whole worker (daemon, executor, Python) in dedup's shuffles, the Python
    workers of an executor in DataRater scoring: Spark reschedules the lost tasks, the job ends 0 with the bytes
    of the uninterrupted run, no row twice."""
    from tests.reliability.executor_kills import ExecutorKill, run_with_kills

    points = [
        ExecutorKill("signals", 1.0, "executor"),
        ExecutorKill("dedup", 5.0, "worker"),
        ExecutorKill("datarater_score", 0.0, "python"),
    ]
    outcome = run_with_kills(runs.config, runs.remote, tmp_path, runs.cluster, points, seed=0, timeout=1200)
    missed = [(k.point.label, k.killed_in, k.tasks_lost) for k in outcome.kills if not k.hit]
    if missed or len(outcome.kills) != len(points):
        pytest.fail(f"kills that took no running task with them: {missed}; the kill points need adjusting")
    assert all(k.killed_in == k.point.stage for k in outcome.kills), [k.killed_in for k in outcome.kills]
    assert outcome.survived, "\n".join(outcome.problems)
    assert outcome.records_lost == 0 and outcome.duplicated_rows == 0
    assert outcome.executors_started >= 4  # two at the start, one for the killed executor, one on the new worker
    assert outcome.kills[1].restarted_workers and runs.cluster.status()["aliveworkers"] == 2
