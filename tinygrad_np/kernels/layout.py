"""Channels-last arrays in NCHW clothing: an (N, C, H, W)-shaped view of an (N, H, W, C) buffer.

Winograd convolutions compute channels last; handing their result on as such a view (no copy) lets
elementwise ops (which keep their input's memory order), pooling and the next convolution work on
it directly, while every op still sees an (N, C, H, W) array.
"""
from __future__ import annotations

import numpy as np

__all__ = ["empty_nchw", "is_channels_last"]


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
