"""Walk the recorded graph from its roots, iteratively, into a plain description of it.

The walk follows `grad_fn.inputs` exactly as backward does, with an explicit stack (a chain of
100,000 ops needs no recursion), and lists the ops in forward order: every op after the ops that
produced its inputs, inputs visited left to right, so the result is the same on every run.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from ..autograd.function import Function, StandIn
from ..tensor import Tensor


@dataclass
class Walk:
    """The part of the graph reachable from `roots`.

    `ops` is in forward (topological) order; `leaves` in order of first use. `outputs[op]` is the
    Tensor the op produced (from the op's weak `output` reference, else from a consumer's inputs,
    which may hold a `StandIn` of it), or None if it is gone. `consumers[key]` lists, for a tensor
    key (the producing op for intermediates, `id(leaf)` for leaves), the ops that take it, once per use.
    """

    roots: list[Tensor]
    ops: list[Function] = field(default_factory=list)
    leaves: list[Tensor] = field(default_factory=list)
    outputs: dict[Function, Tensor | None] = field(default_factory=dict)
    consumers: dict[object, list[Function]] = field(default_factory=dict)


def tensor_key(t: Tensor) -> object:
    """The identity of a tensor node: its producing op (one output per op), or the leaf's id."""
    return t.grad_fn if t.grad_fn is not None else id(leaf_itself(t))


def leaf_itself(t: Tensor) -> Tensor:
    """A leaf as the user holds it: after backward a node holds a StandIn of a constant leaf, which
    remembers the leaf while it lives (so its name and values stay, and a shared one is drawn once)."""
    leaf = t.leaf if type(t) is StandIn else None
    return t if leaf is None else leaf


def walk(roots: Iterable[Tensor]) -> Walk:
    """Collect every op and leaf reachable from `roots` through `grad_fn.inputs`, without recursion."""
    roots = list(roots)
    for i, r in enumerate(roots):
        if not isinstance(r, Tensor):
            raise TypeError(f"viz: root {i} must be a Tensor, got {type(r).__name__}")
    result = Walk(roots=roots)
    seen_leaves: set[int] = set()
    state: set[Function] = set()

    def add_leaf(t: Tensor) -> None:
        t = leaf_itself(t)
        if id(t) not in seen_leaves:
            seen_leaves.add(id(t))
            result.leaves.append(t)

    for root in roots:
        node = root.grad_fn
        if node is None:
            add_leaf(root)
            continue
        result.outputs.setdefault(node, root)
        if node in state:
            continue
        state.add(node)
        stack: list[tuple[Function, int]] = [(node, 0)]
        while stack:
            op, i = stack[-1]
            inputs = op.inputs
            descended = False
            while i < len(inputs):
                t = inputs[i]
                i += 1
                if t is None:
                    continue
                parent = t.grad_fn
                if parent is None:
                    add_leaf(t)
                    continue
                if result.outputs.get(parent) is None:
                    result.outputs[parent] = t
                if parent not in state:
                    state.add(parent)
                    stack[-1] = (op, i)
                    stack.append((parent, 0))
                    descended = True
                    break
            if not descended:
                stack.pop()
                result.ops.append(op)
    for op in result.ops:
        if op.output is not None:
            result.outputs[op] = op.output
        for t in op.inputs:
            if t is not None:
                result.consumers.setdefault(tensor_key(t), []).append(op)
    return result
