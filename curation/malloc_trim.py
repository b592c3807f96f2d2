"""Giving a long-lived worker's freed memory back to the system between batches (glibc's ``malloc_trim``).

A Spark Python worker runs batch after batch, task after task. Each batch allocates arrays of a few MiB
(tokens, windows, Arrow buffers) whose sizes vary with its documents. glibc raises its mmap threshold each
time a large block is freed (up to 32 MiB), so from then on such arrays come from the heap, and freed heap
pages are not returned: the worker's RSS creeps up batch after batch (measured in
``benchmarks/scoring_memory.py``). ``malloc_trim(0)`` after a batch returns every free page of the heap
(3-8 ms a call in a probe on this project's shards). Fixing the mmap threshold instead
(``mallopt(M_MMAP_THRESHOLD)``) also stops the creep, but then every large tensor of a forward pass is a fresh,
zero-filled mapping: in the same probe DataRater scoring took 1.7-1.9× the CPU time. A no-op where the C
library is not glibc (macOS, musl).
"""

from __future__ import annotations

import functools


@functools.cache
def _glibc_malloc_trim():
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        trim = ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):
        return None
    trim.argtypes, trim.restype = [ctypes.c_size_t], ctypes.c_int
    return trim


def trim_heap() -> bool:
    """Return the heap's free pages to the system; False where glibc's ``malloc_trim`` is not available."""
    trim = _glibc_malloc_trim()
    if trim is None:
        return False
    trim(0)
    return True
