"""Memory soak: train an MNIST model for many steps and print RSS and live graph nodes as it goes.

A leak (a graph kept alive across steps, state that grows, arrays that pile up) shows as RSS that
keeps climbing after warm-up, or as graph nodes still alive after a step. Each step drops every
reference to its loss before the next, so the live node count between steps must be 0.

    python benchmarks/memory_soak.py                      # cnn, 1,000 steps, batch 32, random data
    python benchmarks/memory_soak.py --model tiny --steps 300 --every 50
    python benchmarks/memory_soak.py --mnist              # real MNIST images (downloads if not cached)

Reported per interval: RSS now and the peak (from /proc/self/status, or getrusage off Linux),
graph nodes alive between steps, the last loss, and seconds per step.
"""
from __future__ import annotations

import argparse
import gc
import resource
import sys
import time
import weakref
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import tinygrad_np as tg  # noqa: E402
import tinygrad_np.functional as F  # noqa: E402
from tinygrad_np import optim  # noqa: E402
from tinygrad_np.autograd.function import Function  # noqa: E402
from tinygrad_np.examples.mnist_models import MODELS, forward, init_params  # noqa: E402


def rss_mb() -> tuple[float, float]:
    """(current, peak) resident set size in MiB; off Linux only the peak is known (reported twice)."""
    try:
        fields = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines() if ":" in line)
        return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024
    except (OSError, KeyError, ValueError):
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        peak_mb = peak / 2**20 if sys.platform == "darwin" else peak / 1024  # bytes on macOS, KiB elsewhere
        return peak_mb, peak_mb


class NodeTracker:
    """Counts recorded graph nodes that are still alive, by wrapping `Function.apply` (weak refs only)."""

    def __init__(self) -> None:
        self.live: weakref.WeakSet[Function] = weakref.WeakSet()
        self.created = 0
        self._original = Function.__dict__["apply"]

    def __enter__(self) -> NodeTracker:
        original = self._original.__func__
        tracker = self

        def apply(cls, *args, **kwargs):  # type: ignore[no-untyped-def]
            out = original(cls, *args, **kwargs)
            if out.grad_fn is not None:
                tracker.live.add(out.grad_fn)
                tracker.created += 1
            return out

        Function.apply = classmethod(apply)  # type: ignore[method-assign,assignment]
        return self

    def __exit__(self, *exc: object) -> None:
        Function.apply = self._original  # type: ignore[method-assign]


def batches(args: argparse.Namespace, rng: np.random.Generator):  # type: ignore[no-untyped-def]
    """An endless stream of (images, labels) batches: random data, or shuffled MNIST with --mnist."""
    if args.mnist:
        from tinygrad_np.data.datasets import load_mnist
        from tinygrad_np.data.transforms import normalize

        x_train, y_train, _, _ = load_mnist()
        images, labels = normalize(x_train), y_train.astype(np.int64)
    else:
        images = rng.standard_normal((args.batch * 16, 1, 28, 28)).astype(np.float32)
        labels = rng.integers(0, 10, len(images))
    while True:
        order = rng.permutation(len(images))
        for start in range(0, len(order) - args.batch + 1, args.batch):
            idx = order[start:start + args.batch]
            yield images[idx], labels[idx]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=MODELS, default="cnn")
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--every", type=int, default=100, help="report every this many steps")
    parser.add_argument("--lr", type=float, default=0.01)
    parser.add_argument("--mnist", action="store_true", help="train on real MNIST instead of random data")
    parser.add_argument("--no-gc", action="store_true",
                        help="disable the cycle collector: the graph must be freed by reference counting alone")
    parser.add_argument("--release-memory", action="store_true",
                        help="let glibc return freed memory to the OS (default: keep it, as the training command does)")
    parser.add_argument("--threads", type=int, default=2, help="tg.set_num_threads (default 2)")
    args = parser.parse_args()
    keeps = tg.keep_freed_memory(not args.release_memory) and not args.release_memory
    tg.set_num_threads(args.threads)

    tg.manual_seed(0)
    rng = np.random.default_rng(0)
    params = init_params(args.model, seed=0)
    opt = optim.SGD(list(params.values()), lr=args.lr, momentum=0.9)
    data = batches(args, rng)
    if args.no_gc:
        gc.collect()
        gc.disable()

    print(f"model={args.model} steps={args.steps} batch={args.batch} data={'mnist' if args.mnist else 'random'} "
          f"gc={'off' if args.no_gc else 'on'} freed memory {'kept' if keeps else 'released'} threads={args.threads} "
          f"numpy={np.__version__}")
    print(f"{'step':>6} {'rss MiB':>9} {'peak MiB':>9} {'live nodes':>10} {'nodes/step':>10} {'loss':>8} {'s/step':>8}")
    start_rss = None
    last_time, last_step, last_created = time.perf_counter(), 0, 0
    with NodeTracker() as tracker:
        for step in range(1, args.steps + 1):
            x, y = next(data)
            opt.zero_grad()
            loss = F.cross_entropy(forward(args.model, params, tg.Tensor(x)), y)
            loss.backward()
            opt.step()
            value = loss.item()
            del loss
            if step == 1 or step % args.every == 0 or step == args.steps:
                now = time.perf_counter()
                rss, peak = rss_mb()
                if step == args.every:
                    start_rss = rss
                per_step = (tracker.created - last_created) / max(step - last_step, 1)
                print(f"{step:>6} {rss:>9.1f} {peak:>9.1f} {len(tracker.live):>10} {per_step:>10.0f} {value:>8.4f} "
                      f"{(now - last_time) / max(step - last_step, 1):>8.4f}", flush=True)
                last_time, last_step, last_created = now, step, tracker.created
    if start_rss is not None:
        print(f"RSS growth from step {args.every} to step {args.steps}: {rss_mb()[0] - start_rss:+.1f} MiB")
    if args.no_gc:
        gc.enable()


if __name__ == "__main__":
    main()
