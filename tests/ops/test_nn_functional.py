"""The PyTorch-breadth functional API without PyTorch: plain NumPy references, float32 in and out,
size-0 batches, and the errors bad arguments get."""
from __future__ import annotations

import numpy as np
import pytest

import tinygrad_np as tg
import tinygrad_np.functional as F
from tinygrad_np.errors import ShapeError

rng = np.random.default_rng(3)


@pytest.mark.parametrize("mode,numpy_mode", [("reflect", "reflect"), ("replicate", "edge"), ("circular", "wrap")])
def test_pad_modes_match_numpy(mode, numpy_mode):
    x = rng.standard_normal((2, 3, 4, 5)).astype(np.float32)
    out = F.pad(tg.Tensor(x), (1, 2, 3, 0), mode=mode)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out.data, np.pad(x, ((0, 0), (0, 0), (3, 0), (1, 2)), mode=numpy_mode))


def test_adaptive_avg_pool2d_matches_loops():
    x = rng.standard_normal((2, 3, 7, 5))
    out = F.adaptive_avg_pool2d(tg.Tensor(x), (3, 4)).data
    for i in range(3):
        for j in range(4):
            rows = slice(i * 7 // 3, -(-(i + 1) * 7 // 3))
            cols = slice(j * 5 // 4, -(-(j + 1) * 5 // 4))
            np.testing.assert_allclose(out[:, :, i, j], x[:, :, rows, cols].mean(axis=(2, 3)), rtol=1e-12)


def test_adaptive_avg_pool2d_keeps_inf_in_its_own_window():
    x = np.zeros((1, 1, 5, 5))
    x[0, 0, 0, 0] = np.inf
    out = F.adaptive_avg_pool2d(tg.Tensor(x), 3).data
    assert out[0, 0, 0, 0] == np.inf and np.isfinite(out.ravel()[1:]).all()


def test_interpolate_nearest_and_bilinear_references():
    x = np.arange(4.0).reshape(1, 1, 2, 2)
    np.testing.assert_array_equal(F.interpolate(tg.Tensor(x), scale_factor=2).data[0, 0],
                                  np.repeat(np.repeat(x[0, 0], 2, 0), 2, 1))
    up = F.interpolate(tg.Tensor(x), size=(3, 3), mode="bilinear", align_corners=True).data[0, 0]
    np.testing.assert_allclose(up, [[0, 0.5, 1], [1, 1.5, 2], [2, 2.5, 3]])


def test_linear_interpolation_reads_nothing_with_a_weight_of_0():
    # align_corners from 4 rows to 2 reads rows 0 and 3, and row 1 with weight 0: rows 1 and 2 get
    # exactly 0 even for an inf upstream (PyTorch multiplies by the weight, 0 * inf = NaN)
    x = tg.Tensor(rng.standard_normal((1, 1, 4, 3)), requires_grad=True)
    out = F.interpolate(x, size=(2, 3), mode="bilinear", align_corners=True)
    np.testing.assert_array_equal(out.data[0, 0], x.data[0, 0, [0, 3]])
    out.backward(tg.Tensor(np.full(out.shape, np.inf)))
    np.testing.assert_array_equal(x.grad.data[0, 0], [[np.inf] * 3, [0.0] * 3, [0.0] * 3, [np.inf] * 3])


def test_losses_keep_float32_and_handle_empty_batches():
    z = tg.Tensor(rng.standard_normal((4, 3)).astype(np.float32), requires_grad=True)
    for loss in (F.cross_entropy(z, [0, -100, 2, 1], weight=np.ones(3), label_smoothing=0.1),
                 F.nll_loss(z, [0, 1, 2, 1], weight=np.ones(3)),
                 F.l1_loss(z, np.zeros((4, 3))), F.smooth_l1_loss(z, np.zeros((4, 3))),
                 F.huber_loss(z, np.zeros((4, 3))), F.kl_div(z, np.full((4, 3), 1 / 3), reduction="batchmean"),
                 F.binary_cross_entropy(z.sigmoid(), np.ones((4, 3))),
                 F.binary_cross_entropy_with_logits(z, np.ones((4, 3)), weight=np.ones(3))):
        assert loss.dtype == np.float32
        z.grad = None
        loss.backward()
        assert z.grad.dtype == np.float32
    empty = tg.zeros(0, 3, requires_grad=True)
    assert np.isnan(F.cross_entropy(empty, np.zeros(0, np.int64), weight=np.ones(3)).item())
    assert F.nll_loss(empty, np.zeros(0, np.int64), reduction="sum").item() == 0.0
    assert F.max_pool2d(tg.zeros(0, 2, 4, 4), 2, ceil_mode=True).shape == (0, 2, 2, 2)
    assert F.interpolate(tg.zeros(0, 2, 3, 3), scale_factor=2).shape == (0, 2, 6, 6)


def test_loss_errors():
    z = tg.zeros(4, 3)
    with pytest.raises(ShapeError, match=r"cross_entropy: weight must have one entry per class, shape \(3,\), got "
                                         r"shape \(2,\)"):
        F.cross_entropy(z, [0, 1, 2, 1], weight=np.ones(2))
    with pytest.raises(ValueError, match="cross_entropy: target 5 at position 1 is out of range for 3 classes"):
        F.cross_entropy(z, [0, 5, 2, -100])
    with pytest.raises(ValueError, match="ignore_index is not supported for probability targets"):
        F.cross_entropy(z, np.full((4, 3), 1 / 3), ignore_index=0)
    with pytest.raises(ValueError, match=r"binary_cross_entropy: all elements of input should be between 0 and 1"):
        F.binary_cross_entropy(tg.Tensor([0.5, 1.5]), [0.0, 1.0])
    with pytest.raises(ShapeError, match=r"binary_cross_entropy_with_logits: weight of shape \(2,\) does not broadcast"):
        F.binary_cross_entropy_with_logits(z, np.zeros((4, 3)), weight=np.ones(2))
    with pytest.raises(ValueError, match="smooth_l1_loss: beta must be a non-negative number"):
        F.smooth_l1_loss(z, z, beta=-1)
    with pytest.raises(ValueError, match="huber_loss: delta must be a positive number"):
        F.huber_loss(z, z, delta=0)
    with pytest.raises(ValueError, match="kl_div: reduction must be 'mean', 'batchmean'"):
        F.kl_div(z, z, reduction="avg")
    with pytest.raises(ShapeError, match=r"l1_loss: input shape \(4, 3\) and target shape \(2,\) cannot"):
        F.l1_loss(z, np.zeros(2))


def test_layer_op_errors():
    x = tg.zeros(1, 2, 4, 4)
    with pytest.raises(ValueError, match="pad: mode must be 'constant', 'reflect', 'replicate' or 'circular'"):
        F.pad(x, (1, 1), mode="mirror")
    with pytest.raises(ShapeError, match=r"pad: mode='reflect' needs padding smaller than the padded axis \(4\)"):
        F.pad(x, (4, 0, 0, 0), mode="reflect")
    with pytest.raises(ShapeError, match=r"pad: mode='circular' pads 1 to 3 trailing axes"):
        F.pad(x, (1, 1), mode="circular")
    with pytest.raises(TypeError, match="pad: pad must be a sequence of an even number of ints"):
        F.pad(x, (1, 1, 1))
    with pytest.raises(ValueError, match="interpolate: give exactly one of size and scale_factor"):
        F.interpolate(x)
    with pytest.raises(ShapeError, match=r"interpolate: mode='bilinear' needs a 4-D input, got shape \(1, 2, 4\)"):
        F.interpolate(tg.zeros(1, 2, 4), size=3, mode="bilinear")
    with pytest.raises(ValueError, match="interpolate: align_corners only applies to the linear modes"):
        F.interpolate(x, size=3, align_corners=True)
    with pytest.raises(ShapeError, match="adaptive_avg_pool2d: output_size must be a positive int"):
        F.adaptive_avg_pool2d(x, 0)
    with pytest.raises(TypeError, match="adaptive_avg_pool2d: output_size must be a positive int"):
        F.adaptive_avg_pool2d(x, (2, 2.5))
    with pytest.raises(ShapeError, match="interpolate: size must be a positive int or 2 positive ints"):
        F.interpolate(x, size=(3, 0))
    with pytest.raises(TypeError, match="interpolate: size must be a positive int or 2 positive ints"):
        F.interpolate(x, size=(3, 2.5))
    with pytest.raises(ShapeError, match=r"group_norm: the 2 channels of input shape \(1, 2, 4, 4\) must divide into "
                                         r"num_groups=3 groups"):
        F.group_norm(x, 3)
    with pytest.raises(ShapeError, match=r"max_unpool2d: indices must be integers of the input's shape"):
        F.max_unpool2d(x, np.zeros((1, 2, 4, 4)), 2)
    with pytest.raises(IndexError, match=r"max_unpool2d: index 64 is out of range for an output of size \(8, 8\)"):
        F.max_unpool2d(x, np.full((1, 2, 4, 4), 64), 2)
    with pytest.raises(ValueError, match="avg_pool2d: divisor_override must be a non-zero int"):
        F.avg_pool2d(x, 2, divisor_override=0)


def test_functional_exports_every_public_op_function_and_nothing_else():
    """F lists its names explicitly: a function added to an ops module's __all__ must be added to F too."""
    import importlib
    import pkgutil

    import tinygrad_np.ops as ops

    public = set()
    for info in pkgutil.iter_modules(ops.__path__):
        public |= set(getattr(importlib.import_module(f"tinygrad_np.ops.{info.name}"), "__all__", ()))
    assert set(F.__all__) == public
    assert len(F.__all__) == len(public)  # no name listed twice
    assert {n for n in vars(F) if not n.startswith("_")} == public  # no stray names
    for name in F.__all__:
        assert callable(getattr(F, name)), name
