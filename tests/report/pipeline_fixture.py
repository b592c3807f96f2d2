"""A small real pipeline work directory for the report tests, built without `curate run`.

The real stage functions run on real web text (the first C4 documents from ../shared/data, plus a few
hostile and broken records): ingest, heuristic signals, select, validation, DataRater meta-training and a
Meta-rater fit, at sizes that finish in seconds. `pipeline.json` is then written by hand in the format
`curate run` writes (described in curation/report/state.py). The export stage is not part of this checkout's
stages yet, so its directory is written here in its published format (curation.export/v1).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import time
from pathlib import Path

C4_DOCUMENTS = 120
# A document whose text tries to run script in the report; it must appear as text, never as markup. It is
# German, so the rule's first clause (lang == 'en') removes it and nothing else: it is sure to be shown
# (whole: it is shorter than a reject's sample).
HOSTILE_TEXT = (
    '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2"> Dies ist ein '
    "feindseliges Dokument, das Auszeichnungen in seinen Text schreibt."
)
BROKEN_LINES = [
    # Malformed JSON whose raw line (the reject's sample) carries markup.
    '{"id": "hostile-broken", "text": "<script>window.__pwned = 3</script> an unterminated string',
    '{"id": "empty", "text": "   "}',
]
# Clauses, in order: the first drops the German hostile document only, the others drop real C4 documents.
RULE = [
    "lang == 'en'",
    "gopher_repetition.pass",
    "gopher_quality.pass",
    "c4_quality.pass",
]


def _write_inputs(root: Path, c4: Path) -> Path:
    with gzip.open(c4, "rt", encoding="utf-8") as fh:
        lines = [next(fh).rstrip("\n") for _ in range(C4_DOCUMENTS)]
    lines.append(json.dumps({"id": "0000-hostile", "text": HOSTILE_TEXT, "url": "javascript:alert(1)"}))
    lines += BROKEN_LINES
    path = root / "input" / "web.jsonl"
    path.parent.mkdir(parents=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _write_export(workdir: Path, curated: Path) -> Path:
    """What the export stage publishes: JSONL of the curated documents, listed with rows/bytes/sha256."""
    import pyarrow.parquet as pq

    from curation.corpus import Corpus, write_json_atomic

    out = workdir / "export"
    (out / "jsonl").mkdir(parents=True)
    files = []
    for index, shard in enumerate(Corpus.open(curated).shard_paths):
        rows = pq.read_table(shard, columns=["id", "text"]).to_pylist()
        path = out / "jsonl" / f"part-{index:05d}.jsonl"
        path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
        data = path.read_bytes()
        files.append(
            {
                "path": f"jsonl/{path.name}",
                "rows": len(rows),
                "bytes": len(data),
                "sha256": hashlib.sha256(data).hexdigest(),
            }
        )
    write_json_atomic(out / "manifest.json", {"format": "curation.export/v1", "formats": ["jsonl"], "files": files})
    return out


def build_pipeline_workdir(workdir: Path, c4: Path, heldout: Path, master: str = "local[2]") -> dict:
    """Run the stages into ``workdir`` and write its pipeline.json; returns the state written."""
    from curation.attribute_stage import run_attribute_stage
    from curation.corpus import write_json_atomic
    from curation.ingest.config import IngestConfig
    from curation.ingest.job import run_ingest
    from curation.select.job import run_select
    from curation.signals.heuristics import HeuristicSignals
    from curation.validate.job import ValidateConfig, run_validate
    from raters.datarater.meta import DataRaterConfig
    from raters.datarater.training import run_datarater_train
    from raters.metarater.fit import MetaraterConfig, run_metarater_fit
    from raters.metarater.proxy_runs import ProxyRunSettings

    workdir.mkdir(parents=True, exist_ok=True)
    stages: list[dict] = []

    def stage(name: str, kind: str, outputs: dict[str, Path], run) -> None:
        started = time.perf_counter()
        run()
        stages.append(
            {
                "name": name,
                "kind": kind,
                "status": "done",
                "config_hash": hashlib.sha256(name.encode()).hexdigest()[:16],
                "seconds": round(time.perf_counter() - started, 3),
                "mlflow_run_id": None,
                "outputs": {key: str(value) for key, value in outputs.items()},
            }
        )

    inputs = _write_inputs(workdir, c4)
    corpus, signals, curated = workdir / "corpus", workdir / "attributes" / "signals", workdir / "curated"
    validation, datarater, metarater = (
        workdir / "validation",
        workdir / "models" / "datarater",
        workdir / "models" / "metarater",
    )
    wiki = f"wiki={heldout}"
    stage(
        "ingest",
        "ingest",
        {"corpus": corpus},
        lambda: run_ingest(
            IngestConfig(inputs=[str(inputs)], out=str(corpus), shards=2), master=master, tracking=False
        ),
    )
    stage(
        "signals",
        "signals",
        {"attributes": signals},
        lambda: run_attribute_stage(corpus, HeuristicSignals(), signals, master=master, tracking=False),
    )
    stage(
        "metarater_fit",
        "metarater_fit",
        {"model": metarater},
        lambda: run_metarater_fit(
            corpus,
            [signals],
            [wiki],
            metarater,
            MetaraterConfig(
                runs=8,
                candidates=2000,
                heldout_bytes=2000,
                proxy=ProxyRunSettings(size="tiny", tokens=256, seq_len=32, batch_size=8, top_fraction=0.5),
            ),
            columns=["doc_frac_unique_words", "doc_mean_word_length", "doc_unigram_entropy"],
            tracking=False,
        ),
    )
    stage(
        "select",
        "select",
        {"corpus": curated},
        lambda: run_select(corpus, [str(signals)], RULE, curated, master=master, tracking=False),
    )
    stage(
        "datarater_train",
        "datarater_train",
        {"model": datarater},
        lambda: run_datarater_train(
            str(curated),
            datarater,
            DataRaterConfig(
                seq_len=32,
                population=1,
                unroll=1,
                inner_batch=2,
                outer_batch=2,
                rater_d_model=16,
                rater_layers=1,
                outer_warmup=1,
                outer_steps=3,
            ),
            tracking=False,
        ),
    )
    stage(
        "validate",
        "validate",
        {"validation": validation},
        lambda: run_validate(
            ValidateConfig(
                train=[f"curated={curated}"],
                heldout=[wiki],
                out=str(validation),
                tokens=2048,
                seeds=1,
                random_baseline=str(corpus),
                size="tiny",
                seq_len=32,
                batch_size=8,
                evaluations=2,
                heldout_bytes=4000,
                device="cpu",
            ),
            tracking=False,
        ),
    )
    stage("export", "export", {"export": workdir / "export"}, lambda: _write_export(workdir, curated))
    state = {
        "format": "curation.pipeline/v1",
        "name": "report-fixture",
        "config_path": str(workdir / "pipeline.yaml"),
        "config_hash": "0" * 16,
        "workdir": str(workdir),
        "mlflow_run_id": None,
        "tracking_uri": None,
        "finished": True,
        "stages": stages,
    }
    write_json_atomic(workdir / "pipeline.json", state)
    return state
