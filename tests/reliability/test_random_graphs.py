"""Randomised graphs: random DAGs of ops on random shapes never crash in backward, and their
gradients match finite differences (float64, small shapes, no kinks)."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from hypothesis import given, note, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinygrad_np as tg
from tests.reliability.shapes import broadcastable
from tinygrad_np.gradcheck import gradcheck, gradgradcheck
from tinygrad_np.tensor import Tensor

MAX_SIZE = 48  # no node grows beyond this many elements, so each gradcheck stays cheap
MAX_ABS = 100.0  # nor beyond this magnitude (repeated squaring would overflow), so differences stay accurate
Step = Callable[[list[Tensor]], Tensor]


@dataclass
class Program:
    """Steps that each read earlier nodes (leaves first) and append one node; replayable on fresh leaves."""

    leaves: list[np.ndarray]
    steps: list[Step] = field(default_factory=list)
    text: list[str] = field(default_factory=list)
    outputs: list[int] = field(default_factory=list)  # the sinks: computed nodes no later step reads

    def __call__(self, *leaves: Tensor) -> tuple[Tensor, ...]:
        nodes = list(leaves)
        for step in self.steps:
            nodes.append(step(nodes))
        return tuple(nodes[k] for k in self.outputs)


def _matmul_partners(shapes: list[tuple[int, ...]], i: int) -> list[int]:
    """The nodes whose shape fits as the right operand of `nodes[i] @ ...`."""
    a = shapes[i]
    fits = []
    for j, b in enumerate(shapes):
        if a and b and a[-1] == (b[0] if len(b) == 1 else b[-2]) and broadcastable(a[:-2], b[:-2]):
            fits.append(j)
    return fits


@st.composite
def programs(draw: st.DrawFn, min_steps: int = 3, max_steps: int = 10) -> Program:
    n_leaves = draw(st.integers(1, 3))
    leaf_shapes = [draw(hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=3)) for _ in range(n_leaves)]
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    program = Program([rng.standard_normal(s) for s in leaf_shapes])
    nodes = [tg.Tensor(x) for x in program.leaves]  # evaluated alongside, to know every node's shape
    names = [f"x{i}{tuple(s)}" for i, s in enumerate(leaf_shapes)]
    read: set[int] = set()

    def add(step: Step, text: str, *uses: int) -> None:
        out = step(nodes)
        if out.size > MAX_SIZE or not np.all(np.abs(out.data) <= MAX_ABS):
            return  # the step is dropped; the program stays as it was
        read.update(uses)
        program.steps.append(step)
        nodes.append(out)
        names.append(f"n{len(nodes) - 1}")
        program.text.append(f"{names[-1]}{out.shape} = {text}")

    for _ in range(draw(st.integers(min_steps, max_steps))):
        i = draw(st.integers(0, len(nodes) - 1))  # any earlier node: reuse is how the graph becomes a DAG
        a = nodes[i]
        kind = draw(st.sampled_from(["add", "mul", "sub", "div", "exp", "tanh", "sigmoid", "sum", "reshape",
                                     "transpose", "broadcast", "getitem", "matmul"]))
        if kind in ("add", "mul", "sub", "div"):
            j = draw(st.integers(0, len(nodes) - 1))
            reduce_b = not broadcastable(a.shape, nodes[j].shape)  # fall back to b's sum, a scalar

            def operand(ns: list[Tensor], j: int = j, reduce_b: bool = reduce_b) -> Tensor:
                return ns[j].sum() if reduce_b else ns[j]

            b_text = f"{names[j]}.sum()" if reduce_b else names[j]
            if kind == "add":
                add(lambda ns, i=i, op=operand: ns[i] + op(ns), f"{names[i]} + {b_text}", i, j)
            elif kind == "mul":
                add(lambda ns, i=i, op=operand: ns[i] * op(ns), f"{names[i]} * {b_text}", i, j)
            elif kind == "sub":
                add(lambda ns, i=i, op=operand: op(ns) - ns[i], f"{b_text} - {names[i]}", i, j)
            else:  # a denominator in [0.5, 2.5]: far from 0
                add(lambda ns, i=i, op=operand: ns[i] / (op(ns).tanh() + 1.5),
                    f"{names[i]} / (tanh({b_text}) + 1.5)", i, j)
        elif kind == "exp":
            add(lambda ns, i=i: ns[i].tanh().exp(), f"exp(tanh({names[i]}))", i)
        elif kind == "tanh":
            add(lambda ns, i=i: ns[i].tanh(), f"tanh({names[i]})", i)
        elif kind == "sigmoid":
            add(lambda ns, i=i: ns[i].sigmoid(), f"sigmoid({names[i]})", i)
        elif kind == "sum":
            if a.ndim == 0:
                add(lambda ns, i=i: ns[i].sum(), f"{names[i]}.sum()", i)
                continue
            axis = draw(st.integers(-a.ndim, a.ndim - 1))
            keepdims = draw(st.booleans())
            add(lambda ns, i=i, ax=axis, k=keepdims: ns[i].sum(axis=ax, keepdims=k),
                f"{names[i]}.sum(axis={axis}, keepdims={keepdims})", i)
        elif kind == "reshape":
            choices = [(a.size,), tuple(reversed(a.shape)), (1,) + a.shape, a.shape + (1,)]
            if a.size % 2 == 0:
                choices.append((2, -1))
            shape = draw(st.sampled_from(choices))
            add(lambda ns, i=i, s=shape: ns[i].reshape(s), f"{names[i]}.reshape({shape})", i)
        elif kind == "transpose":
            perm = tuple(draw(st.permutations(range(a.ndim))))
            add(lambda ns, i=i, p=perm: ns[i].transpose(*p), f"{names[i]}.transpose{perm}", i)
        elif kind == "broadcast":
            shape = (2,) + tuple(draw(st.sampled_from([n, 2])) if n == 1 else n for n in a.shape)
            add(lambda ns, i=i, s=shape: ns[i].broadcast_to(s), f"{names[i]}.broadcast_to({shape})", i)
        elif kind == "getitem":
            if a.ndim == 0:
                add(lambda ns, i=i: ns[i][()], f"{names[i]}[()]", i)
                continue
            n0 = a.shape[0]
            choices: list = [slice(None, None, 2), slice(1, None), 0, -1, (Ellipsis, 0),
                             np.array([0, 0] + list(range(n0))),  # advanced, repeats: gradients accumulate
                             np.array([[n0 - 1, 0], [0, -1]])]  # 2-D advanced index, negative entries
            if a.ndim >= 2:
                choices.append((slice(None), np.array([0, -1, 0])))  # advanced on axis 1
            index = draw(st.sampled_from(choices))
            if isinstance(index, slice) and len(range(*index.indices(n0))) == 0:
                index = slice(None)
            add(lambda ns, i=i, ix=index: ns[i][ix], f"{names[i]}[{index!r}]", i)
        else:  # matmul with an earlier node whose shape fits, else with a's own transpose
            partners = _matmul_partners([t.shape for t in nodes], i)
            if partners:
                j = draw(st.sampled_from(partners))
                add(lambda ns, i=i, j=j: ns[i] @ ns[j], f"{names[i]} @ {names[j]}", i, j)
            elif a.ndim >= 2:
                perm = tuple(range(a.ndim - 2)) + (a.ndim - 1, a.ndim - 2)
                add(lambda ns, i=i, p=perm: ns[i] @ ns[i].transpose(*p),
                    f"{names[i]} @ {names[i]}.transpose{perm}", i)
            elif a.ndim == 1:
                add(lambda ns, i=i: ns[i] @ ns[i], f"{names[i]} @ {names[i]}", i)
    if not program.steps:  # every drawn step was too big: one safe op keeps the example useful
        add(lambda ns: ns[0].tanh(), f"tanh({names[0]})", 0)
    program.outputs = [k for k in range(n_leaves, len(nodes)) if k not in read]
    program.text.append("outputs: " + ", ".join(names[k] for k in program.outputs))
    return program


def _leaves(program: Program) -> tuple[Tensor, ...]:
    return tuple(tg.Tensor(x.copy(), requires_grad=True) for x in program.leaves)


@settings(max_examples=200)  # each example takes milliseconds: afford more of them than the default
@given(program=programs())
def test_random_graphs_match_finite_differences(program: Program) -> None:
    note("\n".join(program.text))
    leaves = _leaves(program)
    outputs = program(*leaves)
    # backward itself never crashes, and every leaf that fed an output gets a gradient of its shape
    sum(out.sum() for out in outputs).backward()
    for leaf in leaves:
        assert leaf.grad is None or leaf.grad.shape == leaf.shape
    assert gradcheck(program, _leaves(program))


@settings(max_examples=30)
@given(program=programs(min_steps=2, max_steps=6))
def test_random_graphs_are_twice_differentiable(program: Program) -> None:
    note("\n".join(program.text))
    assert gradgradcheck(program, _leaves(program))
