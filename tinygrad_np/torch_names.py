"""PyTorch's spellings of NumPy's arguments: `dim` for `axis`, `keepdim` for `keepdims`.

NumPy's names are the primary ones; `torch_aliases` lets every Tensor method, function and module
constructor that takes an axis accept PyTorch's too, so `x.sum(dim=1, keepdim=True)` and
`x.sum(axis=1, keepdims=True)` are the same call, as are `nn.Softmax(dim=1)` and `nn.Softmax(axis=1)`.
Giving both spellings of one argument is an error, never a silent choice.
"""
from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])

# PyTorch's name -> NumPy's name
ALIASES = {"dim": "axis", "dims": "axis", "keepdim": "keepdims", "correction": "ddof",
           "start_dim": "start_axis", "end_dim": "end_axis"}


def renamed(op: str, kwargs: dict[str, Any]) -> dict[str, Any]:
    """`kwargs` with PyTorch's names replaced by NumPy's; a TypeError if both spellings are given."""
    out = dict(kwargs)
    for torch_name, numpy_name in ALIASES.items():
        if torch_name in out:
            if numpy_name in out:
                raise TypeError(f"{op}: got both {numpy_name}= and its PyTorch alias {torch_name}=; "
                                f"pass only one of them")
            out[numpy_name] = out.pop(torch_name)
    return out


def torch_aliases(fn: F) -> F:
    """Let `fn` (which spells its arguments NumPy's way) also accept PyTorch's names (see ALIASES).
    On a constructor, errors name the class being made."""
    constructor = fn.__name__ == "__init__"

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if kwargs and not ALIASES.keys().isdisjoint(kwargs):
            kwargs = renamed(type(args[0]).__name__ if constructor else fn.__name__, kwargs)
        return fn(*args, **kwargs)

    return wrapper  # type: ignore[return-value]
