"""A wrong backward raises an error that carries its facts as attributes, not only in its message."""
from __future__ import annotations

import numpy as np
import pytest

import tinygrad_np as tg
from tinygrad_np.errors import GradientCountError, GradientShapeError, GraphError


class WrongShape(tg.Function):
    @staticmethod
    def forward(ctx, a, b):
        return a + b

    @staticmethod
    def backward(ctx, grad):
        return grad, grad  # b was broadcast: its gradient must be summed back to (3,)


class WrongCount(tg.Function):
    @staticmethod
    def forward(ctx, a, b):
        return a * 2.0

    @staticmethod
    def backward(ctx, grad):
        return grad * 2.0  # one gradient for two forward arguments


def test_a_wrong_gradient_shape_names_node_input_and_shapes():
    a = tg.Tensor(np.ones((2, 3)), requires_grad=True)
    b = tg.Tensor(np.ones(3), requires_grad=True)
    out = WrongShape.apply(a, b)
    with pytest.raises(GradientShapeError, match=r"WrongShape\.backward returned a gradient of shape \(2, 3\) "
                                                 r"for input 1, which has shape \(3,\)") as info:
        out.sum().backward()
    err = info.value
    assert isinstance(err, GraphError)
    assert (err.op, err.index, err.shape, err.expected) == ("WrongShape", 1, (2, 3), (3,))
    assert err.node is out.grad_fn and err.node.inputs[1] is b


def test_a_wrong_gradient_count_names_node_and_count():
    a = tg.Tensor(np.ones(3), requires_grad=True)
    b = tg.Tensor(np.ones(3), requires_grad=True)
    out = WrongCount.apply(a, b)
    with pytest.raises(GradientCountError, match=r"WrongCount\.backward returned 1 gradient\(s\) but forward "
                                                 r"took 2 argument\(s\)") as info:
        tg.grad(out.sum(), [a, b])
    assert (info.value.op, info.value.count, info.value.node) == ("WrongCount", 1, out.grad_fn)
