"""Intra-op threads: the large CNN kernels split their batch over a few threads of our own.

NumPy runs every elementwise loop on one core, and only its BLAS uses more. The CNN kernels (conv,
im2col, pooling, ReLU and its gradient, 2-D matrix products, sums over the batch) can instead cut
the batch axis into one contiguous part per thread and run the parts at once: NumPy releases the GIL
inside its loops and matrix products, so the parts run truly in parallel.

Like PyTorch, it is on by default: the first kernel large enough to split starts one thread per
core this process may use, or as many as TINYGRAD_NP_NUM_THREADS (else OMP_NUM_THREADS, as torch
reads it) says. `set_num_threads(n)` chooses the count, as `torch.set_num_threads` does. Importing
the package starts nothing. BLAS's own threads would fight ours for the cores (OpenBLAS's idle
workers spin for a while after each product), so while there is more than one thread NumPy's
BLAS runs on one, in the whole process; `set_num_threads(1)` gives BLAS its threads back. A split
sum (a weight or bias gradient) adds its parts in order, and BLAS may block a smaller product
differently, so the last bits of a result can depend on the thread count, never on timing.
"""
from __future__ import annotations

import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from .memory import keep_freed_memory_by_default

__all__ = ["get_num_threads", "set_num_threads"]

T = TypeVar("T")

# Work below this many bytes stays on one thread: handing a part to a thread costs more than it saves.
MIN_PARALLEL_BYTES = 1 << 20

THREADS_ENV = "TINYGRAD_NP_NUM_THREADS"

_threads: int | None = None  # None until set_num_threads or the first large kernel chooses
_started = False  # whether a large kernel has applied the process defaults
_pool: ThreadPoolExecutor | None = None
_blas_limit: Any = None  # threadpoolctl's limiter while BLAS is held at one thread
_in_part = threading.local()


def get_num_threads() -> int:
    """How many threads tinygrad_np's kernels split their work over (1: no splitting); before the
    first large kernel and any `set_num_threads`, the default that kernel will start."""
    return _threads if _threads is not None else default_num_threads()


def default_num_threads() -> int:
    """TINYGRAD_NP_NUM_THREADS, else the first entry of OMP_NUM_THREADS, else the cores this
    process may run on (its CPU affinity where the OS has one)."""
    for name in (THREADS_ENV, "OMP_NUM_THREADS"):
        text = os.environ.get(name, "").split(",")[0].strip()
        if text:
            if not text.isdigit() or int(text) < 1:
                raise ValueError(f"{name}: expected an int >= 1, got {os.environ[name]!r}")
            return int(text)
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def set_num_threads(n: int) -> None:
    """Split large kernels over `n` threads (n > 1), with NumPy's BLAS held at one thread in the
    process meanwhile; n = 1 runs every kernel on the calling thread and restores BLAS's threads."""
    global _threads, _pool, _blas_limit
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise ValueError(f"set_num_threads: expected an int >= 1, got {n!r}")
    if n == _threads:
        return
    if _pool is not None:
        _pool.shutdown()
        _pool = None
    if n > 1:
        _pool = ThreadPoolExecutor(n - 1, thread_name_prefix="tinygrad_np")
        if _blas_limit is None:
            from threadpoolctl import threadpool_limits

            _blas_limit = threadpool_limits(limits=1, user_api="blas")
    elif _blas_limit is not None:
        _blas_limit.restore_original_limits()
        _blas_limit = None
    _threads = n


def _new_pool_after_fork() -> None:
    """A forked child has none of the parent's threads: give it a pool of its own."""
    global _pool
    if _pool is not None:
        _pool = ThreadPoolExecutor(_threads - 1, thread_name_prefix="tinygrad_np")


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_new_pool_after_fork)


def _start() -> None:
    """The first large kernel: start the default threads (unless a count was set) and keep freed
    memory for reuse (unless that was set), the two defaults a training loop gains most from."""
    global _started
    _started = True
    if _threads is None:
        set_num_threads(default_num_threads())
    keep_freed_memory_by_default()


def batch_parts(n: int, nbytes: int) -> list[slice]:
    """Contiguous slices of range(n), one per thread; a single slice when there is one thread, the
    work (`nbytes` touched in all) is small, or the caller is itself running a part."""
    if nbytes < MIN_PARALLEL_BYTES or getattr(_in_part, "active", False):
        return [slice(0, n)]
    if not _started:
        _start()
    parts = min(_threads, n)
    if parts < 2:
        return [slice(0, n)]
    bounds = [n * i // parts for i in range(parts + 1)]
    return [slice(bounds[i], bounds[i + 1]) for i in range(parts)]


def _run_part(fn: Callable[[slice], T], part: slice) -> T:
    _in_part.active = True
    try:
        return fn(part)
    finally:
        _in_part.active = False


def over_batch(fn: Callable[[slice], T], n: int, nbytes: int) -> list[T]:
    """fn(part) for every batch part of range(n) (see `batch_parts`), all at once, the calling
    thread taking the first; the results in order. A part that raises re-raises here."""
    parts = batch_parts(n, nbytes)
    if len(parts) == 1 or _pool is None:
        return [fn(parts[0])]
    futures = [_pool.submit(_run_part, fn, part) for part in parts[1:]]
    try:
        first = _run_part(fn, parts[0])
    finally:
        rest = [future.result() for future in futures]  # wait for every part, even if one failed
    return [first] + rest


def sum_over_batch(fn: Callable[[slice], Any], n: int, nbytes: int) -> Any:
    """The sum of fn(part) over the batch parts (partial sums or products of a reduction over the
    batch), added in part order; with a single part, fn's own result."""
    parts = over_batch(fn, n, nbytes)
    total = parts[0]
    for part in parts[1:]:
        total += part  # every part's result is a new array: adding in place is safe
    return total


def over_rows(fn: Callable[[Any], None], array: Any, nbytes: int | None = None) -> None:
    """fn(rows) over parts of `array`'s first axis, all at once (`rows` is a slice, or `...` for a
    0-d array); `nbytes` is the work's size (default: the array's)."""
    if array.ndim == 0:
        fn(...)
    else:
        over_batch(fn, array.shape[0], array.nbytes if nbytes is None else nbytes)
