"""Resampling of images: F.interpolate (nearest and (bi/tri)linear) and F.adaptive_avg_pool2d.

Both work one spatial axis at a time, each step a gather along that axis (so the gradient sums back
onto the elements read) and a weighted sum, with PyTorch's index arithmetic.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..errors import ShapeError
from ..functions import where
from ..tensor import Tensor
from ._util import const, require_float_tensor

__all__ = ["interpolate", "adaptive_avg_pool2d"]

_MODE_AXES = {"linear": 1, "bilinear": 2, "trilinear": 3}


def _take(x: Tensor, axis: int, index: np.ndarray) -> Tensor:
    """x indexed along `axis` by an integer array (which may add axes there)."""
    return x[(slice(None),) * axis + (index,)]


def _along(weights: np.ndarray, axis: int, ndim: int, dtype: np.dtype) -> Tensor:
    """A constant that broadcasts along `axis` of an ndim-dimensional tensor."""
    return const(weights.astype(dtype).reshape((-1,) + (1,) * (ndim - 1 - axis)))


# -- interpolate -----------------------------------------------------------------------------------
def _sizes(op: str, shape: tuple[int, ...], size: Any, scale_factor: Any) -> tuple[list[int], list[float | None]]:
    """Output sizes of the spatial axes and the scale factors given (None where sizes were given)."""
    spatial = len(shape) - 2
    if (size is None) == (scale_factor is None):
        raise ValueError(f"{op}: give exactly one of size and scale_factor")
    if size is not None:
        sizes = [size] * spatial if isinstance(size, (int, np.integer)) else list(size)
        if len(sizes) != spatial or not all(isinstance(s, (int, np.integer)) and s > 0 for s in sizes):
            error = ShapeError if all(isinstance(s, (int, np.integer)) for s in sizes) else TypeError
            raise error(f"{op}: size must be a positive int or {spatial} positive ints for input shape "
                        f"{shape}, got {size!r}")
        return [int(s) for s in sizes], [None] * spatial
    scales = [scale_factor] * spatial if isinstance(scale_factor, (int, float)) else list(scale_factor)
    if len(scales) != spatial or not all(isinstance(s, (int, float)) and s > 0 for s in scales):
        raise ValueError(f"{op}: scale_factor must be a positive number or {spatial} of them for input shape "
                         f"{shape}, got {scale_factor!r}")
    sizes = [int(math.floor(n * float(s))) for n, s in zip(shape[2:], scales)]
    if min(sizes) < 1:
        raise ShapeError(f"{op}: scale_factor {scale_factor} makes input shape {shape} empty ({sizes})")
    return sizes, [float(s) for s in scales]


def _scale(n_in: int, n_out: int, scale: float | None, dtype: Any) -> Any:
    """PyTorch's source-per-output step: 1 / scale_factor when given, else n_in / n_out."""
    return dtype(1.0 / scale) if scale is not None else dtype(n_in) / dtype(n_out)


def nearest_index(n_in: int, n_out: int, scale: float | None) -> np.ndarray:
    """Source index of every output position: floor(i * step), computed in float32 as PyTorch."""
    step = _scale(n_in, n_out, scale, np.float32)
    index = np.floor(np.arange(n_out, dtype=np.float32) * step).astype(np.int64)
    return np.minimum(index, n_in - 1)


def linear_weights(n_in: int, n_out: int, scale: float | None, align_corners: bool,
                   dtype: np.dtype) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(i0, i1, w0, w1): each output is w0 * x[i0] + w1 * x[i1], PyTorch's source coordinates."""
    t = dtype.type
    dst = np.arange(n_out, dtype=dtype)
    if align_corners:
        step = t(n_in - 1) / t(n_out - 1) if n_out > 1 else t(0)
        src = dst * step
    else:
        src = np.maximum((dst + t(0.5)) * _scale(n_in, n_out, scale, t) - t(0.5), t(0))
    i0 = src.astype(np.int64)
    i1 = np.minimum(i0 + 1, n_in - 1)
    w1 = np.clip(src - i0, 0, 1).astype(dtype)
    return i0, i1, (1 - w1).astype(dtype), w1


def interpolate(input: Tensor, size: int | Sequence[int] | None = None,
                scale_factor: float | Sequence[float] | None = None, mode: str = "nearest",
                align_corners: bool | None = None, recompute_scale_factor: bool | None = None) -> Tensor:
    """Resize the spatial axes of (N, C, ...) input to `size` or by `scale_factor` (output size
    floor(n * scale_factor)). mode="nearest" copies x[floor(i * n_in / n_out)]; "linear" (3-D input),
    "bilinear" (4-D) and "trilinear" (5-D) interpolate between the two nearest samples, with the
    pixel corners aligned if align_corners (default False), as PyTorch."""
    op = "interpolate"
    require_float_tensor(input, op)
    if mode not in ("nearest",) + tuple(_MODE_AXES):
        raise ValueError(f"{op}: mode must be 'nearest', 'linear', 'bilinear' or 'trilinear', got {mode!r}")
    if input.ndim < 3:
        raise ShapeError(f"{op}: expected an (N, C, ...) input with at least one spatial axis, got shape "
                         f"{input.shape}")
    if mode != "nearest" and input.ndim - 2 != _MODE_AXES[mode]:
        raise ShapeError(f"{op}: mode={mode!r} needs a {_MODE_AXES[mode] + 2}-D input, got shape {input.shape}")
    if mode == "nearest" and align_corners is not None:
        raise ValueError(f"{op}: align_corners only applies to the linear modes, not mode='nearest'")
    if min(input.shape[2:], default=1) == 0:
        raise ShapeError(f"{op}: cannot resize an input with an empty spatial axis (shape {input.shape})")
    sizes, scales = _sizes(op, input.shape, size, scale_factor)
    if recompute_scale_factor:
        scales = [None] * len(scales)
    out = input
    for k, (n_out, scale) in enumerate(zip(sizes, scales)):
        axis, n_in = 2 + k, input.shape[2 + k]
        if mode == "nearest":
            if n_out != n_in:
                out = _take(out, axis, nearest_index(n_in, n_out, scale))
            continue
        i0, i1, w0, w1 = linear_weights(n_in, n_out, scale, bool(align_corners), input.dtype)
        low = _take(out, axis, i0) * _along(w0, axis, input.ndim, input.dtype)
        high = _take(out, axis, i1) * _along(w1, axis, input.ndim, input.dtype)
        reads = w1 != 0  # a weight of 0 reads nothing: selected out, so x[i1] gets 0 there, not 0 * upstream
        out = low + high if reads.all() else low + where(_along(reads, axis, input.ndim, np.dtype(bool)), high, 0.0)
    return out


# -- adaptive average pooling --------------------------------------------------------------------
def adaptive_windows(n_in: int, n_out: int) -> tuple[np.ndarray, np.ndarray]:
    """PyTorch's windows: output i averages [floor(i n_in / n_out), ceil((i + 1) n_in / n_out))."""
    i = np.arange(n_out)
    return (i * n_in) // n_out, -((-(i + 1) * n_in) // n_out)


def _adaptive_mean(x: Tensor, axis: int, n_out: int) -> Tensor:
    """Average windows of one axis: gather every window padded to the longest, select, sum, divide."""
    n_in = x.shape[axis]
    if n_in % n_out == 0:  # equal windows side by side: a reshape and a mean
        k = n_in // n_out
        return x.reshape(x.shape[:axis] + (n_out, k) + x.shape[axis + 1:]).mean(axis=axis + 1)
    start, end = adaptive_windows(n_in, n_out)
    longest = int((end - start).max())
    index = start[:, None] + np.arange(longest)[None, :]  # (n_out, longest)
    inside = index < end[:, None]
    window = _take(x, axis, np.minimum(index, n_in - 1))  # (..., n_out, longest, ...)
    inside = inside.reshape(inside.shape + (1,) * (x.ndim - 1 - axis))
    summed = where(inside, window, 0.0).sum(axis=axis + 1)
    return summed / _along((end - start).astype(np.float64), axis, x.ndim, x.dtype)


def adaptive_avg_pool2d(input: Tensor, output_size: int | Sequence[int | None]) -> Tensor:
    """Average pooling of (N, C, H, W) or (C, H, W) input to a fixed (OH, OW) output: window i of an
    axis covers [floor(i H / OH), ceil((i + 1) H / OH)); a None size keeps that axis."""
    op = "adaptive_avg_pool2d"
    require_float_tensor(input, op)
    if input.ndim not in (3, 4):
        raise ShapeError(f"{op}: expected a 3-D (C, H, W) or 4-D (N, C, H, W) input, got shape {input.shape}")
    sizes = [output_size] * 2 if isinstance(output_size, (int, np.integer)) or output_size is None else list(output_size)
    if len(sizes) != 2 or not all(s is None or (isinstance(s, (int, np.integer)) and s > 0) for s in sizes):
        error = ShapeError if all(s is None or isinstance(s, (int, np.integer)) for s in sizes) else TypeError
        raise error(f"{op}: output_size must be a positive int or a pair of positive ints (or None), got "
                    f"{output_size!r}")
    spatial = input.shape[-2:]
    if min(spatial) == 0:
        raise ShapeError(f"{op}: expected non-empty spatial axes, got input shape {input.shape}")
    out = input
    for k, n_out in enumerate(sizes):
        axis = input.ndim - 2 + k
        if n_out is not None and n_out != spatial[k]:
            out = _adaptive_mean(out, axis, int(n_out))
    return out
