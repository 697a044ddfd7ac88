# %% [markdown]
# # 03 · A new op, proved with gradcheck
#
# Adding an op to `tinygrad_np` means writing a `tg.Function` subclass with a `forward` (NumPy arrays
# in, an array out) and a `backward` (the output's gradient in, one gradient per input out, written
# with Tensor ops). A backward is easy to get subtly wrong, and a wrong gradient does not crash: the
# model just trains badly. So every op is proved with `gradcheck`, which compares the backward with
# central finite differences, element by element, in float64.
#
# This notebook writes an op with a deliberate bug, watches `gradcheck` catch it, reads the report,
# fixes it, and then covers the three other classic mistakes: a backward that is not differentiable
# itself, a forgotten `sum_to` under broadcasting, and inputs that sit on a kink.

# %%
# %matplotlib inline
import matplotlib.pyplot as plt
import numpy as np

import tinygrad_np as tg
from tinygrad_np.gradcheck import GradcheckError, gradcheck, gradgradcheck

rng = np.random.default_rng(0)

# %% [markdown]
# ## Softplus, with a bug
#
# $\mathrm{softplus}(x) = \log(1 + e^x)$, a smooth ReLU. Computed as `np.logaddexp(0, x)` it never
# overflows. Its derivative is the sigmoid, $\sigma(x) = 1 / (1 + e^{-x})$. The backward below has a
# sign slip that is easy to make: it uses $\sigma(-x) = 1 - \sigma(x)$.

# %%
class BuggySoftplus(tg.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.logaddexp(0, x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * (-x).sigmoid()     # wrong: should be x.sigmoid()


x = tg.Tensor(rng.standard_normal((2, 3)), requires_grad=True)   # float64, as gradcheck requires
try:
    gradcheck(BuggySoftplus.apply, x)
    raise AssertionError("the bug was not caught")
except GradcheckError as err:
    print(err)

# %% [markdown]
# **Reading the report.** `gradcheck` builds the full Jacobian $J_{rc} = \partial\,\text{out}_r /
# \partial\,\text{in}_c$ twice: *analytically*, with one backward pass per output element, and
# *numerically*, as $(f(x + \epsilon e_c) - f(x - \epsilon e_c)) / 2\epsilon$. Softplus is elementwise,
# so only the diagonal entries are non-zero, and the failing ones are `d out[i, j] / d in[i, j]`: the
# analytical value is $\sigma(-x)$, the numerical one $\sigma(x)$. The fix is one character.

# %%
class Softplus(tg.Function):
    """log(1 + exp(x)), computed without overflow; its derivative is sigmoid(x)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.logaddexp(0, x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * x.sigmoid()


def softplus(t: tg.Tensor) -> tg.Tensor:
    return Softplus.apply(t)


for shape in [(), (5,), (2, 3), (2, 1, 4)]:
    x = tg.Tensor(3 * rng.standard_normal(shape), requires_grad=True)
    assert gradcheck(softplus, x)
    assert gradgradcheck(softplus, x)
print("gradcheck and gradgradcheck pass on every shape")

# %% [markdown]
# The forward deserves its own check against a plain reference, including where the naive formula
# overflows:

# %%
values = np.array([-800.0, -30.0, -1.0, 0.0, 1.0, 30.0, 800.0])
with np.errstate(over="ignore"):
    naive = np.log1p(np.exp(values))
print("naive  :", naive)
ours = softplus(tg.Tensor(values)).numpy()
print("Softplus:", ours)
moderate = np.abs(values) < 100
assert np.allclose(ours[moderate], naive[moderate])
assert np.allclose(ours[~moderate], np.maximum(values[~moderate], 0))   # log(1 + e^x) -> max(x, 0)

# %% [markdown]
# ## Why backward must use Tensor ops
#
# The backward above is written with Tensor ops (`x.sigmoid()`, `*`), so with `create_graph=True` the
# engine records it and it can be differentiated again. Written with raw NumPy, the gradient is still
# right, and `gradcheck` passes, but the second derivative silently disappears. `gradgradcheck`
# catches that.

# %%
class NumpyBackwardSoftplus(tg.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.logaddexp(0, x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        sigmoid = 1 / (1 + np.exp(-x.data))          # a constant: the graph to x is lost
        return grad * tg.Tensor(sigmoid)


x = tg.Tensor(rng.standard_normal(4), requires_grad=True)
print("gradcheck:", gradcheck(NumpyBackwardSoftplus.apply, x))
try:
    gradgradcheck(NumpyBackwardSoftplus.apply, x)
    raise AssertionError("the missing second derivative was not caught")
except GradcheckError as err:
    print(err)

# %% [markdown]
# ## Broadcasting: don't forget `sum_to`
#
# A binary op that broadcasts must sum each gradient back to its input's shape. Here is
# $\mathrm{hypot}(a, b) = \sqrt{a^2 + b^2}$, with $\partial/\partial a = a / \mathrm{hypot}$, first
# without the sum. The engine refuses a gradient of the wrong shape, and `gradcheck` reports which
# input it was.

# %%
class HypotNoSum(tg.Function):
    @staticmethod
    def forward(ctx, a, b):
        out = np.hypot(a, b)
        ctx.save_for_backward(a, b, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        a, b, out = ctx.saved_tensors
        return grad * a / out, grad * b / out     # shapes of the output, not of a and b


a = tg.Tensor(rng.standard_normal((3, 1)), requires_grad=True)
b = tg.Tensor(rng.standard_normal(4), requires_grad=True)
try:
    gradcheck(HypotNoSum.apply, (a, b))
    raise AssertionError("the missing sum_to was not caught")
except GradcheckError as err:
    print(err)

# %%
class Hypot(tg.Function):
    """sqrt(a**2 + b**2) with broadcasting; each gradient is summed back to its input's shape."""

    @staticmethod
    def forward(ctx, a, b):
        out = np.hypot(a, b)
        ctx.save_for_backward(a, b, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        a, b, out = ctx.saved_tensors
        ga = (grad * a / out).sum_to(a.shape) if ctx.needs_input_grad[0] else None
        gb = (grad * b / out).sum_to(b.shape) if ctx.needs_input_grad[1] else None
        return ga, gb


for shape_a, shape_b in [((4,), (4,)), ((3, 1), (4,)), ((2, 3, 4), (3, 1)), ((), (2, 2))]:
    a = tg.Tensor(rng.standard_normal(shape_a), requires_grad=True)
    b = tg.Tensor(rng.standard_normal(shape_b), requires_grad=True)
    assert np.allclose(Hypot.apply(a, b).numpy(), np.sqrt(a.numpy() ** 2 + b.numpy() ** 2))
    assert gradcheck(Hypot.apply, (a, b)) and gradgradcheck(Hypot.apply, (a, b))
print("Hypot passes on every pair of shapes")

# a constant input gets no gradient, and backward skips computing it (ctx.needs_input_grad)
a = tg.Tensor(rng.standard_normal(3), requires_grad=True)
constant = tg.Tensor(rng.standard_normal(3))
assert gradcheck(lambda a: Hypot.apply(a, constant), a)

# %% [markdown]
# ## Kinks: where finite differences lie
#
# Central differences look at $f$ on both sides of a point. At a kink, such as a leaky ReLU at 0, the
# two slopes differ and the numerical derivative is their average, so `gradcheck` fails **even though
# the backward is right**. The remedy is in the test, not in the op: keep every input further than
# $\epsilon$ from every kink.

# %%
class LeakyReLU(tg.Function):
    """x for x > 0, 0.1 x otherwise."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.where(x > 0, x, 0.1 * x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        slope = tg.Tensor(np.where(x.data > 0, 1.0, 0.1))
        return grad * slope


on_the_kink = tg.Tensor(np.array([-1.0, 2e-7, 0.5]), requires_grad=True)   # 2e-7 is within eps=1e-6 of 0
ok = gradcheck(LeakyReLU.apply, on_the_kink, raise_exception=False)
print("input within eps of the kink passes:", ok)
assert not ok

# distinct magnitudes of at least 0.1 with random signs: no value within 0.1 of the kink
n = 12
away = np.sign(rng.standard_normal(n)) * (0.1 + 0.1 * rng.permutation(n))
print("input kept away from the kink passes:", gradcheck(LeakyReLU.apply, tg.Tensor(away, requires_grad=True)))

# %% [markdown]
# The same rule covers every non-smooth op: no ties for `max`/`min`/max-pooling (use distinct values,
# e.g. a permutation times 0.1), no values near the bounds of `clip`, positive values away from 0 for
# `log`, `sqrt` and division.
#
# ## The edges, in one call: check_op
#
# `gradcheck` proves the gradient at the points you chose. `tg.check_op(fn, *examples)` runs it (and
# `gradgradcheck`) and then sweeps the edges from the same examples: float32 in gives float32 out and
# float32 gradients; transposed, strided inputs give the same numbers; large intermediate inputs, which
# a node may hold as stand-ins with their data freed, give the same gradients; an empty batch runs;
# an element that no output depends on keeps a gradient of exactly 0 even for an inf upstream gradient;
# and with zeros in the inputs the gradient stays finite wherever the function is. Float arrays among
# the examples are the checked inputs.

# %%
print("softplus passes check_op:", tg.check_op(softplus, rng.standard_normal((4, 3))))


class MaskedReLU(tg.Function):
    """ReLU whose backward multiplies by a 0/1 mask: fine for finite gradients, but 0 * inf is NaN."""

    @staticmethod
    def forward(ctx, x):
        ctx.mask = (x > 0).astype(x.dtype)
        return x * ctx.mask

    @staticmethod
    def backward(ctx, grad):
        return grad * tg.Tensor(ctx.mask)


try:
    tg.check_op(MaskedReLU.apply, away.reshape(3, 4))   # gradcheck alone passes on these inputs
except tg.GradcheckError as error:
    print(error)

# %% [markdown]
# The report names the property, the input and the first bad element. Here the fix is to route the
# gradient by selecting, `np.where(mask, grad, 0)`, which is what the library's ReLU does. An op that
# cannot have a property says so with a keyword: `batch_axis=None` (no batch), `check_float32=False`,
# `second_order=False`, and gradcheck's tolerances pass through.
#
# ## The new op at work
#
# Finally, softplus and its gradient, the sigmoid, as autograd computes them:

# %%
t = tg.Tensor(np.linspace(-5, 5, 201), requires_grad=True)
y = softplus(t)
y.sum().backward()
assert np.allclose(t.grad.numpy(), 1 / (1 + np.exp(-t.numpy())))

fig, ax = plt.subplots(figsize=(6, 3.2), layout="constrained")
ax.plot(t.numpy(), y.numpy(), label="softplus(x)")
ax.plot(t.numpy(), t.grad.numpy(), label="its gradient (sigmoid)")
ax.plot(t.numpy(), np.maximum(t.numpy(), 0), "--", color="grey", label="relu(x)")
ax.legend()
ax.set(xlabel="x")
plt.show()

# %% [markdown]
# In the library, each op's cases live in `tests/cases/<area>.py` as `Case(fn, inputs)` entries, and
# one central test runs `gradcheck`, `gradgradcheck` and `check_op` on all of them; an op without a
# case fails the suite. See the how-to page "Write a new op" in the documentation.
