"""Ops that move data without arithmetic: reshape, transpose, broadcast, pad, indexing, joining."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..autograd.function import Function
from ..errors import ShapeError
from ..kernels.layout import reshape
from ..tensor import Tensor


def normalize_axis(axis: int, ndim: int, op: str, shape: tuple[int, ...] | None = None) -> int:
    """A non-negative axis, or a ShapeError that names the op, the axis, the shape and the valid range.

    `shape` is the input's shape (for ops that insert an axis, `ndim` is one more than its length).
    """
    if not isinstance(axis, (int, np.integer)):
        raise TypeError(f"{op}: axis must be an int, got {type(axis).__name__}")
    if not -ndim <= axis < max(ndim, 1):
        if shape is None:
            what = f"a tensor with {ndim} dimension(s)"
        elif len(shape) == ndim:
            what = f"a tensor of shape {tuple(shape)} ({ndim} dimension(s))"
        else:
            what = f"inputs of shape {tuple(shape)} (the result has {ndim} dimension(s))"
        raise ShapeError(f"{op}: axis {axis} is out of range for {what}; expected an axis in "
                         f"[{-ndim}, {max(ndim, 1) - 1}]")
    return int(axis) % max(ndim, 1)


def normalize_axes(axis: int | Sequence[int] | None, ndim: int, op: str,
                   shape: tuple[int, ...] | None = None) -> tuple[int, ...]:
    """All axes for None, else the sorted non-negative axes (duplicates rejected)."""
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    if ndim == 0 and all(a in (0, -1) for a in axes):
        return ()
    result = tuple(sorted(normalize_axis(a, ndim, op, shape) for a in axes))
    if len(set(result)) != len(result):
        where = f" for a tensor of shape {tuple(shape)}" if shape is not None else ""
        raise ShapeError(f"{op}: repeated axis in {axis}{where}; each axis may appear once")
    return result


class Reshape(Function):
    @staticmethod
    def forward(ctx, x, shape):
        ctx.in_shape = x.shape
        if any(n < -1 for n in shape):
            raise ShapeError(_reshape_message(x.shape, x.size, tuple(shape)))
        try:
            return reshape(x, tuple(shape))
        except ValueError:
            raise ShapeError(_reshape_message(x.shape, x.size, tuple(shape))) from None

    @staticmethod
    def backward(ctx, grad):
        return grad.reshape(ctx.in_shape)


def _reshape_message(in_shape: tuple[int, ...], size: int, shape: tuple[Any, ...]) -> str:
    """Why `shape` cannot hold `size` elements: a count mismatch, an indivisible -1, or a bad length."""
    head = f"reshape: cannot reshape a tensor of shape {in_shape} ({size} elements) into shape {shape}"
    if sum(1 for n in shape if n == -1) > 1:
        return f"{head}: at most one length can be -1 (inferred)"
    if any(n < -1 for n in shape):
        return f"{head}: lengths must be >= 0 (or -1 for one inferred length)"
    known = int(np.prod([n for n in shape if n != -1]))
    if -1 in shape:
        return (f"{head}: the other lengths multiply to {known}, which does not divide {size}, so the "
                f"-1 length cannot be inferred")
    return f"{head} ({known} elements): the number of elements must stay the same"


class Transpose(Function):
    """Permute axes (reverse them when `axes` is None); backward applies the inverse permutation."""

    @staticmethod
    def forward(ctx, x, axes=None):
        if axes is None:
            axes = tuple(reversed(range(x.ndim)))
        normalized = tuple(normalize_axis(a, x.ndim, "transpose", x.shape) for a in axes)
        if sorted(normalized) != list(range(x.ndim)):
            raise ShapeError(f"transpose: axes {tuple(axes)} are not a permutation of the {x.ndim} axes of shape {x.shape}")
        ctx.axes = normalized  # non-negative, so argsort in backward gives the inverse permutation
        return np.transpose(x, ctx.axes)

    @staticmethod
    def backward(ctx, grad):
        return grad.transpose(*np.argsort(ctx.axes).tolist())


class BroadcastTo(Function):
    @staticmethod
    def forward(ctx, x, shape):
        ctx.in_shape = x.shape
        try:
            return np.broadcast_to(x, shape)
        except ValueError:
            raise ShapeError(f"broadcast_to: cannot broadcast shape {x.shape} to {tuple(shape)}") from None

    @staticmethod
    def backward(ctx, grad):
        return grad.sum_to(ctx.in_shape)


class SumTo(Function):
    """Sum a broadcast result back to `shape`: over extra leading axes and over axes that were 1."""

    @staticmethod
    def forward(ctx, x, shape):
        ctx.in_shape = x.shape
        lead = x.ndim - len(shape)
        if lead < 0 or any(s != 1 and s != n for s, n in zip(shape, x.shape[lead:])):
            raise ShapeError(f"sum_to: shape {x.shape} cannot be summed to {tuple(shape)}")
        axes = tuple(range(lead)) + tuple(lead + i for i, s in enumerate(shape) if s == 1 and x.shape[lead + i] != 1)
        out = np.sum(x, axis=axes, keepdims=True) if axes else x
        return out.reshape(shape)

    @staticmethod
    def backward(ctx, grad):
        return grad.broadcast_to(ctx.in_shape)


class Pad(Function):
    """Constant padding (NumPy's `pad_width`); backward slices the padding off again."""

    @staticmethod
    def forward(ctx, x, pad_width, value=0.0):
        try:
            widths = (np.broadcast_to(np.asarray(pad_width, dtype=np.int64), (x.ndim, 2)) if x.ndim
                      else np.zeros((0, 2), np.int64))
        except ValueError:
            raise ShapeError(
                f"pad: pad_width {np.asarray(pad_width).tolist()} does not fit a tensor of shape {x.shape}: "
                f"expected one (before, after) pair per axis ({x.ndim} pairs), a single pair, or an int"
            ) from None
        if (widths < 0).any():
            raise ShapeError(f"pad: pad widths must be >= 0, got {np.asarray(pad_width).tolist()}")
        ctx.window = tuple(slice(int(b), int(b) + n) for (b, _), n in zip(widths, x.shape))
        return np.pad(x, widths, mode="constant", constant_values=value)

    @staticmethod
    def backward(ctx, grad):
        return grad[ctx.window]


def _is_basic(index: Any) -> bool:
    """True for indexes made only of ints, slices, None and Ellipsis (views, no repeated elements)."""
    items = index if isinstance(index, tuple) else (index,)
    return all(isinstance(i, (int, np.integer, slice)) or i is None or i is Ellipsis for i in items)


def _plain_index(index: Any) -> Any:
    """Replace Tensors inside an index by their arrays."""
    if isinstance(index, tuple):
        return tuple(i.data if isinstance(i, Tensor) else i for i in index)
    return index.data if isinstance(index, Tensor) else index


class GetItem(Function):
    """x[index] with NumPy's basic and advanced indexing; backward scatters the gradient back."""

    @staticmethod
    def forward(ctx, x, index):
        ctx.index = _plain_index(index)
        ctx.in_shape = x.shape
        try:
            return x[ctx.index]
        except IndexError as exc:
            raise IndexError(f"getitem: {exc} (tensor shape {x.shape})") from None

    @staticmethod
    def backward(ctx, grad):
        return IndexAdd.apply(grad, index=ctx.index, shape=ctx.in_shape)


class IndexAdd(Function):
    """Zeros of `shape` with `values` added at `index` (repeated indexes accumulate).

    The backward of indexing, and indexing is its backward, so both are twice differentiable.
    """

    @staticmethod
    def forward(ctx, values, index, shape):
        ctx.index = index
        out = np.zeros(shape, dtype=values.dtype)
        if _is_basic(index):
            out[index] = values
        else:
            np.add.at(out, index, values)
        return out

    @staticmethod
    def backward(ctx, grad):
        return grad[ctx.index]


def _joined_dtype(arrays: tuple[np.ndarray, ...]) -> np.dtype | None:
    """Integers joined with floats take the floats' dtype (as PyTorch), not NumPy's float64; None
    leaves the choice to NumPy."""
    floats = [a.dtype for a in arrays if a.dtype.kind == "f"]
    if floats and len(floats) < len(arrays) and all(a.dtype.kind in "biuf" for a in arrays):
        return np.result_type(*floats)
    return None


class Concatenate(Function):
    @staticmethod
    def forward(ctx, *arrays, axis=0):
        if not arrays:
            raise ShapeError("concatenate: got an empty sequence; expected at least one tensor")
        ctx.axis = normalize_axis(axis, arrays[0].ndim, "concatenate", arrays[0].shape)
        ctx.bounds = np.cumsum([0] + [a.shape[ctx.axis] for a in arrays]).tolist()
        try:
            return np.concatenate(arrays, axis=ctx.axis, dtype=_joined_dtype(arrays))
        except ValueError:
            shapes = ", ".join(str(a.shape) for a in arrays)
            raise ShapeError(
                f"concatenate: all shapes must match except on axis {axis}; got {shapes}") from None

    @staticmethod
    def backward(ctx, grad):
        lead = (slice(None),) * ctx.axis
        return tuple(grad[lead + (slice(lo, hi),)] for lo, hi in zip(ctx.bounds[:-1], ctx.bounds[1:]))


class Stack(Function):
    @staticmethod
    def forward(ctx, *arrays, axis=0):
        if not arrays:
            raise ShapeError("stack: got an empty sequence; expected at least one tensor")
        ctx.axis = normalize_axis(axis, arrays[0].ndim + 1, "stack", arrays[0].shape)
        ctx.count = len(arrays)
        if len({a.shape for a in arrays}) > 1:
            shapes = ", ".join(str(a.shape) for a in arrays)
            raise ShapeError(f"stack: all tensors must have the same shape; got {shapes}")
        return np.stack(arrays, axis=ctx.axis, dtype=_joined_dtype(arrays))

    @staticmethod
    def backward(ctx, grad):
        lead = (slice(None),) * ctx.axis
        return tuple(grad[lead + (i,)] for i in range(ctx.count))
