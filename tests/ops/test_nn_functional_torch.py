"""The PyTorch-breadth functional API against PyTorch: values and gradients (of every input, with a
random upstream gradient) for the loss options, padding modes, resizing, pooling options,
max_unpool2d, embedding, group norm and SiLU."""
from __future__ import annotations

import numpy as np
import pytest

import tinygrad_np as tg
import tinygrad_np.functional as F

torch = pytest.importorskip("torch")
TF = torch.nn.functional
rng = np.random.default_rng(7)


def _compare(ours, theirs, *arrays, tol=1e-10):
    """ours(*Tensors) and theirs(*torch tensors) agree in value, and in every input's gradient."""
    xs = [tg.Tensor(a.copy(), requires_grad=True) for a in arrays]
    qs = [torch.tensor(a.copy(), requires_grad=True) for a in arrays]
    out, ref = ours(*xs), theirs(*qs)
    if isinstance(out, tuple):  # (values, indices)
        np.testing.assert_array_equal(out[1].data, ref[1].numpy())
        out, ref = out[0], ref[0]
    assert out.shape == tuple(ref.shape)
    np.testing.assert_allclose(out.data, ref.detach().numpy(), rtol=tol, atol=tol)
    upstream = rng.standard_normal(out.shape)
    out.backward(tg.Tensor(upstream))
    ref.backward(torch.tensor(upstream))
    for x, q in zip(xs, qs):
        np.testing.assert_allclose(x.grad.data, q.grad.numpy(), rtol=tol, atol=tol)


def _t(a):
    return None if a is None else torch.tensor(a)


_X = rng.standard_normal((6, 4))
_TARGET = np.array([0, 1, -100, 3, 2, -100])
_WEIGHT = rng.random(4) + 0.3
REDUCTIONS = ["mean", "sum", "none"]


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("smoothing", [0.0, 0.2])
@pytest.mark.parametrize("weighted", [False, True])
def test_cross_entropy_class_targets(reduction, smoothing, weighted):
    w = _WEIGHT if weighted else None
    _compare(lambda z: F.cross_entropy(z, _TARGET, weight=w, reduction=reduction, label_smoothing=smoothing),
             lambda z: TF.cross_entropy(z, _t(_TARGET), weight=_t(w), reduction=reduction, label_smoothing=smoothing),
             _X)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("smoothing", [0.0, 0.3])
@pytest.mark.parametrize("weighted", [False, True])
def test_cross_entropy_probability_targets(reduction, smoothing, weighted):
    w = _WEIGHT if weighted else None
    q = rng.random((6, 4))
    q /= q.sum(axis=1, keepdims=True)
    _compare(lambda z, p: F.cross_entropy(z, p, weight=w, reduction=reduction, label_smoothing=smoothing),
             lambda z, p: TF.cross_entropy(z, p, weight=_t(w), reduction=reduction, label_smoothing=smoothing),
             _X, q)


def test_cross_entropy_spatial_with_everything():
    x = rng.standard_normal((2, 3, 4, 5))
    t = rng.integers(0, 3, (2, 4, 5))
    t[0, 0, :2] = 7
    _compare(lambda z: F.cross_entropy(z, t, weight=_WEIGHT[:3], ignore_index=7, label_smoothing=0.1),
             lambda z: TF.cross_entropy(z, _t(t), weight=_t(_WEIGHT[:3]), ignore_index=7, label_smoothing=0.1), x)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
def test_nll_loss_weight_and_ignore_index(reduction, weighted):
    w = _WEIGHT if weighted else None
    _compare(lambda z: F.nll_loss(z, _TARGET, weight=w, reduction=reduction),
             lambda z: TF.nll_loss(z, _t(_TARGET), weight=_t(w), reduction=reduction), _X)


def test_every_target_ignored_gives_nan_mean_and_zero_gradient():
    z = tg.Tensor(_X, requires_grad=True)
    loss = F.cross_entropy(z, np.full(6, -100), label_smoothing=0.1)
    ref = TF.cross_entropy(torch.tensor(_X), torch.full((6,), -100), label_smoothing=0.1)
    assert np.isnan(loss.item()) and np.isnan(ref.item())
    loss.backward()
    assert (z.grad.data == 0).all()
    assert F.nll_loss(tg.Tensor(_X), np.full(6, -100), reduction="sum").item() == 0.0


def test_ignored_target_never_reads_its_scores():
    z = tg.Tensor(np.array([[np.inf, 0.0], [1.0, 2.0]]), requires_grad=True)
    loss = F.nll_loss(z, np.array([-100, 1]))
    assert loss.item() == -2.0
    loss.backward()
    np.testing.assert_array_equal(z.grad.data, [[0.0, 0.0], [0.0, -1.0]])


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_binary_losses(reduction):
    p, y, w = rng.random((3, 4)), rng.random((3, 4)), rng.random(4)
    _compare(lambda a, b: F.binary_cross_entropy(a, b, weight=w, reduction=reduction),
             lambda a, b: TF.binary_cross_entropy(a, b, weight=_t(w), reduction=reduction), p, y)
    _compare(lambda a, b: F.binary_cross_entropy_with_logits(a, b, weight=w, reduction=reduction, pos_weight=w + 1),
             lambda a, b: TF.binary_cross_entropy_with_logits(a, b, weight=_t(w), reduction=reduction,
                                                              pos_weight=_t(w + 1)), _X[:3] * 3, y)


def test_binary_cross_entropy_at_0_and_1_is_clamped_as_pytorch():
    p, y = np.array([0.0, 1.0, 0.5, 1.0, 0.0]), np.array([1.0, 0.0, 0.3, 1.0, 0.4])
    _compare(lambda a: F.binary_cross_entropy(a, y, reduction="none"),
             lambda a: TF.binary_cross_entropy(a, torch.tensor(y), reduction="none"), p, tol=1e-8)
    # the target's gradient too, away from 0 and 1 (there: the next test)
    _compare(lambda b: F.binary_cross_entropy(tg.Tensor(p[2:3]), b, reduction="none"),
             lambda b: TF.binary_cross_entropy(torch.tensor(p[2:3]), b, reduction="none"), y[2:3], tol=1e-8)


def test_binary_cross_entropy_target_gradient_is_the_clamped_losss():
    # the loss at x = 0 is -(y * (-100) + (1 - y) * log 1) = 100 y, so d/dy = 100 (and -100 at x = 1);
    # PyTorch's d/dy = log(1 - x) - log(x) leaves the logs unclamped: inf there, for a finite loss
    p, y = np.array([0.0, 1.0, 0.25]), np.array([0.4, 0.7, 0.5])
    q = torch.tensor(y, requires_grad=True)
    TF.binary_cross_entropy(torch.tensor(p), q, reduction="sum").backward()
    assert np.isinf(q.grad.numpy()[:2]).all()
    expected = [100.0, -100.0, np.log(0.75) - np.log(0.25)]
    for create_graph in (False, True):
        x, t = tg.Tensor(p, requires_grad=True), tg.Tensor(y, requires_grad=True)
        (gx, gy) = tg.grad(F.binary_cross_entropy(x, t, reduction="sum"), [x, t], create_graph=create_graph)
        np.testing.assert_allclose(gy.data, expected, rtol=1e-15)
        np.testing.assert_allclose(gy.data[2], q.grad.numpy()[2], rtol=1e-15)
        if create_graph:  # a clamped log is a constant: only the other one's derivative is left, finite
            (gxy,) = tg.grad(gy.sum(), x)
            np.testing.assert_array_equal(gxy.data[:2], [-1.0, -1.0])  # -1 / (1 - x) at 0, -1 / x at 1
            np.testing.assert_allclose(gxy.data[2], -1 / 0.75 - 1 / 0.25, rtol=1e-12)


@pytest.mark.parametrize("kw", [dict(weight=_WEIGHT), dict(label_smoothing=0.2), {}], ids=str)
def test_ignored_sample_gradient_is_exactly_0_under_an_inf_upstream(kw):
    z, zt = tg.Tensor(_X, requires_grad=True), torch.tensor(_X, requires_grad=True)
    with np.errstate(invalid="ignore"):  # inf * 0 = NaN is computed for the ignored sample, then selected out
        F.cross_entropy(z, _TARGET, reduction="none", **kw).backward(tg.Tensor(np.full(6, np.inf)))
    TF.cross_entropy(zt, torch.tensor(_TARGET), reduction="none",
                     **{k: _t(v) if k == "weight" else v for k, v in kw.items()}).backward(torch.full((6,), np.inf))
    ignored = _TARGET == -100
    np.testing.assert_array_equal(z.grad.data[ignored], 0.0)
    np.testing.assert_array_equal(zt.grad.numpy()[ignored], 0.0)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_regression_losses(reduction):
    x, y = _X[:3] * 2, rng.standard_normal((3, 4))
    _compare(lambda a, b: F.l1_loss(a, b, reduction=reduction), lambda a, b: TF.l1_loss(a, b, reduction=reduction), x, y)
    for beta in (0.0, 0.5, 1.0):
        _compare(lambda a, b: F.smooth_l1_loss(a, b, reduction=reduction, beta=beta),
                 lambda a, b: TF.smooth_l1_loss(a, b, reduction=reduction, beta=beta), x, y)
    _compare(lambda a, b: F.huber_loss(a, b, reduction=reduction, delta=0.7),
             lambda a, b: TF.huber_loss(a, b, reduction=reduction, delta=0.7), x, y)


@pytest.mark.parametrize("reduction", REDUCTIONS + ["batchmean"])
@pytest.mark.parametrize("log_target", [False, True])
def test_kl_div(reduction, log_target):
    x = np.log(rng.dirichlet(np.ones(4), size=3))
    t = rng.standard_normal((3, 4)) if log_target else rng.dirichlet(np.ones(4), size=3)
    with pytest.warns(UserWarning) if reduction == "mean" else _nothing():  # PyTorch warns about 'mean'
        _compare(lambda a, b: F.kl_div(a, b, reduction=reduction, log_target=log_target),
                 lambda a, b: TF.kl_div(a, b, reduction=reduction, log_target=log_target), x, t)


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_kl_div_zero_target_adds_nothing_and_its_gradient_is_the_zero_branchs():
    x = tg.Tensor(np.log([[0.2, 0.3, 0.5]]), requires_grad=True)
    t = tg.Tensor(np.array([[0.0, 0.5, 0.5]]), requires_grad=True)
    loss = F.kl_div(x, t, reduction="sum")
    ref = TF.kl_div(torch.tensor(x.data), torch.tensor(t.data), reduction="sum")
    np.testing.assert_allclose(loss.item(), ref.item(), rtol=1e-12)
    loss.backward()
    assert np.isfinite(t.grad.data).all()  # PyTorch gives NaN at t == 0 (xlogy's derivative there)
    np.testing.assert_allclose(t.grad.data[0, 0], -x.data[0, 0])


X4 = rng.standard_normal((2, 3, 7, 6))


@pytest.mark.parametrize("mode", ["constant", "reflect", "replicate", "circular"])
@pytest.mark.parametrize("pad", [(2, 1, 0, 3), (3, 3, 1, 1), (1, 1, 2, 0, 1, 1)], ids=str)
def test_pad(mode, pad):
    _compare(lambda a: F.pad(a, pad, mode=mode), lambda a: TF.pad(a, pad, mode=mode), X4)


def test_pad_constant_value_and_3d_reflect():
    _compare(lambda a: F.pad(a, (1, 2), value=2.5), lambda a: TF.pad(a, (1, 2), value=2.5), X4)
    _compare(lambda a: F.pad(a, (1, 2), mode="reflect"), lambda a: TF.pad(a, (1, 2), mode="reflect"), X4[0])


@pytest.mark.parametrize("size", [dict(size=(5, 9)), dict(scale_factor=2), dict(scale_factor=(1.7, 0.6)),
                                  dict(size=(14, 12)), dict(size=3)], ids=str)
@pytest.mark.parametrize("mode", ["nearest", "bilinear", "bilinear-align", "bilinear-recompute"])
def test_interpolate(size, mode):
    kw = dict(size)
    if mode != "nearest":
        kw["mode"] = "bilinear"
        kw["align_corners"] = mode == "bilinear-align"
        if mode == "bilinear-recompute" and "scale_factor" in kw:
            kw["recompute_scale_factor"] = True
    _compare(lambda a: F.interpolate(a, **kw), lambda a: TF.interpolate(a, **kw), X4)


def test_interpolate_linear_3d():
    _compare(lambda a: F.interpolate(a, size=11, mode="linear"), lambda a: TF.interpolate(a, size=11, mode="linear"),
             X4[0])


@pytest.mark.parametrize("output_size", [1, (3, 4), (5, 2), (7, 6), (10, 13), (None, 4)], ids=str)
def test_adaptive_avg_pool2d(output_size):
    _compare(lambda a: F.adaptive_avg_pool2d(a, output_size), lambda a: TF.adaptive_avg_pool2d(a, output_size), X4)


@pytest.mark.parametrize("kw", [dict(kernel_size=3, stride=2, ceil_mode=True),
                                dict(kernel_size=3, stride=2, padding=1, ceil_mode=True),
                                dict(kernel_size=2, dilation=2),
                                dict(kernel_size=(3, 2), stride=(2, 3), padding=(1, 1), dilation=(2, 1), ceil_mode=True),
                                dict(kernel_size=2, stride=1)], ids=str)
def test_max_pool2d_options_and_indices(kw):
    _compare(lambda a: F.max_pool2d(a, **kw), lambda a: TF.max_pool2d(a, **kw), X4)
    _compare(lambda a: F.max_pool2d(a, return_indices=True, **kw), lambda a: TF.max_pool2d(a, return_indices=True, **kw),
             X4)


@pytest.mark.parametrize("kw", [dict(kernel_size=3, stride=2, ceil_mode=True),
                                dict(kernel_size=3, stride=2, padding=1, ceil_mode=True),
                                dict(kernel_size=3, stride=2, padding=1, count_include_pad=False),
                                dict(kernel_size=3, stride=2, padding=1, ceil_mode=True, count_include_pad=False),
                                dict(kernel_size=2, divisor_override=3),
                                dict(kernel_size=(3, 2), stride=(2, 3), padding=(1, 1), ceil_mode=True)], ids=str)
def test_avg_pool2d_options(kw):
    _compare(lambda a: F.avg_pool2d(a, **kw), lambda a: TF.avg_pool2d(a, **kw), X4)


@pytest.mark.parametrize("kw", [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1)], ids=str)
def test_max_unpool2d_inverts_max_pool2d(kw):
    x = rng.permutation(2 * 3 * 8 * 6).reshape(2, 3, 8, 6) * 0.1
    _, index = TF.max_pool2d(torch.tensor(x), return_indices=True, **kw)
    y = rng.standard_normal(index.shape)
    _compare(lambda a: F.max_unpool2d(a, index.numpy(), output_size=(8, 6), **kw),
             lambda a: TF.max_unpool2d(a, index, output_size=(8, 6), **kw), y)


@pytest.mark.filterwarnings("ignore:Mean of empty slice", "ignore:invalid value encountered in divide")
def test_empty_batches_as_pytorch():
    x = np.zeros((0, 4, 3))
    _compare(lambda a, b, c: F.group_norm(a, 2, b, c), lambda a, b, c: TF.group_norm(a, 2, b, c),
             x, rng.standard_normal(4), rng.standard_normal(4))
    index = np.zeros((0, 2, 2, 2), np.int64)
    _compare(lambda a: F.max_unpool2d(a, index, 2), lambda a: TF.max_unpool2d(a, torch.tensor(index), 2),
             np.zeros((0, 2, 2, 2)))
    for axis in (None, 0, (1, 2)):
        with pytest.warns(UserWarning):  # PyTorch warns of the degrees of freedom
            _compare(lambda a: a.std(axis=axis), lambda a: a.std(dim=axis, correction=0), x)


def test_embedding_group_norm_silu():
    table, ids = rng.standard_normal((10, 4)), rng.integers(0, 10, (3, 5))
    ids[0, 0] = 2
    _compare(lambda w: F.embedding(ids, w, padding_idx=2), lambda w: TF.embedding(_t(ids), w, padding_idx=2), table)
    _compare(lambda w: F.embedding(ids, w), lambda w: TF.embedding(_t(ids), w), table)
    _compare(lambda a, b, c: F.group_norm(a, 3, b, c), lambda a, b, c: TF.group_norm(a, 3, b, c),
             rng.standard_normal((2, 6, 3, 4)), rng.standard_normal(6), rng.standard_normal(6))
    _compare(F.silu, TF.silu, X4)
