# %% [markdown]
# # 04 · Visualizing graphs
#
# `tinygrad_np.viz.draw_graph` draws the graph that `backward()` walks: tensors as boxes, ops as
# ellipses, edges in the direction the data flows. The result is a `graphviz.Digraph`, which Jupyter
# displays inline. Drawing is the quickest way to see what a piece of code really records, to find a
# tensor whose gradient is zero or NaN, and to check a model's shapes and cost (`summary`).

# %%
import shutil
import tempfile
from pathlib import Path

import numpy as np

import tinygrad_np as tg
from tinygrad_np.viz import GraphvizNotFoundError, draw_graph, render_graph, summary, to_dot

tg.manual_seed(0)
print("Graphviz `dot`:", shutil.which("dot") or "not found, drawings show as DOT source")

# %% [markdown]
# ## A first drawing
#
# Blue boxes are leaves that require a gradient (parameters), grey rounded boxes are inputs and
# constants, white boxes intermediate results, and the green box is the output. `params` names the
# tensors; any dict of name → Tensor works, including `locals()`.
#
# Pictures need the Graphviz `dot` program. Without it, every drawing below shows as its DOT source
# under a note on how to install Graphviz, and `render_graph` raises `GraphvizNotFoundError`.

# %%
x = tg.randn(4, 3)
W = tg.randn(3, 2, requires_grad=True)
b = tg.zeros(2, requires_grad=True)
loss = ((x @ W + b).relu() ** 2).mean()
draw_graph(loss, params={"x": x, "W": W, "b": b})

# %% [markdown]
# The drawing is built from the recorded graph only, so it shows what was recorded, not what the
# code looks like. Under `no_grad`, nothing is:

# %%
with tg.no_grad():
    untracked = ((x @ W + b).relu() ** 2).mean()
print("recorded op:", untracked.grad_fn)
draw_graph(untracked)

# %% [markdown]
# ## Gradients on the drawing: `show_grad`
#
# After `backward()`, `show_grad=True` writes each gradient's norm under its tensor and colours the
# suspicious ones: **orange** for a gradient that is exactly zero, **red** for NaN or infinity.
# Here is a layer whose bias starts so negative that every ReLU is off (a "dead" layer), so its
# weights never receive a gradient, next to a healthy layer. Backward frees the values the graph saved
# but keeps its structure, so the drawing still shows the whole graph; an intermediate tensor keeps
# its gradient when it calls `retain_grad()`.

# %%
batch = tg.randn(8, 3)
W_dead = tg.randn(3, 4, requires_grad=True)
b_dead = tg.full((4,), -100.0, requires_grad=True)
W_ok = tg.randn(3, 4, requires_grad=True)
b_ok = tg.zeros(4, requires_grad=True)
hidden_dead = (batch @ W_dead + b_dead).relu()
hidden_ok = (batch @ W_ok + b_ok).relu()
hidden_dead.retain_grad()
out = (hidden_dead.sum(axis=1) + hidden_ok.sum(axis=1)).mean()
out.backward()
assert not W_dead.grad.numpy().any() and W_ok.grad.numpy().any()
draw_graph(out, params={"batch": batch, "W_dead": W_dead, "b_dead": b_dead, "W_ok": W_ok, "b_ok": b_ok},
           show_grad=True)

# %% [markdown]
# And a NaN: `sqrt` of a negative number is NaN, and so is the gradient that flows back through it,
# all the way to the element of `v` that caused it.

# %%
v = tg.Tensor([4.0, -1.0, 9.0], requires_grad=True)
with np.errstate(invalid="ignore"):
    r = (v * 2).sqrt().sum()
    r.backward()
print("v.grad =", v.grad)
draw_graph(r, params={"v": v}, show_grad=True)

# %% [markdown]
# `tg.detect_anomaly()` finds such a problem without drawing: it raises at the first op that produces
# a NaN, naming the op.

# %%
try:
    with tg.detect_anomaly(), np.errstate(invalid="ignore"):
        (v * 2).sqrt().sum()
except tg.AnomalyError as err:
    print(str(err).splitlines()[0])

# %% [markdown]
# ## Values: `show_values`
#
# Small tensors show their values; large ones their minimum, mean and maximum.

# %%
p = tg.Tensor([0.2, -0.4, 0.9], requires_grad=True)
q = (p * 3).tanh()
draw_graph(q.sum(), params={"p": p, "q": q}, show_values=True)

# %% [markdown]
# ## Collapsing elementwise chains
#
# Formulas written with elementwise ops record one node per operation. The tanh approximation of
# GELU, $\tfrac12 x\,(1 + \tanh(\sqrt{2/\pi}\,(x + 0.044715\,x^3)))$, is about ten of them. With
# `collapse=True` (the default) runs of elementwise ops that feed only each other are drawn as one
# double-bordered node that lists what it contains; `collapse=False` shows every op.

# %%
def gelu(t):
    return 0.5 * t * (1 + (np.sqrt(2 / np.pi) * (t + 0.044715 * t ** 3)).tanh())

h = tg.randn(2, 5, requires_grad=True)
y = gelu(h @ tg.randn(5, 5)).sum()
draw_graph(y, params={"h": h}, collapse=False)

# %%
draw_graph(y, params={"h": h}, collapse=True)

# %% [markdown]
# ## Big graphs: `max_nodes`
#
# A recurrent net unrolled over 30 steps records a few hundred nodes. `max_nodes` keeps the ones
# closest to the output and replaces the rest with one "omitted" node, so the drawing stays readable.

# %%
W_h = tg.randn(4, 4, requires_grad=True)
W_x = tg.randn(3, 4, requires_grad=True)
state = tg.zeros(1, 4)
for step in range(30):
    state = (state @ W_h * 0.5 + tg.randn(1, 3) @ W_x).tanh()
rnn_loss = (state ** 2).sum()
print("nodes in the full drawing:", to_dot(rnn_loss, collapse=False).count("label="))
draw_graph(rnn_loss, params={"W_h": W_h, "W_x": W_x}, max_nodes=25, rankdir="LR")

# %% [markdown]
# ## A convolutional network
#
# The graph is per op, not per element, so even the MNIST CNN of `tinygrad_np.examples` (421,642
# parameters) draws as a short chain: convolutions, pooling, ReLUs, two matrix products and the fused
# cross-entropy. Op nodes show their settings (stride, padding, axes, ...). Here on a batch of two
# random images, after a backward pass so the gradient norms show:

# %%
import tinygrad_np.functional as F
from tinygrad_np.examples.mnist_models import forward, init_params

cnn_params = init_params("cnn", seed=0)
images = tg.rand(2, 1, 28, 28)
cnn_loss = F.cross_entropy(forward("cnn", cnn_params, images), np.array([3, 7]))
cnn_loss.backward()
draw_graph(cnn_loss, params={"images": images, **cnn_params}, show_grad=True)

# %% [markdown]
# ## `summary`: shapes, parameters and FLOPs
#
# `summary(fn, *inputs, params=...)` runs `fn` once and tabulates every op with its output shape, the
# parameters it uses and the multiply-add FLOPs of matrix products and convolutions.

# %%
def mnist_cnn(x):
    return forward("cnn", cnn_params, x)


report = summary(mnist_cnn, tg.rand(32, 1, 28, 28), params=cnn_params)
print(report)
assert sum(row.params for row in report.rows) == sum(p.size for p in cnn_params.values()) == 421_642

# %% [markdown]
# ## Saving a drawing
#
# `render_graph` writes SVG, PNG or PDF (from the file suffix) with the Graphviz `dot` program, or
# the DOT source itself for `.dot`, which needs no program at all. `to_dot` returns that source.
# Without `dot`, the SVG raises `GraphvizNotFoundError`, whose message says how to install Graphviz.

# %%
with tempfile.TemporaryDirectory() as tmp:
    dot_file = render_graph(loss, Path(tmp) / "loss.dot")
    print(dot_file.name, dot_file.stat().st_size, "bytes")
    try:
        svg = render_graph(loss, Path(tmp) / "loss.svg", params={"x": x, "W": W, "b": b})
        print(svg.name, svg.stat().st_size, "bytes")
    except GraphvizNotFoundError as err:
        print(err)
print(to_dot(loss)[:300], "...")
