"""Channels-last arrays in NCHW clothing: an (N, C, H, W)-shaped view of an (N, H, W, C) buffer.

Winograd convolutions compute channels last; handing their result on as such a view (no copy) lets
elementwise ops (which keep their input's memory order), pooling and the next convolution work on
it directly, while every op still sees an (N, C, H, W) array.
"""
from __future__ import annotations

import numpy as np

__all__ = ["channel_sums", "empty_nchw", "is_channels_last"]


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


def channel_sums(x: np.ndarray) -> np.ndarray:
    """The (C,) sums over N, H and W of a channels-last float array (a bias gradient): a row of ones
    times its (N*H*W, C) matrix, one BLAS product, where NumPy's own reduction would add short
    rows of C values one at a time."""
    rows = x.transpose(0, 2, 3, 1).reshape(-1, x.shape[1])  # a view: x's memory is these rows
    return np.ones(len(rows), dtype=x.dtype) @ rows
