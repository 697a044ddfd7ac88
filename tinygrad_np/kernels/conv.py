"""The three convolution kernels, fast: forward (N, C, H, W) * (C_out, C/G, KH, KW) -> (N, C_out, OH, OW),
its gradient w.r.t. the input (which is the transposed convolution) and w.r.t. the weight.

`reference.conv2d_forward` and friends state the arithmetic in a few lines each: a loop over the
kernel offsets, one einsum per offset. These kernels compute the same, faster: Winograd's
minimal filtering for 3x3 stride-1 layers (`winograd`), else im2col and a GEMM in whichever of two
layouts suits the layer, a bias carried through the GEMM, the stride-1 input gradient by grid
columns (`im2col.col2im_grid_into`), and the batch split over the intra-op threads.
"""
from __future__ import annotations

import numpy as np

from .geometry import Geometry
from .im2col import batch_chunk, col2im, col2im_grid_into, grid_canvas, grid_image, im2col, offsets_first, on_grid
from .layout import is_channels_last
from .threads import over_batch, sum_over_batch
from .winograd import winograd_conv2d, winograd_conv2d_input_grad, winograd_conv2d_weight_grad

__all__ = ["conv2d_forward", "conv2d_input_grad", "conv2d_weight_grad", "conv_algorithm"]


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


# -- im2col and GEMM ------------------------------------------------------------------------------
# Two layouts for the im2col matrix. "Per image" (N, G, K, P) feeds one small GEMM per image and
# needs no transposes: best when K = C/G*KH*KW is small and the GEMM is bound by writing its output
# (a first layer). "Batch inside" (G, K, N*P) feeds one large GEMM per group, which multi-threaded
# BLAS runs faster (docs/performance.md), at the cost of transposing the output (and, in backward,
# the gradient) once, cheap next to a GEMM with a large K.
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


def conv2d_forward(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None, geom: Geometry,
                 groups: int, keep: bool = True) -> tuple[np.ndarray, np.ndarray | None]:
    """(N, C, H, W) * (C_out, C/groups, KH, KW) -> (N, C_out, OH, OW), and the matrix the weight
    gradient can reuse: im2col's columns, or Winograd's transformed input tiles if `keep`."""
    algorithm = conv_algorithm(weight.shape, geom, groups, x.dtype)
    if algorithm != "im2col":
        return winograd_conv2d(x, weight, geom.padding, _tile_size(algorithm), bias, keep_tiles=keep)
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
    channels_last = not single and groups == 1
    out = np.empty((n, p, c_out) if channels_last else (n, c_out, p), dtype=x.dtype)

    def multiply(b: slice) -> None:
        if channels_last:  # columns^T @ weight^T: (P, C_out) per image, BLAS reading both transposed
            np.matmul(gemm_cols[b, 0].transpose(0, 2, 1), w[0].T, out=out[b])
        elif single:
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
    if channels_last:
        return out.reshape((n,) + geom.out + (c_out,)).transpose(0, 3, 1, 2), cols
    return out.reshape((n, c_out) + geom.out), cols


def conv2d_input_grad(grad: np.ndarray, weight: np.ndarray, geom: Geometry, groups: int) -> np.ndarray:
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


def conv2d_weight_grad(x: np.ndarray, grad: np.ndarray, geom: Geometry, groups: int,
                     cols: np.ndarray | None = None) -> np.ndarray:
    """The gradient of a convolution w.r.t. its weight: sum over the batch of grad @ im2col(x)^T.

    `cols` is the matrix forward kept for it (`conv2d_forward`), if any."""
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
    channels_last = not single and groups == 1 and is_channels_last(grad)
    p = grad.shape[2] * grad.shape[3]
    grad3 = grad.transpose(0, 2, 3, 1).reshape(n, p, c_out) if channels_last else grad.reshape(n, c_out, p)

    def multiply(b: slice) -> np.ndarray:
        g = grad3[b]
        if channels_last:  # dW^T = sum over images of columns @ grad^T, grad^T being the (P, C_out) rows
            return np.matmul(cols[b, 0], g).sum(axis=0)
        if single:
            grad_t = np.ascontiguousarray(g.transpose(1, 0, 2))  # (C_out, N, P) for one GEMM
            # dW^T = cols @ grad^T: OpenBLAS runs this orientation faster on CNN-sized layers
            return np.matmul(cols[:, :, b.start * p:b.stop * p],
                             grad_t.reshape(groups, c_out // groups, -1).transpose(0, 2, 1))
        per_image = np.matmul(g.reshape(len(g), groups, c_out // groups, -1), cols[b].transpose(0, 1, 3, 2))
        return per_image.sum(axis=0)
    total = sum_over_batch(multiply, n, cols.nbytes + grad.nbytes)
    if channels_last:
        return np.ascontiguousarray(total.T).reshape(shape)
    if single:
        return np.ascontiguousarray(total.transpose(0, 2, 1)).reshape(shape)
    return total.reshape(shape)

