"""`summary`: a text table of one forward pass (op, output shape, parameters, FLOPs), like torchinfo.

It runs the function once with grad enabled so the graph is recorded, then walks the graph from
the output in forward order. Parameters are the leaves that require grad (the example inputs
excluded); FLOPs are counted for matmul and convolution ops (2 per multiply-accumulate).
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..autograd.grad_mode import enable_grad
from ..tensor import Tensor
from .describe import op_attributes, op_flops, pack_items
from .walk import walk

_ATTR_WIDTH = 44  # attributes wrap onto continuation lines beyond this width


@dataclass(frozen=True)
class SummaryRow:
    """One op of the forward pass: its name, attributes, output shape, new parameters and FLOPs."""

    op: str
    attributes: dict[str, str]
    output_shape: tuple[int, ...] | None
    params: int
    param_names: tuple[str, ...]
    flops: int | None


class Summary(str):
    """The summary table as a string, with the numbers behind it as attributes."""

    rows: list[SummaryRow]
    total_params: int
    total_flops: int
    param_sizes: dict[str, int]
    unused_params: tuple[str, ...]

    def __new__(cls, text: str, rows: list[SummaryRow], param_sizes: dict[str, int],
                total_flops: int, unused_params: tuple[str, ...]) -> Summary:
        obj = super().__new__(cls, text)
        obj.rows = rows
        obj.param_sizes = param_sizes
        obj.total_params = sum(param_sizes.values())
        obj.total_flops = total_flops
        obj.unused_params = unused_params
        return obj


def summary(fn: Callable[..., Any], *example_inputs: Any, params: Mapping[str, Any] | None = None) -> Summary:
    """Run `fn(*example_inputs)` once and tabulate its ops, parameter counts and matmul/conv FLOPs.

    Float example inputs are given requires_grad so that even a parameter-free function records
    its graph; they are not counted as parameters. `params` (name -> Tensor) names the parameters.
    """
    if not callable(fn):
        raise TypeError(f"summary: fn must be callable, got {type(fn).__name__}")
    args, input_ids = _recordable_inputs(example_inputs)
    with enable_grad():
        result = fn(*args)
    roots = _roots(result)
    w = walk(roots)
    if not w.ops:
        raise ValueError(
            "summary: the function recorded no ops: no tensor it computed with requires grad. Pass the "
            "inputs as float Tensors/arrays, or use parameters created with requires_grad=True."
        )
    names = _param_names(params)
    param_leaves = [t for t in w.leaves if t.requires_grad and id(t) not in input_ids]
    label: dict[int, str] = {}
    for i, t in enumerate(param_leaves):
        label[id(t)] = names.get(id(t)) or t.name or f"param{i}"
    rows: list[SummaryRow] = []
    counted: set[int] = set()
    for op in w.ops:
        new = []
        for t in op.inputs:
            if t is not None and id(t) in label and id(t) not in counted:
                counted.add(id(t))
                new.append(t)
        out = w.outputs.get(op)
        out_shape = out.shape if out is not None else None
        attrs = op_attributes(op)
        rows.append(SummaryRow(op.name, attrs, out_shape, sum(t.size for t in new),
                               tuple(label[id(t)] for t in new), op_flops(op, op.inputs, out_shape)))
    param_sizes = {label[id(t)]: int(t.size) for t in param_leaves}
    used = {id(t) for t in param_leaves} | input_ids
    unused = tuple(k for k, v in (params or {}).items()
                   if isinstance(v, Tensor) and v.requires_grad and id(v) not in used)
    total_flops = sum(r.flops for r in rows if r.flops)
    text = _format(getattr(fn, "__name__", type(fn).__name__), rows, param_sizes, total_flops, roots, unused)
    return Summary(text, rows, param_sizes, total_flops, unused)


def _recordable_inputs(inputs: tuple[Any, ...]) -> tuple[list[Any], set[int]]:
    """Float inputs become leaves that require grad (sharing data); others pass through."""
    args: list[Any] = []
    ids: set[int] = set()
    for x in inputs:
        if isinstance(x, Tensor):
            ids.add(id(x))
            if not x.requires_grad and x.dtype.kind == "f":
                x = Tensor(x.data, requires_grad=True, name=x.name)
                ids.add(id(x))
        elif isinstance(x, np.ndarray) and x.dtype.kind == "f":
            x = Tensor(x, requires_grad=True)
            ids.add(id(x))
        args.append(x)
    return args, ids


def _roots(result: Any) -> list[Tensor]:
    if isinstance(result, Tensor):
        return [result]
    if isinstance(result, (tuple, list)) and result and all(isinstance(r, Tensor) for r in result):
        return list(result)
    if isinstance(result, Mapping) and result and all(isinstance(r, Tensor) for r in result.values()):
        return list(result.values())
    raise TypeError(f"summary: fn must return a Tensor (or a tuple/list/dict of Tensors), got {type(result).__name__}")


def _param_names(params: Mapping[str, Any] | None) -> dict[int, str]:
    if params is None:
        return {}
    if not isinstance(params, Mapping):
        raise TypeError(f"summary: params must be a dict of name -> Tensor, got {type(params).__name__}")
    names: dict[int, str] = {}
    for k, v in params.items():
        if isinstance(v, Tensor):
            names.setdefault(id(v), str(k))
    return names


def _format(title: str, rows: list[SummaryRow], param_sizes: dict[str, int], total_flops: int,
            roots: list[Tensor], unused: tuple[str, ...]) -> str:
    header = ("#", "Op", "Attributes", "Output shape", "Params", "FLOPs")
    body = []
    for i, r in enumerate(rows):
        attr_lines = pack_items([f"{k}={v}" for k, v in r.attributes.items()], _ATTR_WIDTH) or [""]
        params = f"{r.params:,} ({', '.join(r.param_names)})" if r.params else ""
        shape = "?" if r.output_shape is None else str(tuple(r.output_shape))
        body.append((str(i), r.op, attr_lines[0], shape, params, f"{r.flops:,}" if r.flops else ""))
        body += [("", "", more, "", "", "") for more in attr_lines[1:]]  # long attributes wrap
    widths = [max(len(row[c]) for row in [header, *body]) for c in range(len(header))]
    right = {0, 5}

    def line(cells: tuple[str, ...]) -> str:
        parts = [c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths))]
        return "  ".join(parts).rstrip()

    rule = "-" * len(line(tuple("x" * w for w in widths)))
    total = sum(param_sizes.values())
    out_shapes = ", ".join(f"{tuple(r.shape)} {r.dtype}" for r in roots)
    lines = [f"Summary of {title}: {len(rows)} ops, output {out_shapes}", rule, line(header), rule]
    lines += [line(row) for row in body]
    lines += [rule.replace("-", "="),
              f"Total parameters: {total:,} in {len(param_sizes)} tensor{'s' if len(param_sizes) != 1 else ''}",
              f"Total FLOPs (matmul/conv): {total_flops:,} ({_si(total_flops)}FLOPs)"]
    if unused:
        lines.append(f"Unused parameters (not in this forward pass): {', '.join(unused)}")
    return "\n".join(lines)


def _si(n: int) -> str:
    for unit, scale in (("G", 1e9), ("M", 1e6), ("K", 1e3)):
        if n >= scale:
            return f"{n / scale:.3g} {unit}"
    return f"{n} "
