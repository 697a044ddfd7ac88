"""Long training runs do not leak: no graph node outlives its step, optimizer state stays the same
size, and resident memory is flat after warm-up. (The 1,000-step `cnn` soak with figures is
`benchmarks/memory_soak.py`; this is the quick version: the `tiny` model, random data.)"""
from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

import tinygrad_np as tg
import tinygrad_np.functional as F
from tinygrad_np import optim
from tinygrad_np.autograd.function import Function
from tinygrad_np.examples.mnist_models import forward, init_params

STEPS, BATCH, WARMUP = 300, 32, 100
RSS_GROWTH_LIMIT_MB = 4.0


def rss_mb() -> float:
    """Current resident set size in MiB (Linux's /proc; elsewhere the peak from getrusage)."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    import resource
    import sys

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024


@pytest.fixture
def live_nodes(monkeypatch: pytest.MonkeyPatch) -> Iterator[weakref.WeakSet]:
    """A weak set that receives every graph node recorded while the test runs."""
    nodes: weakref.WeakSet[Function] = weakref.WeakSet()
    original = Function.__dict__["apply"].__func__

    def apply(cls, *args, **kwargs):  # type: ignore[no-untyped-def]
        out = original(cls, *args, **kwargs)
        if out.grad_fn is not None:
            nodes.add(out.grad_fn)
        return out

    monkeypatch.setattr(Function, "apply", classmethod(apply))
    gc.collect()
    gc.disable()  # nothing may rely on the cycle collector
    try:
        yield nodes
    finally:
        gc.enable()


def test_tracker_sees_nodes_and_their_death(live_nodes: weakref.WeakSet) -> None:
    """The tracking itself works: nodes appear while a graph exists and vanish with it."""
    x = tg.Tensor(np.ones(3), requires_grad=True)
    loss = (x.tanh() * 2.0).sum()
    assert len(live_nodes) == 3
    del loss
    assert len(live_nodes) == 0


def test_training_keeps_no_graph_alive_and_memory_flat(live_nodes: weakref.WeakSet) -> None:
    rng = np.random.default_rng(0)
    params = init_params("tiny", seed=0)
    opt = optim.SGD(list(params.values()), lr=0.05, momentum=0.9)
    images = rng.standard_normal((BATCH * 8, 1, 28, 28)).astype(np.float32)
    labels = rng.integers(0, 10, len(images))
    # the model must learn something, or a frozen graph could pass too: fix the labels' pattern
    images[np.arange(len(images)), 0, labels, labels] += 4.0

    losses, nodes_per_step, rss = [], [], {}
    state_sizes = set()
    for step in range(1, STEPS + 1):
        idx = rng.choice(len(images), BATCH, replace=False)
        opt.zero_grad()
        loss = F.cross_entropy(forward("tiny", params, tg.Tensor(images[idx])), labels[idx])
        nodes_per_step.append(len(live_nodes))
        loss.backward()
        opt.step()
        losses.append(loss.item())
        del loss
        assert len(live_nodes) == 0, f"step {step}: {len(live_nodes)} graph nodes outlived the step: " \
                                     f"{sorted({n.name for n in live_nodes})}"
        state_sizes.add(sum(len(s) for s in opt.state.values()))
        if step in (WARMUP, STEPS):
            rss[step] = rss_mb()

    assert min(nodes_per_step) == max(nodes_per_step) > 0  # every step records the same graph
    assert len(state_sizes) == 1  # optimizer state does not grow
    assert all(np.isfinite(losses))
    assert np.mean(losses[-20:]) < 0.5 * np.mean(losses[:20])
    growth = rss[STEPS] - rss[WARMUP]
    assert growth < RSS_GROWTH_LIMIT_MB, f"RSS grew by {growth:.1f} MiB from step {WARMUP} to {STEPS}"
