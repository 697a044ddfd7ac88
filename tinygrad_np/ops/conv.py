"""2-D convolution and transposed convolution (NCHW, PyTorch's semantics), by im2col and GEMM, or
for 3x3 stride-1 convolutions by Winograd's minimal filtering (`kernels.winograd`).

Three bilinear NumPy kernels do all the work: the convolution itself, its gradient w.r.t. the input
(which *is* the transposed convolution) and its gradient w.r.t. the weight. Each is a `Function`
whose backward applies the other two, so convolutions are differentiable any number of times.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd.function import Function
from ..autograd.grad_mode import is_grad_enabled
from ..errors import ShapeError
from ..kernels.winograd import winograd_conv2d, winograd_conv2d_input_grad, winograd_conv2d_weight_grad
from ..kernels.threads import over_batch, sum_over_batch
from ..tensor import Tensor
from .im2col import (Geometry, IntPair, batch_chunk, check_window_args, col2im, col2im_grid_into, fold, grid_canvas,
                     grid_image, im2col, make_geometry, offsets_first, on_grid, pair, unfold)

__all__ = ["conv2d", "conv_transpose2d", "fold", "unfold"]


# -- which kernel ---------------------------------------------------------------------------------
# Winograd F(m x m, 3x3) needs fewer multiplications than im2col's GEMM (2.25x at m = 2, 4x at m = 4)
# but pays for its transforms per channel: below a few input channels (a first layer on RGB or grey
# images) im2col's GEMM is cheap anyway; F(4x4,3x3) wins once the channels are many and the output
# holds several 4x4 tiles, F(2x2,3x3) in between.
_WINOGRAD_MIN_CHANNELS = 4
_WINOGRAD4_MIN_CHANNELS = 64
_WINOGRAD4_MIN_SIZE = 8


def conv_algorithm(weight_shape: tuple[int, ...], geom: Geometry, groups: int, dtype: np.dtype) -> str:
    """The kernel for a convolution (and its two gradients): 'winograd4' or 'winograd2' for a 3x3,
    stride-1, undilated, ungrouped float32/float64 convolution with enough input channels, else
    'im2col'."""
    if (tuple(weight_shape[2:]) != (3, 3) or geom.stride != (1, 1) or geom.dilation != (1, 1) or groups != 1
            or dtype not in (np.float32, np.float64) or weight_shape[1] < _WINOGRAD_MIN_CHANNELS):
        return "im2col"
    if weight_shape[1] >= _WINOGRAD4_MIN_CHANNELS and min(geom.out) >= _WINOGRAD4_MIN_SIZE:
        return "winograd4"
    return "winograd2"


def _tile_size(algorithm: str) -> int:
    """m of F(m x m, 3x3) for a Winograd algorithm's name."""
    return int(algorithm.removeprefix("winograd"))


# -- NumPy kernels ---------------------------------------------------------------------------------
# Two layouts for the im2col matrix. "Per image" (N, G, K, P) feeds one small GEMM per image and
# needs no transposes: best when K = C/G*KH*KW is small and the GEMM is bound by writing its output
# (a first layer). "Batch inside" (G, K, N*P) feeds one large GEMM per group, which multi-threaded
# BLAS runs 10-20% faster here, at the cost of transposing the output (and, in backward, the
# gradient) once, cheap next to a GEMM with a large K.
_ONE_GEMM_MIN_K = 32


def one_gemm(weight_shape: tuple[int, ...]) -> bool:
    """Whether a convolution with this weight uses the one-large-GEMM layout (see above)."""
    return weight_shape[1] * weight_shape[2] * weight_shape[3] >= _ONE_GEMM_MIN_K


def conv_columns(x: np.ndarray, geom: Geometry, groups: int, single: bool, ones_row: bool = False) -> np.ndarray:
    """The im2col matrix of x: (G, K, N*P) if `single` (one GEMM), else (N, G, K, P). With
    `ones_row` (per image, one group): (N, 1, K + 1, P), its last row ones to carry a bias through
    the GEMM."""
    if single:
        cols = im2col(x, geom, batch_inside=True)
        return cols.reshape(groups, cols.shape[0] // groups, cols.shape[1])
    if ones_row:
        n, k, p = x.shape[0], x.shape[1] * geom.kernel[0] * geom.kernel[1], geom.out[0] * geom.out[1]
        cols = np.empty((n, 1, k + 1, p), dtype=x.dtype)
        cols[:, :, k] = 1
        im2col(x, geom, out=cols[:, 0, :k])
        return cols
    cols = im2col(x, geom)
    return cols.reshape(x.shape[0], groups, cols.shape[1] // groups, cols.shape[2])


def conv_forward(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None, geom: Geometry,
                 groups: int, keep_tiles: bool = True) -> tuple[np.ndarray, np.ndarray | None]:
    """(N, C, H, W) * (C_out, C/groups, KH, KW) -> (N, C_out, OH, OW), and the matrix the weight
    gradient can reuse: im2col's columns, or Winograd's transformed input tiles if `keep_tiles`."""
    algorithm = conv_algorithm(weight.shape, geom, groups, x.dtype)
    if algorithm != "im2col":
        out, tiles = winograd_conv2d(x, weight, geom.padding, _tile_size(algorithm), keep_tiles=keep_tiles)
        if bias is not None:
            out += bias[:, None, None]
        return out, tiles
    n = x.shape[0]
    c_out = weight.shape[0]
    p = geom.out[0] * geom.out[1]
    if n == 0:  # an empty batch: an empty result (BLAS and the reshapes below need N > 0)
        return np.empty((0, c_out) + geom.out, dtype=x.dtype), np.empty((0,), dtype=x.dtype)
    single = one_gemm(weight.shape)
    fold_bias = bias is not None and not single and groups == 1
    gemm_cols = conv_columns(x, geom, groups, single, ones_row=fold_bias)
    w = weight.reshape(groups, c_out // groups, -1)
    if fold_bias:  # the columns' row of ones carries the bias through the GEMM: no pass over the output
        w, bias = np.concatenate([w, bias.reshape(1, c_out, 1)], axis=2), None
    cols = gemm_cols[:, :, :-1] if fold_bias else gemm_cols  # the im2col matrix the weight gradient reads
    out = np.empty((n, c_out, p), dtype=x.dtype)

    def multiply(b: slice) -> None:
        if single:
            out_t = np.matmul(w, cols[:, :, b.start * p:b.stop * p]).reshape(c_out, -1, p)  # (C_out, N, P)
            if bias is None:
                np.copyto(out[b], out_t.transpose(1, 0, 2))
            else:  # the bias is added by the copy that puts the batch axis first
                np.add(out_t.transpose(1, 0, 2), bias[:, None], out=out[b])
        else:
            part = out[b]
            np.matmul(w, gemm_cols[b], out=part.reshape(len(part), groups, c_out // groups, p))
            if bias is not None:
                part += bias[:, None]
    over_batch(multiply, n, gemm_cols.nbytes + out.nbytes)
    return out.reshape((n, c_out) + geom.out), cols


def conv_input_grad(grad: np.ndarray, weight: np.ndarray, geom: Geometry, groups: int) -> np.ndarray:
    """The gradient of a convolution w.r.t. its input: (N, C_out, OH, OW) -> (N, C, H, W), the
    weight's transpose times the gradient (a GEMM), added back onto the image by col2im."""
    n, c_out = grad.shape[:2]
    channels = weight.shape[1] * groups
    if n == 0:
        return np.empty((0, channels) + geom.size, dtype=grad.dtype)
    algorithm = conv_algorithm(weight.shape, geom, groups, grad.dtype)
    if algorithm != "im2col":
        return winograd_conv2d_input_grad(grad, weight, geom.padding, _tile_size(algorithm), geom.size)
    if geom.stride != (1, 1):
        weight_t = weight.reshape(groups, c_out // groups, -1).transpose(0, 2, 1)  # BLAS reads it transposed

        def strided(b: slice) -> np.ndarray:
            g = grad[b]
            cols = np.matmul(weight_t, g.reshape(len(g), groups, c_out // groups, -1))
            return col2im(cols.reshape(len(g), -1, cols.shape[3]), geom, channels)
        parts = over_batch(strided, n, grad.nbytes * weight_t.shape[1])
        return parts[0] if len(parts) == 1 else np.concatenate(parts)
    # stride 1: grid columns make col2im one contiguous add per kernel offset and image; batch chunks
    # keep the columns in cache between the GEMM that writes them and the adds that read them.
    weight_t = offsets_first(weight, groups)  # (G, KH*KW * C/G, C_out/G)
    offsets, length = geom.kernel[0] * geom.kernel[1], geom.padded[0] * geom.padded[1]
    canvas = grid_canvas(n, channels, geom, grad.dtype)
    step = batch_chunk(weight_t.shape[0] * weight_t.shape[1] * length * grad.itemsize)

    def add_back(b: slice) -> None:
        canvas[b] = 0
        grid = on_grid(grad[b], geom).reshape(-1, groups, c_out // groups, length)
        for start in range(0, len(grid), step):
            cols = np.matmul(weight_t, grid[start:start + step])
            col2im_grid_into(canvas[b][start:start + step], cols.reshape(len(cols), groups, offsets, -1), geom)
    over_batch(add_back, n, canvas.nbytes * offsets)
    return grid_image(canvas, channels, geom)


def conv_weight_grad(x: np.ndarray, grad: np.ndarray, geom: Geometry, groups: int,
                     cols: np.ndarray | None = None) -> np.ndarray:
    """The gradient of a convolution w.r.t. its weight: sum over the batch of grad @ im2col(x)^T.

    `cols` is the matrix forward kept for it (`conv_forward`), if any."""
    n, c_out = grad.shape[:2]
    shape = (c_out, x.shape[1] // groups) + geom.kernel
    if n == 0:  # no image contributes: a zero gradient
        return np.zeros(shape, dtype=grad.dtype)
    algorithm = conv_algorithm(shape, geom, groups, x.dtype)
    if algorithm != "im2col":
        return winograd_conv2d_weight_grad(x, grad, geom.padding, _tile_size(algorithm), tiles=cols)
    single = one_gemm(shape)
    if cols is None:
        cols = conv_columns(x, geom, groups, single)
    grad3 = grad.reshape(n, c_out, -1)
    p = grad3.shape[2]

    def multiply(b: slice) -> np.ndarray:
        g = grad3[b]
        if single:
            grad_t = np.ascontiguousarray(g.transpose(1, 0, 2))  # (C_out, N, P) for one GEMM
            # dW^T = cols @ grad^T: OpenBLAS runs this orientation faster on CNN-sized layers (64x288 by
            # 288x25088: 7.2 ms as grad @ cols^T, 5.5 ms as cols @ grad^T)
            return np.matmul(cols[:, :, b.start * p:b.stop * p],
                             grad_t.reshape(groups, c_out // groups, -1).transpose(0, 2, 1))
        per_image = np.matmul(g.reshape(len(g), groups, c_out // groups, -1), cols[b].transpose(0, 1, 3, 2))
        return per_image.sum(axis=0)
    total = sum_over_batch(multiply, n, cols.nbytes + grad.nbytes)
    if single:
        return np.ascontiguousarray(total.transpose(0, 2, 1)).reshape(shape)
    return total.reshape(shape)


# -- Functions -------------------------------------------------------------------------------------
class Conv2d(Function):
    """conv2d(x, weight, bias). Backward: ConvTranspose2d for x, Conv2dWeightGrad for the weight."""

    @staticmethod
    def forward(ctx, x, weight, bias, geom, groups=1):
        ctx.geom, ctx.groups = geom, groups
        keep = ctx.needs_input_grad[1] and is_grad_enabled()  # a weight gradient will be asked for
        out, cols = conv_forward(x, weight, bias, geom, groups, keep_tiles=keep)
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
        out = conv_input_grad(x, weight, geom, groups)
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
        return conv_weight_grad(x, grad, geom, groups, cols)

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
