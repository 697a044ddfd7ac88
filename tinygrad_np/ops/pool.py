"""Max and average pooling over (N, C, H, W) images, with PyTorch's semantics and options.

Max pooling stores the offset of each window's first maximum (row-major) in forward; its backward
scatters through those offsets, and that scatter's backward gathers through them again, so both
pools are twice differentiable. The kernels are `kernels.pool`'s; `kernels.reference` states the
same arithmetic in a few lines each.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd.function import Function
from ..errors import ShapeError
from ..kernels.geometry import Geometry
from ..kernels.pool import (avg_pool2d_forward, avg_pool2d_scatter, max_pool2d_forward, max_pool2d_gather,
                            max_pool2d_scatter)
from ..tensor import Tensor
from .windows import IntPair, check_window_args, make_geometry, pair

__all__ = ["avg_pool2d", "max_pool2d"]


class MaxPool2d(Function):
    """max_pool2d; saves the offset of each window's maximum. Backward: MaxPool2dScatter."""

    @staticmethod
    def forward(ctx, x, geom):
        ctx.geom, ctx.in_shape = geom, x.shape
        out, index = max_pool2d_forward(x, geom)
        ctx.save_for_backward(index)
        return out

    @staticmethod
    def backward(ctx, grad):
        (index,) = ctx.saved_tensors
        return MaxPool2dScatter.apply(grad, index=index.data, geom=ctx.geom, shape=ctx.in_shape)


class MaxPool2dScatter(Function):
    """Route window gradients to the stored maxima. Backward: MaxPool2dGather (same offsets)."""

    @staticmethod
    def forward(ctx, grad, index, geom, shape):
        ctx.index, ctx.geom = index, geom
        return max_pool2d_scatter(grad, index, geom, shape)

    @staticmethod
    def backward(ctx, grad):
        return MaxPool2dGather.apply(grad, index=ctx.index, geom=ctx.geom)


class MaxPool2dGather(Function):
    """Read each window at its stored offset. Backward: MaxPool2dScatter (same offsets)."""

    @staticmethod
    def forward(ctx, x, index, geom):
        ctx.index, ctx.geom, ctx.in_shape = index, geom, x.shape
        return max_pool2d_gather(x, index, geom)

    @staticmethod
    def backward(ctx, grad):
        return MaxPool2dScatter.apply(grad, index=ctx.index, geom=ctx.geom, shape=ctx.in_shape)


class AvgPool2d(Function):
    """avg_pool2d. Backward: AvgPool2dScatter."""

    @staticmethod
    def forward(ctx, x, geom):
        ctx.geom, ctx.in_shape = geom, x.shape
        return avg_pool2d_forward(x, geom)

    @staticmethod
    def backward(ctx, grad):
        return AvgPool2dScatter.apply(grad, geom=ctx.geom, shape=ctx.in_shape)


class AvgPool2dScatter(Function):
    """Spread window gradients evenly over the windows. Backward: AvgPool2d (its adjoint)."""

    @staticmethod
    def forward(ctx, grad, geom, shape):
        ctx.geom = geom
        return avg_pool2d_scatter(grad, geom, shape)

    @staticmethod
    def backward(ctx, grad):
        return AvgPool2d.apply(grad, geom=ctx.geom)


# -- public API ------------------------------------------------------------------------------------
def _pool_geometry(op: str, x: Any, kernel_size: IntPair, stride: IntPair | None, padding: IntPair,
                   dilation: IntPair = 1, ceil_mode: bool = False) -> Geometry:
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: input must be a Tensor, got {type(x).__name__}")
    if x.dtype.kind != "f":
        raise TypeError(f"{op}: input must be floating point, got dtype {x.dtype} (shape {x.shape})")
    if x.ndim != 4:
        raise ShapeError(f"{op}: expected a 4-D input (N, C, H, W), got shape {x.shape}")
    kernel = pair(kernel_size, "kernel_size", op)
    default = stride is None or (isinstance(stride, (tuple, list)) and not stride)  # PyTorch: None or []
    stride_ = kernel if default else pair(stride, "stride", op)
    ph, pw = pair(padding, "padding", op)
    dilation_ = pair(dilation, "dilation", op)
    check_window_args(op, kernel, stride_, (ph, ph, pw, pw), dilation_)
    if ph > kernel[0] // 2 or pw > kernel[1] // 2:
        raise ShapeError(f"{op}: padding {(ph, pw)} must be at most half of kernel_size {kernel} "
                         f"(input shape {x.shape})")
    extra = _ceil_extra(x.shape[2:], kernel, stride_, (ph, pw), dilation_) if ceil_mode else (0, 0)
    return make_geometry(op, x.shape, kernel, stride_, (ph, ph + extra[0], pw, pw + extra[1]), dilation_)


def _ceil_extra(size: tuple[int, ...], kernel: tuple[int, int], stride: tuple[int, int], padding: tuple[int, int],
                dilation: tuple[int, int]) -> tuple[int, int]:
    """ceil_mode's extra bottom/right padding: room for one more window where the last one would be
    cut off, as long as it starts inside the image or the top/left padding (PyTorch's rule)."""
    extra = []
    for n, k, s, p, d in zip(size, kernel, stride, padding, dilation):
        span = d * (k - 1) + 1
        if n + 2 * p < span:  # too small for any window: make_geometry says so
            extra.append(0)
            continue
        out = -(-(n + 2 * p - span) // s) + 1
        if (out - 1) * s >= n + p:
            out -= 1
        extra.append(max(0, (out - 1) * s + span - (n + 2 * p)))
    return extra[0], extra[1]


def _flat_indices(index: np.ndarray, geom: Geometry) -> np.ndarray:
    """Window offsets (row-major within each window) as positions in the flattened (H * W) input."""
    (kh, kw), (sh, sw), (dh, dw), (oh, ow) = geom.kernel, geom.stride, geom.dilation, geom.out
    top, _, left, _ = geom.padding
    k = index.astype(np.int64)
    rows = np.arange(oh)[:, None] * sh - top + (k // kw) * dh
    cols = np.arange(ow)[None, :] * sw - left + (k % kw) * dw
    return rows * geom.size[1] + cols


def max_pool2d(x: Tensor, kernel_size: IntPair, stride: IntPair | None = None, padding: IntPair = 0,
               dilation: IntPair = 1, ceil_mode: bool = False, return_indices: bool = False) -> Any:
    """Max over each window of (N, C, H, W) (stride defaults to kernel_size; padding is -inf; dilation
    spaces the window's elements; ceil_mode rounds the output size up).

    The gradient of a window goes to its first maximum in row-major order, as in PyTorch. With
    return_indices also returns each maximum's position in the flattened (H * W) input (for max_unpool2d).
    """
    geom = _pool_geometry("max_pool2d", x, kernel_size, stride, padding, dilation, ceil_mode)
    out = MaxPool2d.apply(x, geom=geom)
    if not return_indices:
        return out
    _, index = max_pool2d_forward(x.data, geom)  # the offsets once more, outside the graph (rarely asked for)
    return out, Tensor(_flat_indices(index, geom))


def _avg_divisors(geom: Geometry, count_include_pad: bool) -> np.ndarray:
    """PyTorch's divisor of each window: its size clipped to the padded image (padding counted), or
    only the input elements in it when not count_include_pad."""
    def spans(n: int, k: int, s: int, p: int, out: int, include: bool) -> np.ndarray:
        start = np.arange(out) * s - p
        end = np.minimum(start + k, n + p)
        if not include:
            start, end = np.maximum(start, 0), np.minimum(end, n)
        return end - start
    (kh, kw), (sh, sw), (oh, ow) = geom.kernel, geom.stride, geom.out
    top, _, left, _ = geom.padding
    rows = spans(geom.size[0], kh, sh, top, oh, count_include_pad)
    cols = spans(geom.size[1], kw, sw, left, ow, count_include_pad)
    return np.outer(rows, cols)


def avg_pool2d(x: Tensor, kernel_size: IntPair, stride: IntPair | None = None, padding: IntPair = 0,
               ceil_mode: bool = False, count_include_pad: bool = True, divisor_override: int | None = None) -> Tensor:
    """Mean over each window of (N, C, H, W) (stride defaults to kernel_size). As PyTorch, zero padding
    counts in the mean if count_include_pad (the default), the extra windows of ceil_mode count only
    what they cover, and divisor_override replaces every window's divisor."""
    op = "avg_pool2d"
    geom = _pool_geometry(op, x, kernel_size, stride, padding, 1, ceil_mode)
    out = AvgPool2d.apply(x, geom=geom)  # the window sums / (KH * KW)
    window = geom.kernel[0] * geom.kernel[1]
    if divisor_override is not None:
        if isinstance(divisor_override, bool) or not isinstance(divisor_override, (int, np.integer)) \
                or divisor_override == 0:
            raise ValueError(f"{op}: divisor_override must be a non-zero int, got {divisor_override!r}")
        divisors = np.full(geom.out, divisor_override)
    else:
        divisors = _avg_divisors(geom, count_include_pad)
    if (divisors == window).all():
        return out
    return out * Tensor._make((window / divisors).astype(x.dtype), None)
