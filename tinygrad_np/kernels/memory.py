"""Reuse of freed memory across training steps: a process-wide allocator setting NumPy does not make.

A training step frees and re-allocates the same large arrays every time. By default glibc hands
large freed blocks back to the operating system, so every new activation or gradient lands on
fresh pages that the kernel must fault in and zero-fill (docs/performance.md says how much that
costs a step). `keep_freed_memory()` tells the allocator to keep freed memory
for the next allocation (what PyTorch users get by preloading jemalloc or tcmalloc). The process
then keeps its peak memory instead of returning it, which is what a training run wants.

It is on by default where glibc is the allocator: the first kernel large enough to split over
threads turns it on (importing the package changes nothing). `keep_freed_memory(False)`, before or
after, or TINYGRAD_NP_KEEP_FREED_MEMORY=0 in the environment keeps glibc's own behaviour.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import os
import platform

__all__ = ["keep_freed_memory"]

KEEP_FREED_MEMORY_ENV = "TINYGRAD_NP_KEEP_FREED_MEMORY"

_M_TRIM_THRESHOLD = -1  # glibc's mallopt parameter numbers (malloc.h)
_M_MMAP_THRESHOLD = -3
_KEEP_BYTES = 1 << 30  # blocks up to 1 GiB come from (and go back to) the reusable heap
_GLIBC_INITIAL_BYTES = 128 * 1024  # glibc's initial value of both thresholds
_chosen = False  # whether keep_freed_memory was called, by the user or by default


def keep_freed_memory(enabled: bool = True) -> bool:
    """Keep freed memory in the process for reuse (True) or let glibc return it to the OS again
    (False, glibc's initial thresholds). Returns whether the setting took effect: it needs glibc
    (Linux); elsewhere nothing changes and it returns False."""
    global _chosen
    _chosen = True
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    path = ctypes.util.find_library("c")
    if path is None:
        return False
    mallopt = ctypes.CDLL(path).mallopt
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    size = _KEEP_BYTES if enabled else _GLIBC_INITIAL_BYTES
    # mallopt returns 1 on success
    return bool(mallopt(_M_MMAP_THRESHOLD, size)) and bool(mallopt(_M_TRIM_THRESHOLD, 2 * size))


def keep_freed_memory_by_default() -> None:
    """Turn `keep_freed_memory` on, unless it was called already or the environment says
    TINYGRAD_NP_KEEP_FREED_MEMORY=0 (then glibc keeps its own behaviour)."""
    global _chosen
    if _chosen:
        return
    _chosen = True
    if os.environ.get(KEEP_FREED_MEMORY_ENV, "1").strip().lower() not in ("0", "false", "no", "off"):
        keep_freed_memory()
