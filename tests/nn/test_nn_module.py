"""Module, Parameter and Sequential: registration, traversal, modes, state dicts and repr."""
from __future__ import annotations

from collections import OrderedDict

import numpy as np
import pytest

import tinygrad_np as tg
from tinygrad_np.nn import IncompatibleKeys, Module, Parameter, Sequential, StateDictError


class Dense(Module):
    """A layer written with engine ops only, so these tests do not depend on the functional ops."""

    def __init__(self, n_in: int, n_out: int, bias: bool = True) -> None:
        super().__init__()
        rng = np.random.default_rng(n_in * 10 + n_out)
        self.weight = Parameter(rng.standard_normal((n_out, n_in)).astype(np.float32))
        self.bias = Parameter(np.zeros(n_out, dtype=np.float32)) if bias else None
        self.n_in, self.n_out = n_in, n_out

    def forward(self, x):
        y = x @ self.weight.T
        return y + self.bias if self.bias is not None else y

    def extra_repr(self):
        return f"{self.n_in}, {self.n_out}"


class Counter(Module):
    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("count", tg.Tensor(np.array(0, dtype=np.int64)))
        self.register_buffer("scratch", tg.zeros(2), persistent=False)

    def forward(self, x):
        return x


class Net(Module):
    def __init__(self) -> None:
        super().__init__()
        self.features = Sequential(Dense(3, 4), Counter(), Dense(4, 4, bias=False))
        self.head = Dense(4, 2)
        self.scale = Parameter([2.0])

    def forward(self, x):
        return self.head(self.features(x).tanh()) * self.scale


# -- Parameter ------------------------------------------------------------------------------------
def test_parameter_is_a_tensor_that_requires_grad():
    p = Parameter([1.0, 2.0])
    assert isinstance(p, tg.Tensor) and p.requires_grad and p.is_leaf and p.dtype == np.float32
    assert Parameter(np.zeros(2)).dtype == np.float64  # arrays keep their dtype
    assert not Parameter([1.0], requires_grad=False).requires_grad
    assert Parameter().shape == (0,)
    (p * p).sum().backward()
    np.testing.assert_array_equal(p.grad.data, [2.0, 4.0])
    assert type(p * 2) is tg.Tensor


def test_parameter_repr():
    assert repr(Parameter([1.0, 2.0])) == "Parameter([1., 2.])"
    assert repr(Parameter(np.array([0.5]))) == "Parameter([0.5], dtype=float64)"
    assert repr(Parameter([1.0], requires_grad=False)) == "Parameter([1.], requires_grad=False)"


# -- registration and traversal -----------------------------------------------------------------
def test_named_parameters_are_dotted_and_in_order():
    net = Net()
    assert [n for n, _ in net.named_parameters()] == [
        "scale", "features.0.weight", "features.0.bias", "features.2.weight", "head.weight", "head.bias"]
    assert [id(p) for p in net.parameters()] == [id(p) for _, p in net.named_parameters()]
    assert [n for n, _ in net.named_parameters(recurse=False)] == ["scale"]


def test_modules_children_and_buffers():
    net = Net()
    assert [n for n, _ in net.named_modules()] == ["", "features", "features.0", "features.1", "features.2", "head"]
    assert [type(m).__name__ for m in net.modules()] == ["Net", "Sequential", "Dense", "Counter", "Dense", "Dense"]
    assert [n for n, _ in net.named_children()] == ["features", "head"]
    assert list(net.children()) == [net.features, net.head]
    assert [n for n, _ in net.named_buffers()] == ["features.1.count", "features.1.scratch"]


def test_shared_parameters_and_modules_are_listed_once():
    net = Module()
    layer = Dense(2, 2)
    net.a = layer
    net.b = layer
    net.tied = layer.weight
    assert [n for n, _ in net.named_parameters()] == ["tied", "a.bias"]  # a.weight is tied: listed once
    assert [n for n, _ in net.named_modules()] == ["", "a"]


def test_reassignment_and_deletion():
    m = Dense(2, 3)
    m.weight = Parameter(np.ones((3, 2), dtype=np.float32))
    assert m.weight.data.sum() == 6
    m.bias = None
    assert m.bias is None and [n for n, _ in m.named_parameters()] == ["weight"]
    with pytest.raises(TypeError, match="cannot assign Tensor to parameter 'weight'"):
        m.weight = tg.Tensor([1.0])
    m.extra = Dense(1, 1)
    del m.extra
    assert not hasattr(m, "extra") and "extra" not in dict(m.named_children())
    m.plain = 5  # ordinary attributes still work
    assert m.plain == 5 and "plain" not in dict(m.named_parameters())
    m.plain = Parameter([1.0])  # an attribute becomes a parameter when given one
    assert "plain" in dict(m.named_parameters())


def test_assignment_before_init_is_explained():
    class Broken(Module):
        def __init__(self):
            self.w = Parameter([1.0])

    with pytest.raises(AttributeError, match=r"super\(\).__init__\(\)"):
        Broken()


def test_register_errors():
    m = Module()
    with pytest.raises(TypeError, match="Parameter or None"):
        m.register_parameter("w", tg.Tensor([1.0]))
    with pytest.raises(KeyError, match="'.'"):
        m.register_buffer("a.b", tg.zeros(1))
    m.x = 1
    with pytest.raises(KeyError, match="already exists"):
        m.register_buffer("x", tg.zeros(1))
    with pytest.raises(TypeError, match="Module or None"):
        m.add_module("y", 3)
    with pytest.raises(AttributeError, match="no attribute 'missing'"):
        m.missing


def test_forward_must_be_defined():
    with pytest.raises(NotImplementedError, match="Module has no forward"):
        Module()(tg.zeros(1))


# -- modes and gradients ---------------------------------------------------------------------------
def test_train_eval_reach_every_submodule():
    net = Net()
    assert all(m.training for m in net.modules())
    assert net.eval() is net
    assert not any(m.training for m in net.modules())
    net.train()
    assert all(m.training for m in net.modules())
    net.features.eval()
    assert net.training and not net.features[0].training


def test_zero_grad_and_requires_grad():
    net = Net()
    net(tg.randn(5, 3)).sum().backward()
    assert all(p.grad is not None for p in net.parameters())
    grad = net.head.weight.grad
    net.zero_grad(set_to_none=False)
    assert all(np.all(p.grad.data == 0) for p in net.parameters())
    assert np.any(grad.data != 0)  # a fresh zero array: a gradient someone else holds is untouched
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())
    net.requires_grad_(False)
    assert not any(p.requires_grad for p in net.parameters())


def test_double_casts_in_place_keeping_objects():
    net = Net()
    params = list(net.parameters())
    assert net.double() is net
    assert [id(p) for p in net.parameters()] == [id(p) for p in params]
    assert all(p.dtype == np.float64 for p in net.parameters())
    assert net.features[1].count.dtype == np.int64  # integer buffers are left alone
    assert net(tg.Tensor(np.ones((2, 3)))).dtype == np.float64
    net.float()
    assert all(p.dtype == np.float32 for p in net.parameters())
    with pytest.raises(TypeError, match="floating dtype"):
        net.to(np.int32)


def test_apply_visits_children_first():
    seen = []
    Net().apply(lambda m: seen.append(type(m).__name__))
    assert seen == ["Dense", "Counter", "Dense", "Sequential", "Dense", "Net"]


# -- state dicts ----------------------------------------------------------------------------------------
def test_state_dict_keys_values_and_copies():
    net = Net()
    sd = net.state_dict()
    assert list(sd) == ["scale", "features.0.weight", "features.0.bias", "features.1.count",
                        "features.2.weight", "head.weight", "head.bias"]  # non-persistent buffers left out
    assert all(type(v) is np.ndarray for v in sd.values())
    np.testing.assert_array_equal(sd["head.weight"], net.head.weight.data)
    with tg.no_grad():
        net.head.weight.add_(1.0)
    assert not np.array_equal(sd["head.weight"], net.head.weight.data)


def test_load_state_dict_round_trip_in_place():
    source, target = Net(), Net()
    with tg.no_grad():
        for p in source.parameters():
            p.add_(np.float32(0.5))
        source.features[1].count.fill_(7)
    arrays = [p.data for p in target.parameters()]
    versions = [p._version for p in target.parameters()]
    result = target.load_state_dict(source.state_dict())
    assert result == IncompatibleKeys([], [])
    for (name, a), (_, b) in zip(source.state_dict().items(), target.state_dict().items()):
        np.testing.assert_array_equal(a, b, err_msg=name)
    assert all(p.data is a for p, a in zip(target.parameters(), arrays))
    assert all(p._version > v for p, v in zip(target.parameters(), versions))
    x = tg.randn(4, 3)
    np.testing.assert_array_equal(source(x).data, target(x).data)


def test_load_state_dict_accepts_tensors():
    source, target = Dense(2, 3), Dense(2, 3)
    with tg.no_grad():
        source.weight.fill_(3.0)
    target.load_state_dict({"weight": source.weight, "bias": tg.Tensor(np.ones(3, np.float32))})
    np.testing.assert_array_equal(target.weight.data, np.full((3, 2), 3.0))
    np.testing.assert_array_equal(target.bias.data, np.ones(3))


def test_load_state_dict_lists_every_offending_key():
    net = Net()
    sd = net.state_dict()
    del sd["head.bias"]
    del sd["scale"]
    sd["features.0.weight"] = np.zeros((5, 3), dtype=np.float32)
    sd["head.weight"] = sd["head.weight"].astype(np.float64)
    sd["extra.thing"] = np.zeros(1)
    sd["other"] = np.zeros(1)
    before = {k: v.copy() for k, v in net.state_dict().items()}
    sd["features.2.weight"] = np.full((4, 4), 9.0, dtype=np.float32)  # valid, but must not be loaded
    with pytest.raises(StateDictError) as info:
        net.load_state_dict(sd)
    message = str(info.value)
    for expected in ["Net.load_state_dict",
                     "features.0.weight: expected shape (4, 3) dtype float32, found shape (5, 3) dtype float32",
                     "head.weight: expected shape (2, 4) dtype float32, found shape (2, 4) dtype float64",
                     "missing keys: scale, head.bias", "unexpected keys: extra.thing, other"]:
        assert expected in message, (expected, message)
    for k, v in net.state_dict().items():
        np.testing.assert_array_equal(v, before[k], err_msg=k)


def test_load_state_dict_not_strict():
    net = Net()
    sd = net.state_dict()
    del sd["head.bias"]
    sd["unused"] = np.zeros(1)
    sd["head.weight"] = np.full((2, 4), 2.0, dtype=np.float32)
    missing, unexpected = net.load_state_dict(sd, strict=False)
    assert missing == ["head.bias"] and unexpected == ["unused"]
    np.testing.assert_array_equal(net.head.weight.data, np.full((2, 4), 2.0))
    sd["head.weight"] = np.zeros((3, 4), dtype=np.float32)
    with pytest.raises(StateDictError, match=r"head.weight: expected shape \(2, 4\)"):
        net.load_state_dict(sd, strict=False)
    with pytest.raises(TypeError, match="mapping"):
        net.load_state_dict([1, 2])


# -- Sequential ------------------------------------------------------------------------------------------
def test_sequential_container():
    a, b, c = Dense(3, 4), Dense(4, 5), Dense(5, 2)
    seq = Sequential(a, b)
    assert len(seq) == 2 and seq[0] is a and seq[-1] is b and list(seq) == [a, b]
    assert seq.append(c) is seq and seq[2] is c and len(seq) == 3
    tail = seq[1:]
    assert isinstance(tail, Sequential) and list(tail) == [b, c]
    with pytest.raises(IndexError, match="out of range"):
        seq[3]
    with pytest.raises(TypeError, match="integers or slices"):
        seq["0"]
    x = tg.randn(2, 3)
    np.testing.assert_allclose(seq(x).data, c(b(a(x))).data)
    named = Sequential(OrderedDict([("first", a), ("second", b)]))
    assert [n for n, _ in named.named_parameters()] == ["first.weight", "first.bias", "second.weight",
                                                        "second.bias"]


# -- repr -----------------------------------------------------------------------------------------------------
def test_repr_tree():
    expected = (
        "Net(\n"
        "  (features): Sequential(\n"
        "    (0): Dense(3, 4)\n"
        "    (1): Counter()\n"
        "    (2): Dense(4, 4)\n"
        "  )\n"
        "  (head): Dense(4, 2)\n"
        ")"
    )
    assert repr(Net()) == expected
    assert repr(Sequential()) == "Sequential()"


def test_deepcopy_makes_an_independent_model():
    import copy

    net = Net()
    clone = copy.deepcopy(net)
    assert all(a is not b for a, b in zip(net.parameters(), clone.parameters()))
    assert all(type(p) is Parameter and p.requires_grad for p in clone.parameters())
    with tg.no_grad():
        clone.head.weight.fill_(0.0)
    assert np.any(net.head.weight.data != 0)
    assert list(clone.state_dict()) == list(net.state_dict())
