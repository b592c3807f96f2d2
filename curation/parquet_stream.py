"""Reading a Parquet file a batch at a time, in memory bounded by a batch rather than by the file.

pyarrow's ``ParquetFile`` pre-buffers by default: ``iter_batches`` then fetches the column chunks of every row
group it visits through one read cache that keeps each chunk until the file object is dropped
(apache/arrow#39808), so a reader that streams an N-row-group shard ends up holding all of its compressed
bytes. Here pre-buffering is off and column chunks are read through a buffered stream, ``STREAM_BUFFER_BYTES``
at a time: a reader holds its current batch and about a page (``benchmarks/scoring_memory.py`` measures a
scoring worker with and without this).
"""

from __future__ import annotations

from pathlib import Path

STREAM_BUFFER_BYTES = 1 << 20


def open_parquet_stream(path: str | Path):
    """A ``pyarrow.parquet.ParquetFile`` for streaming reads (``iter_batches``, ``read_row_group``)."""
    import pyarrow.parquet as pq

    from curation.storage import is_remote, open_binary

    source = open_binary(str(path)) if is_remote(str(path)) else path
    return pq.ParquetFile(source, pre_buffer=False, buffer_size=STREAM_BUFFER_BYTES)
