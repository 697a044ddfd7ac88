"""Winograd convolution kernels: equal to the einsum reference kernels over a sweep of shapes, paddings,
batch sizes (0 too), channel counts, dtypes and thread counts; the reference itself against PyTorch;
and conv2d's gradients proven by gradcheck/gradgradcheck on the F(4x4,3x3) path.
"""
from __future__ import annotations

import itertools
from collections.abc import Iterator

import numpy as np
import pytest

import tinygrad_np as tg
from tinygrad_np.kernels import threads as thread_pool
from tinygrad_np.kernels import conv as conv_kernels
from tinygrad_np.kernels import reference
from tinygrad_np.kernels.geometry import Geometry
from tinygrad_np.kernels.winograd import winograd_conv2d, winograd_conv2d_input_grad, winograd_conv2d_weight_grad
from tinygrad_np.ops.conv import conv2d
from tinygrad_np.ops.windows import make_geometry

rng = np.random.default_rng(4242)


def _geometry(size: tuple[int, int], padding: tuple[int, int, int, int]) -> Geometry:
    """A 3x3, stride-1 convolution's windows on an image of `size`."""
    return Geometry(size, (3, 3), (1, 1), padding, (1, 1), (size[0] + padding[0] + padding[1] - 2,
                                                           size[1] + padding[2] + padding[3] - 2))


def conv2d_reference(x: np.ndarray, weight: np.ndarray, padding: tuple[int, int, int, int]) -> np.ndarray:
    return reference.conv2d_forward(x, weight, None, _geometry(x.shape[2:], padding), 1)


def conv2d_input_grad_reference(grad: np.ndarray, weight: np.ndarray, padding: tuple[int, int, int, int],
                                size: tuple[int, int]) -> np.ndarray:
    return reference.conv2d_input_grad(grad, weight, _geometry(size, padding), 1)


def conv2d_weight_grad_reference(x: np.ndarray, grad: np.ndarray, padding: tuple[int, int, int, int]) -> np.ndarray:
    return reference.conv2d_weight_grad(x, grad, _geometry(x.shape[2:], padding), 1)

# float32 error, relative to the largest reference value: F(2x2,3x3) is about as exact as a GEMM,
# F(4x4,3x3)'s transforms (entries up to 8 and 1/24) cost about one more digit.
FLOAT32_RTOL = {2: 2e-5, 4: 1e-4}

# (N, C_in, C_out, H, W): odd sizes, H and W not multiples of the tile, a 1x1 image, a single tile
SHAPES = [(2, 3, 5, 7, 9), (1, 1, 1, 3, 3), (3, 8, 4, 6, 11), (1, 32, 16, 5, 5), (2, 128, 8, 9, 6),
          (1, 16, 128, 4, 7), (0, 8, 4, 5, 5), (1, 2, 3, 1, 1)]
PADDINGS = [(0, 0, 0, 0), (1, 1, 1, 1), (2, 2, 2, 2), (0, 1, 2, 0), (3, 0, 1, 3)]  # 3: the input gradient crops


def _cases() -> Iterator[tuple]:
    for shape, padding in itertools.product(SHAPES, PADDINGS):
        n, c, c_out, h, w = shape
        if h + padding[0] + padding[1] >= 3 and w + padding[2] + padding[3] >= 3:
            yield shape, padding


@pytest.fixture(params=[1, 2], ids=["one-thread", "two-threads"])
def threads(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[int]:
    """One thread, or two with no size threshold so every batch of 2 or more splits."""
    monkeypatch.setattr(thread_pool, "MIN_PARALLEL_BYTES", 0)
    tg.set_num_threads(request.param)
    try:
        yield request.param
    finally:
        tg.set_num_threads(1)


def _scale_error(fast: np.ndarray, ref: np.ndarray) -> float:
    """The largest error relative to the largest reference value."""
    return float(np.max(np.abs(fast - ref), initial=0.0) / max(np.max(np.abs(ref), initial=0.0), 1e-30))


@pytest.mark.parametrize("m", [2, 4])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("shape,padding", list(_cases()))
def test_kernels_match_the_references(shape, padding, dtype, m, threads):
    n, c, c_out, h, w = shape
    x = rng.standard_normal((n, c, h, w)).astype(dtype)
    weight = rng.standard_normal((c_out, c, 3, 3)).astype(dtype)
    x64, w64 = x.astype(np.float64), weight.astype(np.float64)
    rtol = 1e-12 if dtype == np.float64 else FLOAT32_RTOL[m]

    ref = conv2d_reference(x64, w64, padding)
    out, tiles = winograd_conv2d(x, weight, padding, m, keep_tiles=True)
    assert out.shape == ref.shape and out.dtype == dtype
    assert _scale_error(out, ref) <= rtol
    bias = rng.standard_normal(c_out).astype(dtype)  # added as the output tiles are put in place
    with_bias, _ = winograd_conv2d(x, weight, padding, m, bias)
    assert _scale_error(with_bias, ref + bias[:, None, None]) <= rtol

    grad = rng.standard_normal(ref.shape).astype(dtype)
    dx = winograd_conv2d_input_grad(grad, weight, padding, m, (h, w))
    dx_ref = conv2d_input_grad_reference(grad.astype(np.float64), w64, padding, (h, w))
    assert dx.shape == x.shape and dx.dtype == dtype
    assert _scale_error(dx, dx_ref) <= rtol

    dw_ref = conv2d_weight_grad_reference(x64, grad.astype(np.float64), padding)
    for kept in (None, tiles):  # recomputed, or from forward's transformed input
        dw = winograd_conv2d_weight_grad(x, grad, padding, m, tiles=kept)
        assert dw.shape == weight.shape and dw.dtype == dtype
        assert _scale_error(dw, dw_ref) <= rtol * 10  # a sum over the whole batch and image


@pytest.mark.parametrize("m", [2, 4])
def test_channels_last_and_strided_inputs(m):
    """An NCHW-shaped view of a channels-last buffer, or any strided view, gives the same result."""
    nhwc = rng.standard_normal((2, 7, 6, 5))
    x = nhwc.transpose(0, 3, 1, 2)
    weight = rng.standard_normal((4, 10, 3, 3))[:, ::2, ::-1, :]  # strided and reversed
    out, _ = winograd_conv2d(x, weight, (1, 1, 1, 1), m)
    np.testing.assert_allclose(out, conv2d_reference(np.ascontiguousarray(x), np.ascontiguousarray(weight),
                                                     (1, 1, 1, 1)), rtol=1e-10, atol=1e-10)


def test_reference_matches_torch():
    torch = pytest.importorskip("torch")
    x, weight = rng.standard_normal((2, 3, 6, 5)), rng.standard_normal((4, 3, 3, 3))
    grad = rng.standard_normal((2, 4, 6, 7))
    xt, wt = torch.tensor(x, requires_grad=True), torch.tensor(weight, requires_grad=True)
    out = torch.nn.functional.conv2d(torch.nn.functional.pad(xt, (2, 2, 1, 1)), wt)
    out.backward(torch.tensor(grad))
    padding = (1, 1, 2, 2)
    np.testing.assert_allclose(conv2d_reference(x, weight, padding), out.detach().numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(conv2d_input_grad_reference(grad, weight, padding, (6, 5)), xt.grad.numpy(),
                               rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(conv2d_weight_grad_reference(x, grad, padding), wt.grad.numpy(),
                               rtol=1e-12, atol=1e-12)


def test_conv2d_picks_the_kernel_from_the_shapes():
    def pick(x_shape, w_shape, stride=1, padding=1, dilation=1, groups=1, dtype=np.float32):
        geom = make_geometry("conv2d", x_shape, w_shape[2:], (stride, stride),
                                         (padding,) * 4, (dilation, dilation))
        return conv_kernels.conv_algorithm(w_shape, geom, groups, np.dtype(dtype))
    assert pick((64, 3, 32, 32), (64, 3, 3, 3)) == "im2col"  # a first layer on RGB images
    assert pick((64, 32, 14, 14), (64, 32, 3, 3)) == "winograd2"
    assert pick((64, 64, 32, 32), (128, 64, 3, 3)) == "winograd4"
    assert pick((64, 128, 4, 4), (128, 128, 3, 3)) == "winograd2"  # too small for 4x4 tiles
    assert pick((64, 64, 32, 32), (128, 64, 3, 3), stride=2) == "im2col"
    assert pick((64, 64, 32, 32), (128, 64, 3, 3), dilation=2) == "im2col"
    assert pick((64, 64, 32, 32), (64, 32, 3, 3), groups=2) == "im2col"
    assert pick((64, 64, 32, 32), (128, 64, 5, 5), padding=2) == "im2col"
    assert pick((64, 64, 32, 32), (128, 64, 3, 3), dtype=np.float16) == "im2col"


@pytest.fixture
def winograd4_everywhere(monkeypatch: pytest.MonkeyPatch) -> None:
    """F(4x4,3x3) for every eligible convolution, however few its channels, so gradcheck can reach it."""
    monkeypatch.setattr(conv_kernels, "_WINOGRAD4_MIN_CHANNELS", 1)
    monkeypatch.setattr(conv_kernels, "_WINOGRAD4_MIN_SIZE", 1)


@pytest.mark.parametrize("padding", [0, 1, 2])
def test_conv2d_on_winograd4_passes_gradcheck_and_gradgradcheck(winograd4_everywhere, padding):
    x = tg.Tensor(rng.standard_normal((2, 4, 5, 6)), requires_grad=True)
    w = tg.Tensor(rng.standard_normal((3, 4, 3, 3)), requires_grad=True)
    b = tg.Tensor(rng.standard_normal(3), requires_grad=True)
    geom = make_geometry("conv2d", x.shape, (3, 3), (1, 1), (padding,) * 4, (1, 1))
    assert conv_kernels.conv_algorithm(w.shape, geom, 1, w.dtype) == "winograd4"

    def fn(x, w, b):
        return conv2d(x, w, b, padding=padding)
    assert tg.gradcheck(fn, (x, w, b))
    assert tg.gradgradcheck(fn, (x, w, b))


def test_conv2d_on_winograd4_matches_torch_in_float32(winograd4_everywhere):
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((3, 16, 9, 10)).astype(np.float32)
    w = rng.standard_normal((8, 16, 3, 3)).astype(np.float32)
    xt, wt = tg.Tensor(x, requires_grad=True), tg.Tensor(w, requires_grad=True)
    out = conv2d(xt, wt, padding=1)
    out.sum().backward()
    xr, wr = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    ref = torch.nn.functional.conv2d(xr, wr, padding=1)
    ref.sum().backward()
    assert out.dtype == np.float32 and xt.grad.dtype == np.float32 and wt.grad.dtype == np.float32
    assert _scale_error(out.data, ref.detach().numpy()) <= FLOAT32_RTOL[4]
    assert _scale_error(xt.grad.data, xr.grad.numpy()) <= FLOAT32_RTOL[4]
    assert _scale_error(wt.grad.data, wr.grad.numpy()) <= FLOAT32_RTOL[4]


@pytest.mark.parametrize("weight_grad", [True, False])
def test_conv2d_keeps_the_transformed_input_only_for_a_weight_gradient(monkeypatch, weight_grad):
    """A frozen weight or inference keeps no transformed input tiles (they are 2-3x the input)."""
    kept = []
    forward = conv_kernels.winograd_conv2d

    def spy(x, weight, padding, m, bias=None, keep_tiles=False):
        kept.append(keep_tiles)
        return forward(x, weight, padding, m, bias, keep_tiles)
    monkeypatch.setattr(conv_kernels, "winograd_conv2d", spy)
    x = tg.Tensor(rng.standard_normal((2, 4, 5, 5)), requires_grad=True)
    w = tg.Tensor(rng.standard_normal((3, 4, 3, 3)), requires_grad=weight_grad)
    conv2d(x, w, padding=1).sum().backward()
    with tg.no_grad():
        conv2d(x, w, padding=1)
    assert kept[0] is weight_grad and kept[-1] is False
    assert x.grad is not None and (w.grad is not None) == weight_grad
