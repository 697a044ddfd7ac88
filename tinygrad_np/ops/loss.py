"""Loss functions with PyTorch's semantics: cross-entropy, NLL, MSE and BCE-with-logits.

Each reduces with `reduction="mean"` (default), `"sum"` or `"none"`. Class targets are integer
arrays or Tensors (never differentiable); bad shapes, labels and dtypes raise errors that name the
loss and the offending values.
"""
from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from ..autograd.function import Function
from ..autograd.grad_mode import is_grad_enabled
from ..errors import ShapeError
from ..tensor import Tensor
from .activation import Softmax, require_float_tensor, shifted_exp
from .elementwise import Masked

__all__ = ["cross_entropy", "nll_loss", "mse_loss", "binary_cross_entropy_with_logits"]

_REDUCTIONS = ("mean", "sum", "none")


def _const(array: np.ndarray) -> Tensor:
    return Tensor._make(array, None)


def _check_reduction(reduction: str, op: str) -> None:
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{op}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    """Apply a (checked) reduction to a per-element loss Tensor."""
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def _reduce_array(loss: np.ndarray, reduction: str) -> np.ndarray:
    """The same reduction on an array; the mean of no elements is NaN (as PyTorch), without a warning."""
    if reduction == "none":
        return loss
    if reduction == "sum":
        return np.asarray(loss.sum())
    if loss.size == 0:
        return np.asarray(np.nan, dtype=loss.dtype)
    return np.asarray(loss.mean())


def _reduction_grad(grad: Tensor, reduction: str, count: int) -> Tensor:
    """The upstream gradient of a reduced loss as a per-element scale, broadcastable over (N, C, ...)."""
    if reduction == "none":
        return grad.unsqueeze(1)  # (N, d1, ...) -> (N, 1, d1, ...), broadcasting over classes
    if reduction == "mean":
        return grad * (1.0 / max(count, 1))
    return grad


# -- class-index losses ----------------------------------------------------------------------------
def _class_targets(target: Any, op: str) -> np.ndarray:
    """Integer class indices as an int64 array; float or bool targets are a TypeError."""
    array = target.data if isinstance(target, Tensor) else np.asarray(target)
    if array.dtype.kind not in "iu":
        raise TypeError(f"{op}: target must hold integer class indices, got {array.dtype} "
                        f"(convert labels with .astype(np.int64))")
    return array.astype(np.int64)  # a copy: backward must not see later edits of the caller's labels


def _check_classification(scores: Tensor, target: np.ndarray, op: str, what: str) -> None:
    """Check (N, C, d1, ...) scores against (N, d1, ...) targets (or unbatched (C,) against ())."""
    shape, tshape = scores.shape, target.shape
    if scores.ndim == 0 or target.ndim != scores.ndim - 1:
        raise ShapeError(
            f"{op}: expected {what} of shape (N, C) with target (N,), or (N, C, d1, ...) with target "
            f"(N, d1, ...); got {what} shape {shape} and target shape {tshape}")
    if scores.ndim >= 2 and shape[0] != tshape[0]:
        raise ShapeError(f"{op}: {what} have batch size {shape[0]} but target has {tshape[0]} "
                         f"({what} shape {shape}, target shape {tshape})")
    if scores.ndim > 2 and shape[2:] != tshape[1:]:
        raise ShapeError(f"{op}: {what} of shape {shape} need target of shape {(shape[0],) + shape[2:]}, "
                         f"got {tshape}")
    classes = shape[0] if scores.ndim == 1 else shape[1]
    if classes == 0:
        raise ShapeError(f"{op}: {what} have no classes (shape {shape})")
    bad = (target < 0) | (target >= classes)
    if bad.any():
        position = tuple(int(i) for i in np.unravel_index(int(np.argmax(bad)), tshape))
        where = f" at position {position[0] if len(position) == 1 else position}" if tshape else ""
        raise ValueError(f"{op}: target {int(target[position])}{where} is out of range for {classes} "
                         f"classes (labels must be in 0..{classes - 1})")


def _pick(scores: np.ndarray, target: np.ndarray) -> np.ndarray:
    """scores[n, target[n, ...], ...] with the class axis kept: shape (N, 1, d1, ...)."""
    return np.take_along_axis(scores, np.expand_dims(target, 1), axis=1)


def _batched(scores: Tensor, target: np.ndarray) -> tuple[Tensor, np.ndarray, bool]:
    """Give unbatched (C,) scores and a () target a batch axis of 1."""
    if scores.ndim == 1:
        return scores.reshape(1, -1), target.reshape(1), True
    return scores, target, False


def _unbatched(loss: Tensor, was_unbatched: bool, reduction: str) -> Tensor:
    return loss.reshape(()) if was_unbatched and reduction == "none" else loss


class CrossEntropy(Function):
    """Softmax cross-entropy of (N, C, ...) logits with class targets, fused: the loss comes from
    logsumexp(logits) - logits[target] (exact for huge logits), the gradient is
    (softmax - smoothed one-hot) * upstream / count."""

    @staticmethod
    def forward(ctx, logits, target, reduction="mean", label_smoothing=0.0):
        ctx.target, ctx.reduction, ctx.label_smoothing = target, reduction, label_smoothing
        probs, shift, total = shifted_exp(logits, (1,))
        lse = np.log(total) + shift  # logsumexp: exactly the max when the other terms underflow
        probs /= total  # bit-identical to Softmax's forward, which the create_graph backward uses
        loss = lse - _pick(logits, target)
        if label_smoothing:
            smooth = lse - np.mean(logits, axis=1, keepdims=True)  # mean over classes of -log p
            loss = loss * (1 - label_smoothing) + smooth * label_smoothing
        ctx.save_for_backward(logits, probs)
        return _reduce_array(np.squeeze(loss, axis=1), reduction)

    @staticmethod
    def backward(ctx, grad):
        logits, probs = ctx.saved_tensors
        # A plain backward reuses the forward's softmax; with create_graph it is recomputed from the
        # logits so it can be differentiated again (bit-identically: Softmax also divides
        # shifted_exp by its sum).
        p = Softmax.apply(logits, axis=1) if is_grad_enabled() else _const(probs.data)
        eps, classes = ctx.label_smoothing, logits.shape[1]
        smoothed = np.full(logits.shape, eps / classes, dtype=logits.dtype)
        np.put_along_axis(smoothed, np.expand_dims(ctx.target, 1), 1 - eps + eps / classes, axis=1)
        return (p - _const(smoothed)) * _reduction_grad(grad, ctx.reduction, ctx.target.size)


def cross_entropy(logits: Tensor, target: Any, reduction: str = "mean", label_smoothing: float = 0.0) -> Tensor:
    """Softmax cross-entropy between logits (N, C) [or (N, C, d1, ...), or unbatched (C,)] and
    integer class targets (N,) [(N, d1, ...), ()]. With label_smoothing e the loss is
    (1 - e) * nll + e * (mean over classes of -log p), as PyTorch."""
    op = "cross_entropy"
    require_float_tensor(logits, op, "logits")
    t = _class_targets(target, op)
    _check_reduction(reduction, op)
    if isinstance(label_smoothing, bool) or not isinstance(label_smoothing, (int, float, np.floating)) \
            or not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"{op}: label_smoothing must be a number between 0 and 1, got {label_smoothing!r}")
    _check_classification(logits, t, op, "logits")
    z, t, unbatched = _batched(logits, t)
    loss = CrossEntropy.apply(z, target=t, reduction=reduction, label_smoothing=float(label_smoothing))
    return _unbatched(loss, unbatched, reduction)


class NLLLoss(Function):
    """Negative log-likelihood: -log_probs[n, target[n]], reduced; the gradient is -upstream at the
    target class and 0 elsewhere."""

    @staticmethod
    def forward(ctx, log_probs, target, reduction="mean"):
        ctx.target, ctx.reduction, ctx.shape = target, reduction, log_probs.shape
        return _reduce_array(-np.squeeze(_pick(log_probs, target), axis=1), reduction)

    @staticmethod
    def backward(ctx, grad):
        picked = np.zeros(ctx.shape, dtype=bool)
        np.put_along_axis(picked, np.expand_dims(ctx.target, 1), True, axis=1)
        # selected, not multiplied by a one-hot: the other classes get exactly 0 even for an inf upstream
        return Masked.apply(-_reduction_grad(grad, ctx.reduction, ctx.target.size).broadcast_to(ctx.shape), picked)


def nll_loss(log_probs: Tensor, target: Any, reduction: str = "mean") -> Tensor:
    """Negative log-likelihood of integer class targets under log-probabilities (N, C[, d1, ...])
    (e.g. from log_softmax); cross_entropy(x, t) == nll_loss(log_softmax(x, axis=1), t)."""
    op = "nll_loss"
    require_float_tensor(log_probs, op, "log_probs")
    t = _class_targets(target, op)
    _check_reduction(reduction, op)
    _check_classification(log_probs, t, op, "log_probs")
    z, t, unbatched = _batched(log_probs, t)
    return _unbatched(NLLLoss.apply(z, target=t, reduction=reduction), unbatched, reduction)


# -- regression and binary losses ---------------------------------------------------------------------
def _float_target(input: Tensor, target: Any, op: str) -> Tensor:
    """The target as a Tensor of input's dtype: arrays and lists are cast, Tensors must match."""
    if isinstance(target, Tensor):
        if target.dtype == input.dtype:
            return target
        if target.dtype.kind == "f":
            raise TypeError(f"{op}: target has dtype {target.dtype} but input has dtype {input.dtype}; "
                            f"convert one with .astype(...)")
        return _const(target.data.astype(input.dtype))  # integer or boolean labels: constants
    return _const(np.asarray(target, dtype=input.dtype))


def mse_loss(input: Tensor, target: Any, reduction: str = "mean") -> Tensor:
    """Mean squared error (input - target)^2. Shapes broadcast as in PyTorch, with a warning when
    they differ (a (N, 1) input against a (N,) target silently becomes (N, N))."""
    op = "mse_loss"
    require_float_tensor(input, op)
    target = _float_target(input, target, op)
    _check_reduction(reduction, op)
    if input.shape != target.shape:
        try:
            np.broadcast_shapes(input.shape, target.shape)
        except ValueError:
            raise ShapeError(f"{op}: input shape {input.shape} and target shape {target.shape} cannot "
                             f"be broadcast together") from None
        warnings.warn(f"{op}: target shape {target.shape} differs from input shape {input.shape}; they "
                      f"broadcast, which is rarely what you want. Make them the same shape.", stacklevel=2)
    diff = input - target
    return _reduce(diff * diff, reduction)


class Softplus(Function):
    """log(1 + exp(x)), computed stably; its derivative is sigmoid(x)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.logaddexp(0, x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * x.sigmoid()


class BinaryCrossEntropyWithLogits(Function):
    """Elementwise -[pw * y * log sigmoid(x) + (1 - y) * log(1 - sigmoid(x))], stably as
    (1 - y) x + (1 + (pw - 1) y)(log1p(exp(-|x|)) + max(-x, 0)); pos_weight pw may be None (1)."""

    @staticmethod
    def forward(ctx, x, y, pos_weight):
        ctx.save_for_backward(x, y, pos_weight)
        softplus_neg = np.log1p(np.exp(-np.abs(x))) + np.maximum(-x, 0)  # log(1 + exp(-x))
        if pos_weight is None:
            return (1 - y) * x + softplus_neg
        return (1 - y) * x + (1 + (pos_weight - 1) * y) * softplus_neg

    @staticmethod
    def backward(ctx, grad):
        x, y, pw = ctx.saved_tensors
        gx = gy = gpw = None
        if pw is None:
            if ctx.needs_input_grad[0]:
                gx = grad * (x.sigmoid() - y)
            if ctx.needs_input_grad[1]:
                gy = grad * -x
            return gx, gy, None
        if ctx.needs_input_grad[0]:
            gx = grad * (x.sigmoid() * ((pw - 1) * y + 1) - pw * y)
        if ctx.needs_input_grad[1] or ctx.needs_input_grad[2]:
            softplus_neg = Softplus.apply(-x)
            if ctx.needs_input_grad[1]:
                gy = grad * ((pw - 1) * softplus_neg - x)
            if ctx.needs_input_grad[2]:
                gpw = (grad * y * softplus_neg).sum_to(pw.shape)
        return gx, gy, gpw


def binary_cross_entropy_with_logits(logits: Tensor, target: Any, reduction: str = "mean",
                                     pos_weight: Tensor | None = None) -> Tensor:
    """Binary cross-entropy on raw scores (sigmoid folded in, so no log of 0): target in [0, 1] of
    the logits' shape; pos_weight (broadcast over the last axes, e.g. one per class) weighs positives."""
    op = "binary_cross_entropy_with_logits"
    require_float_tensor(logits, op, "logits")
    target = _float_target(logits, target, op)
    _check_reduction(reduction, op)
    if target.shape != logits.shape:
        raise ShapeError(f"{op}: target shape {target.shape} must equal logits shape {logits.shape}")
    if pos_weight is not None:
        pos_weight = _float_target(logits, pos_weight, op)
        try:
            fits = np.broadcast_shapes(pos_weight.shape, logits.shape) == logits.shape
        except ValueError:
            fits = False
        if not fits:
            raise ShapeError(f"{op}: pos_weight of shape {pos_weight.shape} does not broadcast to the logits' "
                             f"shape {logits.shape} (give one weight per class, shape ({logits.shape[-1]},))"
                             if logits.ndim else f"{op}: pos_weight must be a scalar for 0-d logits")
    return _reduce(BinaryCrossEntropyWithLogits.apply(logits, target, pos_weight), reduction)
