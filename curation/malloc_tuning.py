"""Keeping a long-lived worker's heap from creeping: glibc's mmap threshold, fixed.

glibc serves a large allocation (>= 128 KiB by default) with its own ``mmap`` and returns it on free, but each
free of such a block raises the threshold to that block's size (up to 32 MiB): from then on arrays of a few MiB
(tokens, windows, Arrow buffers) come from the heap, where the varying sizes of batch after batch fragment it
and freed memory is not returned. A Python worker that runs task after task then grows batch by batch (measured
in ``benchmarks/scoring_memory.py``). Setting ``M_MMAP_THRESHOLD`` explicitly turns that adjustment off (the
same as the environment variable ``MALLOC_MMAP_THRESHOLD_``), so large blocks keep going back to the system.
A no-op where the C library is not glibc (macOS, musl).
"""

from __future__ import annotations

import functools

M_MMAP_THRESHOLD = -3  # mallopt parameter number, from glibc's <malloc.h>
MMAP_THRESHOLD_BYTES = 128 * 1024  # glibc's default starting value, kept fixed


@functools.cache
def fix_mmap_threshold() -> bool:
    """Fix glibc's mmap threshold in this process (once); False where that is not possible."""
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES) == 1
