"""One real chain for every export test: C4 sample -> ingest -> attribute set -> select.

Built once per test package (Spark is shared with the rest of the session).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import shared

ATTRIBUTE_RUN_ID = "0123456789abcdef0123456789abcdef"  # stands in for the MLflow run that made the set
RULE = "long_enough and lang == 'en'"


@dataclass(frozen=True)
class Chain:
    ingested: Path
    attributes: Path
    selected: Path
    source: Path


@pytest.fixture(scope="package", autouse=True)
def offline_hub(tmp_path_factory):
    """Hugging Face libraries stay offline and never touch ~/.cache in these tests."""
    home = tmp_path_factory.mktemp("hf-home")
    with pytest.MonkeyPatch.context() as patch:
        for name, value in {
            "HF_DATASETS_OFFLINE": "1",
            "HF_HUB_OFFLINE": "1",
            "HF_HOME": str(home),
            "HF_DATASETS_CACHE": str(home / "datasets"),
            "HF_HUB_DISABLE_TELEMETRY": "1",
        }.items():
            patch.setenv(name, value)
        yield


@pytest.fixture(scope="package")
def chain(spark, tmp_path_factory) -> Chain:
    import pyarrow as pa

    from curation.attribute_stage import prepare_attribute_dir, write_computed_attributes
    from curation.corpus import Corpus
    from curation.ingest.config import IngestConfig
    from curation.ingest.job import run_ingest
    from curation.select.job import run_select
    from curation.tracking import StageRun

    source = shared("web/c4-en-sample-1000.jsonl.gz")
    root = tmp_path_factory.mktemp("export-chain")
    cfg = IngestConfig(inputs=[str(source)], out=str(root / "corpus"), shards=3)
    run_ingest(cfg, master="local[2]", tracking=False)
    corpus = Corpus.open(root / "corpus")

    documents = corpus.read_documents(["id", "text"])
    ids = documents.column("id").to_pylist()
    long_enough = [len(text.split()) >= 120 for text in documents.column("text").to_pylist()]
    out, fingerprint, config_hash, _ = prepare_attribute_dir(
        corpus, root / "attributes" / "length-v1", "length", {}, False
    )
    run = StageRun()
    run.run_id = ATTRIBUTE_RUN_ID
    write_computed_attributes(
        out,
        corpus,
        producer="length",
        version="v1",
        ids=ids,
        shard_rows=[entry["rows"] for entry in corpus.manifest["shards"]],
        columns={"long_enough": long_enough},
        schema=[pa.field("long_enough", pa.bool_())],
        descriptions={},
        config={},
        config_hash=config_hash,
        fingerprint=fingerprint,
        run=run,
    )
    selected = run_select(corpus.root, [str(out)], RULE, root / "curated", master="local[2]", tracking=False)
    assert 100 < selected.manifest["counts"]["documents"] < 1000  # a real selection: some kept, some dropped
    return Chain(corpus.root, out, selected.out, source)
