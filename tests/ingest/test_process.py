"""One split processed directly (no Spark): an unexpected error rejects one record, not the job; records built
in batches give what they give one at a time."""

import gzip
import json

from curation.destination import Destination
from curation.ingest.config import IngestConfig
from curation.ingest.process import DocumentBuilder, batches, process_split
from curation.readers import RawRecord, Split, read_split
from tests.conftest import shared


def test_unexpected_error_rejects_only_that_record(tmp_path, monkeypatch):
    source = tmp_path / "in.jsonl"
    source.write_text("".join(json.dumps({"id": f"d{i}", "text": f"document number {i}"}) + "\n" for i in range(5)))
    real_build = DocumentBuilder.build

    def flaky_build(self, raw, split, normalized=None):
        if raw.source_id == "d2":
            raise RuntimeError("simulated bug")
        return real_build(self, raw, split, normalized)

    monkeypatch.setattr(DocumentBuilder, "build", flaky_build)
    cfg = IngestConfig(inputs=[str(source)], out=str(tmp_path / "out"), langid=False)
    stats = process_split(Split(0, str(source), "jsonl", "none"), cfg, Destination(tmp_path / "work"))
    assert stats["records_read"] == 5 and stats["documents"] == 4
    assert stats["rejected"] == {"processing_failed": 1}
    assert stats["examples"]["processing_failed"][1] == "RuntimeError: simulated bug"
    # the cached result is reused on a rerun (resume), without processing again
    monkeypatch.setattr(DocumentBuilder, "build", lambda *a: (_ for _ in ()).throw(AssertionError("reprocessed")))
    assert process_split(Split(0, str(source), "jsonl", "none"), cfg, Destination(tmp_path / "work")) == stats


def test_records_built_in_a_batch_are_what_they_are_one_at_a_time(tmp_path, monkeypatch):
    """`build_all` (texts normalised together in Arrow, the meta's JSON made from a prefix) against
    `build_or_reject` record by record with the text normalised alone, on real C4 documents and on odd records:
    extra fields in the meta, a lone surrogate (Arrow refuses the batch), empty and oversized text, NFD text,
    bytes, in a file whose name holds a quote and a non-ASCII letter; and the meta's bytes against the JSON
    encoder. If the batch normalisation fails, every record is still built, one at a time."""
    from curation.ingest import process
    from curation.text.normalize import normalize_text

    lines = gzip.decompress(shared("web/c4-en-sample-1000.jsonl.gz").read_bytes()).splitlines()[:300]
    odd = [
        {"id": "extra", "text": "with  fields", "lang_hint": "en", "score": 0.5, "nested": {"a": [1, 2]}},
        {"id": "surrogate", "text": "lone \ud800 surrogate\r\n\n\n\nend "},
        {"id": "empty", "text": " \t\n\u00a0"},
        {"id": "big", "text": "x" * 30_000},
        {"id": "nfd", "text": "Cafe\u0301 au lait"},
        {"id": "no-break", "text": "a\u00a0b\u2028c"},
    ]
    path = tmp_path / 'mixed "é".jsonl'
    path.write_bytes(b"".join(line + b"\n" for line in lines) + "".join(json.dumps(o) + "\n" for o in odd).encode())
    cfg = IngestConfig(inputs=[str(path)], out=str(tmp_path / "out"), langid=False, max_text_mb=0.02)
    split = Split(0, str(path), "jsonl", "none")
    items = list(read_split(split, cfg.fields, 1 << 20, 1 << 20))
    items.append(RawRecord("extra=1", b"bytes  payload", False, source_id="b1"))
    builder = DocumentBuilder(cfg)
    one_by_one = [
        builder.build_or_reject(item, split, normalize_text(item.payload) if isinstance(item.payload, str) else None)
        if isinstance(item, RawRecord)
        else item
        for item in items
    ]
    batched = [built for batch in batches(items, 64, 1 << 20) for built in builder.build_all(batch, split)]
    assert batched == one_by_one
    assert sum(isinstance(row, dict) for row in batched) > 290  # the C4 documents are kept, their texts compared
    assert {"empty_text", "too_large"} <= {getattr(item, "reason", None) for item in batched}
    rows = {row["id"]: row for row in batched if isinstance(row, dict)}
    assert rows["nfd"]["text"] == "Caf\u00e9 au lait" and rows["surrogate"]["text"] == "lone \ufffd surrogate\n\nend"
    for row in rows.values():  # the meta's bytes are what the JSON encoder makes of the whole dict
        meta = json.loads(row["meta"])
        assert row["meta"] == process._META_JSON.encode(meta) and meta["input"] == str(path)
    assert json.loads(rows["b1"]["meta"]) == {"input": str(path), "locator": "extra=1"}
    extra = json.loads(rows["extra"]["meta"])
    assert {"lang_hint": "en", "score": 0.5, "nested": {"a": [1, 2]}}.items() <= extra.items()

    def broken(texts):
        raise RuntimeError("batch normalisation failed")

    monkeypatch.setattr(process, "normalize_texts", broken)
    assert [built for batch in batches(items, 64, 1 << 20) for built in builder.build_all(batch, split)] == one_by_one


def test_batches_hold_at_most_n_items_and_about_max_chars():
    records = [RawRecord(str(i), "x" * size, False) for i, size in enumerate([5, 5, 5, 20, 1, 1])]
    assert [[r.locator for r in batch] for batch in batches(records, 2, 100)] == [["0", "1"], ["2", "3"], ["4", "5"]]
    assert [[r.locator for r in batch] for batch in batches(records, 10, 12)] == [["0", "1", "2"], ["3"], ["4", "5"]]
    assert list(batches([], 3, 10)) == []
