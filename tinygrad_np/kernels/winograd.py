"""Winograd convolution F(2x2,3x3) and F(4x4,3x3): 3x3, stride-1 convolutions with fewer multiplications.

An m x m tile of a 3x3 convolution's output reads an a x a tile of its input (a = m + 2). Winograd's
minimal filtering computes it as

    Y = A^T [ (G g G^T) * (B^T d B) ] A        (Lavin & Gray, "Fast Algorithms for CNNs", 2015)

with an elementwise product of a x a arrays: a^2 multiplications instead of 9 m^2 (16 for 36 at
m = 2, 36 for 144 at m = 4). Summed over input channels, the product at each of the a^2 points of
the transform domain is a matrix product (tiles, C_in) @ (C_in, C_out): a^2 GEMMs replace the one
im2col GEMM, with 9 m^2 / a^2 fewer multiplications (2.25x, 4x).

Layout: channels last. The tiles of an image are gathered from a padded (N, H, W, C) copy, so the
transforms run over long contiguous rows of C values, each one small matrix product per axis. The
batch is cut into chunks of a few images that stay in cache, and the chunks are split over the
threads of `kernels.threads`.

The gradients are the same machinery: the input gradient is a Winograd convolution of the output
gradient with the flipped, transposed kernel; the weight gradient is a sum over tiles in the
transform domain, of the transformed input (which forward can hand back) times the output gradient
taken through the adjoint of the output transform, brought back by the adjoint of the filter
transform.

F(4x4,3x3)'s transforms have entries up to 8 and 1/24: in float32 its error is about 1e-5 relative,
F(2x2,3x3)'s about as small as im2col's. `reference.conv2d_forward` and friends are the plain
kernels (a loop over the 9 kernel offsets) that the tests hold these to.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.lib.stride_tricks import as_strided

from .threads import over_batch, sum_over_batch

__all__ = ["Padding", "winograd_conv2d", "winograd_conv2d_input_grad", "winograd_conv2d_weight_grad"]

Padding = tuple[int, int, int, int]  # (top, bottom, left, right), as in Geometry

# Chunks of images whose transform-domain tiles take about this many bytes stay in cache from the
# input transform through the GEMMs to the output transform.
_CHUNK_BYTES = 1 << 21


class Transform(NamedTuple):
    """The matrices of F(m x m, 3x3): input B^T (a, a), filter G (a, 3), output A^T (m, a)."""

    m: int
    bt: np.ndarray
    g: np.ndarray
    at: np.ndarray

    @property
    def a(self) -> int:
        return self.m + 2


# Interpolation points 0, 1, -1 (and infinity) for m = 2; 0, +-1, +-2 (and infinity) for m = 4.
_TRANSFORMS = {
    2: Transform(2,
                 np.array([[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]], dtype=np.float64),
                 np.array([[1, 0, 0], [.5, .5, .5], [.5, -.5, .5], [0, 0, 1]]),
                 np.array([[1, 1, 1, 0], [0, 1, -1, -1]], dtype=np.float64)),
    4: Transform(4,
                 np.array([[4, 0, -5, 0, 1, 0], [0, -4, -4, 1, 1, 0], [0, 4, -4, -1, 1, 0],
                           [0, -2, -1, 2, 1, 0], [0, 2, -1, -2, 1, 0], [0, 4, 0, -5, 0, 1]], dtype=np.float64),
                 np.array([[1 / 4, 0, 0], [-1 / 6, -1 / 6, -1 / 6], [-1 / 6, 1 / 6, -1 / 6],
                           [1 / 24, 1 / 12, 1 / 6], [1 / 24, -1 / 12, 1 / 6], [0, 0, 1]]),
                 np.array([[1, 1, 1, 1, 1, 0], [0, 1, -1, 2, -2, 0], [0, 1, 1, 4, 4, 0], [0, 1, -1, 8, -8, 1]],
                          dtype=np.float64)),
}


# -- the transforms --------------------------------------------------------------------------------
def _both_axes(mat: np.ndarray, tiles: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """mat @ t @ mat^T for every tile t of `tiles` (k, k, X): the (r, r, X) result, one small GEMM
    per axis over the contiguous last axis."""
    r, k = mat.shape
    rows = (mat @ tiles.reshape(k, -1)).reshape(r, k, -1)  # mat applied along the first axis
    return np.matmul(mat, rows, out=out)  # ... and along the second (broadcast over the first)


def filter_transform(weight: np.ndarray, m: int) -> np.ndarray:
    """(C_out, C, 3, 3) -> U = G g G^T as (a*a, C, C_out): one (C, C_out) matrix per point.

    Row-major, vec(G g G^T) = (G kron G) vec(g), so all filters transform in one product of the
    (a*a, 9) matrix G kron G with the (9, C * C_out) kernel taps, written in U's layout."""
    t = _TRANSFORMS[m]
    c_out, c = weight.shape[:2]
    taps = np.ascontiguousarray(weight.transpose(2, 3, 1, 0)).reshape(9, c * c_out)  # [(i, j), (c, o)]
    return (np.kron(t.g, t.g).astype(weight.dtype) @ taps).reshape(t.a * t.a, c, c_out)


def _filter_transform_adjoint(u_grad: np.ndarray, m: int, out_channels: int) -> np.ndarray:
    """(a*a, C, C_out) -> (C_out, C, 3, 3): G^T dU G, the gradient of `filter_transform`'s input,
    (G kron G)^T times dU as one product."""
    t = _TRANSFORMS[m]
    taps = np.kron(t.g, t.g).T.astype(u_grad.dtype) @ u_grad.reshape(t.a * t.a, -1)  # [(i, j), (c, o)]
    return np.ascontiguousarray(taps.reshape(3, 3, -1, out_channels).transpose(3, 2, 0, 1))


def _tile_counts(out_size: tuple[int, int], m: int) -> tuple[int, int]:
    return -(-out_size[0] // m), -(-out_size[1] // m)


def _padded_channels_last(x: np.ndarray, padding: Padding, shape: tuple[int, int]) -> np.ndarray:
    """x (N, C, H, W) as a zero-padded (N, *shape, C) copy with x's (0, 0) at (top, left); padding
    may be negative (then x is cropped), and whatever lies beyond `shape` is dropped."""
    top, _, left, _ = padding
    n, c, h, w = x.shape
    canvas = np.zeros((n,) + shape + (c,), dtype=x.dtype)
    rows = slice(max(top, 0), min(shape[0], top + h))
    cols = slice(max(left, 0), min(shape[1], left + w))
    if rows.stop > rows.start and cols.stop > cols.start:
        src = x[:, :, rows.start - top:rows.stop - top, cols.start - left:cols.stop - left]
        canvas[:, rows, cols] = src.transpose(0, 2, 3, 1)
    return canvas


def _input_tiles(x: np.ndarray, padding: Padding, t: Transform, tiles: tuple[int, int],
                 out: np.ndarray) -> None:
    """B^T d B for every input tile d of x (N, C, H, W) into `out` (a, a, N*TH*TW*C)."""
    th, tw = tiles
    canvas = _padded_channels_last(x, padding, (th * t.m + 2, tw * t.m + 2))
    sn, sh, sw, sc = canvas.strides
    gathered = as_strided(canvas, (t.a, t.a, len(x), th, tw, x.shape[1]), (sh, sw, sn, t.m * sh, t.m * sw, sc))
    _both_axes(t.bt.astype(x.dtype), np.ascontiguousarray(gathered), out=out)


def _chunks(b: slice, per_image_bytes: int) -> list[slice]:
    step = max(1, _CHUNK_BYTES // max(per_image_bytes, 1))
    return [slice(s, min(s + step, b.stop)) for s in range(b.start, b.stop, step)]


# -- fast kernels ----------------------------------------------------------------------------------
def winograd_conv2d(x: np.ndarray, weight: np.ndarray, padding: Padding, m: int, bias: np.ndarray | None = None,
                    keep_tiles: bool = False) -> tuple[np.ndarray, np.ndarray | None]:
    """`reference.conv2d_forward` by F(m x m, 3x3), m in (2, 4): the (N, C_out, OH, OW) output (an
    NCHW-shaped view of a channels-last buffer; the bias, if any, added as the tiles are put in
    place) and, with `keep_tiles`, the transformed input tiles (a*a, N*TH*TW, C) that
    `winograd_conv2d_weight_grad` can reuse."""
    t = _TRANSFORMS[m]
    n, c, h, w = x.shape
    c_out = weight.shape[0]
    top, bottom, left, right = padding
    out_size = (h + top + bottom - 2, w + left + right - 2)
    th, tw = _tile_counts(out_size, m)
    per_image = th * tw
    u = filter_transform(weight, m)
    canvas = np.empty((n, th * m, tw * m, c_out), dtype=x.dtype)  # the output, channels last
    kept = np.empty((t.a * t.a, n * per_image, c), dtype=x.dtype) if keep_tiles else None
    flat_kept = None if kept is None else kept.reshape(t.a, t.a, -1)
    at = t.at.astype(x.dtype)

    def convolve(b: slice) -> None:
        for chunk in _chunks(b, t.a * t.a * per_image * (c + c_out) * x.itemsize):
            k = chunk.stop - chunk.start
            if flat_kept is None:
                v = np.empty((t.a, t.a, k * per_image * c), dtype=x.dtype)
            else:
                v = flat_kept[:, :, chunk.start * per_image * c:chunk.stop * per_image * c]
            _input_tiles(x[chunk], padding, t, (th, tw), out=v)
            prod = np.matmul(v.reshape(t.a * t.a, k * per_image, c), u)  # one GEMM per point
            y = _both_axes(at, prod.reshape(t.a, t.a, -1))  # (m, m, k*TH*TW*C_out)
            tiles_in_place = y.reshape(m, m, k, th, tw, c_out).transpose(2, 3, 0, 4, 1, 5)
            target = canvas[chunk].reshape(k, th, m, tw, m, c_out)
            if bias is None:
                np.copyto(target, tiles_in_place)
            else:
                np.add(tiles_in_place, bias, out=target)
    if n:
        over_batch(convolve, n, canvas.nbytes * 4 + x.nbytes)
    return canvas[:, :out_size[0], :out_size[1]].transpose(0, 3, 1, 2), kept


def winograd_conv2d_input_grad(grad: np.ndarray, weight: np.ndarray, padding: Padding, m: int,
                               size: tuple[int, int]) -> np.ndarray:
    """`reference.conv2d_input_grad` by F(m x m, 3x3): the convolution of the gradient with the
    flipped, transposed kernel, padded by 2 - padding (a negative pad crops)."""
    top, bottom, left, right = padding
    flipped = weight[:, :, ::-1, ::-1].transpose(1, 0, 2, 3)  # a view: the filter transform copies it once
    out, _ = winograd_conv2d(grad, flipped, (2 - top, 2 - bottom, 2 - left, 2 - right), m)
    assert out.shape[2:] == tuple(size)
    return out


def winograd_conv2d_weight_grad(x: np.ndarray, grad: np.ndarray, padding: Padding, m: int,
                                tiles: np.ndarray | None = None) -> np.ndarray:
    """`reference.conv2d_weight_grad` by F(m x m, 3x3): per transform-domain point, the transformed
    input tiles^T times the gradient's tiles taken through A (. ) A^T, summed over the batch, then
    G^T (.) G. `tiles` are forward's transformed input (`winograd_conv2d(keep_tiles=True)`)."""
    t = _TRANSFORMS[m]
    n, c = x.shape[:2]
    c_out = grad.shape[1]
    th, tw = _tile_counts(grad.shape[2:], m)
    per_image = th * tw
    a_mat = t.at.T.astype(x.dtype)
    flat_tiles = None if tiles is None else tiles.reshape(t.a, t.a, -1)

    def reduce(b: slice) -> np.ndarray:
        total = np.zeros((t.a * t.a, c, c_out), dtype=x.dtype)
        for chunk in _chunks(b, t.a * t.a * per_image * (c + c_out) * x.itemsize):
            k = chunk.stop - chunk.start
            if flat_tiles is None:
                v = np.empty((t.a, t.a, k * per_image * c), dtype=x.dtype)
                _input_tiles(x[chunk], padding, t, (th, tw), out=v)
            else:
                v = flat_tiles[:, :, chunk.start * per_image * c:chunk.stop * per_image * c]
            if grad.shape[2] == th * m and grad.shape[3] == tw * m:  # the tiles cover the output exactly
                g = grad[chunk].transpose(0, 2, 3, 1)  # a view if grad is channels last
            else:
                g = _padded_channels_last(grad[chunk], (0, 0, 0, 0), (th * m, tw * m))  # zeros past the edge
            g_tiles = np.ascontiguousarray(g.reshape(k, th, m, tw, m, c_out).transpose(2, 4, 0, 1, 3, 5))
            g_hat = _both_axes(a_mat, g_tiles)  # (a, a, k*TH*TW*C_out)
            total += np.matmul(v.reshape(t.a * t.a, -1, c).transpose(0, 2, 1),
                               g_hat.reshape(t.a * t.a, -1, c_out))
        return total
    if n == 0:
        return np.zeros((c_out, c, 3, 3), dtype=x.dtype)
    u_grad = sum_over_batch(reduce, n, x.nbytes * 4 + grad.nbytes)
    return _filter_transform_adjoint(u_grad, m, c_out)
