"""The fast kernels compute what the reference kernels (kernels/reference.py) say: convolution and its
two gradients, im2col/col2im, max and average pooling, the gradient select, ReLU and the threaded
matmul, over shapes, strides, paddings, dilations, groups, non-square kernels, batches of 0, 1 and odd
sizes, channels-last inputs and both float dtypes, on one thread and split over two (with the split
forced on these small inputs). The references themselves are held to PyTorch where it is installed.
"""
from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

import tinygrad_np as tg
from tinygrad_np.kernels import conv, elementwise, im2col, layout, pool, reference
from tinygrad_np.kernels import threads as thread_pool
from tinygrad_np.kernels.matmul import matmul_on_threads
from tinygrad_np.ops.windows import make_geometry

rng = np.random.default_rng(0)


@pytest.fixture(params=[1, 2], ids=["one-thread", "two-threads"])
def threads(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[int]:
    """1 or 2 threads; with 2, every kernel splits its batch (no size threshold) and col2im's batch
    chunks hold one image, so each part runs several chunks (on one thread, one chunk holds all)."""
    monkeypatch.setattr(thread_pool, "MIN_PARALLEL_BYTES", 0)
    if request.param > 1:
        monkeypatch.setattr(im2col, "_CHUNK_BYTES", 1)
    previous = tg.get_num_threads()
    tg.set_num_threads(request.param)
    try:
        yield request.param
    finally:
        tg.set_num_threads(previous)


def _tolerance(dtype: np.dtype) -> dict[str, float]:
    return {"rtol": 1e-4, "atol": 1e-4} if dtype == np.float32 else {"rtol": 1e-10, "atol": 1e-10}


def _image(shape: tuple[int, ...], dtype: type, channels_last: bool = False) -> np.ndarray:
    x = rng.standard_normal(shape).astype(dtype)
    if channels_last:  # an (N, C, H, W) view of (N, H, W, C) memory
        return np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
    return x


# -- convolution -----------------------------------------------------------------------------------
# (x shape, weight shape (C_out, C/G, KH, KW), stride, padding (top, bottom, left, right), dilation, groups)
CONV_CASES = [
    ((2, 3, 7, 6), (4, 3, 3, 3), (1, 1), (1, 1, 1, 1), (1, 1), 1),    # 3 channels: im2col, one GEMM
    ((3, 1, 6, 5), (2, 1, 3, 3), (1, 1), (0, 0, 0, 0), (1, 1), 1),    # K = 9: per image, bias folded
    ((2, 8, 6, 6), (5, 8, 3, 3), (1, 1), (1, 1, 1, 1), (1, 1), 1),    # Winograd F(2x2,3x3)
    ((1, 4, 9, 8), (3, 4, 3, 3), (1, 1), (2, 2, 0, 1), (1, 1), 1),    # uneven padding
    ((3, 4, 9, 7), (6, 2, 3, 2), (2, 1), (1, 1, 0, 0), (1, 1), 2),    # strided, non-square, groups
    ((2, 6, 8, 8), (6, 1, 3, 3), (1, 1), (1, 1, 1, 1), (1, 1), 6),    # depthwise
    ((2, 3, 9, 9), (2, 3, 3, 3), (1, 1), (2, 2, 2, 2), (2, 2), 1),    # dilated, stride 1 (grid col2im)
    ((1, 2, 10, 9), (3, 2, 2, 4), (3, 2), (0, 0, 1, 1), (2, 1), 1),   # dilated and strided
    ((3, 5, 4, 4), (7, 5, 1, 1), (1, 1), (0, 0, 0, 0), (1, 1), 1),    # 1x1: im2col without a copy
    ((2, 4, 5, 5), (4, 4, 1, 1), (2, 2), (1, 1, 1, 1), (1, 1), 1),    # 1x1, strided and padded
    ((0, 3, 5, 5), (2, 3, 3, 3), (1, 1), (1, 1, 1, 1), (1, 1), 1),    # empty batch
    ((1, 2, 3, 3), (2, 2, 3, 3), (1, 1), (0, 0, 0, 0), (1, 1), 1),    # one output pixel
]


@pytest.fixture(params=["auto", "im2col", "winograd4"])
def algorithm(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """The kernel conv_algorithm picks; im2col for every layer; or F(4x4,3x3) wherever Winograd applies."""
    if request.param == "im2col":
        monkeypatch.setattr(conv, "conv_algorithm", lambda *args: "im2col")
    elif request.param == "winograd4":
        monkeypatch.setattr(conv, "_WINOGRAD4_MIN_CHANNELS", 1)
        monkeypatch.setattr(conv, "_WINOGRAD4_MIN_SIZE", 1)
    return request.param


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("channels_last", [False, True], ids=["nchw", "channels-last"])
@pytest.mark.parametrize("case", CONV_CASES, ids=lambda c: f"x{c[0]}-w{c[1]}-s{c[2]}-p{c[3]}-d{c[4]}-g{c[5]}")
def test_conv_kernels_match_the_reference(case, channels_last, dtype, algorithm, threads):
    x_shape, w_shape, stride, padding, dilation, groups = case
    geom = make_geometry("conv2d", x_shape, w_shape[2:], stride, padding, dilation)
    x = _image(x_shape, dtype, channels_last)
    w = rng.standard_normal(w_shape).astype(dtype)
    b = rng.standard_normal(w_shape[0]).astype(dtype)
    grad = _image((x_shape[0], w_shape[0]) + geom.out, dtype, channels_last)
    tol = _tolerance(dtype)
    for bias in (None, b):
        out, kept = conv.conv2d_forward(x, w, bias, geom, groups)
        assert out.dtype == dtype
        np.testing.assert_allclose(out, reference.conv2d_forward(x, w, bias, geom, groups), **tol)
    dx = conv.conv2d_input_grad(grad, w, geom, groups)
    assert dx.shape == x.shape and dx.dtype == dtype
    np.testing.assert_allclose(dx, reference.conv2d_input_grad(grad, w, geom, groups), **tol)
    expected_dw = reference.conv2d_weight_grad(x, grad, geom, groups)
    for cols in (None, kept):  # computed afresh, or from what forward kept
        dw = conv.conv2d_weight_grad(x, grad, geom, groups, cols)
        assert dw.shape == w.shape and dw.dtype == dtype
        np.testing.assert_allclose(dw, expected_dw, **tol)


def test_conv_references_match_torch():
    torch = pytest.importorskip("torch")
    for x_shape, w_shape, stride, padding, dilation, groups in CONV_CASES:
        if padding[0] != padding[1] or padding[2] != padding[3]:
            continue  # torch pads both sides alike
        geom = make_geometry("conv2d", x_shape, w_shape[2:], stride, padding, dilation)
        x = torch.tensor(rng.standard_normal(x_shape), requires_grad=True)
        w = torch.tensor(rng.standard_normal(w_shape), requires_grad=True)
        b = torch.tensor(rng.standard_normal(w_shape[0]))
        out = torch.nn.functional.conv2d(x, w, b, stride, (padding[0], padding[2]), dilation, groups)
        grad = torch.tensor(rng.standard_normal(tuple(out.shape)))
        out.backward(grad)
        args = (geom, groups)
        np.testing.assert_allclose(reference.conv2d_forward(x.detach().numpy(), w.detach().numpy(), b.numpy(), *args),
                                   out.detach().numpy(), rtol=1e-10, atol=1e-10)
        np.testing.assert_allclose(reference.conv2d_input_grad(grad.numpy(), w.detach().numpy(), *args),
                                   x.grad.numpy(), rtol=1e-10, atol=1e-10)
        np.testing.assert_allclose(reference.conv2d_weight_grad(x.detach().numpy(), grad.numpy(), *args),
                                   w.grad.numpy(), rtol=1e-10, atol=1e-10)


# -- im2col / col2im -------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", CONV_CASES, ids=lambda c: f"x{c[0]}-k{c[1][2:]}-s{c[2]}-p{c[3]}-d{c[4]}")
def test_im2col_and_col2im_match_the_reference(case, dtype, threads):
    x_shape, w_shape, stride, padding, dilation, _ = case
    geom = make_geometry("unfold", x_shape, w_shape[2:], stride, padding, dilation)
    x = _image(x_shape, dtype, channels_last=True)
    cols = im2col.im2col(x, geom)
    np.testing.assert_array_equal(cols, reference.im2col(x, geom))  # copies: exact
    if x_shape[0]:
        batch_inside = im2col.im2col(x, geom, batch_inside=True)  # (C*KH*KW, N*OH*OW)
        np.testing.assert_array_equal(batch_inside.reshape(cols.shape[1], x_shape[0], -1).transpose(1, 0, 2), cols)
    c = rng.standard_normal(cols.shape).astype(dtype)
    np.testing.assert_allclose(im2col.col2im(c, geom, x_shape[1]), reference.col2im(c, geom, x_shape[1]),
                               **_tolerance(dtype))


def test_col2im_is_im2col_adjoint():
    """<im2col(x), c> == <x, col2im(c)>: the reference pair is a true adjoint pair."""
    geom = make_geometry("unfold", (2, 3, 8, 7), (3, 2), (2, 1), (1, 1, 0, 2), (1, 2))
    x = rng.standard_normal((2, 3, 8, 7))
    c = rng.standard_normal(reference.im2col(x, geom).shape)
    np.testing.assert_allclose(np.vdot(reference.im2col(x, geom), c), np.vdot(x, reference.col2im(c, geom, 3)))


# -- pooling ---------------------------------------------------------------------------------------
# (x shape, kernel, stride, padding (top, bottom, left, right), dilation)
POOL_CASES = [
    ((2, 3, 8, 6), (2, 2), (2, 2), (0, 0, 0, 0), (1, 1)),   # windows tile the image
    ((3, 2, 7, 7), (3, 3), (2, 2), (1, 1, 1, 1), (1, 1)),   # overlapping, padded
    ((1, 2, 7, 8), (3, 3), (3, 3), (0, 1, 0, 1), (1, 1)),   # ceil_mode's extra bottom/right padding
    ((2, 1, 5, 4), (1, 3), (1, 1), (0, 0, 1, 1), (1, 1)),   # non-square
    ((1, 3, 9, 9), (2, 3), (1, 2), (1, 1, 1, 1), (2, 2)),   # dilated
    ((3, 4, 4, 4), (1, 1), (1, 1), (0, 0, 0, 0), (1, 1)),   # one offset
    ((0, 2, 4, 4), (2, 2), (2, 2), (0, 0, 0, 0), (1, 1)),   # empty batch
]


def _pool_input(shape: tuple[int, ...], dtype: type, channels_last: bool, special: bool) -> np.ndarray:
    """Values with ties (small integers); with `special`, some inf, -inf and NaN too."""
    x = rng.integers(-3, 4, shape).astype(dtype)
    if special and x.size:
        flat = x.reshape(-1)  # a view: x is new and contiguous
        picks = rng.choice(x.size, size=min(6, x.size), replace=False)
        flat[picks] = [np.inf, -np.inf, np.nan, np.nan, np.inf, -np.inf][:len(picks)]
    if channels_last:
        return np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
    return x


@pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning")  # inf - inf where windows overlap
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("special", [False, True], ids=["finite", "inf-nan"])
@pytest.mark.parametrize("channels_last", [False, True], ids=["nchw", "channels-last"])
@pytest.mark.parametrize("case", POOL_CASES, ids=lambda c: f"x{c[0]}-k{c[1]}-s{c[2]}-p{c[3]}-d{c[4]}")
def test_pool_kernels_match_the_reference(case, channels_last, special, dtype, threads):
    x_shape, kernel, stride, padding, dilation = case
    geom = make_geometry("max_pool2d", x_shape, kernel, stride, padding, dilation)
    x = _pool_input(x_shape, dtype, channels_last, special)
    out, index = pool.max_pool2d_forward(x, geom)
    expected_out, expected_index = reference.max_pool2d_forward(x, geom)
    np.testing.assert_array_equal(out, expected_out)  # NaN where NaN
    np.testing.assert_array_equal(index, expected_index)
    assert out.dtype == dtype and out.shape == (x_shape[0], x_shape[1]) + geom.out

    grad = _pool_input(out.shape, dtype, channels_last, special)
    expected_scatter = reference.max_pool2d_scatter(grad, index, geom, x.shape)
    np.testing.assert_array_equal(pool.max_pool2d_scatter(grad, index, geom, x.shape), expected_scatter)
    other_layout = _pool_input(out.shape, dtype, not channels_last, False)  # as a flatten's gradient comes back
    other_layout[...] = grad
    np.testing.assert_array_equal(pool.max_pool2d_scatter(other_layout, index, geom, x.shape), expected_scatter)
    np.testing.assert_array_equal(pool.max_pool2d_gather(x, index, geom), reference.max_pool2d_gather(x, index, geom))

    tol = _tolerance(dtype)
    np.testing.assert_allclose(pool.avg_pool2d_forward(x, geom), reference.avg_pool2d_forward(x, geom), **tol)
    np.testing.assert_allclose(pool.avg_pool2d_scatter(grad, geom, x.shape),
                               reference.avg_pool2d_scatter(grad, geom, x.shape), **tol)


def test_pool_references_match_torch():
    torch = pytest.importorskip("torch")
    for x_shape, kernel, stride, padding, dilation in POOL_CASES:
        if padding[0] != padding[1] or padding[2] != padding[3]:
            continue
        geom = make_geometry("max_pool2d", x_shape, kernel, stride, padding, dilation)
        x = rng.standard_normal(x_shape)
        x[:, :, 1, 1] = np.nan  # torch's rule: the max of a window with NaN is NaN, its gradient goes there
        t = torch.tensor(x, requires_grad=True)
        out = torch.nn.functional.max_pool2d(t, kernel, stride, (padding[0], padding[2]), dilation)
        grad = rng.standard_normal(tuple(out.shape))
        out.backward(torch.tensor(grad))
        ours, index = reference.max_pool2d_forward(x, geom)
        np.testing.assert_array_equal(ours, out.detach().numpy())
        np.testing.assert_allclose(reference.max_pool2d_scatter(grad, index, geom, x.shape), t.grad.numpy(),
                                   rtol=1e-12, atol=1e-12)  # overlapping windows add in another order
        if dilation == (1, 1):
            avg = torch.nn.functional.avg_pool2d(torch.tensor(x), kernel, stride, (padding[0], padding[2]))
            np.testing.assert_allclose(reference.avg_pool2d_forward(x, geom), avg.numpy(), rtol=1e-12)


# -- elementwise and matmul ------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_select_and_relu_match_the_reference(dtype, threads):
    grad = rng.standard_normal((6, 5, 4)).astype(dtype)
    grad.reshape(-1)[:4] = [np.inf, -np.inf, np.nan, -0.0]
    mask = rng.random(grad.shape) < 0.5
    out = elementwise.select(grad, mask)
    assert out.tobytes() == reference.select(grad, mask).tobytes()  # bit for bit, signed zeros and NaN too
    x = rng.standard_normal((6, 5, 4)).astype(dtype)
    x.reshape(-1)[:3] = [np.nan, 0.0, -0.0]
    relu, positive = elementwise.relu_with_mask(x, keep_mask=True)
    np.testing.assert_array_equal(relu, np.maximum(x, 0))
    np.testing.assert_array_equal(positive, relu > 0)
    assert elementwise.relu_with_mask(x, keep_mask=False)[1] is None


@pytest.mark.parametrize("shape", [(3, 5, 4, 6), (2, 7, 1, 1), (0, 3, 2, 2), (2, 3, 0, 4)], ids=str)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_channel_sums_match_sum(shape, dtype):
    x = _image(shape, dtype, channels_last=True)
    if x.size:
        x[0, 0, 0, 0], x[-1, 1, -1, -1] = np.inf, np.nan
    sums = layout.channel_sums(x)
    assert sums.dtype == dtype and sums.shape == (shape[1],)
    np.testing.assert_allclose(sums, np.sum(x, axis=(0, 2, 3)), **_tolerance(dtype))


@pytest.mark.parametrize("shapes", [((7, 3), (3, 5)), ((3, 9), (9, 2)), ((2, 3), (3, 8)), ((0, 3), (3, 4)),
                                    ((4, 5, 3), (3, 2))], ids=str)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_matmul_on_threads_matches_matmul(shapes, dtype, threads):
    a, b = (rng.standard_normal(s).astype(dtype) for s in shapes)
    out = matmul_on_threads(a, b)
    assert out.dtype == dtype
    np.testing.assert_allclose(out, np.matmul(a, b), **_tolerance(dtype))
