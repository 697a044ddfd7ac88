"""Reference kernels: the arithmetic of convolution, pooling, im2col and the gradient select, each in a
few plain NumPy lines. The fast kernels (`conv`, `pool`, `im2col`, `elementwise`) compute the same
and are tested against these; read these for the algorithm.

Every window kernel walks the KH*KW kernel offsets (`Geometry.offsets`): offset (i, j) of every
window reads one strided (OH, OW) slice of the padded image, so a convolution is a sum over offsets
of "that slice times the weight's (C_out, C) matrix at (i, j)", and its gradients add the same
products back where they were read.
"""
from __future__ import annotations

import numpy as np

from .geometry import Geometry

__all__ = ["avg_pool2d_forward", "avg_pool2d_scatter", "col2im", "conv2d_forward", "conv2d_input_grad",
           "conv2d_weight_grad", "im2col", "max_pool2d_forward", "max_pool2d_gather", "max_pool2d_scatter",
           "select"]


def pad(x: np.ndarray, geom: Geometry, value: float = 0.0) -> np.ndarray:
    """The (N, C, H, W) image padded by geom.padding (top, bottom, left, right) with `value`."""
    top, bottom, left, right = geom.padding
    return np.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)), constant_values=value)


def crop(canvas: np.ndarray, geom: Geometry) -> np.ndarray:
    """The (H, W) image inside a padded canvas: `pad` undone."""
    top, _, left, _ = geom.padding
    return canvas[:, :, top:top + geom.size[0], left:left + geom.size[1]]


def window_slices(xp: np.ndarray, geom: Geometry) -> np.ndarray:
    """(KH*KW, N, C, OH, OW): for each kernel offset, what it reads of every window."""
    return np.stack([xp[:, :, rows, cols] for _, (rows, cols) in geom.offsets()])


# -- im2col ----------------------------------------------------------------------------------------
def im2col(x: np.ndarray, geom: Geometry) -> np.ndarray:
    """(N, C, H, W) -> (N, C*KH*KW, OH*OW): column p is the window of output pixel p."""
    (n, c), (kh, kw), (oh, ow) = x.shape[:2], geom.kernel, geom.out
    slices = window_slices(pad(x, geom), geom)  # (KH*KW, N, C, OH, OW)
    return slices.transpose(1, 2, 0, 3, 4).reshape(n, c * kh * kw, oh * ow)


def col2im(cols: np.ndarray, geom: Geometry, channels: int) -> np.ndarray:
    """The adjoint of `im2col`: each column's entries added back where its window read them."""
    n, (kh, kw), (oh, ow) = cols.shape[0], geom.kernel, geom.out
    blocks = cols.reshape(n, channels, kh * kw, oh, ow)
    canvas = np.zeros((n, channels) + geom.padded, dtype=cols.dtype)
    for k, (rows, columns) in geom.offsets():
        canvas[:, :, rows, columns] += blocks[:, :, k]
    return crop(canvas, geom)


# -- convolution -----------------------------------------------------------------------------------
# Groups split the channels: input (N, G, C/G, ...) meets weight (G, C_out/G, C/G, KH, KW).
def conv2d_forward(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None, geom: Geometry,
                   groups: int) -> np.ndarray:
    """(N, C, H, W) * (C_out, C/G, KH, KW) (+ bias (C_out,)) -> (N, C_out, OH, OW)."""
    n, (c_out, cg, kh, kw) = x.shape[0], weight.shape
    xp = pad(x, geom).reshape((n, groups, cg) + geom.padded)
    w = weight.reshape(groups, c_out // groups, cg, kh, kw)
    out = np.zeros((n, groups, c_out // groups) + geom.out, dtype=x.dtype)
    for k, (rows, cols) in geom.offsets():
        out += np.einsum("ngchw,goc->ngohw", xp[..., rows, cols], w[..., k // kw, k % kw])
    out = out.reshape((n, c_out) + geom.out)
    return out if bias is None else out + bias[:, None, None]


def conv2d_input_grad(grad: np.ndarray, weight: np.ndarray, geom: Geometry, groups: int) -> np.ndarray:
    """The gradient w.r.t. the input (the transposed convolution): (N, C_out, OH, OW) -> (N, C, H, W)."""
    n, (c_out, cg, kh, kw) = grad.shape[0], weight.shape
    g = grad.reshape((n, groups, c_out // groups) + geom.out)
    w = weight.reshape(groups, c_out // groups, cg, kh, kw)
    canvas = np.zeros((n, groups, cg) + geom.padded, dtype=grad.dtype)
    for k, (rows, cols) in geom.offsets():
        canvas[..., rows, cols] += np.einsum("ngohw,goc->ngchw", g, w[..., k // kw, k % kw])
    return crop(canvas.reshape((n, groups * cg) + geom.padded), geom)


def conv2d_weight_grad(x: np.ndarray, grad: np.ndarray, geom: Geometry, groups: int) -> np.ndarray:
    """The gradient w.r.t. the weight: for each offset, the gradient times what it read, summed over
    the batch and the positions. -> (C_out, C/G, KH, KW)."""
    n, c, c_out = x.shape[0], x.shape[1], grad.shape[1]
    kh, kw = geom.kernel
    xp = pad(x, geom).reshape((n, groups, c // groups) + geom.padded)
    g = grad.reshape((n, groups, c_out // groups) + geom.out)
    dw = np.zeros((groups, c_out // groups, c // groups, kh, kw), dtype=grad.dtype)
    for k, (rows, cols) in geom.offsets():
        dw[..., k // kw, k % kw] = np.einsum("ngohw,ngchw->goc", g, xp[..., rows, cols])
    return dw.reshape(c_out, c // groups, kh, kw)


# -- pooling ---------------------------------------------------------------------------------------
def max_pool2d_forward(x: np.ndarray, geom: Geometry) -> tuple[np.ndarray, np.ndarray]:
    """The max of every window (padding is -inf) and the offset of its first maximum; a window holding
    NaN has the max NaN and the offset of its last NaN (as PyTorch)."""
    slices = window_slices(pad(x, geom, -np.inf), geom)
    out = slices.max(axis=0)
    last_nan = len(slices) - 1 - np.isnan(slices[::-1]).argmax(axis=0)
    return out, np.where(np.isnan(out), last_nan, slices.argmax(axis=0))


def max_pool2d_scatter(grad: np.ndarray, index: np.ndarray, geom: Geometry, shape: tuple[int, ...]) -> np.ndarray:
    """Max pooling's backward: each window's gradient to its element at `index`, summed where windows
    overlap; (N, C, OH, OW) -> `shape` (N, C, H, W)."""
    canvas = np.zeros(tuple(shape[:2]) + geom.padded, dtype=grad.dtype)
    for k, (rows, cols) in geom.offsets():
        canvas[:, :, rows, cols] += select(grad, index == k)
    return crop(canvas, geom)


def max_pool2d_gather(x: np.ndarray, index: np.ndarray, geom: Geometry) -> np.ndarray:
    """Each window's element at `index` (the adjoint of `max_pool2d_scatter`)."""
    slices = window_slices(pad(x, geom), geom)
    return np.take_along_axis(slices, index[None].astype(np.intp), axis=0)[0]


def avg_pool2d_forward(x: np.ndarray, geom: Geometry) -> np.ndarray:
    """The mean of every window, padding counted as zeros."""
    return window_slices(pad(x, geom), geom).mean(axis=0)


def avg_pool2d_scatter(grad: np.ndarray, geom: Geometry, shape: tuple[int, ...]) -> np.ndarray:
    """Average pooling's backward: each window's gradient spread evenly over its KH*KW elements."""
    canvas = np.zeros(tuple(shape[:2]) + geom.padded, dtype=grad.dtype)
    for _, (rows, cols) in geom.offsets():
        canvas[:, :, rows, cols] += grad / (geom.kernel[0] * geom.kernel[1])
    return crop(canvas, geom)


# -- routing a gradient ----------------------------------------------------------------------------
def select(grad: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """grad where mask, else 0: selected, never multiplied by a 0/1 mask (0 * inf would be NaN)."""
    return np.where(mask, grad, np.zeros((), grad.dtype))
