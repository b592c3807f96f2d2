"""Opening inputs: compression by magic bytes, gzip layout, decompressed streams."""

from __future__ import annotations

import io
import zlib

GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
PARQUET_MAGIC = b"PAR1"

# How much compressed data to inspect when deciding if a gzip file is one member per record.
_LAYOUT_PROBE_BYTES = 8 << 20


def compression_of(path: str) -> str:
    with open(path, "rb") as fh:
        head = fh.read(4)
    if head.startswith(GZIP_MAGIC):
        return "gzip"
    if head == ZSTD_MAGIC:
        return "zstd"
    return "none"


def gzip_has_many_members(path: str) -> bool:
    """True when the first gzip member ends before the file does (one member per record, seekable).

    A WARC compressed as ONE gzip stream (as some WET excerpts are) returns False: warcio cannot
    iterate it record by record, so it is read through a plain decompressing stream instead.
    """
    decomp = zlib.decompressobj(wbits=31)
    consumed = 0
    with open(path, "rb") as fh:
        while consumed < _LAYOUT_PROBE_BYTES:
            chunk = fh.read(1 << 16)
            if not chunk:
                return False
            consumed += len(chunk)
            try:
                decomp.decompress(chunk, 1 << 16)
                while decomp.unconsumed_tail and not decomp.eof:
                    decomp.decompress(decomp.unconsumed_tail, 1 << 16)
            except zlib.error:
                return False
            if decomp.eof:
                return bool(decomp.unused_data) or bool(fh.read(1))
    return False


def open_decompressed(path: str, compression: str) -> io.BufferedIOBase:
    """A binary stream of the decompressed content; a cut stream raises EOFError/ZstdError on read."""
    if compression == "gzip":
        import gzip

        return gzip.open(path, "rb")
    if compression == "zstd":
        import zstandard

        raw = open(path, "rb")
        reader = zstandard.ZstdDecompressor().stream_reader(raw, read_across_frames=True, closefd=True)
        return io.BufferedReader(reader, buffer_size=1 << 20)
    return open(path, "rb")


def decompressed_head(path: str, compression: str, n: int = 64) -> bytes:
    try:
        with open_decompressed(path, compression) as fh:
            return fh.read(n)
    except Exception:  # noqa: BLE001 - a broken file is classified later, by its reader
        return b""


def gzip_member_start_after(path: str, target: int, window: int = 1 << 20) -> int | None:
    """Offset of the first gzip member at or after `target` whose content starts like a WARC record.

    Finds a split boundary of a one-member-per-record WARC without decompressing the file: look for
    the gzip magic, then confirm by decompressing the start of that member. None past the last one.
    """
    with open(path, "rb") as fh:
        position = target
        while True:
            fh.seek(position)
            chunk = fh.read(window + 2)
            if len(chunk) < 3:
                return None
            found = chunk.find(b"\x1f\x8b\x08")
            while found != -1 and found < window:
                fh.seek(position + found)
                try:
                    head = zlib.decompressobj(wbits=31).decompress(fh.read(1 << 16), 16)
                except zlib.error:
                    head = b""
                if head.startswith(b"WARC/"):
                    return position + found
                found = chunk.find(b"\x1f\x8b\x08", found + 1)
            position += window
