"""F.max_unpool2d: the partial inverse of max_pool2d, placing each value back at its recorded position."""
from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd.function import Function
from ..errors import ShapeError
from ..tensor import Tensor
from ._util import require_float_tensor
from .windows import IntPair, pair

__all__ = ["max_unpool2d"]


class MaxUnpool2d(Function):
    """Zeros of (N, C, H, W) with out[n, c].flat[indices[n, c, i, j]] = x[n, c, i, j] (a write: of two
    values sent to one place the last stays, as PyTorch). Backward: read the gradient at the indices."""

    @staticmethod
    def forward(ctx, x, indices, size):
        n, c, h, w = x.shape  # the lengths given, not -1: a batch of 0 has nothing to infer them from
        ctx.flat = indices.reshape(n, c, h * w)
        ctx.size, ctx.in_shape = size, x.shape
        out = np.zeros((n, c, size[0] * size[1]), dtype=x.dtype)
        np.put_along_axis(out, ctx.flat, x.reshape(n, c, h * w), axis=2)
        return out.reshape(n, c, *size)

    @staticmethod
    def backward(ctx, grad):
        n, c = ctx.in_shape[:2]
        batch, channel = np.ogrid[:n, :c]
        flat = grad.reshape(n, c, ctx.size[0] * ctx.size[1])
        return flat[batch[..., None], channel[..., None], ctx.flat].reshape(ctx.in_shape)


def max_unpool2d(input: Tensor, indices: Any, kernel_size: IntPair, stride: IntPair | None = None,
                 padding: IntPair = 0, output_size: Any = None) -> Tensor:
    """Put each value of (N, C, OH, OW) input at its position `indices` (from max_pool2d's
    return_indices) in zeros of (N, C, H, W); H = (OH - 1) * stride - 2 * padding + kernel_size unless
    output_size gives (H, W) (or the whole output shape)."""
    op = "max_unpool2d"
    require_float_tensor(input, op)
    index = indices.data if isinstance(indices, Tensor) else np.asarray(indices)
    if input.ndim != 4:
        raise ShapeError(f"{op}: expected a 4-D input (N, C, OH, OW), got shape {input.shape}")
    if index.shape != input.shape or index.dtype.kind not in "iu":
        raise ShapeError(f"{op}: indices must be integers of the input's shape {input.shape}, got "
                         f"{index.dtype} of shape {index.shape}")
    kernel = pair(kernel_size, "kernel_size", op)
    stride_ = kernel if stride is None else pair(stride, "stride", op)
    pad = pair(padding, "padding", op)
    if output_size is None:
        size = tuple((n - 1) * s - 2 * p + k for n, s, p, k in zip(input.shape[2:], stride_, pad, kernel))
    else:
        size = tuple(int(v) for v in tuple(output_size)[-2:])
    if len(size) != 2 or min(size) < 1:
        raise ShapeError(f"{op}: output size {size} is not a positive (H, W) (input shape {input.shape})")
    bad = (index < 0) | (index >= size[0] * size[1])
    if bad.any():
        raise IndexError(f"{op}: index {int(index[bad].flat[0])} is out of range for an output of size {size}")
    return MaxUnpool2d.apply(input, indices=index.astype(np.int64), size=size)
