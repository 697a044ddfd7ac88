"""Sliding windows over (N, C, H, W) images, shared by convolution and pooling.

A `Geometry` says where the windows sit. `windows` is a strided view of the padded image with one
axis per kernel offset (no copy); `im2col` copies it once into the (N, C*KH*KW, OH*OW) matrix a GEMM
wants, and `col2im` adds such a matrix back onto the image with one strided, in-place add per kernel
offset. `unfold`/`fold` are the differentiable versions (PyTorch's names), each the other's backward.
"""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, NamedTuple

import numpy as np
from numpy.lib.stride_tricks import as_strided

from ..autograd.function import Function
from ..errors import ShapeError
from ..kernels.threads import over_batch
from ..tensor import Tensor

__all__ = ["fold", "unfold"]

IntPair = int | Sequence[int]

# Batch chunks of about this many bytes keep col2im's intermediate in cache while it is added back.
_CHUNK_BYTES = 1 << 21


class Geometry(NamedTuple):
    """Where the windows of a 2-D convolution or pooling sit on an image of `size` = (H, W).

    `padding` is (top, bottom, left, right); `out` = (OH, OW) is the number of window positions.
    """

    size: tuple[int, int]
    kernel: tuple[int, int]
    stride: tuple[int, int]
    padding: tuple[int, int, int, int]
    dilation: tuple[int, int]
    out: tuple[int, int]

    @property
    def padded(self) -> tuple[int, int]:
        """(H, W) of the padded image."""
        top, bottom, left, right = self.padding
        return self.size[0] + top + bottom, self.size[1] + left + right

    @property
    def has_padding(self) -> bool:
        return any(self.padding)

    def as_arguments(self) -> dict[str, Any]:
        """The window arguments as a user writes them (`kernel_size=3, padding=1`), leaving out a
        stride, padding or dilation at its default; what graph drawings show."""
        def short(p: tuple[int, ...]) -> int | tuple[int, ...]:
            return p[0] if p[0] == p[1] else p

        top, bottom, left, right = self.padding
        args: dict[str, Any] = {"kernel_size": short(self.kernel)}
        if self.stride != (1, 1):
            args["stride"] = short(self.stride)
        if any(self.padding):
            args["padding"] = short((top, left)) if (top, left) == (bottom, right) else self.padding
        if self.dilation != (1, 1):
            args["dilation"] = short(self.dilation)
        return args

    def offsets(self) -> Iterator[tuple[int, tuple[slice, slice]]]:
        """(index, (rows, cols)) for every kernel offset in row-major order: the rows and columns of
        the padded image that this offset of every window reads."""
        (kh, kw), (sh, sw), (dh, dw), (oh, ow) = self.kernel, self.stride, self.dilation, self.out
        for i in range(kh):
            rows = slice(i * dh, i * dh + sh * (oh - 1) + 1, sh)
            for j in range(kw):
                yield i * kw + j, (rows, slice(j * dw, j * dw + sw * (ow - 1) + 1, sw))

    def tiles(self) -> bool:
        """True when the windows cover the padded image exactly once (stride == kernel, no remainder)."""
        return (self.stride == self.kernel and self.dilation == (1, 1)
                and self.out[0] * self.kernel[0] == self.padded[0]
                and self.out[1] * self.kernel[1] == self.padded[1])


def pair(value: Any, name: str, op: str) -> tuple[int, int]:
    """An int or a pair of ints as a pair, or a TypeError naming the op and the argument."""
    items = (value, value) if isinstance(value, (int, np.integer)) else value
    if (isinstance(value, bool) or not isinstance(items, (tuple, list)) or len(items) != 2
            or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in items)):
        raise TypeError(f"{op}: {name} must be an int or a pair of ints, got {value!r}")
    return int(items[0]), int(items[1])


def make_geometry(op: str, shape: tuple[int, ...], kernel: tuple[int, int], stride: tuple[int, int],
                  padding: tuple[int, int, int, int], dilation: tuple[int, int],
                  out: tuple[int, int] | None = None) -> Geometry:
    """Check the window arguments against an (N, C, H, W) shape and compute the output size.

    `out` fixes the number of window positions instead (a transposed convolution's input size).
    """
    check_window_args(op, kernel, stride, padding, dilation)
    size = (int(shape[2]), int(shape[3]))
    top, bottom, left, right = padding
    padded = (size[0] + top + bottom, size[1] + left + right)
    span = tuple(d * (k - 1) + 1 for d, k in zip(dilation, kernel))
    if padded[0] < span[0] or padded[1] < span[1]:
        what = f"kernel {kernel}" + (f" with dilation {dilation} spans {span}" if dilation != (1, 1) else "")
        raise ShapeError(
            f"{op}: {what}, larger than the padded input {padded} (input shape {tuple(shape)}, padding "
            f"{_fmt_padding(padding)}); expected a padded input at least as large as the kernel")
    if out is None:
        out = ((padded[0] - span[0]) // stride[0] + 1, (padded[1] - span[1]) // stride[1] + 1)
    return Geometry(size, kernel, stride, padding, dilation, out)


def check_window_args(op: str, kernel: tuple[int, int], stride: tuple[int, int],
                      padding: tuple[int, int, int, int], dilation: tuple[int, int]) -> None:
    """ShapeErrors for a kernel or stride below 1, negative padding or dilation below 1."""
    if min(kernel) < 1:
        raise ShapeError(f"{op}: kernel size must be >= 1, got {kernel}")
    if min(stride) < 1:
        raise ShapeError(f"{op}: stride must be >= 1, got {stride}")
    if min(padding) < 0:
        raise ShapeError(f"{op}: padding must be >= 0, got {_fmt_padding(padding)}")
    if min(dilation) < 1:
        raise ShapeError(f"{op}: dilation must be >= 1, got {dilation}")


def _fmt_padding(padding: tuple[int, int, int, int]) -> str:
    top, bottom, left, right = padding
    return str((top, left)) if (top, left) == (bottom, right) else f"(top, bottom, left, right) = {padding}"


# -- NumPy kernels ---------------------------------------------------------------------------------
def pad(x: np.ndarray, geom: Geometry, value: float = 0.0) -> np.ndarray:
    """The image padded by geom.padding with `value` (x itself when there is no padding)."""
    if not geom.has_padding:
        return x
    top, _, left, _ = geom.padding
    h, w = geom.size
    # filling everything first beats filling the thin border strips one row at a time
    out = np.zeros(x.shape[:2] + geom.padded, dtype=x.dtype) if value == 0 else \
        np.full(x.shape[:2] + geom.padded, value, dtype=x.dtype)
    out[:, :, top:top + h, left:left + w] = x
    return out


def crop(canvas: np.ndarray, geom: Geometry) -> np.ndarray:
    """The inverse of `pad`: the (H, W) image inside a padded canvas (a view)."""
    if not geom.has_padding:
        return canvas
    top, _, left, _ = geom.padding
    h, w = geom.size
    return canvas[:, :, top:top + h, left:left + w]


def windows(xp: np.ndarray, geom: Geometry) -> np.ndarray:
    """A read-only (N, C, KH, KW, OH, OW) view of the padded image: [n, c, i, j, y, x] is the input
    under kernel offset (i, j) of the window at output position (y, x)."""
    sn, sc, sh, sw = xp.strides
    (dh, dw), (th, tw) = geom.dilation, geom.stride
    return as_strided(xp, xp.shape[:2] + geom.kernel + geom.out,
                      (sn, sc, sh * dh, sw * dw, sh * th, sw * tw), writeable=False)


def im2col(x: np.ndarray, geom: Geometry, batch_inside: bool = False, out: np.ndarray | None = None) -> np.ndarray:
    """The (N, C*KH*KW, OH*OW) matrix of all windows: column p holds the window of output pixel p,
    ordered (channel, kernel row, kernel column) like a flattened (C, KH, KW) weight.

    With `batch_inside`, one (C*KH*KW, N*OH*OW) matrix for the whole batch instead. `out`, a view
    of that shape (its images may lie apart), receives the matrix instead of a new array.
    """
    n, c = x.shape[:2]
    (kh, kw), (oh, ow) = geom.kernel, geom.out
    if out is None and not batch_inside and geom.kernel == (1, 1) and geom.stride == (1, 1) and not geom.has_padding:
        return x.reshape(n, c, oh * ow)  # a 1x1 convolution reads every pixel once: no copy needed
    shape = (c, kh, kw, n, oh, ow) if batch_inside else (n, c, kh, kw, oh, ow)
    cols = np.empty(shape, dtype=x.dtype) if out is None else out.reshape(shape)

    def copy(b: slice) -> None:
        view = windows(pad(x[b], geom), geom)  # (N, C, KH, KW, OH, OW)
        if batch_inside:
            np.copyto(cols[:, :, :, b], view.transpose(1, 2, 3, 0, 4, 5))
        else:
            np.copyto(cols[b], view)
    over_batch(copy, n, cols.nbytes)
    if out is not None:
        return out
    return cols.reshape((c * kh * kw, n * oh * ow) if batch_inside else (n, c * kh * kw, oh * ow))


def col2im(cols: np.ndarray, geom: Geometry, channels: int) -> np.ndarray:
    """The adjoint of `im2col`: add every window column back onto an (N, C, H, W) image.

    One strided in-place add per kernel offset; overlapping windows accumulate.
    """
    n = cols.shape[0]
    (kh, kw), (oh, ow) = geom.kernel, geom.out
    canvas = np.zeros((n, channels) + geom.padded, dtype=cols.dtype)
    blocks = cols.reshape(n, channels, kh * kw, oh, ow)
    for k, (rows, columns) in geom.offsets():
        canvas[:, :, rows, columns] += blocks[:, :, k]
    return crop(canvas, geom)


# Grid columns (stride 1). Put each channel's output gradient at the top left of the padded image's
# grid (HP * WP, zeros elsewhere). The input under kernel offset (i, j) of every output pixel is then
# that grid shifted by i * dh * WP + j * dw - for all channels of an image at once - so col2im is
# one long contiguous add per offset, with columns ordered (offset, channel). A real value lands at
# most at row OH - 1 + (KH - 1) * dh = HP - 1 and column WP - 1, inside its own channel's grid; what
# a shift carries past a grid's end are the zeros around the outputs.
def on_grid(grad: np.ndarray, geom: Geometry) -> np.ndarray:
    """(N, C, OH, OW) -> (N, C, HP * WP): each channel at the top left of the padded grid, zeros around."""
    n, c, oh, ow = grad.shape
    hp, wp = geom.padded
    out = np.zeros((n, c, hp, wp), dtype=grad.dtype)
    out[:, :, :oh, :ow] = grad
    return out.reshape(n, c, hp * wp)


def offsets_first(weight: np.ndarray, groups: int) -> np.ndarray:
    """A convolution weight (C_out, C/G, KH, KW) as (G, KH*KW*C/G, C_out/G): the transposed weight
    of each group, its rows ordered (kernel offset, channel) as `col2im_grid_into` wants them."""
    c_out, cg, kh, kw = weight.shape
    per_group = weight.reshape(groups, c_out // groups, cg, kh, kw).transpose(0, 3, 4, 2, 1)
    return np.ascontiguousarray(per_group).reshape(groups, kh * kw * cg, c_out // groups)


def grid_canvas(n: int, c: int, geom: Geometry, dtype: np.dtype) -> np.ndarray:
    """Room for col2im on the padded grids of n images, uninitialised (zero it first): each image's
    C grids, flat, then room for the largest shift."""
    hp, wp = geom.padded
    (kh, kw), (dh, dw) = geom.kernel, geom.dilation
    return np.empty((n, c * hp * wp + (kh - 1) * dh * wp + (kw - 1) * dw), dtype=dtype)


def col2im_grid_into(canvas: np.ndarray, cols: np.ndarray, geom: Geometry) -> None:
    """Add grid columns (N, G, KH*KW, C/G * HP*WP) onto grid canvases (N, C * HP*WP + room)."""
    n, groups, offsets, length = cols.shape
    (kh, kw), (dh, dw), wp = geom.kernel, geom.dilation, geom.padded[1]
    for i in range(kh):
        for j in range(kw):
            start = i * dh * wp + j * dw
            target = canvas[:, start:start + groups * length].reshape(n, groups, length)  # a view
            target += cols[:, :, i * kw + j]


def grid_image(canvas: np.ndarray, c: int, geom: Geometry) -> np.ndarray:
    """The (N, C, H, W) image inside grid canvases (a view)."""
    hp, wp = geom.padded
    return crop(canvas[:, :c * hp * wp].reshape(len(canvas), c, hp, wp), geom)


def batch_chunk(per_item_bytes: int) -> int:
    """How many batch items to process at once so their intermediate stays in cache."""
    return max(1, _CHUNK_BYTES // max(per_item_bytes, 1))


# -- differentiable unfold / fold ------------------------------------------------------------------
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
