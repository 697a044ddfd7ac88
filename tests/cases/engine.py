"""Gradient-check cases for the engine's ops (elementwise, reduction, shape, linalg).

Inputs stay far from kinks (see tinygrad_np.gradcheck): no value near 0 for abs/relu, distinct
values 0.1 apart for max/min, positive bases for log/sqrt/pow, nothing near a clip bound.
"""
from __future__ import annotations

import numpy as np

import tinygrad_np as tg
from tinygrad_np.ops import elementwise as ew
from tinygrad_np.ops import linalg, reduction
from tinygrad_np.ops import shape as sh
from tests.cases import CONSTANT_OUTPUT, FLOAT64_CONSTANT, Case

_rng = np.random.default_rng(20240601)


def randn(*shape: int) -> np.ndarray:
    return np.asarray(_rng.standard_normal(shape))


def positive(*shape: int) -> np.ndarray:
    """Values in [0.5, 1.5): a safe domain for log, sqrt, division and powers."""
    return np.asarray(0.5 + _rng.random(shape))


def nonzero(*shape: int) -> np.ndarray:
    """Values of either sign at least 0.2 away from 0 (the kink of abs and relu)."""
    return np.asarray(_rng.choice([-1.0, 1.0], size=shape) * (0.2 + _rng.random(shape)))


def distinct(*shape: int) -> np.ndarray:
    """All-different values 0.1 apart (no ties for max/min), centred on 0."""
    n = int(np.prod(shape))
    return ((_rng.permutation(n) - (n - 1) / 2) * 0.1 + 0.013).reshape(shape)


def _s(shape: tuple[int, ...]) -> str:
    """A shape for a test id: (2, 3) -> "2x3", () -> "0d"."""
    return "x".join(map(str, shape)) if shape else "0d"


def const(array: np.ndarray) -> tg.Tensor:
    """A float64 constant operand (no gradient)."""
    return tg.Tensor(array)


# Broadcasting pairs shared by the binary elementwise ops: (shape of a, shape of b).
BINARY_SHAPES = [
    ((2, 3), (2, 3)),
    ((5, 3), (3,)),
    ((3,), (5, 3)),
    ((2, 1, 4), (3, 1)),
    ((), (2, 3)),
    ((2, 3), ()),
    ((), ()),
    ((1,), (2, 1)),
    ((4, 1), (1, 3)),
]


def _binary(fn, make_a=randn, make_b=randn) -> list[Case]:
    return [Case(fn, (make_a(*sa), make_b(*sb)), name=f"{_s(sa)}_and_{_s(sb)}") for sa, sb in BINARY_SHAPES]


def _unary(fn, make=randn, shapes=((2, 3), (), (4,), (2, 1, 3))) -> list[Case]:
    return [Case(fn, (make(*s),), name=_s(s)) for s in shapes]


CASES: dict[str, list[Case]] = {}

# -- elementwise --------------------------------------------------------------------------------
CASES["Add"] = _binary(lambda a, b: a + b) + [
    Case(lambda a: a + 2.5, (randn(3, 2),), name="python-scalar"),
    Case(lambda a, c=randn(2, 3): const(c) + a, (randn(3),), name="constant-left", check_op=FLOAT64_CONSTANT),
    Case(lambda a: a + a, (randn(2, 2),), name="same-tensor-twice"),
]
CASES["Sub"] = _binary(lambda a, b: a - b) + [
    Case(lambda a: 1.0 - a, (randn(2, 3),), name="rsub-scalar"),
    Case(lambda b, c=randn(4, 3): const(c) - b, (randn(1, 3),), name="only-b-needs-grad",
         check_op=FLOAT64_CONSTANT),
]
CASES["Mul"] = _binary(lambda a, b: a * b) + [
    Case(lambda a: a * -3.0, (randn(2, 3),), name="python-scalar"),
    Case(lambda a: a * a, (randn(3,),), name="square"),
    Case(lambda a, c=randn(2, 3): a * const(c), (randn(3),), name="constant-right", check_op=FLOAT64_CONSTANT),
]
CASES["Div"] = _binary(lambda a, b: a / b, make_b=positive) + [
    Case(lambda a, b: a / b, (randn(2, 3), -positive(3)), name="negative-denominator"),
    Case(lambda b: 2.0 / b, (positive(2, 2),), name="rtruediv-scalar"),
    Case(lambda a: a / 4.0, (randn(5),), name="by-python-scalar"),
]
CASES["Pow"] = [
    # first, so tg.check_op puts zeros in the bases of a tensor exponent: 0 ** y is flat in y for y > 0
    Case(lambda x, y: x ** y, (positive(2, 3), positive(2, 3)), name="tensor-exponent-positive"),
    Case(lambda x: x ** 3, (randn(2, 3),), name="int-exponent-3-negative-bases"),
    Case(lambda x: x ** 2, (randn(4),), name="int-exponent-2"),
    Case(lambda x: x ** 0.5, (positive(2, 3),), name="sqrt-exponent"),
    Case(lambda x: x ** -1.5, (positive(3),), name="negative-exponent"),
    Case(lambda x: x ** 2.5, (positive(),), name="0d"),
    Case(lambda x: ew.Pow.apply(x, 3), (randn(1, 3),), name="apply-int"),
] + [
    Case(lambda x, y: x ** y, (positive(*sa), randn(*sb)), name=f"tensor-exponent-{_s(sa)}_and_{_s(sb)}")
    for sa, sb in [((2, 3), (2, 3)), ((5, 3), (3,)), ((), (2, 3)), ((2, 1, 4), (3, 1))]
] + [
    Case(lambda y: 2.0 ** y, (randn(2, 3),), name="rpow-constant-base"),
    Case(lambda x: x ** const(np.array([1.5, -0.5, 2.0])), (positive(2, 3),), name="constant-tensor-exponent",
         check_op=FLOAT64_CONSTANT),
]
CASES["Neg"] = _unary(lambda x: -x) + [Case(lambda x: -(-x), (randn(3),), name="twice")]
CASES["Cast"] = [
    Case(lambda x: x.astype(np.float64), (randn(2, 3),), name="float64-to-float64",
         check_op=dict(check_float32=False)),  # casting to float64 is the point: float32 in gives float64
    Case(lambda x: ew.Cast.apply(x, dtype=np.dtype(np.float64)), (randn(),), name="apply-0d",
         check_op=dict(check_float32=False)),  # a cast to float64
    # float64 -> float32 -> float64: float32 rounding (~6e-8 relative) needs a larger eps
    Case(lambda x: (x.astype(np.float32) * 2.0).astype(np.float64), (randn(2, 3),),
         name="through-float32", kwargs={"eps": 1e-3, "atol": 1e-4, "rtol": 1e-3},
         check_op=dict(check_float32=False)),  # ends in a cast to float64
]
CASES["Exp"] = _unary(lambda x: x.exp())
CASES["Log"] = _unary(lambda x: x.log(), make=positive) + [
    Case(lambda x: x.log(), (100 * positive(3),), name="large"),
]
CASES["Sqrt"] = _unary(lambda x: x.sqrt(), make=positive)
CASES["Abs"] = _unary(lambda x: x.abs(), make=nonzero)
CASES["ReLU"] = _unary(lambda x: x.relu(), make=nonzero) + [
    Case(lambda x: x.relu(), (-positive(3),), name="all-negative"),
]
_MASK = np.array([[True, False, True], [False, False, True]])
CASES["Masked"] = [
    Case(lambda g: ew.Masked.apply(g, _MASK), (randn(2, 3),), name="2x3",
         check_op=dict(batch_axis=None)),  # the mask is a fixed (2, 3) array: no batch to enlarge or empty
    Case(lambda g: ew.Masked.apply(g, np.ones((4,), dtype=bool)), (randn(4),), name="all-kept"),
    Case(lambda g: ew.Masked.apply(g, np.zeros((), dtype=bool)), (randn(),), name="0d-dropped"),
]
CASES["Sigmoid"] = _unary(lambda x: x.sigmoid()) + [
    Case(lambda x: x.sigmoid(), (np.array([-8.0, -3.0, 3.0, 8.0]),), name="saturating"),
]
CASES["Tanh"] = _unary(lambda x: x.tanh()) + [
    Case(lambda x: x.tanh(), (np.array([-4.0, -1.5, 1.5, 4.0]),), name="saturating"),
]
# clip bounds at +-0.55 and values from distinct(): every value is >= 0.037 from a bound
CASES["Clip"] = [
    Case(lambda x: x.clip(-0.55, 0.55), (distinct(4, 5),), name="both-bounds"),
    Case(lambda x: x.clip(lo=-0.55), (distinct(4, 5),), name="lower-only"),
    Case(lambda x: x.clip(hi=0.55), (distinct(3, 1, 2),), name="upper-only"),
    Case(lambda x: x.clip(), (randn(2, 2),), name="no-bounds"),
    Case(lambda x: x.clip(-2.0, 2.0), (np.array(0.3),), name="0d-inside"),
    Case(lambda x: x.clip(-2.0, 2.0), (np.array(3.0),), name="0d-outside"),
]


def _grid(shape: tuple[int, ...], offset: float) -> np.ndarray:
    """Distinct values on a 0.2 grid shifted by `offset`: two grids offset by 0.1 never come closer than 0.1."""
    n = int(np.prod(shape))
    return ((_rng.permutation(n) - n // 2) * 0.2 + offset).reshape(shape)


def _pair_cases(fn) -> list[Case]:
    cases = []
    for sa, sb in BINARY_SHAPES:
        a, b = _grid(sa, 0.013), _grid(sb, 0.113)
        cases.append(Case(fn, (a, b), name=f"{_s(sa)}_and_{_s(sb)}"))
    # at an exact tie the op shares the gradient 1/2 : 1/2, which is also what central
    # differences measure for a tie of two values (one side moves the result, the other does not);
    # the share itself jumps there, so the second derivative is not checked at the tie
    cases.append(Case(fn, (np.array([0.5, -0.3, 1.2]), np.array([0.5, 0.4, -1.0])),
                      name="one-exact-tie", second_order=False))
    return cases


CASES["Maximum"] = _pair_cases(lambda a, b: tg.maximum(a, b)) + [
    Case(lambda a: tg.maximum(a, 0.05), (distinct(2, 3),), name="with-python-scalar"),
]
CASES["Minimum"] = _pair_cases(lambda a, b: tg.minimum(a, b)) + [
    Case(lambda a: tg.minimum(const(np.array([0.25, -0.25, 0.05])), a), (distinct(4, 3),), name="constant-first",
         check_op=FLOAT64_CONSTANT),
]
_cond23 = np.array([[True, False, True], [False, False, True]])
CASES["Where"] = [
    Case(lambda a, b: tg.where(_cond23, a, b), (randn(2, 3), randn(2, 3)), name="same-shapes",
         check_op=dict(batch_axis=None)),  # the condition is a fixed (2, 3) array
    Case(lambda a, b: tg.where(_cond23, a, b), (randn(3), randn(2, 1)), name="broadcast-branches"),
    Case(lambda a, b: tg.where(np.array([True, False, True]), a, b), (randn(2, 3), randn()), name="0d-branch"),
    Case(lambda a: tg.where(_cond23, a, 0.0), (randn(2, 3),), name="scalar-other"),
    Case(lambda b, c=randn(2, 3): tg.where(_cond23, const(c), b), (randn(2, 3),), name="only-b-needs-grad",
         check_op=FLOAT64_CONSTANT),
    Case(lambda a, b: tg.where(np.array(True), a, b), (randn(2), randn(2)), name="0d-condition"),
]

# -- reductions ----------------------------------------------------------------------------
REDUCE_ARGS = [  # (shape, axis, keepdims)
    ((2, 3, 4), None, False),
    ((2, 3, 4), None, True),
    ((2, 3, 4), 1, False),
    ((2, 3, 4), -1, True),
    ((2, 3, 4), (0, 2), False),
    ((2, 3, 4), (0, -1), True),
    ((3, 1), 1, False),
    ((5,), 0, False),
    ((), None, False),
]


def _reduce_cases(method: str, make=randn) -> list[Case]:
    def case(shape, axis, keepdims):
        return Case(lambda x: getattr(x, method)(axis=axis, keepdims=keepdims), (make(*shape),),
                    name=f"{_s(shape)}-axis={axis}-keepdims={keepdims}".replace(" ", ""))

    return [case(*args) for args in REDUCE_ARGS]


CASES["Sum"] = _reduce_cases("sum") + [
    Case(lambda x: x.sum(axis=()), (randn(2, 3),), name="empty-axis-tuple"),
    Case(lambda x: reduction.Sum.apply(x, axis=(2, 0, 1)), (randn(2, 1, 2),), name="all-axes-unsorted"),
]
CASES["Mean"] = _reduce_cases("mean")
CASES["Max"] = _reduce_cases("max", make=distinct) + [
    Case(lambda x: x.max(axis=0), (np.array([[1.0, 2.0], [1.0, -1.0]]),), name="one-tie-of-two",
         second_order=False),  # ties share the gradient equally: central differences agree for two
]
CASES["Min"] = _reduce_cases("min", make=distinct)
for _op in ("Max", "Min"):  # axis=None over an empty batch: the extreme of no values raises, as PyTorch
    CASES[_op][0].with_check_op(check_empty=False)
CASES["Var"] = [c for c in _reduce_cases("var") if c.inputs[0].ndim > 0] + [
    Case(lambda x: x.var(axis=1, ddof=1), (randn(3, 4),), name="ddof=1"),
    Case(lambda x: x.var(ddof=1, keepdims=True), (randn(2, 3),), name="ddof=1-all"),
]
for _case in CASES["Var"]:
    if _case.name.startswith("3x1-axis=1"):
        _case.with_check_op(**CONSTANT_OUTPUT)
CASES["LogSumExp"] = _reduce_cases("logsumexp") + [
    Case(lambda x: x.logsumexp(axis=1), (1000 + randn(2, 3),), name="large-values-stay-finite"),
    Case(lambda x: x.logsumexp(axis=0), (-1000 + randn(3, 2),), name="very-negative"),
]

# -- shape ops ------------------------------------------------------------------------------
CASES["Reshape"] = [
    Case(lambda x: x.reshape(3, 2), (randn(2, 3),), name="2d",
         check_op=dict(batch_axis=None)),  # a fixed target shape
    Case(lambda x: x.reshape(-1), (randn(2, 3, 2),), name="flatten-minus-one"),
    Case(lambda x: x.reshape(()), (randn(1),), name="to-0d"),
    Case(lambda x: x.reshape(1, 1), (randn(),), name="from-0d"),
    Case(lambda x: x.reshape(2, -1, 1), (randn(6),), name="size-1-axis"),
    Case(lambda x: x.flatten(1), (randn(2, 2, 3),), name="flatten-method"),
    Case(lambda x: x.squeeze(1).unsqueeze(0), (randn(3, 1, 2),), name="squeeze-unsqueeze"),
]
CASES["Transpose"] = [
    Case(lambda x: x.T, (randn(2, 3),), name="2d-T"),
    Case(lambda x: x.transpose(), (randn(2, 3, 4),), name="reverse-3d"),
    Case(lambda x: x.transpose(1, 2, 0), (randn(2, 3, 4),), name="cycle"),
    Case(lambda x: x.transpose(0, -1, 1), (randn(2, 3, 1),), name="negative-axis"),
    Case(lambda x: x.transpose(), (randn(),), name="0d"),
    Case(lambda x: x.transpose(0), (randn(4),), name="1d"),
]
CASES["BroadcastTo"] = [
    Case(lambda x: x.broadcast_to((2, 3)), (randn(3),), name="new-leading-axis",
         check_op=dict(batch_axis=None)),  # a fixed target shape
    Case(lambda x: x.broadcast_to((2, 3)), (randn(2, 1),), name="size-1-axis"),
    Case(lambda x: x.broadcast_to((2, 2)), (randn(),), name="from-0d"),
    Case(lambda x: x.broadcast_to((4, 2, 3)), (randn(1, 3),), name="both"),
    Case(lambda x: x.broadcast_to((2, 3)), (randn(2, 3),), name="same-shape"),
]
CASES["SumTo"] = [
    Case(lambda x: x.sum_to((3,)), (randn(2, 3),), name="drop-leading"),
    Case(lambda x: x.sum_to((2, 1)), (randn(2, 3),), name="keep-size-1"),
    Case(lambda x: x.sum_to(()), (randn(2, 3),), name="to-0d"),
    Case(lambda x: x.sum_to((1, 3)), (randn(4, 2, 3),), name="both"),
    Case(lambda x: sh.SumTo.apply(x, shape=(2, 3)), (randn(2, 3),), name="apply-same-shape"),
]
CASES["Pad"] = [
    Case(lambda x: x.pad(1), (randn(2, 3),), name="scalar-width"),
    Case(lambda x: x.pad(((0, 1), (2, 0))), (randn(2, 3),), name="per-axis"),
    Case(lambda x: x.pad(((1, 1),), value=-5.0), (randn(3),), name="value"),
    Case(lambda x: x.pad(((0, 0), (0, 0), (1, 2))), (randn(1, 2, 2),), name="last-axis-only"),
    Case(lambda x: x.pad(0), (randn(2, 2),), name="zero-width"),
]
_mask = np.array([[True, False, True, True], [False, True, False, False], [True, True, False, True]])
CASES["GetItem"] = [
    Case(lambda x: x[1:, ::2], (randn(3, 4),), name="slices"),
    Case(lambda x: x[1], (randn(3, 4),), name="int"),
    Case(lambda x: x[-1, 2], (randn(3, 4),), name="ints-to-0d"),
    Case(lambda x: x[::-1], (randn(5),), name="negative-step"),
    Case(lambda x: x[3:0:-2, ::-1], (randn(4, 3),), name="negative-step-2d"),
    Case(lambda x: x[..., None, 1], (randn(2, 3),), name="ellipsis-newaxis"),
    Case(lambda x: x[np.array([2, 0, 2, 2])], (randn(3, 2),), name="int-array-duplicates"),
    Case(lambda x: x[np.array([0, 1, 1]), np.array([3, 0, 0])], (randn(3, 4),), name="two-int-arrays-duplicates"),
    Case(lambda x: x[:, np.array([-1, 0])], (randn(3, 4),), name="slice-and-int-array"),
    Case(lambda x: x[_mask], (randn(3, 4),), name="boolean-mask"),
    Case(lambda x: x[np.array([True, False, True])], (randn(3, 2),), name="boolean-rows"),
    Case(lambda x: x[()], (randn(),), name="0d-empty-tuple"),
    Case(lambda x: x[1:1], (randn(3),), name="empty-slice"),
]
_dup = np.array([1, 0, 1, 3, 1])
CASES["IndexAdd"] = [
    Case(lambda v: sh.IndexAdd.apply(v, index=_dup, shape=(4,)), (randn(5),), name="duplicates-accumulate",
         check_op=dict(batch_axis=None)),  # a fixed index and shape
    Case(lambda v: sh.IndexAdd.apply(v, index=(slice(1, 3), slice(None, None, -1)), shape=(3, 2)),
         (randn(2, 2),), name="basic-slices"),
    Case(lambda v: sh.IndexAdd.apply(v, index=(np.array([0, 2, 0]), np.array([1, 1, 1])), shape=(3, 2)),
         (randn(3),), name="2d-duplicates"),
    Case(lambda v: sh.IndexAdd.apply(v, index=_mask, shape=(3, 4)), (randn(int(_mask.sum())),), name="mask"),
    Case(lambda v: sh.IndexAdd.apply(v, index=1, shape=(3, 2)), (randn(2),), name="int-row"),
]
CASES["Concatenate"] = [
    Case(lambda a, b: tg.concatenate([a, b]), (randn(2, 3), randn(1, 3)), name="axis0",
         check_op=dict(batched=(0, 1))),  # both parts grow or empty along the joined axis
    Case(lambda a, b, c: tg.concatenate([a, b, c], axis=1), (randn(2, 1), randn(2, 3), randn(2, 2)), name="three-axis1"),
    Case(lambda a, b: tg.concatenate([a, b], axis=-1), (randn(2, 2, 1), randn(2, 2, 2)), name="negative-axis"),
    Case(lambda a, c=randn(2): tg.concatenate([a, const(c)]), (randn(3),), name="with-constant",
         check_op=FLOAT64_CONSTANT),
    Case(lambda a: tg.concatenate([a]), (randn(2, 2),), name="single"),
    Case(lambda a: tg.concatenate([a, a], axis=1), (randn(2, 2),), name="same-tensor-twice"),
]
CASES["Stack"] = [
    Case(lambda a, b: tg.stack([a, b]), (randn(2, 3), randn(2, 3)), name="axis0"),
    Case(lambda a, b, c: tg.stack([a, b, c], axis=-1), (randn(2), randn(2), randn(2)), name="last-axis"),
    Case(lambda a, b: tg.stack([a, b], axis=1), (randn(3, 1), randn(3, 1)), name="middle-axis"),
    Case(lambda a, b: tg.stack([a, b]), (randn(), randn()), name="0d"),
    Case(lambda a, c=randn(2): tg.stack([const(c), a]), (randn(2),), name="with-constant",
         check_op=FLOAT64_CONSTANT),
]

# -- linalg --------------------------------------------------------------------------------
MATMUL_SHAPES = [
    ((4,), (4,)),
    ((3,), (3, 2)),
    ((2, 3), (3,)),
    ((2, 3), (3, 4)),
    ((1, 3), (3, 1)),
    ((2, 2, 3), (2, 3, 4)),
    ((2, 1, 3, 4), (3, 4, 5)),
    ((3,), (2, 3, 2)),
    ((2, 2, 3), (3,)),
    ((2, 3), (4, 3, 2)),
]
CASES["MatMul"] = [
    Case(lambda a, b: a @ b, (randn(*sa), randn(*sb)), name=f"{_s(sa)}@{_s(sb)}") for sa, sb in MATMUL_SHAPES
] + [
    Case(lambda a, c=randn(3, 2): a @ const(c), (randn(2, 3),), name="constant-right", check_op=FLOAT64_CONSTANT),
    Case(lambda b, c=randn(2, 3): const(c) @ b, (randn(3, 2),), name="constant-left", check_op=FLOAT64_CONSTANT),
    Case(lambda a: a @ a.T, (randn(2, 3),), name="gram"),
    Case(lambda a, b, c: (a @ b) @ c, (randn(2, 3), randn(3, 4), randn(4, 2)), name="chain"),
]
