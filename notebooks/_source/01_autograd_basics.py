# %% [markdown]
# # 01 · Autograd basics
#
# This notebook builds up reverse-mode automatic differentiation with `tinygrad_np`, one idea at a
# time: tensors and gradients, the recorded graph, the chain rule, broadcasting, a small training
# loop, `no_grad`, and higher derivatives. Every claim is checked against a formula written by hand
# or against finite differences, so the cells double as tests.

# %%
# %matplotlib inline
import matplotlib.pyplot as plt
import numpy as np

import tinygrad_np as tg

tg.manual_seed(0)
print("tinygrad_np", tg.__version__, "with NumPy", np.__version__)

# %% [markdown]
# ## Tensors
#
# A `Tensor` wraps a NumPy array (`.data`). Python floats and lists become `float32`; NumPy arrays
# keep their dtype. `requires_grad=True` marks a tensor whose gradient we want: a *leaf*.

# %%
x = tg.Tensor([1.0, 2.0, 3.0], requires_grad=True)
print(x, x.dtype, x.shape, x.is_leaf)
print(tg.Tensor(np.arange(3.0)).dtype)   # a float64 array stays float64

# %% [markdown]
# ## A first gradient
#
# $y = \sum_i x_i^2$ has gradient $\partial y / \partial x_i = 2 x_i$. `backward()` computes it and
# stores it in `x.grad`.

# %%
y = (x * x).sum()
y.backward()
print("y =", y.item(), " dy/dx =", x.grad)
assert np.allclose(x.grad.numpy(), 2 * x.numpy())

# %% [markdown]
# ## The graph
#
# Each op that touches a tensor requiring a gradient records a node. The output points to the node
# that made it (`grad_fn`), and each node to its inputs. That is all `backward()` needs to walk back.

# %%
a = tg.Tensor([0.5, -1.0], requires_grad=True)
b = tg.Tensor([2.0, 3.0], requires_grad=True)
c = (a * b).tanh()
loss = c.sum()
print("loss.grad_fn:", loss.grad_fn)
print("its input was made by:", loss.grad_fn.inputs[0].grad_fn)
print("whose input was made by:", c.grad_fn.inputs[0].grad_fn, "from leaves", c.grad_fn.inputs[0].grad_fn.inputs)

# %% [markdown]
# ## The chain rule, checked three ways
#
# For $L = \sum \tanh(a \odot b)$: $\partial L/\partial a = (1 - \tanh^2(ab))\, b$. We compare
# autograd with that formula and with central finite differences.

# %%
loss.backward()

def L(a_values):
    return np.tanh(a_values * b.numpy()).sum()

eps = 1e-3
numerical = np.array([(L(a.numpy() + eps * e) - L(a.numpy() - eps * e)) / (2 * eps) for e in np.eye(2)])
by_hand = (1 - np.tanh(a.numpy() * b.numpy()) ** 2) * b.numpy()
print("autograd :", a.grad.numpy())
print("by hand  :", by_hand)
print("numerical:", numerical)
assert np.allclose(a.grad.numpy(), by_hand, atol=1e-6)
assert np.allclose(a.grad.numpy(), numerical, atol=1e-3)

# %% [markdown]
# ## Gradients accumulate
#
# `backward()` *adds* into `.grad`. A tensor used twice receives both contributions, and so do two
# backward passes, so training loops reset gradients every step.

# %%
w = tg.Tensor([3.0], requires_grad=True)
(w * w + w).sum().backward()        # d/dw (w² + w) = 2w + 1 = 7
print(w.grad)
(w * w + w).sum().backward()        # a second graph: 7 more
print(w.grad)
assert w.grad.item() == 14.0
w.grad = None

# %% [markdown]
# ## Broadcasting sums gradients back
#
# Adding a bias of shape `(3,)` to a batch of shape `(4, 3)` uses each bias entry 4 times, so its
# gradient is the sum over the batch axis.

# %%
h = tg.Tensor(np.ones((4, 3), dtype=np.float32), requires_grad=True)
bias = tg.Tensor([0.1, 0.2, 0.3], requires_grad=True)
out = (h + bias) * tg.Tensor(np.arange(12, dtype=np.float32).reshape(4, 3))
out.sum().backward()
print(bias.grad, "==", np.arange(12).reshape(4, 3).sum(axis=0))
assert np.allclose(bias.grad.numpy(), np.arange(12).reshape(4, 3).sum(axis=0))

# %% [markdown]
# ## A training loop from scratch
#
# Fit $y = 3x - 1 + \text{noise}$ with a weight and a bias by gradient descent. Parameter updates run
# under `tg.no_grad()`: they are not part of the model, so nothing is recorded.

# %%
rng = np.random.default_rng(0)
xs = tg.Tensor(rng.uniform(-1, 1, (64, 1)).astype(np.float32))
ys = 3 * xs - 1 + tg.Tensor(0.1 * rng.standard_normal((64, 1)).astype(np.float32))

weight = tg.zeros(1, 1, requires_grad=True)
intercept = tg.zeros(1, requires_grad=True)
losses = []
for step in range(100):
    loss = ((xs @ weight + intercept - ys) ** 2).mean()
    weight.grad = intercept.grad = None
    loss.backward()
    with tg.no_grad():
        weight -= 0.3 * weight.grad
        intercept -= 0.3 * intercept.grad
    losses.append(loss.item())

print(f"weight {weight.item():.3f}, intercept {intercept.item():.3f}, final loss {losses[-1]:.4f}")
assert abs(weight.item() - 3) < 0.1 and abs(intercept.item() + 1) < 0.1

fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.2), layout="constrained")
ax1.plot(losses)
ax1.set(xlabel="step", ylabel="mean squared error", yscale="log", title="training loss")
ax2.scatter(xs.numpy(), ys.numpy(), s=10, label="data")
grid_x = np.linspace(-1, 1, 50, dtype=np.float32).reshape(-1, 1)
ax2.plot(grid_x, (tg.Tensor(grid_x) @ weight + intercept).numpy(), color="C1", label="fit")
ax2.legend()
ax2.set(title="the fitted line")
plt.show()

# %% [markdown]
# ## no_grad and detach
#
# Inside `no_grad` nothing is recorded; `detach()` cuts a tensor out of the graph. Both give tensors
# with no `grad_fn`.

# %%
with tg.no_grad():
    evaluated = xs @ weight + intercept
print(evaluated.requires_grad, evaluated.grad_fn)
frozen = (xs @ weight).detach()
print(frozen.requires_grad, frozen.grad_fn)
assert evaluated.grad_fn is None and frozen.grad_fn is None

# %% [markdown]
# ## Backward frees the saved values
#
# After `backward()`, each node drops the values it saved for its gradient (the graph's structure
# stays, for drawing), so a second backward through the same graph is an error that says what to do.

# %%
z = tg.Tensor([1.0, 2.0], requires_grad=True)
out = (z.exp() * z).sum()
out.backward()
try:
    out.backward()
except tg.GraphError as err:
    print("GraphError:", err)

# %% [markdown]
# ## Higher derivatives
#
# With `create_graph=True` the backward pass is itself recorded, so a gradient can be differentiated
# again. Here are $\tanh$, its first derivative $1 - \tanh^2$ and its second $-2\tanh(1 - \tanh^2)$,
# all from autograd, against the formulas.

# %%
t = tg.Tensor(np.linspace(-3, 3, 121), requires_grad=True)   # float64
f = t.tanh()
(d1,) = tg.grad(f.sum(), t, create_graph=True)   # elementwise, so the gradient of the sum is f'(t)
(d2,) = tg.grad(d1.sum(), t)
th = np.tanh(t.numpy())
assert np.allclose(d1.numpy(), 1 - th**2) and np.allclose(d2.numpy(), -2 * th * (1 - th**2))

fig, ax = plt.subplots(figsize=(6, 3.2), layout="constrained")
ax.plot(t.numpy(), f.numpy(), label="tanh(t)")
ax.plot(t.numpy(), d1.numpy(), label="first derivative")
ax.plot(t.numpy(), d2.numpy(), label="second derivative")
ax.axhline(0, color="grey", lw=0.5)
ax.legend()
ax.set(xlabel="t", title="derivatives of tanh from autograd")
plt.show()

# %% [markdown]
# Next: `02_mnist_cnn.ipynb` trains a convolutional network on MNIST with these same pieces, and
# `03_custom_op_gradcheck.ipynb` shows how to add an op of your own and prove its gradient.
