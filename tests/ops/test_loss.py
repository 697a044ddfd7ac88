"""Losses: values and gradients against plain NumPy references, exactness for huge logits, the
error messages for bad targets and shapes, and (when torch is installed) agreement with PyTorch."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import tinygrad_np as tg
import tinygrad_np.functional as F
from tinygrad_np.errors import ShapeError
from tinygrad_np.gradcheck import gradcheck, gradgradcheck

rng = np.random.default_rng(4321)


def t32(array) -> tg.Tensor:
    return tg.Tensor(np.asarray(array, dtype=np.float32))


# -- references (float64, written the long way) ----------------------------------------------------
def log_softmax_rows(z: np.ndarray) -> np.ndarray:
    """log softmax over axis 1 of a 2-D array, row by row, from the definition."""
    z = z.astype(np.float64)
    out = np.empty_like(z)
    for i, row in enumerate(z):
        m = row.max()
        out[i] = row - m - np.log(np.sum(np.exp(row - m)))
    return out


def cross_entropy_reference(z: np.ndarray, t: np.ndarray, reduction: str = "mean", eps: float = 0.0):
    """Per-sample -sum_c q_c log p_c with q the smoothed one-hot, for (N, C) logits."""
    logp = log_softmax_rows(z)
    n, c = z.shape
    losses = np.empty(n)
    for i in range(n):
        q = np.full(c, eps / c)
        q[t[i]] += 1 - eps
        losses[i] = -np.sum(q * logp[i])
    return {"mean": losses.mean(), "sum": losses.sum(), "none": losses}[reduction]


def to_rows(z: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(N, C, d1, ...) logits and (N, d1, ...) targets as (N*d1*..., C) rows and flat targets."""
    c = z.shape[1]
    return np.moveaxis(z, 1, -1).reshape(-1, c), t.reshape(-1)


# -- cross_entropy -----------------------------------------------------------------------------------
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("eps", [0.0, 0.1, 1.0])
def test_cross_entropy_matches_reference(reduction, eps):
    z = rng.standard_normal((6, 5)).astype(np.float32) * 3
    t = rng.integers(0, 5, 6)
    out = F.cross_entropy(t32(z), t, reduction=reduction, label_smoothing=eps)
    assert out.dtype == np.float32
    assert out.shape == ((6,) if reduction == "none" else ())
    np.testing.assert_allclose(out.data, cross_entropy_reference(z, t, reduction, eps), rtol=2e-6, atol=1e-6)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("eps", [0.0, 0.3])
def test_cross_entropy_gradient_is_softmax_minus_smoothed_onehot(reduction, eps):
    z = rng.standard_normal((4, 3))
    t = np.array([2, 0, 0, 1])
    g = rng.standard_normal(4) if reduction == "none" else np.array(1.7)
    x = tg.Tensor(z, requires_grad=True)
    F.cross_entropy(x, t, reduction=reduction, label_smoothing=eps).backward(g)
    q = np.full((4, 3), eps / 3)
    q[np.arange(4), t] += 1 - eps
    p = np.exp(log_softmax_rows(z))
    scale = g[:, None] if reduction == "none" else g / (4 if reduction == "mean" else 1)
    np.testing.assert_allclose(x.grad.data, (p - q) * scale, rtol=1e-12, atol=1e-14)


def test_cross_entropy_is_exact_for_huge_logits():
    for dtype in (np.float32, np.float64):
        loss = F.cross_entropy(tg.Tensor(np.array([[1000.0, -1000.0, 0.0]], dtype=dtype)), np.array([1]))
        assert loss.item() == 2000.0
        assert loss.dtype == dtype
    big = tg.Tensor(np.array([[1e4, 0.0, -1e4], [-1e4, 1e4, 1e4]], dtype=np.float32), requires_grad=True)
    loss = F.cross_entropy(big, np.array([2, 0]), reduction="none")
    np.testing.assert_allclose(loss.data, [2e4, 2e4 + np.log(2)], rtol=1e-7)
    loss.sum().backward()
    assert np.all(np.isfinite(big.grad.data))
    np.testing.assert_allclose(big.grad.data, [[1, 0, -1], [-1, 0.5, 0.5]], atol=1e-7)
    correct = F.cross_entropy(t32([[1e4, -1e4]]), [0])
    assert correct.item() == 0.0


def test_cross_entropy_spatial_targets_match_the_flattened_rows():
    z = rng.standard_normal((2, 4, 3, 2))
    t = rng.integers(0, 4, (2, 3, 2))
    rows, flat = to_rows(z, t)
    for reduction in ("mean", "sum"):
        out = F.cross_entropy(tg.Tensor(z), t, reduction=reduction, label_smoothing=0.2)
        np.testing.assert_allclose(out.data, cross_entropy_reference(rows, flat, reduction, 0.2), rtol=1e-12)
    none = F.cross_entropy(tg.Tensor(z), t, reduction="none")
    assert none.shape == (2, 3, 2)
    np.testing.assert_allclose(none.data.reshape(-1), cross_entropy_reference(rows, flat, "none"), rtol=1e-12)


def test_cross_entropy_unbatched_logits():
    z = rng.standard_normal(5)
    out = F.cross_entropy(tg.Tensor(z), np.array(3), reduction="none")
    assert out.shape == ()
    np.testing.assert_allclose(out.item(), cross_entropy_reference(z[None], np.array([3]), "sum"), rtol=1e-12)
    assert F.cross_entropy(tg.Tensor(z), 3).shape == ()


def test_cross_entropy_accepts_integer_tensors_lists_and_unsigned_targets():
    z = rng.standard_normal((3, 4)).astype(np.float32)
    expected = cross_entropy_reference(z, np.array([0, 3, 1]))
    for target in (tg.Tensor(np.array([0, 3, 1])), [0, 3, 1], np.array([0, 3, 1], dtype=np.uint8),
                   np.array([0, 3, 1], dtype=np.int32)):
        np.testing.assert_allclose(F.cross_entropy(t32(z), target).item(), expected, rtol=1e-6)


def test_cross_entropy_empty_batch_mean_is_nan_sum_is_zero():
    z = tg.zeros(0, 3)
    t = np.zeros(0, dtype=np.int64)
    assert np.isnan(F.cross_entropy(z, t).item())
    assert F.cross_entropy(z, t, reduction="sum").item() == 0.0


def test_cross_entropy_error_messages():
    z = tg.zeros(4, 10)
    with pytest.raises(TypeError, match="cross_entropy: target must hold integer class indices, got float32"):
        F.cross_entropy(z, np.zeros(4, dtype=np.float32))
    with pytest.raises(TypeError, match="cross_entropy: target must hold integer class indices, got bool"):
        F.cross_entropy(z, np.zeros(4, dtype=bool))
    with pytest.raises(ValueError, match=r"cross_entropy: target 12 at position 3 is out of range for 10 "
                                         r"classes \(labels must be in 0\.\.9\)"):
        F.cross_entropy(z, np.array([0, 1, 2, 12]))
    with pytest.raises(ValueError, match="cross_entropy: target -1 at position 0 is out of range for 10"):
        F.cross_entropy(z, np.array([-1, 1, 2, 3]))
    with pytest.raises(ValueError, match=r"target 5 at position \(1, 0\) is out of range for 3 classes"):
        F.cross_entropy(tg.zeros(2, 3, 2), np.array([[0, 1], [5, 0]]))
    with pytest.raises(ShapeError, match=r"cross_entropy: logits have batch size 4 but target has 3 "
                                         r"\(logits shape \(4, 10\), target shape \(3,\)\)"):
        F.cross_entropy(z, np.array([0, 1, 2]))
    with pytest.raises(ShapeError, match=r"cross_entropy: expected logits of shape \(N, C\) with target "
                                         r"\(N,\).*got logits shape \(4, 10\) and target shape \(4, 1\)"):
        F.cross_entropy(z, np.zeros((4, 1), dtype=np.int64))
    with pytest.raises(ShapeError, match=r"got logits shape \(\) and target shape \(\)"):
        F.cross_entropy(tg.Tensor(np.float32(1.0)), np.array(0))
    with pytest.raises(ShapeError, match=r"logits of shape \(2, 3, 4\) need target of shape \(2, 4\), got \(2, 5\)"):
        F.cross_entropy(tg.zeros(2, 3, 4), np.zeros((2, 5), dtype=np.int64))
    with pytest.raises(ShapeError, match=r"cross_entropy: logits have no classes \(shape \(2, 0\)\)"):
        F.cross_entropy(tg.zeros(2, 0), np.array([0, 0]))
    with pytest.raises(ValueError, match="cross_entropy: reduction must be 'mean', 'sum' or 'none', got 'avg'"):
        F.cross_entropy(z, np.zeros(4, dtype=np.int64), reduction="avg")
    with pytest.raises(ValueError, match="cross_entropy: label_smoothing must be a number between 0 and 1, got 1.5"):
        F.cross_entropy(z, np.zeros(4, dtype=np.int64), label_smoothing=1.5)
    with pytest.raises(TypeError, match="cross_entropy: logits must be a floating-point Tensor, got dtype int64"):
        F.cross_entropy(tg.Tensor(np.zeros((4, 10), dtype=np.int64)), np.zeros(4, dtype=np.int64))


def test_cross_entropy_double_backward_of_a_gradient_penalty():
    """d/dz |d loss/dz|^2 needs the backward to be differentiable: compare with the closed form."""
    z = rng.standard_normal((3, 4))
    t = np.array([1, 0, 3])
    x = tg.Tensor(z, requires_grad=True)
    (g,) = tg.grad(F.cross_entropy(x, t, reduction="sum"), x, create_graph=True)
    (g * g).sum().backward()
    p = np.exp(log_softmax_rows(z))
    r = p.copy()
    r[np.arange(3), t] -= 1  # the first gradient, softmax - onehot
    # d/dz sum r^2 = 2 J^T r with J the softmax Jacobian of each row (symmetric)
    expected = np.stack([2 * (np.diag(p[i]) - np.outer(p[i], p[i])) @ r[i] for i in range(3)])
    np.testing.assert_allclose(x.grad.data, expected, rtol=1e-10, atol=1e-14)


# -- nll_loss -------------------------------------------------------------------------------------
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_nll_loss_matches_reference_and_equals_cross_entropy_after_log_softmax(reduction):
    z = rng.standard_normal((5, 4)).astype(np.float32)
    t = rng.integers(0, 4, 5)
    lp = F.log_softmax(t32(z), axis=1)
    picked = -lp.data[np.arange(5), t]
    expected = {"mean": picked.mean(), "sum": picked.sum(), "none": picked}[reduction]
    out = F.nll_loss(lp, t, reduction=reduction)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out.data, expected, rtol=1e-6)
    np.testing.assert_allclose(out.data, F.cross_entropy(t32(z), t, reduction=reduction).data, rtol=1e-5)


def test_nll_loss_gradient_and_spatial_layout():
    lp = tg.Tensor(rng.standard_normal((3, 4)), requires_grad=True)
    F.nll_loss(lp, np.array([1, 1, 2])).backward()
    expected = np.zeros((3, 4))
    expected[0, 1] = expected[1, 1] = expected[2, 2] = -1 / 3
    np.testing.assert_array_equal(lp.grad.data, expected)
    z = rng.standard_normal((2, 3, 4))
    t = rng.integers(0, 3, (2, 4))
    rows, flat = to_rows(z, t)
    np.testing.assert_allclose(F.nll_loss(tg.Tensor(z), t, reduction="sum").item(),
                               -rows[np.arange(flat.size), flat].sum(), rtol=1e-12)


def test_nll_loss_errors_name_the_op():
    with pytest.raises(TypeError, match="nll_loss: target must hold integer class indices, got float64"):
        F.nll_loss(tg.zeros(2, 3), np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match="nll_loss: target 3 at position 1 is out of range for 3 classes"):
        F.nll_loss(tg.zeros(2, 3), np.array([0, 3]))
    with pytest.raises(ShapeError, match="nll_loss: log_probs have batch size 2 but target has 1"):
        F.nll_loss(tg.zeros(2, 3), np.array([0]))
    with pytest.raises(ValueError, match="nll_loss: reduction must be 'mean', 'sum' or 'none'"):
        F.nll_loss(tg.zeros(2, 3), np.array([0, 0]), reduction="batchmean")


# -- mse_loss ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_mse_loss_matches_reference(reduction):
    a = rng.standard_normal((3, 4)).astype(np.float32)
    b = rng.standard_normal((3, 4)).astype(np.float32)
    sq = (a.astype(np.float64) - b) ** 2
    expected = {"mean": sq.mean(), "sum": sq.sum(), "none": sq}[reduction]
    for target in (t32(b), b, b.tolist()):
        out = F.mse_loss(t32(a), target, reduction=reduction)
        assert out.dtype == np.float32
        np.testing.assert_allclose(out.data, expected, rtol=1e-6)


def test_mse_loss_gradients_for_input_and_target():
    a = tg.Tensor(rng.standard_normal((2, 3)), requires_grad=True)
    b = tg.Tensor(rng.standard_normal((2, 3)), requires_grad=True)
    F.mse_loss(a, b).backward()
    np.testing.assert_allclose(a.grad.data, 2 * (a.data - b.data) / 6, rtol=1e-14)
    np.testing.assert_allclose(b.grad.data, -2 * (a.data - b.data) / 6, rtol=1e-14)
    assert gradcheck(lambda x, y: F.mse_loss(x, y, reduction="none"), (a, b))
    assert gradgradcheck(lambda x, y: F.mse_loss(x, y, reduction="sum"), (a, b))


def test_mse_loss_warns_on_broadcasting_and_rejects_incompatible_shapes_and_dtypes():
    with pytest.warns(UserWarning, match=r"mse_loss: target shape \(3, 1\) differs from input shape \(3,\)"):
        out = F.mse_loss(tg.zeros(3), tg.ones(3, 1))
    assert out.item() == 1.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        F.mse_loss(tg.zeros(3), tg.ones(3))  # same shapes: no warning
    with pytest.raises(ShapeError, match=r"mse_loss: input shape \(3,\) and target shape \(4,\) cannot be broadcast"):
        F.mse_loss(tg.zeros(3), tg.ones(4))
    with pytest.raises(TypeError, match="mse_loss: target has dtype float64 but input has dtype float32"):
        F.mse_loss(tg.zeros(3), tg.Tensor(np.ones(3)))
    with pytest.raises(ValueError, match="mse_loss: reduction must be"):
        F.mse_loss(tg.zeros(3), tg.zeros(3), reduction="max")


# -- binary_cross_entropy_with_logits ---------------------------------------------------------------
def bce_reference(x, y, pos_weight=None):
    x = np.asarray(x, dtype=np.float64)
    s = 1 / (1 + np.exp(-x))
    pw = 1.0 if pos_weight is None else pos_weight
    return -(pw * y * np.log(s) + (1 - y) * np.log(1 - s))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_bce_with_logits_matches_reference(reduction):
    x = rng.standard_normal((4, 3)).astype(np.float32) * 3
    y = rng.random((4, 3)).astype(np.float32)
    ref = bce_reference(x, y)
    expected = {"mean": ref.mean(), "sum": ref.sum(), "none": ref}[reduction]
    out = F.binary_cross_entropy_with_logits(t32(x), t32(y), reduction=reduction)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out.data, expected, rtol=1e-5, atol=1e-6)


def test_bce_with_logits_pos_weight_matches_reference_and_broadcasts_per_class():
    x = rng.standard_normal((5, 3)) * 2
    y = (rng.random((5, 3)) > 0.5).astype(np.float64)
    w = np.array([0.5, 2.0, 4.0])
    out = F.binary_cross_entropy_with_logits(tg.Tensor(x), y, reduction="none", pos_weight=tg.Tensor(w))
    np.testing.assert_allclose(out.data, bce_reference(x, y, w), rtol=1e-12)


def test_bce_with_logits_is_stable_for_large_logits_and_exact_at_zero():
    x = t32([100.0, -100.0, 100.0, -100.0, 0.0])
    y = t32([0.0, 1.0, 1.0, 0.0, 1.0])
    out = F.binary_cross_entropy_with_logits(x, y, reduction="none")
    np.testing.assert_allclose(out.data, [100.0, 100.0, 0.0, 0.0, np.log(2)], rtol=1e-6, atol=1e-30)
    xg = tg.Tensor(np.array([0.0, 0.0, 1e4, -1e4]), requires_grad=True)
    yg = np.array([0.0, 1.0, 0.0, 1.0])
    F.binary_cross_entropy_with_logits(xg, yg, reduction="sum").backward()
    np.testing.assert_array_equal(xg.grad.data, [0.5, -0.5, 1.0, -1.0])  # sigmoid(x) - y, also at 0


def test_bce_with_logits_gradients_against_closed_forms():
    x = tg.Tensor(rng.standard_normal(6), requires_grad=True)
    y = tg.Tensor(rng.random(6), requires_grad=True)
    w = tg.Tensor(np.array([1.5]), requires_grad=True)
    F.binary_cross_entropy_with_logits(x, y, reduction="sum", pos_weight=w).backward()
    s = 1 / (1 + np.exp(-x.data))
    softplus_neg = np.log1p(np.exp(-x.data))
    np.testing.assert_allclose(x.grad.data, -1.5 * y.data * (1 - s) + (1 - y.data) * s, rtol=1e-12)
    np.testing.assert_allclose(y.grad.data, 1.5 * softplus_neg - np.log1p(np.exp(x.data)), rtol=1e-12)
    np.testing.assert_allclose(w.grad.data, [np.sum(y.data * softplus_neg)], rtol=1e-12)


def test_bce_with_logits_errors():
    op = "binary_cross_entropy_with_logits"
    with pytest.raises(ShapeError, match=rf"{op}: target shape \(3, 1\) must equal logits shape \(3,\)"):
        F.binary_cross_entropy_with_logits(tg.zeros(3), tg.zeros(3, 1))
    with pytest.raises(ShapeError, match=rf"{op}: pos_weight of shape \(2,\) does not broadcast to the logits' "
                                         r"shape \(4, 3\)"):
        F.binary_cross_entropy_with_logits(tg.zeros(4, 3), tg.zeros(4, 3), pos_weight=tg.ones(2))
    with pytest.raises(TypeError, match=f"{op}: target has dtype float64 but input has dtype float32"):
        F.binary_cross_entropy_with_logits(tg.zeros(3), tg.Tensor(np.zeros(3)))
    with pytest.raises(TypeError, match=f"{op}: logits must be a Tensor, got list"):
        F.binary_cross_entropy_with_logits([0.0], tg.zeros(1))
    # integer labels are fine: they become constants of the logits' dtype
    out = F.binary_cross_entropy_with_logits(tg.zeros(2), tg.Tensor(np.array([0, 1])))
    assert out.dtype == np.float32 and abs(out.item() - np.log(2)) < 1e-6


# -- agreement with PyTorch (optional) ----------------------------------------------------------------
def test_losses_match_torch_values_and_gradients():
    torch = pytest.importorskip("torch")
    tf = torch.nn.functional
    z = rng.standard_normal((6, 4, 3)) * 2
    t = rng.integers(0, 4, (6, 3))
    y = rng.random((6, 4, 3))
    w = rng.random(3) + 0.5
    cases = [
        (lambda a: F.cross_entropy(a, t, label_smoothing=0.15),
         lambda a: tf.cross_entropy(a, torch.tensor(t), label_smoothing=0.15)),
        (lambda a: F.cross_entropy(a, t, reduction="none"),
         lambda a: tf.cross_entropy(a, torch.tensor(t), reduction="none")),
        (lambda a: F.nll_loss(a, t, reduction="sum"), lambda a: tf.nll_loss(a, torch.tensor(t), reduction="sum")),
        (lambda a: F.mse_loss(a, y), lambda a: tf.mse_loss(a, torch.tensor(y))),
        (lambda a: F.binary_cross_entropy_with_logits(a, y, pos_weight=tg.Tensor(w)),
         lambda a: tf.binary_cross_entropy_with_logits(a, torch.tensor(y), pos_weight=torch.tensor(w))),
    ]
    for ours, theirs in cases:
        a = tg.Tensor(z, requires_grad=True)
        out = ours(a)
        b = torch.tensor(z, requires_grad=True)
        ref = theirs(b)
        np.testing.assert_allclose(out.data, ref.detach().numpy(), rtol=1e-12)
        g = rng.standard_normal(out.shape)
        out.backward(g)
        ref.backward(torch.tensor(g))
        np.testing.assert_allclose(a.grad.data, b.grad.numpy(), rtol=1e-10, atol=1e-14)
