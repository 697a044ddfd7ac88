"""Elementwise ops. Binary ops broadcast like NumPy; backward sums each gradient back to its input's shape."""
from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd.function import Function
from ..kernels.elementwise import relu_with_mask, select
from ..tensor import Tensor
from ._util import const as _const, zero as _zero


class Masked(Function):
    """grad (times `weight`, if given) where `mask` is True, else exactly 0: how ReLU, clip, abs,
    maximum/minimum, max/min, dropout and nll_loss route their gradient. The routed-away part is
    selected out, never multiplied by 0, so an inf or NaN there cannot leak in (0 * inf is NaN).
    `mask` and `weight` broadcast to grad's shape and are constants: the op is linear in grad and its
    backward is itself."""

    @staticmethod
    def forward(ctx, grad, mask, weight=None):
        ctx.mask, ctx.weight = mask, weight
        out = select(grad, np.broadcast_to(np.asarray(mask, dtype=bool), grad.shape))
        if weight is not None:
            out *= weight  # finite weights: the zeros stay zeros
        return out

    @staticmethod
    def backward(ctx, grad):
        return Masked.apply(grad, ctx.mask, weight=ctx.weight), None


def _float_pair(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """An integer (or bool) operand meeting a float one takes the float's dtype (as PyTorch), so
    `arange(5) * 0.5` is float32 and never a silent float64 (NumPy's rule for int64 with float32)."""
    if a.dtype == b.dtype:
        return a, b
    ka, kb = a.dtype.kind, b.dtype.kind
    if ka == "f" and kb in "biu":
        return a, b.astype(a.dtype)
    if kb == "f" and ka in "biu":
        return a.astype(b.dtype), b
    return a, b


class Add(Function):
    elementwise = True

    @staticmethod
    def forward(ctx, a, b):
        if a.dtype is not b.dtype:  # else nothing to promote
            a, b = _float_pair(a, b)
        return a + b

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.inputs
        ga = grad.sum_to(a.shape) if ctx.needs_input_grad[0] else None
        gb = grad.sum_to(b.shape) if ctx.needs_input_grad[1] else None
        return ga, gb


class Sub(Function):
    elementwise = True

    @staticmethod
    def forward(ctx, a, b):
        if a.dtype is not b.dtype:  # else nothing to promote
            a, b = _float_pair(a, b)
        return a - b

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.inputs
        ga = grad.sum_to(a.shape) if ctx.needs_input_grad[0] else None
        gb = (-grad).sum_to(b.shape) if ctx.needs_input_grad[1] else None
        return ga, gb


class Mul(Function):
    elementwise = True

    @staticmethod
    def forward(ctx, a, b):
        if a.dtype is not b.dtype:  # else nothing to promote
            a, b = _float_pair(a, b)
        ctx.save_for_backward(a, b)
        return a * b

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        ga = (grad * b).sum_to(a.shape) if ctx.needs_input_grad[0] else None
        gb = (grad * a).sum_to(b.shape) if ctx.needs_input_grad[1] else None
        return ga, gb


class Div(Function):
    elementwise = True

    @staticmethod
    def forward(ctx, a, b):
        if a.dtype is not b.dtype:  # else nothing to promote
            a, b = _float_pair(a, b)
        if a.dtype.kind in "biu" and b.dtype.kind in "biu":  # int / int is float32, as PyTorch
            a, b = a.astype(np.float32), b.astype(np.float32)
        ctx.save_for_backward(a, b)
        return a / b

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        ga = (grad / b).sum_to(a.shape) if ctx.needs_input_grad[0] else None
        gb = (-grad * a / (b * b)).sum_to(b.shape) if ctx.needs_input_grad[1] else None
        return ga, gb


class Pow(Function):
    """x ** y. A Python-number exponent stays a constant; a Tensor exponent gets a gradient too.

    At a zero base the gradients follow PyTorch: d/dx is 0 where y == 0 (x ** 0 is 1 everywhere),
    and d/dy is 0 where x == 0 and y >= 0 (0 ** y is constant there), instead of 0 * inf = NaN.
    """

    elementwise = True

    @staticmethod
    def forward(ctx, x, y):
        if isinstance(y, np.generic):
            y = y.item()  # a NumPy scalar exponent (np.float64(2)) would upcast a float32 x
        if isinstance(y, np.ndarray):
            x, y = _float_pair(x, y)
        elif isinstance(y, float) and x.dtype.kind in "biu":
            x = x.astype(np.float32)  # arange(5) ** 0.5 is float32, as PyTorch
        out = np.power(x, y)
        ctx.constant_exponent = None if isinstance(y, np.ndarray) else y
        ctx.save_for_backward(x, y if ctx.constant_exponent is None else None, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        x, y, out = ctx.saved_tensors
        gx = gy = None
        with np.errstate(divide="ignore", invalid="ignore"):  # inf/NaN in the branches selected away
            if ctx.needs_input_grad[0]:
                if y is None:
                    c = ctx.constant_exponent
                    gx = _const(np.zeros(grad.shape, grad.dtype)) if c == 0 else grad * c * x ** (c - 1)
                else:
                    gx = Where.apply(_const(y.data == 0), _zero(grad.dtype), grad * y * x ** (y - 1)).sum_to(x.shape)
            if ctx.needs_input_grad[1]:
                flat = _const((x.data == 0) & (y.data >= 0))
                gy = Where.apply(flat, _zero(grad.dtype), grad * out * x.log()).sum_to(y.shape)
        return gx, gy

    def describe(self) -> dict[str, Any]:
        """A constant exponent for graph drawings (it is passed positionally, so not a recorded argument)."""
        return {} if self.constant_exponent is None else {"exponent": self.constant_exponent}


class Neg(Function):
    elementwise = True

    @staticmethod
    def forward(ctx, x):
        return -x

    @staticmethod
    def backward(ctx, grad):
        return -grad


class Cast(Function):
    elementwise = True

    @staticmethod
    def forward(ctx, x, dtype):
        ctx.in_dtype = x.dtype
        return x.astype(dtype)

    @staticmethod
    def backward(ctx, grad):
        return grad.astype(ctx.in_dtype)


class Exp(Function):
    elementwise = True

    @staticmethod
    def forward(ctx, x):
        out = np.exp(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return grad * out


class Log(Function):
    elementwise = True

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.log(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad / x


class Sqrt(Function):
    elementwise = True

    @staticmethod
    def forward(ctx, x):
        out = np.sqrt(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return grad / (out * 2)


class Abs(Function):
    """|x|; the gradient at 0 is 0 (as PyTorch)."""

    elementwise = True

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.abs(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return Masked.apply(grad, x.data != 0, weight=np.sign(x.data))


class ReLU(Function):
    """max(x, 0); the gradient at 0 is 0 (as PyTorch)."""

    elementwise = True

    @staticmethod
    def forward(ctx, x):
        out, ctx.positive = relu_with_mask(x, ctx.needs_input_grad[0])  # the mask is kept instead of out
        return out

    @staticmethod
    def backward(ctx, grad):
        return Masked.apply(grad, ctx.positive)


class Sigmoid(Function):
    elementwise = True

    @staticmethod
    def forward(ctx, x):
        # With e = exp(-|x|) (in (0, 1], never overflowing): 1 / (1 + e) for x >= 0 and e / (1 + e)
        # for x < 0, so a tiny sigmoid(x) of a very negative x keeps full relative precision.
        with np.errstate(under="ignore"):  # exp(-1000) = 0 is the right answer
            e = np.exp(-np.abs(x))
        out = np.ones_like(e)
        np.copyto(out, e, where=x < 0)
        e += 1
        out /= e
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return grad * out * (1 - out)


class Tanh(Function):
    elementwise = True

    @staticmethod
    def forward(ctx, x):
        out = np.tanh(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return grad * (1 - out * out)


class Clip(Function):
    """Clamp to [lo, hi]; the gradient passes where lo <= x <= hi (bounds included, as PyTorch)."""

    elementwise = True

    @staticmethod
    def forward(ctx, x, lo=None, hi=None):
        ctx.save_for_backward(x)
        ctx.lo, ctx.hi = lo, hi
        if lo is None and hi is None:
            return x.copy()
        if lo is not None and hi is not None and lo > hi:
            raise ValueError(f"clip: lo ({lo}) must be <= hi ({hi}) (input shape {x.shape})")
        if x.dtype.kind == "f":  # bounds take x's dtype, so float64 bounds never upcast a float32 x
            lo, hi = (None if v is None else np.asarray(v, dtype=x.dtype) for v in (lo, hi))
        return np.clip(x, lo, hi)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        inside = np.ones(x.shape, dtype=bool)
        if ctx.lo is not None:
            inside &= x.data >= ctx.lo
        if ctx.hi is not None:
            inside &= x.data <= ctx.hi
        return Masked.apply(grad, inside)


class _Extremum(Function):
    """Elementwise `pick` (np.maximum or np.minimum) of two tensors: an input gets the gradient
    where it does not lose to the other (`loses(a, b)`), half of it at a tie."""

    elementwise = True
    pick = staticmethod(np.maximum)
    loses = staticmethod(np.less)

    @staticmethod
    def forward(ctx, a, b):
        if a.dtype is not b.dtype:  # else nothing to promote
            a, b = _float_pair(a, b)
        ctx.save_for_backward(a, b)
        return ctx.pick(a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        return _split(ctx, grad, ctx.loses(a.data, b.data), ctx.loses(b.data, a.data), a.data == b.data,
                      a.shape, b.shape)


class Maximum(_Extremum):
    """Elementwise max of two tensors; at ties each input gets half of the gradient."""

    pick, loses = staticmethod(np.maximum), staticmethod(np.less)


class Minimum(_Extremum):
    """Elementwise min of two tensors; at ties each input gets half of the gradient."""

    pick, loses = staticmethod(np.minimum), staticmethod(np.greater)


def _split(ctx: Function, grad: Tensor, a_loses: np.ndarray, b_loses: np.ndarray, tie: np.ndarray,
           a_shape: Any, b_shape: Any):
    """Route the gradient to each input where it does not lose, half to each at a tie (a NaN loses
    nowhere, so both get it, as PyTorch); each summed to its input's shape."""
    half = None
    if tie.any():
        half = np.where(tie, grad.dtype.type(0.5), grad.dtype.type(1))
    ga = gb = None
    if ctx.needs_input_grad[0]:
        ga = Masked.apply(grad, ~a_loses, weight=half).sum_to(a_shape)
    if ctx.needs_input_grad[1]:
        gb = Masked.apply(grad, ~b_loses, weight=half).sum_to(b_shape)
    return ga, gb


class Where(Function):
    """where(condition, a, b). The gradient is routed, not multiplied, so a NaN in the branch not
    taken never leaks into the gradient of the branch taken (the NaN still appears if it reaches
    the output: compute unsafe branches on safe inputs, e.g. `log(where(x > 0, x, 1))`)."""

    elementwise = True

    @staticmethod
    def forward(ctx, condition, a, b):
        ctx.condition = np.asarray(condition, dtype=bool)
        return np.where(ctx.condition, *_float_pair(a, b))

    @staticmethod
    def backward(ctx, grad):
        _, a, b = ctx.inputs
        zero, cond = _zero(grad.dtype), _const(ctx.condition)
        ga = Where.apply(cond, grad, zero).sum_to(a.shape) if ctx.needs_input_grad[1] else None
        gb = Where.apply(cond, zero, grad).sum_to(b.shape) if ctx.needs_input_grad[2] else None
        return None, ga, gb


# -- more elementwise math (trigonometry, log1p / expm1, softplus, rounding) ----------------------
class Sin(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.sin(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * x.cos()


class Cos(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.cos(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return -grad * x.sin()


class Log1p(Function):
    """log(1 + x), exact for tiny x where log(1 + x) would round 1 + x to 1."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.log1p(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad / (x + 1)


class Expm1(Function):
    """exp(x) - 1, exact for tiny x; d/dx = exp(x) = out + 1."""

    @staticmethod
    def forward(ctx, x):
        out = np.expm1(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return grad * (out + 1)


class Softplus(Function):
    """log(1 + exp(beta x)) / beta, and x itself where beta x > threshold (PyTorch's softplus);
    the gradient is sigmoid(beta x), and 1 above the threshold."""

    @staticmethod
    def forward(ctx, x, beta=1.0, threshold=20.0):
        ctx.beta, ctx.threshold = beta, threshold
        bx = x * x.dtype.type(beta)
        smooth = (np.log1p(np.exp(-np.abs(bx))) + np.maximum(bx, 0)) / x.dtype.type(beta)
        out = np.where(bx > threshold, x, smooth)
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        x, out = ctx.saved_tensors
        above = Tensor._make(x.data * x.dtype.type(ctx.beta) > ctx.threshold, None)
        # sigmoid(beta x) = exp(beta x - log(1 + exp(beta x))) = exp(beta (x - out)): exact in the far
        # negative tail too, where 1 / (1 + exp(-beta x)) would round to 0 in float32
        return Where.apply(above, grad, grad * ((x - out) * ctx.beta).exp())


def _zeros_like(x: np.ndarray) -> np.ndarray:
    return np.zeros_like(x)


class PiecewiseConstant(Function):
    """A function that is constant between jumps (sign, floor, ceil, round): its gradient is 0
    everywhere (as PyTorch's), computed by this op itself with the constant function 0."""

    @staticmethod
    def forward(ctx, x, fn):
        return np.asarray(fn(x), dtype=x.dtype)

    @staticmethod
    def backward(ctx, grad):
        return PiecewiseConstant.apply(grad, fn=_zeros_like)
