"""Channels-last arrays in NCHW clothing: an (N, C, H, W)-shaped view of an (N, H, W, C) buffer.

Winograd convolutions compute channels last; handing their result on as such a view (no copy) lets
elementwise ops (which keep their input's memory order), pooling and the next convolution work on
it directly, while every op still sees an (N, C, H, W) array.
"""
from __future__ import annotations

import numpy as np

from .threads import over_rows

__all__ = ["channel_sums", "empty_nchw", "is_channels_last", "reshape", "to_layout"]

# NumPy 2.1 added reshape(copy=False), which says when a reshape cannot be a view.
_RESHAPE_HAS_COPY = np.lib.NumpyVersion(np.__version__) >= "2.1.0"


def is_channels_last(x: np.ndarray) -> bool:
    """Whether a 4-D array's channels are its fastest-varying axis (an NCHW view of NHWC memory)."""
    return x.ndim == 4 and x.shape[1] > 1 and x.strides[1] == x.itemsize and not x.flags.c_contiguous


def empty_nchw(shape: tuple[int, ...], dtype: np.dtype, channels_last: bool, zeros: bool = False) -> np.ndarray:
    """A new (N, C, H, W) array, stored channels last if asked (zero-filled if `zeros`)."""
    new = np.zeros if zeros else np.empty
    if not channels_last:
        return new(shape, dtype=dtype)
    n, c, h, w = shape
    return new((n, h, w, c), dtype=dtype).transpose(0, 3, 1, 2)


def _copy_over_threads(out: np.ndarray, x: np.ndarray) -> np.ndarray:
    """out[...] = x, the batch split over the threads; returns out."""
    over_rows(lambda r: np.copyto(out[r], x[r]), out)
    return out


def to_layout(x: np.ndarray, channels_last: bool) -> np.ndarray:
    """A copy of x (N, C, H, W) stored channels last or not, the batch split over the threads."""
    return _copy_over_threads(empty_nchw(x.shape, x.dtype, channels_last), x)


def reshape(x: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """x.reshape(shape): a view where one exists, else a copy, split over the threads (flattening
    a channels-last activation, say, reorders all of it)."""
    if x.flags.c_contiguous or x.ndim == 0 or not _RESHAPE_HAS_COPY:
        return x.reshape(shape)
    try:
        return np.reshape(x, shape, copy=False)
    except ValueError:  # NumPy would copy: copy in C order over the threads, then reshape that view
        return _copy_over_threads(np.empty(x.shape, dtype=x.dtype), x).reshape(shape)


def channel_sums(x: np.ndarray) -> np.ndarray:
    """The (C,) sums over N, H and W of a channels-last float array (a bias gradient): a row of ones
    times its (N*H*W, C) matrix, one BLAS product, where NumPy's own reduction would add short
    rows of C values one at a time."""
    rows = x.transpose(0, 2, 3, 1).reshape(-1, x.shape[1])  # a view: x's memory is these rows
    return np.ones(len(rows), dtype=x.dtype) @ rows
