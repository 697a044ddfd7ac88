"""Differential test against PyTorch: seeded random graphs of the public ops, with fan-out, reuse,
broadcasting, recorded in-place updates, hooks on leaves and intermediates, retain_grad, retained
graphs (two backwards) and gradient accumulation after backward(create_graph=True); every value and
every gradient must match.

test_random_graphs.py checks random graphs against finite differences; its steps are closures over
tinygrad_np tensors. Here a program is plain data (an op name and operand positions), so the same
program replays on both frameworks.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import warnings

import numpy as np
import pytest

import tinygrad_np as tg
from tests.reliability.shapes import broadcastable

torch = pytest.importorskip("torch")

N_GRAPHS = 320
PER_TEST = 20
MAX_ABS = 30.0  # drop a step whose values grow beyond this (exp of exp would overflow)
MAX_SIZE = 48


@dataclass
class Program:
    """Leaves, then steps (op, operand positions, keyword arguments), each appending one node."""

    leaves: list[np.ndarray]
    steps: list[tuple[str, tuple[int, ...], dict[str, Any]]] = field(default_factory=list)
    hooks: dict[int, str] = field(default_factory=dict)  # node position -> hook kind
    retained: list[int] = field(default_factory=list)  # intermediates that call retain_grad()

    def text(self) -> str:
        lines = [f"x{i} = leaf{a.shape}" for i, a in enumerate(self.leaves)]
        n = len(self.leaves)
        lines += [f"n{n + k} = {op}{args} {kw or ''}" for k, (op, args, kw) in enumerate(self.steps)]
        return "\n".join(lines + [f"hooks {self.hooks}", f"retain_grad {self.retained}"])


def _np_op(op: str, xs: list[np.ndarray], kw: dict[str, Any]) -> np.ndarray:
    """The op on NumPy arrays: only used while generating, to know shapes and value ranges."""
    a = xs[0]
    binary = {"add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.divide, "matmul": np.matmul}
    if op in binary:
        return binary[op](a, xs[1])
    if op == "iadd_const":
        return (0.5 + a) * xs[1]
    if op == "imul_inter":
        return a * xs[1] + a
    unary = {"exp": np.exp, "log": np.log, "tanh": np.tanh, "relu": lambda v: np.maximum(v, 0),
             "sigmoid": lambda v: 1 / (1 + np.exp(-v)), "transpose": np.transpose}
    if op in unary:
        return unary[op](a)
    if op == "sum":
        return np.sum(a, axis=kw["axis"], keepdims=kw["keepdims"])
    if op == "mean":
        return np.mean(a, axis=kw["axis"], keepdims=kw["keepdims"])
    if op == "reshape":
        return a.reshape(kw["shape"])
    if op == "getitem":
        return a[kw["start"]:]
    raise AssertionError(op)


def make_program(seed: int) -> Program:
    rng = np.random.default_rng(seed)
    shapes = [tuple(int(n) for n in rng.integers(1, 4, size=rng.integers(0, 3))) for _ in range(rng.integers(1, 4))]
    program = Program([rng.standard_normal(s) for s in shapes])
    values = list(program.leaves)
    for _ in range(rng.integers(3, 12)):
        i = int(rng.integers(len(values)))  # any earlier node: reuse and fan-out
        a = values[i]
        op = str(rng.choice(["add", "sub", "mul", "div", "matmul", "exp", "log", "tanh", "sigmoid", "relu",
                             "sum", "mean", "reshape", "transpose", "getitem", "iadd_const", "imul_inter"]))
        args: tuple[int, ...] = (i,)
        kw: dict[str, Any] = {}
        if op in ("add", "sub", "mul", "div", "matmul", "iadd_const", "imul_inter"):
            if op == "matmul":
                fits = [j for j, b in enumerate(values) if 1 <= a.ndim <= 2 and 1 <= b.ndim <= 2
                        and a.shape[-1] == b.shape[0]]
            else:
                fits = [j for j, b in enumerate(values) if broadcastable(a.shape, b.shape)]
            if op == "div":
                fits = [j for j in fits if np.all(np.abs(values[j]) > 0.2)]
            if op == "imul_inter":
                fits = [j for j in fits if np.broadcast_shapes(a.shape, values[j].shape) == a.shape]
            if not fits:
                continue
            args = (i, int(rng.choice(fits)))
        elif op == "log" and not np.all(a > 0.1):
            continue
        elif op in ("sum", "mean"):
            kw = {"axis": None if a.ndim == 0 or rng.random() < 0.3 else int(rng.integers(a.ndim)),
                  "keepdims": bool(rng.random() < 0.5)}
        elif op == "reshape":
            kw = {"shape": (-1,) if rng.random() < 0.5 else tuple(reversed(a.shape))}
        elif op == "getitem":
            if a.ndim == 0:
                continue
            kw = {"start": int(rng.integers(a.shape[0]))}
        out = _np_op(op, [values[j] for j in args], kw)
        if out.size > MAX_SIZE or not np.all(np.abs(out) <= MAX_ABS):
            continue
        program.steps.append((op, args, kw))
        values.append(out)
    for k in range(len(values)):
        if rng.random() < 0.25:
            program.hooks[k] = str(rng.choice(["scale", "clip", "observe"]))
        elif k >= len(program.leaves) and rng.random() < 0.2:
            program.retained.append(k)
    return program


# -- one program, on either framework ---------------------------------------------------------------
def _inplace(op: str, a: Any, b: Any, constant: Any) -> Any:
    """In-place updates that enter the graph: into a constant (`c += a`), or of an intermediate."""
    if op == "iadd_const":
        c = constant(np.full(np.broadcast_shapes(tuple(a.shape), tuple(b.shape)), 0.5))
        c += a
        c *= b
        return c
    y = a * 1.0
    y *= b
    y += a
    return y


def _tg_op(op: str, xs: list[Any], kw: dict[str, Any]) -> Any:
    a = xs[0]
    if op.startswith("i"):
        return _inplace(op, a, xs[1], tg.Tensor)
    if op in ("add", "sub", "mul", "div", "matmul"):
        b = xs[1]
        return {"add": lambda: a + b, "sub": lambda: a - b, "mul": lambda: a * b, "div": lambda: a / b,
                "matmul": lambda: a @ b}[op]()
    if op in ("sum", "mean"):
        return getattr(a, op)(axis=kw["axis"], keepdims=kw["keepdims"])
    if op == "reshape":
        return a.reshape(kw["shape"])
    if op == "getitem":
        return a[kw["start"]:]
    if op == "transpose":
        return a.transpose()
    return getattr(a, op)()


def _torch_op(op: str, xs: list[Any], kw: dict[str, Any]) -> Any:
    a = xs[0]
    if op.startswith("i"):
        return _inplace(op, a, xs[1], torch.tensor)
    if op in ("add", "sub", "mul", "div", "matmul"):
        return _tg_op(op, xs, kw)  # the operators mean the same in both
    if op in ("sum", "mean"):
        dim = kw["axis"]
        if dim is None:
            out = getattr(a, op)()
            return out.reshape((1,) * a.ndim) if kw["keepdims"] else out
        return getattr(a, op)(dim=dim, keepdim=kw["keepdims"])
    if op == "reshape":
        return a.reshape(kw["shape"])
    if op == "getitem":
        return a[kw["start"]:]
    if op == "transpose":
        return a.permute(tuple(reversed(range(a.ndim))))
    return getattr(torch, op)(a)


def _hook(kind: str, clip: Callable[[Any], Any], seen: dict[int, list[np.ndarray]], k: int) -> Callable[[Any], Any]:
    """A hook that records the gradient it sees, and scales it, clips it or leaves it."""
    def hook(g: Any) -> Any:
        seen.setdefault(k, []).append(g.data.copy() if isinstance(g, tg.Tensor) else g.detach().numpy().copy())
        if kind == "scale":
            return g * 2.0
        if kind == "clip":
            return clip(g)
        return None
    return hook


def run(program: Program, framework: str, mode: str) -> dict[str, Any]:
    """Build the program's graph, backpropagate as `mode` says, and collect every value and gradient."""
    is_torch = framework == "torch"
    if is_torch:
        leaves = [torch.tensor(a, requires_grad=True) for a in program.leaves]
        apply, clip = _torch_op, (lambda g: g.clamp(-0.5, 0.5))
    else:
        leaves = [tg.Tensor(a, requires_grad=True) for a in program.leaves]
        apply, clip = _tg_op, (lambda g: g.clip(-0.5, 0.5))
    nodes = list(leaves)
    for op, args, kw in program.steps:
        nodes.append(apply(op, [nodes[j] for j in args], kw))
    seen: dict[int, list[np.ndarray]] = {}
    for k, kind in program.hooks.items():
        nodes[k].register_hook(_hook(kind, clip, seen, k))
    for k in program.retained:
        nodes[k].retain_grad()
    loss = sum((n * (1.0 + 0.1 * k)).sum() for k, n in enumerate(nodes))  # fan-out: every node reaches it

    def numpy(t: Any) -> np.ndarray | None:
        if t is None:
            return None
        return t.detach().numpy().copy() if is_torch else t.data.copy()

    result: dict[str, Any] = {"loss": numpy(loss), "values": [numpy(n) for n in nodes]}
    if mode == "plain":
        loss.backward()
    elif mode == "retained":
        loss.backward(retain_graph=True)
        result["first"] = [numpy(x.grad) for x in leaves]
        loss.backward()
    elif mode == "create_graph":
        with warnings.catch_warnings():  # PyTorch warns of the .grad <-> graph cycle; .grad is reset below
            warnings.simplefilter("ignore", UserWarning)
            loss.backward(create_graph=True)
        result["first"] = [numpy(x.grad) for x in leaves]
        penalty = sum((x.grad * x.grad * (1.0 + k)).sum() for k, x in enumerate(leaves))
        result["penalty"] = numpy(penalty)
        if penalty.requires_grad:
            penalty.backward()
    result["grads"] = [numpy(x.grad) for x in leaves]
    result["retained"] = [numpy(nodes[k].grad) for k in program.retained]
    # what each hook saw, call by call; a call with a zero gradient (up to rounding, as a / a) is left
    # out: PyTorch records
    # some backward formulas with an edge whose derivative is zero (ReLU's mask), where none is recorded
    # here, and sends a zero gradient along it in a second-order backward
    result["hooks"] = [[g for g in seen.get(k, []) if not _zero(g)] for k in sorted(program.hooks)]
    return result


def _zero(g: np.ndarray) -> bool:
    return g.size == 0 or float(np.max(np.abs(g))) < 1e-9


def _compare(ours: Any, theirs: Any, what: str) -> None:
    if isinstance(ours, list):
        assert len(ours) == len(theirs), what
        for i, (a, b) in enumerate(zip(ours, theirs)):
            _compare(a, b, f"{what}[{i}]")
        return
    if ours is None or theirs is None:  # no gradient is an all-zero one (see the hooks in run)
        assert _zero(ours if theirs is None else theirs), f"{what}: ours {ours}, PyTorch's {theirs}"
        return
    np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-12, err_msg=what)


@pytest.mark.parametrize("mode", ["plain", "retained", "create_graph"])
@pytest.mark.parametrize("start", range(0, N_GRAPHS, PER_TEST))
def test_random_graphs_match_pytorch(start: int, mode: str) -> None:
    for seed in range(start, start + PER_TEST):
        program = make_program(seed)
        ours, theirs = run(program, "tinygrad_np", mode), run(program, "torch", mode)
        where = f"seed {seed}, mode {mode}:\n{program.text()}"
        for key in ("loss", "values", "first", "penalty", "grads", "retained", "hooks"):
            if key in theirs:
                _compare(ours[key], theirs[key], f"{key} ({where})")
