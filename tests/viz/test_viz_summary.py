"""summary(): the op table of one forward pass, parameter counts and matmul/linear FLOPs."""
from __future__ import annotations

import numpy as np
import pytest

import tinygrad_np as tg
import tinygrad_np.functional as F
from tinygrad_np.viz import Summary, summary


def randn(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


@pytest.mark.parametrize("a_shape, b_shape, m, n, k, batch", [
    ((4, 5), (5, 3), 4, 3, 5, 1),
    ((2, 4, 5), (5, 3), 4, 3, 5, 2),
    ((7, 1, 4, 5), (2, 5, 3), 4, 3, 5, 14),  # broadcast batch axes
    ((5,), (5, 3), 1, 3, 5, 1),               # vector @ matrix
    ((4, 5), (5,), 4, 1, 5, 1),               # matrix @ vector
])
def test_matmul_flops_equal_2mnk(a_shape, b_shape, m, n, k, batch):
    w = tg.Tensor(randn(*b_shape), requires_grad=True)
    s = summary(lambda x: x @ w, randn(*a_shape))
    assert [r.op for r in s.rows] == ["MatMul"]
    assert s.rows[0].flops == s.total_flops == 2 * batch * m * n * k
    assert s.total_params == w.size


def test_linear_layer_table_params_and_flops():
    n, d_in, d_out = 8, 5, 3
    params = {"fc.weight": tg.Tensor(randn(d_out, d_in), requires_grad=True),
              "fc.bias": tg.Tensor(randn(d_out, seed=1), requires_grad=True)}

    def linear(x):
        return x @ params["fc.weight"].T + params["fc.bias"]

    s = summary(linear, tg.Tensor(randn(n, d_in, seed=2)), params=params)
    assert isinstance(s, Summary) and isinstance(s, str) and str(s) == s
    assert [r.op for r in s.rows] == ["Transpose", "MatMul", "Add"]
    assert [r.output_shape for r in s.rows] == [(d_in, d_out), (n, d_out), (n, d_out)]
    assert s.total_flops == 2 * n * d_out * d_in
    assert s.total_params == d_out * d_in + d_out
    assert s.param_sizes == {"fc.weight": d_out * d_in, "fc.bias": d_out}
    # each parameter is counted once, on the op that first uses it
    assert [(r.params, r.param_names) for r in s.rows] == [
        (d_out * d_in, ("fc.weight",)), (0, ()), (d_out, ("fc.bias",))]
    assert f"Total parameters: {d_out * d_in + d_out:,}" in s
    assert f"Total FLOPs (matmul/conv): {2 * n * d_out * d_in:,}" in s
    assert "fc.weight" in s and "(8, 3)" in s and "Transpose" in s


def test_f_linear_is_one_row_with_the_same_flops():
    n, d_in, d_out = 8, 5, 3
    params = {"fc.weight": tg.Tensor(randn(d_out, d_in), requires_grad=True),
              "fc.bias": tg.Tensor(randn(d_out, seed=1), requires_grad=True)}
    s = summary(lambda x: F.linear(x, params["fc.weight"], params["fc.bias"]), tg.Tensor(randn(n, d_in, seed=2)),
                params=params)
    assert [(r.op, r.output_shape, r.params, r.flops) for r in s.rows] == [
        ("Linear", (n, d_out), d_out * d_in + d_out, 2 * n * d_out * d_in)]


def test_mlp_totals_and_unused_parameters():
    rng = np.random.default_rng(3)
    sizes = [(6, 16), (16,), (16, 4), (4,)]
    names = ["w1", "b1", "w2", "b2"]
    params = {k: tg.Tensor(rng.standard_normal(s), requires_grad=True) for k, s in zip(names, sizes)}
    params["spare"] = tg.Tensor(np.ones(7), requires_grad=True)

    def mlp(x):
        h = (x @ params["w1"] + params["b1"]).relu()
        return (h @ params["w2"] + params["b2"]).sum(axis=1)

    s = summary(mlp, randn(10, 6), params=params)
    assert s.total_params == sum(int(np.prod(sz)) for sz in sizes)
    assert s.total_flops == 2 * 10 * 16 * 6 + 2 * 10 * 4 * 16
    assert s.unused_params == ("spare",) and "Unused parameters" in s and "spare" in s
    assert [r.op for r in s.rows] == ["MatMul", "Add", "ReLU", "MatMul", "Add", "Sum"]
    assert s.rows[-1].output_shape == (10,) and s.rows[-1].attributes == {"axis": "1"}


def test_inputs_are_not_parameters_and_unnamed_parameters_get_names():
    w = tg.Tensor(randn(3, 3), requires_grad=True)
    x = tg.Tensor(randn(2, 3), requires_grad=True)  # an input that already requires grad
    s = summary(lambda x: (x @ w).tanh(), x)
    assert s.total_params == 9 and list(s.param_sizes) == ["param0"]
    named = tg.Tensor(randn(3, 3), requires_grad=True, name="kernel")
    s = summary(lambda x: x @ named, x)
    assert list(s.param_sizes) == ["kernel"]


def test_parameter_free_function_is_recorded():
    s = summary(lambda x: (x * 2.0).exp().sum(), np.ones((2, 2), dtype=np.float32))
    assert [r.op for r in s.rows] == ["Mul", "Exp", "Sum"] and s.total_params == 0 and s.total_flops == 0


def test_summary_errors():
    with pytest.raises(TypeError, match="callable"):
        summary(3)
    with pytest.raises(ValueError, match="recorded no ops"):
        summary(lambda x: tg.Tensor(np.ones(2)), np.ones(2))
    with pytest.raises(TypeError, match="must return a Tensor"):
        summary(lambda x: 3.0, np.ones(2))
    with pytest.raises(TypeError, match="params must be a dict"):
        summary(lambda x: x * 2, np.ones(2), params=[1])


def test_mnist_models_parameter_count():
    mnist_models = pytest.importorskip("tinygrad_np.examples.mnist_models")
    for model in mnist_models.MODELS:
        params = mnist_models.init_params(model, seed=0)
        x = tg.Tensor(np.random.default_rng(0).random((2, 1, 28, 28), dtype=np.float32))
        s = summary(lambda images: mnist_models.forward(model, params, images), x, params=params)
        expected = {name: int(np.prod(shape)) for name, shape in mnist_models.param_shapes(model).items()}
        assert s.param_sizes == expected
        assert s.total_params == sum(p.size for p in params.values()) == sum(expected.values())
        assert s.unused_params == ()
        assert s.rows[-1].output_shape == (2, 10)


@pytest.mark.parametrize("stride, padding, dilation, groups", [(1, 0, 1, 1), (2, 1, 1, 2), (1, 2, 2, 1)])
def test_conv2d_flops_equal_the_formula(stride, padding, dilation, groups):

    n, c_in, h, w_, c_out, kh, kw = 2, 4, 9, 8, 6, 3, 2
    weight = tg.Tensor(randn(c_out, c_in // groups, kh, kw), requires_grad=True)
    bias = tg.Tensor(randn(c_out, seed=1), requires_grad=True)
    s = summary(lambda x: F.conv2d(x, weight, bias, stride=stride, padding=padding, dilation=dilation,
                                   groups=groups), randn(n, c_in, h, w_, seed=2))
    oh = (h + 2 * padding - dilation * (kh - 1) - 1) // stride + 1
    ow = (w_ + 2 * padding - dilation * (kw - 1) - 1) // stride + 1
    assert [r.op for r in s.rows] == ["Conv2d"] and s.rows[0].output_shape == (n, c_out, oh, ow)
    assert s.total_flops == 2 * n * c_out * oh * ow * (c_in // groups) * kh * kw
    assert s.total_params == weight.size + bias.size


def test_conv_transpose2d_flops():

    n, c_in, h, w_, c_out, k = 2, 4, 5, 6, 3, 3
    weight = tg.Tensor(randn(c_in, c_out, k, k), requires_grad=True)
    s = summary(lambda x: F.conv_transpose2d(x, weight, stride=2), randn(n, c_in, h, w_, seed=1))
    assert s.total_flops == 2 * n * c_in * h * w_ * c_out * k * k


class _Counted(tg.Function):
    """A test op that reports its own FLOPs."""

    @staticmethod
    def forward(ctx, x):
        ctx.n = x.size
        return x * 2.0

    @staticmethod
    def backward(ctx, grad):
        return grad * 2.0

    def flops(self):
        return 7 * self.n


def test_ops_can_report_their_own_flops():
    s = summary(lambda x: _Counted.apply(x).sum(), np.ones((3, 5)))
    assert s.rows[0].flops == 105 and s.total_flops == 105
