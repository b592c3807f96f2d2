"""Raters as MLflow models (raters.mlflow_model): a saved pyfunc scores as the rater folder does and unpickles
nothing, its card describes it, and a logged and registered model is loaded by URI wherever a model folder is
taken (load_scorer, the datatrove step, a Spark scoring command)."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from curation.errors import ConfigError
from tests.helpers import run_curate
from tests.raters.scores.conftest import write_corpus


@pytest.fixture(scope="module")
def dsir_folder(wikipedia, c4, tmp_path_factory):
    from raters.dsir.model import DsirModel

    folder = tmp_path_factory.mktemp("dsir") / "model"
    DsirModel.fit([t[:2000] for t in wikipedia[:200]], c4[:200], buckets=5_000).save(folder)
    return folder


@pytest.mark.parametrize("rater", ["dsir_folder", "fasttext_folder"])
def test_a_saved_mlflow_model_scores_as_its_folder_and_unpickles_nothing(rater, request, c4, tmp_path):
    import mlflow
    import yaml

    from raters.mlflow_model import save_mlflow_model
    from raters.text_scorer import load_scorer

    folder = request.getfixturevalue(rater)
    out = save_mlflow_model(folder, tmp_path / "mlflow-model")
    texts = [*c4[500:520], "", None]
    expected = load_scorer(folder).score(texts)

    predicted = mlflow.pyfunc.load_model(str(out)).predict(pd.DataFrame({"text": texts}))
    scorer = load_scorer(folder)
    assert list(predicted.columns) == [scorer.column]
    np.testing.assert_array_equal(predicted[scorer.column].to_numpy(), expected)
    np.testing.assert_array_equal(load_scorer(out).score(texts), expected)  # the MLflow folder as a model folder

    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert not [name for name in files if name.endswith((".pkl", ".pickle"))]
    spec = yaml.safe_load((out / "MLmodel").read_text())
    assert spec["flavors"]["python_function"]["loader_module"] == "mlflow.pyfunc.loaders.code_model"
    assert spec["metadata"]["curation.score_column"] == scorer.column
    assert spec["metadata"]["curation.source"] == str(folder.resolve())
    rater_files = sorted(p.name for p in folder.iterdir())
    assert sorted(name.removeprefix("artifacts/rater/") for name in files if "artifacts/rater/" in name) == rater_files

    card = (out / "artifacts" / "model_card.md").read_text()
    config = json.loads((folder / scorer.config_file).read_text())
    assert f"`{scorer.column}`" in card and scorer.config_file in card
    some_setting = next(key for key, value in config.items() if isinstance(value, int | float | str))
    assert f'"{some_setting}"' in card  # the training record is in the card
    for name in rater_files:  # every file with its checksum
        assert hashlib.sha256((folder / name).read_bytes()).hexdigest() in card


def test_saving_refuses_what_is_no_rater_and_an_existing_folder(dsir_folder, tmp_path):
    import yaml

    from raters.mlflow_model import _description, _staged_rater, log_mlflow_model, save_mlflow_model

    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match="not a saved rater"):
        save_mlflow_model(tmp_path / "empty", tmp_path / "out")
    with pytest.raises(ConfigError, match="--device"):
        save_mlflow_model(dsir_folder, tmp_path / "out", device="gpu")
    save_mlflow_model(dsir_folder, tmp_path / "out")
    with pytest.raises(ConfigError, match="already exists"):
        save_mlflow_model(dsir_folder, tmp_path / "out")
    save_mlflow_model(dsir_folder, tmp_path / "out", overwrite=True, device="cuda")  # a GPU default, saved on a CPU
    spec = yaml.safe_load((tmp_path / "out" / "MLmodel").read_text())
    assert spec["flavors"]["python_function"]["config"]["device"] == "cuda"
    assert not list(tmp_path.glob(".out.*"))
    with pytest.raises(ConfigError, match="not a saved rater"):  # a failed save leaves the old model whole
        save_mlflow_model(tmp_path / "empty", tmp_path / "out", overwrite=True)
    assert (tmp_path / "out" / "MLmodel").is_file() and not list(tmp_path.glob(".out.*"))
    with pytest.raises(ConfigError, match="overlaps the rater folder"):
        save_mlflow_model(tmp_path / "out", tmp_path / "out", overwrite=True)
    assert (tmp_path / "out" / "MLmodel").is_file()
    with pytest.raises(ConfigError, match="writes a local folder"):
        save_mlflow_model(dsir_folder, "s3://bucket/model")
    with pytest.raises(ConfigError, match="has no '/' or ':'"):
        log_mlflow_model(dsir_folder, register="team/quality")
    long_card = "# card\n" + "| `file` | 1 | `digest` |\n" * 400
    cut = _description(long_card)
    assert len(cut) <= 5000 and cut.startswith("# card") and cut.endswith("model's artifact model_card.md)")
    assert _description("# short card\n") == "# short card\n"

    (tmp_path / "not-ours").mkdir()  # an MLflow model of something else is named as such
    (tmp_path / "not-ours" / "MLmodel").write_text("flavors:\n  python_function:\n    loader_module: x\n")
    from raters.text_scorer import load_scorer

    with pytest.raises(ConfigError, match="not a curation rater"):
        load_scorer(tmp_path / "not-ours")

    # A DataRater's training state and hidden scratch files stay out of the MLflow model.
    rater = tmp_path / "rater"
    for name in ("rater.json", "rater.safetensors", "checkpoint/latest.json", "checkpoint/step-5/state.json", ".x.tmp"):
        (rater / name).parent.mkdir(parents=True, exist_ok=True)
        (rater / name).write_text("{}")
    staged = _staged_rater(rater, tmp_path / "staged")
    assert sorted(p.relative_to(staged).as_posix() for p in staged.rglob("*")) == ["rater.json", "rater.safetensors"]


def test_a_registered_model_is_scored_by_uri_in_spark_in_datatrove_and_in_mlflow(
    dsir_folder, c4, tmp_path, monkeypatch
):
    import mlflow

    from raters.datatrove_filter import RaterFilter
    from raters.text_scorer import load_scorer

    store = f"sqlite:///{tmp_path / 'mlflow.db'}"
    logged = run_curate("raters", "log-model", str(dsir_folder), "--register", "dsir-wiki", cwd=tmp_path,
                        MLFLOW_TRACKING_URI=store)  # fmt: skip
    assert logged.returncode == 0, logged.stderr
    assert "registered: models:/dsir-wiki/1" in logged.stdout

    monkeypatch.setenv("MLFLOW_TRACKING_URI", store)
    texts = c4[600:640]
    expected = load_scorer(dsir_folder).score(texts)
    np.testing.assert_array_equal(load_scorer("models:/dsir-wiki/1").score(texts), expected)
    run_uri = next(line.split(": ", 1)[1] for line in logged.stdout.splitlines() if line.startswith("model: "))
    np.testing.assert_array_equal(load_scorer(run_uri).score(texts), expected)
    model = mlflow.pyfunc.load_model("models:/dsir-wiki/1")
    np.testing.assert_array_equal(model.predict(pd.DataFrame({"text": texts}))["dsir_log_ratio"], expected)
    client = mlflow.MlflowClient(store)
    assert client.get_model_version("dsir-wiki", "1").description.startswith("# Rater `dsir_log_ratio` (dsir)")
    # The URI is resolved once, on the driver, to the rater's files in the store: what workers are given.
    resolved = RaterFilter("models:/dsir-wiki/1", threshold=0.0).model
    assert (Path(resolved) / "dsir.json").is_file() and Path(resolved).name == "rater"
    client.set_registered_model_alias("dsir-wiki", "champion", "1")
    assert RaterFilter("models:/dsir-wiki@champion", threshold=0.0).model == resolved
    assert os.environ["MLFLOW_TRACKING_URI"] == store  # resolving leaves the caller's store setting as it was

    # A Spark scoring command takes the URI; its workers download the model themselves.
    corpus = write_corpus(tmp_path / "corpus", [{"id": f"d{i:03d}", "text": t} for i, t in enumerate(texts)])
    scored = run_curate("raters", "dsir", "score", str(corpus), "--model", "models:/dsir-wiki/1", "--out",
                        str(tmp_path / "attrs"), "--no-tracking", cwd=tmp_path, MLFLOW_TRACKING_URI=store)  # fmt: skip
    assert scored.returncode == 0, scored.stderr
    table = pd.concat(pd.read_parquet(p) for p in sorted((tmp_path / "attrs").glob("**/*.parquet")))
    by_id = dict(zip(table["id"], table["dsir_log_ratio"], strict=True))
    got = [by_id[f"d{i:03d}"] for i in range(len(texts))]
    np.testing.assert_allclose(got, expected.astype(np.float32), rtol=1e-6)

    missing = run_curate("raters", "dsir", "score", str(corpus), "--model", "models:/no-such/1", "--out",
                         str(tmp_path / "attrs2"), "--no-tracking", cwd=tmp_path, MLFLOW_TRACKING_URI=store)  # fmt: skip
    assert missing.returncode != 0
    assert "models:/no-such/1: cannot be loaded from the MLflow store" in missing.stderr
    assert len(missing.stderr.strip().splitlines()) == 1


def test_a_pipeline_config_keeps_an_mlflow_uri_and_resolves_a_folder(tmp_path):
    from pipelines.config import parse_pipeline_config

    payload = {
        "name": "p",
        "ingest": {"inputs": ["in.jsonl"]},
        "raters": {
            "registered": {"kind": "dsir", "model": "models:/dsir-wiki/1"},
            "logged": {"kind": "fasttext", "model": "runs:/0123abcd/rater"},
            "folder": {"kind": "dsir", "model": "models/dsir"},
        },
    }
    cfg = parse_pipeline_config(payload, tmp_path / "pipeline.yaml")
    assert cfg.raters["registered"].model == "models:/dsir-wiki/1"
    assert cfg.raters["logged"].model == "runs:/0123abcd/rater"
    assert cfg.raters["folder"].model == str(tmp_path / "models" / "dsir")
