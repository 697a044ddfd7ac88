"""Max and average pooling kernels, fast: each a short loop over the KH*KW kernel offsets, one
vectorised NumPy call per offset on a strided view of all windows at once.

`reference.max_pool2d_forward` and friends state the same in a few lines. These add the speed:
non-overlapping windows read through a reshape, scatter targets that need no zero-fill where the
windows tile the image, a 0/1 multiply where the gradient is finite (a select otherwise), output in
the input's memory order (channels last stays channels last) and the batch split over the threads.
"""
from __future__ import annotations

import numpy as np

from .geometry import Geometry
from .im2col import crop, pad
from .layout import empty_nchw, is_channels_last, to_layout
from .threads import over_batch

__all__ = ["avg_pool2d_forward", "avg_pool2d_scatter", "max_pool2d_forward", "max_pool2d_gather",
           "max_pool2d_scatter"]


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


# -- the kernels ---------------------------------------------------------------------------------
def max_pool2d_forward(x: np.ndarray, geom: Geometry) -> tuple[np.ndarray, np.ndarray]:
    """The max of every window and the row-major offset of its first maximum (ties go to the first;
    a window holding NaN has the max NaN and the offset of its last NaN, as PyTorch), both laid out
    as x is (channels last or not)."""
    channels_last = is_channels_last(x)
    out = empty_nchw(x.shape[:2] + geom.out, x.dtype, channels_last)
    index = empty_nchw(out.shape, _index_dtype(geom), channels_last)
    over_batch(lambda b: _max_pool_into(x[b], geom, out[b], index[b]), len(x), x.nbytes)
    return out, index


def _max_pool_into(x: np.ndarray, geom: Geometry, out: np.ndarray, index: np.ndarray) -> None:
    views = _offset_views(pad(x, geom, -np.inf, is_channels_last(x)), geom)
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


def max_pool2d_scatter(grad: np.ndarray, index: np.ndarray, geom: Geometry, shape: tuple[int, ...]) -> np.ndarray:
    """Max pooling's backward: each window's gradient goes to its stored maximum, summed where
    windows overlap; (N, C, OH, OW) -> `shape`, laid out as forward's input was (as `index` is)."""
    channels_last = is_channels_last(index)
    if channels_last != is_channels_last(grad):  # one copy, so that every pass below runs in memory order
        grad = to_layout(grad, channels_last)
    canvas, targets, overlap = _scatter_targets(shape[0], shape[1], geom, grad.dtype, channels_last)

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


def max_pool2d_gather(x: np.ndarray, index: np.ndarray, geom: Geometry) -> np.ndarray:
    """Each window's element at its stored offset (the adjoint of `max_pool2d_scatter`)."""
    views = _offset_views(pad(x, geom, channels_last=is_channels_last(x)), geom)
    out = np.empty(index.shape, dtype=x.dtype)
    for k, view in enumerate(views):
        np.copyto(out, view, where=index == k)
    return out


def avg_pool2d_forward(x: np.ndarray, geom: Geometry) -> np.ndarray:
    """The mean of every window; padding counts as zeros in the mean (count_include_pad=True)."""
    views = _offset_views(pad(x, geom, channels_last=is_channels_last(x)), geom)
    out = views[0].copy() if len(views) == 1 else np.add(views[0], views[1])
    for view in views[2:]:
        out += view
    out *= 1.0 / len(views)
    return out


def avg_pool2d_scatter(grad: np.ndarray, geom: Geometry, shape: tuple[int, ...]) -> np.ndarray:
    """Average pooling's backward: each window's gradient spread evenly over its elements."""
    share = grad * (1.0 / (geom.kernel[0] * geom.kernel[1]))
    canvas, targets, overlap = _scatter_targets(shape[0], shape[1], geom, grad.dtype, is_channels_last(grad))
    for target in targets:
        if overlap:
            target += share
        else:
            target[...] = share
    return crop(canvas, geom)

