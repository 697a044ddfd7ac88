"""Draw the graph that backward walks as a Graphviz `Digraph` (DOT source needs no `dot` binary).

Tensor nodes are boxes (parameters blue, inputs and constants grey, intermediates white, roots
green with a bold border); op nodes are yellow ellipses with the op's key attributes. Edges follow
the data: input tensor -> op -> output tensor, one edge per use (`x * x` draws two edges from x).
"""
from __future__ import annotations

import html
import os
from collections import Counter, deque
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import graphviz
import numpy as np

from ..autograd.function import Function, StandIn
from ..tensor import Tensor
from .describe import array_arguments, is_elementwise, op_attributes, pack_items
from .walk import Walk, tensor_key, walk

_INSTALL_HINT = (
    "the Graphviz `dot` program was not found on PATH, so the graph cannot be rendered (the DOT "
    "source is still available via `.source` or tinygrad_np.viz.to_dot). Install Graphviz: "
    "`apt-get install graphviz` (Debian/Ubuntu), `brew install graphviz` (macOS), "
    "`conda install -c conda-forge graphviz`, or from https://graphviz.org/download/ (Windows)."
)

_PARAM_FILL, _INPUT_FILL, _TENSOR_FILL = "#cfe2ff", "#eeeeee", "#ffffff"
_OP_FILL, _FOLD_FILL, _OMITTED_FILL = "#fff3c4", "#ffe0b2", "#f5f5f5"
_ROOT_FILL, _ROOT_BORDER = "#c8f0c8", "#1b5e20"
_ZERO_FILL, _BAD_FILL = "#ffb74d", "#ff5252"  # all-zero gradient: orange; NaN/inf gradient: red
_LINE = 36  # op attributes are packed into lines of about this many characters
_SMALL = 8  # tensors with at most this many elements show their values under show_values


class GraphvizNotFoundError(graphviz.ExecutableNotFound):
    """Rendering needs the Graphviz `dot` program; the message says how to install it."""

    def __init__(self) -> None:
        RuntimeError.__init__(self, _INSTALL_HINT)


class GraphDrawing(graphviz.Digraph):
    """A `graphviz.Digraph` whose rendering errors say how to install Graphviz.

    It displays inline in Jupyter (`_repr_mimebundle_`) and renders with `.render(format=...)`.
    Without `dot`, Jupyter shows the DOT source under a note on how to get pictures, and every
    call that renders raises `GraphvizNotFoundError`.
    """

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None, **kwargs: Any) -> dict[str, Any]:
        try:
            return super()._repr_mimebundle_(include, exclude, **kwargs)
        except GraphvizNotFoundError as exc:
            return {"text/plain": f"{exc}\n\n{self.source}"}

    def pipe(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().pipe(*args, **kwargs)
        except graphviz.ExecutableNotFound as exc:
            if isinstance(exc, GraphvizNotFoundError):
                raise
            raise GraphvizNotFoundError() from exc

    def render(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().render(*args, **kwargs)
        except graphviz.ExecutableNotFound as exc:
            if isinstance(exc, GraphvizNotFoundError):
                raise
            raise GraphvizNotFoundError() from exc


# -- public API ---------------------------------------------------------------------------------------
def draw_graph(
    *roots: Tensor,
    params: Mapping[str, Any] | None = None,
    show_grad: bool = False,
    show_values: bool = False,
    rankdir: str = "TB",
    max_nodes: int = 500,
    collapse: bool = True,
) -> GraphDrawing:
    """Draw the graph recorded behind `roots` (tensors and ops, edges in the direction data flows).

    `params` (e.g. a model's parameter dict or `locals()`) names tensors; `show_grad` adds each
    tensor's gradient norm and highlights all-zero (orange) and NaN/inf (red) gradients;
    `show_values` adds values (small tensors) or min/mean/max. With `collapse`, or when the graph
    has more than `max_nodes` nodes, single-input runs of elementwise ops fold into one node; if
    it is still too big, the nodes farthest from the roots are replaced by one "omitted" node.
    """
    if not roots:
        raise TypeError("draw_graph: pass at least one root Tensor, e.g. draw_graph(loss)")
    if rankdir not in ("TB", "BT", "LR", "RL"):
        raise ValueError(f"draw_graph: rankdir must be one of 'TB', 'BT', 'LR', 'RL', got {rankdir!r}")
    if not isinstance(max_nodes, int) or max_nodes < 1:
        raise ValueError(f"draw_graph: max_nodes must be a positive int, got {max_nodes!r}")
    w = walk(roots)
    layout = _Layout(w, _names(params), show_grad, show_values)
    full_size = 2 * len(w.ops) + len(w.leaves)
    if collapse or full_size > max_nodes:
        layout.fold_chains()
    layout.build()
    keep, omitted = layout.select(max_nodes)
    return layout.emit(keep, omitted, rankdir)


def to_dot(*roots: Tensor, **kwargs: Any) -> str:
    """The DOT source of `draw_graph(*roots, **kwargs)` as a string (no Graphviz binary needed)."""
    return draw_graph(*roots, **kwargs).source


def render_graph(
    graph: graphviz.Digraph | Tensor | Sequence[Tensor],
    path: str | os.PathLike[str],
    format: str | None = None,
    **kwargs: Any,
) -> Path:
    """Write a drawing (or the drawing of the given root tensors) to `path`; returns the path.

    `format` defaults to the file's suffix ("svg", "png", "pdf", ...) or svg; "dot"/"gv" writes the
    DOT source and needs no Graphviz binary. Without `dot` on PATH it raises an error that says how
    to install Graphviz.
    """
    if isinstance(graph, Tensor):
        graph = draw_graph(graph, **kwargs)
    elif not isinstance(graph, graphviz.Digraph):
        graph = draw_graph(*graph, **kwargs)
    elif kwargs:
        raise TypeError(f"render_graph: drawing options {sorted(kwargs)} apply only when passing root tensors")
    path = Path(path)
    fmt = (format or path.suffix.lstrip(".") or "svg").lower()
    if fmt in ("dot", "gv"):
        path.write_text(graph.source, encoding="utf-8")
        return path
    try:
        data = graph.pipe(format=fmt)
    except graphviz.ExecutableNotFound as exc:
        if isinstance(exc, GraphvizNotFoundError):
            raise
        raise GraphvizNotFoundError() from exc
    path.write_bytes(data)
    return path


# -- building the drawing -----------------------------------------------------------------------------
def _names(params: Mapping[str, Any] | None) -> dict[object, str]:
    """tensor_key -> name for the Tensors in `params` (other values, e.g. from locals(), are skipped)."""
    names: dict[object, str] = {}
    if params is None:
        return names
    if not isinstance(params, Mapping):
        raise TypeError(f"draw_graph: params must be a dict of name -> Tensor, got {type(params).__name__}")
    for name, value in params.items():
        if isinstance(value, Tensor) and tensor_key(value) not in names:
            names[tensor_key(value)] = str(name)
    return names


class _Layout:
    """The drawing's nodes and edges, built from a walk; labels are made only for nodes kept."""

    def __init__(self, w: Walk, names: dict[object, str], show_grad: bool, show_values: bool) -> None:
        self.w = w
        self.names = names
        self.show_grad = show_grad
        self.show_values = show_values
        self.root_keys = {tensor_key(r): r for r in w.roots}
        self.runs: dict[Function, list[Function]] = {}  # last op of a folded run -> the run
        self.folded: set[Function] = set()  # ops inside runs, except the last
        self.absorbed: dict[Function, int] = {}  # last op of a run -> constants hidden in it
        self.chain_in: dict[Function, Tensor] = {}
        # nodes: dot name -> (kind, payload); edges between dot names
        self.nodes: dict[str, tuple[str, Any]] = {}
        self.edges: list[tuple[str, str]] = []

    # -- folding ------------------------------------------------------------------------------
    def _named(self, t: Tensor | None) -> bool:
        return t is not None and (tensor_key(t) in self.names or bool(t.name))

    def _absorbable(self, t: Tensor, op: Function) -> bool:
        """A constant used only by `op`, not named and not a root: hidden inside a folded run."""
        if t.grad_fn is not None or t.requires_grad or self._named(t) or id(t) in self.root_keys:
            return False
        return all(c is op for c in self.w.consumers.get(id(t), ()))

    def _chain_input(self, op: Function) -> tuple[Tensor | None, int]:
        """The one input an elementwise op transforms (others being private constants), or None;
        and how many such constants it has."""
        if not op.inputs or not is_elementwise(op):
            return None, 0
        found: Tensor | None = None
        constants = 0
        for t in op.inputs:
            if t is None:
                continue
            if self._absorbable(t, op):
                constants += 1
                continue
            if found is not None and tensor_key(found) != tensor_key(t):
                return None, 0
            found = t
        return found, constants

    def fold_chains(self) -> None:
        """Fold runs of single-input, single-consumer elementwise ops (two or more) into one node."""
        constants: dict[Function, int] = {}
        for op in self.w.ops:
            t, n = self._chain_input(op)
            if t is not None:
                self.chain_in[op] = t
                constants[op] = n
        following: dict[Function, Function] = {}
        has_prev: set[Function] = set()
        for op, t in self.chain_in.items():
            parent = t.grad_fn
            if parent is None or parent not in self.chain_in or parent in self.root_keys:
                continue
            if any(c is not op for c in self.w.consumers.get(parent, ())):
                continue
            out = self.w.outputs.get(parent)
            if self._named(out) or (out is not None and (out._retains_grad or out.grad is not None)):
                continue
            following[parent] = op
            has_prev.add(op)
        for op in self.w.ops:
            if op not in following or op in has_prev:
                continue
            run = [op]
            while run[-1] in following:
                run.append(following[run[-1]])
            last = run[-1]
            self.runs[last] = run
            self.folded.update(run[:-1])
            self.absorbed[last] = sum(constants[member] for member in run)

    # -- nodes and edges ------------------------------------------------------------------------
    def build(self) -> None:
        """Name every node in forward order and connect them: input tensors -> op -> output tensor."""
        tensor_names: dict[object, str] = {}
        counter = {"t": 0, "op": 0}

        def new(prefix: str) -> str:
            name = f"{prefix}{counter[prefix]}"
            counter[prefix] += 1
            return name

        def tensor_node(t: Tensor) -> str:
            key = tensor_key(t)
            name = tensor_names.get(key)
            if name is None:  # leaves appear when first used
                name = tensor_names[key] = new("t")
                self.nodes[name] = ("leaf", t)
            return name

        def argument_node(key: str, value: np.ndarray | Tensor) -> str:
            name = tensor_names.get(id(value))
            if name is None:  # an array argument (e.g. integer targets) is an input of its op too
                name = tensor_names[id(value)] = new("t")
                self.nodes[name] = ("argument", (key, value))
            return name

        for op in self.w.ops:
            if op in self.folded:
                continue
            run = self.runs.get(op)
            if run is None:
                srcs = [tensor_node(t) for t in op.inputs if t is not None]
                srcs += [argument_node(key, value) for key, value in array_arguments(op).items()]
                op_name = new("op")
                self.nodes[op_name] = ("op", op)
            else:
                srcs = [tensor_node(self.chain_in[run[0]])]
                op_name = new("op")
                self.nodes[op_name] = ("fold", run)
            for src in srcs:
                self.edges.append((src, op_name))
            out_name = tensor_names[op] = new("t")
            self.nodes[out_name] = ("out", op)
            self.edges.append((op_name, out_name))
        for root in self.w.roots:
            if root.grad_fn is None:
                tensor_node(root)
        self.root_names = [tensor_names[tensor_key(r)] for r in self.w.roots]

    def select(self, max_nodes: int) -> tuple[list[str], int]:
        """The nodes to draw: all of them, or the `max_nodes` closest to the roots (breadth first)."""
        if len(self.nodes) <= max_nodes:
            return list(self.nodes), 0
        preds: dict[str, list[str]] = {}
        for src, dst in self.edges:
            preds.setdefault(dst, []).append(src)
        kept: dict[str, None] = {}
        queue = deque(dict.fromkeys(self.root_names))
        while queue and len(kept) < max_nodes:
            name = queue.popleft()
            if name in kept:
                continue
            kept[name] = None
            queue.extend(p for p in preds.get(name, ()) if p not in kept)
        order = [n for n in self.nodes if n in kept]  # keep forward order in the output
        return order, len(self.nodes) - len(order)

    def emit(self, keep: list[str], omitted: int, rankdir: str) -> GraphDrawing:
        g = GraphDrawing(
            name="tinygrad_np",
            graph_attr={"rankdir": rankdir, "fontname": "Helvetica", "fontsize": "11"},
            node_attr={"fontname": "Helvetica", "fontsize": "11", "style": "filled", "margin": "0.08,0.04"},
            edge_attr={"arrowsize": "0.7"},
        )
        kept = set(keep)
        for name in keep:
            kind, payload = self.nodes[name]
            label, attrs = self._node_label(kind, payload)
            g.node(name, label=f"<{label}>", **attrs)
        for src, dst in self.edges:
            if src in kept and dst in kept:
                g.edge(src, dst)
        if omitted:
            g.node("omitted", label=f"<{omitted} more nodes omitted<br/>(max_nodes reached)>",
                   shape="note", fillcolor=_OMITTED_FILL, style="filled,dashed")
            cut = dict.fromkeys(dst for src, dst in self.edges if dst in kept and src not in kept)
            for dst in cut:
                g.edge("omitted", dst, style="dashed")
        if any(_lost(op) for op in self.w.ops):
            g.attr(label=_esc("backward() released some ops' inputs: only what the graph still holds is drawn. "
                              "Call backward(retain_graph=True) to keep the whole graph for drawing."),
                   labelloc="t")
        return g

    # -- labels ---------------------------------------------------------------------------------
    def _node_label(self, kind: str, payload: Any) -> tuple[str, dict[str, str]]:
        if kind == "op":
            return self._op_label(payload)
        if kind == "fold":
            return self._fold_label(payload)
        if kind == "leaf":
            return self._tensor_label(payload, payload)
        if kind == "argument":
            return self._argument_label(*payload)
        op: Function = payload
        return self._tensor_label(self.w.outputs.get(op), op)

    def _op_label(self, op: Function) -> tuple[str, dict[str, str]]:
        lines = [f"<b>{_esc(op.name)}</b>"]
        attrs = op_attributes(op)
        lines += [_small(line) for line in pack_items((f"{k}={v}" for k, v in attrs.items()), _LINE)]
        style = {"shape": "ellipse", "fillcolor": _OP_FILL}
        if _lost(op):
            lines.append(_small("<i>inputs released by backward()</i>", escape=False))
            style["style"] = "filled,dashed"
        return "<br/>".join(lines), style

    def _fold_label(self, run: list[Function]) -> tuple[str, dict[str, str]]:
        counts = Counter(op.name for op in run)
        parts = ", ".join(f"{name}×{n}" for name, n in counts.most_common())
        lines = [_esc(f"{len(run)} elementwise ops: {parts}")]
        hidden = self.absorbed.get(run[-1], 0)
        if hidden:
            lines.append(_small(f"+{hidden} constant{'s' if hidden != 1 else ''} folded in"))
        return "<br/>".join(lines), {"shape": "ellipse", "fillcolor": _FOLD_FILL, "peripheries": "2"}

    def _argument_label(self, key: str, value: np.ndarray | Tensor) -> tuple[str, dict[str, str]]:
        lines = [f"<b>{_esc(key)}</b>", _esc(f"{_shape(value.shape)} {value.dtype}")]
        if self.show_values:
            lines += [_small(s) for s in _values(np.asarray(value.data if isinstance(value, Tensor) else value))]
        return "<br/>".join(lines), {"shape": "box", "fillcolor": _INPUT_FILL, "style": "filled,rounded"}

    def _tensor_label(self, t: Tensor | None, key_obj: Any) -> tuple[str, dict[str, str]]:
        key = tensor_key(t) if t is not None else key_obj
        is_leaf = t is not None and t.grad_fn is None
        title = None
        if t is not None:
            title = self.names.get(key) or t.name
        if title is None and is_leaf:
            title = "input" if t.requires_grad else "const"
        lines = []
        if title:
            lines.append(f"<b>{_esc(title)}</b>")
        root = self.root_keys.get(key)
        if root is not None:
            lines.append(f"<b>{'loss' if root.size == 1 else 'output'}</b>")
        if t is None:
            lines.append(_small("(released)"))
        else:
            lines.append(_esc(f"{_shape(t.shape)} {t.dtype}"))
        style: dict[str, str] = {"shape": "box"}
        if is_leaf and t.requires_grad:
            style["fillcolor"] = _PARAM_FILL
        elif is_leaf:
            style["fillcolor"] = _INPUT_FILL
            style["style"] = "filled,rounded"
        else:
            style["fillcolor"] = _TENSOR_FILL
        if root is not None:
            style.update(fillcolor=_ROOT_FILL, color=_ROOT_BORDER, penwidth="2.5")
        if t is not None and self.show_values:  # a stand-in kept no values: backward never reads them
            lines += [_small("values freed")] if isinstance(t, StandIn) else [_small(s) for s in _values(t.data)]
        if t is not None and self.show_grad:
            text, fill = _grad_info(t)
            if text:
                lines.append(_small(text))
            if fill:
                style["fillcolor"] = fill
        return "<br/>".join(lines), style


def _lost(op: Function) -> bool:
    """True if backward released the op's input references, so the graph above it cannot be drawn
    (a plain backward keeps them: it frees only the saved values, and drawings show the whole graph)."""
    return op._freed and not op.inputs


def _grad_info(t: Tensor) -> tuple[str | None, str | None]:
    """The gradient's norm for the label, and a highlight colour for all-zero or non-finite grads."""
    g = t.grad
    if g is None:
        return ("grad: None" if t.grad_fn is None and t.requires_grad else None), None
    data = g.data
    finite = np.isfinite(data)
    if not finite.all():
        n_nan = int(np.isnan(data).sum())
        n_inf = int(data.size - finite.sum()) - n_nan
        return f"grad: {n_nan} NaN, {n_inf} inf", _BAD_FILL
    norm = float(np.sqrt(np.sum(np.square(data, dtype=np.float64))))
    if norm == 0.0:
        return "grad: all zero", _ZERO_FILL
    return f"grad norm {norm:.4g}", None


def _values(data: np.ndarray) -> list[str]:
    """Values of small arrays (truncated), min/mean/max of larger ones."""
    if data.size == 0:
        return ["empty"]
    if data.dtype.kind not in "biuf":
        return [f"dtype {data.dtype}"]
    if data.size <= _SMALL:
        text = np.array2string(data, precision=4, separator=", ", max_line_width=48, threshold=_SMALL)
        return text.splitlines()[:4]
    x = data.astype(np.float64)
    return [f"min {x.min():.4g}  mean {x.mean():.4g}  max {x.max():.4g}"]


def _shape(shape: tuple[int, ...]) -> str:
    return "(" + ", ".join(str(n) for n in shape) + ("," if len(shape) == 1 else "") + ")"


def _esc(text: str) -> str:
    """Escape text for an HTML-like Graphviz label (so < > & { } | are all safe)."""
    return html.escape(str(text), quote=False).replace("\n", "<br/>")


def _small(text: str, escape: bool = True) -> str:
    return f'<font point-size="9">{_esc(text) if escape else text}</font>'
