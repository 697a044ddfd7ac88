"""See the graph that backward walks: `draw_graph`, `to_dot`, `render_graph` and `summary`.

    import tinygrad_np as tg
    from tinygrad_np.viz import draw_graph, summary
    loss = ((x @ W + b).relu() ** 2).mean()
    draw_graph(loss, params={"W": W, "b": b})   # a graphviz.Digraph: shows inline in Jupyter
    print(summary(model_fn, x))                 # op / output shape / params / FLOPs table

Building the DOT source needs only the `graphviz` Python package; rendering (`.render()`,
`render_graph`, Jupyter display) needs the Graphviz `dot` program.

Showing an op's attributes (for op authors)
-------------------------------------------
Op nodes show the op's name and the keyword arguments it was applied with, as the user wrote them
(`Function.apply` records them as `ctx.arguments`), leaving out those equal to the defaults of its
`forward`. So pass an op's options by keyword, `MyOp.apply(x, axis=1)`, and they show up as `axis=1`.
Array-valued arguments (e.g. cross-entropy's integer `target`) are drawn as input nodes instead. An
argument that is an object with an `as_arguments()` method (a convolution's window geometry) is shown
as the arguments it stands for (`kernel_size=3, padding=1`). An op whose options are not keyword
arguments defines `describe(self) -> dict[str, Any]`, whose result is shown instead.

An op may also set the class attribute `elementwise = True` (so chains of it fold into one node
when the graph is collapsed) and define `flops(self) -> int` (counted by `summary`).
"""
from .describe import array_arguments, format_value, is_elementwise, op_attributes, op_flops
from .graph import GraphDrawing, GraphvizNotFoundError, draw_graph, render_graph, to_dot
from .summary import Summary, SummaryRow, summary

__all__ = [
    "draw_graph", "to_dot", "render_graph", "summary", "Summary", "SummaryRow", "GraphDrawing",
    "GraphvizNotFoundError", "op_attributes", "array_arguments", "format_value", "is_elementwise",
    "op_flops",
]
