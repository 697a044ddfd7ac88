"""The MNIST models as plain functions: shapes, init, forward against NumPy, and a gradcheck."""
from __future__ import annotations

import math

import numpy as np
import pytest

import tinygrad_np as tg
import tinygrad_np.functional as F
from tinygrad_np.errors import ShapeError
from tinygrad_np.examples import mnist_models as mm
from tinygrad_np.gradcheck import gradcheck
from tinygrad_np.random import get_rng_state

# The architectures as the issue states them: (kind, in, out, kernel, padding, relu, pool).
SPECS = {
    "cnn": [("conv", 1, 32, 3, 1, True, True), ("conv", 32, 64, 3, 1, True, True),
            ("fc", None, 128, None, None, True, False), ("fc", 128, 10, None, None, False, False)],
    "simple": [("conv", 1, 30, 5, 0, True, True),
               ("fc", None, 100, None, None, True, False), ("fc", 100, 10, None, None, False, False)],
    "tiny": [("conv", 1, 8, 3, 0, False, True), ("fc", None, 10, None, None, False, False)],
}


def expected_shapes(model: str) -> dict[str, tuple[int, ...]]:
    """Parameter shapes derived from the layer formulas (conv output = H + 2p - k + 1, pool halves)."""
    shapes: dict[str, tuple[int, ...]] = {}
    channels, size = 1, 28
    conv_i = fc_i = 0
    for kind, n_in, n_out, k, pad, _, pool in SPECS[model]:
        if kind == "conv":
            conv_i += 1
            assert n_in == channels
            shapes[f"conv{conv_i}.weight"] = (n_out, n_in, k, k)
            shapes[f"conv{conv_i}.bias"] = (n_out,)
            channels, size = n_out, size + 2 * pad - k + 1
            if pool:
                size //= 2
        else:
            fc_i += 1
            features = channels * size * size if n_in is None else n_in
            shapes[f"fc{fc_i}.weight"] = (n_out, features)
            shapes[f"fc{fc_i}.bias"] = (n_out,)
            channels, size = n_out, 1
    return shapes


# -- a plain NumPy forward, float64 ----------------------------------------------------------------
def np_conv2d(x: np.ndarray, w: np.ndarray, b: np.ndarray, pad: int) -> np.ndarray:
    """Cross-correlation as a sum over kernel offsets: out += x[window shifted by (i, j)] . w[:, :, i, j]."""
    x = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    n, _, h, wd = x.shape
    c_out, _, k, _ = w.shape
    oh, ow = h - k + 1, wd - k + 1
    out = np.zeros((n, c_out, oh, ow))
    for i in range(k):
        for j in range(k):
            out += np.einsum("nchw,oc->nohw", x[:, :, i:i + oh, j:j + ow], w[:, :, i, j])
    return out + b[None, :, None, None]


def np_max_pool2(x: np.ndarray) -> np.ndarray:
    n, c, h, w = x.shape
    return x[:, :, :h // 2 * 2, :w // 2 * 2].reshape(n, c, h // 2, 2, w // 2, 2).max(axis=(3, 5))


def np_forward(model: str, p: dict[str, np.ndarray], x: np.ndarray) -> np.ndarray:
    conv_i = fc_i = 0
    for kind, _, _, _, pad, relu, pool in SPECS[model]:
        if kind == "conv":
            conv_i += 1
            x = np_conv2d(x, p[f"conv{conv_i}.weight"], p[f"conv{conv_i}.bias"], pad)
        else:
            fc_i += 1
            x = x.reshape(len(x), -1) @ p[f"fc{fc_i}.weight"].T + p[f"fc{fc_i}.bias"]
        if relu:
            x = np.maximum(x, 0)
        if pool:
            x = np_max_pool2(x)
    return x


def as_float64(params: dict[str, tg.Tensor]) -> dict[str, np.ndarray]:
    return {k: v.data.astype(np.float64) for k, v in params.items()}


# -- tests -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("model", mm.MODELS)
def test_parameter_shapes_and_counts(model):
    want = expected_shapes(model)
    params = mm.init_params(model, seed=0)
    assert list(params) == list(want)
    assert mm.param_shapes(model) == want
    for name, p in params.items():
        assert p.shape == want[name], name
        assert p.dtype == np.float32 and p.requires_grad and p.is_leaf, name
    assert mm.num_params(params) == sum(math.prod(s) for s in want.values())


def test_parameter_counts_follow_the_layer_formulas():
    # conv: out*in*k*k + out, affine: out*in + out, with the flattened sizes the pools leave
    assert mm.num_params(mm.init_params("cnn", seed=0)) == \
        (32 * 9 + 32) + (64 * 32 * 9 + 64) + (3136 * 128 + 128) + (128 * 10 + 10)
    assert mm.num_params(mm.init_params("simple", seed=0)) == (30 * 25 + 30) + (4320 * 100 + 100) + (100 * 10 + 10)
    assert mm.num_params(mm.init_params("tiny", seed=0)) == (8 * 9 + 8) + (1352 * 10 + 10)


def test_init_is_pytorch_default_uniform():
    """Every parameter lies in +-1/sqrt(fan_in) and fills it like a uniform distribution."""
    params = mm.init_params("simple", seed=3)
    for name, p in params.items():
        layer = name.split(".")[0]
        fan_in = math.prod(params[f"{layer}.weight"].shape[1:])
        bound = 1 / math.sqrt(fan_in)
        values = p.data
        assert np.abs(values).max() <= bound, name
        if values.size >= 750:  # enough samples for the moments of U(-b, b)
            assert abs(values.mean()) < 0.1 * bound, name
            assert values.std() == pytest.approx(bound / math.sqrt(3), rel=0.1), name
            assert np.abs(values).max() > 0.95 * bound, name


def test_init_seeding():
    a, b = mm.init_params("tiny", seed=7), mm.init_params("tiny", seed=7)
    c = mm.init_params("tiny", seed=8)
    for name in a:
        np.testing.assert_array_equal(a[name].data, b[name].data)
        assert not np.array_equal(a[name].data, c[name].data)
    # a seed leaves the library generator alone; without one, init draws from it
    state = get_rng_state()
    mm.init_params("tiny", seed=1)
    assert get_rng_state() == state
    tg.manual_seed(5)
    d = mm.init_params("tiny")
    tg.manual_seed(5)
    e = mm.init_params("tiny")
    assert get_rng_state() != state
    for name in d:
        np.testing.assert_array_equal(d[name].data, e[name].data)


@pytest.mark.parametrize("model", mm.MODELS)
def test_forward_matches_numpy_reference(model):
    rng = np.random.default_rng(1)
    params = mm.init_params(model, seed=2)
    x = rng.standard_normal((3, 1, 28, 28)).astype(np.float32)
    logits = mm.forward(model, params, tg.Tensor(x))
    assert logits.shape == (3, 10) and logits.dtype == np.float32
    want = np_forward(model, as_float64(params), x.astype(np.float64))
    np.testing.assert_allclose(logits.data, want, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("model", mm.MODELS)
def test_forward_gradients_reach_every_parameter(model):
    params = mm.init_params(model, seed=4)
    x = tg.Tensor(np.random.default_rng(0).standard_normal((2, 1, 28, 28)).astype(np.float32))
    loss = F.cross_entropy(mm.forward(model, params, x), np.array([3, 7]))
    loss.backward()
    for name, p in params.items():
        assert p.grad is not None and p.grad.shape == p.shape and p.grad.dtype == np.float32, name
        assert np.abs(p.grad.data).sum() > 0, name


def test_forward_rejects_bad_input():
    params = mm.init_params("tiny", seed=0)
    good = tg.Tensor(np.zeros((2, 1, 28, 28), dtype=np.float32))
    with pytest.raises(ValueError, match="unknown model 'resnet'"):
        mm.forward("resnet", params, good)
    with pytest.raises(ValueError, match="unknown model"):
        mm.init_params("resnet")
    with pytest.raises(ShapeError, match=r"\(N, 1, 28, 28\).*\(2, 28, 28\)"):
        mm.forward("tiny", params, tg.Tensor(np.zeros((2, 28, 28), dtype=np.float32)))
    with pytest.raises(TypeError, match="floating point.*uint8"):
        mm.forward("tiny", params, tg.Tensor(np.zeros((2, 1, 28, 28), dtype=np.uint8)))
    with pytest.raises(KeyError, match="fc1.bias"):
        mm.forward("tiny", {k: v for k, v in params.items() if k != "fc1.bias"}, good)
    with pytest.raises(ShapeError, match="conv1.weight"):
        mm.forward("cnn", params, good)  # tiny's conv1 has 8 filters, cnn's has 32


def test_tiny_loss_gradcheck():
    """d loss / d params of the tiny model, all 13,610 of them, against central differences."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 1, 28, 28))
    y = np.array([4, 1])
    params32 = mm.init_params("tiny", seed=0)
    names = list(params32)
    leaves = tuple(tg.Tensor(params32[n].data.astype(np.float64), requires_grad=True) for n in names)
    # No pooling window may hold two values closer than eps can resolve, or the check is meaningless.
    conv = np_conv2d(x, leaves[0].data, leaves[1].data, 0)
    windows = np.sort(conv.reshape(2, 8, 13, 2, 13, 2).transpose(0, 1, 2, 4, 3, 5).reshape(-1, 4), axis=1)
    assert (windows[:, 3] - windows[:, 2]).min() > 1e-4

    def loss(*ps):
        return F.cross_entropy(mm.forward("tiny", dict(zip(names, ps)), tg.Tensor(x)), y)

    assert loss(*leaves).dtype == np.float64
    assert gradcheck(loss, leaves)
