"""draw_graph / to_dot: the nodes, edges and labels of the drawing, folding, truncation, gradients."""
from __future__ import annotations

import numpy as np
import pytest

import tinygrad_np as tg
from tinygrad_np.autograd.function import Function
from tinygrad_np.viz import draw_graph, to_dot
from tinygrad_np.viz.graph import _BAD_FILL, _PARAM_FILL, _ROOT_BORDER, _ZERO_FILL
from tests.viz.dot_parse import parse


def param(shape, name=None, seed=0):
    data = np.random.default_rng(seed).standard_normal(shape)
    return tg.Tensor(data, requires_grad=True, name=name)


def ops_of(dot):
    """Op node names (the drawing names them op0, op1, ...) and tensor node names (t0, t1, ...)."""
    return [n for n in dot.nodes if n.startswith("op")], [n for n in dot.nodes if n.startswith("t")]


# -- structure -------------------------------------------------------------------------------------
def test_counts_of_mul_add_sum():
    # leaves a, b, c; ops Mul, Add, Sum and their three outputs: 9 nodes.
    # edges: a->Mul, b->Mul, Mul->ab, ab->Add, c->Add, Add->abc, abc->Sum, Sum->loss: 8.
    a, b, c = param((2, 3), seed=1), param((2, 3), seed=2), param((3,), seed=3)
    dot = parse(to_dot((a * b + c).sum()))
    ops, tensors = ops_of(dot)
    assert len(dot.nodes) == 9 and len(ops) == 3 and len(tensors) == 6
    assert len(dot.edges) == 8
    mul, add, total = dot.one("Mul"), dot.one("Add"), dot.one("Sum")
    preds = {op: sorted(s for s, d in dot.edges if d == op) for op in (mul, add, total)}
    assert len(preds[mul]) == 2 and len(preds[add]) == 2 and len(preds[total]) == 1
    # the output of Mul feeds Add, the output of Add feeds Sum
    (mul_out,) = [d for s, d in dot.edges if s == mul]
    assert (mul_out, add) in dot.edges
    (add_out,) = [d for s, d in dot.edges if s == add]
    assert (add_out, total) in dot.edges
    # every edge goes tensor -> op or op -> tensor (data flow), never op -> op
    assert all(s.startswith("t") != d.startswith("t") for s, d in dot.edges)
    assert "(2, 3) float64" in dot.labels[mul_out]


def test_repeated_input_draws_one_edge_per_use():
    x = param((3,))
    dot = parse(to_dot(x * x))
    assert len(dot.nodes) == 3  # x, Mul, x*x
    mul = dot.one("Mul")
    assert dot.edges.count(("t0", mul)) == 2 and len(dot.edges) == 3


def test_diamond_shares_the_input_and_is_not_folded():
    a = param((4,))
    u, v = a.exp(), a.tanh()
    dot = parse(to_dot((u * v).sum(), collapse=True))
    assert len(dot.nodes) == 9 and len(dot.edges) == 9  # a, 4 ops, 4 outputs
    (a_node,) = [n for n in dot.nodes if dot.labels[n].startswith("input")]
    assert sorted(dot.labels[d] for s, d in dot.edges if s == a_node) == ["Exp", "Tanh"]


def test_intermediates_dropped_by_the_user_are_still_drawn():
    x = param((2, 5))

    def loss_only():
        return (x.reshape(5, 2).exp() * 3.0).sum()

    dot = parse(to_dot(loss_only(), collapse=False))
    assert len(dot.nodes) == 1 + 4 + 4  # x, 4 ops, 4 outputs: the number 3.0 is part of Mul, no node
    assert len(dot.find("(5, 2) float64")) == 3  # reshape, exp and mul outputs
    (reshaped,) = [d for s, d in dot.edges if s == dot.one("Reshape")]
    assert dot.labels[reshaped] == "(5, 2) float64"


def test_leaf_root_and_deterministic_output():
    x = param((2,), name="x")
    dot = parse(to_dot(x))
    assert list(dot.nodes) == ["t0"] and "x" in dot.labels["t0"] and "output" in dot.labels["t0"]

    def build():
        a, b = param((3, 2), seed=4), param((2,), seed=5)
        return ((a @ b).relu() + a.sum(axis=1)).mean()

    assert to_dot(build()) == to_dot(build())
    y = build()
    assert to_dot(y) == to_dot(y)


def test_bad_arguments():
    x = param((2,))
    with pytest.raises(TypeError, match="at least one root"):
        draw_graph()
    with pytest.raises(TypeError, match="root 0 must be a Tensor"):
        draw_graph(np.ones(2))
    with pytest.raises(ValueError, match="rankdir"):
        draw_graph(x * 2, rankdir="UP")
    with pytest.raises(ValueError, match="max_nodes"):
        draw_graph(x * 2, max_nodes=0)
    with pytest.raises(TypeError, match="params must be a dict"):
        draw_graph(x * 2, params=[x])
    g = draw_graph(x * 2, rankdir="LR")
    assert "rankdir=LR" in g.source


# -- labels ----------------------------------------------------------------------------------------
def attributes(dot, op):
    """The attribute lines of an op's label, joined."""
    return ", ".join(dot.labels[dot.one(op)].split("\n")[1:])


def test_op_attributes_in_labels():
    x = param((2, 3, 4))
    y = x.sum(axis=(0, 2))
    z = x.reshape(6, 4).transpose(1, 0)
    w = x.mean(axis=-1, keepdims=True)
    p = x.pad(((0, 0), (1, 2), (0, 0)))
    g = x[0, 1:3]
    c = x.astype(np.float32)
    s = x ** 3
    dot = parse(to_dot(y, z, w, p, g, c, s))
    # the arguments as the user passed them, those at their defaults left out
    assert attributes(dot, "Sum") == "axis=(0, 2)"
    assert attributes(dot, "Reshape") == "shape=(6, 4)"
    assert attributes(dot, "Transpose") == "axes=(1, 0)"
    assert attributes(dot, "Mean") == "axis=-1, keepdims=True"
    assert attributes(dot, "Pad") == "pad_width=((0, 0), (1, 2), (0, 0))"
    assert attributes(dot, "GetItem") == "index=[0, 1:3]"
    assert attributes(dot, "Cast") == "dtype=float32"
    assert attributes(dot, "Pow") == "exponent=3"
    assert attributes(parse(to_dot(x.sum())), "Sum") == ""
    clip = parse(to_dot(x.clip(-1.0, 1.0)))
    assert "lo=-1" in clip.labels[clip.one("Clip")] and "hi=1" in clip.labels[clip.one("Clip")]
    stack = parse(to_dot(tg.stack([x, x], axis=1)))
    assert "axis=1" in stack.labels[stack.one("Stack")]


class _Described(Function):
    """A test op that names its own attributes."""

    @staticmethod
    def forward(ctx, x, factor=2.0):
        ctx.factor = factor
        ctx.hidden_detail = "not shown"
        return x * factor

    @staticmethod
    def backward(ctx, grad):
        return grad * ctx.factor

    def describe(self):
        return {"factor": self.factor, "kind": "<scale|{x}>"}


class _Generic(Function):
    """A test op without describe(): the viz shows the keyword arguments it was applied with."""

    @staticmethod
    def forward(ctx, x, stride=2, mode="same", mask=None):
        ctx.stride, ctx.mode = stride, mode
        ctx.in_shape = x.shape
        ctx.save_for_backward(x)
        return x[..., ::stride].copy()

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        full = np.zeros(x.shape, dtype=grad.dtype)
        full[..., ::ctx.stride] = grad.data
        return tg.Tensor(full)


def test_describe_protocol_and_recorded_arguments():
    x = param((2, 6))
    dot = parse(to_dot(_Described.apply(x, factor=0.5)))
    label = dot.labels[dot.one("_Described")]
    assert "factor=0.5" in label and "kind=<scale|{x}>" in label and "hidden_detail" not in label
    dot = parse(to_dot(_Generic.apply(x, stride=3, mode="same")))
    assert attributes(dot, "_Generic") == "stride=3"  # mode is at its default; ctx internals never shown
    dot = parse(to_dot(_Generic.apply(x, mode="full", mask=np.ones(6, dtype=bool))))
    assert attributes(dot, "_Generic") == "mode=full"
    assert (dot.titled("mask"), dot.one("_Generic")) in dot.edges  # an array argument is an input node
    assert "(6,) bool" in dot.labels[dot.titled("mask")]


def test_labels_are_escaped():
    x = param((2,), name='a<b>{c}|d&e"f')
    g = draw_graph(x * 2)
    assert "a&lt;b&gt;{c}|d&amp;e" in g.source
    assert 'a<b>{c}|d&e"f' in parse(g.source).labels["t0"]


def test_names_from_params_then_tensor_name_then_defaults():
    w = param((3, 2), name="weight_by_name")
    b = param((2,), seed=1)
    x = tg.Tensor(np.ones((4, 3)))  # an input that does not require grad
    hidden = x @ w
    out = (hidden + b).sum()
    dot = parse(to_dot(out, params={"bias": b, "hidden": hidden, "lr": 0.1, "x": None}))
    assert dot.find("weight_by_name") and dot.find("bias") and dot.find("hidden")
    assert len(dot.find("const")) == 1 and not dot.find("input")
    # parameters and constants are styled apart
    assert f'fillcolor="{_PARAM_FILL}"' in dot.nodes[dot.one("bias")]
    assert f'fillcolor="{_PARAM_FILL}"' not in dot.nodes[dot.one("const")]
    dot = parse(to_dot(out, params=locals()))  # params beat Tensor.name; non-Tensors are ignored
    assert dot.titled("w") and dot.titled("b") and dot.titled("x") and dot.titled("hidden")
    assert not dot.find("weight_by_name")


def test_roots_marked():
    a = param((3,))
    loss = (a * 2).sum()
    out = a.exp()
    dot = parse(to_dot(loss, out))
    roots = [n for n, attrs in dot.nodes.items() if _ROOT_BORDER in attrs]
    assert len(roots) == 2
    assert sorted(dot.labels[n].split("\n")[0] for n in roots) == ["loss", "output"]
    assert all("penwidth" in dot.nodes[n] for n in roots)
    assert not any(_ROOT_BORDER in attrs for n, attrs in dot.nodes.items() if n not in roots)


# -- gradients and values --------------------------------------------------------------------------
def test_show_grad_norms_and_zero_and_nan_highlights():
    w = param((3,), name="w")
    dead = tg.Tensor(-np.array([1.0, 2.0, 3.0]), requires_grad=True, name="dead")
    bad = tg.Tensor(np.array([1.0, 2.0]), requires_grad=True, name="bad")
    nan_const = tg.Tensor(np.array([np.nan, 1.0]))
    mid = w * w
    mid.retain_grad()
    loss = mid.sum() + dead.relu().sum() + (bad * nan_const).sum()
    loss.backward(retain_graph=True)
    dot = parse(to_dot(loss, show_grad=True))
    norm = np.linalg.norm(2 * w.data)
    w_node = dot.titled("w")
    assert f"grad norm {norm:.4g}" in dot.labels[w_node]
    mid_node = [n for n in dot.find(f"grad norm {np.sqrt(3):.4g}") if n != w_node]
    assert mid_node, "the retained intermediate gradient (ones) is shown"
    assert "grad: all zero" in dot.labels[dot.one("dead")]
    assert f'fillcolor="{_ZERO_FILL}"' in dot.nodes[dot.one("dead")]
    assert "grad: 1 NaN, 0 inf" in dot.labels[dot.one("bad")]
    assert f'fillcolor="{_BAD_FILL}"' in dot.nodes[dot.one("bad")]
    assert f'fillcolor="{_BAD_FILL}"' not in dot.nodes[w_node]
    # without show_grad nothing about gradients is drawn
    assert not any("grad" in label for label in parse(to_dot(loss)).labels.values())


def test_show_grad_unused_parameter_and_before_backward():
    w = param((2,), name="w")
    loss = (w * 3).sum()
    unused = param((2,), name="unused")
    dot = parse(to_dot(loss, show_grad=True, params={"unused": unused}))
    assert "grad: None" in dot.labels[dot.titled("w")]
    loss.backward(retain_graph=True)
    dot = parse(to_dot(loss, show_grad=True))
    assert f"grad norm {np.linalg.norm(np.full(2, 3.0)):.4g}" in dot.labels[dot.titled("w")]


def _small_cnn_loss():
    """A conv -> relu -> max-pool -> linear -> cross-entropy loss; its parameters by name."""
    import tinygrad_np.functional as F

    x = tg.Tensor(np.random.default_rng(5).standard_normal((2, 1, 8, 8)), name="images")
    params = {"conv_w": param((4, 1, 3, 3), seed=1), "conv_b": param((4,), seed=2),
              "fc_w": param((64, 10), seed=3), "fc_b": param((10,), seed=4)}
    h = F.max_pool2d(F.conv2d(x, params["conv_w"], params["conv_b"], padding=1).relu(), 2)
    logits = h.reshape(2, -1) @ params["fc_w"] + params["fc_b"]
    return F.cross_entropy(logits, np.array([3, 7])), params


def _check_whole_cnn_drawing(loss, params):
    dot = parse(to_dot(loss, params=params, show_grad=True))
    ops = [dot.labels[n].split("\n")[0] for n in ops_of(dot)[0]]
    assert ops == ["Conv2d", "ReLU", "MaxPool2d", "Reshape", "MatMul", "Add", "CrossEntropy"]
    for name, p in params.items():
        assert f"grad norm {np.linalg.norm(p.grad.data):.4g}" in dot.labels[dot.titled(name)], name
    assert "target" in dot.labels[dot.titled("target")] and "(2,) int64" in dot.labels[dot.titled("target")]
    assert (dot.titled("target"), dot.one("CrossEntropy")) in dot.edges
    assert not dot.find("released") and "retain_graph" not in to_dot(loss)
    return dot


def test_graph_after_plain_backward_is_drawn_whole_with_gradient_norms():
    """A plain backward frees the saved values but keeps the graph's structure (nodes keep their
    inputs, intermediates as stand-ins): the drawing afterwards is the whole graph."""
    loss, params = _small_cnn_loss()
    loss.backward()
    _check_whole_cnn_drawing(loss, params)


def test_graph_with_stand_in_inputs_is_drawn_whole():
    loss, params = _small_cnn_loss()
    loss.backward(retain_graph=True)
    _check_whole_cnn_drawing(loss, params)
    # as a plain backward leaves it: saved values gone, every intermediate input a data-free StandIn
    from tinygrad_np.autograd.function import StandIn
    from tinygrad_np.viz.walk import walk

    for op in walk([loss]).ops:
        op._saved, op._freed = (), True
        op.inputs = tuple(StandIn.of(t, op.name) if t is not None and t.grad_fn is not None else t for t in op.inputs)
    dot = _check_whole_cnn_drawing(loss, params)
    (conv_out,) = [d for s, d in dot.edges if s == dot.one("Conv2d")]
    assert dot.labels[conv_out] == "(2, 4, 8, 8) float64"  # a stand-in keeps the shape and dtype
    shown = parse(to_dot(loss, params=params, show_values=True))
    assert shown.find("values freed")  # a stand-in's values are never read


def test_graph_whose_inputs_were_released_is_drawn_with_a_note():
    w = param((2,), name="w")
    loss = (w.exp() * 3).sum()
    loss.backward(retain_graph=True)
    loss.grad_fn.release()
    loss.grad_fn.inputs = ()  # what is left when a node drops its input references
    g = draw_graph(loss, show_grad=True)
    dot = parse(g.source)
    assert len(dot.nodes) == 2  # only the root and its op are still reachable
    assert "inputs released by backward()" in dot.labels[dot.one("Sum")]
    assert "retain_graph=True" in g.source


def test_show_values_small_and_large():
    small = tg.Tensor(np.array([1.5, -2.25]), requires_grad=True, name="small")
    large = tg.Tensor(np.arange(20.0) - 3.0, requires_grad=True, name="large")
    dot = parse(to_dot(small.sum() + large.sum(), show_values=True))
    assert "[ 1.5 , -2.25]" in dot.labels[dot.one("small")]
    x = large.data
    assert f"min {x.min():.4g}  mean {x.mean():.4g}  max {x.max():.4g}" in dot.labels[dot.one("large")]
    assert "mean" not in to_dot(small.sum() + large.sum())


# -- large graphs ----------------------------------------------------------------------------------
def _chain(n, x):
    """n ops on x: Mul by a number (part of the op) and Add of a constant Tensor (a node of its own)."""
    h = x
    for i in range(n):
        h = h * 1.0001 if i % 2 == 0 else h + tg.Tensor(0.5)
    return h


def test_collapse_folds_a_1000_op_chain():
    x = param((3,), name="x")
    loss = _chain(1000, x).sum()
    dot = parse(to_dot(loss))
    assert len(dot.nodes) == 5 and len(dot.edges) == 4  # x -> [1000 ops] -> h -> Sum -> loss
    fold = dot.one("elementwise ops")
    assert "1000 elementwise ops: Mul×500, Add×500" in dot.labels[fold]
    assert "+500 constants folded in" in dot.labels[fold]
    assert ("t0", fold) in dot.edges
    # collapse=False still folds once the graph is beyond max_nodes ...
    assert len(parse(to_dot(loss, collapse=False, max_nodes=500)).nodes) == 5
    # ... but not below it: every op, output and constant is drawn
    unfolded = parse(to_dot(loss, collapse=False, max_nodes=10_000))
    assert len(unfolded.nodes) == 1 + 1000 + 1000 + 2 + 500
    assert not unfolded.find("elementwise ops")


def test_fold_stops_at_named_shared_and_multi_input_ops():
    x = param((3,), name="x")
    y = param((3,), name="y", seed=1)
    a = x.exp().tanh()          # Exp -> Tanh fold
    b = (a * y).sigmoid()       # Mul has two graph inputs: it never folds
    shared = b.exp()            # Sigmoid -> Exp fold; its output has two consumers: the run ends
    out = shared.abs() + shared.sqrt()
    dot = parse(to_dot(out.sum()))
    folds = sorted(dot.labels[n].split("\n")[0] for n in dot.find("elementwise ops"))
    assert folds == ["2 elementwise ops: Exp×1, Tanh×1", "2 elementwise ops: Sigmoid×1, Exp×1"]
    for op in ("Mul", "Abs", "Sqrt", "Add", "Sum"):
        assert dot.titled(op)
    assert len(dot.nodes) == 2 + 7 + 7  # x, y; 2 folds + 5 ops; their 7 outputs
    # a named intermediate is never hidden inside a fold
    named = x.exp()
    named.name = "kept"
    dot = parse(to_dot(named.tanh().log().sum()))
    assert dot.titled("kept") and dot.titled("Exp")
    assert dot.find("2 elementwise ops: Tanh×1, Log×1")


def test_truncation_keeps_the_nodes_nearest_the_roots():
    x = param((2, 3), name="x")
    h = x
    for i in range(300):  # reshapes are not elementwise: nothing folds
        h = h.reshape(3, 2) if i % 2 == 0 else h.reshape(2, 3)
    dot = parse(to_dot(h.sum(), max_nodes=50))
    assert len(dot.nodes) == 51  # 50 kept + the "omitted" node
    full = 1 + 2 * 301
    assert f"{full - 50} more nodes omitted" in dot.labels["omitted"]
    assert dot.titled("loss") and "x" not in [lbl.split("\n")[0] for lbl in dot.labels.values()]
    assert [d for s, d in dot.edges if s == "omitted"], "the omitted node points at the cut"


def test_100k_op_chain_walks_without_recursion():
    x = param((2,), name="x")
    h = x
    for _ in range(100_000):
        h = h * 1.0
    dot = parse(to_dot(h))
    assert len(dot.nodes) == 3
    assert "100000 elementwise ops: Mul×100000" in dot.labels[dot.one("elementwise ops")]
    dot = parse(to_dot(h, collapse=False, max_nodes=100))
    assert len(dot.nodes) <= 101


def test_conv2d_label_shows_its_geometry():
    import tinygrad_np.functional as F

    x = param((2, 4, 9, 9))
    w = param((6, 2, 3, 3), seed=1)
    dot = parse(to_dot(F.conv2d(x, w, stride=2, padding=1, dilation=2, groups=2)))
    assert attributes(dot, "Conv2d") == "kernel_size=3, stride=2, padding=1, dilation=2, groups=2"
    dot = parse(to_dot(F.conv2d(x, param((6, 4, 3, 2)), padding=(2, 1))))
    assert attributes(dot, "Conv2d") == "kernel_size=(3, 2), padding=(2, 1)"
    dot = parse(to_dot(F.conv2d(x, param((6, 4, 2, 2)), padding="same")))
    assert attributes(dot, "Conv2d") == "kernel_size=2, padding=(0, 1, 0, 1)"  # the extra row/col goes last
    dot = parse(to_dot(F.max_pool2d(x, 3, stride=1, padding=1)))
    assert attributes(dot, "MaxPool2d") == "kernel_size=3, padding=1"


def test_more_core_op_attributes():
    x = param((3, 4))
    dot = parse(to_dot(x.var(axis=1, ddof=1), x.broadcast_to((2, 3, 4)), tg.concatenate([x, x], axis=1),
                       x.logsumexp(axis=0), x.max(axis=(0, 1))))
    assert attributes(dot, "Var") == "axis=1, ddof=1"
    assert attributes(dot, "BroadcastTo") == "shape=(2, 3, 4)"
    assert attributes(dot, "Concatenate") == "axis=1"
    assert attributes(dot, "LogSumExp") == "axis=0"
    assert attributes(dot, "Max") == "axis=(0, 1)"


class _Scale(Function):
    """A test op that declares itself elementwise, so chains of it fold."""

    elementwise = True

    @staticmethod
    def forward(ctx, x):
        return x * 3.0

    @staticmethod
    def backward(ctx, grad):
        return grad * 3.0


def test_elementwise_class_attribute_lets_new_ops_fold():
    x = param((2,))
    dot = parse(to_dot(_Scale.apply(_Scale.apply(x.exp())).sum()))
    assert dot.find("3 elementwise ops: _Scale×2, Exp×1")
    dot = parse(to_dot(_Generic.apply(_Generic.apply(param((2, 8))), stride=1).sum()))
    assert len(dot.find("_Generic")) == 2  # not declared elementwise: never folded


def test_constant_leaf_keeps_its_name_and_is_drawn_once_after_backward():
    """After a plain backward each consumer holds a stand-in of a constant input; the drawing maps
    them back to the user's tensor: its name, one box, however many ops used it."""
    x = tg.Tensor(np.random.default_rng(0).standard_normal((4, 3)))
    w = param((3, 2), seed=1)
    loss = ((x @ w) + (x @ w).relu()).mean()
    before = parse(to_dot(loss, params={"x": x, "w": w}))
    loss.backward()
    after = parse(to_dot(loss, params={"x": x, "w": w}))
    assert len(after.nodes) == len(before.nodes)
    assert len([n for n in after.nodes if after.labels[n].startswith("x")]) == 1
    assert not after.find("const")
