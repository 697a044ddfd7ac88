"""nn.init: PyTorch's formulas, draws from the library generator, in place."""
from __future__ import annotations

import math

import numpy as np
import pytest

import tinygrad_np as tg
from tinygrad_np import nn
from tinygrad_np.errors import ShapeError
from tinygrad_np.nn import init


def test_calculate_gain_table():
    assert init.calculate_gain("linear") == 1 and init.calculate_gain("conv2d") == 1
    assert init.calculate_gain("sigmoid") == 1
    assert init.calculate_gain("tanh") == pytest.approx(5 / 3)
    assert init.calculate_gain("relu") == pytest.approx(math.sqrt(2))
    assert init.calculate_gain("leaky_relu") == pytest.approx(math.sqrt(2 / (1 + 0.01 ** 2)))
    assert init.calculate_gain("leaky_relu", 0.2) == pytest.approx(math.sqrt(2 / 1.04))
    assert init.calculate_gain("leaky_relu", math.sqrt(5)) == pytest.approx(math.sqrt(1 / 3))
    assert init.calculate_gain("selu") == 0.75
    with pytest.raises(ValueError, match="unsupported nonlinearity 'gelu'"):
        init.calculate_gain("gelu")
    with pytest.raises(ValueError, match="negative_slope"):
        init.calculate_gain("leaky_relu", "x")


def test_calculate_gain_matches_torch():
    torch = pytest.importorskip("torch")
    for name, param in [("linear", None), ("tanh", None), ("relu", None), ("leaky_relu", None),
                        ("leaky_relu", 0.3), ("selu", None), ("sigmoid", None)]:
        assert init.calculate_gain(name, param) == pytest.approx(torch.nn.init.calculate_gain(name, param))


def _expected_uniform(seed, shape, bound, dtype=np.float32):
    """What a U(-bound, bound) fill must be: the same draw from a generator seeded the same way."""
    return np.random.default_rng(seed).uniform(-bound, bound, shape).astype(dtype)


def _expected_normal(seed, shape, std, dtype=np.float32):
    return np.random.default_rng(seed).normal(0.0, std, shape).astype(dtype)


def _same_draw(actual, expected):
    """Equal up to rounding in the bound (computed in a different but equivalent order)."""
    assert actual.dtype == expected.dtype
    np.testing.assert_allclose(actual, expected, rtol=1e-6 if actual.dtype == np.float32 else 1e-12)


SHAPE = (6, 4, 3, 2)  # fan_in = 4 * 6 = 24, fan_out = 6 * 6 = 36


@pytest.mark.parametrize("mode,fan", [("fan_in", 24), ("fan_out", 36)])
@pytest.mark.parametrize("nonlinearity,a,gain", [("relu", 0, math.sqrt(2)),
                                                 ("leaky_relu", math.sqrt(5), math.sqrt(1 / 3)),
                                                 ("tanh", 0, 5 / 3)])
def test_kaiming_uniform_and_normal(mode, fan, nonlinearity, a, gain):
    t = tg.zeros(*SHAPE)
    tg.manual_seed(3)
    out = init.kaiming_uniform_(t, a=a, mode=mode, nonlinearity=nonlinearity)
    assert out is t
    _same_draw(t.data, _expected_uniform(3, SHAPE, gain * math.sqrt(3 / fan)))
    tg.manual_seed(4)
    init.kaiming_normal_(t, a=a, mode=mode, nonlinearity=nonlinearity)
    _same_draw(t.data, _expected_normal(4, SHAPE, gain / math.sqrt(fan)))


def test_xavier():
    t = tg.zeros(5, 7, dtype=np.float64)
    tg.manual_seed(5)
    init.xavier_uniform_(t, gain=2.0)
    _same_draw(t.data, _expected_uniform(5, (5, 7), 2.0 * math.sqrt(6 / 12), np.float64))
    tg.manual_seed(6)
    init.xavier_normal_(t)
    _same_draw(t.data, _expected_normal(6, (5, 7), math.sqrt(2 / 12), np.float64))


def test_distribution_statistics():
    # a large draw has the spread the formula promises (an independent check of the bound)
    t = tg.zeros(400, 500)
    init.kaiming_uniform_(t, nonlinearity="relu")
    bound = math.sqrt(2) * math.sqrt(3 / 500)
    assert np.abs(t.data).max() <= bound
    assert t.data.std() == pytest.approx(bound / math.sqrt(3), rel=0.01)
    init.xavier_normal_(t)
    assert t.data.std() == pytest.approx(math.sqrt(2 / 900), rel=0.01)
    assert abs(t.data.mean()) < 0.001


def test_simple_fills():
    t = tg.zeros(3, 2)
    tg.manual_seed(7)
    init.uniform_(t, -2.0, 5.0)
    _same_draw(t.data, np.random.default_rng(7).uniform(-2.0, 5.0, (3, 2)).astype(np.float32))
    tg.manual_seed(8)
    init.normal_(t, mean=1.0, std=0.5)
    _same_draw(t.data, np.random.default_rng(8).normal(1.0, 0.5, (3, 2)).astype(np.float32))
    assert np.all(init.constant_(t, 0.25).data == 0.25)
    assert np.all(init.ones_(t).data == 1) and np.all(init.zeros_(t).data == 0)
    assert t.dtype == np.float32


def test_in_place_on_parameters_with_grad_mode_on():
    p = nn.Parameter(np.zeros((3, 4), dtype=np.float32))
    array, version = p.data, p._version
    assert tg.is_grad_enabled()
    init.kaiming_uniform_(p)
    assert p.data is array and p._version == version + 1 and p.requires_grad and p.is_leaf
    assert np.any(p.data != 0)


def test_seeded_draws_repeat():
    tg.manual_seed(11)
    a = init.normal_(tg.zeros(4)).data.copy()
    tg.manual_seed(11)
    np.testing.assert_array_equal(init.normal_(tg.zeros(4)).data, a)


def test_errors():
    with pytest.raises(ShapeError, match=r"at least 2 axes, got shape \(5,\)"):
        init.xavier_uniform_(tg.zeros(5))
    with pytest.raises(ValueError, match="mode must be 'fan_in' or 'fan_out'"):
        init.kaiming_normal_(tg.zeros(2, 2), mode="fan_avg")
    with pytest.raises(TypeError, match="expected a Tensor"):
        init.zeros_(np.zeros(3))
    with pytest.raises(ValueError, match="std"):
        init.normal_(tg.zeros(2), std=-1.0)
    assert init.kaiming_uniform_(tg.zeros(0, 3)).shape == (0, 3)  # nothing to fill
