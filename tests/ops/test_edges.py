"""Gradients and results at the edges, against PyTorch's answers: routed-away gradients are exactly 0
(never 0 * inf), pow at a zero base, sigmoid far in the tails, empty batches, NaN in max pooling
and reductions, and the dtype of integers meeting floats."""
from __future__ import annotations

import math

import numpy as np
import pytest

import tinygrad_np as tg
import tinygrad_np.functional as F

try:
    import torch
except ImportError:  # the PyTorch comparisons are skipped; the stated answers are still checked
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="PyTorch is not installed")
INF, NAN = math.inf, math.nan


def grads(fn, *values):
    """The gradients of fn(*leaves).sum() w.r.t. float64 leaves made from `values`."""
    leaves = [tg.Tensor(np.array(v, dtype=np.float64), requires_grad=True) for v in values]
    with np.errstate(all="ignore"):
        fn(*leaves).sum().backward()
    return [leaf.grad.data for leaf in leaves]


def torch_grads(fn, *values):
    leaves = [torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in values]
    fn(*leaves).sum().backward()
    return [leaf.grad.numpy() for leaf in leaves]


def same(got, expected):
    np.testing.assert_array_equal(np.asarray(got), np.asarray(expected))  # NaN equals NaN here


def close(got, expected):
    """Equal up to rounding (the last bit may differ from PyTorch's), inf and NaN in the same places."""
    np.testing.assert_allclose(np.asarray(got), np.asarray(expected), rtol=1e-14, atol=0)


# -- routed gradients: a gradient sent away is exactly 0, even where the incoming one is inf -------
ROUTED = [  # (name, tinygrad fn, torch fn, inputs, expected gradients)
    ("relu", lambda x: x.relu().sqrt(), lambda x: x.relu().sqrt(), ([-1.0, 0.0, 2.0],),
     [[0.0, 0.0, 0.5 / math.sqrt(2)]]),
    ("clip", lambda x: x.clip(lo=0).sqrt(), lambda x: x.clamp(min=0).sqrt(), ([-1.0, 0.0, 2.0],),
     [[0.0, INF, 0.5 / math.sqrt(2)]]),
    ("clip-hi", lambda x: (1 - x.clip(hi=1)).sqrt(), lambda x: (1 - x.clamp(max=1)).sqrt(), ([3.0, 1.0, -3.0],),
     [[0.0, -INF, -0.25]]),
    ("maximum", lambda a, b: tg.maximum(a, b).sqrt(), lambda a, b: torch.maximum(a, b).sqrt(),
     ([-1.0, 0.0, 0.0], [0.0, 0.0, -1.0]), [[0.0, INF, INF], [INF, INF, 0.0]]),
    ("minimum", lambda a, b: (1 - tg.minimum(a, b)).sqrt(), lambda a, b: (1 - torch.minimum(a, b)).sqrt(),
     ([2.0, 1.0, 1.0], [1.0, 1.0, 2.0]), [[0.0, -INF, -INF], [-INF, -INF, 0.0]]),
    ("maximum-broadcast", lambda a, b: tg.maximum(a, b).sqrt(), lambda a, b: torch.maximum(a, b).sqrt(),
     ([[-1.0], [4.0]], [0.0, 1.0]), [[[0.0], [0.5]], [INF, 0.5]]),
]


@pytest.mark.parametrize("name, fn, tfn, inputs, expected", ROUTED, ids=[r[0] for r in ROUTED])
def test_routed_gradient_is_exactly_zero(name, fn, tfn, inputs, expected):
    got = grads(fn, *inputs)
    for g, e in zip(got, expected):
        same(g, e)
    if torch is not None:
        for g, t in zip(got, torch_grads(tfn, *inputs)):
            same(g, t)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_relu_and_clip_route_inf_and_keep_dtype(dtype):
    x = tg.Tensor(np.array([-2.0, 0.0, 3.0], dtype=dtype), requires_grad=True)
    x.relu().backward(tg.Tensor(np.array([np.inf, np.inf, np.inf], dtype=dtype)))
    assert x.grad.dtype == dtype
    same(x.grad.data, np.array([0, 0, np.inf], dtype=dtype))


def test_abs_max_min_route_zero_where_pytorch_multiplies():
    # PyTorch multiplies these by a 0/1 factor and gives NaN; a routed-away gradient here is 0
    same(grads(lambda x: x.abs().sqrt(), [0.0, 1.0])[0], [0.0, 0.5])
    same(grads(lambda x: x.max().sqrt(), [-1.0, 0.0])[0], [0.0, INF])
    same(grads(lambda x: (1 - x.min()).sqrt(), [2.0, 1.0])[0], [0.0, -INF])


def test_tied_maxima_share_and_nan_takes_the_gradient():
    same(grads(lambda x: x.max(), [1.0, 3.0, 3.0])[0], [0.0, 0.5, 0.5])
    same(grads(lambda x: x.max(), [1.0, NAN, 2.0])[0], [0.0, 1.0, 0.0])
    same(grads(lambda x: x.min(axis=1), [[1.0, NAN, 2.0], [4.0, 3.0, 5.0]])[0], [[0, 1, 0], [0, 1, 0]])
    if torch is not None:  # torch.max without dim routes to the NaN too
        same(torch_grads(lambda x: x.max(), [1.0, NAN, 2.0])[0], [0.0, 1.0, 0.0])


def test_masked_double_backward_routes_too():
    x = tg.Tensor(np.array([-1.0, 0.5, 2.0]), requires_grad=True)
    (g,) = tg.grad(x.clip(lo=0).sum() ** 2, [x], create_graph=True)
    (gg,) = tg.grad(g.sum(), [x])
    same(gg.data, [0.0, 2 * 2, 2 * 2])


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_select_kernel_matches_its_reference_bit_for_bit(dtype):
    from tinygrad_np.kernels.elementwise import select_into
    from tinygrad_np.kernels.reference import select as select_reference
    grad = np.array([[1.0, -0.0, np.inf, -np.inf], [np.nan, 2.5, 0.0, -np.nan]], dtype=dtype)
    mask = np.array([[True, True, False, True], [False, True, False, True]])
    for g, m in [(grad, mask), (grad.T, mask.T), (np.broadcast_to(grad[:1], (3, 4)), np.broadcast_to(mask[1], (3, 4)))]:
        out = np.empty(g.shape, dtype)
        select_into(out, g, m)
        assert out.tobytes() == np.ascontiguousarray(select_reference(g, m)).tobytes()


# -- pow ---------------------------------------------------------------------------------------
BASES = [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, -1.0, -1.0, -2.0, 2.0, 0.5]
EXPONENTS = [0.0, -1.0, 1.0, 0.5, 2.0, -0.5, 2.0, 0.5, 3.0, 0.0, -2.0]


def test_pow_tensor_exponent_at_zero_base():
    x, y = grads(lambda x, y: x ** y, BASES, EXPONENTS)
    same(x[:6], [0.0, -INF, 1.0, INF, 0.0, -INF])  # d/dx: 0 where y == 0
    same(y[:6], [0.0, -INF, 0.0, 0.0, 0.0, -INF])  # d/dy: 0 where x == 0 and y >= 0
    if torch is not None:
        tx, ty = torch_grads(lambda x, y: x ** y, BASES, EXPONENTS)
        close(x, tx)
        close(y, ty)


@pytest.mark.parametrize("exponent", [0.0, 1.0, 2.0, 3.0, 0.5, -1.0, -2.0, 0])
def test_pow_constant_exponent(exponent):
    base = [0.0, -1.0, 1.5]
    (got,) = grads(lambda x: x ** exponent, base)
    if exponent == 0:
        same(got, [0.0, 0.0, 0.0])
    if torch is not None:
        close(got, torch_grads(lambda x: x ** exponent, base)[0])


@pytest.mark.parametrize("base", [0.0, 2.0, -2.0])
def test_pow_constant_base(base):
    exponents = [0.0, 1.0, -1.0, 2.0, 1.5]
    (got,) = grads(lambda y: base ** y, exponents)
    if base == 0:
        same(got, [0.0, 0.0, -INF, 0.0, 0.0])
    if torch is not None:
        close(got, torch_grads(lambda y: base ** y, exponents)[0])


def test_pow_zero_exponent_with_inf_incoming_gradient():
    x = tg.Tensor(np.array([0.0, 2.0]), requires_grad=True)
    (x ** 0).backward(tg.Tensor(np.array([np.inf, np.inf])))
    same(x.grad.data, [0.0, 0.0])


# -- sigmoid -----------------------------------------------------------------------------------
def _sigmoid_exact(x: float) -> float:
    return 1 / (1 + math.exp(-x)) if x >= 0 else math.exp(x) / (1 + math.exp(x))


@pytest.mark.parametrize("dtype, points, rtol", [
    (np.float32, [-100.0, -87.0, -20.0, -16.0, -3.0, 0.0, 2.0, 16.0, 100.0], 2e-7),
    (np.float64, [-740.0, -700.0, -37.0, -20.0, -1.0, 0.0, 1.0, 37.0, 740.0], 1e-15),
])
def test_sigmoid_is_accurate_over_the_whole_range(dtype, points, rtol):
    x = np.array(points, dtype=dtype)
    out = tg.Tensor(x).sigmoid()
    assert out.dtype == dtype
    exact = np.array([_sigmoid_exact(float(v)) for v in x])
    tiny = exact < np.finfo(dtype).tiny  # below the normal range only absolute accuracy exists
    np.testing.assert_allclose(out.data[~tiny], exact[~tiny].astype(dtype), rtol=rtol)
    if torch is not None:
        # PyTorch flushes the subnormal sigmoid(-100) (float32) and sigmoid(-740) (float64) to 0
        expected = torch.sigmoid(torch.from_numpy(x)).numpy()
        np.testing.assert_allclose(out.data, expected, rtol=rtol, atol=np.finfo(dtype).tiny)


def test_log_sigmoid_of_a_very_negative_input_is_finite():
    x = tg.Tensor(np.array([-40.0, -700.0]), requires_grad=True)
    y = x.sigmoid().log()
    y.sum().backward()
    np.testing.assert_allclose(y.data, [-40.0, -700.0], rtol=1e-12)
    np.testing.assert_allclose(x.grad.data, [1.0, 1.0])


# -- empty batches -----------------------------------------------------------------------------
def _empty_case(fn, *shapes):
    leaves = [tg.Tensor(np.ones(s), requires_grad=True) for s in shapes]
    with np.errstate(all="ignore"):
        out = fn(*leaves)
        out.sum().backward()
    return out, leaves


EMPTY = [  # (name, fn, input shapes, torch fn or None)
    ("conv2d", lambda x, w, b: F.conv2d(x, w, b, padding=1), [(0, 2, 4, 4), (3, 2, 3, 3), (3,)],
     lambda x, w, b: torch.nn.functional.conv2d(x, w, b, padding=1)),
    ("conv2d-strided", lambda x, w: F.conv2d(x, w, stride=2), [(0, 2, 5, 5), (3, 2, 3, 3)],
     lambda x, w: torch.nn.functional.conv2d(x, w, stride=2)),
    ("conv_transpose2d", lambda x, w, b: F.conv_transpose2d(x, w, b, stride=2), [(0, 3, 4, 4), (3, 2, 3, 3), (2,)],
     lambda x, w, b: torch.nn.functional.conv_transpose2d(x, w, b, stride=2)),
    ("logsumexp-empty-axis", lambda x: x.logsumexp(axis=1), [(2, 0)], lambda x: torch.logsumexp(x, 1)),
    ("max-other-axis", lambda x: x.max(axis=1), [(0, 3)], lambda x: x.amax(1)),
    ("min-other-axis", lambda x: x.min(axis=1), [(0, 3)], lambda x: x.amin(1)),
    ("max_pool2d", lambda x: F.max_pool2d(x, 2), [(0, 2, 4, 4)], lambda x: torch.nn.functional.max_pool2d(x, 2)),
    ("avg_pool2d", lambda x: F.avg_pool2d(x, 2), [(0, 2, 4, 4)], lambda x: torch.nn.functional.avg_pool2d(x, 2)),
    ("batch_norm", lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True), [(0, 3), (3,), (3,)],
     lambda x, w, b: torch.nn.functional.batch_norm(x, None, None, w, b, training=True)),
    ("linear", lambda x, w, b: F.linear(x, w, b), [(0, 3), (2, 3), (2,)], torch.nn.functional.linear if torch else None),
    ("matmul-inner", lambda a, b: a @ b, [(2, 0), (0, 3)], lambda a, b: a @ b),
    ("var-all", lambda x: x.var(), [(0, 3)], lambda x: x.var(correction=0)),
    ("cross_entropy-sum", lambda x: F.cross_entropy(x, np.zeros(0, dtype=np.int64), reduction="sum"), [(0, 3)],
     lambda x: torch.nn.functional.cross_entropy(x, torch.zeros(0, dtype=torch.long), reduction="sum")),
]


@pytest.mark.filterwarnings("ignore:Mean of empty slice", "ignore:var\\(\\)")  # NaN is the answer, as PyTorch
@pytest.mark.parametrize("name, fn, shapes, tfn", EMPTY, ids=[e[0] for e in EMPTY])
def test_empty_batches_run_forward_and_backward(name, fn, shapes, tfn):
    out, leaves = _empty_case(fn, *shapes)
    for leaf in leaves:
        assert leaf.grad is not None and leaf.grad.shape == leaf.shape
        same(leaf.grad.data, np.zeros(leaf.shape))
    if torch is not None:
        t_leaves = [torch.ones(s, dtype=torch.float64, requires_grad=True) for s in shapes]
        t_out = tfn(*t_leaves)
        assert out.shape == tuple(t_out.shape)
        same(out.data, t_out.detach().numpy())


def test_reducing_over_an_empty_axis_raises_as_pytorch():
    with pytest.raises(tg.ShapeError, match=r"max: cannot reduce over axis 0 of length 0"):
        tg.Tensor(np.ones((0, 3))).max(axis=0)
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        F.batch_norm(tg.Tensor(np.ones((1, 3))), None, None, training=True)


def test_batch_norm_on_an_empty_batch_leaves_running_statistics_alone():
    mean, var = tg.zeros(3), tg.ones(3)
    F.batch_norm(tg.Tensor(np.ones((0, 3), dtype=np.float32)), mean, var, training=True)
    same(mean.data, [0, 0, 0])
    same(var.data, [1, 1, 1])


# -- NaN in max pooling --------------------------------------------------------------------------
@pytest.mark.parametrize("image", [
    [[1.0, NAN], [2.0, 3.0]],
    [[NAN, NAN], [2.0, 3.0]],
    [[NAN, 1.0, 5.0], [2.0, 3.0, 4.0]],
])
def test_max_pool_sends_the_gradient_to_the_nan(image):
    x = np.array(image)[None, None]
    kernel, stride = (2, 2), 1
    leaf = tg.Tensor(x, requires_grad=True)
    out = F.max_pool2d(leaf, kernel, stride=stride)
    out.sum().backward()
    assert np.isnan(out.data[..., 0]).all()
    assert np.isnan(x[leaf.grad.data == 1]).any()  # some NaN element got the window's gradient
    if torch is not None:
        t = torch.tensor(x, requires_grad=True)
        torch.nn.functional.max_pool2d(t, kernel, stride=stride).sum().backward()
        same(leaf.grad.data, t.grad.numpy())


# -- integers meeting floats ---------------------------------------------------------------------
PROMOTIONS = [  # (name, tinygrad expression, torch expression)
    ("arange*0.5", lambda: tg.arange(5) * 0.5, lambda: torch.arange(5) * 0.5),
    ("0.5*arange", lambda: 0.5 * tg.arange(5), lambda: 0.5 * torch.arange(5)),
    ("arange/2", lambda: tg.arange(5) / 2, lambda: torch.arange(5) / 2),
    ("arange/arange", lambda: tg.arange(1, 4) / tg.arange(1, 4), lambda: torch.arange(1, 4) / torch.arange(1, 4)),
    ("f32*arange", lambda: tg.ones(3) * tg.arange(3), lambda: torch.ones(3) * torch.arange(3)),
    ("arange-f32", lambda: tg.arange(3) - tg.ones(3), lambda: torch.arange(3) - torch.ones(3)),
    ("arange+0.5", lambda: tg.arange(3) + 0.5, lambda: torch.arange(3) + 0.5),
    ("arange**0.5", lambda: tg.arange(3) ** 0.5, lambda: torch.arange(3) ** 0.5),
    ("f64*arange", lambda: tg.ones(3, dtype=np.float64) * tg.arange(3),
     lambda: torch.ones(3, dtype=torch.float64) * torch.arange(3)),
    ("arange*2", lambda: tg.arange(3) * 2, lambda: torch.arange(3) * 2),
    ("maximum", lambda: tg.maximum(tg.arange(3), tg.ones(3)), lambda: torch.maximum(torch.arange(3), torch.ones(3))),
    ("concatenate", lambda: tg.concatenate([tg.arange(2), tg.ones(2)]), lambda: torch.cat([torch.arange(2), torch.ones(2)])),
    ("stack", lambda: tg.stack([tg.ones(2), tg.arange(2)]), lambda: torch.stack([torch.ones(2), torch.arange(2)])),
    ("where", lambda: tg.where(np.array([True, False, True]), tg.arange(3), 0.5),
     lambda: torch.where(torch.tensor([True, False, True]), torch.arange(3), 0.5)),
]


@pytest.mark.parametrize("name, expr, texpr", PROMOTIONS, ids=[p[0] for p in PROMOTIONS])
def test_integers_meeting_floats_take_the_float_dtype(name, expr, texpr):
    out = expr()
    expected = {"arange*2": np.int64, "f64*arange": np.float64}.get(name, np.float32)
    assert out.dtype == expected
    if torch is not None:
        t = texpr()
        assert str(out.dtype) == str(t.dtype).removeprefix("torch.")
        np.testing.assert_allclose(out.data, t.numpy(), rtol=1e-6)


def test_gradient_through_an_integer_operand_keeps_float32():
    x = tg.Tensor(np.ones(3, dtype=np.float32), requires_grad=True)
    y = (x * tg.arange(3) + x / tg.arange(1, 4)).sum()
    y.backward()
    assert y.dtype == np.float32 and x.grad.dtype == np.float32
    np.testing.assert_allclose(x.grad.data, [1.0, 1.5, 2 + 1 / 3], rtol=1e-6)
