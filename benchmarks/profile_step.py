"""Where a training step's time goes: tinygrad_np's ops, self time each, next to PyTorch's.

    python benchmarks/profile_step.py                  # models A and B, 20 steps each
    python benchmarks/profile_step.py --models B --steps 50 --top 15

The models and steps are those of bench_cnn.py. For tinygrad_np, every Function's forward and
backward is timed by its self time (ops that a backward applies are counted for themselves), and
the matrix products (np.matmul, i.e. BLAS) are one row of their own, so the table splits a step into
BLAS and NumPy's other passes; times are wall times of the main thread (a kernel split over threads
runs its other parts alongside). PyTorch's rows are torch.profiler's self CPU time per aten op.
Profiling adds cost of its own, so the plain step times (no instrumentation) come first.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


def _parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=20, help="profiled training steps per model")
    parser.add_argument("--threads", type=int, default=2, help="tinygrad_np's and PyTorch's threads (default 2)")
    parser.add_argument("--models", default="A,B", help="comma-separated: A, B, C")
    parser.add_argument("--top", type=int, default=12, help="rows per table")
    parser.add_argument("--no-torch", action="store_true", help="skip PyTorch even if installed")
    return parser.parse_args()


ARGS = _parse_args()
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, str(ARGS.threads))  # before NumPy loads its BLAS

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import tinygrad_np as tg  # noqa: E402
from cnn_models import SPECS, Tinygrad, Torch, init_weights, load_torch, random_batch  # noqa: E402
from tinygrad_np.autograd.function import Function  # noqa: E402

MATMUL = "matrix products (np.matmul)"
# PyTorch's ops that do its matrix products (a convolution's also does its im2col-free layout work)
TORCH_MATRIX_OPS = ("aten::mkldnn_convolution", "aten::convolution_backward", "aten::mm", "aten::addmm")


class SelfTimer:
    """Wraps callables so that each call's time, less the time of wrapped calls inside it, adds up
    under the callable's name. Only the main thread's calls are timed: a kernel split over threads
    counts the wall time the main thread spends in it, its own part and the wait for the others."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self._nested: list[float] = []
        self._main = threading.main_thread()

    def wrap(self, name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            if threading.current_thread() is not self._main:
                return fn(*args, **kwargs)
            self._nested.append(0.0)
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                total = time.perf_counter() - start
                self.seconds[name] += total - self._nested.pop()
                if self._nested:
                    self._nested[-1] += total
        return timed


def _functions(cls: type = Function) -> Iterator[type]:
    for sub in cls.__subclasses__():
        yield sub
        yield from _functions(sub)


@contextmanager
def instrumented(timer: SelfTimer) -> Iterator[None]:
    """Every Function's own forward/backward and np.matmul timed by `timer`, restored on exit."""
    originals: list[tuple[Any, str, Any]] = [(np, "matmul", np.matmul)]
    for cls in _functions():
        for kind in ("forward", "backward"):
            if kind in cls.__dict__:
                originals.append((cls, kind, cls.__dict__[kind]))
    try:
        np.matmul = timer.wrap(MATMUL, np.matmul)
        for owner, kind, original in originals[1:]:
            setattr(owner, kind, staticmethod(timer.wrap(f"{owner.__name__}.{kind}", original.__func__)))
        yield
    finally:
        for owner, kind, original in originals:
            setattr(owner, kind, original)


def step_ms(impl: Any, images: np.ndarray, labels: np.ndarray, steps: int) -> float:
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        impl.step(images, labels)
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times)


def print_table(title: str, rows: dict[str, float], step: float) -> None:
    print(f"  {title}")
    shown = sorted(rows.items(), key=lambda kv: -kv[1])[:ARGS.top]
    for name, ms in shown:
        print(f"    {name:40s} {ms:7.2f}  {ms / step:4.0%}")
    rest = sum(rows.values()) - sum(ms for _, ms in shown)
    print(f"    {'(all other rows)':40s} {rest:7.2f}  {rest / step:4.0%}")


def profile_tinygrad(model: str, images: np.ndarray, labels: np.ndarray) -> float:
    """Print the table; return the ms per step in matrix products."""
    impl = Tinygrad(model, init_weights(model))
    impl.activate()
    step_ms(impl, images, labels, 3)
    plain = step_ms(impl, images, labels, ARGS.steps)
    timer = SelfTimer()
    with instrumented(timer):
        start = time.perf_counter()
        for _ in range(ARGS.steps):
            impl.step(images, labels)
        total = (time.perf_counter() - start) * 1e3 / ARGS.steps
    rows = {name: s * 1e3 / ARGS.steps for name, s in timer.seconds.items()}
    rows["(engine, Python, outside any op)"] = total - sum(rows.values())
    print(f"  tinygrad_np: {plain:.1f} ms/step; instrumented {total:.1f} ms/step, of which matrix products "
          f"{rows[MATMUL]:.1f} ms ({rows[MATMUL] / total:.0%})")
    print_table("tinygrad_np, self time per op, ms/step", rows, total)
    return rows[MATMUL]


def profile_torch(torch: Any, model: str, images: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """Print the table; return (ms per profiled step, ms of it outside the matrix-product ops)."""
    from torch.profiler import ProfilerActivity, profile

    impl = Torch(model, init_weights(model))
    impl.activate()
    step_ms(impl, images, labels, 3)
    plain = step_ms(impl, images, labels, ARGS.steps)
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        start = time.perf_counter()
        for _ in range(ARGS.steps):
            impl.step(images, labels)
        total = (time.perf_counter() - start) * 1e3 / ARGS.steps
    rows = {event.key: event.self_cpu_time_total / 1e3 / ARGS.steps for event in prof.key_averages()}
    print(f"  pytorch {torch.__version__}: {plain:.1f} ms/step; profiled {total:.1f} ms/step")
    print_table("pytorch, self CPU time per aten op, ms/step", rows, total)
    return total, total - sum(rows.get(name, 0.0) for name in TORCH_MATRIX_OPS)


def main() -> None:
    tg.keep_freed_memory()
    Tinygrad.num_threads = ARGS.threads
    torch = None if ARGS.no_torch else load_torch(ARGS.threads)
    print(f"numpy {np.__version__}, {ARGS.threads} threads each; {ARGS.steps} steps per model; freed memory "
          f"kept for reuse" + ("" if torch else "; pytorch not installed, its tables are skipped"))
    for model in [m.strip() for m in ARGS.models.split(",") if m.strip()]:
        images, labels = random_batch(SPECS[model]["batch"], model=model)
        print(f"\nmodel {model} (batch {SPECS[model]['batch']})")
        matrix = profile_tinygrad(model, images, labels)
        if torch is not None:
            theirs, their_rest = profile_torch(torch, model, images, labels)
            print(f"  tinygrad_np's matrix products ({matrix:.1f}) + PyTorch's time outside its convolution "
                  f"and matrix ops ({their_rest:.1f}) = {matrix + their_rest:.1f} ms/step, against PyTorch's "
                  f"{theirs:.1f}:\n  the step time tinygrad_np would reach if everything but NumPy's BLAS "
                  f"ran as fast as PyTorch ({(matrix + their_rest) / theirs:.2f}x)")


if __name__ == "__main__":
    main()
