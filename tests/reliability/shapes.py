"""Shape helpers shared by the random-graph tests."""
from __future__ import annotations

import numpy as np


def broadcastable(a: tuple[int, ...], b: tuple[int, ...]) -> bool:
    """Whether NumPy (and so tinygrad_np) can broadcast shapes a and b together."""
    try:
        np.broadcast_shapes(a, b)
        return True
    except ValueError:
        return False
