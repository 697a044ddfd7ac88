"""Writing and reading by index: index_put (`t[index] = value`), gather, scatter and scatter_add.

gather and scatter follow PyTorch: `index` has the input's number of axes, and along `axis` it says
which element to read (or where to write); along every other axis position i is position i. Each
op's gradient is another op of this module, so all of them can be differentiated twice.
"""
from __future__ import annotations

import numpy as np

from ..autograd.function import Function
from ..errors import ShapeError
from ..tensor import Tensor
from ._util import zero as _zero
from .shape import normalize_axis


class IndexPut(Function):
    """A copy of `target` with `value` written at `index` (`inplace`: written into target itself,
    which `Tensor.__setitem__` uses). The old values at `index` are overwritten, so their gradient
    is 0 there; every written value gets the gradient of the position it went to (a repeated
    index gives each of its values that gradient, as PyTorch's index_put)."""

    @staticmethod
    def forward(ctx, target, value, index, inplace=False):
        ctx.index = index
        ctx.value_shape = np.shape(value)
        out = target if inplace else target.copy()
        try:
            out[index] = value
        except IndexError as exc:
            raise IndexError(f"index_put: {exc} (tensor shape {target.shape})") from None
        except ValueError:
            raise ShapeError(f"index_put: cannot write a value of shape {np.shape(value)} into the "
                             f"{np.shape(target[index])} elements selected from a tensor of shape "
                             f"{target.shape}: the value must broadcast to {np.shape(target[index])}") from None
        return out

    @staticmethod
    def backward(ctx, grad):
        g_target = IndexPut.apply(grad, _zero(grad.dtype), index=ctx.index) if ctx.needs_input_grad[0] else None
        g_value = None
        if ctx.needs_input_grad[1]:
            g_value = grad[ctx.index]
            lead = g_value.ndim - len(ctx.value_shape)
            if lead < 0:  # the value had extra leading axes of length 1 (NumPy drops them when writing)
                g_value = g_value.reshape((1,) * -lead + g_value.shape)
            g_value = g_value.sum_to(ctx.value_shape)
        return g_target, g_value


def along_axis_index(op: str, shape: tuple[int, ...], index: np.ndarray, axis: int,
                     src_shape: tuple[int, ...] | None = None) -> tuple[np.ndarray, ...]:
    """The NumPy index that reads (gather) or writes (scatter) `index` along `axis` of a tensor of
    `shape`, after checking it as PyTorch does: an integer array with as many axes as the tensor, no
    longer than it on the other axes (nor than `src_shape` on any), every entry in [0, shape[axis])."""
    if index.dtype.kind not in "iu":
        raise TypeError(f"{op}: index must be an integer tensor, got dtype {index.dtype} (shape {index.shape})")
    if max(index.ndim, 1) != max(len(shape), 1):  # as PyTorch, a 0-d tensor counts as 1-d here
        raise ShapeError(f"{op}: index has {index.ndim} dimension(s) (shape {index.shape}) but the tensor has "
                         f"{len(shape)} (shape {shape}); they must have the same number of dimensions")
    shape, index = shape or (1,), index.reshape(index.shape or (1,))
    too_long = [d for d in range(len(shape)) if d != axis and index.shape[d] > shape[d]]
    if too_long:
        raise ShapeError(f"{op}: index of shape {index.shape} is longer than the tensor of shape {shape} on "
                         f"axis {too_long[0]}; expected index.shape[d] <= shape[d] for every axis d != {axis}")
    if src_shape is not None and (max(len(src_shape), 1) != index.ndim
                                  or any(i > s for i, s in zip(index.shape, src_shape or (1,)))):
        raise ShapeError(f"{op}: src of shape {src_shape} must have index's {index.ndim} dimension(s) and be "
                         f"at least as long as index (shape {index.shape}) on every axis")
    if index.size and (index.min() < 0 or index.max() >= shape[axis]):
        bad = index.min() if index.min() < 0 else index.max()
        raise IndexError(f"{op}: index {bad} is out of range for axis {axis} of length {shape[axis]} "
                         f"(tensor shape {shape}); expected indexes in [0, {shape[axis] - 1}]")
    full = list(np.ix_(*[np.arange(n) for n in index.shape]))
    full[axis] = index
    return tuple(full)


def _check_axis(op: str, x: np.ndarray, axis: int) -> int:
    return normalize_axis(axis, max(x.ndim, 1), op, x.shape)  # a 0-d tensor counts as 1-d


def _leading(src: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """The leading `shape` block of src (scatter reads only as much of src as index covers)."""
    if src.shape == shape or src.ndim == 0:
        return src
    return src[tuple(slice(0, n) for n in shape)]


def _at_least_1d(x: np.ndarray) -> np.ndarray:
    """x as a 1-d view if it is 0-d: gather and scatter treat a 0-d tensor as one of length 1."""
    return x.reshape(1) if x.ndim == 0 else x


def _src_grad(grad: Tensor, index: np.ndarray, axis: int, src_shape: tuple[int, ...]) -> Tensor:
    """The gradient of scatter's src: each src element gets the gradient where it was written
    (gather), and the part of src that index does not cover gets 0."""
    g = Gather.apply(grad, index=index, axis=axis)
    if g.ndim == len(src_shape) and g.shape != src_shape:
        g = g.pad([(0, s - n) for s, n in zip(src_shape, g.shape)])
    return g if g.shape == src_shape else g.reshape(src_shape)  # a 0-d src read as length 1


class Gather(Function):
    """out[i][j] = x[index[i][j]][j] for axis 0 (PyTorch's gather); the gradient is added back at
    the positions read, so an element read twice gets both gradients."""

    @staticmethod
    def forward(ctx, x, index, axis):
        ctx.axis = axis = _check_axis("gather", x, axis)
        ctx.index = index = np.asarray(index)
        ctx.in_shape = x.shape
        return _at_least_1d(x)[along_axis_index("gather", x.shape, index, axis)].reshape(index.shape)

    @staticmethod
    def backward(ctx, grad):
        zeros = Tensor._make(np.zeros(ctx.in_shape, dtype=grad.dtype), None)
        return ScatterAdd.apply(zeros, grad, index=ctx.index, axis=ctx.axis)


class Scatter(Function):
    """A copy of `target` with src (a tensor, or a number) written at `index` along `axis`
    (PyTorch's scatter). The overwritten values get gradient 0; each src element gets the gradient
    of the position it was written to."""

    @staticmethod
    def forward(ctx, target, src, index, axis, scalar=False):
        ctx.scalar = scalar  # src is a number (PyTorch's `value`), broadcast to every indexed position
        ctx.axis = axis = _check_axis("scatter", target, axis)
        ctx.index = index = np.asarray(index)
        ctx.src_shape = np.shape(src)
        is_tensor = isinstance(src, np.ndarray) and not ctx.scalar
        where = along_axis_index("scatter", target.shape, index, axis, src.shape if is_tensor else None)
        out = target.copy()
        flat = _at_least_1d(out)
        flat[where] = _leading(src, index.shape).reshape(np.shape(flat[where])) if is_tensor else src
        return out

    @staticmethod
    def backward(ctx, grad):
        g_target = (Scatter.apply(grad, _zero(grad.dtype), index=ctx.index, axis=ctx.axis, scalar=True)
                    if ctx.needs_input_grad[0] else None)
        g_src = _src_grad(grad, ctx.index, ctx.axis, ctx.src_shape) if ctx.needs_input_grad[1] else None
        return g_target, g_src


class ScatterAdd(Function):
    """A copy of `target` with src added at `index` along `axis` (repeated indexes accumulate, as
    PyTorch's scatter_add); the gradient of target is the gradient, of src a gather of it."""

    @staticmethod
    def forward(ctx, target, src, index, axis):
        ctx.axis = axis = _check_axis("scatter_add", target, axis)
        ctx.index = index = np.asarray(index)
        ctx.src_shape = src.shape
        where = along_axis_index("scatter_add", target.shape, index, axis, src.shape)
        out = target.copy()
        flat = _at_least_1d(out)
        np.add.at(flat, where, _leading(src, index.shape).reshape(np.shape(flat[where])))
        return out

    @staticmethod
    def backward(ctx, grad):
        g_src = _src_grad(grad, ctx.index, ctx.axis, ctx.src_shape) if ctx.needs_input_grad[1] else None
        return grad, g_src


def index_array(index: Any, op: str) -> np.ndarray:
    """An index argument (a Tensor, an array, a list or an int) as an integer array."""
    array = np.asarray(index.data if isinstance(index, Tensor) else index)
    if array.dtype.kind not in "iu" and not (array.size == 0 and array.dtype.kind == "f"):
        raise TypeError(f"{op}: index must be integers, got dtype {array.dtype} (shape {array.shape})")
    return array.astype(np.int64, copy=False)

