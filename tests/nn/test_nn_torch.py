"""Layers against PyTorch: same weights and inputs give the same outputs, gradients and running stats."""
from __future__ import annotations

import numpy as np
import pytest

import tinygrad_np as tg
from tinygrad_np import nn

torch = pytest.importorskip("torch")


def _copy_params(ours: nn.Module, theirs) -> None:
    """Give the torch module our parameters and buffers (same names, same layouts)."""
    sd = {k: torch.from_numpy(np.array(v)) for k, v in ours.state_dict().items()}
    theirs.load_state_dict(sd)


def _compare(ours: nn.Module, theirs, x: np.ndarray, rtol=1e-10, atol=1e-10) -> None:
    """Forward and parameter/input gradients (with a fixed upstream gradient) agree."""
    xt = tg.Tensor(x, requires_grad=True)
    xq = torch.tensor(x, requires_grad=True)
    out, ref = ours(xt), theirs(xq)
    np.testing.assert_allclose(out.data, ref.detach().numpy(), rtol=rtol, atol=atol)
    upstream = np.random.default_rng(9).standard_normal(out.shape)
    out.backward(tg.Tensor(upstream))
    ref.backward(torch.tensor(upstream))
    np.testing.assert_allclose(xt.grad.data, xq.grad.numpy(), rtol=rtol, atol=atol)
    theirs_params = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad.data, theirs_params[name].grad.numpy(), rtol=rtol, atol=atol, err_msg=name)


def test_linear():
    ours = nn.Linear(5, 3).double()
    theirs = torch.nn.Linear(5, 3).double()
    _copy_params(ours, theirs)
    _compare(ours, theirs, np.random.default_rng(0).standard_normal((4, 2, 5)))


@pytest.mark.parametrize("config", [
    dict(in_channels=3, out_channels=4, kernel_size=3, padding=1),
    dict(in_channels=4, out_channels=6, kernel_size=(3, 2), stride=(2, 1), padding=(1, 0), dilation=(1, 2), groups=2),
    dict(in_channels=2, out_channels=2, kernel_size=2, stride=2, bias=False),
    dict(in_channels=2, out_channels=3, kernel_size=(3, 5), padding="same", dilation=(2, 1)),
    dict(in_channels=2, out_channels=3, kernel_size=3, padding="valid"),
], ids=str)
def test_conv2d(config):
    ours = nn.Conv2d(**config).double()
    theirs = torch.nn.Conv2d(**config).double()
    _copy_params(ours, theirs)
    _compare(ours, theirs, np.random.default_rng(1).standard_normal((2, config["in_channels"], 7, 6)))


@pytest.mark.parametrize("kind", ["MaxPool2d", "AvgPool2d"])
@pytest.mark.parametrize("args", [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1),
                                  dict(kernel_size=(2, 3), stride=(1, 2))], ids=str)
def test_pools(kind, args):
    x = np.random.default_rng(2).permutation(2 * 3 * 7 * 6).reshape(2, 3, 7, 6) * 0.1
    _compare(getattr(nn, kind)(**args), getattr(torch.nn, kind)(**args), x)


@pytest.mark.parametrize("kind,shape", [("BatchNorm1d", (6, 3)), ("BatchNorm1d", (4, 3, 5)),
                                        ("BatchNorm2d", (4, 3, 2, 3))])
def test_batch_norm_train_then_eval(kind, shape):
    ours = getattr(nn, kind)(3, momentum=0.3).double()
    theirs = getattr(torch.nn, kind)(3, momentum=0.3).double()
    rng = np.random.default_rng(3)
    with tg.no_grad():
        ours.weight.copy_(rng.standard_normal(3))
        ours.bias.copy_(rng.standard_normal(3))
    _copy_params(ours, theirs)
    for _ in range(3):
        x = rng.standard_normal(shape) * 3 + 2
        for p in ours.parameters():
            p.grad = None
        theirs.zero_grad()
        _compare(ours, theirs, x)
    for name in ("running_mean", "running_var", "num_batches_tracked"):
        np.testing.assert_allclose(getattr(ours, name).data, getattr(theirs, name).numpy(), rtol=1e-12, err_msg=name)
    ours.eval()
    theirs.eval()
    _compare(ours, theirs, rng.standard_normal(shape))


def test_state_dict_keys_match_torch():
    ours = nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 4 * 4, 3))
    theirs = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3), torch.nn.BatchNorm2d(4), torch.nn.ReLU(),
                                 torch.nn.Flatten(), torch.nn.Linear(64, 3))
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    for (name, a), b in zip(ours.state_dict().items(), theirs.state_dict().values()):
        assert a.shape == tuple(b.shape), name
    _copy_params(ours, theirs)  # loads into torch without complaint: same names and layouts
