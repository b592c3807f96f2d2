"""The Python API (``curation.api``, ``raters.api``, ``pipelines.api``) as a user calls it: the same defaults
as the command line, typed results that reconcile, and the same typed errors."""

from __future__ import annotations

import inspect

import pytest

from tests.helpers import write_corrupted_articles

# API function -> the `curate` command it mirrors (path of sub-commands)
MIRRORS = {
    ("curation.api", "signals"): ["signals"],
    ("curation.api", "dedup"): ["dedup"],
    ("curation.api", "select"): ["select"],
    ("curation.api", "validate"): ["validate"],
    ("raters.api", "datarater_train"): ["datarater", "train"],
    ("raters.api", "datarater_score"): ["datarater", "score"],
    ("raters.api", "datarater_filter"): ["datarater", "filter"],
    ("raters.api", "metarater_fit"): ["metarater", "fit"],
    ("raters.api", "metarater_select"): ["metarater", "select"],
    ("curation.api", "top"): ["top"],
    ("curation.api", "mix"): ["mix"],
    ("curation.api", "export"): ["export"],
    ("curation.api", "report"): ["report"],
    ("raters.api", "dsir_fit"): ["raters", "dsir", "fit"],
    ("raters.api", "fasttext_train"): ["raters", "fasttext", "train"],
    ("raters.api", "perplexity_train"): ["raters", "perplexity", "train"],
    ("raters.api", "dimension_train"): ["raters", "dimension", "train"],
    ("raters.api", "quality_score"): ["raters", "perplexity", "score"],
    ("raters.api", "log_model"): ["raters", "log-model"],
    ("pipelines.api", "run"): ["run"],
}


def cli_defaults(path: list[str]) -> dict:
    import typer

    from pipelines.cli import app

    command = typer.main.get_command(app)
    for name in path:
        command = command.commands[name]
    return {p.name: p.default for p in command.params if not p.required}


def api_defaults(function) -> dict:
    return {name: p.default for name, p in inspect.signature(function).parameters.items() if p.default is not p.empty}


def same(a, b) -> bool:
    """Equal defaults; an empty list and None both mean "none given" (typer's repeatable options)."""
    return (a if a not in ((), []) else None) == (b if b not in ((), []) else None)


@pytest.mark.parametrize(("where", "path"), list(MIRRORS.items()), ids=["-".join(p) for p in MIRRORS.values()])
def test_api_defaults_are_the_command_lines(where, path):
    import importlib

    function = getattr(importlib.import_module(where[0]), where[1])
    cli, api = cli_defaults(path), api_defaults(function)
    shared_names = set(cli) & set(api)
    assert len(shared_names) >= 2, (cli, api)  # the comparison compares something
    different = {name: (api[name], cli[name]) for name in shared_names if not same(api[name], cli[name])}
    assert not different, f"api vs cli defaults: {different}"


def test_ingest_and_validate_options_default_to_their_config_classes():
    from curation.ingest.config import IngestConfig
    from curation.validate.job import ValidateConfig

    cli = cli_defaults(["ingest"])
    config = {name: f.default for name, f in IngestConfig.model_fields.items() if not f.is_required()}
    shared_names = (set(cli) & set(config)) - {"inputs", "out"}
    assert len(shared_names) >= 8
    assert {n: (config[n], cli[n]) for n in shared_names if config[n] != cli[n]} == {}
    cli = cli_defaults(["validate"])
    fields = inspect.signature(ValidateConfig).parameters
    config = {name: p.default for name, p in fields.items() if p.default is not p.empty}
    shared_names = set(cli) & set(config)
    assert len(shared_names) >= 8
    assert {n: (config[n], cli[n]) for n in shared_names if config[n] != cli[n]} == {}


def test_dedup_and_datarater_filter_options_default_to_their_config_classes():
    """The CLI states these defaults as literals (so `curate --help` needs no numpy); the pipeline sections
    take them from the same classes (pipelines/config.py). Both must agree with the stages'."""
    from dataclasses import asdict

    from curation.dedup.minhash import MinHashParams
    from curation.dedup.stage import DedupConfig
    from pipelines.config import DataRaterFilterSection, DedupSection
    from raters.datarater.filter_stage import FilterConfig

    stages = {
        ("dedup",): {
            **asdict(MinHashParams()),
            "max_bucket": DedupConfig().max_bucket,
            "driver_max_edges": DedupConfig().driver_max_edges,
        },
        ("datarater", "filter"): asdict(FilterConfig()),
    }
    for path, config in stages.items():
        cli = cli_defaults(list(path))
        assert len(set(cli) & set(config)) >= 4, (path, cli)
        assert {n: (config[n], cli[n]) for n in set(cli) & set(config) if config[n] != cli[n]} == {}, path
    assert DedupSection().model_dump() == stages[("dedup",)]
    assert DataRaterFilterSection().model_dump() == stages[("datarater", "filter")]


@pytest.fixture(scope="module")
def articles(tmp_path_factory):
    """60 real Wikipedia articles cut to 3 kB, odd ones with 60% of their characters replaced."""
    root = tmp_path_factory.mktemp("api")
    write_corrupted_articles(root / "mixed.jsonl", seed=3)
    return root


def test_core_and_rater_stages_from_python(articles, tmp_path):
    from curation import api
    from curation.corpus import Corpus
    from raters import api as raters_api

    corpus = api.ingest([articles / "mixed.jsonl"], tmp_path / "corpus", shards=2, master="local[2]", tracking=False)
    assert corpus.counts["records_read"] == 60 and corpus.counts["documents"] == 60 and not corpus.skipped
    again = api.ingest([articles / "mixed.jsonl"], tmp_path / "corpus", shards=2, master="local[2]", tracking=False)
    assert again.skipped and again.counts == corpus.counts

    signals = api.signals(corpus.path, tmp_path / "signals", master="local[2]", tracking=False)
    assert signals.counts["documents"] == 60 and 0 < signals.counts["gopher_quality_pass.true"] < 60
    kept = api.select(corpus.path, "gopher_quality.pass", tmp_path / "kept", attributes=[signals.path],
                      master="local[2]", tracking=False)  # fmt: skip
    assert kept.counts["documents"] == signals.counts["gopher_quality_pass.true"]
    assert kept.counts["documents"] + Corpus.open(kept.path).read_rejects().num_rows == 60  # nothing lost

    settings = {"seq_len": 64, "population": 2, "inner_batch": 8, "outer_batch": 8, "rater_d_model": 32,
                "rater_layers": 1, "outer_warmup": 5, "lifetime": 20}  # fmt: skip
    (tmp_path / "small.yaml").write_text("".join(f"{k}: {v}\n" for k, v in settings.items()))
    model = raters_api.datarater_train(corpus.path, tmp_path / "model", config=tmp_path / "small.yaml", steps=3,
                                       tracking=False)  # fmt: skip
    assert model.counts == {"outer_steps": 3, "resumed_from": 0} and (model.path / "rater.safetensors").is_file()
    scores = raters_api.datarater_score(corpus.path, model.path, tmp_path / "scores", master="local[2]",
                                        tracking=False)  # fmt: skip
    assert scores.counts["documents"] == 60
    filtered = raters_api.datarater_filter(corpus.path, scores.path, tmp_path / "filtered", rho=0.5,
                                           master="local[2]", tracking=False)  # fmt: skip
    assert (tmp_path / "scores-keep-probability-rho50").is_dir()  # the command line's default place
    assert 0 < filtered.counts["documents"] < 60


def test_quality_raters_top_mix_export_and_log_model_from_python(articles, tmp_path, monkeypatch):
    import gzip
    import json

    import zstandard

    from curation import api
    from curation.corpus import Corpus
    from raters import api as raters_api
    from tests.conftest import shared

    corpus = api.ingest([articles / "mixed.jsonl"], tmp_path / "corpus", shards=2, master="local[2]", tracking=False)
    wiki = shared("reference/enwiki-6514-articles.jsonl.gz")
    dsir = raters_api.dsir_fit([wiki], [corpus.path], tmp_path / "dsir", buckets=5_000, max_bytes=400_000,
                               tracking=False)  # fmt: skip
    assert dsir.path == tmp_path / "dsir" and dsir.counts["heldout_auc"] > 0.5
    scores = raters_api.quality_score(corpus.path, "dsir", dsir.path, tmp_path / "dsir-scores", master="local[2]",
                                      tracking=False)  # fmt: skip
    assert scores.counts["documents"] == 60

    top = api.top(corpus.path, "dsir_log_ratio", tmp_path / "top", attributes=[scores.path], fraction=0.5,
                  tracking=False)  # fmt: skip
    assert top.counts["top_keep.true"] == 30 and top.counts["kept_tokens"] > 0
    kept = api.select(corpus.path, "top_keep", tmp_path / "kept", attributes=[top.path], master="local[2]",
                      tracking=False)  # fmt: skip
    urls = Corpus.open(kept.path).read_documents(columns=["url"]).column("url").to_pylist()
    assert len(urls) == 30 and sum(not url.endswith("?noisy") for url in urls) >= 25  # clean articles rank first
    validated = api.validate({"top": kept.path}, {"wiki": wiki}, tmp_path / "validation", tokens="8k",
                             random_baseline=corpus.path, seeds=1, size="tiny", evaluations=1,
                             heldout_bytes=20_000, tracking=False)  # fmt: skip
    final = validated.counts["final_bpb"]
    assert set(final) == {"top", "random"}  # a Path for the random baseline's pool, as for the sets
    assert all(0 < bpb["wiki"] < 9 for bpb in final.values())

    mixed = api.mix(kept.path, {"*": 1.0}, "20k", tmp_path / "mix", tracking=False)
    assert 0 < mixed.counts["documents"] < 30
    exported = api.export(mixed.path, tmp_path / "export", format="jsonl.zst", columns=["text", "id"],
                          rename={"id": "doc_id"}, tracking=False)  # fmt: skip
    assert exported.counts["rows"] == mixed.counts["documents"]
    rows = []
    for part in sorted((tmp_path / "export" / "data").glob("*.jsonl.zst")):
        with zstandard.open(part, "rt", encoding="utf-8") as fh:
            rows += [json.loads(line) for line in fh]
    assert len(rows) == exported.counts["rows"] and set(rows[0]) == {"text", "doc_id"}

    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    logged = raters_api.log_model(dsir.path, register="dsir-api")
    assert logged.path == "models:/dsir-api/1" and logged.run_id
    with gzip.open(wiki, "rt", encoding="utf-8") as fh:
        texts = [json.loads(next(fh))["text"] for _ in range(3)]
    from raters.text_scorer import load_scorer

    assert load_scorer(logged.path).score(texts).tolist() == load_scorer(dsir.path).score(texts).tolist()


def test_errors_are_the_command_lines_typed_errors(tmp_path):
    from curation import api
    from curation.errors import ConfigError, InputNotFoundError

    with pytest.raises(InputNotFoundError, match="input not found"):
        api.ingest([tmp_path / "missing.jsonl"], tmp_path / "out", tracking=False)
    (tmp_path / "a.jsonl").write_text('{"text": "x"}\n')
    with pytest.raises(ConfigError, match="shards"):
        api.ingest([tmp_path / "a.jsonl"], tmp_path / "out", shards=0, tracking=False)
