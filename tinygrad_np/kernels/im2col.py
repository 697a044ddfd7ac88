"""im2col and col2im: all sliding windows of an (N, C, H, W) image as the columns of a matrix, and
that matrix added back onto the image (the adjoint). `reference.im2col`/`reference.col2im` say the
same in a few lines; these add the speed: a strided view copied once, split over the batch threads,
a 1x1 convolution's matrix without a copy, and for stride-1 convolutions' input gradient the "grid"
col2im below.
"""
from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided

from .geometry import Geometry
from .layout import empty_nchw
from .threads import over_batch

# Batch chunks of about this many bytes keep col2im's intermediate in cache while it is added back.
_CHUNK_BYTES = 1 << 21


def pad(x: np.ndarray, geom: Geometry, value: float = 0.0, channels_last: bool = False) -> np.ndarray:
    """The image padded by geom.padding with `value` (x itself when there is no padding), stored
    channels last if asked."""
    if not geom.has_padding:
        return x
    top, _, left, _ = geom.padding
    h, w = geom.size
    # filling everything first beats filling the thin border strips one row at a time
    out = empty_nchw(x.shape[:2] + geom.padded, x.dtype, channels_last, zeros=value == 0)
    if value != 0:
        out.fill(value)
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

