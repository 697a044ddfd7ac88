"""The newer layers and losses: same outputs and gradients as PyTorch for the same weights, state
dicts named one to one with PyTorch's and surviving a round trip, PyTorch's reprs, the containers'
list and dict behaviour, and clear errors."""
from __future__ import annotations

from collections import OrderedDict

import numpy as np
import pytest

import tinygrad_np as tg
import tinygrad_np.functional as F
from tinygrad_np import nn
from tinygrad_np.errors import ShapeError

rng = np.random.default_rng(11)
X4 = rng.standard_normal((2, 4, 5, 6))

# (our module, the torch module's constructor as a string, an input) for every new layer
LAYERS = [
    (lambda: nn.Embedding(10, 3, padding_idx=1), "Embedding(10, 3, padding_idx=1)", rng.integers(0, 10, (4, 5))),
    (lambda: nn.Embedding(6, 2), "Embedding(6, 2)", rng.integers(0, 6, (7,))),
    (lambda: nn.LayerNorm(6), "LayerNorm(6)", X4),
    (lambda: nn.LayerNorm((5, 6), bias=False), "LayerNorm((5, 6), bias=False)", X4),
    (lambda: nn.LayerNorm(6, elementwise_affine=False), "LayerNorm(6, elementwise_affine=False)", X4),
    (lambda: nn.GroupNorm(2, 4), "GroupNorm(2, 4)", X4),
    (lambda: nn.GroupNorm(4, 4, affine=False), "GroupNorm(4, 4, affine=False)", X4),
    (lambda: nn.GELU(), "GELU()", X4),
    (lambda: nn.GELU("tanh"), "GELU('tanh')", X4),
    (lambda: nn.LeakyReLU(0.2), "LeakyReLU(0.2)", X4),
    (lambda: nn.SiLU(), "SiLU()", X4),
    (lambda: nn.Softmax(1), "Softmax(1)", X4),
    (lambda: nn.LogSoftmax(-1), "LogSoftmax(-1)", X4),
    (lambda: nn.Identity(3, foo=1), "Identity(3, foo=1)", X4),
    (lambda: nn.ConvTranspose2d(4, 6, 3, stride=2, padding=1, output_padding=1, groups=2),
     "ConvTranspose2d(4, 6, 3, stride=2, padding=1, output_padding=1, groups=2)", X4),
    (lambda: nn.ConvTranspose2d(4, 2, (2, 3), dilation=2, bias=False),
     "ConvTranspose2d(4, 2, (2, 3), dilation=2, bias=False)", X4),
    *((lambda m=mode: nn.Conv2d(4, 3, 3, padding=1, padding_mode=m),
       f"Conv2d(4, 3, 3, padding=1, padding_mode='{mode}')", X4) for mode in ("reflect", "replicate", "circular")),
    (lambda: nn.Conv2d(4, 3, (3, 4), padding="same", padding_mode="reflect"),
     "Conv2d(4, 3, (3, 4), padding='same', padding_mode='reflect')", X4),
    (lambda: nn.AdaptiveAvgPool2d((3, 4)), "AdaptiveAvgPool2d((3, 4))", X4),
    (lambda: nn.AdaptiveAvgPool2d(1), "AdaptiveAvgPool2d(1)", X4),
    (lambda: nn.Upsample(scale_factor=2, mode="bilinear", align_corners=True),
     "Upsample(scale_factor=2, mode='bilinear', align_corners=True)", X4),
    (lambda: nn.Upsample(size=(7, 9)), "Upsample(size=(7, 9))", X4),
    (lambda: nn.MaxPool2d(3, 2, 1, ceil_mode=True), "MaxPool2d(3, 2, 1, ceil_mode=True)", X4),
    (lambda: nn.MaxPool2d(2, dilation=2), "MaxPool2d(2, dilation=2)", X4),
    (lambda: nn.AvgPool2d(3, 2, 1, ceil_mode=True, count_include_pad=False),
     "AvgPool2d(3, 2, 1, ceil_mode=True, count_include_pad=False)", X4),
]
IDS = [spec for _, spec, _ in LAYERS]


def _torch_layer(torch, spec):
    return eval("torch.nn." + spec, {"torch": torch})


def _copy(ours, theirs, torch):
    theirs.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in ours.state_dict().items()})


@pytest.mark.parametrize("make,spec,x", LAYERS, ids=IDS)
def test_layer_matches_pytorch(make, spec, x):
    torch = pytest.importorskip("torch")
    ours, theirs = make().double(), _torch_layer(torch, spec).double()
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    _copy(ours, theirs, torch)
    floating = x.dtype.kind == "f"
    xt, xq = tg.Tensor(x, requires_grad=floating), torch.tensor(x, requires_grad=floating)
    out, ref = ours(xt), theirs(xq)
    np.testing.assert_allclose(out.data, ref.detach().numpy(), rtol=1e-10, atol=1e-10)
    upstream = rng.standard_normal(out.shape)
    out.backward(tg.Tensor(upstream))
    ref.backward(torch.tensor(upstream))
    if floating:
        np.testing.assert_allclose(xt.grad.data, xq.grad.numpy(), rtol=1e-10, atol=1e-10)
    theirs_params = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad.data, theirs_params[name].grad.numpy(), rtol=1e-10, atol=1e-10, err_msg=name)


@pytest.mark.parametrize("make,spec,x", LAYERS, ids=IDS)
def test_layer_repr_is_pytorchs(make, spec, x):
    torch = pytest.importorskip("torch")
    ours, theirs = repr(make()), repr(_torch_layer(torch, spec))
    if "Softmax" in spec:  # our axis is PyTorch's dim
        theirs = theirs.replace("dim=", "axis=")
    if spec.startswith("MaxPool2d") and "ceil_mode" not in spec and "dilation" not in spec:
        theirs = theirs.replace(", dilation=1, ceil_mode=False", "")
    assert ours == theirs


@pytest.mark.parametrize("make,spec,x", LAYERS, ids=IDS)
def test_layer_state_dict_round_trip(make, spec, x):
    a, b = make(), make()
    for p in b.parameters():
        with tg.no_grad():
            p.copy_(rng.standard_normal(p.shape))
    result = a.load_state_dict(b.state_dict())
    assert not result.missing_keys and not result.unexpected_keys
    for (na, va), (nb, vb) in zip(a.state_dict().items(), b.state_dict().items()):
        assert na == nb
        np.testing.assert_array_equal(va, vb)


def test_layer_reprs_without_torch():
    assert repr(nn.Embedding(10, 3, padding_idx=-1)) == "Embedding(10, 3, padding_idx=9)"
    assert repr(nn.LayerNorm(4)) == "LayerNorm((4,), eps=1e-05, elementwise_affine=True, bias=True)"
    assert repr(nn.GroupNorm(2, 4)) == "GroupNorm(2, 4, eps=1e-05, affine=True, bias=True)"
    assert repr(nn.GELU()) == "GELU(approximate='none')"
    assert repr(nn.Softmax(1)) == "Softmax(axis=1)"
    assert repr(nn.Upsample(scale_factor=2)) == "Upsample(scale_factor=2.0, mode='nearest')"
    assert repr(nn.AdaptiveAvgPool2d(1)) == "AdaptiveAvgPool2d(output_size=1)"
    assert repr(nn.MaxPool2d(2)) == "MaxPool2d(kernel_size=2, stride=2, padding=0)"
    assert repr(nn.MaxUnpool2d(2)) == "MaxUnpool2d(kernel_size=2, stride=2, padding=0)"
    assert repr(nn.Conv2d(1, 2, 3, padding_mode="circular")).endswith("padding_mode=circular)")
    assert repr(nn.CrossEntropyLoss(weight=np.ones(3))) == "CrossEntropyLoss()"


# -- Embedding -------------------------------------------------------------------------------------
def test_embedding_padding_row_starts_at_zero_and_gets_no_gradient():
    emb = nn.Embedding(5, 3, padding_idx=2).double()
    np.testing.assert_array_equal(emb.weight.data[2], 0)
    out = emb(np.array([[2, 1], [2, 2]]))
    np.testing.assert_array_equal(out.data[0, 0], 0)
    (out * 3.0).sum().backward()
    np.testing.assert_array_equal(emb.weight.grad.data[2], 0)
    np.testing.assert_array_equal(emb.weight.grad.data[1], 3)
    np.testing.assert_array_equal(emb.weight.grad.data[[0, 3, 4]], 0)


def test_embedding_errors():
    emb = nn.Embedding(4, 2)
    with pytest.raises(IndexError, match=r"embedding: index 4 is out of range for a table of 4 rows"):
        emb(np.array([0, 4]))
    with pytest.raises(TypeError, match="embedding: input must hold integer indices, got dtype float64"):
        emb(np.array([0.0]))
    with pytest.raises(ValueError, match="Embedding: padding_idx 4 must be within num_embeddings"):
        nn.Embedding(4, 2, padding_idx=4)


# -- containers ------------------------------------------------------------------------------------
def test_module_list_names_like_pytorch_and_behaves_like_a_list():
    layers = nn.ModuleList([nn.Linear(3, 2), nn.Linear(2, 2)])
    layers.append(nn.Linear(2, 1))
    assert list(layers.state_dict()) == ["0.weight", "0.bias", "1.weight", "1.bias", "2.weight", "2.bias"]
    assert len(layers) == 3 and layers[-1].out_features == 1
    assert isinstance(layers[1:], nn.ModuleList) and len(layers[1:]) == 2
    layers.insert(0, nn.Identity())
    del layers[0]
    assert list(layers.state_dict())[:2] == ["0.weight", "0.bias"]
    layers += [nn.ReLU()]
    assert len(list(layers)) == 4 and isinstance(layers[3], nn.ReLU)
    x = tg.randn(4, 3)
    for layer in layers:
        x = layer(x)
    assert x.shape == (4, 1)
    with pytest.raises(IndexError, match="ModuleList index 9 is out of range for 4 modules"):
        layers[9]
    with pytest.raises(TypeError, match="expected a Module, got int"):
        layers.append(3)
    with pytest.raises(NotImplementedError, match="ModuleList has no forward"):
        layers(x)


def test_module_dict_names_like_pytorch_and_behaves_like_a_dict():
    heads = nn.ModuleDict({"cls": nn.Linear(3, 2), "box": nn.ModuleList([nn.Linear(3, 4)])})
    assert list(heads.state_dict()) == ["cls.weight", "cls.bias", "box.0.weight", "box.0.bias"]
    assert list(heads) == ["cls", "box"] and "cls" in heads and len(heads) == 2
    heads["extra"] = nn.Linear(1, 1)
    assert list(heads.keys()) == ["cls", "box", "extra"]
    assert isinstance(heads.pop("extra"), nn.Linear) and "extra" not in heads
    heads.update(OrderedDict(aux=nn.Linear(3, 1)))
    assert [k for k, _ in heads.items()] == ["cls", "box", "aux"]
    with pytest.raises(KeyError, match="ModuleDict has no module 'nope'"):
        heads["nope"]
    with pytest.raises(TypeError, match="ModuleDict keys must be strings"):
        heads[1] = nn.ReLU()
    with pytest.raises(KeyError, match="already exists"):
        heads["update"] = nn.ReLU()  # would hide the method
    model = nn.Sequential(nn.Linear(3, 3))
    model.heads = heads
    assert "heads.box.0.weight" in model.state_dict()
    torch = pytest.importorskip("torch")
    theirs = torch.nn.ModuleDict({"cls": torch.nn.Linear(3, 2), "box": torch.nn.ModuleList([torch.nn.Linear(3, 4)]),
                                  "aux": torch.nn.Linear(3, 1)})
    assert repr(heads) == repr(theirs)
    theirs.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in heads.state_dict().items()})


# -- ConvTranspose2d, pooling, upsampling ------------------------------------------------------------
def test_conv_transpose2d_output_size():
    torch = pytest.importorskip("torch")
    ours = nn.ConvTranspose2d(4, 3, 3, stride=2, padding=1).double()
    theirs = torch.nn.ConvTranspose2d(4, 3, 3, stride=2, padding=1).double()
    _copy(ours, theirs, torch)
    out = ours(tg.Tensor(X4), output_size=(10, 12))
    ref = theirs(torch.tensor(X4), output_size=(10, 12))
    np.testing.assert_allclose(out.data, ref.detach().numpy(), rtol=1e-10, atol=1e-12)
    with pytest.raises(ShapeError, match=r"output_size \(12, 12\) is not reachable from input shape"):
        ours(tg.Tensor(X4), output_size=(12, 12))


def test_conv_transpose2d_init_is_pytorchs():
    layer = nn.ConvTranspose2d(2, 6, 3, groups=2)
    assert layer.weight.shape == (2, 3, 3, 3)
    bound = 1 / np.sqrt(3 * 9)  # fan_in from weight.shape[1] * kh * kw, as PyTorch
    assert np.abs(layer.weight.data).max() <= bound and np.abs(layer.bias.data).max() <= bound


def test_max_pool_with_indices_and_unpool_modules():
    pool, unpool = nn.MaxPool2d(2, return_indices=True), nn.MaxUnpool2d(2)
    x = tg.Tensor(rng.permutation(32).reshape(1, 2, 4, 4).astype(np.float64))
    out, index = pool(x)
    back = unpool(out, index)
    assert back.shape == x.shape
    kept = back.data != 0
    np.testing.assert_array_equal(back.data[kept], x.data[kept])
    assert kept.sum() == 8


def test_conv2d_padding_mode_errors():
    with pytest.raises(ValueError, match="Conv2d: padding_mode must be one of"):
        nn.Conv2d(1, 1, 3, padding_mode="mirror")


# -- losses ----------------------------------------------------------------------------------------
LOSSES = [
    ("CrossEntropyLoss(weight=W3, ignore_index=1, label_smoothing=0.1)", "classes"),
    ("CrossEntropyLoss(reduction='sum')", "classes"),
    ("NLLLoss(weight=W3)", "classes"),
    ("MSELoss()", "regression"),
    ("L1Loss(reduction='none')", "regression"),
    ("SmoothL1Loss(beta=0.5)", "regression"),
    ("HuberLoss(delta=0.5)", "regression"),
    ("BCELoss(weight=W3)", "probabilities"),
    ("BCEWithLogitsLoss(weight=W3, pos_weight=W3 + 1)", "binary"),
    ("KLDivLoss(reduction='batchmean')", "kl"),
]


def _loss_inputs(kind):
    x = rng.standard_normal((5, 3))
    if kind == "classes":
        return x, np.array([0, 1, 2, 2, 0])
    if kind == "probabilities":
        return rng.random((5, 3)), rng.random((5, 3))
    if kind == "binary":
        return x, rng.random((5, 3))
    if kind == "kl":
        return np.log(rng.dirichlet(np.ones(3), 5)), rng.dirichlet(np.ones(3), 5)
    return x, rng.standard_normal((5, 3))


@pytest.mark.parametrize("spec,kind", LOSSES, ids=[s for s, _ in LOSSES])
def test_loss_module_matches_pytorch(spec, kind):
    torch = pytest.importorskip("torch")
    w3 = np.array([0.5, 2.0, 1.0])
    ours = eval("nn." + spec, {"nn": nn, "W3": w3})
    theirs = eval("torch.nn." + spec, {"torch": torch, "W3": torch.tensor(w3)})
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert repr(ours) == repr(theirs)
    x, target = _loss_inputs(kind)
    xt = tg.Tensor(x, requires_grad=True)
    xq = torch.tensor(x, requires_grad=True)
    out, ref = ours(xt, target), theirs(xq, torch.tensor(target))
    np.testing.assert_allclose(out.data, ref.detach().numpy(), rtol=1e-10, atol=1e-12)
    out.sum().backward()
    ref.sum().backward()
    np.testing.assert_allclose(xt.grad.data, xq.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_loss_weight_is_a_buffer_that_follows_dtype_and_state_dict():
    loss = nn.CrossEntropyLoss(weight=np.array([1.0, 2.0], dtype=np.float32))
    assert loss.state_dict()["weight"].dtype == np.float32
    loss.double()
    assert loss.weight.dtype == np.float64
    other = nn.CrossEntropyLoss(weight=np.zeros(2))
    other.load_state_dict(loss.state_dict())
    np.testing.assert_array_equal(other.weight.data, [1.0, 2.0])
    # a float32 weight also weighs a float64 loss
    value = nn.BCELoss(weight=np.float32(2.0))(tg.Tensor(np.array([0.5])), np.array([1.0]))
    np.testing.assert_allclose(value.item(), 2 * np.log(2))


def test_loss_errors():
    with pytest.raises(ValueError, match="MSELoss: reduction must be"):
        nn.MSELoss(reduction="avg")
    with pytest.raises(ValueError, match="KLDivLoss: reduction must be 'mean', 'batchmean'"):
        nn.KLDivLoss(reduction="avg")


def test_modules_take_pytorchs_axis_names():
    x = tg.Tensor(np.random.default_rng(0).standard_normal((2, 3, 4)))
    for ours, axis in ((nn.Softmax, F.softmax), (nn.LogSoftmax, F.log_softmax)):
        np.testing.assert_array_equal(ours(dim=1)(x).data, axis(x, axis=1).data)
        np.testing.assert_array_equal(ours(axis=1)(x).data, axis(x, dim=1).data)
        assert repr(ours(dim=0)) == f"{ours.__name__}(axis=0)"
        with pytest.raises(TypeError, match=f"{ours.__name__}: got both axis= and its PyTorch alias dim="):
            ours(axis=1, dim=1)
    assert nn.Flatten(start_dim=0, end_dim=1)(x).shape == (6, 4)
    assert nn.Flatten(end_dim=-2)(x).shape == (2, 3, 4) and nn.Flatten(start_dim=-2)(x).shape == (2, 12)
    assert x.flatten(start_dim=1).shape == (2, 12)
    with pytest.raises(TypeError, match="Flatten: got both start_axis= and its PyTorch alias start_dim="):
        nn.Flatten(start_axis=0, start_dim=0)
