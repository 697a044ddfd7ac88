"""F.embedding: rows of a weight table looked up by integer index, PyTorch's padding_idx included."""
from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import ShapeError
from ..functions import where
from ..tensor import Tensor
from ._util import require_float_tensor

__all__ = ["embedding"]


def embedding(input: Any, weight: Tensor, padding_idx: int | None = None) -> Tensor:
    """weight[input]: for integer indices of any shape (...), rows of the (num_embeddings, dim) table,
    shape (..., dim). The rows looked up at padding_idx get no gradient (their gradient is selected
    away, as PyTorch), so a padding row stays as it is in training."""
    op = "embedding"
    require_float_tensor(weight, op, "weight")
    if weight.ndim != 2:
        raise ShapeError(f"{op}: weight must be a 2-D (num_embeddings, embedding_dim) table, got shape {weight.shape}")
    index = input.data if isinstance(input, Tensor) else np.asarray(input)
    if index.dtype.kind not in "iu":
        raise TypeError(f"{op}: input must hold integer indices, got dtype {index.dtype} (shape {index.shape})")
    rows = weight.shape[0]
    bad = (index < 0) | (index >= rows)
    if bad.any():
        raise IndexError(f"{op}: index {int(index[bad].flat[0])} is out of range for a table of {rows} rows "
                         f"(weight shape {weight.shape}, input shape {index.shape})")
    index = index.astype(np.int64)  # a copy: later edits of the caller's indices cannot reach backward
    out = weight[index]
    if padding_idx is None or not weight.requires_grad:
        return out
    if not -rows <= padding_idx < rows:
        raise ValueError(f"{op}: padding_idx {padding_idx} is out of range for {rows} rows")
    padding = (index == padding_idx % rows)[..., None]
    return where(padding, out.detach(), out) if padding.any() else out
