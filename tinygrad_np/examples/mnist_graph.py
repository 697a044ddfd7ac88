"""Render the loss graph of an MNIST model: `python -m tinygrad_np.examples.mnist_graph --mnist --out graph.svg`.

The batch is random (2 images of 1x28x28 in [0, 1), random labels) since only the graph's shape
matters; `--show-grad` runs backward first so the drawing shows gradient norms.
"""
from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .. import functional as F
from ..random import get_rng, manual_seed
from ..tensor import Tensor
from ..viz import GraphDrawing, GraphvizNotFoundError, draw_graph, render_graph, summary
from . import mnist_models

_FORMATS = ("svg", "png", "pdf", "dot")
_MODELS = ("cnn", "simple", "tiny")


def mnist_loss_graph(model: str = "cnn", seed: int = 0, batch: int = 2, show_grad: bool = False,
                     **draw_kwargs: object) -> GraphDrawing:
    """Draw the cross-entropy loss graph of one MNIST model on a random batch."""
    manual_seed(seed)
    params = mnist_models.init_params(model, seed=seed)
    x, labels = _random_batch(batch)
    loss = F.cross_entropy(mnist_models.forward(model, params, x), labels)
    if show_grad:
        loss.backward()  # a plain backward keeps the structure: the drawing shows it all
    names = {**params, "images": x}
    return draw_graph(loss, params=names, show_grad=show_grad, **draw_kwargs)  # type: ignore[arg-type]


def mnist_summary(model: str = "cnn", seed: int = 0, batch: int = 2) -> str:
    """The summary table of one MNIST model's forward pass (logits) on a random batch."""
    manual_seed(seed)
    params = mnist_models.init_params(model, seed=seed)
    x, _ = _random_batch(batch)

    def logits(images: Tensor) -> Tensor:
        return mnist_models.forward(model, params, images)

    logits.__name__ = f"mnist_models.forward({model!r})"
    return summary(logits, x, params=params)


def _random_batch(batch: int) -> tuple[Tensor, np.ndarray]:
    rng = get_rng()
    images = Tensor(rng.random((batch, 1, 28, 28), dtype=np.float32))
    labels = rng.integers(0, 10, size=batch)
    return images, labels


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command line, draw the graph, write it; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m tinygrad_np.examples.mnist_graph",
        description="Draw the graph that backward walks for an MNIST model's loss.")
    parser.add_argument("--mnist", action="store_true", help="draw the MNIST model's loss graph")
    parser.add_argument("--model", choices=_MODELS, default="cnn", help="which MNIST model (default: cnn)")
    parser.add_argument("--out", default=None, help="output file (default: graph.<format>)")
    parser.add_argument("--format", choices=_FORMATS, default=None,
                        help="output format (default: from --out's suffix, else svg); dot needs no Graphviz")
    parser.add_argument("--show-grad", action="store_true", help="run backward and show gradient norms")
    parser.add_argument("--no-collapse", action="store_true", help="do not fold elementwise chains")
    parser.add_argument("--rankdir", choices=("TB", "LR", "BT", "RL"), default="TB")
    parser.add_argument("--summary", action="store_true", help="also print the summary table")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if not args.mnist:
        parser.error("nothing to draw: pass --mnist (e.g. --mnist --model cnn --out graph.svg)")
    fmt = args.format
    if fmt is None:
        suffix = Path(args.out).suffix.lstrip(".").lower() if args.out else ""
        fmt = suffix if suffix in _FORMATS else "svg"
    out = Path(args.out) if args.out else Path(f"graph.{fmt}")
    graph = mnist_loss_graph(args.model, seed=args.seed, show_grad=args.show_grad,
                             collapse=not args.no_collapse, rankdir=args.rankdir)
    if args.summary:
        print(mnist_summary(args.model, seed=args.seed))
    try:
        render_graph(graph, out, format=fmt)
    except GraphvizNotFoundError as exc:
        print(f"error: {exc}\nTip: `--format dot` writes the DOT source without Graphviz.", file=sys.stderr)
        return 1
    print(f"wrote {out} ({args.model} model loss graph, {fmt})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
