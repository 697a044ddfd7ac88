"""The library's random number generator: one seeded NumPy Generator for init, dropout and data."""
from __future__ import annotations

from typing import Any

import numpy as np

_rng = np.random.default_rng()


def manual_seed(seed: int) -> np.random.Generator:
    """Seed every random draw tinygrad_np makes (initialisation, dropout, randn/rand)."""
    global _rng
    _rng = np.random.default_rng(seed)
    return _rng


def get_rng() -> np.random.Generator:
    """The generator used by the library (seeded by `manual_seed`)."""
    return _rng


def get_rng_state() -> dict[str, Any]:
    """The generator's state as a JSON-friendly dict (saved in checkpoints to resume exactly)."""
    return _rng.bit_generator.state


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore a state returned by `get_rng_state`."""
    _rng.bit_generator.state = state
