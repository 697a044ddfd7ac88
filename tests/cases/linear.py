"""Gradient-check cases for F.linear, which is a matmul against the transposed weight plus a
broadcast bias: its cases extend MatMul's with the layouts a fully connected layer uses."""
from __future__ import annotations

import numpy as np

import tinygrad_np.functional as F
from tests.cases import Case

_rng = np.random.default_rng(20240607)


def randn(*shape: int) -> np.ndarray:
    return np.asarray(_rng.standard_normal(shape))


CASES: dict[str, list[Case]] = {}

CASES["MatMul"] = [
    Case(F.linear, (randn(4, 3), randn(2, 3), randn(2)), name="linear-batch"),
    Case(F.linear, (randn(3), randn(5, 3), randn(5)), name="linear-1d-input"),
    Case(F.linear, (randn(2, 3, 4), randn(2, 4), randn(2)), name="linear-3d-input"),
    Case(lambda x, w: F.linear(x, w), (randn(3, 2), randn(4, 2)), name="linear-no-bias"),
    Case(F.linear, (randn(2, 1), randn(1, 1), randn(1)), name="linear-one-feature"),
]
