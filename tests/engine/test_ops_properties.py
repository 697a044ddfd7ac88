"""Property tests: engine ops on random shapes (broadcast pairs, batched matmul, axis tuples).

Each example checks the forward against NumPy and the gradient with gradcheck. Values come from
bounded float64 strategies that keep clear of kinks: positive bases for log/sqrt/pow, denominators
away from 0, and values on offset 0.1 grids (never tied) for max/min.
"""
from __future__ import annotations

import hypothesis.extra.numpy as hnp
import numpy as np
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_np as tg
from tinygrad_np.gradcheck import gradcheck, gradgradcheck

MAX_DIMS, MAX_SIDE = 3, 3


def floats(lo: float, hi: float) -> st.SearchStrategy[float]:
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False, allow_subnormal=False, width=64)


SMOOTH = floats(-2.0, 2.0)
POSITIVE = floats(0.5, 2.0)
AWAY_FROM_ZERO = st.one_of(floats(-2.0, -0.2), floats(0.2, 2.0))


def array(shape: tuple[int, ...], elements: st.SearchStrategy[float] = SMOOTH) -> st.SearchStrategy[np.ndarray]:
    return hnp.arrays(np.float64, shape, elements=elements)


def grid(shape: tuple[int, ...], offset: float, unique: bool = False) -> st.SearchStrategy[np.ndarray]:
    """Values k * 0.2 + offset: two grids offset by 0.1 never meet; `unique` gives no ties within one."""
    return hnp.arrays(np.int64, shape, elements=st.integers(-30, 30), unique=unique).map(
        lambda k: k * 0.2 + offset)


def leaf(x: np.ndarray) -> tg.Tensor:
    return tg.Tensor(x, requires_grad=True)


def check_forward(out: tg.Tensor, expected: np.ndarray) -> None:
    expected = np.asarray(expected)
    assert out.shape == expected.shape and out.dtype == np.float64
    np.testing.assert_allclose(out.data, expected, rtol=1e-12, atol=1e-12)


PAIRS = hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=MAX_DIMS, max_side=MAX_SIDE)

BINARY = {
    "add": (lambda a, b: a + b, np.add, SMOOTH),
    "sub": (lambda a, b: a - b, np.subtract, SMOOTH),
    "mul": (lambda a, b: a * b, np.multiply, SMOOTH),
    "div": (lambda a, b: a / b, np.divide, AWAY_FROM_ZERO),
}


@given(shapes=PAIRS, op=st.sampled_from(sorted(BINARY)), data=st.data())
def test_binary_ops_on_broadcast_pairs(shapes, op, data):
    fn, ref, b_elements = BINARY[op]
    sa, sb = shapes.input_shapes
    a, b = data.draw(array(sa)), data.draw(array(sb, b_elements))
    out = fn(leaf(a), leaf(b))
    check_forward(out, ref(a, b))
    assert out.shape == shapes.result_shape
    assert gradcheck(fn, (leaf(a), leaf(b)))


@given(shapes=PAIRS, data=st.data())
def test_pow_with_tensor_exponent_on_broadcast_pairs(shapes, data):
    sa, sb = shapes.input_shapes
    x, y = data.draw(array(sa, POSITIVE)), data.draw(array(sb, floats(-2.0, 2.0)))
    check_forward(leaf(x) ** leaf(y), np.power(x, y))
    assert gradcheck(lambda x, y: x ** y, (leaf(x), leaf(y)))


@given(shapes=PAIRS, which=st.sampled_from(["maximum", "minimum"]), data=st.data())
def test_maximum_minimum_on_broadcast_pairs(shapes, which, data):
    sa, sb = shapes.input_shapes
    a, b = data.draw(grid(sa, 0.0)), data.draw(grid(sb, 0.1))
    fn = getattr(tg, which)
    check_forward(fn(leaf(a), leaf(b)), getattr(np, which)(a, b))
    assert gradcheck(fn, (leaf(a), leaf(b)))


@given(shapes=hnp.mutually_broadcastable_shapes(num_shapes=3, max_dims=MAX_DIMS, max_side=MAX_SIDE),
       data=st.data())
def test_where_on_broadcast_triples(shapes, data):
    sc, sa, sb = shapes.input_shapes
    cond = data.draw(hnp.arrays(np.bool_, sc))
    a, b = data.draw(array(sa)), data.draw(array(sb))
    check_forward(tg.where(cond, leaf(a), leaf(b)), np.where(cond, a, b))
    assert gradcheck(lambda a, b: tg.where(cond, a, b), (leaf(a), leaf(b)))


@given(shapes=PAIRS, data=st.data())
def test_second_order_of_mul_div_on_broadcast_pairs(shapes, data):
    sa, sb = shapes.input_shapes
    a, b = data.draw(array(sa)), data.draw(array(sb, AWAY_FROM_ZERO))
    assert gradgradcheck(lambda a, b: a * b / b.abs(), (leaf(a), leaf(b)))


# -- matmul ------------------------------------------------------------------------------------
@given(shapes=hnp.mutually_broadcastable_shapes(signature="(m,n),(n,p)->(m,p)", max_dims=MAX_DIMS,
                                                max_side=MAX_SIDE), data=st.data())
def test_batched_matmul(shapes, data):
    sa, sb = shapes.input_shapes
    a, b = data.draw(array(sa)), data.draw(array(sb))
    out = leaf(a) @ leaf(b)
    check_forward(out, np.matmul(a, b))
    assert out.shape == shapes.result_shape
    assert gradcheck(lambda a, b: a @ b, (leaf(a), leaf(b)))


@given(shapes=hnp.mutually_broadcastable_shapes(signature=np.matmul.signature, max_dims=MAX_DIMS,
                                                max_side=MAX_SIDE), data=st.data())
def test_matmul_with_vectors(shapes, data):
    # NumPy's own signature "(n?,k),(k,m?)->(n?,m?)": 1-D operands included
    sa, sb = shapes.input_shapes
    a, b = data.draw(array(sa)), data.draw(array(sb))
    check_forward(leaf(a) @ leaf(b), np.matmul(a, b))
    assert gradcheck(lambda a, b: a @ b, (leaf(a), leaf(b)))


# -- reductions ---------------------------------------------------------------------------------
SHAPES = hnp.array_shapes(min_dims=0, max_dims=MAX_DIMS, min_side=1, max_side=MAX_SIDE)

SMOOTH_REDUCTIONS = {
    "sum": lambda x, axis, keepdims: np.sum(x, axis=axis, keepdims=keepdims),
    "mean": lambda x, axis, keepdims: np.mean(x, axis=axis, keepdims=keepdims),
    "var": lambda x, axis, keepdims: np.var(x, axis=axis, keepdims=keepdims),
    "logsumexp": lambda x, axis, keepdims: np.log(np.sum(np.exp(x), axis=axis, keepdims=keepdims)),
}


@st.composite
def shape_and_axes(draw):
    shape = draw(SHAPES)
    axis = draw(st.one_of(st.none(), hnp.valid_tuple_axes(len(shape))))
    return shape, axis, draw(st.booleans())


@given(args=shape_and_axes(), method=st.sampled_from(sorted(SMOOTH_REDUCTIONS)), data=st.data())
def test_smooth_reductions(args, method, data):
    shape, axis, keepdims = args
    x = data.draw(array(shape))
    fn = lambda x: getattr(x, method)(axis=axis, keepdims=keepdims)  # noqa: E731
    check_forward(fn(leaf(x)), SMOOTH_REDUCTIONS[method](x, axis=axis, keepdims=keepdims))
    assert gradcheck(fn, leaf(x))


@given(args=shape_and_axes(), method=st.sampled_from(["max", "min"]), data=st.data())
def test_max_min_reductions_without_ties(args, method, data):
    shape, axis, keepdims = args
    x = data.draw(grid(shape, 0.05, unique=True))
    fn = lambda x: getattr(x, method)(axis=axis, keepdims=keepdims)  # noqa: E731
    check_forward(fn(leaf(x)), getattr(np, method)(x, axis=axis, keepdims=keepdims))
    assert gradcheck(fn, leaf(x))


# -- unary ops and shape ops ------------------------------------------------------------------
UNARY = {
    "exp": (lambda t: t.exp(), np.exp, SMOOTH),
    "log": (lambda t: t.log(), np.log, POSITIVE),
    "sqrt": (lambda t: t.sqrt(), np.sqrt, POSITIVE),
    "tanh": (lambda t: t.tanh(), np.tanh, SMOOTH),
    "sigmoid": (lambda t: t.sigmoid(), lambda x: 1 / (1 + np.exp(-x)), SMOOTH),
    "abs": (lambda t: t.abs(), np.abs, AWAY_FROM_ZERO),
    "relu": (lambda t: t.relu(), lambda x: np.maximum(x, 0), AWAY_FROM_ZERO),
    "square": (lambda t: t ** 2, np.square, SMOOTH),
}


@given(shape=SHAPES, op=st.sampled_from(sorted(UNARY)), data=st.data())
def test_unary_ops(shape, op, data):
    fn, ref, elements = UNARY[op]
    x = data.draw(array(shape, elements))
    check_forward(fn(leaf(x)), ref(x))
    assert gradcheck(fn, leaf(x))
    assert gradgradcheck(fn, leaf(x))


@given(shapes=hnp.mutually_broadcastable_shapes(num_shapes=1, max_dims=MAX_DIMS, max_side=MAX_SIDE),
       data=st.data())
def test_broadcast_to_and_back(shapes, data):
    (shape,) = shapes.input_shapes
    target = shapes.result_shape
    x = data.draw(array(shape))
    check_forward(leaf(x).broadcast_to(target), np.broadcast_to(x, target))
    assert gradcheck(lambda x: x.broadcast_to(target), leaf(x))
    big = data.draw(array(target))
    assert gradcheck(lambda y: y.sum_to(shape), leaf(big))


@given(shape=hnp.array_shapes(min_dims=1, max_dims=MAX_DIMS, max_side=MAX_SIDE), data=st.data())
def test_transpose_permutations(shape, data):
    axes = data.draw(st.permutations(range(len(shape))))
    negative = [a - len(shape) if data.draw(st.booleans()) else a for a in axes]
    x = data.draw(array(shape))
    check_forward(leaf(x).transpose(*negative), np.transpose(x, axes))
    assert gradcheck(lambda x: x.transpose(*negative), leaf(x))
