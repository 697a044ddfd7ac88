"""Loss functions with PyTorch's semantics: cross-entropy and NLL (class weights, ignore_index,
label smoothing, probability targets), binary cross-entropy (on probabilities or logits), MSE, L1,
smooth L1, Huber and KL divergence.

Each reduces with `reduction="mean"` (default), `"sum"` or `"none"`. Class targets are integer
arrays or Tensors (never differentiable); bad shapes, labels and dtypes raise errors that name the
loss and the offending values.
"""
from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from ..autograd.function import Function
from ..autograd.grad_mode import is_grad_enabled
from ..errors import ShapeError
from ..functions import where
from ..tensor import Tensor
from ._util import const as _const, require_float_tensor
from .activation import LogSoftmax, Softmax, shifted_exp
from .elementwise import Masked

__all__ = ["cross_entropy", "nll_loss", "mse_loss", "binary_cross_entropy", "binary_cross_entropy_with_logits",
           "l1_loss", "smooth_l1_loss", "huber_loss", "kl_div"]

_REDUCTIONS = ("mean", "sum", "none")


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


def _reduce_array(loss: np.ndarray, reduction: str, total: float | None = None) -> np.ndarray:
    """The same reduction on an array; a mean divides by `total` (default: the element count), and the
    mean of nothing (a total of 0) is NaN, as PyTorch, without a warning."""
    if reduction == "none":
        return loss
    if reduction == "sum":
        return np.asarray(loss.sum())
    total = loss.size if total is None else total
    if total == 0:
        return np.asarray(np.nan, dtype=loss.dtype)
    return np.asarray(loss.sum() / loss.dtype.type(total), dtype=loss.dtype)


def _reduction_grad(grad: Tensor, reduction: str, total: float) -> Tensor:
    """The upstream gradient of a reduced loss as a per-element scale, broadcastable over (N, C, ...);
    a mean divides by the total (weight) it was taken over (a total of 0 leaves it: nothing is scaled)."""
    if reduction == "none":
        return grad.unsqueeze(1)  # (N, d1, ...) -> (N, 1, d1, ...), broadcasting over classes
    if reduction == "mean" and total != 0:
        return grad * (1.0 / total)
    return grad


def _sample_weight(target: np.ndarray, weight: np.ndarray | None, valid: np.ndarray | None,
                   dtype: np.dtype) -> np.ndarray | None:
    """Each sample's weight w[target] (0 where the target is ignored), or None when all weigh 1."""
    if weight is None and valid is None:
        return None
    w = np.ones(target.shape, dtype) if weight is None else weight[target].astype(dtype, copy=False)
    return w if valid is None else np.where(valid, w, np.zeros((), dtype))


def _total_weight(target: np.ndarray, sample_weight: np.ndarray | None) -> float:
    """What a mean divides by: the number of samples, or the sum of their weights."""
    return target.size if sample_weight is None else float(sample_weight.sum())


# -- class-index losses ----------------------------------------------------------------------------
def _class_targets(target: Any, op: str) -> np.ndarray:
    """Integer class indices as an int64 array; float or bool targets are a TypeError."""
    array = target.data if isinstance(target, Tensor) else np.asarray(target)
    if array.dtype.kind not in "iu":
        raise TypeError(f"{op}: target must hold integer class indices, got {array.dtype} "
                        f"(convert labels with .astype(np.int64))")
    return array.astype(np.int64)  # a copy: backward must not see later edits of the caller's labels


def _check_classification(scores: Tensor, target: np.ndarray, op: str, name: str, ignore_index: int = -100) -> None:
    """Check (N, C, d1, ...) scores against (N, d1, ...) targets (or unbatched (C,) against ())."""
    shape, tshape = scores.shape, target.shape
    if scores.ndim == 0 or target.ndim != scores.ndim - 1:
        raise ShapeError(
            f"{op}: expected {name} of shape (N, C) with target (N,), or (N, C, d1, ...) with target "
            f"(N, d1, ...); got {name} shape {shape} and target shape {tshape}")
    if scores.ndim >= 2 and shape[0] != tshape[0]:
        raise ShapeError(f"{op}: {name} have batch size {shape[0]} but target has {tshape[0]} "
                         f"({name} shape {shape}, target shape {tshape})")
    if scores.ndim > 2 and shape[2:] != tshape[1:]:
        raise ShapeError(f"{op}: {name} of shape {shape} need target of shape {(shape[0],) + shape[2:]}, "
                         f"got {tshape}")
    classes = shape[0] if scores.ndim == 1 else shape[1]
    if classes == 0:
        raise ShapeError(f"{op}: {name} have no classes (shape {shape})")
    bad = ((target < 0) | (target >= classes)) & (target != ignore_index)
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
    logsumexp(logits) - logits[target] (exact for huge logits). With class weights w, ignored
    targets and label smoothing e the loss of a sample is
    (1 - e) w[y] (lse - z[y]) + e / C * sum_c w[c] (lse - z[c]), and its gradient is
    softmax * ((1 - e) w[y] + e / C * sum(w)) - ((1 - e) w[y] one-hot + e / C * w), times upstream / total."""

    @staticmethod
    def forward(ctx, logits, target, reduction="mean", label_smoothing=0.0, weight=None, valid=None):
        ctx.target, ctx.reduction, ctx.label_smoothing = target, reduction, label_smoothing
        ctx.class_weight, ctx.valid = weight, valid
        probs, shift, total = shifted_exp(logits, (1,))
        lse = np.log(total) + shift  # logsumexp: exactly the max when the other terms underflow
        probs /= total  # bit-identical to Softmax's forward, which the create_graph backward uses
        sample_weight = _sample_weight(target, weight, valid, logits.dtype)
        loss = lse - _pick(logits, target)
        if sample_weight is not None:
            loss = loss * np.expand_dims(sample_weight, 1)
        if label_smoothing:
            eps, classes = label_smoothing, logits.shape[1]
            if weight is None:  # e * (mean over classes of -log p)
                smooth = (lse - np.mean(logits, axis=1, keepdims=True)) * eps
            else:  # e / C * (sum over classes of -w[c] log p[c])
                w = weight.reshape((1, -1) + (1,) * (logits.ndim - 2))
                smooth = (lse * weight.sum() - np.sum(logits * w, axis=1, keepdims=True)) * (eps / classes)
            loss = loss * (1 - eps) + smooth
        loss = np.squeeze(loss, axis=1)
        if valid is not None:  # select, so an ignored sample's inf or NaN never reaches the loss
            loss = np.where(valid, loss, np.zeros((), loss.dtype))
        ctx.total = _total_weight(target, sample_weight)
        ctx.save_for_backward(logits, probs)
        return _reduce_array(loss, reduction, ctx.total)

    @staticmethod
    def backward(ctx, grad):
        logits, probs = ctx.saved_tensors
        # A plain backward reuses the forward's softmax; with create_graph it is recomputed from the
        # logits so it can be differentiated again (bit-identically: Softmax also divides
        # shifted_exp by its sum).
        p = Softmax.apply(logits, axis=1) if is_grad_enabled() else _const(probs.data)
        eps, classes, dtype = ctx.label_smoothing, logits.shape[1], logits.dtype
        weight, valid = ctx.class_weight, ctx.valid
        if weight is None and valid is None:
            smoothed = np.full(logits.shape, eps / classes, dtype=dtype)
            np.put_along_axis(smoothed, np.expand_dims(ctx.target, 1), 1 - eps + eps / classes, axis=1)
            return (p - _const(smoothed)) * _reduction_grad(grad, ctx.reduction, ctx.total)
        w = np.ones(classes, dtype) if weight is None else weight
        wy = np.expand_dims(_sample_weight(ctx.target, w, valid, dtype), 1)
        scale = wy * (1 - eps) + (eps / classes) * w.sum()
        shift = np.broadcast_to((eps / classes) * w.reshape((1, -1) + (1,) * (logits.ndim - 2)),
                                logits.shape).copy()
        np.put_along_axis(shift, np.expand_dims(ctx.target, 1),
                          np.take_along_axis(shift, np.expand_dims(ctx.target, 1), axis=1) + wy * (1 - eps), axis=1)
        g = (p * _const(scale.astype(dtype)) - _const(shift.astype(dtype))) * \
            _reduction_grad(grad, ctx.reduction, ctx.total)
        if valid is None:
            return g
        # an ignored sample's gradient is selected out, not scaled by 0: an inf upstream leaves it 0
        return Masked.apply(g, np.expand_dims(valid, 1))


def _class_weight(weight: Any, scores: Tensor, op: str, name: str) -> np.ndarray | None:
    """A constant (C,) weight per class, in the scores' dtype, or None."""
    if weight is None:
        return None
    array = weight.data if isinstance(weight, Tensor) else np.asarray(weight)
    classes = scores.shape[0] if scores.ndim == 1 else scores.shape[1]
    if array.shape != (classes,):
        raise ShapeError(f"{op}: weight must have one entry per class, shape ({classes},), got shape "
                         f"{array.shape} ({name} shape {scores.shape})")
    if array.dtype.kind not in "biuf":
        raise TypeError(f"{op}: weight must hold numbers, got dtype {array.dtype}")
    return array.astype(scores.dtype)


def _ignored(target: np.ndarray, ignore_index: int) -> tuple[np.ndarray, np.ndarray | None]:
    """The target with ignored entries set to class 0 (a safe index), and the mask of kept entries
    (None when nothing is ignored)."""
    if isinstance(ignore_index, bool) or not isinstance(ignore_index, (int, np.integer)):
        raise TypeError(f"ignore_index must be an int, got {ignore_index!r}")
    ignored = target == ignore_index
    if not ignored.any():
        return target, None
    return np.where(ignored, 0, target), ~ignored


def _check_smoothing(label_smoothing: Any, op: str) -> float:
    if isinstance(label_smoothing, bool) or not isinstance(label_smoothing, (int, float, np.floating)) \
            or not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"{op}: label_smoothing must be a number between 0 and 1, got {label_smoothing!r}")
    return float(label_smoothing)


def _is_probability_target(input: Tensor, target: Any) -> bool:
    """A floating-point target of the input's shape holds class probabilities (soft labels)."""
    array = target.data if isinstance(target, Tensor) else np.asarray(target)
    return array.dtype.kind == "f" and array.shape == input.shape


def cross_entropy(input: Tensor, target: Any, weight: Any = None, ignore_index: int = -100,
                  reduction: str = "mean", label_smoothing: float = 0.0) -> Tensor:
    """Softmax cross-entropy between logits (N, C) [or (N, C, d1, ...), or unbatched (C,)] and
    integer class targets (N,) [(N, d1, ...), ()] or class probabilities of the logits' shape.

    As PyTorch: `weight` (C,) scales each class; targets equal to `ignore_index` add nothing; the mean
    of class-index targets divides by the summed weight of the kept targets; with label_smoothing e
    the loss is (1 - e) * nll + e / C * (sum over classes of -w[c] log p[c]).
    """
    op = "cross_entropy"
    require_float_tensor(input, op, "logits")
    _check_reduction(reduction, op)
    eps = _check_smoothing(label_smoothing, op)
    if _is_probability_target(input, target):
        return _soft_cross_entropy(input, target, _class_weight(weight, input, op, "logits"), ignore_index,
                                   reduction, eps)
    t = _class_targets(target, op)
    _check_classification(input, t, op, "logits", ignore_index)
    w = _class_weight(weight, input, op, "logits")
    z, t, unbatched = _batched(input, t)
    t, valid = _ignored(t, ignore_index)
    loss = CrossEntropy.apply(z, target=t, reduction=reduction, label_smoothing=eps, weight=w, valid=valid)
    return _unbatched(loss, unbatched, reduction)


def _soft_cross_entropy(logits: Tensor, target: Any, weight: np.ndarray | None, ignore_index: int,
                        reduction: str, eps: float) -> Tensor:
    """-sum_c w[c] q[c] log p[c] for probability targets q (smoothed to (1 - e) q + e / C); the mean
    divides by the number of samples, as PyTorch. Differentiable in the logits and the target."""
    op = "cross_entropy"
    if ignore_index != -100:
        raise ValueError(f"{op}: ignore_index is not supported for probability targets (target shape "
                         f"{np.shape(target)} equals the logits' shape)")
    q = _float_target(logits, target, op)
    axis = 0 if logits.ndim == 1 else 1
    classes = logits.shape[axis]
    if eps:
        q = q * (1 - eps) + eps / classes
    terms = LogSoftmax.apply(logits, axis=axis) * q
    if weight is not None:
        terms = terms * _const(weight.reshape((-1,) + (1,) * (logits.ndim - 1 - axis)))
    loss = -terms.sum(axis=axis)
    return _reduce(loss, reduction)


class NLLLoss(Function):
    """Negative log-likelihood: -w[target[n]] * log_probs[n, target[n]], ignored targets adding 0,
    reduced; the gradient is -w[target] * upstream / total at the target class and 0 elsewhere."""

    @staticmethod
    def forward(ctx, log_probs, target, reduction="mean", weight=None, valid=None):
        ctx.target, ctx.reduction, ctx.shape = target, reduction, log_probs.shape
        ctx.class_weight, ctx.valid = weight, valid
        sample_weight = _sample_weight(target, weight, valid, log_probs.dtype)
        loss = -np.squeeze(_pick(log_probs, target), axis=1)
        if valid is not None:  # select, so an ignored sample's inf or NaN never reaches the loss
            loss = np.where(valid, loss, np.zeros((), loss.dtype))
        if sample_weight is not None:
            loss = loss * sample_weight
        ctx.total = _total_weight(target, sample_weight)
        return _reduce_array(loss, reduction, ctx.total)

    @staticmethod
    def backward(ctx, grad):
        # selected, not multiplied by a one-hot: other classes and ignored targets get exactly 0,
        # even for an inf upstream
        target = np.expand_dims(ctx.target, 1)
        picked = np.zeros(ctx.shape, dtype=bool)
        np.put_along_axis(picked, target, True if ctx.valid is None else np.expand_dims(ctx.valid, 1), axis=1)
        weight = _sample_weight(ctx.target, ctx.class_weight, ctx.valid, grad.dtype)
        scale = None if weight is None else np.expand_dims(weight, 1)
        upstream = -_reduction_grad(grad, ctx.reduction, ctx.total)
        return Masked.apply(upstream.broadcast_to(ctx.shape), picked, weight=scale)


def nll_loss(input: Tensor, target: Any, weight: Any = None, ignore_index: int = -100,
             reduction: str = "mean") -> Tensor:
    """Negative log-likelihood of integer class targets under log-probabilities (N, C[, d1, ...])
    (e.g. from log_softmax); cross_entropy(x, t) == nll_loss(log_softmax(x, axis=1), t). `weight` and
    `ignore_index` as in cross_entropy (a weighted mean divides by the kept targets' weights)."""
    op = "nll_loss"
    require_float_tensor(input, op, "log_probs")
    t = _class_targets(target, op)
    _check_reduction(reduction, op)
    _check_classification(input, t, op, "log_probs", ignore_index)
    w = _class_weight(weight, input, op, "log_probs")
    z, t, unbatched = _batched(input, t)
    t, valid = _ignored(t, ignore_index)
    return _unbatched(NLLLoss.apply(z, target=t, reduction=reduction, weight=w, valid=valid), unbatched, reduction)


# -- regression and binary losses ---------------------------------------------------------------------
def _float_target(input: Tensor, target: Any, op: str, name: str = "target") -> Tensor:
    """The target as a Tensor of input's dtype: arrays and lists are cast, float Tensors must match."""
    if isinstance(target, Tensor):
        if target.dtype == input.dtype:
            return target
        if target.dtype.kind == "f":
            raise TypeError(f"{op}: {name} has dtype {target.dtype} but input has dtype {input.dtype}; "
                            f"convert one with .astype(...)")
        return _const(target.data.astype(input.dtype))  # integer or boolean labels: constants
    return _const(np.asarray(target, dtype=input.dtype))


def mse_loss(input: Tensor, target: Any, reduction: str = "mean") -> Tensor:
    """Mean squared error (input - target)^2. Shapes broadcast as in PyTorch, with a warning when
    they differ (a (N, 1) input against a (N,) target silently becomes (N, N))."""
    target = _pointwise_args(input, target, reduction, "mse_loss")
    diff = input - target
    return _reduce(diff * diff, reduction)


class Softplus(Function):
    """log(1 + exp(x)), computed stably; its derivative is sigmoid(x)."""

    elementwise = True

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


def _check_broadcast(name: str, t: Tensor, input: Tensor, op: str) -> None:
    """A weight must broadcast to the input's shape without growing it."""
    try:
        fits = np.broadcast_shapes(t.shape, input.shape) == input.shape
    except ValueError:
        fits = False
    if not fits:
        raise ShapeError(f"{op}: {name} of shape {t.shape} does not broadcast to the input's shape {input.shape}")


def _unless_learned(weight: Any) -> Any:
    """A constant weight Tensor as its array (so a float32 buffer weighs a float64 loss); a weight that
    needs a gradient stays a Tensor, whose dtype must match."""
    return weight.data if isinstance(weight, Tensor) and not weight.requires_grad else weight


def _weight(weight: Any, input: Tensor, op: str) -> Tensor | None:
    """An optional elementwise weight as a Tensor of input's dtype (a Tensor weight may need a gradient)."""
    if weight is None:
        return None
    weight = _float_target(input, _unless_learned(weight), op, "weight")
    _check_broadcast("weight", weight, input, op)
    return weight


def binary_cross_entropy_with_logits(input: Tensor, target: Any, weight: Any = None, reduction: str = "mean",
                                     pos_weight: Any = None) -> Tensor:
    """Binary cross-entropy on raw scores (sigmoid folded in, so no log of 0): target in [0, 1] of
    the input's shape; `weight` (broadcast to the input) scales each element's loss, `pos_weight`
    (broadcast over the last axes, e.g. one per class) weighs positives."""
    op = "binary_cross_entropy_with_logits"
    require_float_tensor(input, op, "logits")
    target = _float_target(input, target, op)
    _check_reduction(reduction, op)
    if target.shape != input.shape:
        raise ShapeError(f"{op}: target shape {target.shape} must equal logits shape {input.shape}")
    if pos_weight is not None:
        pos_weight = _float_target(input, _unless_learned(pos_weight), op, "pos_weight")
        try:
            fits = np.broadcast_shapes(pos_weight.shape, input.shape) == input.shape
        except ValueError:
            fits = False
        if not fits:
            raise ShapeError(f"{op}: pos_weight of shape {pos_weight.shape} does not broadcast to the logits' "
                             f"shape {input.shape} (give one weight per class, shape ({input.shape[-1]},))"
                             if input.ndim else f"{op}: pos_weight must be a scalar for 0-d logits")
    weight = _weight(weight, input, op)
    loss = BinaryCrossEntropyWithLogits.apply(input, target, pos_weight)
    return _reduce(loss if weight is None else loss * weight, reduction)


# PyTorch clamps each log at -100 so a probability of exactly 0 or 1 gives a finite loss, and divides
# the gradient by max(x (1 - x), 1e-12).
_LOG_FLOOR = -100.0
_BCE_EPS = 1e-12


def _clamped_logs(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """log x and log(1 - x), each clamped at -100."""
    with np.errstate(divide="ignore"):
        return np.maximum(np.log(x), _LOG_FLOOR), np.maximum(np.log1p(-x), _LOG_FLOOR)


def _clamped_log(log: Callable[[Tensor], Tensor], t: Tensor, clamped: np.ndarray, safe: float) -> Tensor:
    """log(t) in Tensor ops, and the constant -100 where `clamped`, selected (log reads `safe` there)
    so neither the value nor the gradient sees the log of 0."""
    floor = Tensor._make(np.full((), _LOG_FLOOR, t.dtype), None)
    return where(clamped, floor, log(where(clamped, safe, t)))


class BinaryCrossEntropy(Function):
    """-[y log x + (1 - y) log(1 - x)] for probabilities x, each log clamped at -100 (as PyTorch);
    d/dx = (x - y) / max(x (1 - x), 1e-12), d/dy = log(1 - x) - log x with the same clamped logs
    (PyTorch leaves them unclamped, an infinite d/dy at x = 0 or 1 where the loss is finite)."""

    @staticmethod
    def forward(ctx, x, y):
        ctx.save_for_backward(x, y)
        log_x, log_1mx = _clamped_logs(x)
        return -(y * log_x + (1 - y) * log_1mx)

    @staticmethod
    def backward(ctx, grad):
        x, y = ctx.saved_tensors
        gx = gy = None
        if ctx.needs_input_grad[0]:
            gx = grad * (x - y) / (x * (1 - x)).clip(lo=_BCE_EPS)
        if ctx.needs_input_grad[1]:
            log_x, log_1mx = _clamped_logs(x.data)
            # with create_graph in Tensor ops (the second derivative sees how it depends on x), giving
            # the plain branch's numbers exactly
            if is_grad_enabled():
                gy = grad * (_clamped_log(lambda t: (-t).log1p(), x, log_1mx == _LOG_FLOOR, 0.0)
                             - _clamped_log(Tensor.log, x, log_x == _LOG_FLOOR, 1.0))
            else:
                gy = grad * _const(log_1mx - log_x)
        return gx, gy


def binary_cross_entropy(input: Tensor, target: Any, weight: Any = None, reduction: str = "mean") -> Tensor:
    """Binary cross-entropy of probabilities `input` in [0, 1] (e.g. after sigmoid) against targets of
    the same shape; logs are clamped at -100 as PyTorch. Prefer binary_cross_entropy_with_logits on raw
    scores: it is exact where sigmoid rounds to 0 or 1."""
    op = "binary_cross_entropy"
    require_float_tensor(input, op)
    target = _float_target(input, target, op)
    _check_reduction(reduction, op)
    if target.shape != input.shape:
        raise ShapeError(f"{op}: target shape {target.shape} must equal input shape {input.shape}")
    outside = (input.data < 0) | (input.data > 1)
    if outside.any():
        raise ValueError(f"{op}: all elements of input should be between 0 and 1 (e.g. after sigmoid), got "
                         f"{input.data[outside].flat[0]} (input shape {input.shape})")
    weight = _weight(weight, input, op)
    loss = BinaryCrossEntropy.apply(input, target)
    return _reduce(loss if weight is None else loss * weight, reduction)


def _pointwise_args(input: Tensor, target: Any, reduction: str, op: str) -> Tensor:
    """Check a regression loss's arguments; the target as a Tensor of the input's shape."""
    require_float_tensor(input, op)
    target = _float_target(input, target, op)
    _check_reduction(reduction, op)
    if target.shape != input.shape:
        try:
            np.broadcast_shapes(input.shape, target.shape)
        except ValueError:
            raise ShapeError(f"{op}: input shape {input.shape} and target shape {target.shape} cannot "
                             f"be broadcast together") from None
        warnings.warn(f"{op}: target shape {target.shape} differs from input shape {input.shape}; they "
                      f"broadcast, which is rarely what you want. Make them the same shape.", stacklevel=3)
    return target


def l1_loss(input: Tensor, target: Any, reduction: str = "mean") -> Tensor:
    """Mean absolute error abs(input - target) (the gradient at 0 is 0, as PyTorch)."""
    target = _pointwise_args(input, target, reduction, "l1_loss")
    return _reduce((input - target).abs(), reduction)


def _check_positive_number(value: Any, name: str, op: str, allow_zero: bool) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)) \
            or not (value >= 0 if allow_zero else value > 0):
        raise ValueError(f"{op}: {name} must be a {'non-negative' if allow_zero else 'positive'} number, "
                         f"got {value!r}")
    return float(value)


def smooth_l1_loss(input: Tensor, target: Any, reduction: str = "mean", beta: float = 1.0) -> Tensor:
    """0.5 d^2 / beta where abs(d) < beta, else abs(d) - 0.5 beta, d = input - target (beta=0 is l1_loss)."""
    op = "smooth_l1_loss"
    target = _pointwise_args(input, target, reduction, op)
    beta = _check_positive_number(beta, "beta", op, allow_zero=True)
    d = input - target
    if beta == 0:
        return _reduce(d.abs(), reduction)
    a = d.abs()
    return _reduce(where(a.data < beta, d * d * (0.5 / beta), a - 0.5 * beta), reduction)


def huber_loss(input: Tensor, target: Any, reduction: str = "mean", delta: float = 1.0) -> Tensor:
    """0.5 d^2 where abs(d) < delta, else delta (abs(d) - 0.5 delta), d = input - target
    (delta * smooth_l1_loss with beta=delta)."""
    op = "huber_loss"
    target = _pointwise_args(input, target, reduction, op)
    delta = _check_positive_number(delta, "delta", op, allow_zero=False)
    d = input - target
    a = d.abs()
    return _reduce(where(a.data < delta, d * d * 0.5, (a - 0.5 * delta) * delta), reduction)


def kl_div(input: Tensor, target: Any, reduction: str = "mean", log_target: bool = False) -> Tensor:
    """Kullback-Leibler divergence sum target * (log target - input), with `input` log-probabilities
    (and `target` too if log_target); a target of 0 adds 0. reduction="batchmean" divides the sum by the
    batch size (the true KL divergence); "mean" divides by the number of elements, as PyTorch."""
    op = "kl_div"
    if reduction not in _REDUCTIONS + ("batchmean",):
        raise ValueError(f"{op}: reduction must be 'mean', 'batchmean', 'sum' or 'none', got {reduction!r}")
    target = _pointwise_args(input, target, "none", op)
    if log_target:
        loss = target.exp() * (target - input)
    else:  # xlogy(t, t): 0 where t == 0, selected so the log of 0 never reaches a gradient
        positive = target.data > 0
        safe = where(positive, target, 1.0)
        loss = where(positive, target * safe.log(), 0.0) - target * input
    if reduction == "batchmean":
        total = loss.sum()
        return total / input.shape[0] if input.ndim else total
    return _reduce(loss, reduction)

