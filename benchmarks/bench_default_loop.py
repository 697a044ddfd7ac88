"""A user's own training loop with no settings, against the training command's configuration.

    python benchmarks/bench_default_loop.py              # models A and B, 20 timed steps, 3 rounds
    python benchmarks/bench_default_loop.py --steps 10 --rounds 1

The step is bench_cnn's (forward, cross-entropy, backward, SGD on models A and B of cnn_models.py).
Each configuration runs alone in a fresh process, as a user's script would:

- `plain`: nothing set, tinygrad_np's defaults (what a user's own loop gets);
- `command`: what the training command used to set explicitly, `tg.set_num_threads(<usable cores>)`
  and `tg.keep_freed_memory()`;
- `serial`: one thread and glibc's own memory handling, the settings that were the defaults before.

Reported: each configuration's median ms per step (the median over rounds of each process's median)
and the ratio plain / command (target: within 10%, i.e. at most 1.10).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
CONFIGS = {
    "plain": "",
    "command": "tg.set_num_threads(threads.default_num_threads()); tg.keep_freed_memory()",
    "serial": "tg.set_num_threads(1); tg.keep_freed_memory(False)",
}
WARMUP_STEPS = 3


def _parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=20, help="timed steps per process (default 20)")
    parser.add_argument("--rounds", type=int, default=3, help="fresh processes per configuration (default 3)")
    parser.add_argument("--models", default="A,B", help="comma-separated: A, B")
    parser.add_argument("--probe", nargs=3, metavar=("CONFIG", "MODEL", "STEPS"), help=argparse.SUPPRESS)
    return parser.parse_args()


def probe(config: str, model: str, steps: int) -> list[float]:
    """In a fresh process: apply `config`, then time `steps` training steps (ms each) after a warm-up."""
    sys.path.insert(0, str(HERE.parent))
    sys.path.insert(0, str(HERE))
    import tinygrad_np as tg
    from tinygrad_np.kernels import threads  # noqa: F401  (used by the configurations)

    from cnn_models import SPECS, Tinygrad, init_weights, random_batch

    exec(CONFIGS[config])  # the configuration's own settings, before any kernel runs
    net = Tinygrad(model, init_weights(model))  # no activate(): a user's loop sets nothing
    images, labels = random_batch(SPECS[model]["batch"])
    times = []
    for i in range(WARMUP_STEPS + steps):
        start = time.perf_counter()
        net.step(images, labels)
        if i >= WARMUP_STEPS:
            times.append(1000 * (time.perf_counter() - start))
    return times


def _run(config: str, model: str, steps: int) -> float:
    """The median ms per step of `config` on `model`, in a fresh process."""
    env = {k: v for k, v in os.environ.items() if k not in ("TINYGRAD_NP_NUM_THREADS", "TINYGRAD_NP_KEEP_FREED_MEMORY")}
    done = subprocess.run([sys.executable, __file__, "--probe", config, model, str(steps)], env=env,
                          capture_output=True, text=True, check=True)
    return statistics.median(json.loads(done.stdout))


def main() -> None:
    args = _parse_args()
    if args.probe:
        config, model, steps = args.probe
        print(json.dumps(probe(config, model, int(steps))))
        return
    sys.path.insert(0, str(HERE.parent))
    from tinygrad_np.kernels import threads

    print(f"{threads.default_num_threads()} usable cores; {args.steps} timed steps per process, "
          f"{args.rounds} round(s); OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}")
    for model in args.models.split(","):
        results: dict[str, list[float]] = {name: [] for name in CONFIGS}
        for _ in range(args.rounds):  # rounds alternate the configurations, so load hits them alike
            for name in CONFIGS:
                results[name].append(_run(name, model, args.steps))
        medians = {name: statistics.median(ms) for name, ms in results.items()}
        line = ", ".join(f"{name} {ms:.1f} ms" for name, ms in medians.items())
        rounds = " ".join(f"{p / c:.2f}" for p, c in zip(results["plain"], results["command"]))
        print(f"model {model}: {line}; plain / command {medians['plain'] / medians['command']:.2f}x "
              f"(per round: {rounds}; target <= 1.10), serial / plain {medians['serial'] / medians['plain']:.2f}x")


if __name__ == "__main__":
    main()
