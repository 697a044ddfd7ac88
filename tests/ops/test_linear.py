"""F.linear: values and gradients against NumPy, input layouts, and clear errors."""
from __future__ import annotations

import numpy as np
import pytest

import tinygrad_np as tg
import tinygrad_np.functional as F
from tinygrad_np.errors import ShapeError
from tinygrad_np.gradcheck import gradcheck, gradgradcheck

rng = np.random.default_rng(2468)


def t32(array, requires_grad: bool = False) -> tg.Tensor:
    return tg.Tensor(np.asarray(array, dtype=np.float32), requires_grad=requires_grad)


@pytest.mark.parametrize("in_shape", [(5, 4), (4,), (2, 3, 4)])
def test_linear_matches_numpy_and_keeps_float32(in_shape):
    x = rng.standard_normal(in_shape).astype(np.float32)
    w = rng.standard_normal((3, 4)).astype(np.float32)
    b = rng.standard_normal(3).astype(np.float32)
    out = F.linear(t32(x), t32(w), t32(b))
    assert out.shape == in_shape[:-1] + (3,) and out.dtype == np.float32
    expected = np.einsum("...i,oi->...o", x.astype(np.float64), w.astype(np.float64)) + b
    np.testing.assert_allclose(out.data, expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(F.linear(t32(x), t32(w)).data, expected - b, rtol=1e-5, atol=1e-5)


def test_linear_gradients_against_the_closed_forms():
    x = t32(rng.standard_normal((6, 4)), requires_grad=True)
    w = t32(rng.standard_normal((3, 4)), requires_grad=True)
    b = t32(rng.standard_normal(3), requires_grad=True)
    g = rng.standard_normal((6, 3)).astype(np.float32)
    F.linear(x, w, b).backward(g)
    np.testing.assert_allclose(x.grad.data, g @ w.data, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(w.grad.data, g.T @ x.data, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(b.grad.data, g.sum(axis=0), rtol=1e-5, atol=1e-6)
    assert x.grad.dtype == w.grad.dtype == b.grad.dtype == np.float32


def test_linear_batched_input_sums_weight_gradients_over_all_leading_axes():
    x = tg.Tensor(rng.standard_normal((2, 3, 4)), requires_grad=True)
    w = tg.Tensor(rng.standard_normal((5, 4)), requires_grad=True)
    b = tg.Tensor(rng.standard_normal(5), requires_grad=True)
    g = rng.standard_normal((2, 3, 5))
    F.linear(x, w, b).backward(g)
    np.testing.assert_allclose(w.grad.data, np.einsum("nto,nti->oi", g, x.data), rtol=1e-12)
    np.testing.assert_allclose(b.grad.data, g.sum(axis=(0, 1)), rtol=1e-12)
    assert gradcheck(F.linear, (x, w, b)) and gradgradcheck(F.linear, (x, w, b))


def test_linear_errors():
    with pytest.raises(ShapeError, match=r"linear: input has 784 features but weight expects 100 "
                                         r"\(weight shape \(10, 100\)"):
        F.linear(tg.zeros(64, 784), tg.zeros(10, 100))
    with pytest.raises(ShapeError, match=r"linear: weight must be 2-D \(out_features, in_features\), got shape \(4,\)"):
        F.linear(tg.zeros(2, 4), tg.zeros(4))
    with pytest.raises(ShapeError, match=r"linear: bias has shape \(4,\) but weight shape \(3, 2\) needs \(3,\)"):
        F.linear(tg.zeros(5, 2), tg.zeros(3, 2), tg.zeros(4))
    with pytest.raises(ShapeError, match="linear: input must have at least 1 dimension"):
        F.linear(tg.Tensor(np.float32(1.0)), tg.zeros(3, 1))
    with pytest.raises(TypeError, match="linear: input has dtype float64 but weight has dtype float32"):
        F.linear(tg.Tensor(np.zeros((2, 3))), tg.zeros(4, 3))
    with pytest.raises(TypeError, match="linear: bias has dtype float64 but input has dtype float32"):
        F.linear(tg.zeros(2, 3), tg.zeros(4, 3), tg.Tensor(np.zeros(4)))
    with pytest.raises(TypeError, match="linear: weight must be a Tensor, got ndarray"):
        F.linear(tg.zeros(2, 3), np.zeros((4, 3)))


def test_linear_matches_torch():
    torch = pytest.importorskip("torch")
    x, w, b = rng.standard_normal((7, 5)), rng.standard_normal((2, 5)), rng.standard_normal(2)
    g = rng.standard_normal((7, 2))
    ours = [tg.Tensor(a, requires_grad=True) for a in (x, w, b)]
    theirs = [torch.tensor(a, requires_grad=True) for a in (x, w, b)]
    out = F.linear(*ours)
    ref = torch.nn.functional.linear(*theirs)
    np.testing.assert_allclose(out.data, ref.detach().numpy(), rtol=1e-12)
    out.backward(g)
    ref.backward(torch.tensor(g))
    for a, t in zip(ours, theirs):
        np.testing.assert_allclose(a.grad.data, t.grad.numpy(), rtol=1e-12)


def test_linear_is_one_node_and_its_weight_gradient_needs_no_copy_or_transpose():
    x, w, b = t32(rng.standard_normal((6, 4))), t32(rng.standard_normal((3, 4)), True), t32(np.zeros(3), True)
    y = F.linear(x, w, b)
    assert y.grad_fn.name == "Linear" and all(i is t for i, t in zip(y.grad_fn.inputs, (x, w, b)))
    y.sum().backward()
    assert w.grad.data.flags.c_contiguous and w.grad.shape == (3, 4)


def test_linear_on_an_empty_batch():
    x, w, b = t32(np.zeros((0, 4)), True), t32(rng.standard_normal((3, 4)), True), t32(np.ones(3), True)
    y = F.linear(x, w, b)
    assert y.shape == (0, 3)
    y.sum().backward()
    assert x.grad.shape == (0, 4) and not w.grad.data.any() and not b.grad.data.any()
