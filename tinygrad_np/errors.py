"""Exceptions raised by tinygrad_np, so users can catch our errors by kind."""


class ShapeError(ValueError):
    """An op got inputs whose shapes (or axes) do not fit together."""


class GraphError(RuntimeError):
    """backward() or grad() was used in a way the recorded graph cannot support."""


class InplaceModificationError(RuntimeError):
    """A tensor saved for backward was changed in place after it was saved."""
