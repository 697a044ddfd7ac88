"""Gradient-check cases for batch norm (training mode: batch statistics) and layer norm.

Both backward passes switch, for create_graph, from the forward's saved statistics to statistics
rebuilt with Tensor ops; the gradgradcheck of every case compares the two.
"""
from __future__ import annotations

import numpy as np

import tinygrad_np.functional as F
from tests.cases import Case

_rng = np.random.default_rng(20240606)


def randn(*shape: int, scale: float = 1.0, shift: float = 0.0) -> np.ndarray:
    return np.asarray(shift + scale * _rng.standard_normal(shape))


def _bn(**kwargs):
    return lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True, **kwargs)


CASES: dict[str, list[Case]] = {}

CASES["BatchNorm"] = [
    Case(_bn(), (randn(4, 3), randn(3), randn(3)), name="NC"),
    Case(_bn(), (randn(3, 2, 4, scale=3.0, shift=1.0), randn(2), randn(2)), name="NCL"),
    Case(_bn(), (randn(3, 2, 2, 2), randn(2), randn(2)), name="NCHW"),
    Case(_bn(eps=0.1), (randn(2, 2, 1, 3), randn(2), randn(2)), name="NCHW-large-eps"),
    Case(lambda x: F.batch_norm(x, None, None, training=True), (randn(3, 4, 2),), name="no-affine"),
    Case(lambda x, w: F.batch_norm(x, None, None, w, training=True), (randn(5, 2), randn(2)), name="weight-only"),
    Case(lambda x, b: F.batch_norm(x, None, None, bias=b, training=True), (randn(4, 2, 2), randn(2)),
         name="bias-only"),
    Case(lambda x, w: F.batch_norm(x, None, None, w, training=True), (randn(2, 3), randn(3)),
         name="two-values-per-channel"),
]

CASES["LayerNorm"] = [
    Case(lambda x, w, b: F.layer_norm(x, 4, w, b), (randn(3, 4), randn(4), randn(4)), name="last-axis"),
    Case(lambda x, w, b: F.layer_norm(x, (3, 4), w, b), (randn(2, 3, 4, scale=2.0, shift=-1.0), randn(3, 4),
                                                         randn(3, 4)), name="last-two-axes"),
    Case(lambda x, w, b: F.layer_norm(x, (5,), w, b, eps=0.1), (randn(5), randn(5), randn(5)), name="1d-large-eps"),
    Case(lambda x: F.layer_norm(x, [2, 3]), (randn(2, 2, 3),), name="no-affine"),
    Case(lambda x, w: F.layer_norm(x, 3, w), (randn(2, 2, 3), randn(3)), name="weight-only"),
    Case(lambda x, b: F.layer_norm(x, 3, bias=b), (randn(4, 3), randn(3)), name="bias-only"),
]
