"""Gradient-check cases for every differentiable op, gathered from the modules of this package.

Each module here defines `CASES: dict[str, list[Case]]`, keyed by the op's `Function` class name.
`tests/gradcheck/test_op_cases.py` gradchecks every case and fails if an op has none.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


# check_op options shared by many cases, each saying why:
# a captured float64 constant decides the result's dtype (float32 with float64 is float64, as in
# PyTorch) or must match the input's (conv2d, linear), so float32 inputs cannot give float32
FLOAT64_CONSTANT: dict[str, Any] = {"check_float32": False}
# one element per result (softmax over one class, the variance of one value): the output is constant,
# and the closed-form backward makes its zero gradient as inf - inf with an inf upstream, as PyTorch
CONSTANT_OUTPUT: dict[str, Any] = {"check_routed": False}


@dataclass
class Case:
    """One gradient check: `fn(*tensors)` where float64 arrays in `inputs` become leaf Tensors
    with requires_grad=True and anything else is passed through unchanged."""

    fn: Callable[..., Any]
    inputs: tuple[Any, ...]
    name: str = ""
    second_order: bool = True  # also run gradgradcheck
    kwargs: dict[str, Any] = field(default_factory=dict)  # extra tolerances for gradcheck (eps, atol, rtol)
    # options for tg.check_op, run on each op's first case (e.g. check_empty=False), each justified
    check_op: dict[str, Any] = field(default_factory=dict)

    def with_check_op(self, **options: Any) -> Case:
        """This case with options for tg.check_op (for cases made by a helper)."""
        self.check_op = dict(self.check_op, **options)
        return self
