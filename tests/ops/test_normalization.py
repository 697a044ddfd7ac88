"""Batch norm and layer norm: values against loop references, running statistics by PyTorch's
formula, the eval path, errors, and (when torch is installed) agreement with PyTorch."""
from __future__ import annotations

import numpy as np
import pytest

import tinygrad_np as tg
import tinygrad_np.functional as F
from tinygrad_np.errors import ShapeError
from tinygrad_np.gradcheck import gradcheck, gradgradcheck

rng = np.random.default_rng(98765)


def t32(array) -> tg.Tensor:
    return tg.Tensor(np.asarray(array, dtype=np.float32))


def batch_norm_reference(x: np.ndarray, w, b, eps: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per channel, looping: normalise with the batch mean and biased variance. Returns (out, mean, var)."""
    x = x.astype(np.float64)
    out = np.empty_like(x)
    c = x.shape[1]
    means, variances = np.empty(c), np.empty(c)
    for k in range(c):
        values = x[:, k]
        means[k] = values.mean()
        variances[k] = ((values - means[k]) ** 2).mean()
        out[:, k] = (values - means[k]) / np.sqrt(variances[k] + eps)
        out[:, k] = out[:, k] * (1.0 if w is None else w[k]) + (0.0 if b is None else b[k])
    return out, means, variances


# -- batch norm, training --------------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(8, 3), (4, 3, 5), (4, 3, 2, 6)])
def test_batch_norm_training_matches_reference(shape):
    x = (rng.standard_normal(shape) * 3 + 1).astype(np.float32)
    w = (rng.random(3) + 0.5).astype(np.float32)
    b = rng.standard_normal(3).astype(np.float32)
    out = F.batch_norm(t32(x), None, None, t32(w), t32(b), training=True, eps=1e-3)
    assert out.dtype == np.float32 and out.shape == shape
    np.testing.assert_allclose(out.data, batch_norm_reference(x, w, b, 1e-3)[0], rtol=1e-5, atol=1e-5)
    plain = F.batch_norm(t32(x), None, None, training=True)
    np.testing.assert_allclose(plain.data, batch_norm_reference(x, None, None, 1e-5)[0], rtol=1e-5, atol=1e-5)


def test_batch_norm_updates_running_stats_in_place_like_pytorch():
    x = (rng.standard_normal((6, 4, 3, 3)) * 2 + 5).astype(np.float32)
    rm_start = rng.standard_normal(4).astype(np.float32)
    rv_start = (rng.random(4) + 0.5).astype(np.float32)
    running_mean, running_var = t32(rm_start.copy()), t32(rv_start.copy())
    mean_array, var_array = running_mean.data, running_var.data
    F.batch_norm(t32(x), running_mean, running_var, training=True, momentum=0.25)
    _, mean, biased = batch_norm_reference(x, None, None, 0.0)
    n = 6 * 3 * 3
    np.testing.assert_allclose(running_mean.data, 0.75 * rm_start + 0.25 * mean, rtol=1e-6)
    np.testing.assert_allclose(running_var.data, 0.75 * rv_start + 0.25 * biased * n / (n - 1), rtol=1e-6)
    assert running_mean.data is mean_array and running_var.data is var_array  # in place
    assert running_mean.dtype == running_var.dtype == np.float32
    assert running_mean._version > 0 and running_var._version > 0  # in-place updates are versioned


def test_batch_norm_running_stats_converge_to_the_data_statistics():
    running_mean, running_var = tg.zeros(2), tg.ones(2)
    x = t32(rng.standard_normal((50, 2)) * np.array([1.0, 3.0]) + np.array([-2.0, 4.0]))
    for _ in range(60):
        F.batch_norm(x, running_mean, running_var, training=True, momentum=0.2)
    np.testing.assert_allclose(running_mean.data, x.data.mean(axis=0), rtol=1e-4)
    np.testing.assert_allclose(running_var.data, x.data.var(axis=0, ddof=1), rtol=1e-4)


def test_batch_norm_gradients_match_the_closed_form():
    x = tg.Tensor(rng.standard_normal((5, 3, 4)), requires_grad=True)
    w = tg.Tensor(rng.standard_normal(3), requires_grad=True)
    b = tg.Tensor(rng.standard_normal(3), requires_grad=True)
    g = rng.standard_normal((5, 3, 4))
    F.batch_norm(x, None, None, w, b, training=True).backward(g)
    for k in range(3):
        v, gk = x.data[:, k], g[:, k]
        n = v.size
        inv = 1 / np.sqrt(v.var() + 1e-5)
        xh = (v - v.mean()) * inv
        np.testing.assert_allclose(b.grad.data[k], gk.sum(), rtol=1e-12)
        np.testing.assert_allclose(w.grad.data[k], (gk * xh).sum(), rtol=1e-12)
        dx = w.data[k] * inv / n * (n * gk - gk.sum() - xh * (gk * xh).sum())
        np.testing.assert_allclose(x.grad.data[:, k], dx, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("which", ["batch_norm", "layer_norm"])
def test_recorded_backward_gives_the_same_numbers_as_a_plain_one(which):
    """create_graph rebuilds x_hat and inv_std that a plain backward reuses: bit for bit the same."""
    data = rng.standard_normal((2, 3, 4)).astype(np.float32) * 2
    grad = rng.standard_normal((2, 3, 4)).astype(np.float32)
    shape = (3,) if which == "batch_norm" else (3, 4)
    w, b = t32(rng.standard_normal(shape)).requires_grad_(), t32(rng.standard_normal(shape))
    if which == "batch_norm":
        norm = lambda x: F.batch_norm(x, None, None, w, b, training=True)  # noqa: E731
    else:
        norm = lambda x: F.layer_norm(x, (3, 4), w, b)  # noqa: E731
    plain = tg.Tensor(data, requires_grad=True)
    norm(plain).backward(grad)
    recorded = tg.Tensor(data, requires_grad=True)
    (g,) = tg.grad(norm(recorded), recorded, grad_outputs=tg.Tensor(grad), create_graph=True)
    assert g.requires_grad
    np.testing.assert_array_equal(g.data, plain.grad.data)


def test_batch_norm_works_under_no_grad_and_without_affine():
    x = t32(rng.standard_normal((4, 2)))
    running_mean, running_var = tg.zeros(2), tg.ones(2)
    with tg.no_grad():
        out = F.batch_norm(x, running_mean, running_var, training=True)
    assert out.grad_fn is None
    np.testing.assert_allclose(out.data.mean(axis=0), 0, atol=1e-6)
    assert running_mean._version > 0


# -- batch norm, eval ----------------------------------------------------------------------------------
def test_batch_norm_eval_uses_running_stats_and_leaves_them_alone():
    x = rng.standard_normal((3, 2, 4)).astype(np.float32)
    rm = np.array([0.5, -1.0], dtype=np.float32)
    rv = np.array([2.0, 0.25], dtype=np.float32)
    w = np.array([1.5, -0.5], dtype=np.float32)
    b = np.array([0.1, 0.2], dtype=np.float32)
    running_mean, running_var = t32(rm.copy()), t32(rv.copy())
    out = F.batch_norm(t32(x), running_mean, running_var, t32(w), t32(b), training=False, eps=1e-3)
    expected = np.empty(x.shape)
    for k in range(2):
        expected[:, k] = (x[:, k] - rm[k]) / np.sqrt(rv[k] + 1e-3) * w[k] + b[k]
    assert out.dtype == np.float32
    np.testing.assert_allclose(out.data, expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(running_mean.data, rm)
    np.testing.assert_array_equal(running_var.data, rv)
    assert running_mean._version == 0
    plain = F.batch_norm(t32(x), running_mean, running_var)
    np.testing.assert_allclose(plain.data, (x - rm[None, :, None]) / np.sqrt(rv[None, :, None] + 1e-5), rtol=1e-5)


def test_batch_norm_eval_gradients():
    rm, rv = t32([0.3, -0.2, 1.0]), t32([0.5, 2.0, 1.5])  # float32 buffers with float64 inputs
    x = tg.Tensor(rng.standard_normal((2, 3, 2)), requires_grad=True)
    w = tg.Tensor(rng.standard_normal(3), requires_grad=True)
    b = tg.Tensor(rng.standard_normal(3), requires_grad=True)
    fn = lambda x, w, b: F.batch_norm(x, rm, rv, w, b)  # noqa: E731
    assert fn(x, w, b).dtype == np.float64
    assert gradcheck(fn, (x, w, b)) and gradgradcheck(fn, (x, w, b))
    assert gradcheck(lambda x: F.batch_norm(x, rm, rv), (x,))


def test_batch_norm_errors():
    x = tg.zeros(4, 3, 2)
    with pytest.raises(ShapeError, match=r"batch_norm: expected input of shape \(N, C\) or \(N, C, \.\.\.\), "
                                         r"got shape \(3,\)"):
        F.batch_norm(tg.zeros(3), None, None, training=True)
    with pytest.raises(ShapeError, match=r"batch_norm: weight has shape \(4,\), but the input has 3 channels "
                                         r"\(input shape \(4, 3, 2\)\) needs shape \(3,\)"):
        F.batch_norm(x, None, None, tg.ones(4), training=True)
    with pytest.raises(ShapeError, match=r"batch_norm: running_var has shape \(2,\)"):
        F.batch_norm(x, tg.zeros(3), tg.ones(2))
    with pytest.raises(ValueError, match="batch_norm: running_mean and running_var are needed when training=False"):
        F.batch_norm(x, None, None)
    with pytest.raises(ValueError, match="batch_norm: give both running_mean and running_var, or neither"):
        F.batch_norm(x, tg.zeros(3), None, training=True)
    with pytest.raises(ValueError, match=r"batch_norm: expected more than 1 value per channel when training, "
                                         r"got input shape \(1, 3\)"):
        F.batch_norm(tg.zeros(1, 3), None, None, training=True)
    with pytest.raises(TypeError, match="batch_norm: bias has dtype float64 but the input has dtype float32"):
        F.batch_norm(x, None, None, bias=tg.Tensor(np.zeros(3)), training=True)
    with pytest.raises(TypeError, match="batch_norm: running_mean must be a Tensor or None, got ndarray"):
        F.batch_norm(x, np.zeros(3), np.ones(3))


# -- layer norm ------------------------------------------------------------------------------------
def layer_norm_reference(x: np.ndarray, k: int, w, b, eps: float) -> np.ndarray:
    """Each sample's trailing k axes normalised, looping over the leading ones."""
    x = x.astype(np.float64)
    lead = x.shape[:x.ndim - k]
    out = np.empty_like(x)
    for idx in np.ndindex(*lead):
        v = x[idx]
        out[idx] = (v - v.mean()) / np.sqrt(((v - v.mean()) ** 2).mean() + eps)
        if w is not None:
            out[idx] = out[idx] * w
        if b is not None:
            out[idx] = out[idx] + b
    return out


@pytest.mark.parametrize("shape, normalized", [((4, 6), 6), ((2, 3, 4), (4,)), ((2, 3, 4), (3, 4)), ((5,), [5])])
def test_layer_norm_matches_reference(shape, normalized):
    ns = (normalized,) if isinstance(normalized, int) else tuple(normalized)
    x = (rng.standard_normal(shape) * 2 - 1).astype(np.float32)
    w = (rng.random(ns) + 0.5).astype(np.float32)
    b = rng.standard_normal(ns).astype(np.float32)
    out = F.layer_norm(t32(x), normalized, t32(w), t32(b), eps=1e-4)
    assert out.dtype == np.float32 and out.shape == shape
    np.testing.assert_allclose(out.data, layer_norm_reference(x, len(ns), w, b, 1e-4), rtol=1e-5, atol=1e-5)
    plain = F.layer_norm(t32(x), normalized)
    np.testing.assert_allclose(plain.data, layer_norm_reference(x, len(ns), None, None, 1e-5), rtol=1e-5, atol=1e-5)


def test_layer_norm_gradients_match_the_closed_form():
    x = tg.Tensor(rng.standard_normal((3, 5)), requires_grad=True)
    w = tg.Tensor(rng.standard_normal(5), requires_grad=True)
    b = tg.Tensor(rng.standard_normal(5), requires_grad=True)
    g = rng.standard_normal((3, 5))
    F.layer_norm(x, 5, w, b).backward(g)
    inv = 1 / np.sqrt(x.data.var(axis=1, keepdims=True) + 1e-5)
    xh = (x.data - x.data.mean(axis=1, keepdims=True)) * inv
    np.testing.assert_allclose(b.grad.data, g.sum(axis=0), rtol=1e-12)
    np.testing.assert_allclose(w.grad.data, (g * xh).sum(axis=0), rtol=1e-12)
    gy = g * w.data
    dx = inv * (gy - gy.mean(axis=1, keepdims=True) - xh * (gy * xh).mean(axis=1, keepdims=True))
    np.testing.assert_allclose(x.grad.data, dx, rtol=1e-10, atol=1e-12)


def test_layer_norm_errors():
    with pytest.raises(ShapeError, match=r"layer_norm: input shape \(2, 5\) does not end with normalized_shape \(4,\)"):
        F.layer_norm(tg.zeros(2, 5), 4)
    with pytest.raises(ShapeError, match=r"layer_norm: input shape \(3,\) does not end with normalized_shape \(2, 3\)"):
        F.layer_norm(tg.zeros(3), (2, 3))
    with pytest.raises(ShapeError, match=r"layer_norm: weight has shape \(5,\), but normalized_shape is \(4,\)"):
        F.layer_norm(tg.zeros(2, 4), 4, tg.ones(5))
    with pytest.raises(ShapeError, match="layer_norm: normalized_shape must name at least one trailing axis"):
        F.layer_norm(tg.zeros(2, 4), ())
    with pytest.raises(TypeError, match="layer_norm: input must be a floating-point Tensor"):
        F.layer_norm(tg.Tensor(np.zeros((2, 4), dtype=np.int64)), 4)


# -- agreement with PyTorch (optional) ----------------------------------------------------------------
def test_normalization_matches_torch_values_gradients_and_running_stats():
    torch = pytest.importorskip("torch")
    tf = torch.nn.functional
    x = rng.standard_normal((4, 3, 5, 2)) * 2 + 1
    w, b = rng.standard_normal(3), rng.standard_normal(3)
    g = rng.standard_normal(x.shape)
    ours_rm, ours_rv = tg.Tensor(np.zeros(3)), tg.Tensor(np.ones(3))
    theirs_rm, theirs_rv = torch.zeros(3, dtype=torch.float64), torch.ones(3, dtype=torch.float64)
    leaves = [tg.Tensor(a, requires_grad=True) for a in (x, w, b)]
    tleaves = [torch.tensor(a, requires_grad=True) for a in (x, w, b)]
    out = F.batch_norm(leaves[0], ours_rm, ours_rv, leaves[1], leaves[2], training=True, momentum=0.3)
    ref = tf.batch_norm(tleaves[0], theirs_rm, theirs_rv, tleaves[1], tleaves[2], training=True, momentum=0.3)
    out.backward(g)
    ref.backward(torch.tensor(g))
    np.testing.assert_allclose(out.data, ref.detach().numpy(), rtol=1e-10, atol=1e-12)
    for ours, theirs in zip(leaves, tleaves):
        np.testing.assert_allclose(ours.grad.data, theirs.grad.numpy(), rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(ours_rm.data, theirs_rm.numpy(), rtol=1e-12)
    np.testing.assert_allclose(ours_rv.data, theirs_rv.numpy(), rtol=1e-12)
    evaluated = F.batch_norm(tg.Tensor(x), ours_rm, ours_rv, tg.Tensor(w), tg.Tensor(b))
    expected = tf.batch_norm(torch.tensor(x), theirs_rm, theirs_rv, torch.tensor(w), torch.tensor(b))
    np.testing.assert_allclose(evaluated.data, expected.numpy(), rtol=1e-10, atol=1e-12)

    lw, lb = rng.standard_normal((5, 2)), rng.standard_normal((5, 2))
    leaves = [tg.Tensor(a, requires_grad=True) for a in (x, lw, lb)]
    tleaves = [torch.tensor(a, requires_grad=True) for a in (x, lw, lb)]
    out = F.layer_norm(leaves[0], (5, 2), leaves[1], leaves[2])
    ref = tf.layer_norm(tleaves[0], (5, 2), tleaves[1], tleaves[2])
    out.backward(g)
    ref.backward(torch.tensor(g))
    np.testing.assert_allclose(out.data, ref.detach().numpy(), rtol=1e-10, atol=1e-12)
    for ours, theirs in zip(leaves, tleaves):
        np.testing.assert_allclose(ours.grad.data, theirs.grad.numpy(), rtol=1e-9, atol=1e-11)
