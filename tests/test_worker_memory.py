"""What keeps a long-lived worker's memory bounded: streaming Parquet reads and trimming glibc's heap.

How much memory they save is measured by benchmarks/scoring_memory.py; these check that they work.
"""

from __future__ import annotations

import platform

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from curation.malloc_trim import trim_heap
from curation.parquet_stream import open_parquet_stream


def test_streaming_reader_returns_every_row_of_every_row_group(tmp_path):
    path = tmp_path / "shard.parquet"
    table = pa.table({"id": [f"d{i}" for i in range(1000)], "text": ["x" * (i % 97) for i in range(1000)]})
    pq.write_table(table, path, row_group_size=128, compression="zstd")
    reader = open_parquet_stream(path)
    assert reader.metadata.num_row_groups == 8
    batches = list(reader.iter_batches(batch_size=100, columns=["id", "text"]))
    assert pa.Table.from_batches(batches).equals(table)
    assert open_parquet_stream(path).read_row_group(3).equals(table.slice(384, 128))


@pytest.mark.skipif(platform.system() != "Linux" or platform.libc_ver()[0] != "glibc", reason="glibc only")
def test_heap_is_trimmed_on_glibc():
    assert trim_heap() is True
    assert trim_heap() is True  # again: the C function is looked up once and kept
