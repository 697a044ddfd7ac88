"""Reductions over `axis` (None, an int or a tuple) with NumPy's `keepdims`."""
from __future__ import annotations

import numpy as np

from ..autograd.function import Function
from ..errors import ShapeError
from ..kernels.layout import channel_sums, is_channels_last
from ..kernels.threads import sum_over_batch
from ..tensor import Tensor
from ._util import const, zero
from .elementwise import Masked, Where
from .shape import normalize_axes, normalize_axis


def _kept_shape(shape: tuple[int, ...], axes: tuple[int, ...]) -> tuple[int, ...]:
    """The result shape with keepdims=True: reduced axes become 1."""
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


def _reduced_shape(shape: tuple[int, ...], axes: tuple[int, ...]) -> tuple[int, ...]:
    """The result shape with keepdims=False: reduced axes removed."""
    return tuple(n for i, n in enumerate(shape) if i not in axes)


def _spread(grad: Tensor, ctx: Function) -> Tensor:
    """Broadcast the gradient of a reduction back over the reduced axes."""
    return grad.reshape(ctx.kept_shape).broadcast_to(ctx.in_shape)


class _Reduction(Function):
    """Shared forward bookkeeping: normalised axes and the keepdims shape for backward."""

    @staticmethod
    def setup(ctx, x, axis, op):
        ctx.axes = normalize_axes(axis, x.ndim, op, x.shape)
        ctx.in_shape = x.shape
        ctx.kept_shape = _kept_shape(x.shape, ctx.axes)
        return ctx.axes


class Sum(_Reduction):
    @staticmethod
    def forward(ctx, x, axis=None, keepdims=False):
        axes = _Reduction.setup(ctx, x, axis, "sum")
        if 0 not in axes:
            return np.sum(x, axis=axes, keepdims=keepdims)
        if axes == (0, 2, 3) and x.dtype in (np.float32, np.float64) and is_channels_last(x):
            sums = sum_over_batch(lambda b: channel_sums(x[b]), len(x), x.nbytes)  # a conv's bias gradient
            return sums.reshape(ctx.kept_shape) if keepdims else sums
        # over the batch (a bias gradient, say): a partial sum per batch part, then their sum
        return sum_over_batch(lambda b: np.sum(x[b], axis=axes, keepdims=keepdims), len(x), x.nbytes)

    @staticmethod
    def backward(ctx, grad):
        return _spread(grad, ctx)


class Mean(_Reduction):
    @staticmethod
    def forward(ctx, x, axis=None, keepdims=False):
        axes = _Reduction.setup(ctx, x, axis, "mean")
        ctx.count = int(np.prod([x.shape[a] for a in axes]))
        return np.mean(x, axis=axes, keepdims=keepdims)

    @staticmethod
    def backward(ctx, grad):
        return _spread(grad, ctx) / max(ctx.count, 1)


class _Extreme(_Reduction):
    """`reduce` (np.max or np.min) over `axis`; records which elements won and each winner's share.

    Tied extremes share the gradient equally (as PyTorch's amax/amin). A NaN is the extreme of its
    slice (the result is NaN), so the NaN elements are its winners and take the gradient.
    """

    reduce = staticmethod(np.max)

    @staticmethod
    def forward(ctx, x, axis=None, keepdims=False):
        op = ctx.name.lower()
        axes = _Reduction.setup(ctx, x, axis, op)
        empty = [a for a in axes if x.shape[a] == 0]
        if empty:  # PyTorch raises too; reducing over other axes of an empty tensor is fine
            raise ShapeError(f"{op}: cannot reduce over axis {empty[0]} of length 0 (shape {x.shape}, "
                             f"axis={axis}); the {op}imum of no values is undefined")
        out = ctx.reduce(x, axis=axes, keepdims=True)
        winners = x == out
        if out.dtype.kind == "f" and np.isnan(out).any():
            winners |= np.isnan(x)
        ctx.winners = winners
        ctx.share = 1 / np.sum(winners, axis=axes, keepdims=True, dtype=x.dtype)
        return out if keepdims else out.reshape(_reduced_shape(x.shape, axes))

    @staticmethod
    def backward(ctx, grad):
        return Masked.apply(_spread(grad, ctx), ctx.winners, weight=ctx.share)


class Max(_Extreme):
    """Maximum; tied maxima share the gradient equally (as PyTorch's amax), a NaN takes it."""

    reduce = staticmethod(np.max)


class Min(_Extreme):
    """Minimum; tied minima share the gradient equally, a NaN takes it."""

    reduce = staticmethod(np.min)


class Var(_Reduction):
    """Variance with `ddof` (0 by default, as NumPy): d var / dx = 2 (x - mean) / (n - ddof)."""

    @staticmethod
    def forward(ctx, x, axis=None, keepdims=False, ddof=0):
        axes = _Reduction.setup(ctx, x, axis, "var")
        count = int(np.prod([x.shape[a] for a in axes]))
        if ddof >= count > 0:  # no elements at all: NaN (the mean of nothing), as PyTorch
            raise ShapeError(f"var: ddof={ddof} leaves no degrees of freedom for {count} element(s) per "
                             f"result (shape {x.shape}, axis {axis}); expected ddof < {count}")
        ctx.divisor = max(count - ddof, 1)  # (with no elements the gradient is empty anyway)
        ctx.save_for_backward(x)
        if count == 0:
            return np.full(_kept_shape(x.shape, axes) if keepdims else _reduced_shape(x.shape, axes), np.nan, x.dtype)
        return np.var(x, axis=axes, keepdims=keepdims, ddof=ddof)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        centered = x - x.mean(axis=ctx.axes, keepdims=True)
        return _spread(grad, ctx) * centered * (2.0 / ctx.divisor)


class LogSumExp(_Reduction):
    """log(sum(exp(x))), shifted by the max so it stays finite; the gradient is softmax(x)."""

    @staticmethod
    def forward(ctx, x, axis=None, keepdims=False):
        axes = _Reduction.setup(ctx, x, axis, "logsumexp")
        shift = np.max(x, axis=axes, keepdims=True, initial=-np.inf)  # -inf over an empty axis
        shift = np.where(np.isfinite(shift), shift, 0)
        with np.errstate(divide="ignore"):  # all -inf along an axis: the answer is -inf, no warning
            out = np.log(np.sum(np.exp(x - shift), axis=axes, keepdims=True)) + shift
        if not keepdims:
            out = out.reshape(_reduced_shape(x.shape, axes))
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        x, out = ctx.saved_tensors
        return _spread(grad, ctx) * (x - out.reshape(ctx.kept_shape)).exp()


# -- products, running sums and norms --------------------------------------------------------
class Prod(_Reduction):
    """Product over `axis`. d prod / dx_i is the product of the others, computed without dividing
    by zero: prod / x_i where x_i != 0; where x_i is the group's only zero, the product of the
    group's non-zeros; with two or more zeros, 0 (as PyTorch, whose second derivative there is also 0)."""

    @staticmethod
    def forward(ctx, x, axis=None, keepdims=False):
        axes = _Reduction.setup(ctx, x, axis, "prod")
        out = np.prod(x, axis=axes, keepdims=keepdims)
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        x, out = ctx.saved_tensors
        out = out.reshape(ctx.kept_shape)
        is_zero = x.data == 0
        if not is_zero.any():
            return _spread(grad, ctx) * out / x
        one_zero = np.sum(is_zero, axis=ctx.axes, keepdims=True) == 1
        nonzero_x = Where.apply(Tensor._make(is_zero, None), Tensor._make(np.ones((), x.dtype), None), x)
        others_of_zero = Where.apply(Tensor._make(one_zero, None), nonzero_x.prod(axis=ctx.axes, keepdims=True),
                                     Tensor._make(np.zeros((), x.dtype), None))
        others = Where.apply(Tensor._make(is_zero, None), others_of_zero.broadcast_to(x.shape), out / nonzero_x)
        return _spread(grad, ctx) * others


class CumSum(Function):
    """Running sum along `axis` (None: over the flattened tensor, as NumPy); the gradient is the
    running sum of the gradient taken from the other end."""

    @staticmethod
    def forward(ctx, x, axis=None):
        ctx.in_shape = x.shape
        work = x
        if axis is None or x.ndim == 0:
            if axis is not None:
                normalize_axes(axis, 0, "cumsum", x.shape)  # only 0 or -1 fit a 0-d tensor
            ctx.axis, work = 0, x.reshape(-1)
        else:
            ctx.axis = normalize_axis(axis, x.ndim, "cumsum", x.shape)
        out = np.cumsum(work, axis=ctx.axis)
        return out.reshape(()) if x.ndim == 0 and axis is not None else out

    @staticmethod
    def backward(ctx, grad):
        if grad.ndim != len(ctx.in_shape) or grad.ndim == 0:
            grad = grad.reshape(-1)
        flip = (slice(None),) * ctx.axis + (slice(None, None, -1),)
        g = CumSum.apply(grad[flip], axis=ctx.axis)[flip]
        return g if g.shape == ctx.in_shape else g.reshape(ctx.in_shape)


def _divided_or_zero(numerator: Tensor, denominator: Tensor) -> Tensor:
    """numerator / denominator, and exactly 0 where the denominator is 0 (selected, so no 0/0 or x/0
    reaches the result): the gradient of a norm or std at a point where it is 0, as PyTorch's."""
    is_zero = const(denominator.data == 0)
    safe = Where.apply(is_zero, const(np.ones((), denominator.dtype)), denominator)
    return Where.apply(is_zero, zero(denominator.dtype), numerator / safe)


class L2Norm(_Reduction):
    """sqrt(sum(x^2)) over `axis`; its gradient x / norm is 0 where the norm is 0 (as PyTorch's)."""

    @staticmethod
    def forward(ctx, x, axis=None, keepdims=False):
        axes = _Reduction.setup(ctx, x, axis, "norm")
        out = np.sqrt(np.sum(x * x, axis=axes, keepdims=keepdims))
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        x, out = ctx.saved_tensors
        return x * _divided_or_zero(grad.reshape(ctx.kept_shape), out.reshape(ctx.kept_shape))


class Std(_Reduction):
    """sqrt(var) with `ddof`: d std / dx = (x - mean) / ((n - ddof) std), and 0 where std is 0 (all
    values equal), as PyTorch."""

    @staticmethod
    def forward(ctx, x, axis=None, keepdims=False, ddof=0):
        axes = _Reduction.setup(ctx, x, axis, "std")
        count = int(np.prod([x.shape[a] for a in axes]))
        if ddof >= count > 0:  # (no elements at all give NaN, the mean of nothing, as PyTorch and Var)
            raise ShapeError(f"std: ddof={ddof} leaves no degrees of freedom for {count} element(s) per "
                             f"result (shape {x.shape}, axis {axis}); expected ddof < {count}")
        ctx.divisor = max(count - ddof, 1)  # (with no elements the gradient is empty anyway)
        if count == 0:
            out = np.full(_kept_shape(x.shape, axes) if keepdims else _reduced_shape(x.shape, axes), np.nan, x.dtype)
        else:
            out = np.std(x, axis=axes, keepdims=keepdims, ddof=ddof)
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        x, out = ctx.saved_tensors
        scale = _divided_or_zero(grad.reshape(ctx.kept_shape), out.reshape(ctx.kept_shape) * ctx.divisor)
        return (x - x.mean(axis=ctx.axes, keepdims=True)) * scale
