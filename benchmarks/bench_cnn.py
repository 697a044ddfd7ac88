"""CNN training speed: tinygrad_np against PyTorch (CPU) and a classic hand-written NumPy CNN.

    python benchmarks/bench_cnn.py                 # 20 timed steps per model
    python benchmarks/bench_cnn.py --steps 50
    python benchmarks/bench_cnn.py --quick         # a few steps, small inference set, no memory probes

Three models on random data (float32, SGD, cross-entropy), two MNIST-sized and one CIFAR-sized:

- A: conv(1->30, 5x5) - ReLU - maxpool 2 - affine(4320->100) - ReLU - affine(100->10), batch 100;
- B: conv(1->32, 3x3, pad 1) - ReLU - pool 2 - conv(32->64, 3x3, pad 1) - ReLU - pool 2
  - affine(3136->128) - ReLU - affine(128->10), batch 128;
- C: conv(3->64, 3x3, pad 1) - ReLU - pool 2 - conv(64->128, 3x3, pad 1) - ReLU - pool 2
  - conv(128->256, 3x3, pad 1) - ReLU - pool 2 - affine(4096->256) - ReLU - affine(256->10),
  3x32x32 images, batch 64.

The implementations train in alternating blocks of 4 timed steps, so that load from other processes
hits all of them alike (each block starts after a 0.2 s pause, in which the previous library's idle
BLAS/OpenMP threads stop spinning, and 0.1 s of untimed warm-up steps); the median ms/step is
reported, and then again with each implementation alone in a fresh process of its own, in rounds
of one process each (`--alone-rounds`), with each round's tinygrad_np / pytorch ratio. Also:
inference images/s, peak memory of a training step (tracemalloc for the NumPy implementations, and
the peak-RSS growth of a fresh process running the steps for all three), and the framework's cost per
op (forward + backward of a 10,000-op chain of tiny tensors). All implementations start from the
same weights, and a first check makes sure they compute the same loss and gradients.

Threads: `--threads` (default 2) for each: tinygrad_np splits its kernels over that many threads
(`tg.set_num_threads`, NumPy's BLAS then on one), PyTorch gets them for its ops, and the classic
NumPy CNN for NumPy's BLAS.
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import statistics
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any


def _parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=20, help="timed training steps per model and implementation")
    parser.add_argument("--quick", action="store_true", help="few steps, 2,000 inference images, no memory probes")
    parser.add_argument("--threads", type=int, default=2,
                        help="threads for each implementation: tinygrad_np's, PyTorch's, NumPy's BLAS (default 2)")
    parser.add_argument("--models", default="A,B,C", help="comma-separated: A, B, C")
    parser.add_argument("--alone-rounds", type=int, default=6,
                        help="rounds of fresh processes, one per implementation, for the steps timed alone (default 6)")
    parser.add_argument("--classic-dtype", default="float64",
                        help="dtype of the classic NumPy CNN (as published: float64)")
    parser.add_argument("--no-torch", action="store_true", help="skip PyTorch even if installed")
    parser.add_argument("--release-memory", action="store_true",
                        help="leave glibc returning freed memory to the OS (default: tg.keep_freed_memory(), "
                             "tinygrad_np's default; it applies to the whole process)")
    parser.add_argument("--probe", nargs=2, metavar=("IMPL", "MODEL"), help=argparse.SUPPRESS)
    parser.add_argument("--probe-steps", nargs=3, metavar=("IMPL", "MODEL", "STEPS"), help=argparse.SUPPRESS)
    parser.add_argument("--probe-overhead", nargs=2, metavar=("IMPL", "RUNS"), help=argparse.SUPPRESS)
    return parser.parse_args(argv)


ARGS = _parse_args()
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, str(ARGS.threads))  # before NumPy loads its BLAS

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
for _path in (ROOT, ROOT / "benchmarks"):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

import tinygrad_np as tg  # noqa: E402
from classic_numpy import ClassicCNN  # noqa: E402
from cnn_models import LR, SPECS, Tinygrad, Torch, init_weights, load_torch, random_batch  # noqa: E402

KEEPS_MEMORY = tg.keep_freed_memory(not ARGS.release_memory) and not ARGS.release_memory
Tinygrad.num_threads = ARGS.threads
torch = None if ARGS.no_torch else load_torch(ARGS.threads)


# -- the three implementations: tinygrad_np and PyTorch (cnn_models.py), and the classic NumPy CNN ---
class Classic:
    name = "classic numpy"

    def activate(self) -> None:
        tg.set_num_threads(1)  # NumPy's BLAS with its own threads

    def __init__(self, model: str, weights: dict[str, np.ndarray]) -> None:
        self.dtype = np.dtype(ARGS.classic_dtype)
        spec = SPECS[model]
        self.net = ClassicCNN(model, input_shape=spec["input"], dtype=self.dtype)
        names = ({f"conv{i}": f"conv{i + 1}" for i in range(len(spec["convs"]))}
                 | {f"fc{i}": f"fc{i + 1}" for i in range(len(spec["affines"]))})
        for key, value in weights.items():
            layer, kind = key.split(".")
            target = self.net.params[f"{names[layer]}.{kind}"]
            target[...] = value.T if layer.startswith("fc") and kind == "W" else value
        self.back = {f"{names[k.split('.')[0]]}.{k.split('.')[1]}": k for k in weights}

    def step(self, images: np.ndarray, labels: np.ndarray) -> float:
        return self.net.sgd_step(images.astype(self.dtype, copy=False), labels, LR)

    def grads(self, images: np.ndarray, labels: np.ndarray) -> tuple[float, dict[str, np.ndarray]]:
        loss, grads = self.net.gradient(images.astype(self.dtype), labels)
        out = {}
        for key, value in grads.items():
            ours = self.back[key]
            out[ours] = value.T if ours.startswith("fc") and ours.endswith(".W") else value
        return loss, out

    def predict(self, images: np.ndarray) -> np.ndarray:
        return self.net.predict(images.astype(self.dtype, copy=False))


def implementations() -> list[type]:
    return [Tinygrad] + ([Torch] if torch is not None else []) + [Classic]


# -- measurements -----------------------------------------------------------------------------------
def check_agreement(model: str) -> str:
    """All implementations give the same loss and gradients from the same weights (loose: float32)."""
    weights = init_weights(model)
    images, labels = random_batch(8, seed=7, model=model)
    ours = Tinygrad(model, weights)
    ours.activate()
    ref_loss, ref = ours.grads(images, labels)
    worst = 0.0
    for cls in implementations()[1:]:
        impl = cls(model, weights)
        impl.activate()
        loss, grads = impl.grads(images, labels)
        worst = max(worst, abs(loss - ref_loss) / max(abs(ref_loss), 1e-6))
        for key, g in ref.items():
            err = np.abs(np.asarray(grads[key], np.float64) - g).max() / max(np.abs(g).max(), 1e-6)
            worst = max(worst, err)
    if worst > 1e-3:
        raise SystemExit(f"model {model}: the implementations disagree (max relative difference {worst:.2e})")
    return f"losses and gradients agree (max relative difference {worst:.1e})"


# Idle BLAS and OpenMP worker threads keep spinning for about 0.1 s after their last call; a block
# of steps starts after this pause, so that the previous implementation's threads do not steal a core.
SETTLE_SECONDS = 0.2
# After the pause, cores that sat idle wake slowly for a while (on a virtual machine the first steps
# of model A took 17, 15, 15 and 13 ms before settling at 9): each block first trains untimed for
# this long, as a training loop that has been running would be.
WARMUP_SECONDS = 0.1


def time_training(model: str, steps: int, block: int = 4) -> dict[str, list[float]]:
    """ms per training step. Implementations take turns in blocks of `block` timed steps, each
    block after a pause (SETTLE_SECONDS) and untimed warm-up steps (WARMUP_SECONDS, at least one)."""
    weights = init_weights(model)
    images, labels = random_batch(SPECS[model]["batch"], model=model)
    impls = [cls(model, weights) for cls in implementations()]
    times: dict[str, list[float]] = {impl.name: [] for impl in impls}
    for turn in range(-(-steps // block)):
        for impl in impls[turn % len(impls):] + impls[:turn % len(impls)]:
            impl.activate()
            gc.collect()  # between blocks only: inside one, steps follow each other as in a training loop
            time.sleep(SETTLE_SECONDS)
            warm_until = time.perf_counter() + WARMUP_SECONDS
            impl.step(images, labels)
            while time.perf_counter() < warm_until:
                impl.step(images, labels)
            for _ in range(block):
                start = time.perf_counter()
                impl.step(images, labels)
                elapsed = time.perf_counter() - start
                if len(times[impl.name]) < steps:
                    times[impl.name].append(elapsed * 1e3)
    return times


def probe_steps(impl_name: str, model: str, steps: int) -> None:
    """(Run in a fresh process.) Print the ms of `steps` training steps after a warm-up, this
    implementation alone in the process."""
    cls = {c.name: c for c in implementations()}[impl_name]
    impl = cls(model, init_weights(model))
    impl.activate()
    images, labels = random_batch(SPECS[model]["batch"], model=model)
    warm_until = time.perf_counter() + WARMUP_SECONDS
    impl.step(images, labels)
    while time.perf_counter() < warm_until:
        impl.step(images, labels)
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        impl.step(images, labels)
        times.append((time.perf_counter() - start) * 1e3)
    print(json.dumps({"ms": times}))


def time_training_alone(model: str, steps: int) -> tuple[dict[str, list[float]], list[float]]:
    """ms per training step of each implementation alone in a fresh process (PyTorch loaded only
    in its own), in `--alone-rounds` rounds of one process each, their order turning every round;
    and each round's tinygrad_np / pytorch ratio of medians, from processes that ran one right after
    the other (a machine whose speed drifts moves both alike)."""
    names = [cls.name for cls in implementations()]
    times: dict[str, list[float]] = {name: [] for name in names}
    ratios = []
    per_round = -(-steps // ARGS.alone_rounds)
    for turn in range(ARGS.alone_rounds):
        medians = {}
        for name in names[turn % len(names):] + names[:turn % len(names)]:
            cmd = [sys.executable, __file__, "--probe-steps", name, model, str(per_round),
                   "--threads", str(ARGS.threads), "--classic-dtype", ARGS.classic_dtype]
            cmd += ["--release-memory"] if ARGS.release_memory else []
            cmd += [] if name == Torch.name else ["--no-torch"]
            out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
            ms = json.loads(out.strip().splitlines()[-1])["ms"]
            times[name] += ms
            medians[name] = statistics.median(ms)
        if Torch.name in medians:
            ratios.append(medians[Tinygrad.name] / medians[Torch.name])
    return times, ratios


def time_inference(model: str, count: int, batch: int = 500) -> dict[str, float]:
    weights = init_weights(model)
    images, _ = random_batch(count, seed=3, model=model)
    result = {}
    for cls in implementations():
        impl = cls(model, weights)
        impl.activate()
        impl.predict(images[:batch])  # warm up
        best = float("inf")
        for _ in range(2):
            start = time.perf_counter()
            for i in range(0, count, batch):
                impl.predict(images[i:i + batch])
            best = min(best, time.perf_counter() - start)
        result[impl.name] = count / best
    return result


def traced_peak(model: str) -> dict[str, float]:
    """Peak bytes NumPy allocates during one training step (tracemalloc sees NumPy, not PyTorch)."""
    weights = init_weights(model)
    images, labels = random_batch(SPECS[model]["batch"], model=model)
    result = {}
    for cls in (Tinygrad, Classic):
        impl = cls(model, weights)
        impl.activate()
        impl.step(images, labels)
        gc.collect()
        tracemalloc.start()
        base = tracemalloc.get_traced_memory()[0]
        impl.step(images, labels)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        result[impl.name] = (peak - base) / 2**20
    return result


def peak_rss_mib() -> float:
    """This process's peak resident memory. VmHWM (Linux) starts afresh at exec; getrusage's
    ru_maxrss does not (a child started by a big parent inherits the parent's peak)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    scale = 1 if sys.platform == "darwin" else 1024  # ru_maxrss: bytes on macOS, KiB elsewhere
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale / 2**20


def probe_rss(impl_name: str, model: str) -> None:
    """(Run in a fresh process.) Print how far 3 training steps push the peak RSS above the setup's."""
    cls = {c.name: c for c in implementations()}[impl_name]
    impl = cls(model, init_weights(model))
    impl.activate()
    images, labels = random_batch(SPECS[model]["batch"], model=model)
    gc.collect()
    before = peak_rss_mib()
    for _ in range(3):
        impl.step(images, labels)
    print(json.dumps({"mib": peak_rss_mib() - before}))


def rss_growth(model: str) -> dict[str, float]:
    result = {}
    for cls in implementations():
        cmd = [sys.executable, __file__, "--probe", cls.name, model, "--threads", str(ARGS.threads),
               "--classic-dtype", ARGS.classic_dtype] + (["--release-memory"] if ARGS.release_memory else [])
        out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
        result[cls.name] = json.loads(out.strip().splitlines()[-1])["mib"]
    return result


def overhead(n: int, leaf: Any) -> float:
    """Microseconds per op for forward + backward of a chain of n tiny ops starting at `leaf`."""
    start = time.perf_counter()
    y = leaf
    for i in range(n):
        y = y * 1.0001 if i % 2 else y + 0.5
    y.sum().backward()
    return (time.perf_counter() - start) / n * 1e6


OVERHEAD_OPS = 10000


def chain_leaves() -> dict[str, Any]:
    """A fresh leaf to start a chain from, per framework in this process."""
    leaves: dict[str, Any] = {Tinygrad.name: lambda: tg.Tensor(np.ones(4, dtype=np.float32), requires_grad=True)}
    if torch is not None:
        leaves[Torch.name] = lambda: torch.ones(4, requires_grad=True)
    return leaves


def probe_overhead(impl_name: str, runs: int) -> None:
    """(Run in a fresh process, which loads PyTorch only to measure it.) Print the chain's us/op per run."""
    leaf = chain_leaves()[impl_name]
    print(json.dumps({"us": [overhead(OVERHEAD_OPS, leaf()) for _ in range(runs)]}))


def overhead_alone(runs: int) -> dict[str, list[float]]:
    """us/op of each framework in a fresh process of its own, in alternating processes."""
    costs: dict[str, list[float]] = {name: [] for name in chain_leaves()}
    for _ in range(2):
        for name in costs:
            cmd = [sys.executable, __file__, "--probe-overhead", name, str(runs // 2)]
            if name != Torch.name:
                cmd.append("--no-torch")
            out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
            costs[name] += json.loads(out.strip().splitlines()[-1])["us"]
    return costs


def report_overhead() -> None:
    runs = 4 if ARGS.quick else 10
    leaves = chain_leaves()
    together: dict[str, list[float]] = {name: [] for name in leaves}
    for _ in range(runs):  # interleaved, so that both meet the same heap and the same machine
        for name, leaf in leaves.items():
            together[name].append(overhead(OVERHEAD_OPS, leaf()))
    settings = {"in this process, both frameworks loaded": together}
    if not ARGS.quick:
        settings["each alone, in a fresh process"] = overhead_alone(runs)
    print(f"\nframework overhead, forward + backward of a {OVERHEAD_OPS:,}-op chain of 4-element tensors, "
          f"us/op over {runs} runs: min (the ops alone) and mean (with the cycle collector's full passes)")
    for setting, costs in settings.items():
        print(f"  {setting}")
        for name, cs in costs.items():
            print(f"    {name:14s} min {min(cs):6.2f}   mean {statistics.mean(cs):6.2f}")
        if Torch.name in costs:
            ours, theirs = costs[Tinygrad.name], costs[Torch.name]
            print(f"    tinygrad_np / pytorch: min {min(ours) / min(theirs):.2f}x, "
                  f"mean {statistics.mean(ours) / statistics.mean(theirs):.2f}x  (target <= 1.0x)")


# -- report -----------------------------------------------------------------------------------------
def main() -> None:
    if ARGS.probe:
        probe_rss(*ARGS.probe)
        return
    if ARGS.probe_steps:
        probe_steps(ARGS.probe_steps[0], ARGS.probe_steps[1], int(ARGS.probe_steps[2]))
        return
    if ARGS.probe_overhead:
        probe_overhead(ARGS.probe_overhead[0], int(ARGS.probe_overhead[1]))
        return
    steps = min(ARGS.steps, 5) if ARGS.quick else ARGS.steps
    models = [m.strip() for m in ARGS.models.split(",") if m.strip()]
    print(f"numpy {np.__version__}; {ARGS.threads} thread(s) each (tinygrad_np: tg.set_num_threads, BLAS on one; "
          f"classic: NumPy's BLAS); classic NumPy CNN in {ARGS.classic_dtype}; "
          f"freed memory {'kept for reuse' if KEEPS_MEMORY else 'returned to the OS'} (whole process)")
    print(f"pytorch {torch.__version__} with {torch.get_num_threads()} threads" if torch is not None
          else "pytorch: not installed, its column is skipped")
    for model in models:
        spec = SPECS[model]
        print(f"\nmodel {model} (batch {spec['batch']}): {check_agreement(model)}")
        times = time_training(model, steps)
        med = {name: statistics.median(ts) for name, ts in times.items()}
        print(f"  training step, ms (median of {steps}, in alternating blocks; min in brackets)")
        for name, ts in times.items():
            print(f"    {name:14s} {med[name]:9.1f}  [{min(ts):.1f}]")
        ours = med[Tinygrad.name]
        if Torch.name in med:
            print(f"    tinygrad_np / pytorch       = {ours / med[Torch.name]:.2f}x  (target <= 1.0x)")
        print(f"    classic numpy / tinygrad_np = {med[Classic.name] / ours:.1f}x  (target >= 4x)")
        if not ARGS.quick:
            alone, ratios = time_training_alone(model, steps)
            count = len(alone[Tinygrad.name])
            print(f"  training step, each alone in a fresh process, ms (median of {count} in {ARGS.alone_rounds} "
                  f"rounds of processes; min in brackets)")
            for name, ts in alone.items():
                print(f"    {name:14s} {statistics.median(ts):9.1f}  [{min(ts):.1f}]")
            if ratios:
                ratio = statistics.median(alone[Tinygrad.name]) / statistics.median(alone[Torch.name])
                print(f"    tinygrad_np / pytorch       = {ratio:.2f}x  (each round's: median {statistics.median(ratios):.2f}x, "
                      f"{min(ratios):.2f}-{max(ratios):.2f}x)")
        count = 2000 if ARGS.quick else 10000
        rates = time_inference(model, count)
        print(f"  inference on {count:,} images (batches of 500), images/s")
        for name, rate in rates.items():
            print(f"    {name:14s} {rate:11,.0f}")
        peaks = traced_peak(model)
        print("  peak memory of one training step, MiB allocated by NumPy (tracemalloc)")
        for name, mib in peaks.items():
            print(f"    {name:14s} {mib:9.1f}")
        if not ARGS.quick:
            growth = rss_growth(model)
            print("  peak-RSS growth of a fresh process over 3 training steps, MiB")
            for name, mib in growth.items():
                print(f"    {name:14s} {mib:9.1f}")
    report_overhead()


if __name__ == "__main__":
    main()
