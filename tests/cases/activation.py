"""Gradient-check cases for activations, softmax / log-softmax, erf and dropout.

Inputs stay away from kinks: leaky_relu sees no value within 0.2 of 0. Dropout cases reseed the
library generator inside fn, so every evaluation of the check draws the same mask.
"""
from __future__ import annotations

import numpy as np

import tinygrad_np as tg
import tinygrad_np.functional as F
from tinygrad_np.ops.activation import erf
from tests.cases import CONSTANT_OUTPUT, Case

_rng = np.random.default_rng(20240604)


def randn(*shape: int, scale: float = 1.0) -> np.ndarray:
    return np.asarray(scale * _rng.standard_normal(shape))


def nonzero(*shape: int) -> np.ndarray:
    """Values of either sign at least 0.2 away from 0 (the kink of leaky_relu)."""
    return np.asarray(_rng.choice([-1.0, 1.0], size=shape) * (0.2 + 2 * _rng.random(shape)))


def _s(shape: tuple[int, ...]) -> str:
    return "x".join(map(str, shape)) if shape else "0d"


# erf and gelu's exact form switch formulas at |x| = 1 (of x / sqrt(2) for gelu) and saturate
# past 6: these points cover both sides of the switch, the tails and 0.
_ERF_POINTS = np.array([-6.5, -3.0, -1.2, -0.999, -0.5, 0.0, 0.3, 0.97, 1.03, 2.0, 4.5])

CASES: dict[str, list[Case]] = {}

CASES["Erf"] = [
    Case(erf, (_ERF_POINTS.copy(),), name="both-formulas-and-tails"),
    Case(erf, (randn(2, 3),), name="2x3"),
    Case(erf, (np.array(0.4),), name="0d"),
]

CASES["LeakyReLU"] = [
    Case(lambda x: F.leaky_relu(x), (nonzero(2, 3),), name="default-slope"),
    Case(lambda x: F.leaky_relu(x, 0.2), (nonzero(4,),), name="slope-0.2"),
    Case(lambda x: F.leaky_relu(x, -0.5), (nonzero(3, 2),), name="negative-slope"),
    Case(lambda x: F.leaky_relu(x, 1.5), (nonzero(2, 1, 3),), name="slope-above-1"),
    Case(lambda x: F.leaky_relu(x, 0.1), (np.array(-0.7),), name="0d"),
]

CASES["GELU"] = [
    Case(lambda x: F.gelu(x), (_ERF_POINTS * np.sqrt(2),), name="exact-both-erf-formulas"),
    Case(lambda x: F.gelu(x), (randn(3, 4, scale=2.0),), name="exact-3x4"),
    Case(lambda x: F.gelu(x), (np.array(-0.8),), name="exact-0d"),
    Case(lambda x: F.gelu(x, approximate="tanh"), (randn(3, 4, scale=2.0),), name="tanh-3x4"),
    Case(lambda x: F.gelu(x, approximate="tanh"), (np.array([-7.0, -2.5, 0.0, 2.5, 7.0]),), name="tanh-tails"),
    Case(lambda x: F.gelu(x, approximate="tanh"), (np.array(1.3),), name="tanh-0d"),
]

_SOFTMAX_ARGS = [  # (shape, axis)
    ((3, 4), -1),
    ((3, 4), 0),
    ((2, 3, 4), 1),
    ((5,), 0),
    ((1, 3), -1),
    ((2, 1), 1),  # a single class: softmax is 1, log_softmax 0, both with zero gradient
    ((), -1),
]


def _softmax_cases(fn) -> list[Case]:
    cases = [Case(lambda x, a=axis: fn(x, axis=a), (randn(*shape, scale=2.0),), name=f"{_s(shape)}-axis={axis}",
                  check_op=CONSTANT_OUTPUT if not shape or shape[axis] == 1 else {})
             for shape, axis in _SOFTMAX_ARGS]
    cases.append(Case(lambda x: fn(x, axis=-1), (1000 + randn(2, 3),), name="large-logits"))
    cases.append(Case(lambda x: fn(x, axis=-1), (np.array([[9.0, -9.0, 0.5, 4.0]]),), name="spread-logits"))
    return cases


CASES["Softmax"] = _softmax_cases(F.softmax)
CASES["LogSoftmax"] = _softmax_cases(F.log_softmax)


def _seeded_dropout(p: float):
    def fn(x):
        tg.manual_seed(123)  # the same mask on every evaluation of the check
        return F.dropout(x, p=p, training=True)
    return fn


CASES["Dropout"] = [
    Case(_seeded_dropout(0.5), (randn(4, 5),), name="p=0.5"),
    Case(_seeded_dropout(0.2), (randn(2, 3, 2),), name="p=0.2"),
    Case(_seeded_dropout(0.9), (randn(10),), name="p=0.9"),
    Case(_seeded_dropout(1.0), (randn(2, 3),), name="p=1-all-dropped"),
    Case(_seeded_dropout(0.3), (np.array(0.6),), name="0d"),
]
