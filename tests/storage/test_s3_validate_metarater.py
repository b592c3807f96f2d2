"""`curate validate` and `curate metarater fit` with ``--out s3://...`` on an S3-protocol server: each stages
its folder locally and uploads it, its marker (``results.json``, ``weights.json``) last. The objects are
the files of the same run into a local folder (the results the same but for ``--out``); a validation killed
after a checkpoint resumes from the checkpoint it mirrored to the URL, a fit from the runs it uploaded;
a fit and ``metarater select`` read the corpus, the scores and the fit from URLs; a missing bucket fails
before any work with one line.

Settings are the smallest that train at all (tiny proxies, a few steps, one seed), for CI time."""

from __future__ import annotations

import gzip
import json
import random

import numpy as np
import pytest

from tests.conftest import shared
from tests.helpers import STEADY_THREADS, run_curate, write_test_attributes
from tests.storage.test_s3_outputs import files, objects

BUCKET = "evaluations"
INPUTS = f"s3://{BUCKET}/inputs"
VALIDATE = ["--train", f"clean={INPUTS}/clean.jsonl.gz", "--train", f"noisy={INPUTS}/noisy.jsonl.gz",
            "--heldout", f"wiki={INPUTS}/heldout.jsonl.gz", "--tokens", "4k", "--seeds", "1", "--size", "tiny",
            "--seq-len", "64", "--batch-size", "8", "--evaluations", "2", "--heldout-bytes", "4000",
            "--device", "cpu", "--no-tracking"]  # fmt: skip
FIT = ["--heldout", f"wiki={INPUTS}/heldout.jsonl.gz", "--column", "oracle", "--column", "noise", "--runs", "8",
       "--tokens", "4k", "--top-fraction", "0.5", "--candidates", "1000", "--top-candidates", "10",
       "--reliability-runs", "2", "--max-documents", "40", "--no-tracking"]  # fmt: skip


@pytest.fixture(scope="module")
def inputs(s3_client, tmp_path_factory):
    """Training and held-out text as objects under ``INPUTS``; locally, a corpus of clean and corrupted
    articles with an attribute set scoring them (``oracle``: 5 for clean, ``noise``: random)."""
    from curation.proxy.text_source import read_text_source
    from curation.text.corruption import characters as corrupt
    from tests.raters.scores.conftest import write_corpus

    s3_client.create_bucket(Bucket=BUCKET)
    root = tmp_path_factory.mktemp("s3-validate-metarater")
    articles = read_text_source(str(shared("reference/enwiki-6514-articles.jsonl.gz")), 300_000, seed=3).texts
    texts = [t[start : start + 1500] for t in articles for start in range(0, 6000, 1500) if len(t) > start + 1000]
    heldout, train = texts[:4], texts[4:44]
    assert len(train) == 40
    rng = random.Random(1)
    noisy = [corrupt(text, 0.5, rng) for text in train]
    for name, chosen in (("clean", train), ("noisy", noisy), ("heldout", heldout)):
        body = gzip.compress("\n".join(json.dumps({"text": t}) for t in chosen).encode(), mtime=0)
        s3_client.put_object(Bucket=BUCKET, Key=f"inputs/{name}.jsonl.gz", Body=body)
    records = [{"id": f"doc{i:03d}", "text": t if i % 2 == 0 else noisy[i]} for i, t in enumerate(train)]
    write_corpus(root / "corpus", records)
    _write_scores(root, [i % 2 == 0 for i in range(len(records))])
    return root


def _write_scores(root, clean: list[bool]) -> None:
    import pyarrow as pa

    noise = np.random.default_rng(0).uniform(0, 5, len(clean))
    write_test_attributes(root / "corpus", root / "scores", "oracle",
                          {"oracle": (pa.float64(), np.where(clean, 5.0, 0.0)), "noise": (pa.float64(), noise)})  # fmt: skip


def without(payload: bytes, *keys: str) -> dict:
    """The JSON document without ``keys`` (``config.out``: ``out`` inside ``config``)."""
    loaded = json.loads(payload)
    for key in keys:
        *parents, name = key.split(".")
        inner = loaded
        for parent in parents:
            inner = inner[parent]
        inner.pop(name)
    return loaded


@pytest.fixture(scope="module")
def validations(inputs, s3_server):
    """The same validation into a local folder and into ``s3://evaluations/validation``: the processes."""
    local = run_curate("validate", *VALIDATE, "--out", "local-validation", cwd=inputs, **s3_server, **STEADY_THREADS)
    assert local.returncode == 0, local.stderr[-3000:]
    remote = run_curate(
        "validate", *VALIDATE, "--out", f"s3://{BUCKET}/validation", cwd=inputs, **s3_server, **STEADY_THREADS
    )
    assert remote.returncode == 0, remote.stderr[-3000:]
    return local, remote


def test_a_validation_on_s3_is_the_local_one(inputs, validations, s3_client):
    """Every file the local validation writes, and only those, byte for byte but for ``--out`` in
    ``results.json``; the command prints the table and names the URL."""
    written, made = objects(s3_client, BUCKET, "validation/"), files(inputs / "local-validation")
    assert {"results.json", "table.md", "curves.png", "proxies/clean-seed0/final/config.json"} <= set(made)
    assert sorted(written) == sorted(made)
    assert all(written[name] == made[name] for name in made if name != "results.json")
    assert without(written["results.json"], "config.out") == without(made["results.json"], "config.out")
    assert json.loads(written["results.json"])["config"]["out"] == f"s3://{BUCKET}/validation"
    assert "| clean |" in validations[1].stdout and f"s3://{BUCKET}/validation/results.json" in validations[1].stdout


def test_a_validation_killed_after_a_checkpoint_resumes_from_the_url(inputs, validations, s3_server, s3_client):
    """A validation that dies once its first checkpoint is on the store leaves that checkpoint there (no
    ``results.json``); run again, from a fresh staging folder, it downloads it, resumes each proxy from it
    (never from step 0) and ends with the same results, the checkpoints replaced by the final models."""
    import curation.proxy.train as train
    import curation.proxy.train_population as population
    from curation.validate import job

    class Crash(Exception):
        pass

    url = f"s3://{BUCKET}/killed"
    cfg = _validate_config(url)
    original = job.ProxySync.checkpointed

    def crash_after_a_mirror(sync):
        original(sync)
        if any(sync.pointers.values()):  # a checkpoint after some training is on the store
            raise Crash

    with pytest.MonkeyPatch.context() as patch:
        for key, value in s3_server.items():
            patch.setenv(key, value)
        patch.setattr(job.ProxySync, "checkpointed", crash_after_a_mirror)
        with pytest.raises(Crash):
            job.run_validate(cfg, tracking=False, console=_quiet())
    left = objects(s3_client, BUCKET, "killed/")
    assert "results.json" not in left and "proxies/clean-seed0/latest.json" in left
    assert any(name.startswith("proxies/clean-seed0/step-") for name in left)

    resumed_from = []
    for module in (train, population):
        patch_resume_spy(module, resumed_from)
    try:
        with pytest.MonkeyPatch.context() as patch:
            for key, value in s3_server.items():
                patch.setenv(key, value)
            result = job.run_validate(cfg, tracking=False, console=_quiet())
    finally:
        for module in (train, population):
            module.load_checkpoint = module.load_checkpoint.original
    assert result.out == url
    assert resumed_from and resumed_from[0] > 0  # the checkpoint at the URL, not a fresh start
    local = json.loads((inputs / "local-validation" / "results.json").read_text())
    for name in ("clean", "noisy"):
        curve, expected = result.results["curves"][name]["0"], local["curves"][name]["0"]
        assert [p["bpb"]["wiki"] for p in curve] == pytest.approx([p["bpb"]["wiki"] for p in expected], rel=1e-4)
    final = objects(s3_client, BUCKET, "killed/")
    assert "results.json" in final and not any("step-" in n or n.endswith("latest.json") for n in final)


def patch_resume_spy(module, steps: list[int]) -> None:
    """Record the step of every checkpoint ``module`` resumes from."""
    real = module.load_checkpoint

    def spy(*args, **kwargs):
        trainer = real(*args, **kwargs)
        if trainer is not None:
            steps.append(trainer["step"])
        return trainer

    spy.original = real
    module.load_checkpoint = spy


def _validate_config(out: str):
    from curation.validate.job import ValidateConfig

    return ValidateConfig(
        train=[f"clean={INPUTS}/clean.jsonl.gz", f"noisy={INPUTS}/noisy.jsonl.gz"],
        heldout=[f"wiki={INPUTS}/heldout.jsonl.gz"], out=out, tokens=4000, seeds=1, size="tiny", seq_len=64,
        batch_size=8, evaluations=2, heldout_bytes=4000, device="cpu",
    )  # fmt: skip


def _quiet():
    import io

    from rich.console import Console

    return Console(file=io.StringIO())


@pytest.fixture(scope="module")
def fits(inputs, s3_server):
    """The same Meta-rater fit into a local folder and into ``s3://evaluations/fit``: the processes."""
    args = ["metarater", "fit", "corpus", "-a", "scores", *FIT]
    local = run_curate(*args, "--out", "local-fit", cwd=inputs, **s3_server, **STEADY_THREADS)
    assert local.returncode == 0, local.stderr[-3000:]
    remote = run_curate(*args, "--out", f"s3://{BUCKET}/fit", cwd=inputs, **s3_server, **STEADY_THREADS)
    assert remote.returncode == 0, remote.stderr[-3000:]
    return local, remote


TIMINGS = ("seconds", "search.seconds")


def test_a_fit_on_s3_is_the_local_one_and_resumes_from_its_runs(inputs, fits, s3_server, s3_client):
    """The same files as the local fit, the same ``weights.json`` but for timings; a fit whose
    ``weights.json`` and last runs are gone from the store reuses the runs left there."""
    written, made = objects(s3_client, BUCKET, "fit/"), files(inputs / "local-fit")
    assert {
        "weights.json",
        "report.md",
        "weights.png",
        "runs/run-00007.json",
        "runs-reliability/run-00001.json",
        "runs-single/run-00001.json",
        "runs-confirm/seed-4/run-00000.json",
    } <= set(made)
    assert sorted(written) == sorted(made)
    weights = without(written["weights.json"], *TIMINGS)
    assert weights == without(made["weights.json"], *TIMINGS)
    assert json.loads(written["weights.json"])["runs"]["reused"] == 0
    assert f"weights: s3://{BUCKET}/fit/weights.json" in fits[1].stdout and "# Meta-rater fit" in fits[1].stdout

    for key in ["weights.json", "runs/run-00006.json", "runs/run-00007.json"]:
        s3_client.delete_object(Bucket=BUCKET, Key=f"fit/{key}")
    again = run_curate("metarater", "fit", "corpus", "-a", "scores", *FIT, "--out", f"s3://{BUCKET}/fit",
                       cwd=inputs, **s3_server, **STEADY_THREADS)  # fmt: skip
    assert again.returncode == 0, again.stderr[-3000:]
    refitted = objects(s3_client, BUCKET, "fit/")
    assert sorted(refitted) == sorted(made)  # the two runs trained again went up as they finished
    refit = json.loads(refitted["weights.json"])
    assert refit["runs"]["reused"] == 6 and refit["weights"] == weights["weights"]

    done = run_curate("metarater", "fit", "corpus", "-a", "scores", *FIT, "--out", f"s3://{BUCKET}/fit",
                      cwd=inputs, **s3_server, **STEADY_THREADS)  # fmt: skip
    assert done.returncode == 0 and "is already complete" in done.stderr, done.stderr[-3000:]


def test_metarater_keep_reads_the_fit_from_s3(inputs, fits, s3_server):
    """The keep flags from the fit's URL are the flags from the local fit; the attribute set names the URL."""
    from curation.attributes import AttributeSet
    from curation.corpus import Corpus
    from raters.metarater.select import write_metarater_keep

    corpus = Corpus.open(inputs / "corpus")
    flags = {}
    with pytest.MonkeyPatch.context() as patch:
        for key, value in s3_server.items():
            patch.setenv(key, value)
        for name, fit in (("local", inputs / "local-fit"), ("remote", f"s3://{BUCKET}/fit")):
            out = write_metarater_keep(inputs / "corpus", [inputs / "scores"], fit, inputs / f"keep-{name}",
                                       fraction=0.5, tracking=False)  # fmt: skip
            kept = AttributeSet.open(out, corpus)
            flags[name] = kept.read(["metarater_keep"]).column("metarater_keep").to_pylist()
    assert flags["remote"] == flags["local"] and sum(flags["remote"]) == 20
    assert kept.manifest["config"]["fit"] == f"s3://{BUCKET}/fit"


def test_fit_and_select_read_the_corpus_and_scores_from_s3(inputs, fits, s3_server, s3_client):
    """A fit of a corpus and scores on the store is the fit of their local copies; ``metarater select`` with
    everything on the store keeps the documents the local keep flags keep."""
    from curation.attributes import AttributeSet
    from curation.corpus import Corpus
    from raters.metarater.select import write_metarater_keep
    from tests.s3_server import upload_tree

    corpus, scores = (upload_tree(s3_client, inputs / name, BUCKET, f"scored/{name}") for name in ("corpus", "scores"))
    fit = run_curate("metarater", "fit", corpus, "-a", scores, *FIT, "--out", f"s3://{BUCKET}/fit-of-urls",
                     cwd=inputs, **s3_server, **STEADY_THREADS)  # fmt: skip
    assert fit.returncode == 0, fit.stderr[-3000:]
    remote = json.loads(objects(s3_client, BUCKET, "fit-of-urls/")["weights.json"])
    local = json.loads((inputs / "local-fit" / "weights.json").read_bytes())
    assert remote["weights"] == local["weights"] and remote["data_fingerprint"] == local["data_fingerprint"]

    selected = run_curate("metarater", "select", corpus, "-a", scores, "--fit", f"s3://{BUCKET}/fit-of-urls",
                          "--out", f"s3://{BUCKET}/selected", "--fraction", "0.5", "--no-tracking", cwd=inputs,
                          **s3_server)  # fmt: skip
    assert selected.returncode == 0, selected.stderr[-3000:]
    written = objects(s3_client, BUCKET, "selected/")
    manifest = json.loads(written["manifest.json"])
    assert manifest["lineage"]["corpus"]["path"] == corpus
    kept_keys = objects(s3_client, BUCKET, "selected-metarater-keep/")
    assert "manifest.json" in kept_keys  # the flags beside --out, on the store

    flags = write_metarater_keep(inputs / "corpus", [inputs / "scores"], inputs / "local-fit", inputs / "keep-urls",
                                 fraction=0.5, tracking=False)  # fmt: skip
    kept = AttributeSet.open(flags, Corpus.open(inputs / "corpus")).read(["metarater_keep"])
    assert manifest["counts"]["documents"] == sum(kept.column("metarater_keep").to_pylist()) == 20


@pytest.mark.parametrize(
    "args",
    [
        ["validate", *VALIDATE, "--out", "s3://no-such-bucket/validation"],
        ["metarater", "fit", "corpus", "-a", "scores", *FIT, "--out", "s3://no-such-bucket/fit"],
        ["metarater", "select", "corpus", "-a", "scores", "--fit", "s3://no-such-bucket/fit", "--out", "kept",
         "--fraction", "0.5", "--no-tracking"],
    ],
    ids=["validate", "metarater-fit", "metarater-select"],
)  # fmt: skip
def test_a_missing_bucket_is_one_line(args, inputs, s3_server):
    proc = run_curate(*args, cwd=inputs, **s3_server)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1, proc.stderr[-3000:]
    assert "s3://no-such-bucket/" in proc.stderr
