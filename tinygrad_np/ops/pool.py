"""Max and average pooling over (N, C, H, W) images, with PyTorch's semantics and options.

Every op is a short loop over the KH*KW kernel offsets, each step one vectorised NumPy call on a
strided view of all windows at once. Max pooling stores the offset of each window's first maximum
(row-major) in forward; its backward scatters through those offsets, and that scatter's backward
gathers through them again, so both pools are twice differentiable.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd.function import Function
from ..errors import ShapeError
from ..kernels.layout import empty_nchw, is_channels_last
from ..kernels.threads import over_batch
from ..tensor import Tensor
from .im2col import Geometry, IntPair, check_window_args, crop, make_geometry, pad, pair

__all__ = ["avg_pool2d", "max_pool2d"]


# -- views of all windows, one per kernel offset ---------------------------------------------------
def _offset_views(xp: np.ndarray, geom: Geometry) -> list[np.ndarray]:
    """For each kernel offset (row-major), the (N, C, OH, OW) view of the padded image it reads."""
    if geom.tiles() and xp.flags.c_contiguous:
        # non-overlapping windows that cover the image: offset (i, j) is [:, :, :, i, :, j] of a reshape
        (kh, kw), (oh, ow) = geom.kernel, geom.out
        blocks = xp.reshape(xp.shape[:2] + (oh, kh, ow, kw))
        return [blocks[:, :, :, i, :, j] for i in range(kh) for j in range(kw)]
    return [xp[:, :, rows, cols] for _, (rows, cols) in geom.offsets()]


def _scatter_targets(n: int, c: int, geom: Geometry, dtype: np.dtype,
                     channels_last: bool = False) -> tuple[np.ndarray, list[np.ndarray], bool]:
    """A padded canvas for a backward scatter (stored channels last if asked, like the gradient),
    the view of it under each kernel offset, and whether windows overlap (then the scatter must
    accumulate). The canvas is zeros where no window writes."""
    tiles = geom.tiles()  # every element lies in exactly one window: no zero-fill needed
    canvas = empty_nchw((n, c) + geom.padded, dtype, channels_last, zeros=not tiles)
    overlap = not tiles and any(s < d * (k - 1) + 1 for s, k, d in zip(geom.stride, geom.kernel, geom.dilation))
    return canvas, [canvas[:, :, rows, cols] for _, (rows, cols) in geom.offsets()], overlap


def _index_dtype(geom: Geometry) -> np.dtype:
    return np.dtype(np.uint8 if geom.kernel[0] * geom.kernel[1] <= 256 else np.intp)


# -- NumPy kernels ---------------------------------------------------------------------------------
def max_pool_forward(x: np.ndarray, geom: Geometry) -> tuple[np.ndarray, np.ndarray]:
    """The max of every window and the row-major offset of its first maximum (ties go to the first;
    a window holding NaN has the max NaN and the offset of its last NaN, as PyTorch), both laid out
    as x is (channels last or not)."""
    channels_last = is_channels_last(x)
    out = empty_nchw(x.shape[:2] + geom.out, x.dtype, channels_last)
    index = empty_nchw(out.shape, _index_dtype(geom), channels_last)
    over_batch(lambda b: _max_pool_into(x[b], geom, out[b], index[b]), len(x), x.nbytes)
    return out, index


def _max_pool_into(x: np.ndarray, geom: Geometry, out: np.ndarray, index: np.ndarray) -> None:
    views = _offset_views(pad(x, geom, -np.inf), geom)
    if len(views) == 1:
        np.copyto(out, views[0])
        index[...] = 0
        return
    np.maximum(views[0], views[1], out=out)
    for view in views[2:]:
        np.maximum(out, view, out=out)
    # offset of the first maximum = how many leading offsets are *not* the maximum
    searching = views[0] != out
    np.copyto(index, searching)
    differs = np.empty_like(searching)
    for view in views[1:-1]:
        np.not_equal(view, out, out=differs)
        searching &= differs
        index += searching
    if out.dtype.kind == "f" and np.isnan(out).any():
        # a NaN never equals the NaN maximum it caused: point such windows at their NaN instead
        # (the last one, as PyTorch), so the gradient goes to the element that made the result
        for k, view in enumerate(views):
            np.copyto(index, k, where=np.isnan(view))


def _select(grad: np.ndarray, chosen: np.ndarray, exact: bool, out: np.ndarray | None = None) -> np.ndarray:
    """grad where `chosen`, else 0: a multiply, or if `exact` a select (0 * inf would be NaN)."""
    if not exact:
        return np.multiply(grad, chosen, out=out)
    picked = np.where(chosen, grad, np.zeros((), dtype=grad.dtype))
    if out is None:
        return picked
    out[...] = picked
    return out


def max_pool_scatter(grad: np.ndarray, index: np.ndarray, geom: Geometry, shape: tuple[int, ...]) -> np.ndarray:
    """Max pooling's backward: each window's gradient goes to its stored maximum, summed where
    windows overlap; (N, C, OH, OW) -> `shape`."""
    canvas, targets, overlap = _scatter_targets(shape[0], shape[1], geom, grad.dtype, is_channels_last(grad))

    def scatter(b: slice) -> None:
        # a finite sum means no inf or NaN: then multiplying by the 0/1 choice is exact (and fast)
        exact = not np.isfinite(np.add.reduce(grad[b], axis=None))
        chosen = np.empty_like(index[b], dtype=bool)
        for k, target in enumerate(targets):
            np.equal(index[b], k, out=chosen)
            if overlap:
                target[b] += _select(grad[b], chosen, exact)
            else:
                _select(grad[b], chosen, exact, out=target[b])
    over_batch(scatter, shape[0], canvas.nbytes)
    return crop(canvas, geom)


def max_pool_gather(x: np.ndarray, index: np.ndarray, geom: Geometry) -> np.ndarray:
    """Each window's element at its stored offset (the adjoint of `max_pool_scatter`)."""
    views = _offset_views(pad(x, geom), geom)
    out = np.empty(index.shape, dtype=x.dtype)
    for k, view in enumerate(views):
        np.copyto(out, view, where=index == k)
    return out


def avg_pool_forward(x: np.ndarray, geom: Geometry) -> np.ndarray:
    """The mean of every window; padding counts as zeros in the mean (count_include_pad=True)."""
    views = _offset_views(pad(x, geom), geom)
    out = views[0].copy() if len(views) == 1 else np.add(views[0], views[1])
    for view in views[2:]:
        out += view
    out *= 1.0 / len(views)
    return out


def avg_pool_scatter(grad: np.ndarray, geom: Geometry, shape: tuple[int, ...]) -> np.ndarray:
    """Average pooling's backward: each window's gradient spread evenly over its elements."""
    share = grad * (1.0 / (geom.kernel[0] * geom.kernel[1]))
    canvas, targets, overlap = _scatter_targets(shape[0], shape[1], geom, grad.dtype)
    for target in targets:
        if overlap:
            target += share
        else:
            target[...] = share
    return crop(canvas, geom)


# -- Functions -------------------------------------------------------------------------------------
class MaxPool2d(Function):
    """max_pool2d; saves the offset of each window's maximum. Backward: MaxPool2dScatter."""

    @staticmethod
    def forward(ctx, x, geom):
        ctx.geom, ctx.in_shape = geom, x.shape
        out, index = max_pool_forward(x, geom)
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
        return max_pool_scatter(grad, index, geom, shape)

    @staticmethod
    def backward(ctx, grad):
        return MaxPool2dGather.apply(grad, index=ctx.index, geom=ctx.geom)


class MaxPool2dGather(Function):
    """Read each window at its stored offset. Backward: MaxPool2dScatter (same offsets)."""

    @staticmethod
    def forward(ctx, x, index, geom):
        ctx.index, ctx.geom, ctx.in_shape = index, geom, x.shape
        return max_pool_gather(x, index, geom)

    @staticmethod
    def backward(ctx, grad):
        return MaxPool2dScatter.apply(grad, index=ctx.index, geom=ctx.geom, shape=ctx.in_shape)


class AvgPool2d(Function):
    """avg_pool2d. Backward: AvgPool2dScatter."""

    @staticmethod
    def forward(ctx, x, geom):
        ctx.geom, ctx.in_shape = geom, x.shape
        return avg_pool_forward(x, geom)

    @staticmethod
    def backward(ctx, grad):
        return AvgPool2dScatter.apply(grad, geom=ctx.geom, shape=ctx.in_shape)


class AvgPool2dScatter(Function):
    """Spread window gradients evenly over the windows. Backward: AvgPool2d (its adjoint)."""

    @staticmethod
    def forward(ctx, grad, geom, shape):
        ctx.geom = geom
        return avg_pool_scatter(grad, geom, shape)

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
    _, index = max_pool_forward(x.data, geom)  # the offsets once more, outside the graph (rarely asked for)
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
