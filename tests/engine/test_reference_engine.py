"""A micrograd-sized reference engine, and a check that the real one gives the same gradients.

`reference_grads` is backward with nothing but the algorithm: sort the nodes topologically (depth
first, recursively), then call each node's backward once, in reverse, summing the gradients that
reach each tensor. The real engine (tinygrad_np/autograd/engine.py) does the same with Kahn's
algorithm, without recursion, and adds hooks, retained gradients, checks and freeing around it.
"""
from __future__ import annotations

import numpy as np
from hypothesis import given, note, settings
from hypothesis import strategies as st

import tinygrad_np as tg
from tests.reliability.test_random_graphs import Program, _leaves, programs
from tinygrad_np.tensor import Tensor


def reference_grads(loss: Tensor, leaves: list[Tensor]) -> list[Tensor | None]:
    """d(loss)/d(leaf) for each leaf: topological sort, then each node's backward once, in reverse."""
    order, seen = [], set()

    def visit(node):  # a node goes after every node that made its inputs
        if node not in seen:
            seen.add(node)
            for t in node.inputs:
                if t is not None and t.grad_fn is not None:
                    visit(t.grad_fn)
            order.append(node)

    visit(loss.grad_fn)
    grads = {loss.grad_fn: Tensor(np.ones_like(loss.data))}  # a node's key: its output's gradient
    with tg.no_grad():
        for node in reversed(order):  # every consumer of a node's output has run before it
            input_grads = type(node).backward(node, grads.pop(node))
            input_grads = input_grads if isinstance(input_grads, tuple) else (input_grads,)
            for t, g in zip(node.inputs, input_grads):
                if t is not None and t.requires_grad and g is not None:
                    key = t.grad_fn if t.grad_fn is not None else id(t)  # a leaf has no node
                    grads[key] = grads[key] + g if key in grads else g
    return [grads.get(id(leaf)) for leaf in leaves]


def _loss(program: Program, leaves: tuple[Tensor, ...], seed: int) -> Tensor:
    """One scalar from all the program's outputs, each weighted at random so no gradient is symmetric."""
    rng = np.random.default_rng(seed)
    total = None
    for out in program(*leaves):
        term = (out * Tensor(rng.standard_normal(out.shape))).sum()
        total = term if total is None else total + term
    return total


@settings(max_examples=100)
@given(program=programs(), seed=st.integers(0, 2**16))
def test_reference_engine_gives_the_engines_gradients(program: Program, seed: int) -> None:
    note("\n".join(program.text))
    leaves = _leaves(program)
    loss = _loss(program, leaves, seed)
    if not loss.requires_grad:
        return  # no output depends on a leaf: neither engine has anything to do
    expected = tg.grad(loss, list(leaves), retain_graph=True, allow_unused=True)
    got = reference_grads(loss, list(leaves))
    for i, (g, want) in enumerate(zip(got, expected)):
        assert (g is None) == (want is None), f"leaf {i}: reference {g}, engine {want}"
        if g is not None:
            np.testing.assert_allclose(g.data, want.data, rtol=1e-10, atol=1e-12, err_msg=f"leaf {i}")


def test_reference_engine_sums_a_diamond():
    x = Tensor([0.5, -1.0], requires_grad=True)
    a = x.exp()
    y = (a * 2.0 + a.tanh()).sum()  # a reaches y along two paths: their gradients add
    (g,) = reference_grads(y, [x])
    expected = np.exp(x.data) * (2.0 + 1.0 - np.tanh(np.exp(x.data)) ** 2)
    np.testing.assert_allclose(g.data, expected, rtol=1e-6)
    y.backward()
    np.testing.assert_allclose(x.grad.data, g.data, rtol=1e-6)
