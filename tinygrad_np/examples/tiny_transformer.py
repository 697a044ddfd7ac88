"""A one-block decoder-only transformer written as plain functions, trained on a toy sequence task.

`init_params(config)` returns ``{"tok_emb": Tensor, "pos_emb": ..., "ln1.weight": ..., ...}`` and
`forward(params, tokens, config)` maps integer tokens (B, T) to next-token logits (B, T, vocab):

    x = tok_emb[tokens] + pos_emb[:T]
    x = x + attention(layer_norm(x))      # causal multi-head self-attention, batched matmuls
    x = x + mlp(layer_norm(x))            # linear - GELU - linear
    logits = layer_norm(x) @ head.T

The task: each sequence repeats a random pattern of `period` tokens, so every token from position
`period` on is predictable by attending `period` positions back; `train` fits it in a few hundred
steps of Adam.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .. import functional as F
from ..functions import where
from ..optim import Adam
from ..tensor import Tensor

__all__ = ["Config", "forward", "init_params", "loss", "make_batch", "train"]


@dataclass(frozen=True)
class Config:
    """Sizes of the model and the task."""

    vocab: int = 8
    seq_len: int = 12
    dim: int = 32
    heads: int = 2
    hidden: int = 64
    period: int = 3


def init_params(config: Config = Config(), seed: int = 0, dtype: type = np.float32) -> dict[str, Tensor]:
    """Embeddings from N(0, 0.02^2) (GPT-2's choice), linear weights from PyTorch's default init,
    layer norms at weight 1 and bias 0."""
    rng = np.random.default_rng(seed)
    d, h = config.dim, config.hidden

    def linear(out_features: int, in_features: int) -> np.ndarray:
        bound = 1 / math.sqrt(in_features)  # kaiming_uniform_(a=sqrt(5)) reduces to this bound
        return rng.uniform(-bound, bound, (out_features, in_features))

    arrays = {
        "tok_emb": rng.normal(0, 0.02, (config.vocab, d)),
        "pos_emb": rng.normal(0, 0.02, (config.seq_len, d)),
        "ln1.weight": np.ones(d), "ln1.bias": np.zeros(d),
        "attn.qkv.weight": linear(3 * d, d), "attn.qkv.bias": np.zeros(3 * d),
        "attn.out.weight": linear(d, d), "attn.out.bias": np.zeros(d),
        "ln2.weight": np.ones(d), "ln2.bias": np.zeros(d),
        "mlp.fc1.weight": linear(h, d), "mlp.fc1.bias": np.zeros(h),
        "mlp.fc2.weight": linear(d, h), "mlp.fc2.bias": np.zeros(d),
        "ln_f.weight": np.ones(d), "ln_f.bias": np.zeros(d),
        "head.weight": linear(config.vocab, d),
    }
    return {name: Tensor(a.astype(dtype), requires_grad=True) for name, a in arrays.items()}


def attention(params: dict[str, Tensor], x: Tensor, heads: int) -> Tensor:
    """Causal multi-head self-attention of (B, T, D): each position mixes the values of itself and
    the positions before it, weighted by softmax(q k^T / sqrt(D / heads))."""
    b, t, d = x.shape
    qkv = F.linear(x, params["attn.qkv.weight"], params["attn.qkv.bias"])  # (B, T, 3D)
    split = qkv.reshape(b, t, 3, heads, d // heads).transpose(2, 0, 3, 1, 4)  # (3, B, H, T, D/H)
    q, k, v = split[0], split[1], split[2]
    scores = q @ k.transpose(0, 1, 3, 2) * (1 / math.sqrt(d // heads))  # (B, H, T, T)
    causal = np.tril(np.ones((t, t), dtype=bool))  # position i sees positions 0..i
    weights = F.softmax(where(causal, scores, -np.inf), axis=-1)  # masked_fill(~causal, -inf)
    mixed = (weights @ v).transpose(0, 2, 1, 3).reshape(b, t, d)  # heads side by side again
    return F.linear(mixed, params["attn.out.weight"], params["attn.out.bias"])


def forward(params: dict[str, Tensor], tokens: np.ndarray, config: Config = Config()) -> Tensor:
    """Next-token logits (B, T, vocab) for integer tokens (B, T)."""
    t = tokens.shape[1]
    x = F.embedding(tokens, params["tok_emb"]) + params["pos_emb"][:t]
    d = (config.dim,)
    x = x + attention(params, F.layer_norm(x, d, params["ln1.weight"], params["ln1.bias"]), config.heads)
    h = F.layer_norm(x, d, params["ln2.weight"], params["ln2.bias"])
    h = F.linear(F.gelu(F.linear(h, params["mlp.fc1.weight"], params["mlp.fc1.bias"])),
                 params["mlp.fc2.weight"], params["mlp.fc2.bias"])
    x = x + h
    return F.linear(F.layer_norm(x, d, params["ln_f.weight"], params["ln_f.bias"]), params["head.weight"])


def make_batch(rng: np.random.Generator, batch: int, config: Config = Config()) -> tuple[np.ndarray, np.ndarray]:
    """(inputs, targets), each (B, T): random patterns of `period` tokens repeated; the target of
    position i is token i + 1, and the first `period - 1` targets (not yet predictable) are
    ignore_index -100."""
    pattern = rng.integers(0, config.vocab, (batch, config.period))
    reps = -(-(config.seq_len + 1) // config.period)
    seq = np.tile(pattern, (1, reps))[:, :config.seq_len + 1]
    targets = seq[:, 1:].copy()
    targets[:, :config.period - 1] = -100
    return seq[:, :-1], targets


def loss(params: dict[str, Tensor], tokens: np.ndarray, targets: np.ndarray, config: Config = Config()) -> Tensor:
    """Mean next-token cross-entropy over the predictable positions."""
    logits = forward(params, tokens, config)
    return F.cross_entropy(logits.reshape(-1, config.vocab), targets.reshape(-1), ignore_index=-100)


def train(steps: int = 300, batch: int = 32, lr: float = 3e-3, config: Config = Config(),
          seed: int = 0) -> list[float]:
    """Fit the repeat-the-pattern task with Adam; returns the loss of every step."""
    params = init_params(config, seed)
    optimizer = Adam(list(params.values()), lr=lr)
    rng = np.random.default_rng(seed + 1)
    history = []
    for _ in range(steps):
        tokens, targets = make_batch(rng, batch, config)
        value = loss(params, tokens, targets, config)
        optimizer.zero_grad()
        value.backward()
        optimizer.step()
        history.append(value.item())
    return history


if __name__ == "__main__":
    losses = train()
    print(f"loss: first {losses[0]:.3f}, last {np.mean(losses[-20:]):.3f} "
          f"(chance {math.log(Config().vocab):.3f})")
