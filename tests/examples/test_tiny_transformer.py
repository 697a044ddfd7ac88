"""The tiny transformer example: it learns its toy task, and one step's loss and gradients match
PyTorch's for the same weights and batch."""
from __future__ import annotations

import math

import numpy as np
import pytest

from tinygrad_np.examples import tiny_transformer as tt


def test_batches_repeat_a_pattern_and_hide_the_unpredictable_targets():
    config = tt.Config(vocab=5, seq_len=7, period=3)
    tokens, targets = tt.make_batch(np.random.default_rng(0), 4, config)
    assert tokens.shape == targets.shape == (4, 7)
    np.testing.assert_array_equal(tokens[:, 3:], tokens[:, :4])  # period 3
    np.testing.assert_array_equal(targets[:, 2:6], tokens[:, 3:7])  # the next token
    np.testing.assert_array_equal(targets[:, 6], tokens[:, 1])  # the pattern goes on past the input
    assert (targets[:, :2] == -100).all()


def test_loss_drops_clearly_in_a_short_run():
    losses = tt.train(steps=60, batch=16, lr=1e-2)
    assert losses[0] > 0.8 * math.log(tt.Config().vocab)  # starts near chance
    assert np.mean(losses[-5:]) < 0.5 * losses[0]


def test_causal_attention_ignores_later_positions():
    config = tt.Config()
    params = tt.init_params(config, seed=3, dtype=np.float64)
    tokens, _ = tt.make_batch(np.random.default_rng(1), 2, config)
    changed = tokens.copy()
    changed[:, 6:] = (changed[:, 6:] + 1) % config.vocab
    a, b = tt.forward(params, tokens, config).data, tt.forward(params, changed, config).data
    np.testing.assert_array_equal(a[:, :6], b[:, :6])
    assert not np.allclose(a[:, 6:], b[:, 6:])


def _torch_loss(torch, params, tokens, targets, config):
    """The same model written in PyTorch."""
    F = torch.nn.functional
    p = params
    b, t = tokens.shape
    d, heads = config.dim, config.heads
    x = F.embedding(tokens, p["tok_emb"]) + p["pos_emb"][:t]

    def attention(x):
        qkv = F.linear(x, p["attn.qkv.weight"], p["attn.qkv.bias"])
        q, k, v = qkv.reshape(b, t, 3, heads, d // heads).permute(2, 0, 3, 1, 4)
        scores = q @ k.transpose(-1, -2) / math.sqrt(d // heads)
        causal = torch.tril(torch.ones(t, t, dtype=torch.bool))
        weights = scores.masked_fill(~causal, float("-inf")).softmax(-1)
        return F.linear((weights @ v).transpose(1, 2).reshape(b, t, d), p["attn.out.weight"], p["attn.out.bias"])

    x = x + attention(F.layer_norm(x, (d,), p["ln1.weight"], p["ln1.bias"]))
    h = F.layer_norm(x, (d,), p["ln2.weight"], p["ln2.bias"])
    x = x + F.linear(F.gelu(F.linear(h, p["mlp.fc1.weight"], p["mlp.fc1.bias"])), p["mlp.fc2.weight"], p["mlp.fc2.bias"])
    logits = F.linear(F.layer_norm(x, (d,), p["ln_f.weight"], p["ln_f.bias"]), p["head.weight"])
    return F.cross_entropy(logits.reshape(-1, config.vocab), targets.reshape(-1), ignore_index=-100)


def test_one_step_matches_pytorch():
    torch = pytest.importorskip("torch")
    config = tt.Config()
    params = tt.init_params(config, seed=5, dtype=np.float64)
    tokens, targets = tt.make_batch(np.random.default_rng(2), 4, config)
    ours = tt.loss(params, tokens, targets, config)
    ours.backward()
    theirs_params = {k: torch.tensor(v.data, requires_grad=True) for k, v in params.items()}
    theirs = _torch_loss(torch, theirs_params, torch.tensor(tokens), torch.tensor(targets), config)
    theirs.backward()
    np.testing.assert_allclose(ours.item(), theirs.item(), rtol=1e-12)
    for name, p in params.items():
        np.testing.assert_allclose(p.grad.data, theirs_params[name].grad.numpy(), rtol=1e-9, atol=1e-12, err_msg=name)
