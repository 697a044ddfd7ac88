"""Grad mode: the one global switch that says whether operations are recorded in the graph."""
from __future__ import annotations

import functools
from typing import Any, Callable, TypeVar

F = TypeVar("F", bound=Callable[..., Any])

_grad_enabled = True


def is_grad_enabled() -> bool:
    """True when new operations are recorded in the graph."""
    return _grad_enabled


class _GradMode:
    """Sets grad mode inside a `with` block or a decorated function, and restores it afterwards."""

    mode: bool

    def __enter__(self) -> None:
        global _grad_enabled
        self.prev = _grad_enabled
        _grad_enabled = self.mode

    def __exit__(self, *exc: object) -> None:
        global _grad_enabled
        _grad_enabled = self.prev

    def __call__(self, fn: F) -> F:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with _Mode(self.mode):
                return fn(*args, **kwargs)

        return wrapper  # type: ignore[return-value]


class _Mode(_GradMode):
    """A grad-mode block for a given mode (used by the decorator form)."""

    def __init__(self, mode: bool) -> None:
        self.mode = mode


class no_grad(_GradMode):
    """Inside this block (or decorated function) no graph is recorded and nothing is saved."""

    mode = False


class enable_grad(_GradMode):
    """Re-enable graph recording inside a `no_grad` block."""

    mode = True


class set_grad_enabled(_GradMode):
    """Set grad mode now (`set_grad_enabled(False)`) or for a `with` block."""

    def __init__(self, mode: bool) -> None:
        global _grad_enabled
        self.mode = bool(mode)
        self.prev = _grad_enabled
        _grad_enabled = self.mode

    def __enter__(self) -> None:  # the mode was already set by __init__
        pass
