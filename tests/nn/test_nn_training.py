"""Modules, optimizers and checkpoints together: small models learn, and resumed training is identical."""
from __future__ import annotations

import numpy as np
import pytest

import tinygrad_np as tg
import tinygrad_np.functional as F
from tinygrad_np import nn, optim
from tinygrad_np.optim.lr_scheduler import CosineAnnealingLR, LinearLR
from tinygrad_np.serialization import load, save


def _blobs(n_per_class=40, seed=0):
    """Three well-separated Gaussian clusters in 2-d."""
    rng = np.random.default_rng(seed)
    centres = np.array([[2.0, 0.0], [-1.0, 1.7], [-1.0, -1.7]])
    x = np.concatenate([c + 0.4 * rng.standard_normal((n_per_class, 2)) for c in centres]).astype(np.float32)
    y = np.repeat(np.arange(3), n_per_class)
    return tg.Tensor(x), tg.Tensor(y)


@pytest.mark.parametrize("make_opt", [lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9),
                                      lambda ps: optim.Adam(ps, lr=0.02)], ids=["SGD", "Adam"])
def test_tiny_classifier_converges(make_opt):
    x, y = _blobs()
    model = nn.Sequential(nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 3))
    opt = make_opt(model.parameters())
    for _ in range(100):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
    accuracy = (model(x).data.argmax(axis=1) == y.data).mean()
    assert loss.item() < 0.1 and accuracy == 1.0


def test_tiny_regression_converges():
    rng = np.random.default_rng(1)
    x = tg.Tensor(rng.uniform(-2, 2, (128, 1)).astype(np.float32))
    y = tg.Tensor(np.sin(x.data))
    model = nn.Sequential(nn.Linear(1, 32), nn.Tanh(), nn.Linear(32, 1))
    opt = optim.Adam(model.parameters(), lr=0.02)
    sched = CosineAnnealingLR(opt, T_max=300)
    for _ in range(300):
        opt.zero_grad()
        loss = F.mse_loss(model(x), y)
        loss.backward()
        opt.step()
        sched.step()
    assert loss.item() < 5e-3


def test_small_cnn_learns():
    # 8x8 images: class 0 has a bright top half, class 1 a bright bottom half
    rng = np.random.default_rng(2)
    y = rng.integers(0, 2, 32)
    images = rng.standard_normal((32, 1, 8, 8)).astype(np.float32) * 0.5
    images[y == 0, :, :4] += 1.0
    images[y == 1, :, 4:] += 1.0
    x, y = tg.Tensor(images), tg.Tensor(y)
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Flatten(), nn.Dropout(0.1), nn.Linear(4 * 4 * 4, 2))
    opt = optim.AdamW(model.parameters(), lr=0.01)
    losses = []
    for _ in range(30):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    model.eval()
    accuracy = (model(x).data.argmax(axis=1) == y.data).mean()
    assert losses[-1] < 0.5 * losses[0] and accuracy >= 0.9


def _cnn():
    return nn.Sequential(nn.Conv2d(1, 3, 3), nn.BatchNorm2d(3), nn.ReLU(), nn.AvgPool2d(2), nn.Flatten(),
                         nn.Dropout(0.3), nn.Linear(3 * 2 * 2, 4))


def _steps(model, opt, sched, n):
    for _ in range(n):
        x = tg.randn(6, 1, 6, 6)  # data and dropout masks both come from the library generator
        y = tg.Tensor(tg.random.get_rng().integers(0, 4, 6))
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        opt.step()
        sched.step()


def test_checkpoint_resume_with_layers_is_bit_identical(tmp_path):
    tg.manual_seed(0)
    model = _cnn()
    opt = optim.Adam(model.parameters(), lr=0.01)
    sched = LinearLR(opt, start_factor=0.1, total_iters=8)
    _steps(model, opt, sched, 5)
    save({"model": model.state_dict(), "optimizer": opt.state_dict(), "scheduler": sched.state_dict(),
          "rng": tg.get_rng_state()}, tmp_path / "ckpt.npz")
    probe = tg.randn(2, 1, 6, 6)
    model.eval()
    before = model(probe).data.copy()
    model.train()
    tg.set_rng_state(load(tmp_path / "ckpt.npz")["rng"])  # the probe's draw must not shift the stream
    _steps(model, opt, sched, 5)
    expected = model.state_dict()

    tg.manual_seed(123)
    model2 = _cnn()
    opt2 = optim.Adam(model2.parameters(), lr=0.01)
    sched2 = LinearLR(opt2, start_factor=0.1, total_iters=8)
    ckpt = load(tmp_path / "ckpt.npz")
    model2.load_state_dict(ckpt["model"])
    opt2.load_state_dict(ckpt["optimizer"])
    sched2.load_state_dict(ckpt["scheduler"])
    tg.set_rng_state(ckpt["rng"])
    model2.eval()
    np.testing.assert_array_equal(model2(probe).data, before)
    model2.train()
    _steps(model2, opt2, sched2, 5)
    got = model2.state_dict()
    assert list(got) == list(expected)
    for key in expected:
        np.testing.assert_array_equal(got[key], expected[key], err_msg=key)


def test_functional_model_with_dict_params(tmp_path):
    # no modules at all: a dict of plain tensors, trained and checkpointed
    tg.manual_seed(4)
    params = {"w1": tg.Tensor(tg.randn(2, 8).data * 0.5, requires_grad=True),
              "b1": tg.zeros(8, requires_grad=True),
              "w2": tg.Tensor(tg.randn(3, 8).data * 0.5, requires_grad=True)}

    def forward(x):
        return F.linear(F.relu(F.linear(x, params["w1"].T, params["b1"])), params["w2"])

    x, y = _blobs(seed=5)
    opt = optim.SGD(params, lr=0.2, momentum=0.9)
    for _ in range(60):
        opt.zero_grad()
        loss = F.cross_entropy(forward(x), y)
        loss.backward()
        opt.step()
    assert loss.item() < 0.1
    save({"params": params, "optimizer": opt.state_dict()}, tmp_path / "f.npz")
    loaded = load(tmp_path / "f.npz")["params"]
    for k, v in params.items():
        assert isinstance(loaded[k], tg.Tensor) and loaded[k].requires_grad
        np.testing.assert_array_equal(loaded[k].data, v.data)
