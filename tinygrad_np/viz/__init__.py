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
Op nodes show the op's name and its key attributes, read from the op's ctx (the `Function`
instance that is `tensor.grad_fn`), never guessed from names:

1. If the Function class defines a method `describe(self) -> dict[str, Any]`, its result is shown
   (keep it to the arguments a reader needs, e.g. `{"stride": self.stride, "padding": self.padding}`).
2. Otherwise the core ops whose ctx holds backward bookkeeping use a built-in reader (e.g. the
   target shape of `Reshape`, the axes of reductions).
3. Otherwise every public attribute of the ctx that is small (a number, dtype, slice, short string,
   or a short tuple/list of those) and not callable is shown; arrays, Tensors and names starting
   with `_` are skipped, as are the engine's own `inputs` and `needs_input_grad`.

An op may also set the class attribute `elementwise = True` (so chains of it fold into one node
when the graph is collapsed) and define `flops(self) -> int` (counted by `summary`).
"""
from .describe import format_value, generic_attributes, is_elementwise, op_attributes, op_flops
from .graph import GraphDrawing, GraphvizNotFoundError, draw_graph, render_graph, to_dot
from .summary import Summary, SummaryRow, summary

__all__ = [
    "draw_graph", "to_dot", "render_graph", "summary", "Summary", "SummaryRow", "GraphDrawing",
    "GraphvizNotFoundError", "op_attributes", "generic_attributes", "format_value", "is_elementwise",
    "op_flops",
]
