"""Where a stage's MLflow run goes: the store and experiment a user already chose are respected."""

from __future__ import annotations

import pytest

from curation.tracking import stage_run


@pytest.fixture(scope="module")
def team_db(tmp_path_factory):
    """One sqlite store for the module (creating one costs seconds of schema migrations)."""
    return tmp_path_factory.mktemp("store") / "team.db"


@pytest.fixture
def store(team_db, tmp_path, monkeypatch):
    """The team's store as ``MLFLOW_TRACKING_URI``, no experiment set; MLflow's URI restored afterwards."""
    import mlflow

    for name in ("CURATION_EXPERIMENT", "MLFLOW_EXPERIMENT_NAME", "MLFLOW_EXPERIMENT_ID"):
        monkeypatch.delenv(name, raising=False)
    uri = f"sqlite:///{team_db}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.chdir(tmp_path)
    yield uri
    mlflow.set_tracking_uri(None)


def _experiment_of(uri: str, run_id: str) -> str:
    from mlflow.tracking import MlflowClient

    client = MlflowClient(uri)
    return client.get_experiment(client.get_run(run_id).info.experiment_id).name


def test_mlflow_experiment_name_is_respected(store, monkeypatch):
    monkeypatch.setenv("MLFLOW_EXPERIMENT_NAME", "team-crawl-2026")
    with stage_run("probe", {"a": 1}) as run:
        run_id = run.run_id
    assert _experiment_of(store, run_id) == "team-crawl-2026"


def test_mlflow_experiment_id_is_respected(store, monkeypatch):
    from mlflow.tracking import MlflowClient

    client = MlflowClient(store)
    found = client.get_experiment_by_name("made-by-the-team")
    experiment_id = found.experiment_id if found else client.create_experiment("made-by-the-team")
    monkeypatch.setenv("MLFLOW_EXPERIMENT_ID", experiment_id)
    with stage_run("probe", {}) as run:
        run_id = run.run_id
    assert _experiment_of(store, run_id) == "made-by-the-team"


def test_curation_experiment_and_the_stage_argument_come_first(store, monkeypatch):
    monkeypatch.setenv("MLFLOW_EXPERIMENT_NAME", "team-default")
    monkeypatch.setenv("CURATION_EXPERIMENT", "curation-specific")
    with stage_run("probe", {}) as run:
        assert _experiment_of(store, run.run_id) == "curation-specific"
    with stage_run("probe", {}, experiment="from-the-pipeline") as run:
        assert _experiment_of(store, run.run_id) == "from-the-pipeline"


def test_without_any_setting_runs_go_to_the_curation_experiment(store):
    with stage_run("probe", {}) as run:
        assert _experiment_of(store, run.run_id) == "curation"


def test_a_uri_set_in_the_calling_program_is_respected(store, tmp_path, monkeypatch):
    import mlflow

    monkeypatch.delenv("MLFLOW_TRACKING_URI")
    mine = f"sqlite:///{tmp_path / 'notebook.db'}"
    mlflow.set_tracking_uri(mine)  # as a notebook user would, with no environment variable
    with stage_run("probe", {}) as run:
        run_id = run.run_id
    assert _experiment_of(mine, run_id) == "curation"
    assert not (tmp_path / "mlflow.db").exists()


def test_a_stage_run_leaves_no_experiment_choice_behind_for_the_next_store(store, tmp_path, monkeypatch):
    """MLflow exports the experiment id it sets; a later stage (or a child process) against another store
    must not read it as the caller's choice (a fresh store has no experiment with that id)."""
    import os

    with stage_run("probe", {}):
        pass
    assert "MLFLOW_EXPERIMENT_ID" not in os.environ
    other = f"sqlite:///{tmp_path / 'other.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", other)
    with stage_run("probe", {}) as run:
        assert _experiment_of(other, run.run_id) == "curation"
