"""`curate run`: a pipeline config on real text, end to end; nested MLflow runs; skip, resume and --from."""

from __future__ import annotations

import gzip
import json
import os
import random
from itertools import islice
from pathlib import Path

import pytest
import yaml

from tests.conftest import shared

STAGES = ["ingest", "signals", "datarater_train", "datarater_score", "datarater_keep", "select", "mix", "export"]


def write_inputs(root: Path) -> None:
    """Two sources of real text: C4 pages, and Wikipedia articles of which half are corrupted (labelled)."""
    from curation.text.corruption import CORRUPTIONS

    with gzip.open(shared("web/c4-en-sample-1000.jsonl.gz"), "rt", encoding="utf-8") as fh:
        c4 = [json.loads(line) for line in islice(fh, 120)]
    with gzip.open(shared("reference/enwiki-6514-articles.jsonl.gz"), "rt", encoding="utf-8") as fh:
        wiki = [json.loads(line) for line in islice(fh, 60)]
    rng, kinds = random.Random(0), sorted(CORRUPTIONS)
    rows = []
    for n, article in enumerate(wiki):
        text = article["text"][:3000]
        kind = "clean" if n % 2 == 0 else kinds[n % len(kinds)]
        rows.append({"id": f"wiki-{n}", "text": text if kind == "clean" else CORRUPTIONS[kind](text, 0.5, rng)})
    (root / "inputs").mkdir()
    (root / "inputs" / "c4.jsonl").write_text("".join(json.dumps({"text": r["text"]}) + "\n" for r in c4))
    (root / "inputs" / "wiki.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))


def pipeline_yaml(root: Path, rule: list[str], export: str = "jsonl.zst") -> Path:
    config = {
        "name": "tiny",
        "workdir": str(root / "work"),
        "spark": {"master": "local[2]"},
        "ingest": {"inputs": ["inputs/c4.jsonl", "inputs/wiki.jsonl"], "shards": 2, "langid": False},
        "signals": {},
        "datarater": {
            "train": {"settings": {"outer_steps": 2, "population": 1, "seq_len": 64, "inner_batch": 4,
                                   "outer_batch": 4, "rater_d_model": 16, "rater_layers": 1}},
            "filter": {"rho": 0.5, "batch_size": 8},
        },
        "select": {"rule": rule},
        "mix": {"targets": {"c4": 0.5, "wiki": 0.5}, "tokens": "150k"},
        "export": {"format": export},
        "report": False,
    }  # fmt: skip
    path = root / "pipeline.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def outputs_bytes(workdir: Path, manifests: bool = True) -> dict[str, bytes]:
    """Every committed data file (and manifest), by path. Manifests name the stage's MLflow run, so a redone
    stage's manifest differs; its data files must not."""
    files = [
        *workdir.glob("*/shards/*.parquet"),
        *workdir.glob("export/data/*"),
        *workdir.glob("attributes/*/*.parquet"),
    ]
    if manifests:
        files += [*workdir.glob("*/manifest.json"), *workdir.glob("attributes/*/manifest.json")]
    return {str(f.relative_to(workdir)): f.read_bytes() for f in sorted(files)}


@pytest.fixture(scope="module")
def first_run(spark, tmp_path_factory):
    from pipelines.config import load_pipeline_config
    from pipelines.runner import run_pipeline

    root = tmp_path_factory.mktemp("pipeline")
    write_inputs(root)
    previous = os.environ.get("MLFLOW_TRACKING_URI")
    os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{root / 'mlflow.db'}"
    try:
        config = pipeline_yaml(root, ["gopher_repetition.pass"])
        result = run_pipeline(load_pipeline_config(config), config)
        yield root, config, result
    finally:
        if previous is None:
            os.environ.pop("MLFLOW_TRACKING_URI", None)
        else:
            os.environ["MLFLOW_TRACKING_URI"] = previous


def test_every_stage_runs_and_is_recorded(first_run):
    root, _, result = first_run
    state = json.loads((root / "work" / "pipeline.json").read_text())
    assert state["finished"] is True
    assert [s["name"] for s in state["stages"]] == STAGES
    assert all(s["status"] == "done" for s in state["stages"]), state["stages"]
    curated = json.loads((root / "work" / "curated" / "manifest.json").read_text())
    clauses = [step["clause"] for step in curated["funnel"]]
    assert clauses[0] == "input" and "gopher_repetition" in clauses[1] and clauses[2] == "datarater_keep"
    assert curated["counts"]["documents"] + curated["counts"]["rejected"]["rule"] == curated["counts"]["records_read"]
    mixed = json.loads((root / "work" / "mixed" / "manifest.json").read_text())
    assert set(mixed["mixture"]["values"]) == {"c4", "wiki"}
    export = json.loads((root / "work" / "export" / "manifest.json").read_text())
    assert sum(f["rows"] for f in export["files"]) == mixed["counts"]["documents"]
    assert result.final_corpus == root / "work" / "mixed"


def test_stages_are_nested_mlflow_runs_of_the_pipeline_run(first_run):
    import mlflow

    root, _, _ = first_run
    state = json.loads((root / "work" / "pipeline.json").read_text())
    client = mlflow.MlflowClient(f"sqlite:///{root / 'mlflow.db'}")
    parent = client.get_run(state["mlflow_run_id"])
    assert parent.info.status == "FINISHED"
    assert parent.data.tags["curation.workdir"] == str(root / "work")
    runs = client.search_runs([parent.info.experiment_id], f"tags.mlflow.parentRunId = '{parent.info.run_id}'")
    stages = {run.data.tags["curation.stage"] for run in runs}
    assert {"ingest", "signals", "datarater-train", "datarater-keep", "select", "mix", "export"} <= stages
    for stage in state["stages"]:
        assert stage["mlflow_run_id"] in {run.info.run_id for run in runs}, stage["name"]


def test_stage_runs_log_what_they_read_as_mlflow_input_datasets(first_run):
    """Each corpus and attribute set a stage reads is an input dataset of its run; the digest is the start
    of its manifest's sha256, so the run names the exact version it read."""
    import hashlib

    import mlflow

    root, _, _ = first_run
    state = json.loads((root / "work" / "pipeline.json").read_text())
    client = mlflow.MlflowClient(f"sqlite:///{root / 'mlflow.db'}")
    run_of = {stage["name"]: stage["mlflow_run_id"] for stage in state["stages"]}
    read = {}
    for name in ("signals", "select"):
        inputs = client.get_run(run_of[name]).inputs.dataset_inputs
        read[name] = {}
        for given in inputs:
            path = Path(json.loads(given.dataset.source)["uri"])
            manifest = (path / "manifest.json").read_bytes()
            assert given.dataset.digest == hashlib.sha256(manifest).hexdigest()[:32], path
            assert [t.value for t in given.tags if t.key == "mlflow.data.context"] == ["input"]
            read[name][path] = json.loads(manifest)
    corpus = root / "work" / "corpus"
    assert list(read["signals"]) == [corpus]
    assert corpus in read["select"] and len(read["select"]) >= 2  # the corpus and the attribute sets of the rule
    assert all("producer" in m for p, m in read["select"].items() if p != corpus), read["select"].keys()


def test_rerun_skips_everything_and_changes_no_byte(first_run):
    from pipelines.config import load_pipeline_config
    from pipelines.runner import run_pipeline

    root, config, _ = first_run
    before = outputs_bytes(root / "work")
    again = run_pipeline(load_pipeline_config(config), config, tracking=False)
    assert [s["status"] for s in again.state["stages"]] == ["skipped"] * len(STAGES)
    assert again.ran == []
    assert outputs_bytes(root / "work") == before


def test_from_and_changed_rule_redo_only_what_depends_on_them(first_run):
    from pipelines.config import load_pipeline_config
    from pipelines.runner import run_pipeline

    root, config, _ = first_run
    before = outputs_bytes(root / "work", manifests=False)
    forced = run_pipeline(load_pipeline_config(config), config, from_stage="mix", tracking=False)
    assert forced.ran == ["mix", "export"]
    assert outputs_bytes(root / "work", manifests=False) == before  # deterministic: redone stages, same bytes

    changed = pipeline_yaml(root, ["gopher_repetition.pass", "n_bytes > 200"])
    redone = run_pipeline(load_pipeline_config(changed), changed, tracking=False)
    assert redone.ran == ["select", "mix", "export"]
    curated = json.loads((root / "work" / "curated" / "manifest.json").read_text())
    rule = curated["lineage"]["rule"]
    assert len(rule) == 3 and "n_bytes" in rule[1] and rule[2] == "datarater_keep"


def test_a_failed_stage_is_recorded_and_the_rerun_resumes(first_run, monkeypatch):
    from pipelines import runner
    from pipelines.config import load_pipeline_config
    from pipelines.stage_plan import StagePlan

    root, _, _ = first_run
    changed = pipeline_yaml(root, ["gopher_repetition.pass", "n_bytes > 200"], export="parquet")
    original = StagePlan._export

    def broken_export(self):
        stage = original(self)
        stage.run = lambda overwrite: (_ for _ in ()).throw(OSError("disk full (injected)"))
        return stage

    monkeypatch.setattr(StagePlan, "_export", broken_export)
    with pytest.raises(OSError, match="injected"):
        runner.run_pipeline(load_pipeline_config(changed), changed, tracking=False)
    state = json.loads((root / "work" / "pipeline.json").read_text())
    assert state["finished"] is False
    assert state["stages"][-1]["name"] == "export" and state["stages"][-1]["status"] == "failed"
    assert not (root / "work" / "export" / "manifest.json").exists()  # the old export went first, none is half-made
    monkeypatch.setattr(StagePlan, "_export", original)
    resumed = runner.run_pipeline(load_pipeline_config(changed), changed, tracking=False)
    assert resumed.ran == ["export"] and resumed.state["finished"] is True
    assert json.loads((root / "work" / "export" / "manifest.json").read_text())["options"]["format"] == "parquet"


def test_a_workdir_of_another_pipeline_or_of_no_pipeline_is_refused(first_run, tmp_path):
    from curation.errors import ConfigError
    from pipelines.config import load_pipeline_config
    from pipelines.runner import run_pipeline

    root, config, _ = first_run
    other = load_pipeline_config(config).model_copy(update={"name": "other"})
    with pytest.raises(ConfigError, match="holds pipeline 'tiny'"):
        run_pipeline(other, config, tracking=False)
    (tmp_path / "corpus").mkdir()
    (tmp_path / "corpus" / "manifest.json").write_text("{}")
    with pytest.raises(ConfigError, match="no pipeline.json"):
        run_pipeline(load_pipeline_config(config), config, workdir=tmp_path, tracking=False)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"select": {"rule": ["x"], "rules": []}}, "unknown key 'select.rules'"),
        ({"colour": "blue"}, "unknown key 'colour'"),
        ({"ingest": None}, "ingest"),
        ({"datarater": {"train": {"settings": {"outer_stepz": 3}}}}, "unknown DataRater setting"),
        ({"mix": {"targets": {"a": 0.5}, "tokens": "1k"}}, "sum to 1"),
        ({"dedup": {"bands": 10}}, "bands x rows"),
        ({"select": {"rule": ["x ==="]}}, "not a valid expression"),
        ({"metarater": {"heldout": ["h.txt"]}}, "exactly one of metarater.tokens"),
    ],
)
def test_bad_configs_fail_before_any_work(tmp_path, change, message):
    from curation.errors import ConfigError
    from pipelines.config import load_pipeline_config
    from pipelines.runner import run_pipeline

    config = {"name": "bad", "workdir": str(tmp_path / "work"), "ingest": {"inputs": ["x.jsonl"]}, **change}
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    with pytest.raises(ConfigError, match=message) as caught:
        run_pipeline(load_pipeline_config(path), path, tracking=False)
    if "unknown key" in message:
        assert str(path) in str(caught.value)
    assert not (tmp_path / "work").exists()


def test_relative_inputs_are_relative_to_the_config_file(tmp_path):
    from pipelines.config import load_pipeline_config

    (tmp_path / "sub").mkdir()
    path = tmp_path / "sub" / "p.yaml"
    path.write_text(yaml.safe_dump({"name": "p", "ingest": {"inputs": ["data/*.jsonl", "/abs/x.jsonl"]}}))
    cfg = load_pipeline_config(path)
    assert cfg.ingest.inputs == [str(tmp_path / "sub" / "data" / "*.jsonl"), "/abs/x.jsonl"]

    # held-out sets written NAME=PATH keep their name; the path is what is resolved
    heldout = ["wiki=held/wiki.txt", "held/plain.txt", "abs=/abs/h.txt"]
    path.write_text(yaml.safe_dump({"name": "p", "ingest": {"inputs": ["x.jsonl"]},
                                    "metarater": {"heldout": heldout, "fraction": 0.5}}))  # fmt: skip
    held = tmp_path / "sub" / "held"
    assert load_pipeline_config(path).metarater.heldout == [f"wiki={held / 'wiki.txt'}", str(held / "plain.txt"),
                                                            "abs=/abs/h.txt"]  # fmt: skip


def test_cli_run_names_a_bad_key_in_one_line(tmp_path):
    from tests.helpers import run_curate

    path = tmp_path / "p.yaml"
    path.write_text("name: p\ningest: {inputs: [x.jsonl]}\nvalidate: {heldout: {a: b}, tokenz: 1k}\n")
    done = run_curate("run", str(path), "--no-tracking")
    assert done.returncode == 2, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "unknown key 'validate.tokenz'" in lines[0] and str(path) in lines[0]


@pytest.mark.parametrize("name", ["laptop", "cluster"])
def test_shipped_configs_are_valid(name):
    from pipelines.config import load_pipeline_config
    from tests.conftest import REPO

    cfg = load_pipeline_config(REPO / "pipelines" / f"{name}.yaml")
    assert cfg.name == name and cfg.ingest.inputs and cfg.select and cfg.validate_ and cfg.export


def test_laptop_config_builds_every_stage_before_work(tmp_path):
    from rich.console import Console

    from pipelines.config import load_pipeline_config
    from pipelines.runner import PipelineRunner
    from tests.conftest import REPO

    shared("web/c4-en-sample-1000.jsonl.gz")
    path = REPO / "pipelines" / "laptop.yaml"
    runner = PipelineRunner(load_pipeline_config(path), path, tmp_path / "w", False, Console(stderr=True))
    names = [stage.name for stage in runner.stages()]
    assert names[0] == "ingest" and names[-1] == "export" and "datarater_train" in names and "mix" in names
    assert not (tmp_path / "w").exists()
