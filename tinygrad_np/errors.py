"""Exceptions raised by tinygrad_np, so users can catch our errors by kind.

One rule for a bad argument, in ops, `functional` and `nn` alike: a wrong type (not a Tensor, not
an int, an integer tensor where floats are needed) is a TypeError; a shape or size that does not
work is a ShapeError; any other bad value (a probability, a mode, a reduction) is a ValueError.
"""


class ShapeError(ValueError):
    """An op got inputs whose shapes (or axes) do not fit together, or a size argument (kernel_size,
    stride, padding, dilation, groups, a feature or channel count) that cannot make a valid shape."""


class GraphError(RuntimeError):
    """backward() or grad() was used in a way the recorded graph cannot support."""


class InplaceModificationError(RuntimeError):
    """A tensor saved for backward was changed in place after it was saved."""
