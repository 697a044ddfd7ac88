"""Activations, softmax / log-softmax and dropout, with PyTorch's semantics and NumPy's `axis`.

relu, sigmoid and tanh are the Tensor methods; the others are `Function`s whose backward is
written in Tensor ops, so every one of them can be differentiated twice.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..autograd.function import Function
from ..autograd.grad_mode import is_grad_enabled
from ..errors import ShapeError
from ..random import get_rng
from ..tensor import Tensor
from ..torch_names import torch_aliases
from ._util import const as _const, require_float_tensor
from .elementwise import Masked
from .shape import normalize_axis

__all__ = ["relu", "sigmoid", "tanh", "leaky_relu", "gelu", "softmax", "log_softmax", "dropout"]


# -- erf ------------------------------------------------------------------------------------------
# erf(x) for |x| < 1 is x * A(x^2); for |x| >= 1 it is sign(x) * (1 - exp(-x^2) * B(w)), where
# t = 2 / (2 + |x|) and w = (t - 11/24) * 24/5 maps 1 <= |x| <= 6 onto [-1, 1]. A and B are
# polynomials (lowest degree first) fitted by least squares on 600 Chebyshev nodes to 40-digit
# values of erf(sqrt(z))/sqrt(z) on [0, 1] and erfc(x) * exp(x^2) on [1, 6]. Beyond |x| = 6,
# erfc(x) < 2e-17 rounds away against 1. Largest error against math.erf: 7e-16 in float64 and
# 1.4e-7 in float32 (both ~1 ulp), and the polynomials are smooth, so the derivative of this erf
# matches 2/sqrt(pi) * exp(-x^2) to ~1e-10, which finite-difference gradient checks rely on.
_ERF_SMALL = np.array([
    1.128379167095512, -0.37612638903172607, 0.11283791670548679, -0.026866170583831738,
    0.005223977140770157, -0.0008548304446224232, 0.00012054673116475067, -1.4913183995533008e-05,
    1.6309396586866591e-06, -1.5183852194206877e-07, 9.41982029785007e-09,
])
_ERF_LARGE = np.array([
    0.22142954022993194, 0.16189356804102578, 0.038560570425175876, 0.005588816281822715,
    0.00019713917783215656, -8.079220414718158e-05, -7.340518667033125e-06, 1.97956147809253e-06,
    1.63502043205662e-07, -7.005280988725938e-08, -5.940783488451696e-10, 2.62414605709791e-09,
    -2.6239097634430065e-10, -7.43012270416621e-11, 1.8325885680240335e-11, 4.2007760871611085e-13,
])
_ERF_CAP = 6.0


def _polyval(coeffs: np.ndarray, v: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Horner's rule for a polynomial with coefficients lowest degree first, in v's dtype."""
    coeffs = coeffs.astype(v.dtype)
    out = np.empty_like(v) if out is None else out
    out.fill(coeffs[-1])
    for c in coeffs[-2::-1]:
        out *= v
        out += c
    return out


def erf_array(x: np.ndarray) -> np.ndarray:
    """The error function of a float array, computed in its own dtype (float16 via float32)."""
    x = np.asarray(x)  # a 0-d ufunc result arrives as a NumPy scalar
    if x.dtype == np.float16:
        return erf_array(x.astype(np.float32)).astype(np.float16)
    if x.ndim == 0:  # ufuncs on 0-d arrays return scalars, which cannot be written in place
        return erf_array(x.reshape(1)).reshape(())
    dtype = x.dtype.type
    # Both formulas run on every element, each on inputs clamped to its own range, and the near
    # one is copied over where |x| < 1: faster than gathering and scattering the two groups, and
    # the buffers are reused, because allocating fresh large arrays is a cost of its own here.
    a = np.abs(x)
    near_zero = a < 1  # False for NaN, which stays NaN through the far formula
    z = np.minimum(a, dtype(1))
    z *= z
    near = _polyval(_ERF_SMALL, z)
    near *= x
    far = np.clip(a, dtype(1), dtype(_ERF_CAP))
    w = np.add(far, 2, out=z)
    np.divide(2, w, out=w)
    w -= dtype(11 / 24)
    w *= dtype(24 / 5)
    tail = _polyval(_ERF_LARGE, w, out=a)
    far *= far
    np.negative(far, out=far)
    np.exp(far, out=far)
    far *= tail
    np.subtract(1, far, out=far)
    np.copysign(far, x, out=far)
    np.copyto(far, near, where=near_zero)
    return far


class Erf(Function):
    """The error function; d erf(x)/dx = 2/sqrt(pi) * exp(-x^2)."""

    elementwise = True

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return erf_array(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * (x * x * -1.0).exp() * (2 / math.sqrt(math.pi))


def erf(x: Tensor) -> Tensor:
    """The error function, elementwise (differentiable any number of times)."""
    return Erf.apply(require_float_tensor(x, "erf"))


# -- activations ----------------------------------------------------------------------------------
def relu(x: Tensor) -> Tensor:
    """max(x, 0) elementwise (the gradient at 0 is 0, as PyTorch)."""
    return require_float_tensor(x, "relu").relu()


def sigmoid(x: Tensor) -> Tensor:
    """1 / (1 + exp(-x)) elementwise, without overflow for large ``|x|``."""
    return require_float_tensor(x, "sigmoid").sigmoid()


def tanh(x: Tensor) -> Tensor:
    """tanh(x) elementwise."""
    return require_float_tensor(x, "tanh").tanh()


class LeakyReLU(Function):
    """x where x > 0, else negative_slope * x; the gradient at 0 is negative_slope (as PyTorch)."""

    elementwise = True

    @staticmethod
    def forward(ctx, x, negative_slope=0.01):
        ctx.negative_slope = negative_slope
        ctx.save_for_backward(x)
        return np.where(x > 0, x, x * x.dtype.type(negative_slope))

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        slope = np.where(x.data > 0, 1, x.dtype.type(ctx.negative_slope)).astype(x.dtype)
        return grad * _const(slope)


def leaky_relu(x: Tensor, negative_slope: float = 0.01) -> Tensor:
    """max(x, 0) + negative_slope * min(x, 0): a ReLU that lets a little gradient through for x < 0."""
    require_float_tensor(x, "leaky_relu")
    if isinstance(negative_slope, bool) or not isinstance(negative_slope, (int, float, np.floating)):
        raise TypeError(f"leaky_relu: negative_slope must be a number, got {type(negative_slope).__name__}")
    return LeakyReLU.apply(x, negative_slope=float(negative_slope))


_SQRT_HALF = 1 / math.sqrt(2)
_INV_SQRT_2PI = 1 / math.sqrt(2 * math.pi)
_TANH_K = math.sqrt(2 / math.pi)  # the tanh approximation: tanh(K * (x + C x^3))
_TANH_C = 0.044715


def _gelu_cdf(x: Any, erf_fn: Any) -> Any:
    """Phi(x) = (1 + erf(x / sqrt(2))) / 2, for an array (erf_array) or a Tensor (erf).

    The forward and the create_graph backward both call this (and `_gelu_tanh_inner`), so the
    two compute bit-identical values: a recorded backward gives exactly a plain backward's numbers.
    """
    return (erf_fn(x * _SQRT_HALF) + 1) * 0.5


def _gelu_tanh_inner(x: Any) -> Any:
    """sqrt(2/pi) * (x + 0.044715 x^3), the argument of tanh in the approximate GELU."""
    return (x * x * _TANH_C + 1) * x * _TANH_K


class GELU(Function):
    """x * Phi(x), Phi the standard normal CDF (exact via erf, or PyTorch's tanh approximation)."""

    elementwise = True

    @staticmethod
    def forward(ctx, x, approximate="none"):
        ctx.approximate = approximate
        if approximate == "tanh":
            t = np.tanh(_gelu_tanh_inner(x))
            ctx.save_for_backward(x, t)
            return x * (t + 1) * 0.5
        cdf = _gelu_cdf(x, erf_array)
        ctx.save_for_backward(x, cdf)
        return x * cdf

    @staticmethod
    def backward(ctx, grad):
        x, saved = ctx.saved_tensors
        # A plain backward reuses the forward's Phi(x) or tanh; with create_graph they are rebuilt
        # from x with Tensor ops, so the second derivative sees how they depend on x.
        recompute = is_grad_enabled()
        if ctx.approximate == "tanh":
            t = _gelu_tanh_inner(x).tanh() if recompute else _const(saved.data)
            slope = (t + 1) * 0.5 + x * (1 - t * t) * (x * x * (3 * _TANH_C * _TANH_K) + _TANH_K) * 0.5
        else:
            cdf = _gelu_cdf(x, Erf.apply) if recompute else _const(saved.data)
            slope = cdf + x * (x * x * -0.5).exp() * _INV_SQRT_2PI
        return grad * slope


def gelu(x: Tensor, approximate: str = "none") -> Tensor:
    """Gaussian error linear unit x * Phi(x); approximate="tanh" uses 0.5x(1 + tanh(sqrt(2/pi)(x + 0.044715x^3)))."""
    require_float_tensor(x, "gelu")
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    return GELU.apply(x, approximate=approximate)


# -- softmax --------------------------------------------------------------------------------------
def _softmax_axis(axis: int, shape: tuple[int, ...], op: str) -> tuple[int, ...]:
    """The axis as a 1-tuple for reductions; () for a 0-d tensor (which is its own single class)."""
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
        raise TypeError(f"{op}: axis must be an int, got {type(axis).__name__}")
    if not shape:
        if axis not in (0, -1):
            raise ShapeError(f"{op}: axis {axis} is out of range for a 0-d tensor (use 0 or -1)")
        return ()
    return (normalize_axis(axis, len(shape), op, shape),)


def shifted_exp(x: np.ndarray, axis: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """exp(x - max) along `axis` (a tuple of at most one axis), with the max and the sum (keepdims)."""
    shift = np.max(x, axis=axis, keepdims=True, initial=-np.inf)
    e = np.subtract(x, shift, out=np.empty_like(x))
    np.exp(e, out=e)
    return e, shift, np.sum(e, axis=axis, keepdims=True)


def softmax_array(x: np.ndarray, axis: tuple[int, ...]) -> np.ndarray:
    """Softmax of an array along `axis` (a tuple of at most one axis), max-shifted."""
    e, _, total = shifted_exp(x, axis)
    e /= total
    return e


class Softmax(Function):
    """exp(x) / sum(exp(x)) along `axis`, shifted by the max so logits of any size stay finite."""

    @staticmethod
    def forward(ctx, x, axis=-1):
        ctx.axis = _softmax_axis(axis, x.shape, "softmax")
        out = softmax_array(x, ctx.axis)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (s,) = ctx.saved_tensors
        gs = grad * s
        return gs - s * gs.sum(axis=ctx.axis, keepdims=True)


class LogSoftmax(Function):
    """x - logsumexp(x) along `axis`; exact and finite for huge logits."""

    @staticmethod
    def forward(ctx, x, axis=-1):
        ctx.axis = _softmax_axis(axis, x.shape, "log_softmax")
        out = np.subtract(x, np.max(x, axis=ctx.axis, keepdims=True, initial=-np.inf), out=np.empty_like(x))
        out -= np.log(np.sum(np.exp(out), axis=ctx.axis, keepdims=True))
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return grad - out.exp() * grad.sum(axis=ctx.axis, keepdims=True)


@torch_aliases
def softmax(x: Tensor, axis: int = -1) -> Tensor:
    """Probabilities along `axis`: non-negative, summing to 1."""
    return Softmax.apply(require_float_tensor(x, "softmax"), axis=axis)


@torch_aliases
def log_softmax(x: Tensor, axis: int = -1) -> Tensor:
    """log(softmax(x)) along `axis`, computed without forming softmax (no log of 0)."""
    return LogSoftmax.apply(require_float_tensor(x, "log_softmax"), axis=axis)


# -- dropout --------------------------------------------------------------------------------------
class Dropout(Function):
    """Multiply by a random mask of 0 and 1/(1-p), drawn from the library's seeded generator."""

    elementwise = True

    @staticmethod
    def forward(ctx, x, p=0.5):
        if p == 1:
            mask = np.zeros(x.shape, dtype=x.dtype)
        else:
            keep = get_rng().random(x.shape, dtype=np.float32) >= p
            mask = keep.astype(x.dtype)
            mask *= x.dtype.type(1 / (1 - p))
        ctx.save_for_backward(mask)
        return x * mask

    @staticmethod
    def backward(ctx, grad):
        (mask,) = ctx.saved_tensors
        # selected, not multiplied: a dropped element's gradient is exactly 0, even for an inf upstream
        return Masked.apply(grad, mask.data != 0, weight=mask.data)


def dropout(x: Tensor, p: float = 0.5, training: bool = True) -> Tensor:
    """Inverted dropout: in training zero each element with probability p and scale the rest by
    1/(1-p), so the expected value is unchanged; the identity when not training or p == 0."""
    require_float_tensor(x, "dropout")
    if isinstance(p, bool) or not isinstance(p, (int, float, np.floating)) or not 0 <= p <= 1:
        raise ValueError(f"dropout: p must be a probability between 0 and 1, got {p!r}")
    if not training or p == 0:
        return x
    return Dropout.apply(x, p=float(p))


def silu(x: Tensor) -> Tensor:
    """x * sigmoid(x) (also called swish)."""
    x = require_float_tensor(x, "silu")
    return x * x.sigmoid()


__all__ += ["silu"]
