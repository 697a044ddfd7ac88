"""Gradient-check cases for the Tensor API under PyTorch's names: writing by index (setitem,
index_put, gather, scatter), sin/cos/log1p/expm1/softplus, the piecewise-constant rounding ops,
prod, cumsum and the 2-norm.

Inputs stay away from kinks: softplus sees nothing near its threshold, prod's zeros are exact
zeros (the case under test), the 2-norm is checked away from 0 and at 0 separately.
"""
from __future__ import annotations

import numpy as np

import tinygrad_np as tg
from tinygrad_np.ops import elementwise as ew
from tests.cases import FLOAT64_CONSTANT, Case

_rng = np.random.default_rng(20240610)


def randn(*shape: int) -> np.ndarray:
    return np.asarray(_rng.standard_normal(shape))


def positive(*shape: int) -> np.ndarray:
    return np.asarray(0.5 + _rng.random(shape))


def strided(*shape: int) -> np.ndarray:
    """Inputs for `_nc`: twice as wide as `shape` on the last axis."""
    return randn(*shape[:-1], 2 * shape[-1])


def _nc(fn):
    """fn on every other column of its inputs: the op sees non-contiguous views (the leaves
    themselves are fresh contiguous copies)."""
    return lambda *xs: fn(*(x[..., ::2] for x in xs))


def _s(shape: tuple[int, ...]) -> str:
    return "x".join(map(str, shape)) if shape else "0d"


def _put(index, value_from=None):
    """fn(x[, v]) = x with `v` (or a constant) written at `index` by index_put, squared so the
    gradient depends on the values that stayed."""
    def fn(x, v=None):
        y = x.index_put(index, v if v is not None else value_from)
        return y * y
    return fn


def _setitem(x, v):
    """The same write through `y[index] = v` on a copy (each call rebases y's history)."""
    y = x * 1.0
    y[1, np.array([0, 2])] = v
    return y * y


def _setitem_into_constant(v):
    """`out[1:3] = v` on a constant: out becomes a graph tensor whose history is v's."""
    out = tg.zeros(4, 2, dtype=np.float64)
    out[1:3] = v
    return out * out


def _float32(fn):
    """fn evaluated in float32 and brought back to float64 (a float32 forward and backward inside)."""
    return lambda *xs: fn(*(x.astype(np.float32) for x in xs)).astype(np.float64)


_F32 = {"eps": 1e-3, "atol": 1e-3, "rtol": 1e-2}
# for check_op: a `_float32` case ends in a cast to float64 by design (the op's own cases prove float32)
_CASTS_BACK = {"check_float32": False}
# for check_op: exact zeros are the point of the case, and a zero factor makes a product's other
# derivatives 0 by value, not by routing, so an inf upstream gives 0 * inf = NaN there (as PyTorch)
_ZERO_FACTOR = {"check_routed": False}
_mask = np.array([[True, False, True, False], [False, False, True, True], [True, True, False, False]])
_idx = np.array([[0, 2, 1, 0], [2, 2, 0, 1]])

CASES: dict[str, list[Case]] = {}

CASES["IndexPut"] = [
    Case(_setitem, (randn(2, 3), randn(2)), name="setitem",
         check_op=dict(batch_axis=None)),  # writes at a fixed row and columns: no axis is a batch
    Case(_put((1, slice(None))), (randn(3, 4), randn(4)), name="row"),
    Case(_put((slice(None), 2)), (randn(3, 4), randn()), name="broadcast-0d-value"),
    Case(_put(_mask), (randn(3, 4), randn(int(_mask.sum()))), name="boolean-mask"),
    Case(_put(_mask), (randn(3, 4), randn()), name="mask-scalar-value"),
    # a repeated index writes one position twice: which value stays is undefined (as in PyTorch),
    # so those are compared with PyTorch (tests/ops/test_tensor_api_torch.py), not gradchecked
    Case(_put((np.array([0, 2, 1]), np.array([1, 3, 1]))), (randn(3, 4), randn(3)),
         name="int-arrays"),
    Case(_put(np.array([2, 0]), value_from=7.0), (randn(3, 2),), name="constant-value"),
    Case(_setitem_into_constant, (randn(2, 2),), name="setitem-into-constant",
         check_op=FLOAT64_CONSTANT),  # written into float64 zeros
    Case(_nc(_put((slice(None), slice(None, None, 2)))), (strided(3, 4), strided(3, 2)), name="non-contiguous"),
    Case(_put(slice(0, 0)), (randn(3, 2), randn(0, 2)), name="size-0-selection"),
    Case(_float32(_put(1)), (randn(3, 2), randn(2)), name="float32", kwargs=_F32, check_op=_CASTS_BACK),
    Case(lambda x, v: x.index_put((slice(None), np.array([3, 0])), v), (randn(2, 4), randn(2, 1)),
         name="broadcast-value"),
]
CASES["Gather"] = [
    Case(lambda x, i: x.gather(0, i), (randn(3, 4), _idx), name="axis0-repeated",
         check_op=dict(batch_axis=1)),  # read along axis 0: the columns are independent samples
    Case(lambda x: x.gather(1, np.array([[3, 3], [0, 1], [2, 0]])), (randn(3, 4),), name="axis1-shorter"),
    Case(lambda x: x.gather(-1, np.array([[[1, 0]], [[0, 0]]])), (randn(2, 3, 2),), name="3d-negative-axis"),
    Case(lambda x: tg.gather(x, 0, np.zeros((0, 4), np.int64)), (randn(3, 4),), name="size-0-index"),
    Case(lambda x: x.gather(0, np.array([0, 0])), (randn(),), name="0d-read-twice"),
    Case(_nc(lambda x: x.gather(1, np.array([[1, 0]]))), (strided(2, 3),), name="non-contiguous"),
    Case(_float32(lambda x: x.gather(0, _idx)), (randn(3, 4),), name="float32", kwargs=_F32, check_op=_CASTS_BACK),
]
CASES["Scatter"] = [
    Case(lambda x, i, s: x.scatter(0, i, s), (randn(3, 4), np.array([[0, 2, 1, 1]]), randn(1, 4)), name="axis0",
         check_op=dict(batch_axis=1)),  # written along axis 0: the columns are independent samples
    Case(lambda x, s: x.scatter(1, np.array([[2, 0], [1, 3]]), s), (randn(2, 4), randn(2, 3)),
         name="src-longer-than-index"),
    Case(lambda x: x.scatter(1, np.array([[0], [2]]), -3.0), (randn(2, 3),), name="scalar-value"),
    Case(lambda s, c=randn(2, 3): tg.Tensor(c).scatter(0, np.array([[1, 0, 1]]), s), (randn(1, 3),),
         name="only-src-needs-grad", check_op=FLOAT64_CONSTANT),
    Case(lambda x, s: x.scatter(0, np.zeros((0, 2), np.int64), s), (randn(2, 2), randn(0, 2)), name="size-0"),
    Case(_float32(lambda x, s: x.scatter(1, np.array([[1], [0]]), s)), (randn(2, 3), randn(2, 1)),
         name="float32", kwargs=_F32, check_op=_CASTS_BACK),
]
CASES["ScatterAdd"] = [
    Case(lambda x, i, s: x.scatter_add(0, i, s), (randn(3, 4), _idx, randn(2, 4)), name="axis0-repeated",
         check_op=dict(batch_axis=1)),  # added along axis 0: the columns are independent samples
    Case(lambda x, s: tg.scatter_add(x, 1, np.array([[0, 0, 0]]), s), (randn(1, 2), randn(1, 3)),
         name="all-to-one"),
    Case(lambda x, s: x.scatter_add(1, np.array([[1], [0]]), s), (randn(2, 3), randn(2, 2)),
         name="src-longer-than-index"),
    Case(_nc(lambda x, s: x.scatter_add(1, np.array([[0, 1]]), s)), (strided(1, 3), strided(1, 2)),
         name="non-contiguous"),
    Case(lambda x, s: x.scatter_add(0, np.zeros((0, 3), np.int64), s), (randn(2, 3), randn(0, 3)), name="size-0"),
    Case(_float32(lambda x, s: x.scatter_add(0, _idx, s)), (randn(3, 4), randn(2, 4)), name="float32", kwargs=_F32,
         check_op=_CASTS_BACK),
]

CASES["Sin"] = [Case(lambda x: x.sin(), (randn(*s),), name=_s(s)) for s in ((2, 3), (), (0, 2))] + [
    Case(_float32(lambda x: x.sin()), (randn(4),), name="float32", kwargs=_F32, check_op=_CASTS_BACK),
    Case(_nc(lambda x: x.sin()), (strided(2, 3),), name="non-contiguous"),
]
CASES["Cos"] = [Case(lambda x: x.cos(), (randn(*s),), name=_s(s)) for s in ((2, 3), (), (0, 2))] + [
    Case(_float32(lambda x: x.cos()), (randn(4),), name="float32", kwargs=_F32, check_op=_CASTS_BACK),
    Case(_nc(lambda x: x.cos()), (strided(2, 3),), name="non-contiguous"),
]
CASES["Log1p"] = [Case(lambda x: x.log1p(), (np.asarray(positive(*s) - 0.4),), name=_s(s)) for s in ((2, 3), ())] + [
    Case(lambda x: x.log1p(), (np.array([1e-9, -1e-9, 3.0]),), name="tiny"),
    Case(lambda x: x.log1p(), (np.zeros((0, 3)),), name="size-0"),
    Case(_float32(lambda x: x.log1p()), (positive(4),), name="float32", kwargs=_F32, check_op=_CASTS_BACK),
    Case(_nc(lambda x: x.log1p()), (0.5 + np.abs(randn(2, 6)),), name="non-contiguous"),
]
CASES["Expm1"] = [Case(lambda x: x.expm1(), (randn(*s),), name=_s(s)) for s in ((2, 3), (), (0,))] + [
    Case(lambda x: x.expm1(), (np.array([1e-9, -1e-9, -5.0]),), name="tiny"),
    Case(_float32(lambda x: x.expm1()), (randn(4),), name="float32", kwargs=_F32, check_op=_CASTS_BACK),
    Case(_nc(lambda x: x.expm1()), (strided(2, 3),), name="non-contiguous"),
]
CASES["Softplus"] = [
    Case(lambda x: x.softplus(), (3 * randn(3, 4),), name="default"),
    Case(lambda x: x.softplus(beta=2.0, threshold=5.0), (np.array([-4.0, -0.5, 0.0, 1.2, 2.0, 3.0, 9.0]),),
         name="beta-2-both-sides-of-threshold"),
    Case(lambda x: x.softplus(beta=0.5), (np.array([-60.0, 30.0, 50.0]),), name="tails"),
    Case(lambda x: x.softplus(), (randn(),), name="0d"),
    Case(_float32(lambda x: x.softplus()), (randn(5),), name="float32", kwargs=_F32, check_op=_CASTS_BACK),
    Case(lambda x: x.softplus(), (np.zeros((2, 0)),), name="size-0"),
    Case(_nc(lambda x: x.softplus()), (strided(2, 3),), name="non-contiguous"),
]
CASES["PiecewiseConstant"] = [
    Case(lambda x: x.sign() * x, (randn(2, 3),), name="sign"),
    Case(lambda x: x.floor() + x, (np.array([-1.7, -0.2, 0.4, 2.6]),), name="floor"),
    Case(lambda x: x.ceil() * x, (np.array([-1.7, -0.2, 0.4, 2.6]),), name="ceil",
         check_op=_ZERO_FACTOR),  # ceil(-0.2) = 0 is the factor
    Case(lambda x: x.round() - x, (np.array([-1.7, -0.2, 0.4, 2.6]),), name="round"),
    Case(lambda x: x.round(decimals=1) * x, (np.array([-1.72, 0.43]),), name="round-decimals"),
    Case(lambda x: ew.PiecewiseConstant.apply(x, fn=np.floor), (randn(),), name="0d-alone"),
    Case(_float32(lambda x: x.floor() * x), (np.array([-1.7, 1.4, 2.6]),), name="float32", kwargs=_F32,
         check_op=_CASTS_BACK),
    Case(lambda x: x.sign(), (np.zeros((0, 2)),), name="size-0"),
]

_REDUCE_ARGS = [  # (shape, axis, keepdims)
    ((2, 3, 4), None, False),
    ((2, 3, 4), 1, False),
    ((2, 3, 4), -1, True),
    ((2, 3, 4), (0, 2), False),
    ((3, 1), 1, False),
    ((), None, False),
    ((0, 3), 0, False),
]
CASES["Prod"] = [
    Case(lambda x, a=a, k=k: x.prod(axis=a, keepdims=k), (np.asarray(positive(*s) * _rng.choice([-1, 1], s)),),
         name=f"{_s(s)}-axis={a}-keepdims={k}".replace(" ", "")) for s, a, k in _REDUCE_ARGS
] + [
    Case(lambda x: x.prod(), (np.array([1.5, 0.0, -2.0, 0.7]),), name="one-zero", check_op=_ZERO_FACTOR),
    Case(lambda x: x.prod(axis=1), (np.array([[0.0, 2.0, 3.0], [1.5, -1.0, 2.0], [0.0, 0.0, 4.0]]),),
         name="rows-with-none-one-two-zeros", second_order=False,  # see Prod: 2nd derivative 0 at two zeros
         check_op=_ZERO_FACTOR),
    Case(lambda x: x.prod(), (np.array([0.0, 2.0, 0.0]),), name="two-zeros", second_order=False,
         check_op=_ZERO_FACTOR),
    Case(_nc(lambda x: x.prod(dim=0, keepdim=True)), (strided(3, 2),), name="non-contiguous-torch-names"),
    Case(_float32(lambda x: x.prod(axis=1)), (positive(2, 3),), name="float32", kwargs=_F32, check_op=_CASTS_BACK),
]
CASES["CumSum"] = [
    Case(lambda x: x.cumsum(axis=1), (randn(2, 3),), name="axis1"),
    Case(lambda x: x.cumsum(dim=0), (randn(3, 2),), name="axis0-torch-name"),
    Case(lambda x: x.cumsum(), (randn(2, 3),), name="flattened"),
    Case(lambda x: x.cumsum(axis=-1), (randn(2, 0),), name="size-0"),
    Case(lambda x: x.cumsum(0), (randn(),), name="0d"),
    Case(_nc(lambda x: tg.cumsum(x, 1)), (strided(2, 3),), name="non-contiguous"),
    Case(_float32(lambda x: x.cumsum(0)), (randn(4),), name="float32", kwargs=_F32, check_op=_CASTS_BACK),
]
CASES["L2Norm"] = [
    Case(lambda x, a=a, k=k: x.norm(axis=a, keepdims=k), (randn(*s),),
         name=f"{_s(s)}-axis={a}-keepdims={k}".replace(" ", "")) for s, a, k in _REDUCE_ARGS[:5]
] + [
    Case(lambda x: x.norm(p="fro", dim=(0, 1)), (randn(2, 3),), name="fro-torch-names"),
    Case(_nc(lambda x: x.norm(axis=1)), (strided(2, 3),), name="non-contiguous"),
    Case(_float32(lambda x: x.norm(axis=0)), (randn(3, 2),), name="float32", kwargs=_F32, check_op=_CASTS_BACK),
]

# Methods made of the ops above and the engine's: their cases join those ops' lists.
_distinct = np.array([[0.31, -1.2, 0.05, 2.2], [1.4, 0.9, -0.6, -2.1], [0.7, -0.33, 1.9, 0.12]])
CASES["Gather"] += [
    Case(lambda x: x.sort(axis=1).values, (_distinct.copy(),), name="sort"),
    Case(lambda x: x.sort(dim=0, descending=True)[0], (_distinct.copy(),), name="sort-descending"),
    Case(lambda x: x.topk(2, dim=1).values, (_distinct.copy(),), name="topk"),
    Case(lambda x: tg.topk(x, 1, axis=0, largest=False).values, (_distinct.copy(),), name="topk-smallest"),
    Case(lambda x: x.max(axis=1, return_indices=True).values, (_distinct.copy(),), name="max-with-indices"),
    Case(lambda x: x.min(dim=0, keepdim=True, return_indices=True)[0], (_distinct.copy(),),
         name="min-with-indices-keepdim"),
]
CASES["GetItem"] = [
    Case(lambda x: x.flip(1), (randn(2, 3),), name="flip"),
    Case(lambda x: tg.flip(x), (randn(2, 3),), name="flip-all"),
    Case(lambda x: x.index_select(1, np.array([2, 0, 2])), (randn(2, 3),), name="index_select-repeated"),
    Case(lambda x: x.split([1, 2], dim=1)[1], (randn(2, 3),), name="split-sections"),
    Case(lambda x: tg.concatenate(x.chunk(2), axis=0)[::2], (randn(5, 2),), name="chunk"),
]
CASES["Concatenate"] = [
    Case(lambda x: x.roll(1, axis=0), (randn(3, 2),), name="roll"),
    Case(lambda x: x.roll((2, -1), dims=(0, 1)), (randn(3, 2),), name="roll-two-axes"),
    Case(lambda x: tg.roll(x, 4), (randn(2, 3),), name="roll-flattened"),
    Case(lambda a, b: tg.cat([a, b], dim=1), (randn(2, 1), randn(2, 2)), name="cat"),
]
CASES["BroadcastTo"] = [
    Case(lambda x: x.expand(2, -1, 3), (randn(3, 1),), name="expand"),
    Case(lambda x: x.tile(2, 1), (randn(2, 3),), name="tile"),
    Case(lambda x: x.repeat(2, 1, 2), (randn(1, 3),), name="repeat-new-axis"),
]
CASES["Transpose"] = [
    Case(lambda x: x.permute(2, 0, 1), (randn(2, 3, 4),), name="permute"),
    Case(lambda x: x.swapaxes(0, -1), (randn(2, 3, 4),), name="swapaxes"),
]
CASES["Where"] = [
    Case(lambda x: x.masked_fill(_mask, 0.5), (randn(3, 4),), name="masked_fill"),
    Case(lambda x, v: x.masked_fill(np.array([True, False, True, False]), v), (randn(3, 4), randn()),
         name="masked_fill-tensor-value-broadcast-mask"),
]
CASES["Std"] = [
    Case(lambda x, a=a, k=k: x.std(axis=a, keepdims=k), (randn(*s),),
         name=f"{_s(s)}-axis={a}-keepdims={k}".replace(" ", "")) for s, a, k in _REDUCE_ARGS[:5]
] + [
    Case(lambda x: x.std(dim=0, correction=1, keepdim=True), (randn(3, 4),), name="ddof=1-torch-names"),
    Case(_nc(lambda x: x.std(axis=1)), (strided(2, 3),), name="non-contiguous"),
    Case(_float32(lambda x: x.std(axis=0)), (randn(4, 2),), name="float32", kwargs=_F32, check_op=_CASTS_BACK),
]
