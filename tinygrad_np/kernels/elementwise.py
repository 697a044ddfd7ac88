"""Elementwise kernels of the CNN hot path, fast: ReLU with its gradient's mask, and the exact select
that routes a gradient (`reference.select`, np.where, states it). Both split their rows over the
intra-op threads.
"""
from __future__ import annotations

import numpy as np

from .reference import select as select_reference
from .threads import over_rows

__all__ = ["relu_with_mask", "select", "select_into"]

_SAME_SIZE_INT = {2: np.int16, 4: np.int32, 8: np.int64}


def select_into(out: np.ndarray, grad: np.ndarray, mask: np.ndarray) -> None:
    """out = grad where the boolean mask, else +0.0, exactly (inf and NaN kept or dropped, never
    multiplied).

    np.where and copyto(where=) are many times slower than a multiply on a random mask, so the mask
    becomes integers of grad's size, -1 (all bits set) for True and 0 for False, ANDed with grad's
    bits: as fast as multiplying by a 0/1 mask, which 0 * inf = NaN rules out.
    """
    int_type = _SAME_SIZE_INT.get(out.itemsize) if out.dtype.kind == "f" else None
    if int_type is None:  # another dtype: the reference
        out[...] = select_reference(grad, mask)
        return
    bits = out.view(int_type)
    np.copyto(bits, mask)  # False, True -> 0, 1 (a plain cast, faster than negating into a wider type)
    np.negative(bits, out=bits)  # -> 0, -1
    np.bitwise_and(bits, grad.view(int_type), out=bits)


def select(grad: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """grad where the boolean mask (of grad's shape), else +0.0: `select_into` over the threads, the
    result in grad's memory order (channels last stays channels last)."""
    out = np.empty_like(grad)
    over_rows(lambda r: select_into(out[r], grad[r], mask[r]), out)
    return out


def relu_with_mask(x: np.ndarray, keep_mask: bool) -> tuple[np.ndarray, np.ndarray | None]:
    """max(x, 0), and if `keep_mask` the mask out > 0 its gradient selects through (else None).

    The mask is made row by row while the output is still in cache; both keep x's memory order, so
    a channels-last x makes one contiguous pass too."""
    out = np.empty_like(x)
    positive = np.empty_like(x, dtype=bool) if keep_mask else None

    def rows(r):
        # against a scalar 0, np.maximum runs a loop that does not vectorise; against an array of
        # zeros it does, which makes filling the output with zeros first about twice as fast
        out[r] = 0
        np.maximum(x[r], out[r], out=out[r])
        if positive is not None:
            np.greater(out[r], 0, out=positive[r])
    over_rows(rows, out)
    return out, positive
