"""Train a CNN on MNIST end to end: ``python -m tinygrad_np.examples.mnist`` (or ``tinygrad-np-mnist``).

The default run (model ``cnn``, Adam at lr 1e-3 with a per-step cosine decay to 0, batch 128,
5 epochs) reaches 99% on the official 10,000 test images. Each epoch writes to ``--out``:

- ``checkpoint.npz``: parameters, optimizer and scheduler state, epoch, RNG states and settings,
  enough for ``--resume`` to end with the same parameters, bit for bit, as an uninterrupted run;
- ``metrics.json``: per-epoch losses, accuracies and times, plus a trace of the training loss;
- ``curves.png``: loss and accuracy curves.

Examples::

    python -m tinygrad_np.examples.mnist                          # 5 epochs of cnn
    python -m tinygrad_np.examples.mnist --model simple --epochs 3
    python -m tinygrad_np.examples.mnist --limit 2000 --epochs 1  # a quick look
    python -m tinygrad_np.examples.mnist --resume runs/mnist-cnn/checkpoint.npz
    python -m tinygrad_np.examples.mnist --eval-only runs/mnist-cnn/checkpoint.npz
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .. import functional as F
from ..autograd.grad_mode import no_grad
from ..data import DataLoader, load_mnist, normalize
from ..fileio import atomic_write
from ..optim import SGD, Adam, Optimizer
from ..optim.lr_scheduler import CosineAnnealingLR
from ..kernels.threads import get_num_threads, set_num_threads
from ..random import get_rng, get_rng_state, manual_seed, set_rng_state
from ..serialization import load, save
from ..tensor import Tensor
from .mnist_models import MODELS, forward, init_params, num_params

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["DEFAULTS", "TrainingRun", "build_parser", "evaluate", "history_figure", "load_data", "main", "plot_history",
           "random_shift", "trace_every", "write_metrics"]

CHECKPOINT_KIND = "tinygrad_np.examples.mnist"
CHECKPOINT, METRICS, CURVES = "checkpoint.npz", "metrics.json", "curves.png"
EVAL_BATCH = 1000
TRACE_EVERY = 20  # training steps per point of the loss/accuracy trace (fewer in short epochs)


def trace_every(steps: int) -> int:
    """Training steps per trace point in an epoch of `steps`: TRACE_EVERY, or fewer so that even a
    short epoch gives about ten points (every step in an epoch of under 20)."""
    return max(1, min(TRACE_EVERY, steps // 10))

# The settings that define a run; a checkpoint stores them so --resume continues the same run.
DEFAULTS: dict[str, Any] = {
    "model": "cnn", "epochs": 5, "batch_size": 128, "optimizer": "adam", "lr": None, "seed": 0,
    "limit": None, "limit_test": None, "shift": 0,
}
DEFAULT_LR = {"adam": 1e-3, "sgd": 0.05}


# -- command line ----------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    """The command's options; run settings default to None so --resume can tell what was given."""
    p = argparse.ArgumentParser(
        prog="python -m tinygrad_np.examples.mnist",
        description="Train a CNN on MNIST with tinygrad_np, evaluate it on the 10k test images, and save a "
                    "checkpoint, per-epoch metrics (JSON) and curves (PNG).")
    p.add_argument("--model", choices=MODELS, help="architecture (default: cnn)")
    p.add_argument("--epochs", type=_positive_int, help="epochs in the whole run (default: 5)")
    p.add_argument("--batch-size", type=_positive_int, help="training batch size (default: 128)")
    p.add_argument("--lr", type=_positive_float,
                   help="starting learning rate, decayed to 0 by a cosine over all steps (default: 1e-3 for adam, "
                        "0.05 for sgd)")
    p.add_argument("--optimizer", choices=("adam", "sgd"),
                   help="adam, or sgd with Nesterov momentum 0.9 (default: adam)")
    p.add_argument("--seed", type=int, help="seed for initialisation and shuffling (default: 0)")
    p.add_argument("--shift", type=_non_negative_int, metavar="PX",
                   help="augment: move each training image by a random offset of up to PX pixels (default: 0)")
    p.add_argument("--limit", type=_positive_int, metavar="N", help="train on the first N training images only")
    p.add_argument("--limit-test", type=_positive_int, metavar="N", help="evaluate on the first N test images only")
    p.add_argument("--data-dir", type=Path, help="where MNIST is cached (default: the data layer's cache)")
    p.add_argument("--out", type=Path, metavar="DIR",
                   help="output directory (default: runs/mnist-<model>, or the checkpoint's folder with --resume)")
    p.add_argument("--stop-after", type=_positive_int, metavar="E",
                   help="end this invocation once E epochs of the run are done (the schedule still spans "
                        "--epochs); continue later with --resume")
    p.add_argument("--threads", type=_positive_int, metavar="N",
                   help="threads for tinygrad_np's kernels, tg.set_num_threads (default: tg.get_num_threads(), "
                        "every core this process may use; 1 on a machine busy with other work)")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--resume", type=Path, metavar="CKPT", help="continue the run saved in CKPT")
    mode.add_argument("--eval-only", type=Path, metavar="CKPT", help="only evaluate CKPT on the test set")
    return p


def _positive_int(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def _non_negative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be a non-negative integer, got {text}")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0 or not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return value


def _settings(args: argparse.Namespace, saved: Mapping[str, Any] | None,
              parser: argparse.ArgumentParser) -> dict[str, Any]:
    """The run's settings: the defaults (or a checkpoint's), with the options given on the command line."""
    given = {k: getattr(args, k) for k in DEFAULTS if getattr(args, k) is not None}
    if saved is None:
        settings = {**DEFAULTS, **given}
        if settings["lr"] is None:
            settings["lr"] = DEFAULT_LR[settings["optimizer"]]
        return settings
    clashes = [f"--{k.replace('_', '-')} {v} (the checkpoint has {saved.get(k)})"
               for k, v in given.items() if saved.get(k) != v]
    if clashes:
        parser.error("--resume continues a run with its own settings; these options differ from it: "
                     + "; ".join(clashes))
    return dict(saved)


# -- data ------------------------------------------------------------------------------------------
def load_data(data_dir: Path | None, limit: int | None = None, limit_test: int | None = None,
              train: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """MNIST as normalised float32 images (N, 1, 28, 28) and int64 labels, each set cut to its first
    `limit` / `limit_test` images; with train=False the training arrays come back empty."""
    x_train, y_train, x_test, y_test = load_mnist(root=data_dir)
    x_train, y_train = (x_train[:limit], y_train[:limit]) if train else (x_train[:0], y_train[:0])
    x_test, y_test = x_test[:limit_test], y_test[:limit_test]
    return normalize(x_train), y_train.astype(np.int64), normalize(x_test), y_test.astype(np.int64)


def random_shift(images: np.ndarray, max_shift: int, rng: np.random.Generator, fill: float) -> np.ndarray:
    """Move each image (N, C, H, W) by its own random offset in [-max_shift, max_shift] along each
    axis, filling the uncovered border with `fill`: translation augmentation in one gather, no loop."""
    if max_shift == 0:
        return images
    n, _, h, w = images.shape
    s = max_shift
    padded = np.pad(images, ((0, 0), (0, 0), (s, s), (s, s)), constant_values=fill)
    windows = sliding_window_view(padded, (h, w), axis=(2, 3))  # (N, C, 2s+1, 2s+1, H, W), a view
    dy, dx = rng.integers(0, 2 * s + 1, size=(2, n))
    return windows[np.arange(n), :, dy, dx]  # the window at offset (dy, dx) of each image


def background_value() -> float:
    """What a blank (0) pixel becomes after `normalize`: the fill for shifted-in borders."""
    return float(normalize(np.zeros((1, 1), dtype=np.uint8), add_channel=False)[0, 0])


# -- training pieces -------------------------------------------------------------------------------
def make_optimizer(name: str, params: Mapping[str, Tensor], lr: float) -> Optimizer:
    """Adam, or SGD with Nesterov momentum 0.9."""
    if name == "adam":
        return Adam(params, lr=lr)
    if name == "sgd":
        return SGD(params, lr=lr, momentum=0.9, nesterov=True)
    raise ValueError(f"make_optimizer: unknown optimizer {name!r}; choose adam or sgd")


def evaluate(model: str, params: Mapping[str, Tensor], x: np.ndarray, y: np.ndarray,
             batch_size: int = EVAL_BATCH) -> tuple[float, float]:
    """Mean cross-entropy and accuracy of `model` on (x, y), in big batches without recording a graph."""
    total_loss, correct = 0.0, 0
    with no_grad():
        for start in range(0, len(x), batch_size):
            xb, yb = x[start:start + batch_size], y[start:start + batch_size]
            logits = forward(model, params, Tensor(xb))
            total_loss += F.cross_entropy(logits, yb).item() * len(yb)
            correct += int((logits.data.argmax(axis=1) == yb).sum())
    n = max(len(x), 1)
    return total_loss / n, correct / n


class TrainingRun:
    """One training run: its settings, parameters, optimizer, schedule, data order and history.

    Built fresh (seeded by settings["seed"]) or from a checkpoint's `state_dict()`, after which it
    continues exactly where the saved run stopped.
    """

    def __init__(self, settings: Mapping[str, Any], x_train: np.ndarray, y_train: np.ndarray,
                 checkpoint: Mapping[str, Any] | None = None) -> None:
        self.settings = dict(settings)
        self.model = settings["model"]
        self.loader = DataLoader(x_train, y_train, batch_size=settings["batch_size"], shuffle=True,
                                 seed=settings["seed"])
        if checkpoint is None:
            manual_seed(settings["seed"])
            self.params = init_params(self.model)
            self.epoch = 0
            self.history: list[dict[str, Any]] = []
            self.trace: dict[str, list[float]] = {"epoch": [], "loss": [], "accuracy": []}
        else:
            self.params = {name: Tensor(np.array(value, dtype=np.float32), requires_grad=True, name=name)
                           for name, value in checkpoint["params"].items()}
            self.epoch = int(checkpoint["epoch"])
            self.history = list(checkpoint["history"])
            self.trace = {k: list(v) for k, v in checkpoint["trace"].items()}
        self.optimizer = make_optimizer(settings["optimizer"], self.params, settings["lr"])
        self.scheduler = CosineAnnealingLR(self.optimizer, T_max=settings["epochs"] * len(self.loader))
        if checkpoint is not None:
            # after building the scheduler, whose first step sets the lr that the saved state replaces
            self.optimizer.load_state_dict(checkpoint["optimizer"])
            self.scheduler.load_state_dict(checkpoint["scheduler"])
            self.loader.load_state_dict(checkpoint["loader"])
            set_rng_state(checkpoint["rng"])

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue the run bit for bit (what the checkpoint holds)."""
        return {
            "kind": CHECKPOINT_KIND,
            "settings": self.settings,
            "epoch": self.epoch,
            "params": {name: p.data for name, p in self.params.items()},
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "rng": get_rng_state(),
            "loader": self.loader.state_dict(),
            "history": self.history,
            "trace": self.trace,
        }

    def train_epoch(self) -> dict[str, float]:
        """One pass over the training set (forward, cross-entropy, backward, optimizer and schedule
        step per batch); returns the epoch's training loss, accuracy and speed."""
        from tqdm.auto import tqdm

        model, params, loader = self.model, self.params, self.loader
        optimizer, scheduler = self.optimizer, self.scheduler
        steps = len(loader)
        shift, fill, rng = self.settings["shift"], background_value(), get_rng()
        total_loss, correct, seen = 0.0, 0, 0
        window_loss, window_correct, window_seen = 0.0, 0, 0
        every = trace_every(steps)
        loader.set_epoch(self.epoch)
        start = time.perf_counter()
        # A manual bar: tqdm.auto's wrapper would call iter() on the loader twice, skipping an epoch's order.
        bar = tqdm(total=steps, desc=f"epoch {self.epoch + 1}/{self.settings['epochs']}", unit="batch",
                   disable=None, leave=False, dynamic_ncols=True)
        for i, (xb, yb) in enumerate(loader):
            logits = forward(model, params, Tensor(random_shift(xb, shift, rng, fill)))
            loss = F.cross_entropy(logits, yb)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            scheduler.step()

            n = len(yb)
            batch_loss = loss.item() * n
            batch_correct = int((logits.data.argmax(axis=1) == yb).sum())
            total_loss, correct, seen = total_loss + batch_loss, correct + batch_correct, seen + n
            window_loss, window_correct, window_seen = (window_loss + batch_loss, window_correct + batch_correct,
                                                        window_seen + n)
            if (i + 1) % every == 0 or i + 1 == steps:
                self.trace["epoch"].append(self.epoch + (i + 1) / steps)
                self.trace["loss"].append(window_loss / window_seen)
                self.trace["accuracy"].append(window_correct / window_seen)
                window_loss, window_correct, window_seen = 0.0, 0, 0
            if i % 10 == 0 or i + 1 == steps:
                elapsed = time.perf_counter() - start
                bar.set_postfix(loss=f"{total_loss / seen:.4f}", acc=f"{correct / seen:.2%}",
                                img_s=f"{seen / max(elapsed, 1e-9):.0f}", refresh=False)
            bar.update(1)
        bar.close()
        seconds = time.perf_counter() - start
        self.epoch += 1
        return {"train_loss": total_loss / max(seen, 1), "train_accuracy": correct / max(seen, 1),
                "train_seconds": seconds, "images_per_second": seen / max(seconds, 1e-9)}


# -- outputs ---------------------------------------------------------------------------------------
def write_metrics(path: Path, settings: Mapping[str, Any], history: Sequence[Mapping[str, Any]],
                  trace: Mapping[str, Sequence[float]], parameters: int) -> None:
    """The run's settings, per-epoch metrics and loss trace as JSON, written atomically."""
    doc = {"settings": dict(settings), "parameters": parameters, "epochs": list(history), "trace": dict(trace)}
    with atomic_write(path, "w") as f:
        json.dump(doc, f, indent=2)
        f.write("\n")


def plot_history(path: Path, history: Sequence[Mapping[str, Any]], trace: Mapping[str, Sequence[float]],
                 title: str = "") -> None:
    """Loss and accuracy curves (training trace and per-epoch test points) as a PNG, written atomically."""
    import matplotlib

    matplotlib.use("Agg")
    fig = history_figure(history, trace, title)
    with atomic_write(path, "wb") as f:
        fig.savefig(f, format="png", dpi=100)


def history_figure(history: Sequence[Mapping[str, Any]], trace: Mapping[str, Sequence[float]],
                   title: str = "") -> Figure:
    """The loss and accuracy panels against epochs (fractional along the training trace), every point
    in frame: the axis limits come from the data, so a run of one short epoch is as readable as a long one."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter

    fig = Figure(figsize=(10, 4), layout="constrained")
    loss_ax, acc_ax = fig.subplots(1, 2)
    epochs = [h["epoch"] for h in history]
    x_train = list(trace["epoch"])
    train_style = {"lw": 1.2, "marker": "." if len(x_train) <= 50 else None, "label": "train (running mean)"}
    loss_ax.plot(x_train, trace["loss"], **train_style)
    loss_ax.plot(epochs, [h["test_loss"] for h in history], "o-", label="test")
    loss_ax.set(xlabel="epoch", ylabel="cross-entropy", yscale="log", title="loss")
    plain = FuncFormatter(lambda v, _: f"{v:g}")  # 0.5, 1, 2 rather than 5x10^-1, 10^0, 2x10^0
    loss_ax.yaxis.set_major_formatter(plain)
    losses = [v for v in list(trace["loss"]) + [h["test_loss"] for h in history] if v > 0]
    if losses and max(losses) < 10 * min(losses):  # within a decade: label the minor ticks too
        loss_ax.yaxis.set_minor_formatter(plain)
    acc_train = [100 * a for a in trace["accuracy"]]
    acc_test = [100 * h["test_accuracy"] for h in history]
    acc_ax.plot(x_train, acc_train, **train_style)
    acc_ax.plot(epochs, acc_test, "o-", label="test")
    acc_ax.set(xlabel="epoch", ylabel="accuracy (%)", title="accuracy")
    accuracies = acc_train + acc_test
    if accuracies:
        low, high = min(accuracies), max(accuracies)
        pad = max(0.5, 0.05 * (high - low))
        acc_ax.set_ylim(max(0.0, low - pad), min(100.0, high + pad) + 0.2)
    last = max(x_train + epochs, default=1.0)
    for ax in (loss_ax, acc_ax):
        ax.set_xlim(0, 1.03 * last)  # from the start of training to just past the last point
        ax.grid(alpha=0.3)
        ax.legend()
    if title:
        fig.suptitle(title)
    return fig


def _epoch_line(h: Mapping[str, Any], total_epochs: int) -> str:
    return (f"epoch {h['epoch']}/{total_epochs}: train loss {h['train_loss']:.4f}, train acc "
            f"{h['train_accuracy']:.2%}, test loss {h['test_loss']:.4f}, test acc {h['test_accuracy']:.2%}, "
            f"time {h['train_seconds']:.1f}s ({h['images_per_second']:.0f} img/s) + eval {h['eval_seconds']:.1f}s")


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _describe(run: TrainingRun, n_test: int, resumed: bool) -> str:
    settings = run.settings
    text = (f"{settings['model']}: {num_params(run.params):,} parameters; {len(run.loader.x):,} training and "
            f"{n_test:,} test images; {settings['optimizer']} lr {settings['lr']:g} (cosine per step), batch "
            f"{settings['batch_size']}, {_plural(settings['epochs'], 'epoch')}")
    if settings["shift"]:
        text += f", random shifts of up to {settings['shift']} px"
    return text + (f"; resuming after epoch {run.epoch}" if resumed else "")


# -- the two modes ---------------------------------------------------------------------------------
def _read_checkpoint(path: Path, parser: argparse.ArgumentParser) -> dict[str, Any]:
    if not path.is_file():
        parser.error(f"no checkpoint at {path}")
    ckpt = load(path)
    if not isinstance(ckpt, dict) or ckpt.get("kind") != CHECKPOINT_KIND:
        parser.error(f"{path} is a tinygrad_np checkpoint but not one written by this command")
    return ckpt


def _eval_only(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    ckpt = _read_checkpoint(args.eval_only, parser)
    settings = ckpt["settings"]
    model = settings["model"]
    if args.model is not None and args.model != model:
        parser.error(f"--model {args.model} differs from the checkpoint's model {model}")
    params = {name: Tensor(value) for name, value in ckpt["params"].items()}
    _, _, x_test, y_test = load_data(args.data_dir, limit_test=args.limit_test, train=False)
    start = time.perf_counter()
    loss, accuracy = evaluate(model, params, x_test, y_test)
    seconds = time.perf_counter() - start
    print(f"{args.eval_only} ({model}, epoch {ckpt['epoch']}/{settings['epochs']}): test accuracy "
          f"{accuracy:.2%} ({round(accuracy * len(y_test))}/{len(y_test)}), test loss {loss:.4f}, {seconds:.1f}s")
    return 0


def _train(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    ckpt = _read_checkpoint(args.resume, parser) if args.resume is not None else None
    settings = _settings(args, ckpt["settings"] if ckpt is not None else None, parser)
    if args.out is not None:
        out = args.out
    elif args.resume is not None:
        out = args.resume.parent
    else:
        out = Path("runs") / f"mnist-{settings['model']}"
    epochs = settings["epochs"]
    stop = min(epochs, args.stop_after) if args.stop_after is not None else epochs

    x_train, y_train, x_test, y_test = load_data(args.data_dir, settings["limit"], settings["limit_test"])
    run = TrainingRun(settings, x_train, y_train, ckpt)
    out.mkdir(parents=True, exist_ok=True)
    print(_describe(run, len(x_test), resumed=ckpt is not None) + f"; writing to {out}")
    if run.epoch >= stop:
        print(f"nothing to do: the run already has {run.epoch} of its {_plural(epochs, 'epoch')}")
        return 0

    paths = {"checkpoint": out / CHECKPOINT, "metrics": out / METRICS, "curves": out / CURVES}
    while run.epoch < stop:
        metrics = run.train_epoch()
        start = time.perf_counter()
        test_loss, test_accuracy = evaluate(run.model, run.params, x_test, y_test)
        run.history.append({"epoch": run.epoch, **metrics, "test_loss": test_loss, "test_accuracy": test_accuracy,
                            "eval_seconds": time.perf_counter() - start, "lr": run.scheduler.get_last_lr()[0]})
        print(_epoch_line(run.history[-1], epochs), flush=True)
        save(run.state_dict(), paths["checkpoint"])
        write_metrics(paths["metrics"], settings, run.history, run.trace, num_params(run.params))
        plot_history(paths["curves"], run.history, run.trace,
                     title=f"MNIST {settings['model']}: test accuracy {test_accuracy:.2%} after epoch {run.epoch}")
    for what, path in paths.items():
        print(f"{what}: {path}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command line and train (or evaluate); returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    previous = get_num_threads()
    if args.threads is not None:
        set_num_threads(args.threads)
    try:
        if args.eval_only is not None:
            return _eval_only(args, parser)
        return _train(args, parser)
    finally:
        if args.threads is not None:
            set_num_threads(previous)


if __name__ == "__main__":
    sys.exit(main())
