"""Generate the documentation figures into docs/figures/ (committed, so building the docs needs no plotting).

Every figure is computed with the library itself: the graph drawings come from recorded graphs, the
backward order from the engine's own run, the im2col and pooling pictures from the real ops.

    python docs/_scripts/make_figures.py          # from the repository root; needs matplotlib and `dot`
"""
from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("MPLBACKEND", "Agg")

import graphviz  # noqa: E402
import matplotlib  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.patches import FancyArrowPatch, Rectangle  # noqa: E402

import tinygrad_np as tg  # noqa: E402
from tinygrad_np.autograd import engine  # noqa: E402
from tinygrad_np.viz import draw_graph  # noqa: E402

OUT = ROOT / "docs" / "figures"
FIGURES: dict[str, Callable[[Path], None]] = {}

STYLE = {"svg.hashsalt": "tinygrad_np", "font.size": 10, "font.family": "DejaVu Sans"}  # stable SVG ids
BLUE, ORANGE, GREEN = "#cfe2ff", "#ffe0b2", "#c8f0c8"


def figure(name: str) -> Callable[[Callable[[Path], None]], Callable[[Path], None]]:
    """Register a function that writes docs/figures/<name> (run with the figures' matplotlib style)."""
    def register(fn: Callable[[Path], None]) -> Callable[[Path], None]:
        def make(path: Path) -> None:
            with matplotlib.rc_context(STYLE):
                fn(path)
        FIGURES[name] = make
        return fn
    return register


def save_svg(fig: plt.Figure, path: Path) -> None:
    """Write a matplotlib figure as a reproducible SVG (no date, fixed ids)."""
    fig.savefig(path, format="svg", metadata={"Date": None, "Creator": None}, bbox_inches="tight")
    plt.close(fig)


def write_dot(graph: graphviz.Digraph, path: Path) -> None:
    path.write_bytes(graph.pipe(format="svg"))


def grid(ax: plt.Axes, values: np.ndarray, x0: float, y0: float, *, colors: np.ndarray | None = None,
         fmt: str = "{:g}", size: float = 1.0, fontsize: float = 9) -> None:
    """Draw a 2-D array as a grid of labelled cells whose top-left corner is at (x0, y0)."""
    rows, cols = values.shape
    for i in range(rows):
        for j in range(cols):
            color = "white" if colors is None else colors[i, j]
            ax.add_patch(Rectangle((x0 + j * size, y0 - (i + 1) * size), size, size, facecolor=color,
                                   edgecolor="#444444", linewidth=0.8))
            ax.text(x0 + (j + 0.5) * size, y0 - (i + 0.5) * size, fmt.format(values[i, j]),
                    ha="center", va="center", fontsize=fontsize)


def arrow(ax: plt.Axes, start: tuple[float, float], end: tuple[float, float], text: str = "") -> None:
    ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=14, color="#333333", lw=1.2))
    if text:
        ax.text((start[0] + end[0]) / 2, (start[1] + end[1]) / 2 + 0.35, text, ha="center", fontsize=9)


def blank_axes(width: float, height: float, xlim: tuple[float, float], ylim: tuple[float, float]
               ) -> tuple[plt.Figure, plt.Axes]:
    fig, ax = plt.subplots(figsize=(width, height))
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    ax.set_aspect("equal")
    ax.axis("off")
    return fig, ax


# -- concepts ------------------------------------------------------------------------------------
@figure("graph.svg")
def graph_figure(path: Path) -> None:
    """The graph of a small least-squares loss, drawn by tinygrad_np.viz."""
    tg.manual_seed(0)
    x = tg.randn(8, 3)
    w = tg.zeros(3, 1, requires_grad=True)
    b = tg.zeros(1, requires_grad=True)
    loss = ((x @ w + b) ** 2).mean()
    # top to bottom, a few nodes a row: drawn at its own size, its text is as large as the page's
    write_dot(draw_graph(loss, params={"x": x, "w": w, "b": b}, rankdir="TB", collapse=False), path)


@figure("backward-order.svg")
def backward_order_figure(path: Path) -> None:
    """A diamond graph labelled with the engine's consumer counts and the order its nodes really ran."""
    x = tg.Tensor([0.5], requires_grad=True, name="x")
    a = x.exp()
    b = a * 2.0
    c = a.tanh()
    y = b + c
    names = {a.grad_fn: "Exp", b.grad_fn: "Mul", c.grad_fn: "Tanh", y.grad_fn: "Add"}
    outputs = {a.grad_fn: "a", b.grad_fn: "b", c.grad_fn: "c", y.grad_fn: "y"}
    counts = engine._count_consumers([y.grad_fn])
    order: list[object] = []
    for t in (a, b, c, y):  # a hook on a tensor fires just before its node's backward runs
        t.register_hook(lambda g, node=t.grad_fn: order.append(node))
    y.backward()
    g = graphviz.Digraph(graph_attr={"rankdir": "LR", "fontname": "Helvetica", "fontsize": "11"},
                         node_attr={"fontname": "Helvetica", "fontsize": "11", "style": "filled"})
    g.node("x", "x (leaf)", shape="box", fillcolor=BLUE)
    circled = "①②③④⑤⑥"
    for node, name in names.items():
        step = circled[order.index(node)]
        g.node(name, f"<{step} <b>{name}</b><br/>[{counts[node]} consumer{'s' if counts[node] != 1 else ''}]>",
               shape="ellipse", fillcolor="#fff3c4")
        g.node(outputs[node], outputs[node], shape="box", fillcolor=GREEN if name == "Add" else "white")
        g.edge(name, outputs[node])
    g.edge("x", "Exp")
    g.edge("a", "Mul")
    g.edge("a", "Tanh")
    g.edge("b", "Add")
    g.edge("c", "Add")
    write_dot(g, path)


@figure("layers.svg")
def layers_figure(path: Path) -> None:
    """The package's layers and an arrow wherever one really imports another, read from the source by
    tests/test_layering.py (which checks every arrow points down). Every layer uses base, and
    tinygrad_np/__init__.py gathers names from all of them: those arrows are left out."""
    from tests import test_layering as layering

    names = [name for name, _ in layering.LAYERS]
    edges = {(layering.layer_of(m), layering.layer_of(t)) for m in layering.MODULES for t, _, _ in layering.imports(m)}
    g = graphviz.Digraph(graph_attr={"rankdir": "TB", "fontname": "Helvetica", "fontsize": "11", "nodesep": "0.3",
                                     "ranksep": "0.35"},
                         node_attr={"fontname": "Helvetica", "fontsize": "12", "style": "filled,rounded",
                                    "shape": "box", "margin": "0.15,0.06"},
                         edge_attr={"color": "#555555", "arrowsize": "0.7"})
    for name, prefixes in layering.LAYERS:
        if name == "package":
            continue
        shown = "<br/>".join(p + ("/" if (layering.PACKAGE / p).is_dir() else ".py") for p in prefixes)
        fill = GREEN if name == "core" else ORANGE if name == "ops" else BLUE
        g.node(name, f"<<b>{name}</b><br/><font point-size='10'>{shown}</font>>", fillcolor=fill)
    base = names.index("base")
    for a, b in sorted(edges):
        if a != b and b != base and names[a] != "package":
            g.edge(names[a], names[b])
    g.edge("core", "base", style="dashed", label="  every layer", fontname="Helvetica", fontsize="10")
    write_dot(g, path)


@figure("sum-to.svg")
def sum_to_figure(path: Path) -> None:
    """Broadcasting (3, 1) + (4,) to (3, 4), and the gradient summed back with sum_to."""
    a = tg.Tensor(np.array([[1.0], [2.0], [3.0]]), requires_grad=True)
    b = tg.Tensor(np.array([10.0, 20.0, 30.0, 40.0]), requires_grad=True)
    out = a + b
    upstream = np.arange(1.0, 13.0).reshape(3, 4)
    out.backward(upstream)
    fig, ax = blank_axes(8, 6, (-0.5, 15), (-11.3, 1.8))
    ax.text(0, 1.2, "forward: broadcast", fontsize=11, weight="bold")
    grid(ax, a.numpy(), 0, 0, colors=np.full((3, 1), BLUE))
    ax.text(0.5, -3.6, "a (3, 1)", ha="center")
    ax.text(1.9, -1.5, "+", fontsize=16, ha="center", va="center")
    grid(ax, b.numpy().reshape(1, 4), 2.6, -1, colors=np.full((1, 4), ORANGE))
    ax.text(4.6, -2.6, "b (4,)", ha="center")
    arrow(ax, (7.2, -1.5), (9.6, -1.5))
    grid(ax, out.numpy(), 10, 0, colors=np.full((3, 4), GREEN))
    ax.text(12, -3.6, "a + b (3, 4)", ha="center")

    ax.text(0, -4.4, "backward: sum_to", fontsize=11, weight="bold")
    ax.text(2, -5.2, "upstream gradient (3, 4)", ha="center")
    grid(ax, upstream, 0, -5.5, colors=np.full((3, 4), GREEN))
    arrow(ax, (4.4, -7.0), (9.6, -7.0), "sum over axis 1")
    grid(ax, a.grad.numpy(), 10, -5.5, colors=np.full((3, 1), BLUE))
    ax.text(10.5, -9.1, "a.grad (3, 1)", ha="center")
    arrow(ax, (2, -8.6), (2, -9.9))
    ax.text(2.3, -9.4, "sum over axis 0", fontsize=9)
    grid(ax, b.grad.numpy().reshape(1, 4), 0, -10.0, colors=np.full((1, 4), ORANGE))
    ax.text(4.3, -10.6, "b.grad (4,)")
    save_svg(fig, path)


# -- convolution ---------------------------------------------------------------------------------
WINDOW_COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728"]
WINDOW_FILLS = ["#d6e6f5", "#ffe5cc", "#d8f0d8", "#f7d4d4"]


@figure("im2col.svg")
def im2col_figure(path: Path) -> None:
    """A 4x4 image, its four 3x3 windows, and the 9x4 matrix unfold (im2col) makes of them."""
    from tinygrad_np.functional import unfold

    image = np.arange(1.0, 17.0).reshape(1, 1, 4, 4)
    cols = unfold(tg.Tensor(image), 3).numpy()[0]            # (C*KH*KW, OH*OW) = (9, 4)
    fig, ax = blank_axes(9, 5.4, (-0.8, 15.5), (-10.3, 1.6))
    ax.text(0, 1.0, "image x (1, 1, 4, 4)", fontsize=11, weight="bold")
    grid(ax, image[0, 0], 0, 0)
    for p, (oy, ox) in enumerate([(0, 0), (0, 1), (1, 0), (1, 1)]):
        inset = 0.08 + 0.07 * p
        ax.add_patch(Rectangle((ox + inset, -(oy + 3) + inset), 3 - 2 * inset, 3 - 2 * inset, fill=False,
                               edgecolor=WINDOW_COLORS[p], linewidth=2.2))
    ax.text(0, -4.7, "four 3x3 windows (stride 1):\nwindow p is output pixel p", fontsize=9, va="top")
    arrow(ax, (4.6, -2.0), (7.4, -2.0), "im2col")
    ax.text(8, 1.0, "columns (1, 9, 4)", fontsize=11, weight="bold")
    colors = np.array([[WINDOW_FILLS[p] for p in range(4)] for _ in range(9)])
    grid(ax, cols, 8, 0, colors=colors, size=1.0)
    for r, (i, j) in enumerate((i, j) for i in range(3) for j in range(3)):
        ax.text(12.2, -(r + 0.5), f"kernel ({i}, {j})", fontsize=8, va="center")
    for p in range(4):
        ax.text(8.5 + p, -9.5, f"p={p}", fontsize=8, ha="center", color=WINDOW_COLORS[p])
    save_svg(fig, path)


@figure("col2im.svg")
def col2im_figure(path: Path) -> None:
    """fold (col2im) of all-ones columns: each pixel receives one addition per window covering it."""
    from tinygrad_np.functional import fold

    ones = np.ones((1, 9, 4))
    counts = fold(tg.Tensor(ones), (4, 4), 3).numpy()[0, 0]
    fig, ax = blank_axes(6.6, 3.1, (-0.5, 12.5), (-5.0, 1.4))
    ax.text(0, 0.9, "columns of ones (1, 9, 4)", fontsize=10, weight="bold")
    grid(ax, ones[0], 0, 0, size=0.5, fontsize=7,
         colors=np.array([[WINDOW_FILLS[p] for p in range(4)] for _ in range(9)]))
    arrow(ax, (2.6, -2.2), (6.2, -2.2), "col2im")
    ax.text(6.8, 0.9, "image (1, 1, 4, 4)", fontsize=10, weight="bold")
    shade = plt.get_cmap("Blues")
    grid(ax, counts, 6.8, -0.2, colors=np.array([[shade(0.08 + 0.12 * v) for v in row] for row in counts]))
    ax.text(6.8, -4.6, "each pixel adds every window that covers it", fontsize=8)
    save_svg(fig, path)


# -- pooling and the loss ------------------------------------------------------------------------
@figure("maxpool.svg")
def maxpool_figure(path: Path) -> None:
    """2x2 max pooling: the maxima, the stored offsets, and the gradient routed back to them."""
    from tinygrad_np.functional import max_pool2d
    from tinygrad_np.kernels.pool import max_pool2d_forward
    from tinygrad_np.ops.windows import make_geometry

    values = np.array([[1, 6, 2, 3], [5, 3, 0, 8], [7, 2, 9, 4], [1, 0, 6, 9.5]], dtype=np.float64)
    x = tg.Tensor(values.reshape(1, 1, 4, 4), requires_grad=True)
    out = max_pool2d(x, 2)
    upstream = np.array([[0.1, 0.2], [0.3, 0.4]])
    out.backward(upstream.reshape(1, 1, 2, 2))
    geom = make_geometry("max_pool2d", (1, 1, 4, 4), (2, 2), (2, 2), (0, 0, 0, 0), (1, 1))
    _, index = max_pool2d_forward(values.reshape(1, 1, 4, 4), geom)
    winner = x.grad.numpy()[0, 0] != 0
    fills = np.array([[WINDOW_FILLS[(i // 2) * 2 + j // 2] for j in range(4)] for i in range(4)], dtype=object)
    highlight = np.where(winner, "#ffd54f", fills)

    fig, ax = blank_axes(11, 3.6, (-0.5, 27.5), (-5.6, 1.7))
    ax.text(0, 1.0, "x (1, 1, 4, 4)", fontsize=10, weight="bold")
    grid(ax, values, 0, 0, colors=highlight, fmt="{:g}")
    arrow(ax, (4.3, -2), (6.2, -2), "max")
    ax.text(6.6, 1.0, "out (2x2)", fontsize=10, weight="bold")
    grid(ax, out.numpy()[0, 0], 6.6, -1, colors=np.array(WINDOW_FILLS, dtype=object).reshape(2, 2), fmt="{:g}")
    ax.text(10.3, 1.0, "saved offsets", fontsize=10, weight="bold")
    grid(ax, index[0, 0].astype(float), 10.3, -1, fmt="{:.0f}",
         colors=np.array(WINDOW_FILLS, dtype=object).reshape(2, 2))
    ax.text(10.3, -3.6, "row-major index of the\nmaximum in its window", fontsize=8, va="top")
    ax.text(15.3, 1.0, "upstream grad", fontsize=10, weight="bold")
    grid(ax, upstream, 15.3, -1, colors=np.array(WINDOW_FILLS, dtype=object).reshape(2, 2), fmt="{:g}")
    arrow(ax, (17.6, -2), (19.6, -2), "scatter")
    ax.text(20, 1.0, "x.grad (1, 1, 4, 4)", fontsize=10, weight="bold")
    grid(ax, x.grad.numpy()[0, 0], 20, 0, colors=highlight, fmt="{:g}")
    save_svg(fig, path)


@figure("softmax-ce.svg")
def softmax_ce_figure(path: Path) -> None:
    """One sample's softmax, its one-hot target, and the cross-entropy gradient softmax - onehot."""
    from tinygrad_np.functional import cross_entropy, softmax

    logits = tg.Tensor(np.array([[1.0, 3.0, 0.5, 2.2, -1.0]]), requires_grad=True)
    target = np.array([3])
    probs = softmax(logits, axis=1).numpy()[0]
    cross_entropy(logits, target, reduction="sum").backward()
    onehot = np.eye(5)[3]
    classes = np.arange(5)
    fig, axes = plt.subplots(1, 3, figsize=(10, 2.8), layout="constrained", sharex=True)
    axes[0].bar(classes, logits.numpy()[0], color="#9e9e9e")
    axes[0].set_title("logits z")
    axes[1].bar(classes - 0.2, probs, width=0.4, color="#1f77b4", label="softmax(z)")
    axes[1].bar(classes + 0.2, onehot, width=0.4, color="#ff7f0e", label="one-hot target (class 3)")
    axes[1].set_title("probabilities")
    axes[1].legend(fontsize=8, loc="upper left")
    grad = logits.grad.numpy()[0]
    axes[2].bar(classes, grad, color=["#2ca02c" if g < 0 else "#d62728" for g in grad])
    axes[2].axhline(0, color="black", lw=0.6)
    axes[2].set_title("d loss / d z = softmax(z) - onehot")
    for ax in axes:
        ax.set_xticks(classes)
        ax.set_xlabel("class")
    save_svg(fig, path)


def main(names: list[str]) -> None:
    OUT.mkdir(exist_ok=True)
    for name in names or list(FIGURES):
        if name not in FIGURES:
            raise SystemExit(f"unknown figure {name!r}; choose from {', '.join(FIGURES)}")
        FIGURES[name](OUT / name)
        print(f"wrote docs/figures/{name}")


if __name__ == "__main__":
    main(sys.argv[1:])
