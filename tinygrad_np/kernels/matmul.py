"""Matrix products split over the intra-op threads (the reference is np.matmul itself)."""
from __future__ import annotations

import numpy as np

from .threads import over_batch, sum_over_batch

__all__ = ["matmul_on_threads"]


def matmul_on_threads(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """np.matmul; a product of two matrices is split over the intra-op threads along its longest
    dimension: rows of a, columns of b, or the inner one (partial products, then their sum)."""
    if a.ndim != 2 or b.ndim != 2:
        return np.matmul(a, b)
    (m, k), n = a.shape, b.shape[1]
    work = a.nbytes + b.nbytes + m * n * a.itemsize
    if k > max(m, n):
        return sum_over_batch(lambda i: np.matmul(a[:, i], b[i]), k, work)
    out = np.empty((m, n), dtype=np.result_type(a, b))
    if m >= n:
        over_batch(lambda i: np.matmul(a[i], b, out=out[i]), m, work)
    else:
        over_batch(lambda j: np.matmul(a, b[:, j], out=out[:, j]), n, work)
    return out
