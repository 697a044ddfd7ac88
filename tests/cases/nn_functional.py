"""Gradient-check cases for the PyTorch-breadth functional API: the loss options (class weights,
ignore_index, probability targets, element weights), binary cross-entropy on probabilities, the
regression and KL losses, padding modes, resizing, embedding, group norm, SiLU, pooling options
and max_unpool2d.

Most of these are compositions of existing ops; their cases are filed under the op they lean on
(e.g. reflect padding under GetItem), so each composition is gradchecked and gradgradchecked.
"""
from __future__ import annotations

import numpy as np

import tinygrad_np.functional as F
from tests.cases import Case

_rng = np.random.default_rng(20250101)


def randn(*shape: int, scale: float = 1.0) -> np.ndarray:
    return np.asarray(scale * _rng.standard_normal(shape))


def unit(*shape: int) -> np.ndarray:
    return np.asarray(0.05 + 0.9 * _rng.random(shape))


def distinct(*shape: int) -> np.ndarray:
    n = int(np.prod(shape))
    return ((_rng.permutation(n) - n / 2) * 0.1 + 0.013).reshape(shape)


def probabilities(*shape: int) -> np.ndarray:
    p = _rng.random(shape) + 0.1
    return p / p.sum(axis=1 if len(shape) > 1 else 0, keepdims=True)


CASES: dict[str, list[Case]] = {}

_W4 = np.array([0.5, 2.0, 1.0, 0.25])
_T = np.array([0, 3, -100, 1, 3])  # one ignored target

CASES["CrossEntropy"] = [
    Case(lambda z: F.cross_entropy(z, _T, weight=_W4), (randn(5, 4, scale=2.0),), name="weight-ignore-mean"),
    Case(lambda z: F.cross_entropy(z, _T, weight=_W4, label_smoothing=0.2), (randn(5, 4),),
         name="weight-ignore-smoothing-mean"),
    Case(lambda z: F.cross_entropy(z, _T, weight=_W4, label_smoothing=0.3, reduction="none"), (randn(5, 4),),
         name="weight-ignore-smoothing-none"),
    Case(lambda z: F.cross_entropy(z, _T, label_smoothing=0.1, reduction="sum"), (randn(5, 4),),
         name="ignore-smoothing-sum"),
    Case(lambda z: F.cross_entropy(z, np.array([[1, 7], [7, 0]]), ignore_index=7, weight=_W4[:3]),
         (randn(2, 3, 2),), name="spatial-custom-ignore_index"),
]
CASES["NLLLoss"] = [
    Case(lambda z: F.nll_loss(z, _T, weight=_W4), (randn(5, 4),), name="weight-ignore-mean"),
    Case(lambda z: F.nll_loss(z, _T, weight=_W4, reduction="none"), (randn(5, 4),), name="weight-ignore-none"),
    Case(lambda z: F.nll_loss(z, _T, reduction="sum"), (randn(5, 4),), name="ignore-sum"),
]
CASES["LogSoftmax"] = [
    Case(lambda z, q: F.cross_entropy(z, q), (randn(3, 4), probabilities(3, 4)), name="cross_entropy-soft-targets"),
    Case(lambda z, q: F.cross_entropy(z, q, weight=_W4, label_smoothing=0.2, reduction="none"),
         (randn(3, 4), probabilities(3, 4)), name="cross_entropy-soft-weight-smoothing"),
    Case(lambda z, q: F.cross_entropy(z, q, reduction="sum"), (randn(2, 3, 2), probabilities(2, 3, 2)),
         name="cross_entropy-soft-spatial"),
]
CASES["BinaryCrossEntropy"] = [
    Case(lambda x, y: F.binary_cross_entropy(x, y), (unit(3, 4), unit(3, 4)), name="mean"),
    Case(lambda x, y: F.binary_cross_entropy(x, y, weight=np.array([1.0, 0.5, 2.0]), reduction="none"),
         (unit(2, 3), unit(2, 3)), name="weight-none"),
    Case(lambda x, w, y=unit(4): F.binary_cross_entropy(x, y, weight=w, reduction="sum"),
         (unit(4), unit(4)), name="learned-weight-sum"),
    Case(lambda x, y: F.binary_cross_entropy(x, y), (np.array(0.3), np.array(0.9)), name="0d"),
]
CASES["BinaryCrossEntropyWithLogits"] = [
    Case(lambda x, y, w: F.binary_cross_entropy_with_logits(x, y, weight=w, pos_weight=np.array([2.0, 0.5, 1.0])),
         (randn(2, 3), unit(2, 3), unit(3)), name="weight-and-pos_weight"),
]
CASES["Abs"] = [
    Case(lambda x, y: F.l1_loss(x, y), (randn(3, 4), randn(3, 4)), name="l1_loss-mean"),
    Case(lambda x, y: F.l1_loss(x, y, reduction="none"), (randn(5), randn(5)), name="l1_loss-none"),
]
# differences kept away from the kinks at |d| = beta / delta and 0, where the loss is not smooth enough
_D = np.array([-2.0, -0.6, -0.2, 0.3, 0.7, 1.8])
CASES["Where"] = [
    Case(lambda x, y: F.smooth_l1_loss(x, y, beta=0.5), (_D.copy(), _D[::-1] * 0.5), name="smooth_l1_loss-beta0.5"),
    Case(lambda x: F.smooth_l1_loss(x, np.zeros(6), reduction="none"), (_D.copy(),), name="smooth_l1_loss-both-sides"),
    Case(lambda x: F.huber_loss(x, np.zeros(6), reduction="sum", delta=0.5), (_D.copy(),), name="huber_loss-both-sides"),
    Case(lambda x, t: F.kl_div(x, t, reduction="batchmean"), (np.log(probabilities(3, 4)), probabilities(3, 4)),
         name="kl_div-batchmean"),
    Case(lambda x, t: F.kl_div(x, t, reduction="none", log_target=True), (randn(2, 3), randn(2, 3)),
         name="kl_div-log_target"),
    # the target 0 makes d(target * input)/d input 0 by value, not by routing: 0 * inf is NaN, as PyTorch
    Case(lambda x: F.kl_div(x, np.array([[0.0, 0.5, 0.5]]), reduction="sum"), (randn(1, 3),),
         name="kl_div-zero-target", check_op=dict(check_routed=False)),
    Case(lambda x: F.adaptive_avg_pool2d(x, (3, 2)), (randn(2, 2, 5, 7),), name="adaptive_avg_pool2d-uneven"),
    Case(lambda x: F.adaptive_avg_pool2d(x, (4, 5)), (randn(1, 2, 3, 3),), name="adaptive_avg_pool2d-upsample"),
]
CASES["Mean"] = [
    Case(lambda x: F.adaptive_avg_pool2d(x, (2, 3)), (randn(2, 3, 4, 6),), name="adaptive_avg_pool2d-even"),
]
CASES["GetItem"] = [
    *(Case(lambda x, m=mode: F.pad(x, (2, 1, 1, 2), mode=m), (randn(2, 2, 4, 3),), name=f"pad-{mode}")
      for mode in ("reflect", "replicate", "circular")),
    Case(lambda x: F.pad(x, (1, 2), mode="reflect"), (randn(2, 4),), name="pad-reflect-1d"),
    Case(lambda x: F.interpolate(x, size=(5, 3)), (randn(1, 2, 3, 4),), name="interpolate-nearest"),
    Case(lambda x: F.interpolate(x, scale_factor=1.7, mode="bilinear"), (randn(1, 2, 3, 4),),
         name="interpolate-bilinear"),
    Case(lambda x: F.interpolate(x, size=(2, 7), mode="bilinear", align_corners=True), (randn(2, 1, 4, 3),),
         name="interpolate-bilinear-align_corners"),
    Case(lambda x: F.interpolate(x, size=6, mode="linear"), (randn(1, 2, 4),), name="interpolate-linear"),
    Case(lambda w: F.embedding(np.array([[0, 2, 2], [3, 1, 0]]), w), (randn(4, 3),), name="embedding"),
    # with padding_idx the padding row's gradient is 0 by design, not the derivative: tested in tests/nn
]
CASES["LayerNorm"] = [
    Case(lambda x, w, b: F.group_norm(x, 2, w, b), (randn(2, 4, 3), randn(4), randn(4)), name="group_norm"),
    Case(lambda x: F.group_norm(x, 3), (randn(2, 3, 2, 2),), name="group_norm-no-affine"),
]
CASES["Sigmoid"] = [
    Case(F.silu, (randn(3, 4, scale=3.0),), name="silu"),
]
CASES["MaxPool2d"] = [
    Case(lambda x: F.max_pool2d(x, 3, 2, 1, ceil_mode=True), (distinct(1, 2, 6, 7),), name="ceil_mode-padding"),
    Case(lambda x: F.max_pool2d(x, 2, dilation=2), (distinct(1, 2, 5, 6),), name="dilation"),
    Case(lambda x: F.max_pool2d(x, (2, 3), (2, 1), dilation=(2, 1), ceil_mode=True), (distinct(2, 1, 6, 5),),
         name="dilation-ceil_mode"),
    Case(lambda x: F.max_pool2d(x, 2, return_indices=True)[0], (distinct(1, 2, 4, 5),), name="return_indices"),
]
CASES["AvgPool2d"] = [
    Case(lambda x: F.avg_pool2d(x, 3, 2, 1, ceil_mode=True), (randn(1, 2, 6, 7),), name="ceil_mode-padding"),
    Case(lambda x: F.avg_pool2d(x, 3, 2, 1, count_include_pad=False), (randn(1, 2, 5, 5),),
         name="count_include_pad=False"),
    Case(lambda x: F.avg_pool2d(x, 2, divisor_override=3), (randn(1, 1, 4, 4),), name="divisor_override"),
]
_UNPOOL_INDEX = np.array([[[[0, 3], [9, 14]], [[5, 2], [12, 15]]]])  # distinct positions in 4 x 4
CASES["MaxUnpool2d"] = [
    Case(lambda x, i: F.max_unpool2d(x, i, 2), (randn(1, 2, 2, 2), _UNPOOL_INDEX), name="2x2"),
    Case(lambda x: F.max_unpool2d(x, _UNPOOL_INDEX, 2, output_size=(5, 4)), (randn(1, 2, 2, 2),),
         name="output_size"),
]

# non-contiguous inputs: the ops index and reshape views correctly
CASES["GetItem"] += [
    Case(lambda x: F.pad(x.transpose(0, 1, 3, 2), (1, 1, 2, 0), mode="reflect"), (randn(1, 2, 4, 3),),
         name="pad-reflect-transposed-input"),
    Case(lambda x: F.interpolate(x.transpose(0, 1, 3, 2), size=(4, 5), mode="bilinear"), (randn(1, 2, 3, 2),),
         name="interpolate-bilinear-transposed-input"),
]
CASES["Where"] += [
    Case(lambda x: F.adaptive_avg_pool2d(x.transpose(0, 1, 3, 2), (2, 3)), (randn(1, 2, 5, 3),),
         name="adaptive_avg_pool2d-transposed-input"),
]
CASES["CrossEntropy"] += [
    Case(lambda z: F.cross_entropy(z.transpose(), _T, weight=_W4, label_smoothing=0.1), (randn(4, 5),),
         name="weight-ignore-smoothing-transposed-logits"),
]
