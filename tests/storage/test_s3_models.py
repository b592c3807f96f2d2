"""Rater model folders on an S3-protocol server: every trainer's ``--out s3://...`` uploads the same bytes a
local training writes (its config, the marker, last), every scorer's ``--model s3://...`` scores like the
local folder, and a DataRater training on a URL resumes from the checkpoint it mirrored there."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import shared
from tests.helpers import STEADY_THREADS, digests, run_curate, write_corrupted_articles
from tests.raters.scores.conftest import write_corpus, write_jsonl
from tests.storage.test_s3_outputs import files, objects

BUCKET = "models"
TINY_DATARATER = {"seq_len": 64, "population": 2, "inner_batch": 8, "outer_batch": 8, "rater_d_model": 32,
                  "rater_layers": 1, "outer_warmup": 1, "lifetime": 4}  # fmt: skip


@pytest.fixture(scope="module")
def inputs(s3_client, tmp_path_factory):
    """Training text (Wikipedia vs C4, labelled paragraphs, corrupted articles) and a small corpus to score,
    all local; the ``models`` bucket."""
    from curation.proxy.text_source import read_text_source
    from tests.raters.scores.test_dimension import labelled_paragraphs

    s3_client.create_bucket(Bucket=BUCKET)
    root = tmp_path_factory.mktemp("models")
    wikipedia = read_text_source(str(shared("reference/enwiki-6514-articles.jsonl.gz")), 3_000_000, seed=3).texts
    c4 = read_text_source(str(shared("web/c4-en-sample-1000.jsonl.gz"))).texts
    write_jsonl(root / "wiki.jsonl", [t[:3000] for t in wikipedia[:150]])
    write_jsonl(root / "c4.jsonl", c4[:150])
    with open(root / "labels.jsonl", "w", encoding="utf-8") as fh:
        for record in labelled_paragraphs(wikipedia, 120, seed=0):
            fh.write(json.dumps({"text": record["text"], "score": record["score"]}) + "\n")
    write_corrupted_articles(root / "mixed.jsonl", seed=11, count=20)
    (root / "tiny.yaml").write_text("".join(f"{k}: {v}\n" for k, v in TINY_DATARATER.items()))
    records = [{"id": f"wiki-{i}", "text": t[:1500]} for i, t in enumerate(wikipedia[200:206])]
    records += [{"id": f"c4-{i}", "text": t[:1500]} for i, t in enumerate(c4[900:906])] + [{"id": "empty", "text": ""}]
    write_corpus(root / "corpus", records)
    return root


# Each trainer with settings that take seconds; the files it writes; how a scorer reads its model.
TRAINERS = {
    "dsir": (["raters", "dsir", "fit", "--target", "wiki.jsonl", "--raw", "c4.jsonl", "--buckets", "2000"],
             {"dsir.json", "dsir.safetensors", "metrics.json"}),
    "fasttext": (["raters", "fasttext", "train", "--positive", "wiki.jsonl", "--negative", "c4.jsonl", "--dim", "8",
                  "--bucket", "5000", "--epoch", "2", "--heldout-fraction", "0.2"],
                 {"fasttext_quality.json", "model.bin", "metrics.json"}),
    "perplexity": (["raters", "perplexity", "train", "--reference", "wiki.jsonl", "--tokens", "20k", "--device", "cpu",
                    "--heldout-fraction", "0.05"],
                   {"config.json", "model.safetensors", "metrics.json"}),
    "dimension": (["raters", "dimension", "train", "--annotations", "labels.jsonl", "--dimension", "cleanliness",
                   "--dim", "8", "--bucket", "5000", "--epoch", "2"],
                  {"dimension.json", "model.bin", "metrics.json"}),
}  # fmt: skip


def sample_texts(root) -> list[str]:
    import pyarrow.parquet as pq

    return [
        t for p in sorted((root / "corpus" / "shards").glob("*.parquet")) for t in pq.read_table(p)["text"].to_pylist()
    ]


def scores_from(model: str, texts: list[str], env: dict[str, str]):
    """``load_scorer(model).score(texts)`` with the server's environment (s3fs reads it when it starts)."""
    import numpy as np

    from raters.model_folder import local_model_folder, model_location
    from raters.text_scorer import load_scorer

    with pytest.MonkeyPatch.context() as patch:
        for key, value in env.items():
            patch.setenv(key, value)
        scorer = load_scorer(model)
        copy = local_model_folder(model_location(model))
        return np.asarray(scorer.score(texts)), copy


@pytest.mark.parametrize("kind", sorted(TRAINERS))
def test_a_trainer_uploads_the_local_files_and_the_model_scores_from_its_url(kind, inputs, s3_server, s3_client):
    """The same training into a folder and into ``s3://models/KIND``: the same files, byte for byte
    (``--no-tracking``: no run id differs), and a scorer given the URL scores as it does from the folder."""
    import numpy as np

    args, expected = TRAINERS[kind]
    local = run_curate(*args, "--out", f"local-{kind}", "--no-tracking", cwd=inputs, **STEADY_THREADS)
    assert local.returncode == 0, local.stderr[-3000:]
    url = f"s3://{BUCKET}/{kind}"
    remote = run_curate(*args, "--out", url, "--no-tracking", cwd=inputs, **s3_server, **STEADY_THREADS)
    assert remote.returncode == 0, remote.stderr[-3000:]
    assert f"model: {url}" in remote.stdout

    written, made = objects(s3_client, BUCKET, f"{kind}/"), files(inputs / f"local-{kind}")
    assert expected <= set(made) and digests(written) == digests(made)

    again = run_curate(*args, "--out", url, "--no-tracking", cwd=inputs, **s3_server)
    assert again.returncode == 2 and again.stderr.count("\n") == 1, again.stderr[-3000:]
    assert f"{url} already holds" in again.stderr and "--overwrite" in again.stderr

    texts = sample_texts(inputs)
    from_url, copy = scores_from(url, texts, s3_server)
    from_folder, _ = scores_from(str(inputs / f"local-{kind}"), texts, {})
    assert np.array_equal(from_url, from_folder, equal_nan=True)
    assert digests(files(copy)) == digests(made)  # the download: the model's files


def test_dsir_scores_a_corpus_with_a_model_url(inputs, s3_server, s3_client):
    """``curate raters dsir score --model s3://...`` writes the same parts as with the local model; the
    attribute set names the URL."""
    if "dsir.json" not in objects(s3_client, BUCKET, "dsir/"):  # the parametrized test made it
        fit = run_curate(*TRAINERS["dsir"][0], "--out", f"s3://{BUCKET}/dsir", "--no-tracking", cwd=inputs,
                         **s3_server)  # fmt: skip
        assert fit.returncode == 0, fit.stderr[-3000:]
    if not (inputs / "local-dsir").is_dir():
        fit = run_curate(*TRAINERS["dsir"][0], "--out", "local-dsir", "--no-tracking", cwd=inputs)
        assert fit.returncode == 0, fit.stderr[-3000:]
    check_scoring(inputs, s3_server, ["raters", "dsir", "score"], "dsir", f"s3://{BUCKET}/dsir")


def test_a_dimension_rater_trains_from_annotations_at_a_url(inputs, s3_server, s3_client):
    """``--annotations s3://...``: the model a local file of the same annotations gives, the URL in its config."""
    s3_client.upload_file(str(inputs / "labels.jsonl"), BUCKET, "annotations/labels.jsonl")
    args = [a if a != "labels.jsonl" else f"s3://{BUCKET}/annotations/labels.jsonl" for a in TRAINERS["dimension"][0]]
    for out, command in (("local-dimension-file", TRAINERS["dimension"][0]), ("local-dimension-url", args)):
        proc = run_curate(*command, "--out", out, "--no-tracking", cwd=inputs, **s3_server, **STEADY_THREADS)
        assert proc.returncode == 0, proc.stderr[-3000:]
    from_url, from_file = files(inputs / "local-dimension-url"), files(inputs / "local-dimension-file")
    assert from_url["model.bin"] == from_file["model.bin"]
    assert json.loads(from_url["dimension.json"])["annotations"] == f"s3://{BUCKET}/annotations/labels.jsonl"
    missing = run_curate(
        *[a.replace("labels.jsonl", "none.jsonl") for a in args], "--out", "x", cwd=inputs, **s3_server
    )
    assert missing.returncode == 2 and "none.jsonl: no such annotations file" in missing.stderr, missing.stderr


def check_scoring(root, env, command: list[str], name: str, url: str) -> None:
    """Score the corpus with the local model and with the URL, through Spark: the same parts."""
    outputs = {}
    for model, out in ((str(root / f"local-{name}"), f"attrs-local-{name}"), (url, f"attrs-url-{name}")):
        proc = run_curate(*command, "corpus", "--model", model, "--out", out, "--master", "local[1]", "--no-tracking",
                          cwd=root, **env)  # fmt: skip
        assert proc.returncode == 0, proc.stderr[-3000:]
        outputs[model] = files(root / out)
    local, remote = outputs.values()
    assert sorted(local) == sorted(remote)
    for part in (n for n in local if n != "manifest.json"):
        assert local[part] == remote[part], part
    manifest = json.loads(remote["manifest.json"])
    assert manifest["config"]["model"] == url
    assert manifest["config"]["model_checksum"] == json.loads(local["manifest.json"])["config"]["model_checksum"]


@pytest.mark.slow  # about 35 s (``pytest -m slow``); CI trains and scores DataRater on s3:// in test_s3_pipeline.py
def test_datarater_trains_to_a_url_resumes_there_and_scores_from_it(inputs, s3_server, s3_client):
    """Two outer steps, then two more resumed from the checkpoint mirrored to the URL (a fresh staging folder,
    as on another machine): the same rater as the local training that did the same; scoring from the URL
    writes the same parts."""
    url = f"s3://{BUCKET}/datarater"
    train = ["datarater", "train", "--train", "mixed.jsonl", "--config", "tiny.yaml", "--no-tracking"]
    for steps in ("2", "4"):
        local = run_curate(*train, "--steps", steps, "--out", "local-datarater", cwd=inputs, **STEADY_THREADS)
        assert local.returncode == 0, local.stderr[-3000:]
        remote = run_curate(*train, "--steps", steps, "--out", url, cwd=inputs, **s3_server, **STEADY_THREADS)
        assert remote.returncode == 0, remote.stderr[-3000:]
        assert f"rater: {url} ({steps} outer steps)" in remote.stdout
        written = objects(s3_client, BUCKET, "datarater/")
        assert set(written) == {"rater.json", "rater.safetensors", "checkpoint/latest.json",
                                f"checkpoint/step-0000000{steps}/state.json",
                                f"checkpoint/step-0000000{steps}/state.safetensors"}  # fmt: skip
    assert f"resuming meta-training at outer step 2 from {url}/checkpoint" in remote.stderr
    made = files(inputs / "local-datarater")
    for name in ("rater.json", "rater.safetensors", "checkpoint/step-00000004/state.safetensors"):
        assert written[name] == made[name], name
    check_scoring(inputs, s3_server, ["datarater", "score"], "datarater", url)


def test_a_missing_model_url_is_one_line_naming_it(inputs, s3_server):
    for command in (["raters", "dsir", "score"], ["datarater", "score"]):
        proc = run_curate(*command, "corpus", "--model", f"s3://{BUCKET}/nothing-here", "--out", "attrs-missing",
                          "--no-tracking", cwd=inputs, **s3_server)  # fmt: skip
        assert proc.returncode == 2, proc.stderr[-3000:]
        assert proc.stderr == f"curate: error: s3://{BUCKET}/nothing-here: no such model folder (nothing under it)\n"

    no_bucket = run_curate(*TRAINERS["dsir"][0], "--out", "s3://no-such-bucket/dsir", "--no-tracking", cwd=inputs,
                           **s3_server)  # fmt: skip
    assert no_bucket.returncode == 2 and no_bucket.stderr.count("\n") == 1, no_bucket.stderr[-3000:]
    assert "s3://no-such-bucket/dsir" in no_bucket.stderr


def test_the_marker_goes_last_and_overwrite_removes_it_first(tmp_path, monkeypatch):
    """In process, on fsspec's memory filesystem: the config is the last upload; ``--overwrite`` deletes it
    before any work, so a retrain that fails leaves a folder the loaders refuse, in a line naming the URL."""
    import fsspec

    from curation.errors import ConfigError
    from raters.dsir.fitting import run_dsir_fit
    from raters.dsir.model import DsirModel
    from raters.text_scorer import load_scorer

    write_jsonl(tmp_path / "target.jsonl", [f"the cat sat on mat number {i}" for i in range(20)])
    write_jsonl(tmp_path / "raw.jsonl", [f"buy cheap pills now, offer {i}" for i in range(20)])
    sources = [str(tmp_path / "target.jsonl")], [str(tmp_path / "raw.jsonl")]
    memory = type(fsspec.filesystem("memory"))
    uploads: list[str] = []
    put_file = memory.put_file

    def recorded(self, lpath, rpath, **kwargs):
        uploads.append(rpath.rpartition("/")[2])
        return put_file(self, lpath, rpath, **kwargs)

    monkeypatch.setattr(memory, "put_file", recorded)
    url = "memory://models/dsir"
    result = run_dsir_fit(*sources, url, buckets=64, heldout_fraction=0.2, tracking=False)
    assert result.out == url and uploads == ["dsir.safetensors", "metrics.json", "dsir.json"]
    assert load_scorer(url).score(["the cat sat"])[0] > 0

    with pytest.raises(ConfigError, match=f"^{url} already holds a DSIR model; pass --overwrite"):
        run_dsir_fit(*sources, url, buckets=64, heldout_fraction=0.2, tracking=False)

    def broken(*args, **kwargs):
        raise ConfigError("training failed")

    monkeypatch.setattr(DsirModel, "fit", broken)
    with pytest.raises(ConfigError, match="training failed"):
        run_dsir_fit(*sources, url, buckets=64, heldout_fraction=0.2, tracking=False, overwrite=True)
    with pytest.raises(ConfigError, match=f"^{url}: not a saved rater"):
        load_scorer(url)
    with pytest.raises(ConfigError, match=f"^{url}: not a DSIR model"):
        DsirModel.load(url)
    with pytest.raises(ConfigError, match="pass a model URL as a string"):
        load_scorer(Path(url))
