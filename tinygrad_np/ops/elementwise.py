"""Elementwise ops. Binary ops broadcast like NumPy; backward sums each gradient back to its input's shape."""
from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd.function import Function
from ..parallel import over_rows
from ..tensor import Tensor


class Masked(Function):
    """grad where `mask` (a boolean array of grad's shape) is True, else 0: how ReLU and clip route
    their gradient. The mask is a constant, so the op is linear in grad and its backward is itself
    with the same mask."""

    @staticmethod
    def forward(ctx, grad, mask):
        ctx.mask = mask
        out = np.empty(grad.shape, grad.dtype)

        def rows(r):  # one pass to 0/1, one in-place multiply: a single new array
            np.copyto(out[r], mask[r])
            out[r] *= grad[r]
        over_rows(rows, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        return Masked.apply(grad, ctx.mask), None


class Add(Function):
    elementwise = True

    @staticmethod
    def forward(ctx, a, b):
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
        ctx.save_for_backward(a, b)
        return a / b

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        ga = (grad / b).sum_to(a.shape) if ctx.needs_input_grad[0] else None
        gb = (-grad * a / (b * b)).sum_to(b.shape) if ctx.needs_input_grad[1] else None
        return ga, gb


class Pow(Function):
    """x ** y. A Python-number exponent stays a constant; a Tensor exponent gets a gradient too."""

    elementwise = True

    @staticmethod
    def forward(ctx, x, y):
        if isinstance(y, np.generic):
            y = y.item()  # a NumPy scalar exponent (np.float64(2)) would upcast a float32 x
        out = np.power(x, y)
        ctx.constant_exponent = None if isinstance(y, np.ndarray) else y
        ctx.save_for_backward(x, y if ctx.constant_exponent is None else None, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        x, y, out = ctx.saved_tensors
        if y is None:
            y = ctx.constant_exponent
        gx = (grad * y * x ** (y - 1)).sum_to(x.shape) if ctx.needs_input_grad[0] else None
        gy = (grad * out * x.log()).sum_to(y.shape) if ctx.needs_input_grad[1] else None
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
        return grad * Tensor._make(np.sign(x.data), None)


class ReLU(Function):
    """max(x, 0); the gradient at 0 is 0 (as PyTorch)."""

    elementwise = True

    @staticmethod
    def forward(ctx, x):
        out = np.empty_like(x)
        # the gradient's mask (out > 0) is made while out is still in cache, and kept instead of out
        ctx.positive = np.empty(x.shape, dtype=bool) if ctx.needs_input_grad[0] else None

        def rows(r):
            np.maximum(x[r], 0, out=out[r])
            if ctx.positive is not None:
                np.greater(out[r], 0, out=ctx.positive[r])
        over_rows(rows, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        return Masked.apply(grad, ctx.positive)


class Sigmoid(Function):
    elementwise = True

    @staticmethod
    def forward(ctx, x):
        out = 0.5 * (np.tanh(0.5 * x) + 1)  # stable for large |x|, no overflow warning
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


class Maximum(Function):
    """Elementwise max of two tensors; at ties each input gets half of the gradient."""

    elementwise = True

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return np.maximum(a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        share = (a.data > b.data) + 0.5 * (a.data == b.data)
        return _split(ctx, grad, share, a.shape, b.shape)


class Minimum(Function):
    """Elementwise min of two tensors; at ties each input gets half of the gradient."""

    elementwise = True

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return np.minimum(a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        share = (a.data < b.data) + 0.5 * (a.data == b.data)
        return _split(ctx, grad, share, a.shape, b.shape)


def _split(ctx: Function, grad: Tensor, share_a: np.ndarray, a_shape: Any, b_shape: Any):
    """Give input a `share_a` of the gradient and input b the rest, each summed to its shape."""
    share = np.broadcast_to(share_a, grad.shape)
    ga = (grad * Tensor._make(share.astype(grad.dtype), None)).sum_to(a_shape) if ctx.needs_input_grad[0] else None
    gb = (grad * Tensor._make((1 - share).astype(grad.dtype), None)).sum_to(b_shape) if ctx.needs_input_grad[1] else None
    return ga, gb


class Where(Function):
    """where(condition, a, b). The gradient is routed, not multiplied, so a NaN in the branch not
    taken never leaks into the gradient of the branch taken (the NaN still appears if it reaches
    the output: compute unsafe branches on safe inputs, e.g. `log(where(x > 0, x, 1))`)."""

    elementwise = True

    @staticmethod
    def forward(ctx, condition, a, b):
        ctx.condition = np.asarray(condition, dtype=bool)
        return np.where(ctx.condition, a, b)

    @staticmethod
    def backward(ctx, grad):
        _, a, b = ctx.inputs
        zero = Tensor._make(np.zeros((), dtype=grad.dtype), None)
        cond = Tensor._make(ctx.condition, None)
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
