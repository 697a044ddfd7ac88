"""Gradient-check cases for the losses: cross-entropy, NLL, BCE-with-logits and its softplus.

Class targets are integer arrays (passed through, never checked); every reduction, label
smoothing, the (N, C, d1, ...) layout and unbatched (C,) logits are covered.
"""
from __future__ import annotations

import numpy as np

import tinygrad_np.functional as F
from tinygrad_np.ops.loss import Softplus
from tests.cases import Case

_rng = np.random.default_rng(20240605)


def randn(*shape: int, scale: float = 1.0) -> np.ndarray:
    return np.asarray(scale * _rng.standard_normal(shape))


def labels(classes: int, *shape: int) -> np.ndarray:
    return _rng.integers(0, classes, size=shape)


def unit(*shape: int) -> np.ndarray:
    """Targets in (0.05, 0.95): soft labels for binary cross-entropy."""
    return np.asarray(0.05 + 0.9 * _rng.random(shape))


def positive(*shape: int) -> np.ndarray:
    return np.asarray(0.5 + 2 * _rng.random(shape))


CASES: dict[str, list[Case]] = {}

_CE_ARGS = [  # (logits shape, target, reduction, label_smoothing)
    ((4, 5), labels(5, 4), "mean", 0.0),
    ((4, 5), np.array([1, 1, 1, 3]), "sum", 0.0),
    ((4, 5), labels(5, 4), "none", 0.0),
    ((4, 5), labels(5, 4), "mean", 0.1),
    ((3, 4), labels(4, 3), "none", 0.25),
    ((3, 4), labels(4, 3), "sum", 1.0),
    ((1, 3), np.array([2]), "mean", 0.0),
    ((2, 3, 2, 2), labels(3, 2, 2, 2), "mean", 0.0),  # (N, C, d1, d2) with (N, d1, d2) targets
    ((2, 3, 4), labels(3, 2, 4), "none", 0.2),
    ((5,), np.array(3), "none", 0.0),  # unbatched
    ((5,), np.array(0), "mean", 0.3),
]


def _ce_case(shape, target, reduction, smoothing) -> Case:
    return Case(lambda z, t: F.cross_entropy(z, t, reduction=reduction, label_smoothing=smoothing),
                (randn(*shape, scale=2.0), target),
                name=f"{'x'.join(map(str, shape))}-{reduction}-smoothing={smoothing}")


CASES["CrossEntropy"] = [_ce_case(*args) for args in _CE_ARGS] + [
    Case(lambda z: F.cross_entropy(z, np.array([0, 2])), (500 + randn(2, 3),), name="large-logits"),
]

CASES["NLLLoss"] = [
    Case(lambda z: F.nll_loss(z, np.array([0, 3, 3])), (randn(3, 4),), name="3x4-mean",
         check_op=dict(batch_axis=None)),  # the targets are a fixed batch of 3 (cross_entropy's case varies them)
    Case(lambda z: F.nll_loss(z, np.array([1, 0]), reduction="sum"), (randn(2, 2),), name="2x2-sum"),
    Case(lambda z: F.nll_loss(z, np.array([2, 1, 0]), reduction="none"), (randn(3, 3),), name="3x3-none"),
    Case(lambda z, t=labels(3, 2, 2): F.nll_loss(z, t, reduction="none"), (randn(2, 3, 2),), name="2x3x2-none"),
    Case(lambda z: F.nll_loss(F.log_softmax(z, axis=1), np.array([1, 2])), (randn(2, 4),),
         name="after-log_softmax"),
    Case(lambda z: F.nll_loss(z, np.array(1)), (randn(3),), name="unbatched"),
]

CASES["Softplus"] = [
    Case(Softplus.apply, (randn(2, 3, scale=3.0),), name="2x3"),
    Case(Softplus.apply, (np.array([-30.0, -2.0, 0.0, 2.0, 30.0]),), name="tails-and-0"),
    Case(Softplus.apply, (np.array(0.3),), name="0d"),
]

CASES["BinaryCrossEntropyWithLogits"] = [
    Case(lambda x, y: F.binary_cross_entropy_with_logits(x, y), (randn(3, 4, scale=2.0), unit(3, 4)),
         name="mean-soft-targets-with-grad"),
    Case(lambda x, y=_rng.integers(0, 2, (5,)).astype(np.float32): F.binary_cross_entropy_with_logits(
        x, y, reduction="sum"), (randn(5, scale=3.0),), name="sum-hard-targets"),
    Case(lambda x, y: F.binary_cross_entropy_with_logits(x, y, reduction="none"),
         (np.array([-40.0, -1.0, 0.0, 1.0, 40.0]), unit(5)), name="none-saturated-and-0",
         check_op=dict(check_routed=False)),  # the logit 0 zeroes the target's derivative by value, not by routing
    Case(lambda x, y, w: F.binary_cross_entropy_with_logits(x, y, pos_weight=w),
         (randn(4, 3, scale=2.0), unit(4, 3), positive(3)), name="pos_weight-per-class"),
    Case(lambda x, y, w: F.binary_cross_entropy_with_logits(x, y, reduction="none", pos_weight=w),
         (randn(2, 3), unit(2, 3), positive(2, 3)), name="pos_weight-full-none"),
    Case(lambda x, w, y=unit(2, 2): F.binary_cross_entropy_with_logits(x, y, pos_weight=w),
         (randn(2, 2), positive(1)), name="pos_weight-only-logits-and-weight"),
    Case(lambda x, y: F.binary_cross_entropy_with_logits(x, y), (np.array(0.7), np.array(0.2)), name="0d"),
]
