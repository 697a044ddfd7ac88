"""Forward results of every engine op against NumPy: values, shapes and dtypes.

float32 in gives float32 out and float64 stays float64; a float32 graph never upcasts, not even
when Python floats or float64 NumPy scalars/arrays are used as constant operands.
"""
from __future__ import annotations

import numpy as np
import pytest

import tinygrad_np as tg
from tinygrad_np.errors import ShapeError
from tinygrad_np.ops import shape as shape_ops

rng = np.random.default_rng(11)
DTYPES = [np.float32, np.float64]


def arr(*shape: int, dtype=np.float64, low: float | None = None) -> np.ndarray:
    values = rng.standard_normal(shape) if low is None else low + rng.random(shape)
    return np.asarray(values, dtype=dtype)


def check(result: tg.Tensor, expected, dtype) -> None:
    """Same values, shape and dtype as the NumPy reference."""
    expected = np.asarray(expected)
    assert isinstance(result, tg.Tensor)
    assert type(result.data) is np.ndarray
    assert result.shape == expected.shape
    assert result.dtype == np.dtype(dtype), f"got {result.dtype}, expected {np.dtype(dtype)}"
    tol = 1e-6 if np.dtype(dtype) == np.float32 else 1e-12
    np.testing.assert_allclose(result.data, expected, rtol=tol, atol=tol)


# -- elementwise --------------------------------------------------------------------------------
BINARY = [
    ("add", lambda a, b: a + b, np.add),
    ("sub", lambda a, b: a - b, np.subtract),
    ("mul", lambda a, b: a * b, np.multiply),
    ("div", lambda a, b: a / b, np.divide),
    ("pow", lambda a, b: a ** b, np.power),
    ("maximum", tg.maximum, np.maximum),
    ("minimum", tg.minimum, np.minimum),
]
SHAPE_PAIRS = [((2, 3), (2, 3)), ((5, 3), (3,)), ((2, 1, 4), (3, 1)), ((), (2, 3)), ((), ()), ((0, 3), (3,))]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("sa, sb", SHAPE_PAIRS)
@pytest.mark.parametrize("name, op, ref", BINARY, ids=[b[0] for b in BINARY])
def test_binary_ops_match_numpy(name, op, ref, sa, sb, dtype):
    a, b = arr(*sa, dtype=dtype, low=0.5), arr(*sb, dtype=dtype)
    check(op(tg.Tensor(a), tg.Tensor(b)), ref(a, b), dtype)


UNARY = [
    ("neg", lambda t: -t, np.negative, None),
    ("exp", lambda t: t.exp(), np.exp, None),
    ("log", lambda t: t.log(), np.log, 0.1),
    ("sqrt", lambda t: t.sqrt(), np.sqrt, 0.0),
    ("abs", lambda t: t.abs(), np.abs, None),
    ("relu", lambda t: t.relu(), lambda x: np.where(x > 0, x, 0), None),
    ("sigmoid", lambda t: t.sigmoid(), lambda x: 1 / (1 + np.exp(-x)), None),
    ("tanh", lambda t: t.tanh(), np.tanh, None),
    ("clip", lambda t: t.clip(-0.5, 0.7), lambda x: np.clip(x, -0.5, 0.7), None),
    ("clip-lo", lambda t: t.clip(lo=0.1), lambda x: np.maximum(x, 0.1), None),
    ("clip-hi", lambda t: t.clip(hi=-0.1), lambda x: np.minimum(x, -0.1), None),
    ("clip-none", lambda t: t.clip(), lambda x: x, None),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(2, 3), (), (4,), (0,), (2, 1, 3)])
@pytest.mark.parametrize("name, op, ref, low", UNARY, ids=[u[0] for u in UNARY])
def test_unary_ops_match_numpy(name, op, ref, low, shape, dtype):
    x = arr(*shape, dtype=dtype, low=low)
    check(op(tg.Tensor(x)), ref(x), dtype)


def test_sigmoid_is_finite_for_large_inputs():
    x = np.array([-1000.0, -50.0, 0.0, 50.0, 1000.0], dtype=np.float32)
    with np.errstate(all="raise"):
        out = tg.Tensor(x).sigmoid()
    np.testing.assert_allclose(out.data, [0.0, 0.0, 0.5, 1.0, 1.0], atol=1e-7)


def test_clip_does_not_alias_its_input():
    x = tg.Tensor(arr(3))
    out = x.clip()
    assert not np.shares_memory(out.data, x.data)


@pytest.mark.parametrize("src, dst", [(np.float64, np.float32), (np.float32, np.float64), (np.float32, np.float32)])
def test_cast(src, dst):
    x = arr(2, 3, dtype=src)
    check(tg.Tensor(x).astype(dst), x.astype(dst), dst)
    assert tg.Tensor(x).float().dtype == np.float32 and tg.Tensor(x).double().dtype == np.float64


@pytest.mark.parametrize("dtype", DTYPES)
def test_where_matches_numpy(dtype):
    cond = rng.random((2, 3)) > 0.5
    a, b = arr(2, 3, dtype=dtype), arr(3, dtype=dtype)
    check(tg.where(cond, tg.Tensor(a), tg.Tensor(b)), np.where(cond, a, b), dtype)
    check(tg.where(tg.Tensor(cond), tg.Tensor(a), 0.5), np.where(cond, a, 0.5), dtype)
    check(tg.where(cond, 0.5, tg.Tensor(a)), np.where(cond, 0.5, a), dtype)
    check(tg.where(np.array([1, 0, 2]), tg.Tensor(b), tg.Tensor(b) * 2), np.where([1, 0, 2], b, b * 2), dtype)


def test_maximum_minimum_with_constants():
    x = arr(4, dtype=np.float32)
    check(tg.maximum(tg.Tensor(x), 0.0), np.maximum(x, 0), np.float32)
    check(tg.minimum(0.25, tg.Tensor(x)), np.minimum(0.25, x), np.float32)
    check(tg.maximum(np.float64(0.1), tg.Tensor(x)), np.maximum(np.float32(0.1), x), np.float32)


# -- dtype preservation ----------------------------------------------------------------------------
F64_SCALAR = np.float64(1.5)
CONSTANT_OPERANDS = [
    ("add-pyfloat", lambda t: t + 1.5), ("radd-pyfloat", lambda t: 1.5 + t),
    ("rsub-pyfloat", lambda t: 1.5 - t), ("mul-pyint", lambda t: t * 3),
    ("rdiv-pyint", lambda t: 2 / t), ("rpow-pyfloat", lambda t: 2.0 ** t),
    ("add-np-f64", lambda t: t + F64_SCALAR), ("radd-np-f64", lambda t: F64_SCALAR + t),
    ("sub-np-f64", lambda t: t - F64_SCALAR), ("rsub-np-f64", lambda t: F64_SCALAR - t),
    ("mul-np-f64", lambda t: t * F64_SCALAR), ("rmul-np-f64", lambda t: F64_SCALAR * t),
    ("div-np-f64", lambda t: t / F64_SCALAR), ("rdiv-np-f64", lambda t: F64_SCALAR / t),
    ("pow-pyfloat", lambda t: t ** 2.0), ("pow-np-f64", lambda t: t ** F64_SCALAR),
    ("pow-np-int", lambda t: t ** np.int64(2)), ("rpow-np-f64", lambda t: F64_SCALAR ** t),
    ("add-f64-array", lambda t: t + np.ones(3)), ("radd-f64-array", lambda t: np.ones(3) + t),
    ("mul-list", lambda t: t * [1.0, 2.0, 3.0]), ("add-int", lambda t: t + 2),
    ("matmul-f64-array", lambda t: t @ np.ones((3, 2))), ("rmatmul-f64-array", lambda t: np.ones((2, 3)) @ t),
    ("clip-np-f64", lambda t: t.clip(np.float64(0.6), np.float64(1.2))),
    ("pad-np-f64", lambda t: t.pad(1, value=np.float64(2.0))),
    ("where-np-f64", lambda t: tg.where(t.data > 1, t, F64_SCALAR)),
    ("maximum-np-f64", lambda t: tg.maximum(t, F64_SCALAR)),
    ("minimum-f64-array", lambda t: tg.minimum(np.ones(3), t)),
    ("concatenate-f64-array", lambda t: tg.concatenate([t, np.zeros(2)])),
    ("stack-f64-array", lambda t: tg.stack([np.zeros(3), t])),
    ("mean", lambda t: t.mean()), ("var", lambda t: t.var(ddof=1)), ("logsumexp", lambda t: t.logsumexp()),
    ("max", lambda t: t.max()), ("sigmoid", lambda t: t.sigmoid()),
]


@pytest.mark.parametrize("name, op", CONSTANT_OPERANDS, ids=[c[0] for c in CONSTANT_OPERANDS])
def test_float32_graph_never_upcasts(name, op):
    x = tg.Tensor(np.array([0.5, 1.0, 2.0], dtype=np.float32), requires_grad=True)
    out = op(x)
    assert out.dtype == np.float32
    out.sum().backward()
    assert x.grad.dtype == np.float32


@pytest.mark.parametrize("name, op", CONSTANT_OPERANDS, ids=[c[0] for c in CONSTANT_OPERANDS])
def test_float64_stays_float64(name, op):
    x = tg.Tensor(np.array([0.5, 1.0, 2.0]), requires_grad=True)
    out = op(x)
    assert out.dtype == np.float64
    out.sum().backward()
    assert x.grad.dtype == np.float64


def test_python_data_defaults_to_float32():
    assert tg.Tensor([1.0, 2.0]).dtype == np.float32
    assert tg.Tensor(2.5).dtype == np.float32
    assert tg.Tensor(np.array([1.0])).dtype == np.float64


# -- comparisons, argmax, argmin --------------------------------------------------------------------
COMPARISONS = [
    (lambda a, b: a < b, np.less), (lambda a, b: a <= b, np.less_equal), (lambda a, b: a > b, np.greater),
    (lambda a, b: a >= b, np.greater_equal), (lambda a, b: a == b, np.equal), (lambda a, b: a != b, np.not_equal),
]


@pytest.mark.parametrize("op, ref", COMPARISONS, ids=["lt", "le", "gt", "ge", "eq", "ne"])
def test_comparisons_are_boolean_and_not_differentiable(op, ref):
    a = np.array([[1.0, 2.0, 3.0], [3.0, 2.0, 1.0]])
    b = np.array([2.0, 2.0, 2.0])
    x = tg.Tensor(a, requires_grad=True)
    for other in (tg.Tensor(b), b, 2.0):
        out = op(x, other)
        assert out.dtype == np.bool_ and not out.requires_grad
        np.testing.assert_array_equal(out.data, ref(a, b))


@pytest.mark.parametrize("axis, keepdims", [(None, False), (0, False), (1, True), (-1, False)])
def test_argmax_argmin(axis, keepdims):
    x = rng.permutation(12).reshape(3, 4).astype(np.float32)
    t = tg.Tensor(x, requires_grad=True)
    for method, ref in (("argmax", np.argmax), ("argmin", np.argmin)):
        out = getattr(t, method)(axis=axis, keepdims=keepdims)
        expected = ref(x, axis=axis, keepdims=keepdims)
        assert out.dtype.kind == "i" and not out.requires_grad
        np.testing.assert_array_equal(out.data, expected)
        assert out.shape == np.shape(expected)


# -- reductions --------------------------------------------------------------------------------
REDUCTIONS = [
    ("sum", lambda x, **k: np.sum(x, **k)),
    ("mean", lambda x, **k: np.mean(x, **k)),
    ("max", lambda x, **k: np.max(x, **k)),
    ("min", lambda x, **k: np.min(x, **k)),
    ("var", lambda x, **k: np.var(x, **k)),
    ("logsumexp", lambda x, axis, keepdims: np.log(np.sum(np.exp(x), axis=axis, keepdims=keepdims))),
]
AXES = [None, 0, 1, -1, (0, 2), (-1, 0), (0, 1, 2)]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("axis", AXES, ids=str)
@pytest.mark.parametrize("method, ref", REDUCTIONS, ids=[r[0] for r in REDUCTIONS])
def test_reductions_match_numpy(method, ref, axis, keepdims, dtype):
    x = arr(2, 3, 4, dtype=dtype)
    check(getattr(tg.Tensor(x), method)(axis=axis, keepdims=keepdims), ref(x, axis=axis, keepdims=keepdims), dtype)


@pytest.mark.parametrize("method", ["sum", "mean", "max", "min", "var", "logsumexp"])
def test_reductions_of_0d(method):
    x = np.array(1.25)
    out = getattr(tg.Tensor(x), method)()
    assert out.shape == () and out.dtype == np.float64
    expected = {"var": 0.0}.get(method, 1.25)
    assert out.item() == pytest.approx(expected)


def test_var_ddof():
    x = arr(3, 5)
    check(tg.Tensor(x).var(axis=1, ddof=1), np.var(x, axis=1, ddof=1), np.float64)


def test_logsumexp_is_stable():
    x = np.array([[1000.0, 1000.0], [-1000.0, -1001.0]])
    out = tg.Tensor(x).logsumexp(axis=1)
    expected = [1000 + np.log(2), -1000 + np.log1p(np.exp(-1.0))]
    np.testing.assert_allclose(out.data, expected, rtol=1e-12)
    assert tg.Tensor(np.array([-np.inf, -np.inf])).logsumexp().item() == -np.inf


def test_sum_over_empty_axis_tuple_is_identity():
    x = arr(2, 3)
    check(tg.Tensor(x).sum(axis=()), x, np.float64)


@pytest.mark.parametrize("method", ["sum", "mean", "max", "var"])
def test_reduction_bad_axis_is_a_shape_error(method):
    with pytest.raises(ShapeError, match=r"axis 3 is out of range .*2 dimension"):
        getattr(tg.Tensor(arr(2, 3)), method)(axis=3)
    with pytest.raises(ShapeError, match="repeated axis"):
        getattr(tg.Tensor(arr(2, 3)), method)(axis=(1, -1))


def test_max_of_empty_tensor_is_an_error():
    with pytest.raises(ShapeError, match="max"):
        tg.Tensor(np.zeros((0, 3))).max()


# -- shape ops ---------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES)
def test_reshape_transpose_flatten_squeeze(dtype):
    x = arr(2, 3, 4, dtype=dtype)
    t = tg.Tensor(x)
    check(t.reshape(4, 6), x.reshape(4, 6), dtype)
    check(t.reshape((-1, 2)), x.reshape(-1, 2), dtype)
    check(t.transpose(), x.transpose(), dtype)
    check(t.transpose(2, 0, 1), x.transpose(2, 0, 1), dtype)
    check(t.transpose((1, -1, 0)), x.transpose(1, 2, 0), dtype)
    check(t.flatten(), x.reshape(-1), dtype)
    check(t.flatten(1), x.reshape(2, -1), dtype)
    check(tg.Tensor(x[:, :1]).squeeze(1), x[:, 0], dtype)
    check(t.unsqueeze(-1), x[..., None], dtype)
    check(tg.Tensor(x[0]).T, x[0].T, dtype)


def test_shape_op_errors_name_the_op_and_shapes():
    t = tg.Tensor(arr(2, 3))
    with pytest.raises(ShapeError, match=r"reshape: .*\(2, 3\).*\(4, 2\)"):
        t.reshape(4, 2)
    with pytest.raises(ShapeError, match=r"transpose: .*not a permutation"):
        t.transpose(0, 0)
    with pytest.raises(ShapeError, match=r"broadcast_to: .*\(2, 3\).*\(3, 3\)"):
        t.broadcast_to((3, 3))
    with pytest.raises(ShapeError, match=r"sum_to: .*\(2, 3\).*\(4,\)"):
        t.sum_to((4,))
    with pytest.raises(ShapeError, match="pad"):
        t.pad(-1)


@pytest.mark.parametrize("dtype", DTYPES)
def test_broadcast_to_and_sum_to(dtype):
    x = arr(3, 1, dtype=dtype)
    check(tg.Tensor(x).broadcast_to((2, 3, 4)), np.broadcast_to(x, (2, 3, 4)), dtype)
    y = arr(2, 3, 4, dtype=dtype)
    check(tg.Tensor(y).sum_to((3, 1)), y.sum(axis=(0, 2)).reshape(3, 1), dtype)
    check(tg.Tensor(y).sum_to((1, 4)), y.sum(axis=(0, 1)).reshape(1, 4), dtype)
    check(tg.Tensor(y).sum_to(()), y.sum(), dtype)
    check(tg.Tensor(y).sum_to((2, 3, 4)), y, dtype)


@pytest.mark.parametrize("pad_width", [1, ((0, 1), (2, 0)), ((1, 2),), (0, 2)], ids=str)
def test_pad_matches_numpy(pad_width):
    x = arr(2, 3, dtype=np.float32)
    check(tg.Tensor(x).pad(pad_width, value=-3.0), np.pad(x, pad_width, constant_values=-3.0), np.float32)


INDEXES = [
    ("int", 1), ("negative-int", -1), ("slice", slice(1, None)), ("negative-step", (slice(None, None, -1), slice(None, None, -2))),
    ("ints", (2, 3)), ("ellipsis-newaxis", (Ellipsis, None, 0)), ("empty-tuple", ()),
    ("int-array", np.array([2, 0, 2])), ("int-arrays", (np.array([0, 2]), np.array([3, -1]))),
    ("list", [1, 1, 0]), ("slice-and-array", (slice(None), np.array([0, 0, 3]))),
    ("bool-mask", np.arange(12).reshape(3, 4) % 3 == 0), ("bool-rows", np.array([True, False, True])),
    ("broadcast-arrays", (np.array([[0], [2]]), np.array([1, 3]))),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name, index", INDEXES, ids=[i[0] for i in INDEXES])
def test_getitem_matches_numpy(name, index, dtype):
    x = arr(3, 4, dtype=dtype)
    check(tg.Tensor(x)[index], x[index], dtype)


def test_getitem_with_tensor_index():
    x = arr(3, 4)
    idx = tg.Tensor(np.array([2, 0]))
    check(tg.Tensor(x)[idx], x[[2, 0]], np.float64)
    check(tg.Tensor(x)[tg.Tensor(x) > 0], x[x > 0], np.float64)


def test_getitem_out_of_range_names_the_shape():
    with pytest.raises(IndexError, match=r"getitem: .*\(3, 4\)"):
        tg.Tensor(arr(3, 4))[5]


def test_index_add_accumulates_duplicates():
    values = arr(5)
    index = np.array([1, 0, 1, 3, 1])
    expected = np.zeros(4)
    for v, i in zip(values, index):  # plain loop reference
        expected[i] += v
    check(shape_ops.IndexAdd.apply(tg.Tensor(values), index=index, shape=(4,)), expected, np.float64)
    basic = shape_ops.IndexAdd.apply(tg.Tensor(values[:2]), index=slice(1, 3), shape=(4,))
    check(basic, [0, values[0], values[1], 0], np.float64)


@pytest.mark.parametrize("dtype", DTYPES)
def test_concatenate_and_stack(dtype):
    a, b, c = arr(2, 3, dtype=dtype), arr(1, 3, dtype=dtype), arr(2, 3, dtype=dtype)
    check(tg.concatenate([tg.Tensor(a), tg.Tensor(b)]), np.concatenate([a, b]), dtype)
    check(tg.concatenate([tg.Tensor(a), tg.Tensor(c)], axis=-1), np.concatenate([a, c], axis=-1), dtype)
    check(tg.stack([tg.Tensor(a), tg.Tensor(c)]), np.stack([a, c]), dtype)
    check(tg.stack([tg.Tensor(a), tg.Tensor(c)], axis=2), np.stack([a, c], axis=2), dtype)
    check(tg.stack([tg.Tensor(a[0, 0]), tg.Tensor(c[0, 0])]), np.stack([a[0, 0], c[0, 0]]), dtype)


def test_concatenate_and_stack_errors():
    with pytest.raises(ShapeError, match=r"concatenate: .*\(2, 3\), \(2, 2\)"):
        tg.concatenate([tg.Tensor(arr(2, 3)), tg.Tensor(arr(2, 2))])
    with pytest.raises(ShapeError, match=r"stack: .*\(2, 3\), \(3, 2\)"):
        tg.stack([tg.Tensor(arr(2, 3)), tg.Tensor(arr(3, 2))])
    with pytest.raises(ShapeError, match="at least one"):
        tg.stack([])


# -- matmul --------------------------------------------------------------------------------
MATMUL_SHAPES = [((4,), (4,)), ((3,), (3, 2)), ((2, 3), (3,)), ((2, 3), (3, 4)), ((2, 1, 3, 4), (3, 4, 5)),
                 ((3,), (2, 3, 2)), ((2, 2, 3), (3,)), ((0, 3), (3, 2)), ((2, 0), (0, 3))]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("sa, sb", MATMUL_SHAPES, ids=str)
def test_matmul_matches_numpy(sa, sb, dtype):
    a, b = arr(*sa, dtype=dtype), arr(*sb, dtype=dtype)
    check(tg.Tensor(a) @ tg.Tensor(b), a @ b, dtype)
    check(tg.Tensor(a).matmul(b), a @ b, dtype)


def test_matmul_against_a_loop():
    a, b = arr(2, 3), arr(3, 4)
    expected = np.zeros((2, 4))
    for i in range(2):
        for j in range(4):
            expected[i, j] = sum(a[i, k] * b[k, j] for k in range(3))
    check(tg.Tensor(a) @ tg.Tensor(b), expected, np.float64)


def test_matmul_errors_name_the_shapes():
    with pytest.raises(ShapeError, match=r"matmul: shapes \(2, 3\) and \(4, 2\)"):
        tg.Tensor(arr(2, 3)) @ tg.Tensor(arr(4, 2))
    with pytest.raises(ShapeError, match="at least 1 dimension"):
        tg.Tensor(arr(2, 3)) @ tg.Tensor(np.array(2.0))


def test_broadcasting_error_is_a_shape_error():
    with pytest.raises(ShapeError, match=r"Add: .*\(2, 3\), \(4,\)"):
        tg.Tensor(arr(2, 3)) + tg.Tensor(arr(4))
