"""Checkpoints in use: resuming training is bit-identical, and a save killed midway leaves the old file."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

import tinygrad_np as tg
from tinygrad_np import nn, optim
from tinygrad_np.optim.lr_scheduler import StepLR
from tinygrad_np.serialization import load, save

REPO = Path(__file__).resolve().parents[2]


class TinyNet(nn.Module):
    """Two dense layers written with engine ops, plus a buffer (a running mean of the inputs)."""

    def __init__(self) -> None:
        super().__init__()
        self.hidden = nn.Module()
        self.hidden.weight = nn.Parameter(tg.randn(4, 8).data * 0.5)
        self.hidden.bias = nn.Parameter(tg.randn(8).data * 0.1)
        self.out = nn.Parameter(tg.randn(8, 3).data * 0.5)
        self.register_buffer("input_mean", tg.zeros(4))

    def forward(self, x: tg.Tensor) -> tg.Tensor:
        if self.training:
            with tg.no_grad():
                self.input_mean.mul_(0.9).add_(x.data.mean(axis=0), alpha=0.1)
        return (x @ self.hidden.weight + self.hidden.bias).tanh() @ self.out


def _train(model, opt, sched, steps):
    for _ in range(steps):
        x = tg.randn(16, 4)  # drawn from the library generator: its state is part of the checkpoint
        y = tg.randn(16, 3)
        opt.zero_grad()
        loss = ((model(x) - y) ** 2).mean()
        loss.backward()
        opt.step()
        sched.step()


def _setup(make_opt):
    model = TinyNet()
    opt = make_opt(model.parameters())
    return model, opt, StepLR(opt, step_size=3, gamma=0.5)


@pytest.mark.parametrize("make_opt", [
    lambda ps: optim.Adam(ps, lr=0.01, amsgrad=True, weight_decay=1e-3),
    lambda ps: optim.SGD(ps, lr=0.05, momentum=0.9, nesterov=True),
    lambda ps: optim.RMSprop(ps, lr=0.01, centered=True, momentum=0.5),
], ids=["Adam", "SGD", "RMSprop"])
def test_resume_is_bit_identical(tmp_path, make_opt):
    tg.manual_seed(1)
    model, opt, sched = _setup(make_opt)
    _train(model, opt, sched, 5)
    path = tmp_path / "ckpt.npz"
    save({"model": model.state_dict(), "optimizer": opt.state_dict(), "scheduler": sched.state_dict(),
          "rng": tg.get_rng_state(), "epoch": 5}, path)
    probe = tg.Tensor(np.linspace(-1, 1, 8, dtype=np.float32).reshape(2, 4))
    with tg.no_grad():
        out_at_save = model.eval()(probe).data.copy()
    model.train()
    _train(model, opt, sched, 5)
    expected = model.state_dict()

    tg.manual_seed(99)  # a different initialisation and random stream, all overwritten by the checkpoint
    model2, opt2, sched2 = _setup(make_opt)
    ckpt = load(path)
    model2.load_state_dict(ckpt["model"])
    opt2.load_state_dict(ckpt["optimizer"])
    sched2.load_state_dict(ckpt["scheduler"])
    tg.set_rng_state(ckpt["rng"])
    assert ckpt["epoch"] == 5
    with tg.no_grad():
        np.testing.assert_array_equal(model2.eval()(probe).data, out_at_save)
    model2.train()
    _train(model2, opt2, sched2, 5)
    got = model2.state_dict()
    assert list(got) == list(expected) == ["out", "input_mean", "hidden.weight", "hidden.bias"]
    for key in expected:
        np.testing.assert_array_equal(got[key], expected[key], err_msg=key)
        assert got[key].dtype == expected[key].dtype


_WRITER = textwrap.dedent("""
    import sys
    import numpy as np
    sys.path.insert(0, sys.argv[2])
    from tinygrad_np.serialization import save

    big = np.empty(2_000_000, dtype=np.float64)  # 16 MB per save
    version = 1
    while True:
        big.fill(version)
        print(version, flush=True)  # about to save this version
        save({"version": version, "data": big}, sys.argv[1])
        version += 1
""")


def _partly_written(directory: Path) -> bool:
    """True while a save's temporary file exists and has some data in it."""
    for name in os.listdir(directory):
        if name.endswith(".tmp"):
            try:
                if os.path.getsize(directory / name) > 0:
                    return True
            except FileNotFoundError:  # renamed into place meanwhile
                pass
    return False


def test_save_killed_midway_leaves_previous_checkpoint(tmp_path):
    path = tmp_path / "ckpt.npz"
    save({"version": 0, "data": np.zeros(2_000_000)}, path)
    script = tmp_path / "writer.py"
    script.write_text(_WRITER)
    for round_ in range(3):
        proc = subprocess.Popen([sys.executable, str(script), str(path), str(REPO)], stdout=subprocess.PIPE,
                                text=True)
        try:
            for _ in range(round_ + 2):  # let a version or more complete, then catch the next save midway
                started = int(proc.stdout.readline())
            deadline = time.monotonic() + 30
            while not _partly_written(tmp_path):  # kill it with a half-written temporary file on disk
                assert time.monotonic() < deadline, "the writer never started a save"
                assert proc.poll() is None, "the writer died"
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            proc.stdout.close()
        ckpt = load(path)  # verifies every checksum
        assert ckpt["version"] in (started - 1, started)  # the previous save, or the one that just finished
        np.testing.assert_array_equal(ckpt["data"], np.full(2_000_000, float(ckpt["version"])))
        for name in os.listdir(tmp_path):  # the killed save's temporary file, never the checkpoint itself
            if name.endswith(".tmp"):
                os.unlink(tmp_path / name)
