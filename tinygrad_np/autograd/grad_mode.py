"""Grad mode: the one global switch that says whether operations are recorded in the graph.

As in PyTorch, `no_grad`, `enable_grad`, `inference_mode` and `set_grad_enabled(mode)` each work as
a `with` block and as a function decorator; the first three also decorate without parentheses
(`@tg.no_grad`), and `set_grad_enabled(mode)` called on its own sets the mode until changed.
"""
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
        if not callable(fn):
            raise TypeError(f"{type(self).__name__}: a decorator needs a function, got {type(fn).__name__}")
        mode = self.mode

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with _Mode(mode):
                return fn(*args, **kwargs)

        return wrapper  # type: ignore[return-value]


class _Mode(_GradMode):
    """A grad-mode block for a given mode (used by the decorator form)."""

    def __init__(self, mode: bool) -> None:
        self.mode = mode


class _NoArgumentMode(_GradMode):
    """A grad mode that also decorates without parentheses: `@no_grad` is `@no_grad()`."""

    def __new__(cls, fn: Callable[..., Any] | None = None) -> Any:
        if fn is None:
            return super().__new__(cls)
        if not callable(fn):
            raise TypeError(f"{cls.__name__}() takes no arguments (or a function to decorate), got {fn!r}")
        return cls()(fn)

    def __init__(self, fn: Callable[..., Any] | None = None) -> None:
        pass


class no_grad(_NoArgumentMode):
    """Inside this block (or decorated function) no graph is recorded and nothing is saved."""

    mode = False


class enable_grad(_NoArgumentMode):
    """Re-enable graph recording inside a `no_grad` block (or for a decorated function)."""

    mode = True


class inference_mode(_GradMode):
    """`no_grad` under PyTorch's name for inference: nothing is recorded inside it (mode=True), and
    `inference_mode(False)` leaves grad mode as it is. Unlike PyTorch's inference tensors, results
    made inside are ordinary tensors, usable in a graph recorded later."""

    def __new__(cls, mode: bool | Callable[..., Any] = True) -> Any:
        if callable(mode):  # @inference_mode without parentheses
            return cls()(mode)
        return super().__new__(cls)

    def __init__(self, mode: bool | Callable[..., Any] = True) -> None:
        self.disables = bool(mode)

    def __enter__(self) -> None:
        self.mode = False if self.disables else _grad_enabled
        super().__enter__()

    def __call__(self, fn: F) -> F:
        if self.disables:
            return no_grad()(fn)
        if not callable(fn):
            raise TypeError(f"inference_mode: a decorator needs a function, got {type(fn).__name__}")
        return fn


class set_grad_enabled(_GradMode):
    """Set grad mode now (`set_grad_enabled(False)`), for a `with` block, or for a decorated function
    (`@set_grad_enabled(False)`, which leaves the mode outside the function as it was)."""

    def __init__(self, mode: bool) -> None:
        global _grad_enabled
        if mode is None or callable(mode):
            raise TypeError(f"set_grad_enabled: expected a bool, got {type(mode).__name__}; as a decorator "
                            f"write @set_grad_enabled(False)")
        self.mode = bool(mode)
        self.prev = _grad_enabled
        _grad_enabled = self.mode

    def __enter__(self) -> None:  # the mode was already set by __init__
        pass

    def __call__(self, fn: F) -> F:
        global _grad_enabled
        _grad_enabled = self.prev  # as a decorator it sets the mode only while the function runs
        return super().__call__(fn)
