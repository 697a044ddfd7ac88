"""Embedding: a table of learned vectors looked up by integer index."""
from __future__ import annotations

from typing import Any

import numpy as np

from .. import functional as F
from ..autograd.grad_mode import no_grad
from ..errors import ShapeError
from ..tensor import Tensor
from . import init
from .layers import _positive
from .module import Module, Parameter

__all__ = ["Embedding"]


class Embedding(Module):
    """weight[input]: a (num_embeddings, embedding_dim) table drawn from N(0, 1); the row at
    padding_idx starts at 0 and gets no gradient."""

    def __init__(self, num_embeddings: int, embedding_dim: int, padding_idx: int | None = None,
                 _weight: Any = None) -> None:
        super().__init__()
        self.num_embeddings = _positive(num_embeddings, "num_embeddings", "Embedding")
        self.embedding_dim = _positive(embedding_dim, "embedding_dim", "Embedding")
        if padding_idx is not None:
            if not -num_embeddings <= padding_idx < num_embeddings:
                raise ValueError(f"Embedding: padding_idx {padding_idx} must be within num_embeddings "
                                 f"({num_embeddings})")
            padding_idx %= num_embeddings  # a negative index counts from the end, as PyTorch
        self.padding_idx = padding_idx
        if _weight is None:
            self.weight = Parameter(np.empty((num_embeddings, embedding_dim), dtype=np.float32))
            self.reset_parameters()
        else:
            weight = Parameter(_weight.data if isinstance(_weight, Tensor) else np.asarray(_weight))
            if weight.shape != (num_embeddings, embedding_dim):
                raise ShapeError(f"Embedding: _weight has shape {weight.shape}, expected "
                                 f"{(num_embeddings, embedding_dim)}")
            self.weight = weight

    def reset_parameters(self) -> None:
        """Draw the table from N(0, 1) and zero the padding row."""
        init.normal_(self.weight)
        if self.padding_idx is not None:
            with no_grad():
                self.weight.data[self.padding_idx] = 0
                self.weight._version += 1

    def forward(self, input: Any) -> Tensor:
        return F.embedding(input, self.weight, self.padding_idx)

    def extra_repr(self) -> str:
        s = f"{self.num_embeddings}, {self.embedding_dim}"
        return s + (f", padding_idx={self.padding_idx}" if self.padding_idx is not None else "")
