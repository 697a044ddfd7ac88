"""unfold and fold (PyTorch's names): every sliding window of an image as a column, and columns summed
back onto an image. Each is the other's adjoint, so each is the other's backward. The arithmetic is
`kernels.im2col`'s `im2col` and `col2im` (read `kernels.reference` for it in a few lines).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd.function import Function
from ..errors import ShapeError
from ..kernels.geometry import Geometry
from ..kernels.im2col import col2im, im2col
from ..tensor import Tensor
from .windows import IntPair, make_geometry, pair

__all__ = ["fold", "unfold"]


class Im2Col(Function):
    """unfold: (N, C, H, W) -> (N, C*KH*KW, OH*OW). Backward is `Col2Im` (its adjoint)."""

    @staticmethod
    def forward(ctx, x, geom):
        ctx.geom, ctx.channels = geom, x.shape[1]
        return im2col(x, geom)

    @staticmethod
    def backward(ctx, grad):
        return Col2Im.apply(grad, geom=ctx.geom, channels=ctx.channels)


class Col2Im(Function):
    """fold: (N, C*KH*KW, OH*OW) -> (N, C, H, W), overlaps summed. Backward is `Im2Col`."""

    @staticmethod
    def forward(ctx, cols, geom, channels):
        ctx.geom = geom
        return np.ascontiguousarray(col2im(cols, geom, channels))

    @staticmethod
    def backward(ctx, grad):
        return Im2Col.apply(grad, geom=ctx.geom)


def _window_args(op: str, shape: tuple[int, ...], kernel_size: IntPair, dilation: IntPair,
                 padding: IntPair, stride: IntPair) -> Geometry:
    kernel = pair(kernel_size, "kernel_size", op)
    ph, pw = pair(padding, "padding", op)
    return make_geometry(op, shape, kernel, pair(stride, "stride", op), (ph, ph, pw, pw),
                         pair(dilation, "dilation", op))


def _check_float(op: str, x: Any) -> None:
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: expected a Tensor, got {type(x).__name__}")
    if x.dtype.kind != "f":
        raise TypeError(f"{op}: expected a floating-point tensor, got dtype {x.dtype} (shape {x.shape})")


def unfold(x: Tensor, kernel_size: IntPair, dilation: IntPair = 1, padding: IntPair = 0,
           stride: IntPair = 1) -> Tensor:
    """Every sliding window of an (N, C, H, W) image as a column: (N, C*KH*KW, L) (PyTorch's unfold)."""
    _check_float("unfold", x)
    if x.ndim != 4:
        raise ShapeError(f"unfold: expected a 4-D input (N, C, H, W), got shape {x.shape}")
    return Im2Col.apply(x, geom=_window_args("unfold", x.shape, kernel_size, dilation, padding, stride))


def fold(cols: Tensor, output_size: IntPair, kernel_size: IntPair, dilation: IntPair = 1,
         padding: IntPair = 0, stride: IntPair = 1) -> Tensor:
    """Sum columns (N, C*KH*KW, L) back into an (N, C, H, W) image (PyTorch's fold, unfold's adjoint)."""
    _check_float("fold", cols)
    if cols.ndim != 3:
        raise ShapeError(f"fold: expected a 3-D input (N, C*KH*KW, L), got shape {cols.shape}")
    kernel = pair(kernel_size, "kernel_size", "fold")
    size = pair(output_size, "output_size", "fold")
    per_channel = kernel[0] * kernel[1]
    if cols.shape[1] % per_channel:
        raise ShapeError(f"fold: input shape {cols.shape}: axis 1 ({cols.shape[1]}) must be divisible by "
                         f"the kernel size {kernel[0]}*{kernel[1]} = {per_channel}")
    n, channels = cols.shape[0], cols.shape[1] // per_channel
    geom = _window_args("fold", (n, channels) + size, kernel, dilation, padding, stride)
    if cols.shape[2] != geom.out[0] * geom.out[1]:
        raise ShapeError(
            f"fold: input shape {cols.shape} has {cols.shape[2]} windows, but output_size {size} with kernel "
            f"{kernel}, stride {geom.stride}, padding {geom.padding[::2]} and dilation {geom.dilation} has "
            f"{geom.out[0]} * {geom.out[1]} = {geom.out[0] * geom.out[1]}")
    return Col2Im.apply(cols, geom=geom, channels=channels)
