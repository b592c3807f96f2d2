"""`curate validate` from the command line, as a user runs it: outputs, MLflow runs, resume, errors."""

from __future__ import annotations

import gzip
import json
import random

import pytest

from tests.conftest import shared
from tests.helpers import run_curate


@pytest.fixture(scope="module")
def sets(tmp_path_factory):
    """Clean Wikipedia articles, a corrupted copy of them, and a pool mixing both; disjoint held-out articles."""
    from curation.proxy.text_source import read_text_source
    from curation.text.corruption import characters as corrupt

    root = tmp_path_factory.mktemp("validate-sets")
    articles = read_text_source(str(shared("reference/enwiki-6514-articles.jsonl.gz")), max_bytes=400_000, seed=3)
    heldout, train = articles.texts[:6], articles.texts[6:]
    rng = random.Random(1)
    noisy = [corrupt(text, 0.5, rng) for text in train]

    def write(name, texts):
        path = root / name
        path.write_bytes(gzip.compress("\n".join(json.dumps({"text": t}) for t in texts).encode(), mtime=0))
        return path

    return {
        "clean": write("clean.jsonl.gz", train),
        "noisy": write("noisy.jsonl.gz", noisy),
        "pool": write("pool.jsonl.gz", train + noisy),
        "heldout": write("heldout.jsonl.gz", heldout),
        "root": root,
    }


def _validate(sets, out, *extra):
    return run_curate(
        "validate",
        "--train",
        f"clean={sets['clean']}",
        "--train",
        f"noisy={sets['noisy']}",
        "--random-baseline",
        str(sets["pool"]),
        "--heldout",
        f"wiki={sets['heldout']}",
        "--tokens",
        "40k",
        "--seeds",
        "2",
        "--size",
        "tiny",
        "--evaluations",
        "3",
        "--heldout-bytes",
        "30000",
        "--out",
        str(out),
        *extra,
        cwd=sets["root"],
        timeout=600,
    )


def test_validate_compares_sets_and_tracks_every_proxy(sets):
    out = sets["root"] / "validation"
    proc = _validate(sets, out)
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = json.loads((out / "results.json").read_text())
    assert results["baseline"] == "random" and results["seeds"] == [0, 1]
    assert set(results["results"]) == {"clean", "noisy", "random"}
    for name, per_heldout in results["results"].items():
        entry = per_heldout["wiki"]
        assert set(entry["final_bpb"]) == {"0", "1"}
        assert len(results["curves"][name]["0"]) == 4  # before training + 3 evaluations
    clean, noisy = results["results"]["clean"]["wiki"], results["results"]["noisy"]["wiki"]
    assert clean["mean"] < noisy["mean"]
    assert clean["token_savings"] is not None and clean["token_savings"] > 0
    assert noisy["token_savings"] is None  # never reaches the random baseline's loss
    assert results["results"]["random"]["wiki"]["is_baseline"]
    assert results["train_sets"]["random"]["resampled_per_seed"]

    table = (out / "table.md").read_text()
    assert "| clean |" in table and "not reached" in table and "baseline" in table
    assert (out / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "| clean |" in proc.stdout

    import mlflow

    mlflow.set_tracking_uri(f"sqlite:///{sets['root'] / 'mlflow.db'}")
    parent = mlflow.get_run(results["mlflow"]["parent_run_id"])
    assert parent.info.status == "FINISHED"
    assert parent.data.metrics["final_bpb.clean.wiki"] == pytest.approx(clean["mean"])
    assert "token_savings.clean.wiki" in parent.data.metrics
    children = results["mlflow"]["child_run_ids"]
    assert len(children) == 6
    client = mlflow.MlflowClient()
    child = mlflow.get_run(children["clean seed 1"])
    assert child.data.tags["mlflow.parentRunId"] == parent.info.run_id
    history = client.get_metric_history(child.info.run_id, "bpb.wiki")
    assert [m.value for m in history] == [p["bpb"]["wiki"] for p in results["curves"]["clean"]["1"]]
    artifacts = {a.path for a in client.list_artifacts(parent.info.run_id)}
    assert {"results.json", "table.md", "curves.png"} <= artifacts

    # A rerun reuses the finished proxies: same numbers, nothing retrained.
    again = _validate(sets, out)
    assert again.returncode == 0, again.stderr[-3000:]
    rerun = json.loads((out / "results.json").read_text())
    assert rerun["results"] == results["results"]


def test_validate_fails_fast_with_one_line(sets, tmp_path):
    proc = run_curate(
        "validate", "--train", "a=/no/such/corpus", "--heldout", str(sets["heldout"]), "--out", str(tmp_path)
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1] == "curate: error: /no/such/corpus: no such file or corpus directory"

    proc = run_curate(
        "validate",
        "--train",
        f"a={sets['clean']}",
        "--heldout",
        str(sets["heldout"]),
        "--baseline",
        "b",
        "--out",
        str(tmp_path),
    )
    assert proc.returncode == 2 and "--baseline 'b' is not one of the training sets" in proc.stderr
    assert not (tmp_path / "results.json").exists()


def test_validate_help_explains_the_comparison():
    proc = run_curate("validate", "--help")
    assert proc.returncode == 0
    assert "token savings" in proc.stdout and "--random-baseline" in proc.stdout and "--heldout" in proc.stdout
