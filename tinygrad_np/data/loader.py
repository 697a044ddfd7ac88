"""Mini-batch iteration over in-memory arrays, with reproducible per-epoch shuffling."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np


class DataLoader:
    """Iterate over (xb, yb) mini-batches of two equally long arrays.

    With shuffle=True each epoch uses its own permutation drawn from
    np.random.default_rng([seed, epoch]), so the order differs between epochs yet is the same
    for the same (seed, epoch): a resumed run calls set_epoch(n) (or load_state_dict) and sees
    the order it would have seen. Each call to iter() consumes one epoch. Unshuffled batches are
    views into x and y; shuffled ones are copies.
    """

    def __init__(self, x: np.ndarray, y: np.ndarray, batch_size: int, shuffle: bool = False,
                 drop_last: bool = False, seed: int | None = None) -> None:
        if len(x) != len(y):
            raise ValueError(f"x and y differ in length: {len(x)} vs {len(y)}")
        if int(batch_size) != batch_size or batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
        self.x, self.y = x, y
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        # Without a seed, draw one now and keep it, so state_dict() still pins the order down.
        self.seed = int(seed) if seed is not None else int(np.random.SeedSequence().entropy % (1 << 63))
        self.epoch = 0

    def __len__(self) -> int:
        """Number of batches per epoch."""
        n, b = len(self.x), self.batch_size
        return n // b if self.drop_last else -(-n // b)

    def set_epoch(self, epoch: int) -> None:
        """Make the next iteration use the order of epoch `epoch` (0-based)."""
        if epoch < 0:
            raise ValueError(f"epoch must be >= 0, got {epoch}")
        self.epoch = int(epoch)

    def order(self, epoch: int | None = None) -> np.ndarray:
        """Sample indices in the order epoch `epoch` (default: the next one) visits them."""
        epoch = self.epoch if epoch is None else epoch
        n = len(self.x)
        if not self.shuffle:
            return np.arange(n)
        return np.random.default_rng([self.seed, epoch]).permutation(n)

    def state_dict(self) -> dict[str, Any]:
        """What a checkpoint needs to reproduce the coming batch orders."""
        return {"seed": self.seed, "epoch": self.epoch}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore seed and epoch saved by state_dict()."""
        self.seed = int(state["seed"])
        self.set_epoch(int(state["epoch"]))

    def __iter__(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        idx = self.order()
        self.epoch += 1  # counted when iteration starts, so an abandoned epoch still advances
        return self._batches(idx)

    def _batches(self, idx: np.ndarray) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        n, b = len(idx), self.batch_size
        stop = (n // b) * b if self.drop_last else n
        for start in range(0, stop, b):
            if self.shuffle:
                sel = idx[start:start + b]
                yield self.x[sel], self.y[sel]
            else:
                yield self.x[start:start + b], self.y[start:start + b]

    def __repr__(self) -> str:
        return (f"DataLoader(n={len(self.x)}, batch_size={self.batch_size}, shuffle={self.shuffle}, "
                f"drop_last={self.drop_last}, seed={self.seed}, epoch={self.epoch})")
