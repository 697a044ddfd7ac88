"""Tensor's operators and op methods (`+`, `@`, `exp`, `sum`, `reshape`, indexing, sorting, ...).

The core class `Tensor` (tinygrad_np/tensor.py) imports no op; the ops import it. So the methods that
call ops are written here, in the class body of `TensorMethods`, and `install(Tensor)` copies them
onto Tensor once (tinygrad_np/__init__.py calls it): `x + y` runs `TensorMethods.__add__`, which
applies `elementwise.Add`.
"""
from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..errors import ShapeError
from ..tensor import ArrayLike, Axis, Tensor, ValuesIndices, _shape_arg
from ..torch_names import torch_aliases
from . import activation, elementwise, indexing, linalg, reduction
from . import shape as shape_ops


class TensorMethods:
    """The op-calling methods of Tensor; `install` binds each of them to Tensor under its own name."""

    def astype(self, dtype: Any) -> Tensor:
        """Cast to another dtype (differentiable between float dtypes)."""
        return elementwise.Cast.apply(self, dtype=np.dtype(dtype))

    def float(self) -> Tensor:
        return self.astype(np.float32)

    def double(self) -> Tensor:
        return self.astype(np.float64)


    def _arith_operand(self, other: Any) -> Tensor | np.ndarray:
        """The other operand of + - * / ** @. A Python number becomes a 0-d array of this tensor's
        float dtype: a constant outside the graph, as PyTorch's wrapped numbers, so `x * 2` makes
        one node and no constant Tensor."""
        if (type(other) is float or type(other) is int) and self.data.dtype.kind == "f":
            return np.array(other, dtype=self.data.dtype)
        return self._operand(other)

    def __add__(self, other: ArrayLike) -> Tensor:
        return elementwise.Add.apply(self, self._arith_operand(other))

    def __radd__(self, other: ArrayLike) -> Tensor:
        return elementwise.Add.apply(self._arith_operand(other), self)

    def __sub__(self, other: ArrayLike) -> Tensor:
        return elementwise.Sub.apply(self, self._arith_operand(other))

    def __rsub__(self, other: ArrayLike) -> Tensor:
        return elementwise.Sub.apply(self._arith_operand(other), self)

    def __mul__(self, other: ArrayLike) -> Tensor:
        return elementwise.Mul.apply(self, self._arith_operand(other))

    def __rmul__(self, other: ArrayLike) -> Tensor:
        return elementwise.Mul.apply(self._arith_operand(other), self)

    def __truediv__(self, other: ArrayLike) -> Tensor:
        return elementwise.Div.apply(self, self._arith_operand(other))

    def __rtruediv__(self, other: ArrayLike) -> Tensor:
        return elementwise.Div.apply(self._arith_operand(other), self)

    def __pow__(self, exponent: ArrayLike) -> Tensor:
        if isinstance(exponent, (int, float)) and not isinstance(exponent, bool):
            return elementwise.Pow.apply(self, exponent)  # a constant exponent stays a Python number
        return elementwise.Pow.apply(self, self._arith_operand(exponent))

    def __rpow__(self, base: ArrayLike) -> Tensor:
        return elementwise.Pow.apply(self._arith_operand(base), self)

    def __neg__(self) -> Tensor:
        return elementwise.Neg.apply(self)

    def __matmul__(self, other: ArrayLike) -> Tensor:
        return linalg.MatMul.apply(self, self._arith_operand(other))

    def __rmatmul__(self, other: ArrayLike) -> Tensor:
        return linalg.MatMul.apply(self._arith_operand(other), self)

    def matmul(self, other: ArrayLike) -> Tensor:
        return self @ other

    # comparisons: boolean results, never differentiable
    def _compare(self, other: Any, fn: Callable[[Any, Any], np.ndarray]) -> Tensor:
        other = other.data if isinstance(other, Tensor) else other
        return Tensor._make(np.asarray(fn(self.data, other)), None)

    def __lt__(self, other: ArrayLike) -> Tensor:
        return self._compare(other, np.less)

    def __le__(self, other: ArrayLike) -> Tensor:
        return self._compare(other, np.less_equal)

    def __gt__(self, other: ArrayLike) -> Tensor:
        return self._compare(other, np.greater)

    def __ge__(self, other: ArrayLike) -> Tensor:
        return self._compare(other, np.greater_equal)

    def __eq__(self, other: object) -> Tensor:  # type: ignore[override]
        return self._compare(other, np.equal)

    def __ne__(self, other: object) -> Tensor:  # type: ignore[override]
        return self._compare(other, np.not_equal)

    # -- elementwise ----------------------------------------------------------------------------
    def exp(self) -> Tensor:
        return elementwise.Exp.apply(self)

    def log(self) -> Tensor:
        return elementwise.Log.apply(self)

    def sqrt(self) -> Tensor:
        return elementwise.Sqrt.apply(self)

    def abs(self) -> Tensor:
        return elementwise.Abs.apply(self)

    def relu(self) -> Tensor:
        return elementwise.ReLU.apply(self)

    def sigmoid(self) -> Tensor:
        return elementwise.Sigmoid.apply(self)

    def tanh(self) -> Tensor:
        return elementwise.Tanh.apply(self)

    @torch_aliases
    def softmax(self, axis: int = -1) -> Tensor:
        """exp(x) / sum(exp(x)) along `axis`, computed stably (shifted by the max)."""
        return activation.softmax(self, axis=axis)

    @torch_aliases
    def log_softmax(self, axis: int = -1) -> Tensor:
        """x - logsumexp(x) along `axis`: finite even for huge logits."""
        return activation.log_softmax(self, axis=axis)

    def clip(self, lo: float | None = None, hi: float | None = None) -> Tensor:
        """Limit values to [lo, hi]; the gradient is 1 inside (bounds included) and 0 outside."""
        return elementwise.Clip.apply(self, lo=lo, hi=hi)

    # -- reductions --------------------------------------------------------------------------
    @torch_aliases
    def sum(self, axis: Axis = None, keepdims: bool = False) -> Tensor:
        return reduction.Sum.apply(self, axis=axis, keepdims=keepdims)

    @torch_aliases
    def mean(self, axis: Axis = None, keepdims: bool = False) -> Tensor:
        return reduction.Mean.apply(self, axis=axis, keepdims=keepdims)

    @torch_aliases
    def max(self, axis: Axis = None, keepdims: bool = False, return_indices: bool = False) -> Tensor | ValuesIndices:
        """Maximum; tied maxima share the gradient equally. With `return_indices=True` (an int axis),
        PyTorch's `max(dim)`: (values, indices), the gradient going to the first maximum only."""
        if return_indices:
            return self._extreme_along("max", axis, keepdims)
        return reduction.Max.apply(self, axis=axis, keepdims=keepdims)

    @torch_aliases
    def min(self, axis: Axis = None, keepdims: bool = False, return_indices: bool = False) -> Tensor | ValuesIndices:
        """Minimum; tied minima share the gradient equally. With `return_indices=True` (an int axis),
        PyTorch's `min(dim)`: (values, indices), the gradient going to the first minimum only."""
        if return_indices:
            return self._extreme_along("min", axis, keepdims)
        return reduction.Min.apply(self, axis=axis, keepdims=keepdims)

    @torch_aliases
    def var(self, axis: Axis = None, keepdims: bool = False, ddof: int = 0) -> Tensor:
        """Variance (NumPy's default ddof=0: the biased estimate)."""
        return reduction.Var.apply(self, axis=axis, keepdims=keepdims, ddof=ddof)

    @torch_aliases
    def logsumexp(self, axis: Axis = None, keepdims: bool = False) -> Tensor:
        """log(sum(exp(x))) computed stably (shifted by the max)."""
        return reduction.LogSumExp.apply(self, axis=axis, keepdims=keepdims)

    @torch_aliases
    def argmax(self, axis: int | None = None, keepdims: bool = False) -> Tensor:
        return Tensor._make(np.asarray(np.argmax(self.data, axis=axis, keepdims=keepdims)), None)

    @torch_aliases
    def argmin(self, axis: int | None = None, keepdims: bool = False) -> Tensor:
        return Tensor._make(np.asarray(np.argmin(self.data, axis=axis, keepdims=keepdims)), None)

    # -- shape ---------------------------------------------------------------------------------
    def reshape(self, *shape: int | Sequence[int]) -> Tensor:
        return shape_ops.Reshape.apply(self, shape=_shape_arg(shape))

    def transpose(self, *axes: int | Sequence[int]) -> Tensor:
        """Permute axes; with no arguments reverse them (as NumPy)."""
        return shape_ops.Transpose.apply(self, axes=_shape_arg(axes) if axes else None)

    @torch_aliases
    def flatten(self, start_axis: int = 0) -> Tensor:
        """Merge the axes from `start_axis` on into one."""
        start = shape_ops.normalize_axis(start_axis, self.ndim, "flatten", self.shape) if self.ndim else 0
        return self.reshape(*self.shape[:start], -1)

    @torch_aliases
    def squeeze(self, axis: Axis = None) -> Tensor:
        """Remove axes of length 1 (all of them, or the given ones, which must have length 1)."""
        if axis is None:
            axes = tuple(i for i, n in enumerate(self.shape) if n == 1)
        else:
            axes = shape_ops.normalize_axes(axis, self.ndim, "squeeze", self.shape)
            wrong = [a for a in axes if self.shape[a] != 1]
            if wrong:
                raise ShapeError(f"squeeze: axis {wrong[0]} has length {self.shape[wrong[0]]}, not 1 (shape {self.shape})")
        return self.reshape(tuple(n for i, n in enumerate(self.shape) if i not in axes))

    @torch_aliases
    def unsqueeze(self, axis: int) -> Tensor:
        """Insert an axis of length 1 at `axis` (counted in the result, as NumPy's expand_dims)."""
        axis = shape_ops.normalize_axis(axis, self.ndim + 1, "unsqueeze", self.shape)
        return self.reshape(self.shape[:axis] + (1,) + self.shape[axis:])

    def broadcast_to(self, shape: Sequence[int]) -> Tensor:
        return shape_ops.BroadcastTo.apply(self, shape=tuple(shape))

    def sum_to(self, shape: Sequence[int]) -> Tensor:
        """Sum broadcast axes away so the result has `shape` (the backward of broadcasting)."""
        if tuple(shape) == self.shape:
            return self
        return shape_ops.SumTo.apply(self, shape=tuple(shape))

    def pad(self, pad_width: Any, value: float = 0.0) -> Tensor:
        """Constant padding with NumPy's `pad_width` convention."""
        return shape_ops.Pad.apply(self, pad_width=pad_width, value=value)

    def __getitem__(self, index: Any) -> Tensor:
        return shape_ops.GetItem.apply(self, index=index)

    # -- writing by index (PyTorch's setitem, masked_fill, gather, scatter) ------------------------
    def __setitem__(self, index: Any, value: ArrayLike) -> None:
        """`t[index] = value` in place (basic, integer-array or boolean-mask index; value broadcast).

        In a recorded graph this tensor becomes the output of an IndexPut op whose inputs are its
        old self and the value (PyTorch's rebase): the old values get gradient 0 at `index`, the
        value the gradient of where it went. A leaf that requires grad cannot be written in grad
        mode (use `with tg.no_grad():`), and writing bumps the version, so a graph that saved this
        tensor for backward raises instead of using the new values.
        """
        value = value if isinstance(value, Tensor) else self._operand(value)
        index = shape_ops._plain_index(index)
        if self._recorded("__setitem__", value):
            self._rebase("__setitem__", lambda old, v: indexing.IndexPut.apply(old, v, index=index), value)
            return
        indexing.IndexPut.apply(Tensor._make(self.data, None), value.data, index=index, inplace=True)
        self._version += 1

    def index_put(self, index: Any, value: ArrayLike) -> Tensor:
        """A copy with `value` written at `index` (the out-of-place `t[index] = value`)."""
        value = value if isinstance(value, Tensor) else self._operand(value)
        return indexing.IndexPut.apply(self, value, index=shape_ops._plain_index(index))

    def masked_fill(self, mask: ArrayLike, value: ArrayLike) -> Tensor:
        """A copy with `value` (a number or a 0-d tensor) where the boolean `mask` (broadcast to this
        tensor's shape) is True; the gradient is routed to this tensor elsewhere, to value there."""
        cond = np.asarray(mask.data if isinstance(mask, Tensor) else mask)
        if cond.dtype != np.bool_:
            raise TypeError(f"masked_fill: mask must be boolean, got dtype {cond.dtype} (shape {cond.shape})")
        if not _broadcastable(cond.shape, self.shape) or np.broadcast_shapes(cond.shape, self.shape) != self.shape:
            raise ShapeError(f"masked_fill: mask of shape {cond.shape} does not broadcast to the tensor's "
                             f"shape {self.shape}")
        value = value if isinstance(value, Tensor) else self._operand(value)
        if value.ndim != 0:
            raise ShapeError(f"masked_fill: value must be a number or a 0-d tensor, got shape {value.shape}")
        if value.dtype != self.dtype:
            value = value.astype(self.dtype)
        return elementwise.Where.apply(Tensor._make(cond, None), value, self)

    @torch_aliases
    def index_select(self, axis: int, index: ArrayLike) -> Tensor:
        """The entries at the 1-d integer `index` along `axis` (PyTorch's index_select)."""
        axis = shape_ops.normalize_axis(axis, max(self.ndim, 1), "index_select", self.shape)  # 0-d counts as 1-d
        idx = indexing.index_array(index, "index_select")
        if idx.ndim > 1:
            raise ShapeError(f"index_select: index must be 0-d or 1-d, got shape {idx.shape}")
        length = self.shape[axis] if self.ndim else 1
        if idx.size and (idx.min() < 0 or idx.max() >= length):
            bad = idx.min() if idx.min() < 0 else idx.max()
            raise IndexError(f"index_select: index {bad} is out of range for axis {axis} of length {length} "
                             f"(tensor shape {self.shape}); expected indexes in [0, {length - 1}]")
        if self.ndim == 0:
            return self.reshape(1)[idx.reshape(-1)].reshape(())
        return self[(slice(None),) * axis + (idx.reshape(-1),)]

    @torch_aliases
    def gather(self, axis: int, index: ArrayLike) -> Tensor:
        """out[i][j] = self[index[i][j]][j] for axis 0 (PyTorch's gather; index has self's number of axes)."""
        return indexing.Gather.apply(self, index=indexing.index_array(index, "gather"), axis=axis)

    @torch_aliases
    def scatter(self, axis: int, index: ArrayLike, src: ArrayLike) -> Tensor:
        """A copy with src (a tensor, or a number) written at `index` along `axis` (PyTorch's scatter;
        with a repeated index which value stays is unspecified, as in PyTorch)."""
        idx = indexing.index_array(index, "scatter")
        if isinstance(src, Tensor):
            return indexing.Scatter.apply(self, src, index=idx, axis=axis)
        return indexing.Scatter.apply(self, np.asarray(src, dtype=self.dtype), index=idx, axis=axis, scalar=True)

    @torch_aliases
    def scatter_add(self, axis: int, index: ArrayLike, src: Tensor) -> Tensor:
        """A copy with src added at `index` along `axis`; repeated indexes accumulate."""
        src = src if isinstance(src, Tensor) else self._operand(src)
        return indexing.ScatterAdd.apply(self, src, index=indexing.index_array(index, "scatter_add"), axis=axis)

    # -- more math (PyTorch's names) -----------------------------------------------------------------
    def sin(self) -> Tensor:
        return elementwise.Sin.apply(self)

    def cos(self) -> Tensor:
        return elementwise.Cos.apply(self)

    def log1p(self) -> Tensor:
        """log(1 + x), accurate for tiny x."""
        return elementwise.Log1p.apply(self)

    def expm1(self) -> Tensor:
        """exp(x) - 1, accurate for tiny x."""
        return elementwise.Expm1.apply(self)

    def softplus(self, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
        """log(1 + exp(beta x)) / beta, and x where beta x > threshold (PyTorch's softplus)."""
        return elementwise.Softplus.apply(self, beta=float(beta), threshold=float(threshold))

    def square(self) -> Tensor:
        return self * self

    def rsqrt(self) -> Tensor:
        """1 / sqrt(x)."""
        return 1.0 / self.sqrt()

    def sign(self) -> Tensor:
        """-1, 0 or 1 (NaN stays NaN); the gradient is 0."""
        return elementwise.PiecewiseConstant.apply(self, fn=np.sign)

    def floor(self) -> Tensor:
        """Round down; the gradient is 0."""
        return elementwise.PiecewiseConstant.apply(self, fn=np.floor)

    def ceil(self) -> Tensor:
        """Round up; the gradient is 0."""
        return elementwise.PiecewiseConstant.apply(self, fn=np.ceil)

    def round(self, decimals: int = 0) -> Tensor:
        """Round half to even (as NumPy and PyTorch); the gradient is 0."""
        fn = np.round if decimals == 0 else functools.partial(np.round, decimals=decimals)
        return elementwise.PiecewiseConstant.apply(self, fn=fn)

    @torch_aliases
    def std(self, axis: Axis = None, keepdims: bool = False, ddof: int = 0) -> Tensor:
        """Standard deviation sqrt(var) (NumPy's default ddof=0; PyTorch's `correction` is ddof); the
        gradient is 0 where all values are equal, as PyTorch."""
        return reduction.Std.apply(self, axis=axis, keepdims=keepdims, ddof=ddof)

    @torch_aliases
    def prod(self, axis: Axis = None, keepdims: bool = False) -> Tensor:
        """Product; exact gradients when some factors are 0 (no division by zero)."""
        return reduction.Prod.apply(self, axis=axis, keepdims=keepdims)

    @torch_aliases
    def cumsum(self, axis: int | None = None) -> Tensor:
        """Running sum along `axis` (None: over the flattened tensor, as NumPy)."""
        return reduction.CumSum.apply(self, axis=axis)

    @torch_aliases
    def norm(self, p: float | str = 2, axis: Axis = None, keepdims: bool = False) -> Tensor:
        """The p-norm over `axis` (all axes by default): p = 2 or 'fro' (sqrt of the sum of squares;
        gradient 0 at a zero vector, as PyTorch), 1 (the sum of abs(x)), inf (the max of abs(x)) or
        -inf (the min of abs(x))."""
        if p in (2, "fro"):
            return reduction.L2Norm.apply(self, axis=axis, keepdims=keepdims)
        if p == 1:
            return self.abs().sum(axis=axis, keepdims=keepdims)
        if p == np.inf:
            return self.abs().max(axis=axis, keepdims=keepdims)
        if p == -np.inf:
            return self.abs().min(axis=axis, keepdims=keepdims)
        raise ValueError(f"norm: p must be 1, 2, 'fro', inf or -inf, got {p!r} (tensor shape {self.shape})")

    # -- sorting ----------------------------------------------------------------------------------------
    @torch_aliases
    def sort(self, axis: int = -1, descending: bool = False, stable: bool = True) -> ValuesIndices:
        """(values, indices) sorted along `axis`, always stable (equal values keep their order, which
        PyTorch's `stable=False` allows too; NaN counts as the largest, as PyTorch). The values are
        differentiable, the indices are not."""
        axis = shape_ops.normalize_axis(axis, max(self.ndim, 1), "sort", self.shape)  # 0-d counts as 1-d
        if self.ndim == 0:
            return ValuesIndices(self * 1, Tensor._make(np.zeros((), np.int64), None))
        order = _stable_order(self.data, axis, descending)
        return ValuesIndices(self.gather(axis, order), Tensor._make(order, None))

    @torch_aliases
    def topk(self, k: int, axis: int = -1, largest: bool = True, sorted: bool = True) -> ValuesIndices:
        """The k largest (or smallest) entries along `axis` as (values, indices), in sorted order
        (also when sorted=False); ties keep their order. The values are differentiable."""
        at = shape_ops.normalize_axis(axis, max(self.ndim, 1), "topk", self.shape)
        length = self.shape[at] if self.ndim else 1
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 0 <= k <= length:
            raise ShapeError(f"topk: k must be an int in [0, {length}] for axis {axis} of a tensor of shape "
                             f"{self.shape}, got {k!r}")
        values, indices = self.sort(axis=axis, descending=largest)
        if self.ndim == 0:
            return ValuesIndices(values, indices)
        first = (slice(None),) * at + (slice(0, k),)
        return ValuesIndices(values[first], indices[first])

    def _extreme_along(self, op: str, axis: Any, keepdims: bool) -> ValuesIndices:
        """PyTorch's max(dim) / min(dim): (values, indices) of the first extreme along an int axis."""
        if not isinstance(axis, (int, np.integer)) or isinstance(axis, bool):
            raise TypeError(f"{op}: return_indices=True needs one int axis (PyTorch's dim), got {axis!r}")
        if self.size == 0:
            raise ShapeError(f"{op}: cannot reduce a tensor with no elements (shape {self.shape})")
        find = np.argmax if op == "max" else np.argmin
        at = shape_ops.normalize_axis(axis, max(self.ndim, 1), op, self.shape)  # 0-d counts as 1-d
        indices = np.expand_dims(find(self.data, axis=at), at) if self.ndim else np.zeros((), np.int64)
        values = self.gather(at, indices) if self.ndim else self * 1
        if not keepdims and self.ndim:
            values, indices = values.squeeze(at), indices.squeeze(at)
        return ValuesIndices(values, Tensor._make(np.asarray(indices, dtype=np.int64), None))

    # -- more shape ops (PyTorch's names) ------------------------------------------------------------
    def permute(self, *axes: int | Sequence[int]) -> Tensor:
        """Reorder the axes: result axis i is input axis axes[i] (all axes must be named)."""
        return shape_ops.Transpose.apply(self, axes=_shape_arg(axes))

    def swapaxes(self, axis1: int, axis2: int) -> Tensor:
        """Exchange two axes (PyTorch's transpose(dim0, dim1))."""
        order = list(range(self.ndim))
        a = shape_ops.normalize_axis(axis1, self.ndim, "swapaxes", self.shape)
        b = shape_ops.normalize_axis(axis2, self.ndim, "swapaxes", self.shape)
        order[a], order[b] = order[b], order[a]
        return self.transpose(order)

    def expand(self, *sizes: int | Sequence[int]) -> Tensor:
        """Broadcast to `sizes` without copying; -1 keeps an axis's length, new axes go in front."""
        sizes = _shape_arg(sizes)
        lead = len(sizes) - self.ndim
        if lead < 0:
            raise ShapeError(f"expand: the number of sizes ({len(sizes)}) must be at least the tensor's "
                             f"number of dimensions ({self.ndim}, shape {self.shape})")
        if any(n == -1 for n in sizes[:lead]):
            raise ShapeError(f"expand: -1 is not allowed for the new leading axes (sizes {sizes}, shape {self.shape})")
        shape = sizes[:lead] + tuple(own if n == -1 else n for n, own in zip(sizes[lead:], self.shape))
        return self.broadcast_to(shape)

    def view(self, *shape: int | Sequence[int]) -> Tensor:
        """Same as reshape (the result shares data whenever NumPy can; no contiguity required)."""
        return self.reshape(*shape)

    @torch_aliases
    def split(self, split_size_or_sections: int | Sequence[int], axis: int = 0) -> tuple[Tensor, ...]:
        """Pieces along `axis`: of `split_size` each (the last may be shorter), or of the given sizes."""
        axis = shape_ops.normalize_axis(axis, self.ndim, "split", self.shape)
        length = self.shape[axis]
        if isinstance(split_size_or_sections, (int, np.integer)) and not isinstance(split_size_or_sections, bool):
            size = int(split_size_or_sections)
            if size <= 0 and not (size == 0 and length == 0):
                raise ShapeError(f"split: split_size must be a positive int, got {size} (shape {self.shape})")
            sizes = [min(size, length - start) for start in range(0, length, size)] if length else [0]
        else:
            sizes = [int(n) for n in split_size_or_sections]
            if sum(sizes) != length or any(n < 0 for n in sizes):
                raise ShapeError(f"split: sections {sizes} must be >= 0 and sum to the length {length} of axis "
                                 f"{axis} (shape {self.shape})")
        starts = np.cumsum([0] + sizes).tolist()
        lead = (slice(None),) * axis
        return tuple(self[lead + (slice(a, b),)] for a, b in zip(starts[:-1], starts[1:]))

    @torch_aliases
    def chunk(self, chunks: int, axis: int = 0) -> tuple[Tensor, ...]:
        """At most `chunks` pieces of ceil(length / chunks) along `axis` (PyTorch's chunk)."""
        if isinstance(chunks, bool) or not isinstance(chunks, (int, np.integer)) or chunks <= 0:
            raise ShapeError(f"chunk: chunks must be a positive int, got {chunks!r} (shape {self.shape})")
        length = self.shape[shape_ops.normalize_axis(axis, self.ndim, "chunk", self.shape)]
        return self.split(max(-(-length // int(chunks)), 1), axis=axis)

    def tile(self, *reps: int | Sequence[int]) -> Tensor:
        """Repeat the whole tensor `reps[i]` times along axis i (NumPy's tile; missing reps count as 1)."""
        reps = _shape_arg(reps)
        if any(r < 0 for r in reps):
            raise ShapeError(f"tile: repetitions must be >= 0, got {reps} (shape {self.shape})")
        ndim = max(len(reps), self.ndim)
        reps = (1,) * (ndim - len(reps)) + tuple(reps)
        shape = (1,) * (ndim - self.ndim) + self.shape
        spread = self.reshape(tuple(n for s in shape for n in (1, s)))
        spread = spread.broadcast_to(tuple(n for r, s in zip(reps, shape) for n in (r, s)))
        return spread.reshape(tuple(r * s for r, s in zip(reps, shape)))

    def repeat(self, *sizes: int | Sequence[int]) -> Tensor:
        """PyTorch's repeat: NumPy's tile, with at least one size per axis."""
        sizes = _shape_arg(sizes)
        if len(sizes) < self.ndim:
            raise ShapeError(f"repeat: got {len(sizes)} repeat size(s) for a tensor of shape {self.shape}; "
                             f"expected at least {self.ndim} (one per axis)")
        return self.tile(sizes)

    @torch_aliases
    def flip(self, axis: Axis = None) -> Tensor:
        """Reverse the order along `axis` (all axes when None, as NumPy)."""
        axes = shape_ops.normalize_axes(axis, self.ndim, "flip", self.shape)
        return self[tuple(slice(None, None, -1) if a in axes else slice(None) for a in range(self.ndim))]

    @torch_aliases
    def roll(self, shifts: int | Sequence[int], axis: Axis = None) -> Tensor:
        """Shift entries by `shifts` along `axis`, wrapping around (None: over the flattened tensor)."""
        if axis is None:
            if not isinstance(shifts, (int, np.integer)):
                raise ShapeError(f"roll: without an axis, shifts must be one int, got {shifts!r}")
            return self.reshape(-1).roll(int(shifts), axis=0).reshape(self.shape) if self.ndim else self * 1
        shift_list = [shifts] if isinstance(shifts, (int, np.integer)) else list(shifts)
        axis_list = [axis] if isinstance(axis, (int, np.integer)) else list(axis)
        if len(shift_list) != len(axis_list):
            raise ShapeError(f"roll: got {len(shift_list)} shift(s) for {len(axis_list)} axis/axes")
        out = self
        for shift, a in zip(shift_list, axis_list):
            a = shape_ops.normalize_axis(a, self.ndim, "roll", self.shape)
            n = self.shape[a]
            k = int(shift) % n if n else 0
            if k:
                lead = (slice(None),) * a  # the last k entries move to the front
                out = shape_ops.Concatenate.apply(out[lead + (slice(n - k, None),)],
                                                  out[lead + (slice(0, n - k),)], axis=a)
        return out if out is not self else self * 1


def install(cls: type) -> None:
    """Bind every method of TensorMethods to `cls` (Tensor), named as it is here."""
    for name, member in vars(TensorMethods).items():
        if not callable(member):
            continue  # the class's own attributes (its doc, module, the None __hash__ that __eq__ implies)
        member.__qualname__ = f"{cls.__name__}.{name}"
        setattr(cls, name, member)


def _stable_order(data: np.ndarray, axis: int, descending: bool) -> np.ndarray:
    """Indices that sort `data` along `axis`, equal values keeping their order and NaN counting as the
    largest; descending sorts the reversed array ascending and reverses back, so it stays stable."""
    if not descending:
        return np.argsort(data, axis=axis, kind="stable")
    n = data.shape[axis]
    reverse = (slice(None),) * axis + (slice(None, None, -1),)
    return (n - 1 - np.argsort(data[reverse], axis=axis, kind="stable"))[reverse]


def _broadcastable(a: tuple[int, ...], b: tuple[int, ...]) -> bool:
    try:
        np.broadcast_shapes(a, b)
    except ValueError:
        return False
    return True
