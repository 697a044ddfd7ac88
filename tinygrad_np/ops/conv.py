"""2-D convolution and transposed convolution (NCHW, PyTorch's semantics).

Three bilinear kernels do all the work: the convolution itself, its gradient w.r.t. the input
(which *is* the transposed convolution) and its gradient w.r.t. the weight. Each is a `Function`
whose backward applies the other two, so convolutions are differentiable any number of times.
The kernels are `kernels.conv`'s (fast: im2col and GEMM, or Winograd); `kernels.reference` states
the same arithmetic in a few lines each.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd.function import Function
from ..autograd.grad_mode import is_grad_enabled
from ..errors import ShapeError
from ..kernels.conv import conv2d_forward, conv2d_input_grad, conv2d_weight_grad
from ..tensor import Tensor
from .im2col import fold, unfold
from .windows import IntPair, check_window_args, make_geometry, pair

__all__ = ["conv2d", "conv_transpose2d", "fold", "unfold"]


class Conv2d(Function):
    """conv2d(x, weight, bias). Backward: ConvTranspose2d for x, Conv2dWeightGrad for the weight."""

    @staticmethod
    def forward(ctx, x, weight, bias, geom, groups=1):
        ctx.geom, ctx.groups = geom, groups
        keep = ctx.needs_input_grad[1] and is_grad_enabled()  # a weight gradient will be asked for
        out, cols = conv2d_forward(x, weight, bias, geom, groups, keep=keep)
        ctx.save_for_backward(x, weight, cols if ctx.needs_input_grad[1] else None)
        return out

    @staticmethod
    def backward(ctx, grad):
        x, weight, cols = ctx.saved_tensors
        need = ctx.needs_input_grad
        gx = ConvTranspose2d.apply(grad, weight, None, geom=ctx.geom, groups=ctx.groups) if need[0] else None
        gw = None
        if need[1]:
            gw = Conv2dWeightGrad.apply(x, grad, geom=ctx.geom, groups=ctx.groups,
                                        cols=None if cols is None else cols.data)
        gb = grad.sum(axis=(0, 2, 3)) if need[2] else None
        return gx, gw, gb


class ConvTranspose2d(Function):
    """The adjoint of a convolution with geometry `geom` (whose input is this op's output).

    Backward: Conv2d for x (a transposed convolution's adjoint is the convolution) and
    Conv2dWeightGrad, with the roles of input and gradient swapped, for the weight.
    """

    @staticmethod
    def forward(ctx, x, weight, bias, geom, groups=1):
        ctx.geom, ctx.groups = geom, groups
        ctx.save_for_backward(x, weight)
        out = conv2d_input_grad(x, weight, geom, groups)
        if bias is not None:
            out += bias[:, None, None]
        return out

    @staticmethod
    def backward(ctx, grad):
        x, weight = ctx.saved_tensors
        need = ctx.needs_input_grad
        gx = Conv2d.apply(grad, weight, None, geom=ctx.geom, groups=ctx.groups) if need[0] else None
        gw = Conv2dWeightGrad.apply(grad, x, geom=ctx.geom, groups=ctx.groups) if need[1] else None
        gb = grad.sum(axis=(0, 2, 3)) if need[2] else None
        return gx, gw, gb


class Conv2dWeightGrad(Function):
    """The gradient of conv2d w.r.t. its weight, as a function of (input, output gradient).

    It is bilinear; its backward is a ConvTranspose2d (for x) and a Conv2d (for the gradient).
    """

    @staticmethod
    def forward(ctx, x, grad, geom, groups=1, cols=None):
        ctx.geom, ctx.groups = geom, groups
        ctx.save_for_backward(x, grad)
        return conv2d_weight_grad(x, grad, geom, groups, cols)

    @staticmethod
    def backward(ctx, gw):
        x, grad = ctx.saved_tensors
        need = ctx.needs_input_grad
        gx = ConvTranspose2d.apply(grad, gw, None, geom=ctx.geom, groups=ctx.groups) if need[0] else None
        gg = Conv2d.apply(x, gw, None, geom=ctx.geom, groups=ctx.groups) if need[1] else None
        return gx, gg


# -- argument checks -------------------------------------------------------------------------------
def _check_tensors(op: str, x: Any, weight: Any, bias: Any, weight_name: str = "weight") -> None:
    for name, t in (("input", x), (weight_name, weight), ("bias", bias)):
        if t is None and name == "bias":
            continue
        if not isinstance(t, Tensor):
            raise TypeError(f"{op}: {name} must be a Tensor, got {type(t).__name__}")
        if t.dtype.kind != "f":
            raise TypeError(f"{op}: {name} must be floating point, got dtype {t.dtype} (shape {t.shape})")
        if t.dtype != x.dtype:
            raise TypeError(f"{op}: {name} has dtype {t.dtype} but the input has dtype {x.dtype}; "
                            f"convert one of them (e.g. .astype(np.float32)) so they match")
    if x.ndim != 4:
        raise ShapeError(f"{op}: expected a 4-D input (N, C, H, W), got shape {x.shape}")


def _check_groups(op: str, groups: Any) -> int:
    if not isinstance(groups, (int, np.integer)) or isinstance(groups, bool):
        raise TypeError(f"{op}: groups must be an int, got {groups!r}")
    if groups < 1:
        raise ShapeError(f"{op}: groups must be >= 1, got {groups}")
    return int(groups)


def _check_bias(op: str, bias: Tensor | None, channels: int, weight: Tensor) -> None:
    if bias is not None and bias.shape != (channels,):
        raise ShapeError(f"{op}: bias has shape {bias.shape} but the output has {channels} channels "
                         f"(weight shape {weight.shape}); expected bias of shape ({channels},)")


def _conv_padding(op: str, padding: Any, kernel: tuple[int, int], stride: tuple[int, int],
                  dilation: tuple[int, int]) -> tuple[int, int, int, int]:
    """(top, bottom, left, right) from an int, a pair, 'valid' or 'same' (extra on the bottom/right)."""
    if isinstance(padding, str):
        if padding == "valid":
            return (0, 0, 0, 0)
        if padding == "same":
            if stride != (1, 1):
                raise ShapeError(f"{op}: padding='same' needs stride 1, got stride {stride}")
            total = [d * (k - 1) for d, k in zip(dilation, kernel)]
            return (total[0] // 2, total[0] - total[0] // 2, total[1] // 2, total[1] - total[1] // 2)
        raise ValueError(f"{op}: padding must be an int, a pair, 'valid' or 'same', got {padding!r}")
    ph, pw = pair(padding, "padding", op)
    return (ph, ph, pw, pw)


# -- public API ------------------------------------------------------------------------------------
def conv2d(x: Tensor, weight: Tensor, bias: Tensor | None = None, stride: IntPair = 1,
           padding: IntPair | str = 0, dilation: IntPair = 1, groups: int = 1) -> Tensor:
    """2-D cross-correlation of (N, C, H, W) with weight (C_out, C/groups, KH, KW), plus bias (C_out,).

    Output (N, C_out, OH, OW) with OH = (H + 2*padding - dilation*(KH-1) - 1) // stride + 1.
    """
    op = "conv2d"
    _check_tensors(op, x, weight, bias)
    if weight.ndim != 4:
        raise ShapeError(f"{op}: expected a 4-D weight (C_out, C_in/groups, KH, KW), got shape {weight.shape}")
    groups = _check_groups(op, groups)
    channels, c_out = x.shape[1], weight.shape[0]
    if channels % groups or c_out % groups:
        raise ShapeError(f"{op}: input channels ({channels}) and output channels ({c_out}, weight shape "
                         f"{weight.shape}) must both be divisible by groups ({groups})")
    if channels != weight.shape[1] * groups:
        raise ShapeError(f"{op}: input has {channels} channels but weight expects {weight.shape[1] * groups} "
                         f"(weight shape {weight.shape}, groups={groups})")
    _check_bias(op, bias, c_out, weight)
    kernel = (weight.shape[2], weight.shape[3])
    stride_, dilation_ = pair(stride, "stride", op), pair(dilation, "dilation", op)
    padding_ = _conv_padding(op, padding, kernel, stride_, dilation_)
    geom = make_geometry(op, x.shape, kernel, stride_, padding_, dilation_)
    return Conv2d.apply(x, weight, bias, geom=geom, groups=groups)


def conv_transpose2d(x: Tensor, weight: Tensor, bias: Tensor | None = None, stride: IntPair = 1,
                     padding: IntPair = 0, output_padding: IntPair = 0, groups: int = 1,
                     dilation: IntPair = 1) -> Tensor:
    """Transposed convolution (the gradient of conv2d w.r.t. its input) of (N, C_in, H, W) with weight
    (C_in, C_out/groups, KH, KW): output (N, C_out, (H-1)*stride - 2*padding + dilation*(KH-1) +
    output_padding + 1, ...)."""
    op = "conv_transpose2d"
    _check_tensors(op, x, weight, bias)
    if weight.ndim != 4:
        raise ShapeError(f"{op}: expected a 4-D weight (C_in, C_out/groups, KH, KW), got shape {weight.shape}")
    groups = _check_groups(op, groups)
    channels = x.shape[1]
    if channels != weight.shape[0]:
        raise ShapeError(f"{op}: input has {channels} channels but weight expects {weight.shape[0]} "
                         f"(weight shape {weight.shape}, groups={groups})")
    if channels % groups:
        raise ShapeError(f"{op}: input channels ({channels}) must be divisible by groups ({groups}) "
                         f"(weight shape {weight.shape})")
    c_out = weight.shape[1] * groups
    _check_bias(op, bias, c_out, weight)
    kernel = (weight.shape[2], weight.shape[3])
    stride_, dilation_ = pair(stride, "stride", op), pair(dilation, "dilation", op)
    ph, pw = pair(padding, "padding", op)
    extra = pair(output_padding, "output_padding", op)
    check_window_args(op, kernel, stride_, (ph, ph, pw, pw), dilation_)
    if min(extra) < 0 or any(e >= s and e >= d for e, s, d in zip(extra, stride_, dilation_)):
        raise ShapeError(f"{op}: output_padding {extra} must be >= 0 and smaller than either stride "
                         f"{stride_} or dilation {dilation_}")
    size = tuple((n - 1) * s - 2 * p + d * (k - 1) + e + 1
                 for n, s, p, d, k, e in zip(x.shape[2:], stride_, (ph, pw), dilation_, kernel, extra))
    if min(size) < 1:
        raise ShapeError(f"{op}: input shape {x.shape} with kernel {kernel}, stride {stride_}, padding "
                         f"{(ph, pw)}, dilation {dilation_} and output_padding {extra} gives an output "
                         f"size {size}; expected a positive size (use less padding)")
    geom = make_geometry(op, (x.shape[0], c_out) + size, kernel, stride_, (ph, ph, pw, pw), dilation_,
                         out=(x.shape[2], x.shape[3]))
    return ConvTranspose2d.apply(x, weight, bias, geom=geom, groups=groups)


def conv2d_weight(x: Tensor, weight_shape: tuple[int, ...], grad_output: Tensor, stride: IntPair = 1,
                  padding: IntPair = 0, dilation: IntPair = 1, groups: int = 1) -> Tensor:
    """The gradient of conv2d w.r.t. a weight of `weight_shape`, given its input and output gradient
    (as torch.nn.grad.conv2d_weight); differentiable in both."""
    op = "conv2d_weight"
    _check_tensors(op, x, grad_output, None, weight_name="grad_output")
    groups = _check_groups(op, groups)
    kernel = (int(weight_shape[2]), int(weight_shape[3]))
    stride_, dilation_ = pair(stride, "stride", op), pair(dilation, "dilation", op)
    geom = make_geometry(op, x.shape, kernel, stride_, _conv_padding(op, padding, kernel, stride_, dilation_),
                         dilation_)
    expected = (x.shape[0], int(weight_shape[0])) + geom.out
    if grad_output.shape != expected or x.shape[1] != weight_shape[1] * groups or weight_shape[0] % groups:
        raise ShapeError(f"{op}: input shape {x.shape}, weight shape {tuple(weight_shape)} and groups={groups} "
                         f"need an output gradient of shape {expected}, got {grad_output.shape}")
    return Conv2dWeightGrad.apply(x, grad_output, geom=geom, groups=groups)
