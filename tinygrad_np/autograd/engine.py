"""The backward pass: walk the graph once in reverse topological order, iteratively.

Kahn's algorithm over op nodes: count how many recorded consumers each node has, then run a node
only when every gradient flowing into it has arrived and been summed. No recursion, so a chain of
100,000 ops backprops; each node's backward runs exactly once.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import GradientCountError, GradientShapeError, GraphError
from ..tensor import Hooks, Tensor
from . import anomaly
from .function import _freed_message
from .grad_mode import _Mode

if TYPE_CHECKING:
    from .function import Function


def run_backward(
    roots: Sequence[Tensor],
    root_grads: Sequence[Tensor],
    retain_graph: bool,
    create_graph: bool,
    capture: Sequence[Tensor] | None = None,
) -> list[Tensor | None] | None:
    """Backpropagate `root_grads` from `roots` by Kahn's algorithm: a node runs its backward once
    every consumer of its output has handed it a gradient.

    Without `capture`, gradients accumulate into the `.grad` of leaves (and of tensors that called
    `retain_grad()`). With `capture`, nothing is written; the gradients of those tensors are returned.
    """
    grads = Gradients(create_graph, capture)
    with _Mode(create_graph):  # under create_graph the backward pass is itself recorded
        for root, grad in zip(roots, root_grads):
            grads.receive(root, grad)
        pending = _count_consumers([r.grad_fn for r in roots if r.grad_fn is not None])
        ready = [n for n in dict.fromkeys(r.grad_fn for r in roots) if n is not None and pending[n] == 0]
        while ready:
            node = ready.pop()
            if node.output_hooks is None and node._output_ref is None:  # no hooks, nothing to retain or capture
                grad = grads.node_grads.pop(node, None)  # complete: every consumer has added to it
            else:
                grad = grads.of_output(node)
            input_grads = _call_backward(node, grad) if grad is not None else ()
            for i, t in enumerate(node.inputs):
                if t is None or not t.requires_grad:
                    continue  # no gradient flows to a constant
                g = input_grads[i] if input_grads and node.needs_input_grad[i] else None
                if g is not None:
                    expected = t.data if type(t) is Tensor else t  # a StandIn has a shape and dtype, no data
                    if (type(g) is not Tensor or g.data.shape != expected.shape or g.data.dtype != expected.dtype
                            or anomaly.enabled):  # not yet a Tensor of the input's shape and dtype
                        g = _checked_grad(node, i, g, t)
                    grads.receive(t, g)
                parent = t.grad_fn
                if parent is not None:  # one consumer of the parent done; ready when none is left
                    pending[parent] -= 1
                    if pending[parent] == 0:
                        ready.append(parent)
            if not retain_graph:
                node.release()
        grads.deliver_to_leaves()
    return grads.captured()


def _count_consumers(starts: list[Function]) -> dict[Function, int]:
    """For every node reachable from `starts`, the number of recorded edges that feed it a gradient."""
    pending: dict[Function, int] = {}
    stack = []
    for node in starts:
        if node not in pending:
            pending[node] = 0
            stack.append(node)
    while stack:
        node = stack.pop()
        if node._freed:
            raise GraphError(_freed_message(node))
        for t in node.inputs:
            if t is None or not t.requires_grad or t.grad_fn is None:
                continue
            parent = t.grad_fn
            if parent in pending:
                pending[parent] += 1
            else:
                pending[parent] = 1
                stack.append(parent)
    return pending


def _call_backward(node: Function, grad: Tensor) -> tuple[Tensor | None, ...]:
    """Run one node's backward; it must return one gradient (or None) per forward argument."""
    if anomaly.enabled:
        with anomaly.running_backward(node):
            grads = type(node).backward(node, grad)
    else:
        grads = type(node).backward(node, grad)
    if type(grads) is not tuple:
        grads = (grads,)
    if len(grads) != len(node.inputs):
        raise GradientCountError(
            f"{node.name}.backward returned {len(grads)} gradient(s) but forward took {len(node.inputs)} "
            f"argument(s); return one per forward argument (None for those without a gradient).",
            node=node, count=len(grads),
        )
    return grads


def _checked_grad(node: Function, i: int, grad: Any, tensor: Tensor) -> Tensor:
    """Input i's gradient from `node`'s backward, as a Tensor of the input's shape and dtype (the
    engine calls it only for a gradient that is not that already, and under anomaly detection)."""
    shape, dtype = tensor.shape, tensor.dtype  # a StandIn input has these, not its data
    g = grad if isinstance(grad, Tensor) else Tensor(np.asarray(grad, dtype=dtype))
    if g.data.shape != shape:
        raise GradientShapeError(
            f"{node.name}.backward returned a gradient of shape {g.shape} for input {i}, "
            f"which has shape {shape}; a gradient must have its input's shape.",
            node=node, index=i, shape=g.shape, expected=shape,
        )
    if g.data.dtype != dtype:
        g = g.astype(dtype)
    if anomaly.enabled:
        anomaly.check_backward(node, i, g.data)
    return g


class Gradients:
    """The gradients of one backward pass while they arrive: summed per node (a node's output
    gradient) and per leaf, then delivered: retained, captured for `tg.grad`, or accumulated into
    `.grad`, each after the tensor's hooks."""

    def __init__(self, create_graph: bool, capture: Sequence[Tensor] | None) -> None:
        self.create_graph = create_graph
        self.node_grads: dict[Function, Tensor] = {}  # a node's output gradient, summed while it arrives
        self.leaf_grads: dict[int, list[Any]] = {}  # id(leaf) -> [leaf, gradient summed so far, owned]
        self.capture = capture
        self.captures: dict[int, Tensor | None] | None = None
        if capture is not None:
            self.captures = {id(t): None for t in capture}
            for t in capture:  # a non-leaf's gradient is found through its node's output reference
                if t.grad_fn is not None:
                    t.grad_fn.track_output(t)

    def receive(self, tensor: Tensor, grad: Tensor) -> None:
        """One more gradient of `tensor`: into its node's buffer, or into the leaf's total."""
        node = tensor.grad_fn
        if node is None:
            self._sum_leaf_grad(tensor, grad)
        else:
            summed = self.node_grads.get(node)
            self.node_grads[node] = grad if summed is None else summed + grad

    def of_output(self, node: Function) -> Tensor | None:
        """The complete gradient of `node`'s output (None if none arrived), after the output's hooks
        (its node keeps them, so they run even once the tensor is gone); retained or captured if
        the tensor is alive and asks."""
        grad = self.node_grads.pop(node, None)
        if grad is None:
            return None
        if node.output_hooks:
            grad = _run_hooks(node.output_hooks, grad)
        ref = node._output_ref
        out = ref() if ref is not None else None
        if out is not None:
            if self.captures is not None:
                if id(out) in self.captures:
                    self.captures[id(out)] = grad
            elif out._retains_grad:
                _accumulate(out, grad, self.create_graph)
        return grad

    def _sum_leaf_grad(self, leaf: Tensor, grad: Tensor) -> None:
        """Add one incoming gradient of a leaf (used by several ops) to its total. An incoming gradient
        may be shared with other inputs, so the first sum is out of place; later ones add in place into
        that sum, which is the engine's own (under create_graph every sum is a recorded op)."""
        entry = self.leaf_grads.get(id(leaf))
        if entry is None:
            self.leaf_grads[id(leaf)] = [leaf, grad, False]
        elif self.create_graph:
            entry[1] = entry[1] + grad
        elif entry[2]:
            np.add(entry[1].data, grad.data, out=entry[1].data)
        else:
            entry[1], entry[2] = Tensor._make(entry[1].data + grad.data, None), True

    def deliver_to_leaves(self) -> None:
        """Each leaf's total gradient: run its hooks (once, on the total), then capture it (tg.grad)
        or accumulate it into .grad."""
        for leaf, grad, _ in self.leaf_grads.values():
            if leaf._hooks:
                grad = _run_hooks(leaf._hooks, grad)
            if self.captures is None:
                _accumulate(leaf, grad, self.create_graph)
            elif id(leaf) in self.captures:
                self.captures[id(leaf)] = grad

    def captured(self) -> list[Tensor | None] | None:
        """The gradients of the captured tensors, in order (None without capture)."""
        if self.captures is None or self.capture is None:
            return None
        return [self.captures[id(t)] for t in self.capture]


def _run_hooks(hooks: Hooks, grad: Tensor) -> Tensor:
    """Call each hook on the gradient; a hook that returns a Tensor replaces it."""
    for hook in list(hooks.values()):
        result = hook(grad)
        if result is not None:
            grad = result
    return grad


def _accumulate(tensor: Tensor, grad: Tensor, create_graph: bool) -> None:
    """Add `grad` into `tensor.grad`, as PyTorch's AccumulateGrad: `.grad` is the tensor's own (a
    copy, never shared with another tensor or with a gradient the graph holds), and it is updated
    in place only when no graph is recorded and it is not itself a graph's output; the update
    bumps its version, so a graph that saved it notices."""
    old = tensor.grad
    if old is None:
        tensor.grad = grad * 1.0 if create_graph and grad.requires_grad else Tensor._make(grad.data.copy(), None)
    elif create_graph or old.grad_fn is not None:
        tensor.grad = old + grad
    else:
        old.data += grad.data
        old._version += 1


def backward(tensor: Tensor, grad: Tensor | np.ndarray | float | None, retain_graph: bool,
             create_graph: bool) -> None:
    """`Tensor.backward`: check the root and its gradient, then run the pass."""
    if not tensor.requires_grad:
        raise GraphError(
            f"backward: the tensor (shape {tensor.shape}) does not require grad and has no grad_fn: "
            f"no input it was computed from has requires_grad=True (or it was computed under no_grad)."
        )
    root_grad = _root_grad("backward", tensor, grad)
    run_backward([tensor], [root_grad], retain_graph or create_graph, create_graph)


def grad(
    outputs: Tensor | Sequence[Tensor],
    inputs: Tensor | Sequence[Tensor],
    grad_outputs: Tensor | Sequence[Tensor | None] | None = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    allow_unused: bool = False,
) -> tuple[Tensor | None, ...]:
    """Gradients of `outputs` w.r.t. `inputs`, returned instead of accumulated into `.grad`."""
    outs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    ins = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    if grad_outputs is None or isinstance(grad_outputs, (Tensor, np.ndarray)):
        gouts = [grad_outputs] * len(outs) if grad_outputs is None else [grad_outputs]
    else:
        gouts = list(grad_outputs)
    if len(gouts) != len(outs):
        raise GraphError(f"grad: got {len(gouts)} grad_outputs for {len(outs)} outputs.")
    for what, tensors in (("input", ins), ("output", outs)):
        for i, t in enumerate(tensors):
            if not isinstance(t, Tensor):
                raise TypeError(f"grad: {what} {i} must be a Tensor, got {type(t).__name__}")
    for i, t in enumerate(ins):
        if not t.requires_grad:
            raise GraphError(f"grad: input {i} (shape {t.shape}) does not require grad.")
    for i, t in enumerate(outs):
        if not t.requires_grad:
            raise GraphError(f"grad: output {i} (shape {t.shape}) does not require grad and has no grad_fn.")
    root_grads = [_root_grad("grad", t, g) for t, g in zip(outs, gouts)]
    if retain_graph is None:
        retain_graph = create_graph
    result = run_backward(outs, root_grads, retain_graph, create_graph, capture=ins)
    assert result is not None
    for i, g in enumerate(result):
        if g is None and not allow_unused:
            raise GraphError(
                f"grad: input {i} (shape {ins[i].shape}) was not used to compute the outputs; "
                f"pass allow_unused=True to get None for it."
            )
    return tuple(result)


def _root_grad(op: str, tensor: Tensor, grad: Tensor | np.ndarray | float | None) -> Tensor:
    if grad is None:
        if tensor.size != 1:
            raise GraphError(
                f"{op}: the output has shape {tensor.shape}, so a gradient must be passed: backward() "
                f"without a gradient works only for a single-element (scalar) output. Reduce it first "
                f"(e.g. loss.sum() or loss.mean()) or call backward(grad) with a grad of shape {tensor.shape}."
            )
        return Tensor(np.ones(tensor.shape, dtype=tensor.dtype))
    g = grad if isinstance(grad, Tensor) else Tensor(np.asarray(grad, dtype=tensor.dtype))
    if g.shape != tensor.shape:
        raise GraphError(
            f"{op}: the gradient has shape {g.shape} but the output has shape {tensor.shape}; they must match."
        )
    return g
