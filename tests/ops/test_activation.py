"""Activations, erf, softmax / log-softmax and dropout: forward values against plain references,
dtypes, edge cases, errors, and (when torch is installed) agreement with PyTorch."""
from __future__ import annotations

import math

import numpy as np
import pytest

import tinygrad_np as tg
import tinygrad_np.functional as F
from tinygrad_np.errors import ShapeError
from tinygrad_np.gradcheck import gradcheck, gradgradcheck
from tinygrad_np.ops.activation import erf, erf_array

rng = np.random.default_rng(1234)


def t32(array) -> tg.Tensor:
    return tg.Tensor(np.asarray(array, dtype=np.float32))


def vec_erf(x: np.ndarray) -> np.ndarray:
    """math.erf over an array, element by element (the test's reference)."""
    return np.array([math.erf(float(v)) for v in x.reshape(-1)]).reshape(x.shape)


# -- erf ------------------------------------------------------------------------------------------
ERF_GRID = np.concatenate([
    np.linspace(-7.0, 7.0, 20001),
    np.geomspace(1e-300, 1.0, 400), -np.geomspace(1e-12, 1.0, 100),
    np.nextafter(1.0, [0.0, 2.0]), -np.nextafter(1.0, [0.0, 2.0]),  # both sides of the formula switch
    [5.9999, 6.0, 6.0001, 30.0, 1e300],
])


def test_erf_float64_matches_math_erf_to_a_few_ulp():
    got = erf_array(ERF_GRID)
    ref = vec_erf(ERF_GRID)
    assert got.dtype == np.float64
    assert np.max(np.abs(got - ref)) <= 2e-15
    tiny = (np.abs(ERF_GRID) < 0.5) & (ERF_GRID != 0)  # small arguments keep their relative accuracy
    assert np.max(np.abs(got[tiny] - ref[tiny]) / np.abs(ref[tiny])) <= 2e-15


def test_erf_float32_is_computed_in_float32_to_float32_accuracy():
    x = ERF_GRID[np.abs(ERF_GRID) < 1e30].astype(np.float32)
    got = erf_array(x)
    assert got.dtype == np.float32
    ref = vec_erf(x.astype(np.float64))
    assert np.max(np.abs(got - ref)) <= 3e-7
    normal = np.abs(ref) >= np.finfo(np.float32).tiny  # subnormal results have fewer significant bits
    assert np.max(np.abs(got[normal] - ref[normal]) / np.abs(ref[normal])) <= 3e-7


def test_erf_special_values_symmetry_and_float16():
    got = erf_array(np.array([0.0, -0.0, np.inf, -np.inf, np.nan]))
    assert got[0] == 0 and got[1] == 0 and np.signbit(got[1])
    assert got[2] == 1 and got[3] == -1 and np.isnan(got[4])
    x = rng.uniform(-5, 5, 1000)
    np.testing.assert_array_equal(erf_array(-x), -erf_array(x))
    half = erf_array(np.array([0.5, -2.0], dtype=np.float16))
    assert half.dtype == np.float16
    np.testing.assert_allclose(half.astype(np.float64), [math.erf(0.5), math.erf(-2.0)], atol=1e-3)
    assert erf_array(np.float64(0.5)).shape == ()  # a NumPy scalar is accepted


def test_erf_tensor_op_value_and_gradient():
    x = tg.Tensor(np.array([-2.0, -0.3, 0.0, 0.8, 3.0]), requires_grad=True)
    y = erf(x)
    np.testing.assert_allclose(y.data, vec_erf(x.data), atol=2e-15)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.data, 2 / np.sqrt(np.pi) * np.exp(-x.data ** 2), rtol=1e-14)
    with pytest.raises(TypeError, match="erf: input must be a floating-point Tensor"):
        erf(tg.Tensor(np.array([1, 2])))


# -- relu, sigmoid, tanh, leaky_relu ----------------------------------------------------------------
def test_relu_sigmoid_tanh_delegate_to_the_tensor_methods():
    x = t32(rng.standard_normal((3, 4)) * 3)
    np.testing.assert_array_equal(F.relu(x).data, np.maximum(x.data, 0))
    np.testing.assert_allclose(F.sigmoid(x).data, 1 / (1 + np.exp(-x.data.astype(np.float64))), rtol=1e-6)
    np.testing.assert_allclose(F.tanh(x).data, np.tanh(x.data), rtol=1e-6)
    for fn in (F.relu, F.sigmoid, F.tanh):
        assert fn(x).dtype == np.float32
        assert fn(x).shape == x.shape


@pytest.mark.parametrize("fn", [F.relu, F.sigmoid, F.tanh, F.leaky_relu, F.gelu, F.softmax, F.log_softmax,
                                F.dropout])
def test_activations_reject_non_tensors_and_integer_tensors(fn):
    name = fn.__name__
    with pytest.raises(TypeError, match=f"{name}: input must be a Tensor, got ndarray"):
        fn(np.ones(3))
    with pytest.raises(TypeError, match=f"{name}: input must be a floating-point Tensor, got dtype int64"):
        fn(tg.Tensor(np.arange(3)))


@pytest.mark.parametrize("slope", [0.01, 0.2, -0.5, 1.5])
def test_leaky_relu_forward_and_gradient_against_reference(slope):
    x = tg.Tensor(rng.standard_normal((4, 5)).astype(np.float32), requires_grad=True)
    y = F.leaky_relu(x, slope)
    ref = np.array([v if v > 0 else slope * v for v in x.data.reshape(-1)], dtype=np.float32).reshape(4, 5)
    np.testing.assert_allclose(y.data, ref, rtol=1e-6)
    assert y.dtype == np.float32
    y.sum().backward()
    np.testing.assert_allclose(x.grad.data, np.where(x.data > 0, 1.0, slope), rtol=1e-6)


def test_leaky_relu_default_slope_and_gradient_at_zero_is_the_slope_as_pytorch():
    x = tg.Tensor(np.array([0.0, -2.0, 3.0]), requires_grad=True)
    y = F.leaky_relu(x)
    np.testing.assert_array_equal(y.data, [0.0, -0.02, 3.0])
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.data, [0.01, 0.01, 1.0])
    with pytest.raises(TypeError, match="leaky_relu: negative_slope must be a number, got str"):
        F.leaky_relu(x, "0.1")


# -- gelu ------------------------------------------------------------------------------------------
def gelu_reference(x: np.ndarray) -> np.ndarray:
    return 0.5 * x * (1 + vec_erf(x / math.sqrt(2)))


def gelu_tanh_reference(x: np.ndarray) -> np.ndarray:
    return 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))


def test_gelu_exact_matches_the_erf_formula():
    x = np.linspace(-8, 8, 801)
    np.testing.assert_allclose(F.gelu(tg.Tensor(x)).data, gelu_reference(x), rtol=1e-14, atol=1e-15)
    y32 = F.gelu(t32(x))
    assert y32.dtype == np.float32
    np.testing.assert_allclose(y32.data, gelu_reference(x.astype(np.float32).astype(np.float64)),
                               rtol=1e-6, atol=1e-6)


def test_gelu_tanh_matches_its_formula():
    x = np.linspace(-8, 8, 801)
    np.testing.assert_allclose(F.gelu(tg.Tensor(x), approximate="tanh").data, gelu_tanh_reference(x),
                               rtol=1e-14, atol=1e-15)
    assert F.gelu(t32(x), approximate="tanh").dtype == np.float32


@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu_gradient_matches_the_derivative_of_the_formula(approximate):
    x = tg.Tensor(np.linspace(-5, 5, 41), requires_grad=True)
    F.gelu(x, approximate=approximate).sum().backward()
    ref_fn = gelu_reference if approximate == "none" else gelu_tanh_reference
    h = 1e-6
    numeric = (ref_fn(x.data + h) - ref_fn(x.data - h)) / (2 * h)
    np.testing.assert_allclose(x.grad.data, numeric, atol=1e-8)


def test_gelu_rejects_unknown_approximation():
    with pytest.raises(ValueError, match="gelu: approximate must be 'none' or 'tanh', got 'fast'"):
        F.gelu(t32([1.0]), approximate="fast")


@pytest.mark.parametrize("fn", [
    lambda x: F.gelu(x), lambda x: F.gelu(x, approximate="tanh"),
    lambda x: F.softmax(x, axis=1), lambda x: F.log_softmax(x, axis=0)])
def test_recorded_backward_gives_the_same_numbers_as_a_plain_one(fn):
    """create_graph=True recomputes what a plain backward reuses from the forward: bit for bit the same."""
    data = rng.standard_normal((3, 4)).astype(np.float32) * 3
    grad = rng.standard_normal((3, 4)).astype(np.float32)
    plain = tg.Tensor(data, requires_grad=True)
    fn(plain).backward(grad)
    recorded = tg.Tensor(data, requires_grad=True)
    (g,) = tg.grad(fn(recorded), recorded, grad_outputs=tg.Tensor(grad), create_graph=True)
    assert g.requires_grad
    np.testing.assert_array_equal(g.data, plain.grad.data)


# -- softmax / log_softmax ------------------------------------------------------------------------
def softmax_reference(x: np.ndarray, axis: int) -> np.ndarray:
    e = np.exp(x.astype(np.float64))
    return e / e.sum(axis=axis, keepdims=True)


@pytest.mark.parametrize("shape, axis", [((3, 4), -1), ((3, 4), 0), ((2, 3, 4), 1), ((5,), 0), ((2, 1), 1)])
def test_softmax_and_log_softmax_match_the_plain_formula(shape, axis):
    x = rng.standard_normal(shape).astype(np.float32) * 3
    s = F.softmax(t32(x), axis=axis)
    ls = F.log_softmax(t32(x), axis=axis)
    assert s.dtype == ls.dtype == np.float32 and s.shape == ls.shape == shape
    np.testing.assert_allclose(s.data, softmax_reference(x, axis), rtol=2e-6, atol=1e-7)
    np.testing.assert_allclose(ls.data, np.log(softmax_reference(x, axis)), rtol=2e-6, atol=2e-6)


def test_softmax_of_huge_logits_is_finite_and_sums_to_one():
    x = t32([[1e4, -1e4, 0.0, 9999.0], [-1e4, -1e4, -1e4, -1e4]])
    s = F.softmax(x)
    assert np.all(np.isfinite(s.data))
    np.testing.assert_allclose(s.data.sum(axis=-1), 1.0, rtol=1e-6)
    np.testing.assert_allclose(s.data[0], [1 / (1 + np.exp(-1.0)), 0.0, 0.0, 1 / (1 + np.exp(1.0))], rtol=1e-6)
    np.testing.assert_allclose(s.data[1], 0.25)
    assert np.all(np.isfinite(F.softmax(x * 1e30).data))  # logits near float32's max


def test_log_softmax_of_huge_logits_is_exact():
    ls = F.log_softmax(t32([1e4, -1e4, 0.0]))
    np.testing.assert_array_equal(ls.data, np.array([0.0, -2e4, -1e4], dtype=np.float32))
    ls64 = F.log_softmax(tg.Tensor(np.array([1000.0, -1000.0, 0.0])))
    np.testing.assert_array_equal(ls64.data, [0.0, -2000.0, -1000.0])


def test_softmax_gradient_against_the_jacobian():
    x = tg.Tensor(rng.standard_normal((2, 4)), requires_grad=True)
    g = rng.standard_normal((2, 4))
    F.softmax(x, axis=1).backward(g)
    s = softmax_reference(x.data, 1)
    expected = np.stack([(np.diag(s[i]) - np.outer(s[i], s[i])) @ g[i] for i in range(2)])
    np.testing.assert_allclose(x.grad.data, expected, rtol=1e-12, atol=1e-14)
    y = tg.Tensor(x.data, requires_grad=True)
    F.log_softmax(y, axis=1).backward(g)
    expected_log = np.stack([(np.eye(4) - s[i][None, :]).T @ g[i] for i in range(2)])
    np.testing.assert_allclose(y.grad.data, expected_log, rtol=1e-12, atol=1e-14)


def test_softmax_0d_edge_cases_and_axis_errors():
    assert F.softmax(t32(3.0)).item() == 1.0
    assert F.log_softmax(t32(-2.0), axis=0).item() == 0.0
    assert F.softmax(tg.zeros(3, 0)).shape == (3, 0)
    with pytest.raises(ShapeError, match=r"softmax: axis 2 is out of range for a tensor of shape \(2, 3\)"):
        F.softmax(tg.zeros(2, 3), axis=2)
    with pytest.raises(ShapeError, match="log_softmax: axis 1 is out of range for a 0-d tensor"):
        F.log_softmax(t32(1.0), axis=1)
    with pytest.raises(TypeError, match="softmax: axis must be an int, got tuple"):
        F.softmax(tg.zeros(2, 3), axis=(0, 1))


# -- dropout ----------------------------------------------------------------------------------------
def test_dropout_is_reproducible_under_manual_seed_and_differs_across_seeds():
    x = tg.ones(50, 40)
    tg.manual_seed(7)
    a = F.dropout(x, p=0.4)
    tg.manual_seed(7)
    b = F.dropout(x, p=0.4)
    tg.manual_seed(8)
    c = F.dropout(x, p=0.4)
    np.testing.assert_array_equal(a.data, b.data)
    assert not np.array_equal(a.data, c.data)
    d = F.dropout(x, p=0.4)  # the generator moved on: a new mask
    assert not np.array_equal(c.data, d.data)


@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_dropout_keeps_the_expected_fraction_and_scales_kept_units(p):
    n = 200_000
    x = t32(rng.uniform(1.0, 2.0, n))
    y = F.dropout(x, p=p)
    kept = y.data != 0
    # the number kept is Binomial(n, 1 - p): within 6 standard deviations fails with odds ~1e-9
    assert abs(kept.sum() - n * (1 - p)) <= 6 * math.sqrt(n * p * (1 - p))
    np.testing.assert_allclose(y.data[kept], x.data[kept] / np.float32(1 - p), rtol=1e-6)
    assert y.dtype == np.float32
    assert abs(y.data.mean() - x.data.mean()) < 0.02  # inverted dropout keeps the expectation


def test_dropout_backward_uses_the_forward_mask():
    x = tg.Tensor(rng.uniform(1.0, 2.0, (30, 30)).astype(np.float32), requires_grad=True)
    y = F.dropout(x, p=0.3)
    y.sum().backward()
    expected = np.where(y.data != 0, np.float32(1 / 0.7), 0).astype(np.float32)
    np.testing.assert_allclose(x.grad.data, expected, rtol=1e-6)


def test_dropout_identity_cases_and_p_one():
    x = tg.Tensor(rng.standard_normal((4, 4)).astype(np.float32), requires_grad=True)
    assert F.dropout(x, p=0.5, training=False) is x
    assert F.dropout(x, p=0.0) is x
    y = F.dropout(x, p=1.0)
    np.testing.assert_array_equal(y.data, np.zeros((4, 4), dtype=np.float32))
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.data, np.zeros((4, 4)))
    ys = F.dropout(t32(5.0), p=0.5)
    assert ys.shape == () and ys.item() in (0.0, 10.0)


@pytest.mark.parametrize("p", [-0.1, 1.5, float("nan"), "0.5", True])
def test_dropout_rejects_invalid_probabilities(p):
    with pytest.raises(ValueError, match="dropout: p must be a probability between 0 and 1"):
        F.dropout(tg.ones(3), p=p)


def test_dropout_double_backward_through_a_fixed_mask():
    def fn(x):
        tg.manual_seed(3)
        return F.dropout(x, p=0.5) * x
    x = tg.Tensor(rng.standard_normal((3, 3)), requires_grad=True)
    assert gradcheck(fn, (x,)) and gradgradcheck(fn, (x,))


# -- agreement with PyTorch (optional) ----------------------------------------------------------------
def test_matches_torch_values_and_gradients():
    torch = pytest.importorskip("torch")
    tf = torch.nn.functional
    x = rng.standard_normal((4, 6)) * 3
    g = rng.standard_normal((4, 6))
    pairs = [
        (lambda t: F.gelu(t), lambda t: tf.gelu(t)),
        (lambda t: F.gelu(t, approximate="tanh"), lambda t: tf.gelu(t, approximate="tanh")),
        (lambda t: F.leaky_relu(t, 0.1), lambda t: tf.leaky_relu(t, 0.1)),
        (lambda t: F.softmax(t, axis=0), lambda t: tf.softmax(t, dim=0)),
        (lambda t: F.log_softmax(t, axis=1), lambda t: tf.log_softmax(t, dim=1)),
    ]
    for ours, theirs in pairs:
        a = tg.Tensor(x, requires_grad=True)
        ours(a).backward(g)
        b = torch.tensor(x, requires_grad=True)
        out = theirs(b)
        out.backward(torch.tensor(g))
        np.testing.assert_allclose(ours(tg.Tensor(x)).data, out.detach().numpy(), rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(a.grad.data, b.grad.numpy(), rtol=1e-10, atol=1e-12)
