"""Exceptions raised by tinygrad_np, so users can catch our errors by kind.

One rule for a bad argument, in ops, `functional` and `nn` alike: a wrong type (not a Tensor, not
an int, an integer tensor where floats are needed) is a TypeError; a shape or size that does not
work is a ShapeError; any other bad value (a probability, a mode, a reduction) is a ValueError.
"""
from typing import Any


class ShapeError(ValueError):
    """An op got inputs whose shapes (or axes) do not fit together, or a size argument (kernel_size,
    stride, padding, dilation, groups, a feature or channel count) that cannot make a valid shape."""


class GraphError(RuntimeError):
    """backward() or grad() was used in a way the recorded graph cannot support."""


class InplaceModificationError(RuntimeError):
    """A tensor saved for backward was changed in place after it was saved."""


class GradientShapeError(GraphError):
    """An op's backward returned a gradient whose shape is not its input's. Besides the message it
    carries the facts: `node` (the graph node whose backward ran; `op` is its name), `index` (the
    input), `shape` (what backward returned) and `expected` (the input's shape)."""

    def __init__(self, message: str, *, node: Any, index: int, shape: tuple[int, ...],
                 expected: tuple[int, ...]) -> None:
        super().__init__(message)
        self.node, self.op, self.index, self.shape, self.expected = node, node.name, index, shape, expected


class GradientCountError(GraphError):
    """An op's backward returned `count` gradients, not one per forward argument; `node` is the graph
    node whose backward ran and `op` its name."""

    def __init__(self, message: str, *, node: Any, count: int) -> None:
        super().__init__(message)
        self.node, self.op, self.count = node, node.name, count
