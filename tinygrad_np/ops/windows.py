"""The window arguments of convolution, pooling, unfold and fold (kernel size, stride, padding,
dilation), checked with errors that name the op, and turned into a `Geometry`."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..errors import ShapeError
from ..kernels.geometry import Geometry

IntPair = int | Sequence[int]


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

