"""conv2d, conv_transpose2d, unfold and fold: values against nested-loop references over a sweep of
shapes, strides, paddings, dilations and groups; PyTorch agreement when it is installed; dtypes,
skipped gradient work, and clear errors. (Gradients are proven by gradcheck in tests/cases/conv.py.)
"""
from __future__ import annotations

import itertools

import numpy as np
import pytest

import tinygrad_np as tg
from tinygrad_np.errors import ShapeError
from tinygrad_np.kernels import conv as conv_kernels
from tinygrad_np.ops import conv as conv_module
from tinygrad_np.ops.windows import make_geometry
from tinygrad_np.ops.conv import conv2d, conv2d_weight, conv_transpose2d
from tinygrad_np.ops.im2col import fold, unfold

rng = np.random.default_rng(1357)


def pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


# -- nested-loop references (float64) -----------------------------------------------------------------
def zero_pad(x, padding):
    """x padded with zeros by an int, a pair or (top, bottom, left, right); and (top, left)."""
    if isinstance(padding, tuple) and len(padding) == 4:
        top, bottom, left, right = padding
    else:
        (top, left) = (bottom, right) = pair(padding)
    n, c, h, wd = x.shape
    xp = np.zeros((n, c, h + top + bottom, wd + left + right))
    xp[:, :, top:top + h, left:left + wd] = x
    return xp, (top, left)


def naive_conv2d(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    """Loop over every output position: the sum of the window times the filter."""
    (sh, sw), (dh, dw) = pair(stride), pair(dilation)
    xp, (top, left) = zero_pad(x, padding)
    n, c, h, wd = x.shape
    c_out, c_group, kh, kw = w.shape
    oh = (xp.shape[2] - dh * (kh - 1) - 1) // sh + 1
    ow = (xp.shape[3] - dw * (kw - 1) - 1) // sw + 1
    out = np.zeros((n, c_out, oh, ow))
    per_group = c_out // groups
    for i, o, y, z in itertools.product(range(n), range(c_out), range(oh), range(ow)):
        g = o // per_group
        window = xp[i, g * c_group:(g + 1) * c_group,
                    y * sh:y * sh + dh * (kh - 1) + 1:dh, z * sw:z * sw + dw * (kw - 1) + 1:dw]
        out[i, o, y, z] = np.sum(window * w[o]) + (0.0 if b is None else b[o])
    return out


def naive_conv2d_grads(x, w, g, stride=1, padding=0, dilation=1, groups=1):
    """Loop over every output position: its gradient flows to the window (times the filter) and to
    the filter (times the window)."""
    (sh, sw), (dh, dw) = pair(stride), pair(dilation)
    xp, (top, left) = zero_pad(x, padding)
    n, c, h, wd = x.shape
    c_out, c_group, kh, kw = w.shape
    dxp, dw_ = np.zeros_like(xp), np.zeros_like(w)
    per_group = c_out // groups
    for i, o, y, z in itertools.product(range(n), range(c_out), range(g.shape[2]), range(g.shape[3])):
        k = o // per_group
        where = (i, slice(k * c_group, (k + 1) * c_group), slice(y * sh, y * sh + dh * (kh - 1) + 1, dh),
                 slice(z * sw, z * sw + dw * (kw - 1) + 1, dw))
        dxp[where] += g[i, o, y, z] * w[o]
        dw_[o] += g[i, o, y, z] * xp[where]
    return dxp[:, :, top:top + h, left:left + wd], dw_


def naive_fold(cols, size, kernel, dilation=1, padding=0, stride=1):
    """Loop over every window: add its column back onto the image."""
    (kh, kw), (dh, dw), (ph, pw), (sh, sw) = pair(kernel), pair(dilation), pair(padding), pair(stride)
    n, rows, _ = cols.shape
    c, (h, wd) = rows // (kh * kw), size
    image = np.zeros((n, c, h + 2 * ph, wd + 2 * pw))
    oh = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    ow = (wd + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    for y, z in itertools.product(range(oh), range(ow)):
        image[:, :, y * sh:y * sh + dh * (kh - 1) + 1:dh, z * sw:z * sw + dw * (kw - 1) + 1:dw] += \
            cols[:, :, y * ow + z].reshape(n, c, kh, kw)
    return image[:, :, ph:ph + h, pw:pw + wd]


def naive_conv_transpose2d(x, w, b=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """Loop over every input element and kernel offset: add input * filter onto the output."""
    (sh, sw), (ph, pw), (eh, ew), (dh, dw) = pair(stride), pair(padding), pair(output_padding), pair(dilation)
    n, c_in, h, wd = x.shape
    _, per_group, kh, kw = w.shape
    oh = (h - 1) * sh - 2 * ph + dh * (kh - 1) + eh + 1
    ow = (wd - 1) * sw - 2 * pw + dw * (kw - 1) + ew + 1
    full = np.zeros((n, per_group * groups, max((h - 1) * sh + dh * (kh - 1) + 1, ph + oh),
                     max((wd - 1) * sw + dw * (kw - 1) + 1, pw + ow)))
    in_group = c_in // groups
    for i, c, y, z, a, e in itertools.product(range(n), range(c_in), range(h), range(wd), range(kh), range(kw)):
        g = c // in_group
        full[i, g * per_group:(g + 1) * per_group, y * sh + a * dh, z * sw + e * dw] += x[i, c, y, z] * w[c, :, a, e]
    out = full[:, :, ph:ph + oh, pw:pw + ow]
    return out if b is None else out + b[:, None, None]


def naive_unfold(x, kernel, dilation=1, padding=0, stride=1):
    (kh, kw), (dh, dw), (ph, pw), (sh, sw) = pair(kernel), pair(dilation), pair(padding), pair(stride)
    n, c, h, wd = x.shape
    xp = np.zeros((n, c, h + 2 * ph, wd + 2 * pw))
    xp[:, :, ph:ph + h, pw:pw + wd] = x
    oh = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    ow = (wd + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    cols = np.zeros((n, c * kh * kw, oh * ow))
    for y, z in itertools.product(range(oh), range(ow)):
        window = xp[:, :, y * sh:y * sh + dh * (kh - 1) + 1:dh, z * sw:z * sw + dw * (kw - 1) + 1:dw]
        cols[:, :, y * ow + z] = window.reshape(n, -1)
    return cols


# -- the sweep --------------------------------------------------------------------------------------
def _conv_configs():
    """Hand-picked corners plus seeded random configurations, all valid."""
    fixed = [
        dict(x=(1, 1, 5, 5), w=(1, 1, 1, 1)),
        dict(x=(2, 3, 7, 9), w=(4, 3, 3, 3), padding=1),
        dict(x=(2, 3, 8, 7), w=(5, 3, 5, 5), padding=2),
        dict(x=(1, 4, 9, 9), w=(6, 2, 3, 2), stride=2, padding=(1, 0), groups=2),
        dict(x=(2, 4, 11, 10), w=(4, 1, 3, 3), stride=3, padding=2, dilation=2, groups=4),  # depthwise
        dict(x=(2, 2, 6, 13), w=(4, 2, 2, 5), stride=(1, 3), padding=(0, 2), dilation=(2, 1)),
        dict(x=(1, 6, 10, 10), w=(3, 2, 4, 4), stride=2, padding=1, groups=3),
        dict(x=(2, 3, 5, 5), w=(2, 3, 5, 5)),  # the kernel covers the whole input
        # the one-GEMM layout (K >= 32) with dilation, a non-square kernel, unequal strides, groups
        dict(x=(2, 4, 9, 8), w=(5, 4, 3, 4), stride=(1, 2), padding=(1, 0), dilation=(2, 1)),
        dict(x=(1, 6, 7, 9), w=(4, 3, 3, 4), padding="same", dilation=(1, 2), groups=2),
        dict(x=(1, 3, 6, 6), w=(6, 1, 3, 3), padding=1, groups=3),  # depthwise, multiplier 2
        dict(x=(2, 1, 12, 12), w=(3, 1, 1, 3), stride=3, padding=(0, 1)),
        dict(x=(1, 2, 8, 8), w=(3, 2, 2, 2), stride=2),
        dict(x=(2, 2, 7, 6), w=(3, 2, 3, 2), padding="same", dilation=(1, 2)),
        dict(x=(1, 2, 6, 5), w=(2, 2, 2, 4), padding="valid"),
    ]
    r = np.random.default_rng(97531)
    generated = []
    while len(generated) < 24:
        groups = int(r.choice([1, 1, 2, 3]))
        c_in, c_out = groups * int(r.integers(1, 3)), groups * int(r.integers(1, 3))
        kh, kw = int(r.integers(1, 6)), int(r.integers(1, 6))
        stride = (int(r.integers(1, 4)), int(r.integers(1, 4)))
        dilation = (int(r.integers(1, 3)), int(r.integers(1, 3)))
        padding = (int(r.integers(0, 3)), int(r.integers(0, 3)))
        h, w = int(r.integers(3, 12)), int(r.integers(3, 12))
        if h + 2 * padding[0] < dilation[0] * (kh - 1) + 1 or w + 2 * padding[1] < dilation[1] * (kw - 1) + 1:
            continue
        generated.append(dict(x=(int(r.integers(1, 3)), c_in, h, w), w=(c_out, c_in // groups, kh, kw),
                              stride=stride, padding=padding, dilation=dilation, groups=groups))
    return fixed + generated


CONV_CONFIGS = _conv_configs()


def _id(cfg):
    return "-".join(f"{k}{v}" for k, v in cfg.items()).replace(" ", "")


def _kwargs(cfg):
    return {k: v for k, v in cfg.items() if k not in ("x", "w")}


def _same_padding(cfg):
    """The (top, bottom, left, right) padding 'same' means for the reference (extra on the bottom/right)."""
    kw = _kwargs(cfg)
    if kw.get("padding") not in ("same", "valid"):
        return kw
    if kw["padding"] == "valid":
        return {**kw, "padding": 0}
    totals = [d * (k - 1) for d, k in zip(pair(kw.get("dilation", 1)), cfg["w"][2:])]
    return {**kw, "padding": (totals[0] // 2, totals[0] - totals[0] // 2, totals[1] // 2, totals[1] - totals[1] // 2)}


@pytest.mark.parametrize("cfg", CONV_CONFIGS, ids=_id)
def test_conv2d_matches_nested_loops(cfg):
    x, w, b = rng.standard_normal(cfg["x"]), rng.standard_normal(cfg["w"]), rng.standard_normal(cfg["w"][0])
    out = conv2d(tg.Tensor(x), tg.Tensor(w), tg.Tensor(b), **_kwargs(cfg))
    expected = naive_conv2d(x, w, b, **_same_padding(cfg))
    assert out.shape == expected.shape and out.dtype == np.float64
    np.testing.assert_allclose(out.data, expected, rtol=1e-10, atol=1e-10)


def _transpose_configs():
    configs = []
    for cfg in CONV_CONFIGS:
        kw = _kwargs(cfg)
        if isinstance(kw.get("padding"), str):
            continue
        stride, dilation = pair(kw.get("stride", 1)), pair(kw.get("dilation", 1))
        # the largest output padding PyTorch allows: below the stride or the dilation
        extra = tuple(max(s, d) - 1 for s, d in zip(stride, dilation))
        groups = kw.get("groups", 1)
        c_in = cfg["x"][1]
        t_cfg = dict(x=cfg["x"], w=(c_in, cfg["w"][0] // groups) + cfg["w"][2:], **kw, output_padding=extra)
        size = [(n - 1) * s - 2 * p + d * (k - 1) + e + 1 for n, s, p, d, k, e in
                zip(cfg["x"][2:], stride, pair(kw.get("padding", 0)), dilation, cfg["w"][2:], extra)]
        if min(size) >= 1:
            configs.append(t_cfg)
    return configs


TRANSPOSE_CONFIGS = _transpose_configs()


@pytest.mark.parametrize("cfg", TRANSPOSE_CONFIGS, ids=_id)
def test_conv_transpose2d_matches_nested_loops(cfg):
    x, w = rng.standard_normal(cfg["x"]), rng.standard_normal(cfg["w"])
    b = rng.standard_normal(cfg["w"][1] * cfg.get("groups", 1))
    out = conv_transpose2d(tg.Tensor(x), tg.Tensor(w), tg.Tensor(b), **_kwargs(cfg))
    expected = naive_conv_transpose2d(x, w, b, **_kwargs(cfg))
    assert out.shape == expected.shape
    np.testing.assert_allclose(out.data, expected, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("cfg", CONV_CONFIGS[:15], ids=_id)
def test_conv2d_gradients_match_nested_loops(cfg):
    x, w, b = rng.standard_normal(cfg["x"]), rng.standard_normal(cfg["w"]), rng.standard_normal(cfg["w"][0])
    leaves = [tg.Tensor(a, requires_grad=True) for a in (x, w, b)]
    out = conv2d(*leaves, **_kwargs(cfg))
    g = rng.standard_normal(out.shape)
    out.backward(g)
    dx, dw = naive_conv2d_grads(x, w, g, **_same_padding(cfg))
    np.testing.assert_allclose(leaves[0].grad.data, dx, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(leaves[1].grad.data, dw, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(leaves[2].grad.data, g.sum(axis=(0, 2, 3)), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("kernel,kw", [((2, 3), dict(padding=1, stride=2, dilation=(1, 2))),
                                       (3, dict(padding=1)), (1, {}), ((3, 1), dict(stride=(2, 1)))])
def test_unfold_and_fold_match_the_references_and_are_adjoint(kernel, kw):
    x = rng.standard_normal((2, 3, 6, 5))
    cols = unfold(tg.Tensor(x), kernel, **kw)
    np.testing.assert_array_equal(cols.data, naive_unfold(x, kernel, **kw))
    c = rng.standard_normal(cols.shape)
    folded = fold(tg.Tensor(c), (6, 5), kernel, **kw)
    assert folded.shape == x.shape
    # <unfold(x), c> == <x, fold(c)>: fold is unfold's adjoint
    np.testing.assert_allclose(folded.data, naive_fold(c, (6, 5), kernel, **kw), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(np.sum(cols.data * c), np.sum(x * folded.data), rtol=1e-12)


# -- float32, layouts, skipped work -------------------------------------------------------------------
def test_float32_stays_float32_through_forward_and_backward():
    x = tg.Tensor(rng.standard_normal((2, 3, 9, 8)).astype(np.float32), requires_grad=True)
    w = tg.Tensor(rng.standard_normal((4, 3, 3, 3)).astype(np.float32), requires_grad=True)
    b = tg.Tensor(rng.standard_normal(4).astype(np.float32), requires_grad=True)
    out = conv2d(x, w, b, padding=1)
    up = conv_transpose2d(out, w.detach(), stride=2, output_padding=1)
    assert out.dtype == up.dtype == np.float32
    (up * up).sum().backward()
    assert x.grad.dtype == w.grad.dtype == b.grad.dtype == np.float32
    expected = naive_conv2d(x.data.astype(np.float64), w.data.astype(np.float64), b.data.astype(np.float64), padding=1)
    np.testing.assert_allclose(out.data, expected, rtol=1e-4, atol=1e-4)


def test_non_contiguous_input_and_weight():
    base = rng.standard_normal((2, 8, 7, 3))
    x = base.transpose(0, 3, 2, 1)  # (2, 3, 7, 8), no unit stride on the last axis
    w = rng.standard_normal((3, 3, 2, 4))[:, :, ::-1, ::2]  # reversed and strided view
    out = conv2d(tg.Tensor(x), tg.Tensor(w), stride=(2, 1), padding=1)
    np.testing.assert_allclose(out.data, naive_conv2d(x, w, stride=(2, 1), padding=1), rtol=1e-10, atol=1e-10)


def test_empty_batch():
    out = conv2d(tg.zeros((0, 2, 5, 5), dtype=np.float32), tg.ones((3, 2, 3, 3), dtype=np.float32), padding=1)
    assert out.shape == (0, 3, 5, 5)


def _count_calls(monkeypatch, module, name):
    calls = []
    original = getattr(module, name)

    def counted(*args, **kwargs):
        calls.append(name)
        return original(*args, **kwargs)
    monkeypatch.setattr(module, name, counted)
    return calls


@pytest.mark.parametrize("channels", [1, 4], ids=["batched-gemms", "one-gemm"])
def test_first_layer_pays_only_for_the_weight_gradient(monkeypatch, channels):
    """Images need no gradient: backward computes dW (from the kept columns) and db, never dx."""
    monkeypatch.setattr(conv_kernels, "conv_algorithm", lambda *args: "im2col")  # the GEMM layouts under test
    input_grads = _count_calls(monkeypatch, conv_module, "conv2d_input_grad")
    columns = _count_calls(monkeypatch, conv_kernels, "conv_columns")
    images = tg.Tensor(rng.standard_normal((2, channels, 8, 8)).astype(np.float32))
    w = tg.Tensor(rng.standard_normal((3, channels, 3, 3)).astype(np.float32), requires_grad=True)
    b = tg.Tensor(np.zeros(3, np.float32), requires_grad=True)
    loss = conv2d(images, w, b, padding=1).sum()
    assert columns == ["conv_columns"]
    loss.backward()
    assert input_grads == [] and columns == ["conv_columns"]  # dW reused the forward's columns
    _, expected = naive_conv2d_grads(images.data.astype(np.float64), w.data.astype(np.float64),
                                     np.ones((2, 3, 8, 8)), padding=1)
    np.testing.assert_allclose(w.grad.data, expected, rtol=1e-4)


def test_winograd_first_layer_reuses_the_forward_tiles(monkeypatch):
    """On the Winograd path too: no dx, and dW from the transformed input tiles forward kept."""
    input_grads = _count_calls(monkeypatch, conv_kernels, "winograd_conv2d_input_grad")
    kept = []
    weight_grad = conv_kernels.winograd_conv2d_weight_grad

    def spy(x, grad, padding, m, tiles=None):
        kept.append(tiles is not None)
        return weight_grad(x, grad, padding, m, tiles)
    monkeypatch.setattr(conv_kernels, "winograd_conv2d_weight_grad", spy)
    images = tg.Tensor(rng.standard_normal((2, 8, 7, 6)))
    w = tg.Tensor(rng.standard_normal((3, 8, 3, 3)), requires_grad=True)
    assert conv_kernels.conv_algorithm(w.shape, make_geometry(
        "conv2d", images.shape, (3, 3), (1, 1), (1, 1, 1, 1), (1, 1)), 1, w.dtype) == "winograd2"
    conv2d(images, w, padding=1).sum().backward()
    assert input_grads == [] and kept == [True]
    _, expected = naive_conv2d_grads(images.data, w.data, np.ones((2, 3, 7, 6)), padding=1)
    np.testing.assert_allclose(w.grad.data, expected, rtol=1e-10)


def test_frozen_weight_skips_the_weight_gradient(monkeypatch):
    weight_grads = _count_calls(monkeypatch, conv_module, "conv2d_weight_grad")
    x = tg.Tensor(rng.standard_normal((2, 2, 6, 6)), requires_grad=True)
    conv2d(x, tg.Tensor(rng.standard_normal((3, 2, 3, 3)))).sum().backward()
    assert weight_grads == [] and x.grad is not None


def test_double_backward_through_a_convolution():
    """A gradient penalty: d/dw of |d loss/dx|^2 needs conv's backward to be differentiable."""
    x = tg.Tensor(rng.standard_normal((1, 2, 5, 5)), requires_grad=True)
    w = tg.Tensor(rng.standard_normal((3, 2, 3, 3)), requires_grad=True)
    (gx,) = tg.grad(conv2d(x, w, padding=1).tanh().sum(), x, create_graph=True)
    penalty = (gx * gx).sum()
    penalty.backward()
    assert w.grad is not None and w.grad.shape == w.shape and np.all(np.isfinite(w.grad.data))


# -- PyTorch agreement ---------------------------------------------------------------------------------
def _agree_with_torch(torch, ours_fn, torch_fn, arrays, cfg):
    """Same output and same gradients for every argument, for one random output gradient."""
    ours = [tg.Tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    out, ref = ours_fn(*ours, **_kwargs(cfg)), torch_fn(*theirs, **_kwargs(cfg))
    np.testing.assert_allclose(out.data, ref.detach().numpy(), rtol=1e-10, atol=1e-10)
    g = rng.standard_normal(out.shape)
    out.backward(g)
    ref.backward(torch.tensor(g))
    for a, t in zip(ours, theirs):
        np.testing.assert_allclose(a.grad.data, t.grad.numpy(), rtol=1e-9, atol=1e-9, err_msg=_id(cfg))


def test_against_torch():
    torch = pytest.importorskip("torch")
    tf = torch.nn.functional
    for cfg in CONV_CONFIGS:
        x, w, b = rng.standard_normal(cfg["x"]), rng.standard_normal(cfg["w"]), rng.standard_normal(cfg["w"][0])
        _agree_with_torch(torch, conv2d, tf.conv2d, (x, w, b), cfg)
    for cfg in TRANSPOSE_CONFIGS:
        x, w = rng.standard_normal(cfg["x"]), rng.standard_normal(cfg["w"])
        b = rng.standard_normal(cfg["w"][1] * cfg.get("groups", 1))
        _agree_with_torch(torch, conv_transpose2d, tf.conv_transpose2d, (x, w, b), cfg)
    x = rng.standard_normal((2, 3, 7, 6))
    cols = unfold(tg.Tensor(x), (2, 3), dilation=(2, 1), padding=1, stride=(1, 2))
    np.testing.assert_array_equal(cols.data, tf.unfold(torch.tensor(x), (2, 3), dilation=(2, 1), padding=1,
                                                       stride=(1, 2)).numpy())
    c = rng.standard_normal(cols.shape)
    np.testing.assert_allclose(fold(tg.Tensor(c), (7, 6), (2, 3), dilation=(2, 1), padding=1, stride=(1, 2)).data,
                               tf.fold(torch.tensor(c), (7, 6), (2, 3), dilation=(2, 1), padding=1,
                                       stride=(1, 2)).numpy(), rtol=1e-12, atol=1e-12)


# -- errors ------------------------------------------------------------------------------------------
def _t(*shape, dtype=np.float32):
    return tg.Tensor(np.zeros(shape, dtype=dtype))


@pytest.mark.parametrize("call,error,message", [
    (lambda: conv2d(_t(3, 8, 8), _t(4, 3, 3, 3)), ShapeError,
     r"conv2d: expected a 4-D input \(N, C, H, W\), got shape \(3, 8, 8\)"),
    (lambda: conv2d(_t(1, 3, 8, 8), _t(4, 3, 3)), ShapeError,
     r"conv2d: expected a 4-D weight .* got shape \(4, 3, 3\)"),
    (lambda: conv2d(_t(1, 3, 8, 8), _t(8, 4, 3, 3)), ShapeError,
     r"conv2d: input has 3 channels but weight expects 4 \(weight shape \(8, 4, 3, 3\), groups=1\)"),
    (lambda: conv2d(_t(1, 3, 8, 8), _t(4, 1, 3, 3), groups=2), ShapeError,
     r"conv2d: input channels \(3\) and output channels \(4, .*\) must both be divisible by groups \(2\)"),
    (lambda: conv2d(_t(1, 4, 8, 8), _t(3, 2, 3, 3), groups=2), ShapeError, r"divisible by groups \(2\)"),
    (lambda: conv2d(_t(1, 3, 4, 4), _t(2, 3, 5, 5)), ShapeError,
     r"conv2d: kernel \(5, 5\), larger than the padded input \(4, 4\) \(input shape \(1, 3, 4, 4\)"),
    (lambda: conv2d(_t(1, 3, 4, 4), _t(2, 3, 3, 3), dilation=2), ShapeError, r"dilation \(2, 2\) spans \(5, 5\)"),
    (lambda: conv2d(_t(1, 3, 8, 8), _t(2, 3, 3, 3), stride=0), ShapeError,
     r"conv2d: stride must be >= 1, got \(0, 0\)"),
    (lambda: conv2d(_t(1, 3, 8, 8), _t(2, 3, 3, 3), stride=(1, -1)), ShapeError, r"stride must be >= 1"),
    (lambda: conv2d(_t(1, 3, 8, 8), _t(2, 3, 3, 3), padding=-1), ShapeError, r"conv2d: padding must be >= 0"),
    (lambda: conv2d(_t(1, 3, 8, 8), _t(2, 3, 3, 3), dilation=0), ShapeError, r"conv2d: dilation must be >= 1"),
    (lambda: conv2d(_t(1, 3, 8, 8), _t(2, 3, 3, 3), groups=0), ShapeError, r"conv2d: groups must be >= 1"),
    (lambda: conv2d(_t(1, 3, 8, 8), _t(2, 3, 3, 3), _t(3)), ShapeError,
     r"conv2d: bias has shape \(3,\) but the output has 2 channels .* expected bias of shape \(2,\)"),
    (lambda: conv2d(_t(1, 3, 8, 8), _t(2, 3, 3, 3), stride=2, padding="same"), ShapeError, r"'same' needs stride 1"),
    (lambda: conv2d(_t(1, 3, 8, 8), _t(2, 3, 3, 3), padding="full"), ValueError, r"padding must be an int, a pair"),
    (lambda: conv2d(_t(1, 3, 8, 8), _t(2, 3, 3, 3), stride=(1, 2, 3)), TypeError, r"stride must be an int or a pair"),
    (lambda: conv2d(_t(1, 3, 8, 8), _t(2, 3, 3, 3), stride=1.5), TypeError, r"stride must be an int or a pair"),
    (lambda: conv2d(_t(1, 3, 8, 8, dtype=np.int64), _t(2, 3, 3, 3)), TypeError,
     r"conv2d: input must be floating point"),
    (lambda: conv2d(_t(1, 3, 8, 8), _t(2, 3, 3, 3, dtype=np.float64)), TypeError,
     r"conv2d: weight has dtype float64 but the input has dtype float32"),
    (lambda: conv2d(np.zeros((1, 3, 8, 8)), _t(2, 3, 3, 3)), TypeError, r"conv2d: input must be a Tensor"),
    (lambda: conv_transpose2d(_t(1, 3, 4, 4), _t(4, 2, 3, 3)), ShapeError,
     r"conv_transpose2d: input has 3 channels but weight expects 4"),
    (lambda: conv_transpose2d(_t(1, 3, 4, 4), _t(3, 2, 3, 3), groups=2), ShapeError, r"divisible by groups \(2\)"),
    (lambda: conv_transpose2d(_t(1, 2, 4, 4), _t(2, 2, 3, 3), stride=2, output_padding=2), ShapeError,
     r"output_padding \(2, 2\) must be >= 0 and smaller than either stride \(2, 2\) or dilation \(1, 1\)"),
    (lambda: conv_transpose2d(_t(1, 2, 1, 1), _t(2, 2, 1, 1), padding=1), ShapeError, r"expected a positive size"),
    (lambda: conv_transpose2d(_t(1, 2, 4, 4), _t(2, 2, 3, 3), stride=0), ShapeError, r"stride must be >= 1"),
    (lambda: conv2d_weight(_t(1, 2, 5, 5), (3, 2, 3, 3), _t(1, 3, 2, 2)), ShapeError,
     r"need an output gradient of shape \(1, 3, 3, 3\), got \(1, 3, 2, 2\)"),
    (lambda: unfold(_t(2, 3, 4), 2), ShapeError, r"unfold: expected a 4-D input"),
    (lambda: fold(_t(1, 7, 4), (3, 3), 2), ShapeError, r"fold: .* axis 1 \(7\) must be divisible by the kernel size"),
    (lambda: fold(_t(1, 8, 5), (3, 3), 2), ShapeError,
     r"fold: input shape \(1, 8, 5\) has 5 windows, but .* has 2 \* 2 = 4"),
])
def test_errors_name_the_op_the_shapes_and_the_expectation(call, error, message):
    with pytest.raises(error, match=message):
        call()


@pytest.mark.parametrize("keepdims", [False, True])
def test_bias_gradient_sum_of_a_channels_last_output(keepdims):
    """A conv's channels-last output summed over (N, H, W), as its bias gradient is: np.sum's result."""
    x = np.random.default_rng(3).standard_normal((3, 5, 4, 6)).astype(np.float32)
    t = tg.Tensor(np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2), requires_grad=True)
    s = t.sum(axis=(0, 2, 3), keepdims=keepdims)
    np.testing.assert_allclose(s.numpy(), x.sum(axis=(0, 2, 3), keepdims=keepdims), rtol=1e-5, atol=1e-5)
    s.sum().backward()
    np.testing.assert_array_equal(t.grad.numpy(), np.ones_like(x))
