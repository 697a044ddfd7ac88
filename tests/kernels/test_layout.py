"""Channels-last arrays in NCHW clothing: the helpers, and conv -> ReLU -> max-pool keeping the layout
(no copies between layers) with the same values and gradients as on NCHW arrays."""
from __future__ import annotations

import numpy as np
import pytest

import tinygrad_np as tg
import tinygrad_np.functional as F
from tinygrad_np.kernels import pool
from tinygrad_np.kernels import threads as thread_pool
from tinygrad_np.kernels.layout import empty_nchw, is_channels_last, reshape, to_layout
from tinygrad_np.ops.windows import make_geometry

rng = np.random.default_rng(777)


@pytest.mark.parametrize("zeros", [False, True])
def test_empty_nchw_layouts(zeros):
    nchw = empty_nchw((2, 3, 4, 5), np.float32, channels_last=False, zeros=zeros)
    nhwc = empty_nchw((2, 3, 4, 5), np.float32, channels_last=True, zeros=zeros)
    assert nchw.shape == nhwc.shape == (2, 3, 4, 5) and nhwc.dtype == np.float32
    assert nchw.flags.c_contiguous and not is_channels_last(nchw)
    assert is_channels_last(nhwc) and nhwc.transpose(0, 2, 3, 1).flags.c_contiguous
    if zeros:
        assert not nchw.any() and not nhwc.any()


def test_is_channels_last_needs_four_axes_and_channels_fastest():
    assert not is_channels_last(np.zeros((3, 4)))
    assert not is_channels_last(np.zeros((2, 4, 4, 1)).transpose(0, 3, 1, 2))  # one channel: either layout
    assert not is_channels_last(np.zeros((2, 4, 5, 3)).transpose(0, 2, 1, 3))  # H and C swapped, W fastest
    assert is_channels_last(np.zeros((2, 4, 5, 3)).transpose(0, 3, 1, 2))


@pytest.fixture(params=[1, 2], ids=["one-thread", "two-threads"])
def threads(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch):
    """1 or 2 threads, the split forced on these small arrays."""
    monkeypatch.setattr(thread_pool, "MIN_PARALLEL_BYTES", 0)
    previous = tg.get_num_threads()
    tg.set_num_threads(request.param)
    yield request.param
    tg.set_num_threads(previous)


@pytest.mark.parametrize("channels_last", [False, True], ids=["to-nchw", "to-channels-last"])
@pytest.mark.parametrize("source_channels_last", [False, True], ids=["from-nchw", "from-channels-last"])
def test_to_layout_copies_into_the_asked_layout(channels_last, source_channels_last, threads):
    x = empty_nchw((5, 3, 4, 2), np.float32, source_channels_last)
    x[...] = rng.standard_normal(x.shape)
    out = to_layout(x, channels_last)
    assert np.array_equal(out, x) and not np.shares_memory(out, x)
    assert is_channels_last(out) == channels_last and (channels_last or out.flags.c_contiguous)


@pytest.mark.parametrize("shape", [(5, -1), (5, 3, 8), (15, 8), (-1,), (5, 3, 4, 2), (0, 3, 4, 2)], ids=str)
def test_reshape_equals_numpy_and_is_a_view_when_numpy_gives_one(shape, threads):
    batch = 0 if shape[0] == 0 else 5
    x = empty_nchw((batch, 3, 4, 2), np.float64, channels_last=True)
    x[...] = rng.standard_normal(x.shape)
    expected = x.reshape(shape)
    out = reshape(x, shape)
    assert out.shape == expected.shape and np.array_equal(out, expected)
    assert np.shares_memory(out, x) == np.shares_memory(expected, x)


def test_reshape_of_a_wrong_size_raises_like_numpy():
    x = empty_nchw((2, 3, 4, 5), np.float32, channels_last=True)
    with pytest.raises(ValueError):
        reshape(x, (7, -1))


def _step(x: np.ndarray, w: np.ndarray, b: np.ndarray, g: np.ndarray):
    xt, wt, bt = (tg.Tensor(a, requires_grad=True) for a in (x, w, b))
    y = F.conv2d(xt, wt, bt, padding=1)
    r = F.relu(y)
    p = F.max_pool2d(r, 2)
    (p * tg.Tensor(g)).sum().backward()
    return y, r, p, xt.grad.data, wt.grad.data, bt.grad.data


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_conv_relu_pool_stay_channels_last_and_match_nchw(dtype):
    x = rng.standard_normal((3, 8, 6, 7)).astype(dtype)
    w = rng.standard_normal((5, 8, 3, 3)).astype(dtype)
    b = rng.standard_normal(5).astype(dtype)
    g = rng.standard_normal((3, 5, 3, 3)).astype(dtype)
    y, r, p, dx, dw, db = _step(x, w, b, g)
    assert is_channels_last(y.data) and is_channels_last(r.data) and is_channels_last(p.data)
    # the same network on NCHW arrays: im2col convolution, contiguous ReLU and pooling
    xt = tg.Tensor(x, requires_grad=True)
    wt, bt = tg.Tensor(w, requires_grad=True), tg.Tensor(b, requires_grad=True)
    flat = F.unfold(xt, 3, padding=1)  # (N, C*9, H*W)
    y_ref = (wt.reshape(5, -1) @ flat).reshape(3, 5, 6, 7) + bt.reshape(1, 5, 1, 1)
    p_ref = F.max_pool2d(F.relu(y_ref), 2)
    (p_ref * tg.Tensor(g)).sum().backward()
    tol = 1e-12 if dtype == np.float64 else 1e-5
    np.testing.assert_allclose(p.data, p_ref.data, rtol=tol, atol=tol)
    np.testing.assert_allclose(dx, xt.grad.data, rtol=tol, atol=tol)
    np.testing.assert_allclose(dw, wt.grad.data, rtol=tol, atol=tol * 10)
    np.testing.assert_allclose(db, bt.grad.data, rtol=tol, atol=tol * 10)


def test_max_pool_on_a_channels_last_view_equals_the_contiguous_result():
    nhwc = rng.standard_normal((2, 6, 5, 4))
    nhwc[0, 1, 1, :] = nhwc[0, 0, 0, :]  # ties: the first maximum wins in either layout
    x = nhwc.transpose(0, 3, 1, 2)
    for kw in ({"kernel_size": 2}, {"kernel_size": 3, "stride": 1, "padding": 1}):
        a, c = tg.Tensor(x, requires_grad=True), tg.Tensor(np.ascontiguousarray(x), requires_grad=True)
        pa, pc = F.max_pool2d(a, **kw), F.max_pool2d(c, **kw)
        assert is_channels_last(pa.data)
        np.testing.assert_array_equal(pa.data, pc.data)
        n, channels, oh, ow = pa.shape
        g = rng.standard_normal((n, oh, ow, channels)).transpose(0, 3, 1, 2)  # a channels-last gradient too
        (pa * tg.Tensor(g)).sum().backward()
        (pc * tg.Tensor(g)).sum().backward()
        np.testing.assert_array_equal(a.grad.data, c.grad.data)
        np.testing.assert_array_equal(pa.data, F.max_pool2d(tg.Tensor(np.ascontiguousarray(x)), **kw).data)


@pytest.mark.parametrize("padding", [0, 1])
def test_pooling_keeps_a_channels_last_input_channels_last(padding):
    """Padded or not, max- and avg-pooling and their scatters write in the input's layout, so no
    pass after them crosses layouts (their values are held to the reference in test_fast_kernels)."""
    x = empty_nchw((2, 5, 7, 6), np.float64, channels_last=True)
    x[...] = rng.standard_normal(x.shape)
    geom = make_geometry("max_pool2d", x.shape, (3, 3), (2, 2), (padding,) * 4, (1, 1))
    out, index = pool.max_pool2d_forward(x, geom)
    g = empty_nchw(out.shape, np.float64, channels_last=True)
    g[...] = rng.standard_normal(g.shape)
    assert is_channels_last(out) and is_channels_last(index)
    assert is_channels_last(pool.max_pool2d_scatter(g, index, geom, x.shape))
    assert is_channels_last(pool.avg_pool2d_forward(x, geom))
    assert is_channels_last(pool.avg_pool2d_scatter(g, geom, x.shape))
