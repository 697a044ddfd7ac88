"""Gradient-check cases for max and average pooling and their backward ops.

Max pooling inputs are distinct values 0.1 apart, so no window has a tie within eps; -inf padding
never wins. The scatter/gather ops behind max pooling's backward are linear for fixed offsets, so
they are checked with random offsets.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from tinygrad_np.ops.windows import make_geometry
from tinygrad_np.ops.pool import AvgPool2dScatter, MaxPool2dGather, MaxPool2dScatter, avg_pool2d, max_pool2d
from tests.cases import Case

_rng = np.random.default_rng(20240612)


def randn(*shape: int) -> np.ndarray:
    return np.asarray(_rng.standard_normal(shape))


def distinct(*shape: int) -> np.ndarray:
    """All-different values 0.1 apart, in random order (no ties in any window)."""
    n = int(np.prod(shape))
    return ((_rng.permutation(n) - n / 2) * 0.1 + 0.013).reshape(shape)


def _tag(**kw: Any) -> str:
    return ",".join(f"{k}={v}" for k, v in kw.items()).replace(" ", "")


def _pool(fn: Any, shape: tuple[int, ...], kernel: Any, **kw: Any) -> Case:
    def run(x):
        return fn(x, kernel, **kw)
    return Case(run, (distinct(*shape),), name=f"x{shape}-{_tag(kernel=kernel, **kw)}")


def _geometry(shape: tuple[int, ...], kernel: tuple[int, int], stride: tuple[int, int], pad: tuple[int, int]):
    return make_geometry("case", shape, kernel, stride, (pad[0], pad[0], pad[1], pad[1]), (1, 1))


def _scatter(shape: tuple[int, ...], kernel: tuple[int, int], stride: tuple[int, int], pad: tuple[int, int]) -> Case:
    geom = _geometry(shape, kernel, stride, pad)
    index = _rng.integers(0, kernel[0] * kernel[1], size=shape[:2] + geom.out).astype(np.uint8)

    def run(grad):
        return MaxPool2dScatter.apply(grad, index=index, geom=geom, shape=shape)
    return Case(run, (randn(*shape[:2], *geom.out),), name=f"x{shape}-{_tag(kernel=kernel, stride=stride, pad=pad)}")


def _gather(shape: tuple[int, ...], kernel: tuple[int, int], stride: tuple[int, int], pad: tuple[int, int]) -> Case:
    geom = _geometry(shape, kernel, stride, pad)
    index = _rng.integers(0, kernel[0] * kernel[1], size=shape[:2] + geom.out).astype(np.uint8)

    def run(x):
        return MaxPool2dGather.apply(x, index=index, geom=geom)
    return Case(run, (randn(*shape),), name=f"x{shape}-{_tag(kernel=kernel, stride=stride, pad=pad)}")


def _avg_scatter(shape: tuple[int, ...], kernel: tuple[int, int], stride: tuple[int, int],
                 pad: tuple[int, int]) -> Case:
    geom = _geometry(shape, kernel, stride, pad)

    def run(grad):
        return AvgPool2dScatter.apply(grad, geom=geom, shape=shape)
    return Case(run, (randn(*shape[:2], *geom.out),), name=f"x{shape}-{_tag(kernel=kernel, stride=stride, pad=pad)}")


CASES: dict[str, list[Case]] = {}

CASES["MaxPool2d"] = [
    _pool(max_pool2d, (2, 2, 4, 6), 2),  # tiles the input: the reshape fast path
    _pool(max_pool2d, (1, 3, 5, 7), 3, stride=2, padding=1),
    _pool(max_pool2d, (2, 1, 5, 5), (2, 3), stride=1),  # overlapping windows
    _pool(max_pool2d, (1, 2, 7, 6), (3, 2), stride=(3, 1), padding=(1, 1)),
    _pool(max_pool2d, (1, 2, 5, 5), 2),  # a leftover row and column that no window reads
]

CASES["AvgPool2d"] = [
    _pool(avg_pool2d, (2, 2, 4, 6), 2),
    _pool(avg_pool2d, (1, 3, 5, 7), 3, stride=2, padding=1),
    _pool(avg_pool2d, (2, 1, 5, 5), (2, 3), stride=1),
    _pool(avg_pool2d, (1, 2, 7, 6), (3, 2), stride=(3, 1), padding=(1, 1)),
]

CASES["MaxPool2dScatter"] = [
    _scatter((1, 2, 4, 4), (2, 2), (2, 2), (0, 0)),
    _scatter((2, 1, 5, 6), (3, 3), (2, 1), (1, 1)),
]

CASES["MaxPool2dGather"] = [
    _gather((1, 2, 4, 4), (2, 2), (2, 2), (0, 0)),
    _gather((2, 1, 5, 6), (3, 3), (2, 1), (1, 1)),
]

CASES["AvgPool2dScatter"] = [
    _avg_scatter((1, 2, 4, 6), (2, 3), (2, 3), (0, 0)),
    _avg_scatter((2, 1, 5, 5), (3, 3), (1, 2), (1, 1)),
]
for _op in ("MaxPool2dScatter", "MaxPool2dGather", "AvgPool2dScatter"):
    CASES[_op][0].with_check_op(batch_axis=None)  # the stored offsets and output shape fix the batch
