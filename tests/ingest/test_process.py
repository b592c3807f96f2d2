"""One split processed directly (no Spark): an unexpected error rejects one record, not the job."""

import json

from curation.destination import Destination
from curation.ingest.config import IngestConfig
from curation.ingest.process import DocumentBuilder, process_split
from curation.readers import Split


def test_unexpected_error_rejects_only_that_record(tmp_path, monkeypatch):
    source = tmp_path / "in.jsonl"
    source.write_text("".join(json.dumps({"id": f"d{i}", "text": f"document number {i}"}) + "\n" for i in range(5)))
    real_build = DocumentBuilder.build

    def flaky_build(self, raw, split):
        if raw.source_id == "d2":
            raise RuntimeError("simulated bug")
        return real_build(self, raw, split)

    monkeypatch.setattr(DocumentBuilder, "build", flaky_build)
    cfg = IngestConfig(inputs=[str(source)], out=str(tmp_path / "out"), langid=False)
    stats = process_split(Split(0, str(source), "jsonl", "none"), cfg, Destination(tmp_path / "work"))
    assert stats["records_read"] == 5 and stats["documents"] == 4
    assert stats["rejected"] == {"processing_failed": 1}
    assert stats["examples"]["processing_failed"][1] == "RuntimeError: simulated bug"
    # the cached result is reused on a rerun (resume), without processing again
    monkeypatch.setattr(DocumentBuilder, "build", lambda *a: (_ for _ in ()).throw(AssertionError("reprocessed")))
    assert process_split(Split(0, str(source), "jsonl", "none"), cfg, Destination(tmp_path / "work")) == stats
