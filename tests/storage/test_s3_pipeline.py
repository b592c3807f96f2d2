"""`curate run` with its config, its inputs and its work directory on an S3-protocol server (moto on 127.0.0.1):
every stage's data files byte for byte those of the same pipeline run locally, pipeline.json on the store, a
rerun that skips every stage; the stages that train proxies (Meta-rater, validate) on a work directory there."""

from __future__ import annotations

import json

import pytest
import yaml

from tests.conftest import SHARED_DATA
from tests.helpers import STEADY_THREADS, run_curate
from tests.reliability.kill_points import pipeline_config, write_inputs
from tests.storage.test_s3_outputs import objects

BUCKET = "pipelines"


@pytest.fixture(scope="module")
def remote_config(s3_client, tmp_path_factory):
    """The pipeline's config and inputs as objects (the config names its inputs relative to itself), and the
    local folder they were written in."""
    root = tmp_path_factory.mktemp("s3-pipeline")
    write_inputs(root, SHARED_DATA, duplicates=10)
    config = pipeline_config(root, dedup=True, datarater=True, export_rows=60)
    config.write_text(config.read_text().replace("report: false", "report: true"))
    s3_client.create_bucket(Bucket=BUCKET)
    for name in ("pipeline.yaml", "inputs/c4.jsonl", "inputs/wiki.jsonl"):
        s3_client.put_object(Bucket=BUCKET, Key=f"config/{name}", Body=(root / name).read_bytes())
    return f"s3://{BUCKET}/config/pipeline.yaml", root


@pytest.fixture(scope="module")
def local_run(remote_config, s3_server):
    """The same pipeline into a local work directory (its inputs read from the store, as the remote run's
    are: documents record where they were read from): the work's files by relative name."""
    config, root = remote_config
    work = root / "work"
    proc = run_curate("run", config, "--workdir", str(work), "--no-tracking", cwd=root, timeout=900, **s3_server,
                      **STEADY_THREADS)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    return {str(p.relative_to(work)): p.read_bytes() for p in sorted(work.rglob("*")) if p.is_file()}


def _data_files(files: dict[str, bytes]) -> dict[str, bytes]:
    """Shards, attribute parts and export files: the bytes a trainer or a later stage reads. Rejects and
    manifests name their inputs' paths (a local path in one run, a URL in the other), so they are compared
    by their counts instead."""
    return {
        name: data
        for name, data in files.items()
        if (name.endswith(".parquet") and "/rejects/" not in name) or name.endswith(".jsonl.zst")
    }


def test_a_pipeline_on_s3_writes_what_the_local_pipeline_writes(local_run, remote_config, s3_server, s3_client,
                                                                tmp_path):  # fmt: skip
    work = f"s3://{BUCKET}/work"
    tracking = {"MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'mlflow.db'}"}
    proc = run_curate("run", remote_config[0], "--workdir", work, cwd=tmp_path, timeout=900, **s3_server, **tracking,
                      **STEADY_THREADS)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert f"{work}/pipeline.json" in proc.stdout
    written, expected = objects(s3_client, BUCKET, "work/"), local_run
    assert sorted(_data_files(written)) == sorted(_data_files(expected))
    assert len(_data_files(expected)) > 10
    for name, data in _data_files(expected).items():
        assert written[name] == data, name
    assert not any("/_work/" in name or name.endswith(".tmp") for name in written)  # nothing left behind
    for manifest in ("corpus/manifest.json", "curated/manifest.json", "mixed/manifest.json", "export/manifest.json"):
        assert json.loads(written[manifest])["counts"] == json.loads(expected[manifest])["counts"], manifest
    state = json.loads(written["pipeline.json"])
    assert state["finished"] and state["workdir"] == work
    stages = {stage["name"]: stage for stage in state["stages"]}
    assert list(stages) == ["ingest", "signals", "dedup", "datarater_train", "datarater_score", "datarater_keep",
                            "select", "mix", "export"]  # fmt: skip
    assert written["models/datarater/rater.safetensors"] == expected["models/datarater/rater.safetensors"]
    assert stages["export"]["outputs"]["export"] == f"{work}/export"

    report = written["report/report.html"].decode()
    assert "Funnel" in report and "Score distributions" in report and "could not be built" not in report
    markdown = written["report/report.md"].decode()
    assert "select: is\\_dup\\_keep" in markdown, markdown  # the funnel's clauses, read from the store
    assert "report/chart-funnel.png" in written and "report/chart-scores-signals.png" in written

    again = run_curate("run", remote_config[0], "--workdir", work, "--no-tracking", cwd=tmp_path, **s3_server)
    assert again.returncode == 0, again.stderr[-3000:]
    state = json.loads(objects(s3_client, BUCKET, "work/")["pipeline.json"])
    assert {stage["status"] for stage in state["stages"]} == {"skipped"}


@pytest.mark.slow  # about 35 s (``pytest -m slow``); CI runs both stages on URLs in test_s3_validate_metarater.py
def test_metarater_and_validate_run_in_a_work_directory_on_s3(remote_config, s3_server, s3_client):
    """The proxy-training stages on a work directory on the store: Meta-rater's fit and keep flags, the selection
    they join, and the validation, with held-out text named ``NAME=PATH`` relative to the config on the store;
    a rerun skips every stage."""
    root = remote_config[1]
    config = yaml.safe_load((root / "pipeline.yaml").read_text())
    config["ingest"]["inputs"] = ["inputs/c4.jsonl"]
    for section in ("dedup", "datarater", "mix", "export"):
        config.pop(section, None)
    config["select"] = {"rule": ["gopher_repetition.pass"]}
    config["report"] = False
    config["metarater"] = {
        "heldout": ["wiki=inputs/wiki.jsonl"],
        "columns": ["doc_frac_unique_words", "doc_mean_word_length", "doc_unigram_entropy"],
        "fraction": 0.5,
        "settings": {"runs": 8, "candidates": 1000, "top_candidates": 10, "heldout_bytes": 2000,
                     "reliability_runs": 0, "proxy": {"size": "tiny", "tokens": 256, "seq_len": 32,
                                                      "batch_size": 8, "top_fraction": 0.5}},
    }  # fmt: skip
    config["validate"] = {"heldout": {"wiki": "inputs/wiki.jsonl"}, "tokens": "2k", "seeds": 1, "evaluations": 2,
                          "heldout_bytes": 2000, "device": "cpu", "datarater_only": False}  # fmt: skip
    s3_client.put_object(Bucket=BUCKET, Key="config/proxies.yaml", Body=yaml.safe_dump(config).encode())
    args = ["run", f"s3://{BUCKET}/config/proxies.yaml", "--workdir", f"s3://{BUCKET}/proxies-work", "--no-tracking"]
    proc = run_curate(*args, cwd=root, timeout=900, **s3_server)
    assert proc.returncode == 0, proc.stderr[-3000:]
    written = objects(s3_client, BUCKET, "proxies-work/")
    state = json.loads(written["pipeline.json"])
    stages = {stage["name"]: stage for stage in state["stages"]}
    assert list(stages) == ["ingest", "signals", "metarater_fit", "metarater_keep", "select", "validate"]
    fit = json.loads(written["models/metarater/weights.json"])
    assert sorted(fit["weights"]) == sorted(config["metarater"]["columns"])
    assert list(fit["heldout"]) == ["wiki"] and fit["corpus"]["path"] == f"s3://{BUCKET}/proxies-work/corpus"
    assert "attributes/metarater-keep/manifest.json" in written
    curated = json.loads(written["curated/manifest.json"])
    assert 0 < curated["counts"]["documents"] < json.loads(written["corpus/manifest.json"])["counts"]["documents"]
    results = json.loads(written["validation/results.json"])
    assert results["heldout"]["wiki"]["path"] == f"s3://{BUCKET}/config/inputs/wiki.jsonl"
    assert any(name.startswith("validation/proxies/") for name in written)

    again = run_curate(*args, cwd=root, **s3_server)
    assert again.returncode == 0, again.stderr[-3000:]
    state = json.loads(objects(s3_client, BUCKET, "proxies-work/")["pipeline.json"])
    assert {stage["status"] for stage in state["stages"]} == {"skipped"}
