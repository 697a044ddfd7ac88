"""Each layer: forward against a plain NumPy reference, parameters gradchecked in float64, PyTorch's
default initialisation and repr, train/eval behaviour, and shape errors."""
from __future__ import annotations

import math

import numpy as np
import pytest

import tinygrad_np as tg
import tinygrad_np.functional as F
from tinygrad_np import nn
from tinygrad_np.errors import ShapeError
from tinygrad_np.gradcheck import gradcheck, gradgradcheck


def _x(*shape, seed=0):
    return tg.Tensor(np.random.default_rng(seed).standard_normal(shape), requires_grad=True)


def _check_grads(layer, x, second_order=True):
    """Gradcheck the layer's output as a function of its input and every parameter (float64)."""
    params = tuple(layer.parameters())
    assert params and all(p.dtype == np.float64 for p in params)
    fn = lambda x, *ps: layer(x)  # noqa: E731 - the parameters are perturbed in place by gradcheck
    assert gradcheck(fn, (x, *params))
    if second_order:
        assert gradgradcheck(fn, (x, *params))


# -- references ----------------------------------------------------------------------------------
def conv2d_ref(x, w, b, stride=(1, 1), padding=(0, 0), dilation=(1, 1), groups=1):
    n, c, h, wd = x.shape
    o, cg, kh, kw = w.shape
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    oh = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    ow = (wd + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    out = np.zeros((n, o, oh, ow))
    per_group = o // groups
    for b_ in range(n):
        for oc in range(o):
            g = oc // per_group
            for i in range(oh):
                for j in range(ow):
                    patch = xp[b_, g * cg:(g + 1) * cg, i * sh:i * sh + dh * (kh - 1) + 1:dh,
                               j * sw:j * sw + dw * (kw - 1) + 1:dw]
                    out[b_, oc, i, j] = np.sum(patch * w[oc]) + (b[oc] if b is not None else 0.0)
    return out


def pool_ref(x, k, s, reduce):
    n, c, h, w = x.shape
    oh, ow = (h - k) // s + 1, (w - k) // s + 1
    out = np.zeros((n, c, oh, ow))
    for i in range(oh):
        for j in range(ow):
            out[:, :, i, j] = reduce(x[:, :, i * s:i * s + k, j * s:j * s + k], axis=(2, 3))
    return out


def _distinct(shape, seed=0):
    """Values spaced 0.1 apart in random order: no ties, so max pooling is differentiable everywhere."""
    n = math.prod(shape)
    return np.random.default_rng(seed).permutation(n).reshape(shape) * 0.1 - n * 0.05


# -- Linear ------------------------------------------------------------------------------------------
def test_linear_forward_matches_numpy():
    lin = nn.Linear(3, 4)
    assert lin.weight.shape == (4, 3) and lin.bias.shape == (4,) and lin.weight.dtype == np.float32
    for shape in [(5, 3), (2, 5, 3), (3,)]:
        x = np.random.default_rng(1).standard_normal(shape).astype(np.float32)
        np.testing.assert_allclose(lin(tg.Tensor(x)).data, x @ lin.weight.data.T + lin.bias.data, rtol=1e-5, atol=1e-6)
    no_bias = nn.Linear(3, 2, bias=False)
    assert no_bias.bias is None and [n for n, _ in no_bias.named_parameters()] == ["weight"]
    x = np.ones((2, 3), np.float32)
    np.testing.assert_allclose(no_bias(tg.Tensor(x)).data, x @ no_bias.weight.data.T, rtol=1e-6)


def test_linear_default_init_is_pytorchs():
    tg.manual_seed(42)
    lin = nn.Linear(5, 3)
    rng = np.random.default_rng(42)  # the same stream: weight first, then bias
    bound = 1 / math.sqrt(5)  # kaiming_uniform_(a=sqrt(5)) gives 1/sqrt(fan_in) too
    np.testing.assert_allclose(lin.weight.data, rng.uniform(-bound, bound, (3, 5)).astype(np.float32), rtol=1e-6)
    np.testing.assert_allclose(lin.bias.data, rng.uniform(-bound, bound, 3).astype(np.float32), rtol=1e-6)


@pytest.mark.parametrize("bias", [True, False])
def test_linear_gradcheck(bias):
    lin = nn.Linear(3, 2, bias=bias).double()
    _check_grads(lin, _x(4, 3))
    _check_grads(lin, _x(2, 1, 3, seed=1), second_order=False)


def test_linear_errors_and_repr():
    lin = nn.Linear(3, 2)
    with pytest.raises(ShapeError, match=r"Linear.*3 features.*\(4, 5\)"):
        lin(tg.zeros(4, 5))
    with pytest.raises(TypeError, match="Linear: expected a Tensor"):
        lin(np.zeros((4, 3)))
    with pytest.raises(ShapeError, match="in_features"):
        nn.Linear(0, 2)
    with pytest.raises(TypeError, match="in_features"):
        nn.Linear(2.0, 2)
    assert repr(lin) == "Linear(in_features=3, out_features=2, bias=True)"
    assert repr(nn.Linear(3, 2, bias=False)) == "Linear(in_features=3, out_features=2, bias=False)"


# -- Conv2d -------------------------------------------------------------------------------------------
CONV_CONFIGS = [
    dict(in_channels=2, out_channels=3, kernel_size=3),
    dict(in_channels=2, out_channels=4, kernel_size=(2, 3), stride=2, padding=1),
    dict(in_channels=4, out_channels=2, kernel_size=2, dilation=2, groups=2, bias=False),
    dict(in_channels=3, out_channels=3, kernel_size=1, stride=(1, 2), padding=(0, 1)),
]


@pytest.mark.parametrize("config", CONV_CONFIGS, ids=str)
def test_conv2d_forward_matches_loops(config):
    conv = nn.Conv2d(**config).double()
    x = np.random.default_rng(2).standard_normal((2, config["in_channels"], 6, 7))
    b = conv.bias.data if conv.bias is not None else None
    ref = conv2d_ref(x, conv.weight.data, b, conv.stride, conv.padding, conv.dilation, conv.groups)
    np.testing.assert_allclose(conv(tg.Tensor(x)).data, ref, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("config", CONV_CONFIGS[:3], ids=str)
def test_conv2d_gradcheck(config):
    conv = nn.Conv2d(**config).double()
    _check_grads(conv, _x(2, config["in_channels"], 5, 5), second_order=config.get("groups", 1) == 1)


def test_conv2d_layout_init_and_repr():
    tg.manual_seed(5)
    conv = nn.Conv2d(4, 6, 3, groups=2)
    assert conv.weight.shape == (6, 2, 3, 3) and conv.bias.shape == (6,)
    bound = 1 / math.sqrt(2 * 9)
    rng = np.random.default_rng(5)
    np.testing.assert_allclose(conv.weight.data, rng.uniform(-bound, bound, (6, 2, 3, 3)).astype(np.float32), rtol=1e-6)
    np.testing.assert_allclose(conv.bias.data, rng.uniform(-bound, bound, 6).astype(np.float32), rtol=1e-6)
    assert repr(nn.Conv2d(1, 32, 3, padding=1)) == \
        "Conv2d(1, 32, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))"
    assert repr(nn.Conv2d(4, 8, (3, 5), stride=2, dilation=2, groups=4, bias=False)) == \
        "Conv2d(4, 8, kernel_size=(3, 5), stride=(2, 2), dilation=(2, 2), groups=4, bias=False)"


def test_conv2d_string_padding():
    same = nn.Conv2d(2, 3, 3, padding="same")
    assert same(tg.zeros(1, 2, 5, 6)).shape == (1, 3, 5, 6)
    assert repr(same) == "Conv2d(2, 3, kernel_size=(3, 3), stride=(1, 1), padding=same)"
    assert nn.Conv2d(2, 3, 3, padding="valid")(tg.zeros(1, 2, 5, 6)).shape == (1, 3, 3, 4)
    with pytest.raises(ShapeError, match="stride 1"):
        nn.Conv2d(2, 3, 3, stride=2, padding="same")
    with pytest.raises(ValueError, match="'same' or 'valid'"):
        nn.Conv2d(2, 3, 3, padding="full")


def test_conv2d_errors():
    conv = nn.Conv2d(3, 4, 3)
    with pytest.raises(ShapeError, match=r"Conv2d.*\(N, 3, H, W\).*\(2, 2, 5, 5\)"):
        conv(tg.zeros(2, 2, 5, 5))
    with pytest.raises(ShapeError, match="Conv2d"):
        conv(tg.zeros(3, 5, 5))
    with pytest.raises(ShapeError, match="divisible by groups"):
        nn.Conv2d(3, 4, 3, groups=2)
    with pytest.raises(TypeError, match="kernel_size"):
        nn.Conv2d(3, 4, (3, 3, 3))


# -- pooling ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("k,s", [(2, None), (3, 1), (2, 3)])
def test_pools_match_loops(k, s):
    x = _distinct((2, 3, 7, 6))
    stride = k if s is None else s
    np.testing.assert_allclose(nn.MaxPool2d(k, s)(tg.Tensor(x)).data, pool_ref(x, k, stride, np.max), rtol=1e-12)
    np.testing.assert_allclose(nn.AvgPool2d(k, s)(tg.Tensor(x)).data, pool_ref(x, k, stride, np.mean), rtol=1e-12)


def test_pool_gradcheck():
    x = tg.Tensor(_distinct((1, 2, 4, 6), seed=3), requires_grad=True)
    for layer in (nn.MaxPool2d(2), nn.AvgPool2d(2), nn.MaxPool2d(3, stride=1), nn.AvgPool2d((2, 3), stride=(2, 1))):
        assert gradcheck(layer, (x,))
        assert gradgradcheck(layer, (x,))


def test_pool_repr_and_errors():
    assert repr(nn.MaxPool2d(2)) == "MaxPool2d(kernel_size=2, stride=2, padding=0)"
    assert repr(nn.AvgPool2d(3, stride=1, padding=1)) == "AvgPool2d(kernel_size=3, stride=1, padding=1)"
    with pytest.raises(ShapeError, match=r"MaxPool2d.*\(N, C, H, W\).*\(4, 4\)"):
        nn.MaxPool2d(2)(tg.zeros(4, 4))
    with pytest.raises(ShapeError, match="at most half"):
        nn.MaxPool2d(2, padding=2)


# -- batch norm ---------------------------------------------------------------------------------------
def _bn_ref(x, axes, mean, var, weight, bias, eps):
    shape = [1] * x.ndim
    shape[1] = -1
    return (x - mean.reshape(shape)) / np.sqrt(var.reshape(shape) + eps) * weight.reshape(shape) + bias.reshape(shape)


@pytest.mark.parametrize("cls,shape,axes", [(nn.BatchNorm1d, (8, 3), (0,)), (nn.BatchNorm1d, (4, 3, 5), (0, 2)),
                                            (nn.BatchNorm2d, (4, 3, 2, 5), (0, 2, 3))])
def test_batch_norm_training_and_running_stats(cls, shape, axes):
    bn = cls(3, momentum=0.2)
    assert np.all(bn.weight.data == 1) and np.all(bn.bias.data == 0)
    assert np.all(bn.running_mean.data == 0) and np.all(bn.running_var.data == 1) and bn.num_batches_tracked.item() == 0
    with tg.no_grad():
        bn.weight.copy_(np.array([1.0, 2.0, 0.5], np.float32))
        bn.bias.copy_(np.array([0.0, -1.0, 3.0], np.float32))
    running_mean, running_var = np.zeros(3), np.ones(3)
    rng = np.random.default_rng(0)
    for step in range(3):
        x = (rng.standard_normal(shape) * 2 + 1).astype(np.float32)
        out = bn(tg.Tensor(x)).data
        mean, var = x.mean(axis=axes), x.var(axis=axes)
        np.testing.assert_allclose(out, _bn_ref(x, axes, mean, var, bn.weight.data, bn.bias.data, 1e-5),
                                   rtol=1e-4, atol=1e-5)
        n = x.size // 3
        running_mean = 0.8 * running_mean + 0.2 * mean
        running_var = 0.8 * running_var + 0.2 * var * n / (n - 1)  # the unbiased variance, as PyTorch
        np.testing.assert_allclose(bn.running_mean.data, running_mean, rtol=1e-5)
        np.testing.assert_allclose(bn.running_var.data, running_var, rtol=1e-5)
        assert bn.num_batches_tracked.item() == step + 1
    bn.eval()
    x = rng.standard_normal(shape).astype(np.float32)
    np.testing.assert_allclose(bn(tg.Tensor(x)).data,
                               _bn_ref(x, axes, running_mean, running_var, bn.weight.data, bn.bias.data, 1e-5),
                               rtol=1e-4, atol=1e-5)
    assert bn.num_batches_tracked.item() == 3  # eval leaves the statistics alone
    np.testing.assert_allclose(bn.running_mean.data, running_mean, rtol=1e-5)


def test_batch_norm_cumulative_average_when_momentum_is_none():
    bn = nn.BatchNorm1d(2, momentum=None)
    rng = np.random.default_rng(1)
    batches = [rng.standard_normal((6, 2)).astype(np.float32) for _ in range(3)]
    for x in batches:
        bn(tg.Tensor(x))
    np.testing.assert_allclose(bn.running_mean.data, np.mean([b.mean(axis=0) for b in batches], axis=0), rtol=1e-5)


def test_batch_norm_without_running_stats_or_affine():
    bn = nn.BatchNorm2d(2, affine=False, track_running_stats=False)
    assert list(bn.named_parameters()) == [] and bn.state_dict() == {}
    x = np.random.default_rng(2).standard_normal((3, 2, 2, 2))
    bn.eval()  # no running statistics: batch statistics even in eval
    ref = (x - x.mean(axis=(0, 2, 3), keepdims=True)) / np.sqrt(x.var(axis=(0, 2, 3), keepdims=True) + 1e-5)
    np.testing.assert_allclose(bn(tg.Tensor(x)).data, ref, rtol=1e-10)


@pytest.mark.parametrize("training", [True, False])
def test_batch_norm_gradcheck(training):
    bn = nn.BatchNorm2d(2).double()
    with tg.no_grad():
        bn.running_mean.copy_(np.array([0.3, -0.2]))
        bn.running_var.copy_(np.array([1.5, 0.7]))
        bn.weight.copy_(np.array([1.2, 0.8]))
        bn.bias.copy_(np.array([0.1, -0.4]))
    bn.train(training)
    _check_grads(bn, _x(3, 2, 2, 2), second_order=True)
    bn1 = nn.BatchNorm1d(3).double().train(training)
    _check_grads(bn1, _x(5, 3, seed=2), second_order=False)


def test_batch_norm_state_dict_repr_and_errors():
    bn = nn.BatchNorm2d(4)
    assert list(bn.state_dict()) == ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"]
    assert bn.state_dict()["num_batches_tracked"].dtype == np.int64
    assert [n for n, _ in bn.named_parameters()] == ["weight", "bias"]
    assert repr(bn) == "BatchNorm2d(4, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)"
    with pytest.raises(ShapeError, match=r"BatchNorm2d.*\(2, 4, 3\)"):
        bn(tg.zeros(2, 4, 3))
    with pytest.raises(ShapeError, match=r"BatchNorm2d.*C=4.*\(2, 3, 2, 2\)"):
        bn(tg.zeros(2, 3, 2, 2))
    with pytest.raises(ShapeError, match="BatchNorm1d"):
        nn.BatchNorm1d(4)(tg.zeros(2, 4, 3, 3))


# -- dropout and activations ----------------------------------------------------------------------
def test_dropout_train_and_eval():
    drop = nn.Dropout(0.25)
    x = tg.ones(200, 100)
    out = drop(x).data
    kept = out != 0
    assert abs(kept.mean() - 0.75) < 0.01
    np.testing.assert_allclose(out[kept], 1 / 0.75, rtol=1e-6)
    drop.eval()
    np.testing.assert_array_equal(drop(x).data, x.data)
    assert repr(drop) == "Dropout(p=0.25)"
    with pytest.raises(ValueError, match="between 0 and 1"):
        nn.Dropout(1.5)
    assert np.all(nn.Dropout(1.0)(x).data == 0)
    np.testing.assert_array_equal(nn.Dropout(0.0)(x).data, x.data)


def test_dropout_is_seeded():
    tg.manual_seed(3)
    a = nn.Dropout(0.5)(tg.ones(50)).data
    tg.manual_seed(3)
    np.testing.assert_array_equal(nn.Dropout(0.5)(tg.ones(50)).data, a)


def test_activations_match_numpy():
    x = np.random.default_rng(4).standard_normal((3, 5))
    np.testing.assert_allclose(nn.ReLU()(tg.Tensor(x)).data, np.maximum(x, 0))
    np.testing.assert_allclose(nn.Sigmoid()(tg.Tensor(x)).data, 1 / (1 + np.exp(-x)), rtol=1e-12)
    np.testing.assert_allclose(nn.Tanh()(tg.Tensor(x)).data, np.tanh(x), rtol=1e-12)
    assert repr(nn.ReLU()) == "ReLU()"
    xt = tg.Tensor(np.sign(x) * (0.1 + np.abs(x)), requires_grad=True)  # away from relu's kink
    for layer in (nn.ReLU(), nn.Sigmoid(), nn.Tanh()):
        assert gradcheck(layer, (xt,))


def test_flatten():
    x = tg.zeros(2, 3, 4, 5)
    assert nn.Flatten()(x).shape == (2, 60)
    assert nn.Flatten(0)(x).shape == (120,)
    assert nn.Flatten(1, 2)(x).shape == (2, 12, 5)
    assert nn.Flatten(-2)(x).shape == (2, 3, 20)
    assert nn.Flatten()(tg.zeros(0, 3, 2)).shape == (0, 6)
    with pytest.raises(ShapeError, match="Flatten"):
        nn.Flatten(3)(tg.zeros(2, 3))
    assert repr(nn.Flatten()) == "Flatten(start_axis=1, end_axis=-1)"


# -- train/eval through a model ------------------------------------------------------------------------
def test_eval_makes_a_model_deterministic():
    model = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Dropout(0.5), nn.Linear(8, 2))
    x = tg.randn(16, 4)
    assert not np.array_equal(model(x).data, model(x).data)  # dropout draws differ
    model.eval()
    np.testing.assert_array_equal(model(x).data, model(x).data)
    stats = model[1].running_mean.data.copy()
    model(x)
    np.testing.assert_array_equal(model[1].running_mean.data, stats)


def test_mnist_style_model_repr():
    model = nn.Sequential(nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                          nn.Linear(32 * 14 * 14, 10))
    assert repr(model) == (
        "Sequential(\n"
        "  (0): Conv2d(1, 32, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))\n"
        "  (1): ReLU()\n"
        "  (2): MaxPool2d(kernel_size=2, stride=2, padding=0)\n"
        "  (3): Flatten(start_axis=1, end_axis=-1)\n"
        "  (4): Linear(in_features=6272, out_features=10, bias=True)\n"
        ")"
    )
    assert model(tg.zeros(2, 1, 28, 28)).shape == (2, 10)


# -- one error type per kind of bad argument, in the layers and in functional ----------------------------
def _image(channels: int = 4) -> tg.Tensor:
    return tg.zeros(1, channels, 6, 6)


SAME_ERRORS = [  # (layer, functional, error): a size that cannot make a shape is a ShapeError
    ("stride -1", lambda: nn.Conv2d(4, 4, 3, stride=-1), lambda: F.conv2d(_image(), tg.zeros(4, 4, 3, 3), stride=-1),
     ShapeError),
    ("kernel 0", lambda: nn.MaxPool2d(0), lambda: F.max_pool2d(_image(), 0), ShapeError),
    ("padding -1", lambda: nn.Conv2d(4, 4, 3, padding=-1),
     lambda: F.conv2d(_image(), tg.zeros(4, 4, 3, 3), padding=-1), ShapeError),
    ("pool padding > kernel/2", lambda: nn.AvgPool2d(2, padding=2), lambda: F.avg_pool2d(_image(), 2, padding=2),
     ShapeError),
    ("groups 0", lambda: nn.Conv2d(4, 4, 3, groups=0), lambda: F.conv2d(_image(), tg.zeros(4, 4, 3, 3), groups=0),
     ShapeError),
    ("groups not dividing channels", lambda: nn.Conv2d(4, 4, 3, groups=3),
     lambda: F.conv2d(_image(), tg.zeros(4, 4, 3, 3), groups=3), ShapeError),
    ("'same' with stride 2", lambda: nn.Conv2d(4, 4, 3, padding="same", stride=2),
     lambda: F.conv2d(_image(), tg.zeros(4, 4, 3, 3), padding="same", stride=2), ShapeError),
    ("num_groups not dividing channels", lambda: nn.GroupNorm(3, 4), lambda: F.group_norm(_image(), 3), ShapeError),
    ("input of the wrong rank", lambda: nn.Conv2d(4, 4, 3)(tg.zeros(4, 6, 6)),
     lambda: F.conv2d(tg.zeros(4, 6, 6), tg.zeros(4, 4, 3, 3)), ShapeError),
    ("stride not an int", lambda: nn.Conv2d(4, 4, 3, stride=1.5),
     lambda: F.conv2d(_image(), tg.zeros(4, 4, 3, 3), stride=1.5), TypeError),
    ("unknown padding string", lambda: nn.Conv2d(4, 4, 3, padding="full"),
     lambda: F.conv2d(_image(), tg.zeros(4, 4, 3, 3), padding="full"), ValueError),
    ("dropout p = 2", lambda: nn.Dropout(2), lambda: F.dropout(_image(), p=2), ValueError),
]


@pytest.mark.parametrize("layer,functional,error", [c[1:] for c in SAME_ERRORS], ids=[c[0] for c in SAME_ERRORS])
def test_layers_and_functional_raise_the_same_error_type(layer, functional, error):
    raised = []
    for make in (layer, functional):
        with pytest.raises(error) as info:
            make()
        raised.append(info.type)
    assert raised[0] is raised[1] is error  # the same type exactly, not a subclass on one side
