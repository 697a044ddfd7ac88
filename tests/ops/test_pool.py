"""max_pool2d and avg_pool2d: values and gradients against nested-loop references over a sweep of
kernels, strides and paddings; the tie convention (the first maximum in row-major order gets the
gradient) with exact arrays; PyTorch agreement when installed; dtypes and clear errors.
(Gradients are also proven by gradcheck in tests/cases/pool.py.)
"""
from __future__ import annotations

import itertools

import numpy as np
import pytest

import tinygrad_np as tg
from tinygrad_np.errors import ShapeError
from tinygrad_np.ops.pool import avg_pool2d, max_pool2d

rng = np.random.default_rng(8642)


def pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


# -- nested-loop references -------------------------------------------------------------------------
def _windows(shape, kernel, stride, padding):
    """(output index, window slices into the padded image) for every window."""
    (kh, kw), (ph, pw) = pair(kernel), pair(padding)
    sh, sw = pair(kernel if stride is None else stride)
    oh = (shape[2] + 2 * ph - kh) // sh + 1
    ow = (shape[3] + 2 * pw - kw) // sw + 1
    for y, z in itertools.product(range(oh), range(ow)):
        yield (y, z), (slice(y * sh, y * sh + kh), slice(z * sw, z * sw + kw))


def naive_pool(x, g, kernel, stride, padding, kind):
    """Forward and input gradient (for output gradient g) of max or average pooling, window by window."""
    (ph, pw) = pair(padding)
    n, c, h, w = x.shape
    fill = -np.inf if kind == "max" else 0.0
    xp = np.full((n, c, h + 2 * ph, w + 2 * pw), fill)
    xp[:, :, ph:ph + h, pw:pw + w] = x
    windows = list(_windows(x.shape, kernel, stride, padding))
    oh, ow = windows[-1][0][0] + 1, windows[-1][0][1] + 1
    out, dxp = np.zeros((n, c, oh, ow)), np.zeros_like(xp)
    for i, k in itertools.product(range(n), range(c)):
        for (y, z), (rows, cols) in windows:
            window = xp[i, k, rows, cols]
            if kind == "max":
                out[i, k, y, z] = window.max()
                a, b = np.unravel_index(np.argmax(window), window.shape)  # argmax: the first maximum
                dxp[i, k, rows.start + a, cols.start + b] += g[i, k, y, z]
            else:
                out[i, k, y, z] = window.mean()
                dxp[i, k, rows, cols] += g[i, k, y, z] / window.size
    return out, dxp[:, :, ph:ph + h, pw:pw + w]


def _pool_configs():
    fixed = [
        dict(x=(2, 3, 8, 8), kernel=2),  # tiles: the reshape fast path
        dict(x=(1, 2, 9, 6), kernel=3),  # stride = kernel, tiles
        dict(x=(2, 2, 7, 9), kernel=2),  # stride = kernel, a leftover row and column
        dict(x=(1, 3, 7, 9), kernel=3, stride=2, padding=1),
        dict(x=(1, 2, 6, 6), kernel=(2, 3), stride=(1, 2), padding=(1, 1)),
        dict(x=(2, 2, 5, 5), kernel=3, stride=1, padding=1),
        dict(x=(1, 1, 7, 7), kernel=2, stride=3),  # gaps between windows
        dict(x=(1, 2, 4, 5), kernel=1),
        dict(x=(1, 1, 5, 4), kernel=(5, 4)),  # one window covers the input
        dict(x=(2, 1, 6, 8), kernel=(2, 4), padding=(1, 2)),  # stride = kernel with padding
        dict(x=(1, 1, 18, 17), kernel=(17, 16), stride=1),  # 272 offsets: indexes wider than uint8
    ]
    r = np.random.default_rng(24680)
    generated = []
    while len(generated) < 16:
        kernel = (int(r.integers(1, 5)), int(r.integers(1, 5)))
        stride = (int(r.integers(1, 4)), int(r.integers(1, 4)))
        padding = (int(r.integers(0, kernel[0] // 2 + 1)), int(r.integers(0, kernel[1] // 2 + 1)))
        shape = (int(r.integers(1, 3)), int(r.integers(1, 4)), int(r.integers(1, 10)), int(r.integers(1, 10)))
        if shape[2] + 2 * padding[0] >= kernel[0] and shape[3] + 2 * padding[1] >= kernel[1]:
            generated.append(dict(x=shape, kernel=kernel, stride=stride, padding=padding))
    return fixed + generated


POOL_CONFIGS = _pool_configs()


def _id(cfg):
    return "-".join(f"{k}{v}" for k, v in cfg.items()).replace(" ", "")


def _args(cfg):
    return cfg["kernel"], cfg.get("stride"), cfg.get("padding", 0)


@pytest.mark.parametrize("kind", ["max", "avg"])
@pytest.mark.parametrize("cfg", POOL_CONFIGS, ids=_id)
def test_pooling_matches_nested_loops(cfg, kind):
    x = rng.permutation(int(np.prod(cfg["x"]))).reshape(cfg["x"]) * 0.5 - 3.0  # distinct values
    xt = tg.Tensor(x, requires_grad=True)
    out = (max_pool2d if kind == "max" else avg_pool2d)(xt, *_args(cfg))
    g = rng.standard_normal(out.shape)
    out.backward(g)
    expected, expected_dx = naive_pool(x, g, *_args(cfg), kind)
    assert out.shape == expected.shape and out.dtype == np.float64
    np.testing.assert_allclose(out.data, expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(xt.grad.data, expected_dx, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("cfg", POOL_CONFIGS, ids=_id)
def test_max_pool_ties_match_the_reference(cfg):
    """Inputs from {0, 1} (ReLU outputs are full of ties): the first maximum still gets it all."""
    x = rng.integers(0, 2, size=cfg["x"]).astype(np.float64)
    xt = tg.Tensor(x, requires_grad=True)
    out = max_pool2d(xt, *_args(cfg))
    g = rng.standard_normal(out.shape)
    out.backward(g)
    expected, expected_dx = naive_pool(x, g, *_args(cfg), "max")
    np.testing.assert_array_equal(out.data, expected)
    np.testing.assert_allclose(xt.grad.data, expected_dx, rtol=1e-12, atol=1e-12)


# -- the tie convention, exactly ----------------------------------------------------------------------
def _max_pool_grad(x, *args, **kwargs):
    xt = tg.Tensor(np.asarray(x, dtype=np.float64), requires_grad=True)
    max_pool2d(xt, *args, **kwargs).sum().backward()
    return xt.grad.data[0, 0]


def test_all_zero_windows_send_the_gradient_to_their_first_element():
    np.testing.assert_array_equal(_max_pool_grad(np.zeros((1, 1, 4, 4)), 2), [
        [1, 0, 1, 0],
        [0, 0, 0, 0],
        [1, 0, 1, 0],
        [0, 0, 0, 0],
    ])


def test_overlapping_windows_with_ties_accumulate_on_each_first_maximum():
    # 2x2 windows, stride 1, on an all-equal 3x3 image: each window's first element is its top-left
    np.testing.assert_array_equal(_max_pool_grad(np.full((1, 1, 3, 3), 7.0), 2, stride=1), [
        [1, 1, 0],
        [1, 1, 0],
        [0, 0, 0],
    ])


def test_a_repeated_maximum_later_in_the_window_gets_nothing():
    x = [[[[1, 5, 0, 2],
           [5, 3, 2, 2]]]]
    np.testing.assert_array_equal(_max_pool_grad(x, 2), [
        [0, 1, 0, 1],
        [0, 0, 0, 0],
    ])


def test_padding_never_wins_even_over_negative_values():
    x = np.full((1, 1, 3, 3), -5.0)
    xt = tg.Tensor(x, requires_grad=True)
    out = max_pool2d(xt, 2, stride=2, padding=1)
    np.testing.assert_array_equal(out.data[0, 0], np.full((2, 2), -5.0))
    out.sum().backward()
    # windows: [pad, pad; pad, x00] -> x00, [pad, pad; x01, x02] -> x01, ...
    np.testing.assert_array_equal(xt.grad.data[0, 0], [
        [1, 1, 0],
        [1, 1, 0],
        [0, 0, 0],
    ])


def test_avg_pool_counts_the_padding():
    out = avg_pool2d(tg.ones((1, 1, 3, 3), dtype=np.float64), 3, stride=1, padding=1).data[0, 0]
    np.testing.assert_allclose(out, np.array([[4, 6, 4], [6, 9, 6], [4, 6, 4]]) / 9, rtol=1e-15)


def test_infinite_gradients_reach_only_the_maxima():
    """The scatter selects (never multiplies by 0), so inf and NaN stay where they belong."""
    x = tg.Tensor(np.arange(16, dtype=np.float32).reshape(1, 1, 4, 4), requires_grad=True)
    out = max_pool2d(x, 2)
    out.backward(np.array([[[[np.inf, 1], [np.nan, 2]]]], dtype=np.float32))
    expected = np.zeros((4, 4), np.float32)
    expected[1, 1], expected[1, 3], expected[3, 1], expected[3, 3] = np.inf, 1, np.nan, 2
    np.testing.assert_array_equal(x.grad.data[0, 0], expected)


def test_float32_stays_float32():
    x = tg.Tensor(rng.standard_normal((2, 3, 8, 8)).astype(np.float32), requires_grad=True)
    y = max_pool2d(x, 2) + avg_pool2d(x, 3, stride=2, padding=1)[:, :, :4, :4]
    assert y.dtype == np.float32
    y.sum().backward()
    assert x.grad.dtype == np.float32


def test_non_contiguous_input():
    base = rng.standard_normal((2, 8, 6, 3))
    x = base.transpose(0, 3, 2, 1)  # (2, 3, 6, 8)
    for kind, fn in (("max", max_pool2d), ("avg", avg_pool2d)):
        xt = tg.Tensor(x, requires_grad=True)
        out = fn(xt, 2)
        g = rng.standard_normal(out.shape)
        out.backward(g)
        expected, expected_dx = naive_pool(x, g, 2, None, 0, kind)
        np.testing.assert_allclose(out.data, expected, rtol=1e-12)
        np.testing.assert_allclose(xt.grad.data, expected_dx, rtol=1e-12)


def test_double_backward_routes_through_the_same_maxima():
    """d/dv <grad(max_pool(x), x, v), u> = max_pool-gather of u: the stored offsets again."""
    x = tg.Tensor(rng.permutation(36).reshape(1, 1, 6, 6).astype(np.float64), requires_grad=True)
    v = tg.Tensor(rng.standard_normal((1, 1, 3, 3)), requires_grad=True)
    (gx,) = tg.grad(max_pool2d(x, 2), x, grad_outputs=v, create_graph=True)
    u = rng.standard_normal(x.shape)
    (gv,) = tg.grad((gx * tg.Tensor(u)).sum(), v)
    expected, _ = naive_pool(x.data, np.zeros((1, 1, 3, 3)), 2, None, 0, "max")
    picked = np.zeros((1, 1, 3, 3))
    for (y, z), (rows, cols) in _windows(x.shape, 2, None, 0):
        a, b = np.unravel_index(np.argmax(x.data[0, 0, rows, cols]), (2, 2))
        picked[0, 0, y, z] = u[0, 0, rows.start + a, cols.start + b]
    np.testing.assert_allclose(gv.data, picked, rtol=1e-12)


# -- PyTorch agreement ---------------------------------------------------------------------------------
def test_against_torch():
    torch = pytest.importorskip("torch")
    tf = torch.nn.functional
    for cfg in POOL_CONFIGS:
        kernel, stride, padding = _args(cfg)
        for fn, ref_fn in ((max_pool2d, tf.max_pool2d), (avg_pool2d, tf.avg_pool2d)):
            x = rng.integers(-2, 3, size=cfg["x"]).astype(np.float64)  # many ties
            ours, theirs = tg.Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
            out = fn(ours, kernel, stride, padding)
            ref = ref_fn(theirs, kernel, stride, padding)
            np.testing.assert_allclose(out.data, ref.detach().numpy(), rtol=1e-12, err_msg=_id(cfg))
            g = rng.standard_normal(out.shape)
            out.backward(g)
            ref.backward(torch.tensor(g))
            np.testing.assert_allclose(ours.grad.data, theirs.grad.numpy(), rtol=1e-12, atol=1e-12, err_msg=_id(cfg))


# -- errors ------------------------------------------------------------------------------------------
def _t(*shape, dtype=np.float32):
    return tg.Tensor(np.zeros(shape, dtype=dtype))


@pytest.mark.parametrize("fn", [max_pool2d, avg_pool2d])
@pytest.mark.parametrize("args,kwargs,error,message", [
    (((3, 8, 8), 2), {}, ShapeError, r"expected a 4-D input \(N, C, H, W\), got shape \(3, 8, 8\)"),
    (((1, 1, 3, 3), 4), {}, ShapeError,
     r"kernel \(4, 4\), larger than the padded input \(3, 3\) \(input shape \(1, 1, 3, 3\)"),
    (((1, 1, 8, 8), 3), dict(padding=2), ShapeError, r"padding \(2, 2\) must be at most half of kernel_size \(3, 3\)"),
    (((1, 1, 8, 8), 2), dict(padding=-1), ShapeError, r"padding must be >= 0"),
    (((1, 1, 8, 8), 2), dict(stride=0), ShapeError, r"stride must be >= 1, got \(0, 0\)"),
    (((1, 1, 8, 8), 0), {}, ShapeError, r"kernel size must be >= 1"),
    (((1, 1, 8, 8), (2, 2, 2)), {}, TypeError, r"kernel_size must be an int or a pair of ints"),
])
def test_errors_name_the_op_the_shapes_and_the_expectation(fn, args, kwargs, error, message):
    shape, kernel = args
    with pytest.raises(error, match=fn.__name__ + ": " + message):
        fn(_t(*shape), kernel, **kwargs)


def test_wrong_dtype_and_type():
    with pytest.raises(TypeError, match=r"max_pool2d: input must be floating point, got dtype int64"):
        max_pool2d(tg.Tensor(np.zeros((1, 1, 4, 4), dtype=np.int64)), 2)
    with pytest.raises(TypeError, match=r"avg_pool2d: input must be a Tensor"):
        avg_pool2d(np.zeros((1, 1, 4, 4)), 2)
