"""SIGKILL during an ingest that reads ``s3://`` (and then during the attribute stage after it), resume, and
get the bytes of an uninterrupted run over the same objects: ranged remote reads resume like local ones.
The pipeline and the checks are those of ``tests/reliability`` (90 real documents, 2 shards)."""

from __future__ import annotations

import pytest
import yaml

from tests.conftest import SHARED_DATA, shared
from tests.reliability.kill_points import KillPoint, kill_and_resume, pipeline_config, run_reference, write_inputs

# CI kills an ingest reading s3:// in test_s3_outputs.py and an attribute stage on s3:// in test_s3_attribute_kill.py;
# this longer run (the whole kill pipeline) runs with ``pytest -m slow``.
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def s3_pipeline(s3_server, s3_client, tmp_path_factory):
    """The kill pipeline with its two inputs as objects of ``s3://kill-inputs/``; its reference run."""
    shared("web/c4-en-sample-1000.jsonl.gz")
    root = tmp_path_factory.mktemp("s3-kills")
    inputs = write_inputs(root, SHARED_DATA, c4=60, wiki=30)
    s3_client.create_bucket(Bucket="kill-inputs")
    for name in ("c4.jsonl", "wiki.jsonl"):
        s3_client.upload_file(str(inputs / name), "kill-inputs", name)
    config = pipeline_config(root, shards=2, tokens="150k", export_rows=20, name="s3-kills")
    loaded = yaml.safe_load(config.read_text())
    loaded["ingest"]["inputs"] = ["s3://kill-inputs/c4.jsonl", "s3://kill-inputs/wiki.jsonl"]
    loaded["ingest"]["split_mb"] = 0.05  # several ranged splits per object, so a kill can land between them
    config.write_text(yaml.safe_dump(loaded, sort_keys=False))
    with pytest.MonkeyPatch.context() as patch:
        for key, value in s3_server.items():
            patch.setenv(key, value)
        yield config, run_reference(config, root / "reference", timeout=300)


def test_killed_while_reading_s3_then_in_signals_resumes_to_identical_output(s3_pipeline, s3_server, tmp_path):
    config, reference = s3_pipeline
    corpus = reference.work / "corpus" / "manifest.json"
    assert '"s3://kill-inputs/c4.jsonl"' in corpus.read_text()  # the reference read the objects
    outcome = kill_and_resume(config, reference, tmp_path, [KillPoint("ingest", 1.0), KillPoint("signals", 0.5)], 300)
    landed = [c.killed_in if c.caught else None for c in outcome.crashes]
    if landed[0] != "ingest" or landed[1] not in ("signals", "select", "mix", "export"):
        pytest.fail(f"the kills landed in {landed}, not in ingest and a later stage; the kill points need adjusting")
    assert outcome.survived, "\n".join(outcome.problems)
    assert outcome.records_lost == 0
