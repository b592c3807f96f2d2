"""Running the real `curate` command in a subprocess, as a user would."""

from __future__ import annotations

import os
import subprocess
import sys


def curate_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "pipelines.cli", *args]


def curate_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ, PYSPARK_PYTHON=sys.executable, SPARK_LOCAL_IP="127.0.0.1", **extra)
    env.pop("MLFLOW_TRACKING_URI", None) if "MLFLOW_TRACKING_URI" not in extra else None
    return env


# Fixed thread counts: by default MKL adjusts its threads to the machine's load (MKL_DYNAMIC), and with them
# the order of float sums; two trainings compared byte for byte must not depend on what else the machine runs.
STEADY_THREADS = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "MKL_DYNAMIC": "FALSE"}


def digests(files: dict[str, bytes]) -> dict[str, str]:
    """Each file's sha256, by name: compared instead of the bytes, a mismatch reads (and diffs) in a moment."""
    import hashlib

    return {name: hashlib.sha256(data).hexdigest() for name, data in files.items()}


def run_curate(*args: str, cwd=None, timeout: float = 300, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        curate_cmd(*args), cwd=cwd, env=curate_env(**env), capture_output=True, text=True, timeout=timeout
    )


def write_corrupted_articles(path, *, seed: int, count: int = 60, fraction: float = 0.6) -> None:
    """``count`` real Wikipedia articles cut to 3 kB as JSON Lines (``id``, ``text``, ``url``); odd ones have
    ``fraction`` of their characters replaced, and their url ends in ``?noisy``."""
    import json
    import random

    from curation.proxy.text_source import read_text_source
    from curation.text.corruption import characters
    from tests.conftest import shared

    articles = read_text_source(str(shared("reference/enwiki-6514-articles.jsonl.gz")), max_bytes=2_000_000, seed=seed)
    texts = [t[:3000] for t in articles.texts if len(t) > 1500][:count]
    rng = random.Random(0)
    with open(path, "w") as fh:
        for i, text in enumerate(texts):
            noisy = i % 2 == 1
            record = {"id": f"doc{i:03d}", "text": characters(text, fraction, rng) if noisy else text}
            record["url"] = f"https://wiki.invalid/{i}" + ("?noisy" if noisy else "")
            fh.write(json.dumps(record) + "\n")


def write_test_attributes(corpus_dir, out, producer: str, columns: dict, run=None):
    """An attribute set of ``columns`` (name -> (Arrow type, one value per document in corpus order)) computed
    in the test, beside a corpus: written as a stage writes one, without a stage to compute it."""
    import pyarrow as pa

    from curation.attribute_stage import prepare_attribute_dir, write_computed_attributes
    from curation.corpus import Corpus
    from curation.tracking import StageRun

    corpus = Corpus.open(corpus_dir)
    ids = corpus.read_documents(["id"]).column("id").to_pylist()
    out, fingerprint, config_hash, _ = prepare_attribute_dir(corpus, out, producer, {}, False)
    return write_computed_attributes(
        out, corpus, producer=producer, version="1", ids=ids,
        shard_rows=[entry["rows"] for entry in corpus.manifest["shards"]],
        columns={name: values for name, (_, values) in columns.items()},
        schema=[pa.field(name, kind) for name, (kind, _) in columns.items()],
        descriptions={}, config={}, config_hash=config_hash, fingerprint=fingerprint, run=run or StageRun(),
    )  # fmt: skip
