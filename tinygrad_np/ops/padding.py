"""F.pad with PyTorch's four modes: constant, reflect, replicate and circular.

`pad` lists (before, after) pairs from the last axis backwards, as PyTorch: (left, right, top, bottom, ...).
Constant padding is the Pad op; the other modes read each padded axis through an index array
(reflect: mirror without repeating the edge, replicate: repeat the edge, circular: wrap around),
so their gradient is indexing's: summed back onto the elements that were copied.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..errors import ShapeError
from ..tensor import Tensor
from ._util import require_float_tensor

__all__ = ["pad"]

_NUMPY_MODES = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}


def _pairs(pad: Any, ndim: int, op: str) -> list[tuple[int, int]]:
    """PyTorch's flat pad sequence as (before, after) per axis, first axis first."""
    if not isinstance(pad, (tuple, list)) or len(pad) % 2 or not all(
            isinstance(p, (int, np.integer)) and not isinstance(p, bool) for p in pad):
        raise TypeError(f"{op}: pad must be a sequence of an even number of ints (left, right, top, "
                        f"bottom, ...), got {pad!r}")
    if len(pad) // 2 > ndim:
        raise ShapeError(f"{op}: pad {tuple(pad)} pads {len(pad) // 2} axes, but the input has only {ndim}")
    pairs = [(0, 0)] * ndim
    for k in range(len(pad) // 2):
        pairs[ndim - 1 - k] = (int(pad[2 * k]), int(pad[2 * k + 1]))
    return pairs


def pad_index(n: int, before: int, after: int, mode: str) -> np.ndarray:
    """The source index of each position of an axis of length n padded by (before, after) in `mode`."""
    return np.pad(np.arange(n), (before, after), mode=_NUMPY_MODES[mode])


def pad(input: Tensor, pad: Sequence[int], mode: str = "constant", value: float | None = None) -> Tensor:
    """Pad the last len(pad) // 2 axes by pad = (left, right, top, bottom, ...). mode="constant" fills
    with `value` (default 0); "reflect", "replicate" and "circular" pad up to 3 trailing axes of a
    batched input (2-D to 5-D), as PyTorch."""
    op = "pad"
    require_float_tensor(input, op)
    if mode not in ("constant",) + tuple(_NUMPY_MODES):
        raise ValueError(f"{op}: mode must be 'constant', 'reflect', 'replicate' or 'circular', got {mode!r}")
    pairs = _pairs(pad, input.ndim, op)
    if mode == "constant":
        if any(b < 0 or a < 0 for b, a in pairs):
            raise ShapeError(f"{op}: negative padding {tuple(pad)} is not supported (crop with indexing)")
        return input.pad(pairs, value=0.0 if value is None else value)
    if value is not None and value != 0:
        raise ValueError(f"{op}: value is only for mode='constant', got value={value} with mode={mode!r}")
    axes = len(pad) // 2
    if not 1 <= axes <= 3 or input.ndim not in (axes + 1, axes + 2):
        raise ShapeError(f"{op}: mode={mode!r} pads 1 to 3 trailing axes of an input with one or two more "
                         f"(batch, channel) axes; got pad {tuple(pad)} for input shape {input.shape}")
    out = input
    for axis in range(input.ndim - axes, input.ndim):
        before, after = pairs[axis]
        n = input.shape[axis]
        if before < 0 or after < 0:
            raise ShapeError(f"{op}: negative padding {tuple(pad)} is not supported with mode={mode!r}")
        limit, rule = (n - 1, "smaller than") if mode == "reflect" else (n, "at most")
        if mode != "replicate" and max(before, after) > limit or n == 0 and (before or after):
            raise ShapeError(f"{op}: mode={mode!r} needs padding {rule} the padded axis ({n}), got "
                             f"({before}, {after}) for axis {axis} of input shape {input.shape}")
        if before or after:
            out = out[(slice(None),) * axis + (pad_index(n, before, after, mode),)]
    return out
