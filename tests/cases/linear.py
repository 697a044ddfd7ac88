"""Gradient-check cases for F.linear (one `Linear` node: x @ weight.T + bias) in the layouts a fully
connected layer meets: a batch, one vector, extra leading axes, no bias, frozen or constant parts."""
from __future__ import annotations

import numpy as np

import tinygrad_np as tg
import tinygrad_np.functional as F
from tests.cases import FLOAT64_CONSTANT, Case

_rng = np.random.default_rng(20240607)


def randn(*shape: int) -> np.ndarray:
    return np.asarray(_rng.standard_normal(shape))


CASES: dict[str, list[Case]] = {}

_constant_x = tg.Tensor(randn(3, 4))  # a batch of inputs: no gradient wanted
_frozen_w = tg.Tensor(randn(2, 4))  # a frozen layer

CASES["Linear"] = [
    Case(F.linear, (randn(4, 3), randn(2, 3), randn(2)), name="batch"),
    Case(F.linear, (randn(3), randn(5, 3), randn(5)), name="1d-input"),
    Case(F.linear, (randn(2, 3, 4), randn(2, 4), randn(2)), name="3d-input"),
    Case(lambda x, w: F.linear(x, w), (randn(3, 2), randn(4, 2)), name="no-bias"),
    Case(F.linear, (randn(2, 1), randn(1, 1), randn(1)), name="one-feature"),
    Case(lambda w, b: F.linear(_constant_x, w, b), (randn(2, 4), randn(2)), name="constant-input",
         check_op=FLOAT64_CONSTANT),
    Case(lambda x, b: F.linear(x, _frozen_w, b), (randn(3, 4), randn(2)), name="frozen-weight",
         check_op=FLOAT64_CONSTANT),
]
