"""Anomaly detection: find the op that first produced a NaN or Inf, forward or backward.

Off by default; when off, the only cost is one boolean test per op.
"""
from __future__ import annotations

import traceback
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from .function import Function

enabled = False
_running_backward: Function | None = None  # the node whose backward is running


class AnomalyError(RuntimeError):
    """An op produced NaN or Inf while anomaly detection was on."""


class detect_anomaly:
    """Context manager: check every forward result and backward gradient for NaN/Inf.

    A failure names the op and, for backward, shows where in your code the op was created.
    """

    def __init__(self, check_nan: bool = True) -> None:
        self.check_nan = check_nan

    def __enter__(self) -> detect_anomaly:
        global enabled
        self.prev = enabled
        enabled = self.check_nan
        return self

    def __exit__(self, *exc: object) -> None:
        global enabled
        enabled = self.prev


def current_traceback() -> str:
    """The user's call stack at op creation, without the engine's own frames."""
    frames = [f for f in traceback.extract_stack()[:-1] if "/tinygrad_np/autograd/" not in f.filename]
    return "".join(traceback.format_list(frames[-8:]))


def _bad(array: Any) -> str | None:
    if isinstance(array, np.ndarray) and array.dtype.kind in "fc" and not np.isfinite(array).all():
        return "NaN" if np.isnan(array).any() else "Inf"
    return None


def check_forward(node: Function, out: np.ndarray) -> None:
    """Raise if an op's forward result is not finite (naming the backward it ran in, if any)."""
    bad = _bad(out)
    if bad:
        where = "".join(traceback.format_list(
            [f for f in traceback.extract_stack()[:-2] if "/tinygrad_np/autograd/" not in f.filename][-8:]))
        running = _running_backward
        if running is not None:
            raise AnomalyError(
                f"{running.name}Backward produced {bad} values: {node.name} (called inside "
                f"{running.name}.backward) returned {bad} values (shape {out.shape}).\n"
                f"The {running.name} op was created at:\n{_created(running)}"
                f"The bad values appeared in its backward at:\n{where}")
        raise AnomalyError(f"{node.name} returned {bad} values in its forward output "
                           f"(shape {out.shape}).\nCalled from:\n{where}")


class running_backward:
    """Marks `node`'s backward as running, so NaN/Inf from ops inside it are blamed on `node`."""

    def __init__(self, node: Function) -> None:
        self.node = node

    def __enter__(self) -> None:
        global _running_backward
        self.prev = _running_backward
        _running_backward = self.node

    def __exit__(self, *exc: object) -> None:
        global _running_backward
        _running_backward = self.prev


def _created(node: Function) -> str:
    return node.creation_traceback or "(created before anomaly detection was enabled)\n"


def check_backward(node: Function, index: int, grad: np.ndarray) -> None:
    """Raise if an op's backward produced a non-finite gradient, showing where the op was created."""
    bad = _bad(grad)
    if bad:
        raise AnomalyError(f"{node.name}Backward returned {bad} values in the gradient of input "
                           f"{index} (shape {grad.shape}).\nThe op was created at:\n{_created(node)}")
