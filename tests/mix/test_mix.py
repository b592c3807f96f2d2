"""`curate mix` on real text from three sources: shares, down- and up-sampling, seeds, reruns, accounting."""

from __future__ import annotations

from collections import Counter, defaultdict

import numpy as np
import pyarrow.parquet as pq
import pytest

from curation.corpus import Corpus, file_sha256
from curation.errors import ConfigError, CorpusError
from curation.mix.config import MixConfig, parse_targets
from curation.mix.job import run_mix
from curation.mix.plan import fill_allotments, split_budget
from tests.helpers import run_curate


def _available(corpus) -> dict[str, dict]:
    table = corpus.read_documents(["id", "source", "n_bytes"]).to_pylist()
    stats: dict[str, dict] = defaultdict(lambda: {"tokens": 0, "documents": 0, "largest": 0, "ids": set()})
    for row in table:
        entry = stats[row["source"]]
        entry["tokens"] += row["n_bytes"]
        entry["documents"] += 1
        entry["largest"] = max(entry["largest"], row["n_bytes"])
        entry["ids"].add(row["id"])
    return dict(stats)


def _output(result) -> list[dict]:
    return Corpus.open(result.out).read_documents(["id", "source", "n_bytes", "text"]).to_pylist()


def _check_accounting(corpus, result) -> None:
    """Nothing lost: every input id is kept or rejected (never both); repeats are copies of kept ones."""
    mixed = Corpus.open(result.out)
    out_ids = [r["id"] for r in mixed.read_documents(["id"]).to_pylist()]
    assert len(out_ids) == len(set(out_ids)) == mixed.num_documents
    originals = {i for i in out_ids if "#r" not in i}
    rejected = [r["locator"].removeprefix("id=") for r in mixed.read_rejects().to_pylist()]
    inputs = {r["id"] for r in corpus.read_documents(["id"]).to_pylist()}
    assert originals.isdisjoint(rejected) and originals | set(rejected) == inputs
    assert {i.split("#r")[0] for i in out_ids if "#r" in i} <= originals
    counts = mixed.manifest["counts"]
    assert counts["records_read"] == corpus.num_documents == counts["kept"] + counts["rejected"]["mixture"]
    assert counts["documents"] == counts["kept"] + counts["repeats"] == len(out_ids)
    for path in mixed.shard_paths:
        ids = pq.read_table(path, columns=["id"]).column("id").to_pylist()
        assert ids == sorted(ids)


def test_downsampling_meets_every_share_within_one_document(sources_corpus, tmp_path):
    available = _available(sources_corpus)
    budget = 150_000
    cfg = MixConfig(targets={"c4": 0.5, "wiki": 0.2, "web": 0.3}, tokens=budget, seed=1)
    result = run_mix(sources_corpus.root, tmp_path / "mix", cfg, tracking=False)
    got = Counter()
    for row in _output(result):
        got[row["source"]] += row["n_bytes"]
    for name, share in cfg.targets.items():
        quota = round(budget * share)
        assert available[name]["tokens"] > quota  # really down-sampled
        assert 0 <= quota - got[name] < available[name]["largest"], name
        entry = result.manifest["mixture"]["values"][name]
        assert entry["tokens_selected"] == got[name] and entry["tokens_repeated"] == 0
        assert entry["tokens_available"] == available[name]["tokens"]
        assert entry["achieved_share"] == pytest.approx(got[name] / sum(got.values()))
    _check_accounting(sources_corpus, result)
    rejects = Corpus.open(result.out).read_rejects().to_pylist()
    assert {r["reason"] for r in rejects} == {"mixture"}
    assert any(r["detail"] == "source=c4: quota 75,000 tokens reached" for r in rejects)
    manifest = result.manifest
    assert manifest["kind"] == "mix" and manifest["lineage"]["corpus"]["path"] == str(sources_corpus.root)
    assert manifest["lineage"]["tokenizer"] == {"name": "bytes"} and manifest["lineage"]["seed"] == 1


def test_upsampling_repeats_whole_passes_then_a_partial_one(sources_corpus, tmp_path):
    available = _available(sources_corpus)
    wiki = available["wiki"]["tokens"]
    budget = 5 * wiki  # wiki's quota (50%) is 2.5 passes over its documents
    cfg = MixConfig(targets={"wiki": 0.5, "c4": 0.5}, tokens=budget)
    result = run_mix(sources_corpus.root, tmp_path / "mix", cfg, tracking=False)
    rows = [r for r in _output(result) if r["source"] == "wiki"]
    copies = Counter(r["id"].split("#r")[0] for r in rows)
    assert set(copies) == available["wiki"]["ids"] and set(copies.values()) == {2, 3}
    tokens = sum(r["n_bytes"] for r in rows)
    assert 0 <= budget // 2 - tokens < available["wiki"]["largest"]
    texts = {r["id"]: r["text"] for r in rows}
    assert all(texts[i] == texts[i.split("#r")[0]] for i in texts)  # a repeat is its original
    entry = result.manifest["mixture"]["values"]["wiki"]
    repeats = sum(n - 1 for n in copies.values())
    assert entry["documents_repeated"] == repeats == result.manifest["counts"]["repeats"]
    assert entry["documents_selected"] == available["wiki"]["documents"] and entry["tokens_selected"] == wiki
    assert entry["tokens_repeated"] == tokens - wiki and entry["shortfall_tokens"] == budget // 2 - tokens
    _check_accounting(sources_corpus, result)


def test_fill_redistributes_instead_of_repeating(sources_corpus, tmp_path):
    available = _available(sources_corpus)
    budget = 2 * available["wiki"]["tokens"]
    cfg = MixConfig(targets={"wiki": 0.6, "c4": 0.4}, tokens=budget, on_short="fill")
    result = run_mix(sources_corpus.root, tmp_path / "mix", cfg, tracking=False)
    rows = _output(result)
    assert not any("#r" in r["id"] for r in rows)
    got = Counter()
    for row in rows:
        got[row["source"]] += row["n_bytes"]
    assert got["wiki"] == available["wiki"]["tokens"]  # short: all of it, once
    assert 0 <= budget - got["wiki"] - got["c4"] < available["c4"]["largest"]  # c4 fills the budget
    values = result.manifest["mixture"]["values"]
    assert values["wiki"]["shortfall_tokens"] == round(0.6 * budget) - available["wiki"]["tokens"]
    assert values["c4"]["allotted_tokens"] == budget - available["wiki"]["tokens"]
    _check_accounting(sources_corpus, result)


def test_values_without_target_are_dropped_or_pooled(sources_corpus, tmp_path):
    cfg = MixConfig(targets={"c4": 0.7, "wiki": 0.3}, tokens=100_000)
    result = run_mix(sources_corpus.root, tmp_path / "named", cfg, tracking=False)
    assert "web" not in {r["source"] for r in _output(result)}
    web_rejects = [
        r for r in Corpus.open(result.out).read_rejects().to_pylist() if r["detail"].startswith("source=web")
    ]
    assert len(web_rejects) == _available(sources_corpus)["web"]["documents"]
    assert {r["detail"] for r in web_rejects} == {"source=web: not among the --target values (share 0)"}
    assert result.manifest["mixture"]["values"]["web"]["targeted"] is False
    pooled = run_mix(
        sources_corpus.root,
        tmp_path / "pooled",
        MixConfig(targets={"c4": 0.5, "*": 0.5}, tokens=100_000),
        tracking=False,
    )
    others = pooled.manifest["mixture"]["values"]["*"]
    assert others["values"] == ["web", "wiki"] and abs(others["achieved_share"] - 0.5) < 0.05
    assert {r["source"] for r in _output(pooled)} == {"c4", "web", "wiki"}


def test_seeded_deterministic_rerun_skipped_and_overwrite(sources_corpus, tmp_path):
    cfg = MixConfig(targets={"c4": 0.5, "wiki": 0.2, "web": 0.3}, tokens=120_000, seed=7)
    first = run_mix(sources_corpus.root, tmp_path / "a", cfg, tracking=False)
    shas = [s["sha256"] for s in first.manifest["shards"]]
    again = run_mix(sources_corpus.root, tmp_path / "a", cfg, tracking=False)
    assert again.skipped and [file_sha256(p) for p in Corpus.open(again.out).shard_paths] == shas
    elsewhere = run_mix(sources_corpus.root, tmp_path / "b", cfg, tracking=False)
    assert [s["sha256"] for s in elsewhere.manifest["shards"]] == shas  # byte-identical, same seed
    reseeded = MixConfig(targets=cfg.targets, tokens=cfg.tokens, seed=8)
    with pytest.raises(CorpusError, match="another corpus"):
        run_mix(sources_corpus.root, tmp_path / "a", reseeded, tracking=False)
    ids_7 = {r["id"] for r in _output(first)}
    other = run_mix(sources_corpus.root, tmp_path / "a", reseeded, tracking=False, overwrite=True)
    ids_8 = {r["id"] for r in _output(other)}
    assert ids_7 != ids_8 and len(ids_7 & ids_8) > 0
    _check_accounting(sources_corpus, other)
    assert len(list((tmp_path / "a" / "rejects").glob("*.parquet"))) == len(other.manifest["rejects"])


def test_bad_settings_fail_fast_with_one_line(sources_corpus, tmp_path):
    with pytest.raises(ConfigError, match="must sum to 1, not 0.9"):
        MixConfig(targets={"c4": 0.5, "wiki": 0.4}, tokens=1000)
    with pytest.raises(ConfigError, match="given twice"):
        parse_targets(["c4=0.5", "c4=0.5"])
    assert parse_targets(["c4=60%", "wiki=0.4"]) == {"c4": 0.6, "wiki": 0.4}
    with pytest.raises(ConfigError, match="unknown column"):
        run_mix(sources_corpus.root, tmp_path / "x", MixConfig({"c4": 1.0}, 1000, column="domain"), tracking=False)
    with pytest.raises(ConfigError, match="needs a string column"):
        run_mix(sources_corpus.root, tmp_path / "x", MixConfig({"c4": 1.0}, 1000, column="n_bytes"), tracking=False)
    with pytest.raises(ConfigError, match="--target 'c5': no document has source='c5'"):
        run_mix(sources_corpus.root, tmp_path / "x", MixConfig({"c5": 0.5, "wiki": 0.5}, 1000), tracking=False)
    with pytest.raises(ConfigError, match="--tokenizer"):
        run_mix(
            sources_corpus.root, tmp_path / "x", MixConfig({"c4": 1.0}, 1000, tokenizer="nope.json"), tracking=False
        )
    assert not (tmp_path / "x").exists()
    result = run_curate(
        "mix", str(sources_corpus.root), "--out", str(tmp_path / "y"), "--target", "c4=0.5", "--target", "web=0.3",
        "--tokens", "10k", "--no-tracking",
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().splitlines() == [
        "curate: error: --target shares must sum to 1, not 0.8 (c4=0.5, web=0.3)"
    ]


def test_cli_prints_the_mixture_table(sources_corpus, tmp_path):
    result = run_curate(
        "mix", str(sources_corpus.root), "--out", str(tmp_path / "cli"), "--target", "c4=0.5", "--target", "wiki=0.5",
        "--tokens", "100k", "--seed", "3", "--no-tracking",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    rows = [[c.strip() for c in line.split("│")[1:-1]] for line in result.stdout.splitlines() if line.startswith("│")]
    assert [row[0] for row in rows] == ["c4", "wiki", "web"]
    assert rows[1][3] == "50.0%" and rows[2][3] == "dropped"
    assert "of 100,000 budget tokens" in result.stdout
    assert Corpus.open(tmp_path / "cli").manifest["lineage"]["seed"] == 3


def test_tokenizer_counts_are_used_and_recorded(sources_corpus, tmp_path):
    from tokenizers import Tokenizer

    from curation.proxy.tokenizer import BPETokenizer

    texts = sources_corpus.read_documents(["text"]).column("text").to_pylist()
    BPETokenizer.train(texts, vocab_size=600).save(tmp_path / "tok")
    path = tmp_path / "tok" / "tokenizer.json"
    cfg = MixConfig(targets={"c4": 0.5, "wiki": 0.5}, tokens=40_000, tokenizer=str(path))
    result = run_mix(sources_corpus.root, tmp_path / "mix", cfg, tracking=False)
    tokenizer = result.manifest["mixture"]["tokenizer"]
    assert tokenizer["sha256"] == file_sha256(path) and tokenizer["path"] == str(path.resolve())
    assert result.manifest["lineage"]["tokenizer"] == tokenizer
    encoder = Tokenizer.from_file(str(path))
    rows = _output(result)
    for name in ("c4", "wiki"):
        entry = result.manifest["mixture"]["values"][name]
        tokens = sum(len(encoder.encode(r["text"], add_special_tokens=False).ids) for r in rows if r["source"] == name)
        assert tokens == entry["tokens_selected"] and 0 <= 20_000 - tokens < 2000
        assert entry["tokens_available"] < _available(sources_corpus)[name]["tokens"]  # BPE: fewer than bytes


def test_stage_is_tracked_with_per_source_metrics(sources_corpus, tmp_path, monkeypatch):
    import mlflow

    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    cfg = MixConfig(targets={"c4": 0.5, "web": 0.5}, tokens=50_000)
    result = run_mix(sources_corpus.root, tmp_path / "mix", cfg, tracking=True)
    run = mlflow.get_run(result.manifest["mlflow_run_id"])
    values = result.manifest["mixture"]["values"]
    assert run.data.metrics["c4.tokens_output"] == values["c4"]["tokens_output"]
    assert run.data.metrics["web.achieved_share"] == pytest.approx(values["web"]["achieved_share"])
    assert run.data.tags["curation.stage"] == "mix"


def test_budget_split_and_fill_arithmetic():
    assert split_budget(10, [1 / 3, 1 / 3, 1 / 3]) == [4, 3, 3]
    assert sum(split_budget(1_000_003, [0.5, 0.2, 0.3])) == 1_000_003
    assert split_budget(100, [0.5, 0.0, 0.5]) == [50, 0, 50]
    # 60 short by 50 -> 25/25 to the others; then b is short by 15 -> all of it to c
    assert fill_allotments([60, 20, 20], [10, 30, 1000], [0.6, 0.2, 0.2]) == [10, 30, 60]
    assert fill_allotments([50, 50], [10, 20], [0.5, 0.5]) == [10, 20]
    assert np.array_equal(np.array(split_budget(7, [1.0])), [7])
