"""One split of one input → documents + rejects, cached under the work directory.

Runs inside a Spark task. Its outputs are committed (``curation.destination``: by rename, or uploaded
whole to an object store) and the stats file last, so a split whose stats file exists is complete: a rerun after a crash skips it (resume) and re-reads only the
splits that had not finished.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from curation.destination import Destination
from curation.ids import content_id, shard_of
from curation.ingest.config import IngestConfig, MiB
from curation.readers import InputFailed, RawRecord, RecordRejected, Split, read_split
from curation.schema import sample_of
from curation.text.normalize import decode_bytes, normalize_text, normalize_texts, valid_unicode

ORDER_COLUMN = "_order"
SHARD_COLUMN = "_shard"
# Records are built in batches of at most this many, or of about this much payload: enough that batch work
# (normalisation in Arrow) pays, little enough that memory does not depend on the split's size.
BATCH_RECORDS = 1024
BATCH_CHARS = 8 * MiB


def split_paths(split: Split) -> dict[str, str]:
    """The split's cached files, relative to the work directory."""
    return {
        "docs": f"splits/{split.key}.docs.parquet",
        "rejects": f"splits/{split.key}.rejects.parquet",
        "stats": f"splits/{split.key}.json",
    }


# What json.dumps(meta, sort_keys=True, ensure_ascii=False, default=str) builds on every call, built once.
_META_JSON = json.JSONEncoder(sort_keys=True, ensure_ascii=False, default=str)


def _is_plain_text(raw: RawRecord) -> bool:
    return not raw.is_html and isinstance(raw.payload, str)


def batches(items: Iterable, max_items: int, max_chars: int) -> Iterator[list]:
    """``items`` in lists of at most ``max_items``, cut early once the records' payloads add up to
    ``max_chars`` (bytes or characters), so a batch of large records stays small in memory."""
    batch: list = []
    size = 0
    for item in items:
        batch.append(item)
        size += len(item.payload) if isinstance(item, RawRecord) else 0
        if len(batch) >= max_items or size >= max_chars:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch


def parse_timestamp(value: Any) -> datetime | None:
    """ISO-8601 strings (with or without zone; naive means UTC) or POSIX seconds; else None."""
    try:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return datetime.fromtimestamp(float(value), tz=UTC)
        if isinstance(value, str) and value:
            parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
            return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    except (ValueError, OverflowError, OSError):
        return None
    return None


class DocumentBuilder:
    """Turns raw records into document rows: extract, decode, normalise, identify language, check limits."""

    def __init__(self, cfg: IngestConfig):
        from curation.text.extract import HtmlExtractor
        from curation.text.langid import LanguageIdentifier

        self.cfg = cfg
        self.extractor = HtmlExtractor(cfg.extractor, cfg.extraction_timeout_s)
        self.langid = LanguageIdentifier(cfg.lid_model) if cfg.langid else None
        self.max_text_bytes = int(cfg.max_text_mb * MiB)
        self._meta_path: str | None = None
        self._meta_head = ""

    def build_all(self, items: list, split: Split) -> list:
        """Every item of ``items`` in order: a `RawRecord` built (or rejected), anything else as it is. The
        plain texts among them are normalised together (`normalize_texts`), which is faster than one by one."""
        plain = [i for i, item in enumerate(items) if isinstance(item, RawRecord) and _is_plain_text(item)]
        try:
            normalized = dict(zip(plain, normalize_texts([items[i].payload for i in plain]), strict=True))
        except Exception:  # noqa: BLE001 - then each record is normalised in `build`, where an error rejects it alone
            normalized = {}
        return [
            self.build_or_reject(item, split, normalized.get(i)) if isinstance(item, RawRecord) else item
            for i, item in enumerate(items)
        ]

    def build_or_reject(
        self, raw: RawRecord, split: Split, normalized: str | None = None
    ) -> dict[str, Any] | RecordRejected:
        """`build`, with any unexpected error turned into a reject of this record alone."""
        try:
            return self.build(raw, split, normalized)
        except Exception as exc:  # noqa: BLE001 - one record must never stop the job; the reason says why
            detail = f"{type(exc).__name__}: {exc}".replace("\n", " ")[:300]
            return RecordRejected(raw.locator, "processing_failed", detail, sample_of(raw.payload))

    def build(self, raw: RawRecord, split: Split, normalized: str | None = None) -> dict[str, Any] | RecordRejected:
        """One document row, or the record's reject. ``normalized``: the text of a plain-text record already
        normalised (`build_all`)."""
        from curation.text.extract import ExtractionTimeout, HtmlTooDeep, html_to_str

        meta = dict(raw.meta)
        invalid = meta.pop("invalid_utf8_sequences", 0)
        if raw.is_html:
            html = html_to_str(raw.payload, raw.charset) if isinstance(raw.payload, bytes) else raw.payload
            try:
                text = self.extractor.extract(html)
            except ExtractionTimeout as exc:
                return RecordRejected(raw.locator, "extraction_timeout", f"{exc} ({raw.url})", sample_of(html))
            except HtmlTooDeep as exc:
                return RecordRejected(raw.locator, "html_too_deep", f"{exc} ({raw.url})", sample_of(html))
            except Exception as exc:  # noqa: BLE001 - any extractor failure rejects only this record
                return RecordRejected(raw.locator, "extraction_failed", f"{type(exc).__name__}: {exc}", sample_of(html))
            if not text.strip():
                return RecordRejected(raw.locator, "no_main_text", f"no main text found ({raw.url})", sample_of(html))
            meta["extractor"] = self.extractor.name
        elif isinstance(raw.payload, bytes):
            text, invalid = decode_bytes(raw.payload, raw.charset)
        else:
            text = raw.payload
        if invalid and invalid > self.cfg.max_invalid_utf8 * max(1, len(text)):
            return RecordRejected(
                raw.locator,
                "invalid_utf8",
                f"{invalid} undecodable byte sequences in {len(text)} characters",
                sample_of(text),
            )
        if invalid:
            meta["invalid_utf8_sequences"] = invalid
        text = normalize_text(text) if normalized is None else normalized
        if not text:
            return RecordRejected(raw.locator, "empty_text", "no text after normalisation", sample_of(raw.payload))
        n_bytes = len(text.encode("utf-8"))
        if n_bytes > self.max_text_bytes:
            return RecordRejected(
                raw.locator,
                "too_large",
                f"text is {n_bytes} bytes, over --max-text-mb {self.cfg.max_text_mb:g}",
                sample_of(text),
            )
        lang, lang_score = self.langid.predict(text) if self.langid else (None, None)
        if meta:
            meta["input"] = split.path
            meta["locator"] = raw.locator
            meta_json = _META_JSON.encode(meta)
        else:  # most records: the same bytes as encoding {"input": ..., "locator": ...}, the path's part made once
            meta_json = self._meta_prefix(split.path) + _META_JSON.encode(raw.locator) + "}"
        # Strings from the input may hold lone surrogates (JSON escapes, file names): Arrow needs valid UTF-8.
        return {
            "id": valid_unicode(raw.source_id) or content_id(raw.url, text),
            "text": text,
            "url": valid_unicode(raw.url),
            "source": valid_unicode(split.source),
            "timestamp": parse_timestamp(raw.timestamp),
            "lang": lang,
            "lang_score": lang_score,
            "n_bytes": n_bytes,
            "meta": valid_unicode(meta_json),
        }

    def _meta_prefix(self, path: str) -> str:
        if self._meta_path != path:
            self._meta_path = path
            self._meta_head = '{"input": ' + _META_JSON.encode(path) + ', "locator": '
        return self._meta_head


class _RowWriter:
    """Rows to one Parquet file, committed by rename on close; no file when no row came.

    With ``shard_column``, every row group holds rows of one shard only (its min/max statistics say
    which), so the shard stage reads exactly its own row groups from every split. Rows are buffered
    up to ``row_group_rows`` in all, so memory stays bounded whatever the split size.
    """

    def __init__(
        self, path: Path, schema, row_group_rows: int, shard_column: str | None = None, compression: str = "zstd"
    ):
        self.path, self.schema, self.row_group_rows, self.shard_column = path, schema, row_group_rows, shard_column
        self.compression = compression
        self.pending: dict[int, list[dict[str, Any]]] = {}
        self.pending_rows = 0
        self.rows = 0
        self._writer = None
        self._tmp: Path | None = None

    def add(self, row: dict[str, Any]) -> None:
        self.pending.setdefault(row[self.shard_column] if self.shard_column else 0, []).append(row)
        self.pending_rows += 1
        self.rows += 1
        if self.pending_rows >= self.row_group_rows:
            self._flush()

    def _flush(self) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        from curation.corpus import temporary_path

        if self._writer is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._tmp = temporary_path(self.path)
            self._writer = pq.ParquetWriter(self._tmp, self.schema, compression=self.compression)
        for key in sorted(self.pending):
            rows = self.pending[key]
            self._writer.write_table(pa.Table.from_pylist(rows, schema=self.schema), row_group_size=len(rows))
        self.pending, self.pending_rows = {}, 0

    def close(self) -> None:
        from curation.corpus import commit

        if self.pending_rows:
            self._flush()
        if self._writer is not None:
            self._writer.close()
            commit(self._tmp, self.path)


def split_cache_compression(work: Destination) -> str:
    """The codec of the cached splits' documents, which the shard stage reads once and which are deleted at the
    end (their rejects are copied to ``rejects/`` as they are: zstd, always). On a
    local disk none: zstd took as long to write and read back (about 0.2 s per 10,000 C4 documents) as a
    tenth of the split's whole processing, for files nobody keeps. On an object store zstd: every byte is
    uploaded and fetched again. The shards are written from the rows, so their bytes do not depend on it."""
    return "zstd" if work.remote else "none"


def process_split(split: Split, cfg: IngestConfig, work: Destination) -> dict[str, Any]:
    """Read, convert and cache one split in ``work``; return its counts (from the cache if already done)."""
    import pyarrow as pa

    from curation.schema import DOCUMENT_SCHEMA, REJECT_SCHEMA

    paths = split_paths(split)
    cached = work.read_bytes(paths["stats"])
    if cached is not None:
        return json.loads(cached)
    started = time.perf_counter()
    builder = DocumentBuilder(cfg)
    split_schema = DOCUMENT_SCHEMA.append(pa.field(SHARD_COLUMN, pa.int32())).append(pa.field(ORDER_COLUMN, pa.int64()))
    codec = split_cache_compression(work)
    docs = _RowWriter(work.staging_path(paths["docs"]), split_schema, cfg.row_group_rows, SHARD_COLUMN, codec)
    rejects = _RowWriter(work.staging_path(paths["rejects"]), REJECT_SCHEMA, cfg.row_group_rows)  # copied to rejects/
    rejected: Counter[str] = Counter()
    input_errors: Counter[str] = Counter()
    examples: dict[str, list[str]] = {}  # reason -> [locator, detail] of its first occurrence
    records_read = bytes_out = 0
    records = read_split(split, cfg.fields, int(cfg.max_record_mb * MiB), int(cfg.max_html_mb * MiB))
    built = (item for batch in batches(records, BATCH_RECORDS, BATCH_CHARS) for item in builder.build_all(batch, split))
    for item in built:
        if not isinstance(item, InputFailed):
            records_read += 1
        if isinstance(item, (InputFailed, RecordRejected)):
            (input_errors if isinstance(item, InputFailed) else rejected)[item.reason] += 1
            examples.setdefault(item.reason, [item.locator, item.detail])
            row = {
                "source_file": valid_unicode(split.path),
                "locator": valid_unicode(item.locator),
                "reason": item.reason,
                "detail": valid_unicode(item.detail),
            }
            rejects.add({**row, "sample": getattr(item, "sample", "")})
            continue
        result = item
        result[SHARD_COLUMN] = shard_of(result["id"], cfg.shards)
        result[ORDER_COLUMN] = (split.index << 32) | docs.rows
        bytes_out += result["n_bytes"]
        docs.add(result)
    for name, writer in (("docs", docs), ("rejects", rejects)):
        writer.close()
        if writer.rows:
            work.publish(paths[name])
    stats = {
        "split": split.key,
        "path": split.path,
        "records_read": records_read,
        "documents": docs.rows,
        "rejected": dict(sorted(rejected.items())),
        "input_errors": dict(sorted(input_errors.items())),
        "examples": examples,
        "bytes_out": bytes_out,
        "seconds": round(time.perf_counter() - started, 3),
    }
    if records_read != docs.rows + sum(rejected.values()):
        from curation.errors import AccountingError

        raise AccountingError(
            f"split {split.key} of {split.path}: {records_read} read != {docs.rows} kept + {sum(rejected.values())} rejected"
        )
    work.write_json(paths["stats"], stats)  # last: a split with stats is complete
    return stats
