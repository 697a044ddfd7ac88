"""The backward pass: walk the graph once in reverse topological order, iteratively.

Kahn's algorithm over op nodes: count how many recorded consumers each node has, then run a node
only when every gradient flowing into it has arrived and been summed. No recursion, so a chain of
100,000 ops backprops; each node's backward runs exactly once.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import GraphError
from ..tensor import Hooks, Tensor
from . import anomaly
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
    """Backpropagate `root_grads` from `roots`.

    Without `capture`, gradients accumulate into the `.grad` of leaves (and of tensors that called
    `retain_grad()`). With `capture`, nothing is written; the gradients of those tensors are returned.
    """
    captured: dict[int, Tensor | None] | None = None
    if capture is not None:
        captured = {id(t): None for t in capture}
        for t in capture:  # a non-leaf's gradient is found through its node's output reference
            if t.grad_fn is not None:
                t.grad_fn.track_output(t)
    buffers: dict[Function, Tensor] = {}  # a node's output gradient, summed while it arrives
    leaf_grads: dict[int, list[Any]] = {}  # id(leaf) -> [leaf, its gradient summed so far, owned]
    with _Mode(create_graph):
        for root, grad in zip(roots, root_grads):
            if root.grad_fn is None:
                _sum_leaf_grad(leaf_grads, root, grad, create_graph)
            else:
                node = root.grad_fn
                buffers[node] = buffers[node] + grad if node in buffers else grad
        pending = _count_consumers([r.grad_fn for r in roots if r.grad_fn is not None])
        ready = [n for n in dict.fromkeys(r.grad_fn for r in roots) if n is not None and pending[n] == 0]
        while ready:
            node = ready.pop()
            grad = buffers.pop(node, None)
            inputs = node.inputs
            grads: tuple[Tensor | None, ...] = ()
            if grad is not None:
                ref = node._output_ref
                out = ref() if ref is not None else None
                if node.output_hooks or (out is not None and (out._retains_grad or captured is not None)):
                    grad = _finish_tensor_grad(node.output_hooks, out, grad, captured, create_graph)
                grads = _call_backward(node, grad)
            needs = node.needs_input_grad
            for i, t in enumerate(inputs):
                if t is None or not t.requires_grad:
                    continue
                g = grads[i] if grads and needs[i] else None
                if g is not None and (type(g) is not Tensor or g.data.shape != t.shape
                                      or g.data.dtype != t.dtype or anomaly.enabled):
                    g = _checked_grad(node, i, g, t)
                parent = t.grad_fn
                if parent is None:
                    if g is not None:
                        _sum_leaf_grad(leaf_grads, t, g, create_graph)
                    continue
                if g is not None:
                    summed = buffers.get(parent)
                    buffers[parent] = g if summed is None else summed + g
                left = pending[parent] - 1
                pending[parent] = left
                if left == 0:
                    ready.append(parent)
            if not retain_graph:
                node.release()
        for leaf, total, _ in leaf_grads.values():  # each leaf's hooks run once, on its total gradient
            _deliver_to_leaf(leaf, total, captured, create_graph)
    if captured is not None:
        return [captured[id(t)] for t in capture]  # type: ignore[union-attr]
    return None


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
            from .function import _freed_message

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
        raise GraphError(
            f"{node.name}.backward returned {len(grads)} gradient(s) but forward took {len(node.inputs)} "
            f"argument(s); return one per forward argument (None for those without a gradient)."
        )
    return grads


def _checked_grad(node: Function, i: int, grad: Any, tensor: Tensor) -> Tensor:
    """Input i's gradient from `node`'s backward, as a Tensor of the input's shape and dtype (only
    gradients that are not that already come here)."""
    shape, dtype = tensor.shape, tensor.dtype  # a StandIn input has these, not its data
    g = grad if isinstance(grad, Tensor) else Tensor(np.asarray(grad, dtype=dtype))
    if g.data.shape != shape:
        raise GraphError(
            f"{node.name}.backward returned a gradient of shape {g.shape} for input {i}, "
            f"which has shape {shape}; a gradient must have its input's shape."
        )
    if g.data.dtype != dtype:
        g = g.astype(dtype)
    if anomaly.enabled:
        anomaly.check_backward(node, i, g.data)
    return g


def _run_hooks(hooks: Hooks, grad: Tensor) -> Tensor:
    for hook in list(hooks.values()):
        result = hook(grad)
        if result is not None:
            grad = result
    return grad


def _finish_tensor_grad(
    hooks: Hooks | None, tensor: Tensor | None, grad: Tensor,
    captured: dict[int, Tensor | None] | None, create_graph: bool
) -> Tensor:
    """A non-leaf's gradient is complete: run its hooks (its node keeps them, so they run even once
    the tensor itself is gone), then retain or capture it if the tensor is alive and asks."""
    if hooks:
        grad = _run_hooks(hooks, grad)
    if tensor is None:
        return grad
    if captured is not None:
        if id(tensor) in captured:
            captured[id(tensor)] = grad
    elif tensor._retains_grad:
        _accumulate(tensor, grad, create_graph)
    return grad


def _sum_leaf_grad(leaf_grads: dict[int, list[Any]], leaf: Tensor, grad: Tensor, create_graph: bool) -> None:
    """Add one incoming gradient of a leaf (used by several ops) to its total. An incoming gradient
    may be shared with other inputs, so the first sum is out of place; later ones add in place into
    that sum, which is the engine's own (under create_graph every sum is a recorded op)."""
    entry = leaf_grads.get(id(leaf))
    if entry is None:
        leaf_grads[id(leaf)] = [leaf, grad, False]
    elif create_graph:
        entry[1] = entry[1] + grad
    elif entry[2]:
        np.add(entry[1].data, grad.data, out=entry[1].data)
    else:
        entry[1], entry[2] = Tensor._make(entry[1].data + grad.data, None), True


def _deliver_to_leaf(
    leaf: Tensor, grad: Tensor, captured: dict[int, Tensor | None] | None, create_graph: bool
) -> None:
    """A leaf's total gradient: run its hooks, then capture it (tg.grad) or accumulate it into .grad."""
    if leaf._hooks:
        grad = _run_hooks(leaf._hooks, grad)
    if captured is not None:
        if id(leaf) in captured:
            captured[id(leaf)] = grad
        return
    _accumulate(leaf, grad, create_graph)


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
