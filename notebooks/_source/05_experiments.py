# %% [markdown]
# # 05 · Experiments: what helps a network learn
#
# The comparisons every deep-learning course makes, run on small MNIST subsets (2,000 training and
# 1,000 test images) so the whole notebook takes well under a minute:
#
# 1. **optimizers**: plain SGD, SGD with momentum, Adam;
# 2. **activations**: ReLU against sigmoid in a deeper network, and why (gradients per layer);
# 3. **initialisation**: He, Xavier and a small constant, and what each does to the activations;
# 4. **dropout** against overfitting;
# 5. **depth**: a 14-layer network trains only with batch normalisation or residual blocks.
#
# Every run starts from the same seed, so a rerun on the same machine gives the same numbers; on
# subsets this small they still move by a point or two with the seed, so read the curves for trends,
# not decimals.

# %%
# %matplotlib inline
import time

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import MaxNLocator

import tinygrad_np as tg
import tinygrad_np.functional as F
from tinygrad_np import nn, optim
from tinygrad_np.data import DataLoader, load_mnist, normalize
from tinygrad_np.nn import init

x_train, y_train, x_test, y_test = load_mnist()
N_TRAIN, N_TEST = 2_000, 1_000
train_x = normalize(x_train[:N_TRAIN]).reshape(N_TRAIN, -1)     # flattened: (2000, 784) float32
train_y = y_train[:N_TRAIN].astype(np.int64)
test_x = normalize(x_test[:N_TEST]).reshape(N_TEST, -1)
test_y = y_test[:N_TEST].astype(np.int64)
print(train_x.shape, test_x.shape, "classes:", np.bincount(train_y))
notebook_start = time.perf_counter()

# %% [markdown]
# ## Shared helpers
#
# `train` runs a model for some epochs with mini-batches of 64 and records the loss of every step,
# plus the loss and accuracy on the training and test sets after every epoch (in `eval()` mode, under
# `no_grad`). `mlp` builds a multi-layer perceptron from a list of widths.

# %%
def evaluate(model: nn.Module, x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    model.eval()
    with tg.no_grad():
        logits = model(tg.Tensor(x))
        loss, acc = F.cross_entropy(logits, y).item(), float((logits.argmax(axis=1).numpy() == y).mean())
    model.train()
    return loss, acc


def train(model: nn.Module, opt: optim.Optimizer, epochs: int) -> dict[str, list[float]]:
    loader = DataLoader(train_x, train_y, 64, shuffle=True, seed=0)
    history = {"step_loss": [], "train_loss": [], "train_acc": [], "test_loss": [], "test_acc": []}
    model.train()
    for _ in range(epochs):
        for xb, yb in loader:
            loss = F.cross_entropy(model(tg.Tensor(xb)), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            history["step_loss"].append(loss.item())
        for split, (x, y) in {"train": (train_x, train_y), "test": (test_x, test_y)}.items():
            loss, acc = evaluate(model, x, y)
            history[f"{split}_loss"].append(loss)
            history[f"{split}_acc"].append(acc)
    return history


def mlp(widths: list[int], activation: type[nn.Module] = nn.ReLU) -> nn.Sequential:
    """Linear layers of the given widths with `activation` between them (none after the last)."""
    layers: list[nn.Module] = []
    for fan_in, fan_out in zip(widths[:-1], widths[1:]):
        layers += [nn.Linear(fan_in, fan_out), activation()]
    return nn.Sequential(*layers[:-1])


def smooth(values: list[float], window: int = 10) -> np.ndarray:
    return np.convolve(values, np.ones(window) / window, mode="valid")


def plot_runs(runs: dict[str, dict[str, list[float]]], title: str) -> None:
    """Training loss per step (smoothed) and test accuracy per epoch, one line per run."""
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.3), layout="constrained")
    for name, h in runs.items():
        ax1.plot(smooth(h["step_loss"]), label=name)
        ax2.plot(np.arange(1, len(h["test_acc"]) + 1), 100 * np.array(h["test_acc"]), "o-", label=name)
    ax1.set(xlabel="step", ylabel="training loss (moving average)", yscale="log", title=title)
    ax2.set(xlabel="epoch", ylabel="test accuracy (%)", title="test accuracy")
    ax2.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax1.legend()
    ax2.legend()
    plt.show()
    for name, h in runs.items():
        print(f"{name:>22}: final training loss {np.mean(h['step_loss'][-10:]):.3f}, "
              f"test accuracy {h['test_acc'][-1]:.1%}")


results: dict[str, float] = {}

# %% [markdown]
# ## 1. Optimizers
#
# One hidden layer of 128 ReLU units, eight epochs. Plain SGD takes a step of `lr × gradient`.
# **Momentum** keeps a running sum of past gradients, $v \leftarrow 0.9 v + g$, $w \leftarrow w - \eta v$,
# which speeds up along directions where gradients agree and damps oscillations. **Adam** scales
# each parameter's step by a running estimate of its gradient's magnitude, so every parameter moves
# at a similar rate whatever the scale of its gradient.

# %%
optimizers = {
    "SGD lr=0.01": lambda params: optim.SGD(params, lr=0.01),
    "SGD+momentum lr=0.01": lambda params: optim.SGD(params, lr=0.01, momentum=0.9),
    "Adam lr=0.001": lambda params: optim.Adam(params, lr=1e-3),
}
runs = {}
for name, make in optimizers.items():
    tg.manual_seed(0)
    model = mlp([784, 128, 10])
    runs[name] = train(model, make(model.parameters()), epochs=8)
    results[name] = runs[name]["test_acc"][-1]
plot_runs(runs, "optimizers")
late = {name: np.mean(h["step_loss"][-30:]) for name, h in runs.items()}
assert late["SGD+momentum lr=0.01"] < late["SGD lr=0.01"] and late["Adam lr=0.001"] < late["SGD lr=0.01"]

# %% [markdown]
# With the same learning rate, momentum gets much further than plain SGD in the same number of
# steps, and Adam with its default rate is faster still at the start.
#
# ## 2. ReLU against sigmoid
#
# Four hidden layers of 64 units. The derivative of the sigmoid is at most $1/4$, so every sigmoid
# layer shrinks the gradient flowing back through it at least fourfold: the first layers of a deep
# sigmoid network hardly learn. ReLU's derivative is 1 wherever the unit is active. One backward
# pass at initialisation shows it, layer by layer:

# %%
def weight_grad_norms(model: nn.Sequential) -> list[float]:
    """The gradient norm of every Linear layer's weight for one batch, input layer first."""
    model.zero_grad()
    F.cross_entropy(model(tg.Tensor(train_x[:256])), train_y[:256]).backward()
    return [float(np.linalg.norm(m.weight.grad.numpy())) for m in model.modules() if isinstance(m, nn.Linear)]


activations = {"ReLU": nn.ReLU, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh}
fig, ax = plt.subplots(figsize=(6, 3.2), layout="constrained")
for name, act in activations.items():
    tg.manual_seed(0)
    norms = weight_grad_norms(mlp([784, 64, 64, 64, 64, 10], act))
    ax.plot(range(1, len(norms) + 1), norms, "o-", label=name)
    if name == "sigmoid":
        sigmoid_norms = norms
ax.set(xlabel="layer (1 = input side)", ylabel="‖∂loss/∂W‖ at initialisation", yscale="log",
       title="gradient reaching each layer")
ax.legend()
plt.show()
assert sigmoid_norms[0] < sigmoid_norms[-1] / 10, "sigmoid gradients should shrink towards the input"

# %%
runs = {}
for name, act in activations.items():
    tg.manual_seed(0)
    model = mlp([784, 64, 64, 64, 64, 10], act)
    runs[name] = train(model, optim.SGD(model.parameters(), lr=0.05, momentum=0.9), epochs=8)
    results[f"4 hidden layers, {name}"] = runs[name]["test_acc"][-1]
plot_runs(runs, "activations (4 hidden layers)")
assert runs["ReLU"]["test_acc"][-1] > runs["sigmoid"]["test_acc"][-1]

# %% [markdown]
# In the same budget the sigmoid network stays at chance level, while ReLU (and tanh, whose
# derivative is 1 at 0) train normally.
#
# ## 3. Initialisation
#
# Eight hidden ReLU layers of 64 units, three ways to draw the weights (biases at 0):
#
# - **He** (Kaiming): $\mathcal N(0, 2/\text{fan\_in})$, which keeps the variance of ReLU activations
#   constant from layer to layer (a ReLU zeroes half of its inputs, hence the 2);
# - **Xavier** (Glorot): $\mathcal N(0, 2/(\text{fan\_in} + \text{fan\_out}))$, derived for
#   symmetric activations like tanh; with ReLU it halves the variance at every layer;
# - **a small constant** (0.01 everywhere): every unit of a layer computes the same thing and gets
#   the same gradient, so they stay identical forever; the layer is as good as one unit wide.
#
# First, the spread of the activations through the layers at initialisation:

# %%
initialisations = {
    "He": lambda w: init.kaiming_normal_(w, nonlinearity="relu"),
    "Xavier": lambda w: init.xavier_normal_(w),
    "constant 0.01": lambda w: init.constant_(w, 0.01),
}


def deep_relu_net(init_weight) -> nn.Sequential:
    model = mlp([784] + [64] * 8 + [10])
    for layer in model.modules():
        if isinstance(layer, nn.Linear):
            init_weight(layer.weight)
            init.zeros_(layer.bias)
    return model


fig, ax = plt.subplots(figsize=(6, 3.2), layout="constrained")
for name, init_weight in initialisations.items():
    tg.manual_seed(0)
    model = deep_relu_net(init_weight)
    h, stds = tg.Tensor(train_x[:256]), []
    with tg.no_grad():
        for layer in model:
            h = layer(h)
            if isinstance(layer, nn.ReLU):
                stds.append(float(h.numpy().std()))
    ax.plot(range(1, len(stds) + 1), stds, "o-", label=name)
    if name == "He":
        he_stds = stds
    if name == "Xavier":
        xavier_stds = stds
ax.set(xlabel="hidden layer", ylabel="std of activations", yscale="log", title="activations at initialisation")
ax.legend()
plt.show()
assert xavier_stds[-1] < he_stds[-1] / 4, "Xavier should shrink ReLU activations layer by layer"

# %%
runs = {}
for name, init_weight in initialisations.items():
    tg.manual_seed(0)
    model = deep_relu_net(init_weight)
    runs[name] = train(model, optim.SGD(model.parameters(), lr=0.02, momentum=0.9), epochs=8)
    results[f"8 hidden layers, {name} init"] = runs[name]["test_acc"][-1]
    if name == "constant 0.01":
        first = next(m for m in model.modules() if isinstance(m, nn.Linear)).weight.numpy()
        print("after training, all 64 units of the first layer still identical:",
              bool(np.allclose(first, first[:1], atol=1e-6)))
        assert np.allclose(first, first[:1], atol=1e-6)
plot_runs(runs, "initialisation (8 hidden layers)")

# %% [markdown]
# Both scaled random initialisations train; the constant one cannot break the symmetry between
# units and stays far behind.
#
# ## 4. Dropout against overfitting
#
# 2,000 images are few for a network with 670,000 parameters (784-512-512-10): it learns the
# training set by heart.
# **Dropout** zeroes each hidden unit with probability $p$ during training (and scales the rest by
# $1/(1-p)$), so no unit can rely on any other; `model.eval()` turns it off for evaluation.

# %%
runs = {}
for name, p in {"no dropout": 0.0, "dropout p=0.5": 0.5}.items():
    tg.manual_seed(0)
    model = nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Dropout(p),
                          nn.Linear(512, 512), nn.ReLU(), nn.Dropout(p), nn.Linear(512, 10))
    runs[name] = train(model, optim.SGD(model.parameters(), lr=0.01, momentum=0.9), epochs=20)
    results[f"784-512-512-10, {name}"] = runs[name]["test_acc"][-1]

fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.3), layout="constrained")
epochs = np.arange(1, 21)
for i, (name, h) in enumerate(runs.items()):
    ax1.plot(epochs, h["train_loss"], "--", color=f"C{i}", label=f"{name}: train")
    ax1.plot(epochs, h["test_loss"], "-", color=f"C{i}", label=f"{name}: test")
    ax2.plot(epochs, 100 * np.array(h["test_acc"]), "o-", color=f"C{i}", label=name)
ax1.set(xlabel="epoch", ylabel="cross-entropy", yscale="log", title="train and test loss")
ax2.set(xlabel="epoch", ylabel="test accuracy (%)", title="test accuracy")
for ax in (ax1, ax2):
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
ax1.legend(fontsize=8)
ax2.legend()
plt.show()
for name, h in runs.items():
    print(f"{name:>14}: train loss {h['train_loss'][-1]:.4f}, test loss {h['test_loss'][-1]:.3f} "
          f"(lowest {min(h['test_loss']):.3f}), test accuracy {h['test_acc'][-1]:.1%}")
assert runs["dropout p=0.5"]["test_loss"][-1] < runs["no dropout"]["test_loss"][-1]

# %% [markdown]
# Without dropout the training loss heads to zero while the test loss stops improving and creeps
# back up from its minimum: the network is memorising. Dropout slows the fall of the training loss,
# keeps the gap between the two curves smaller and ends with a lower test loss.
#
# ## 5. Going deeper: batch normalisation and residual blocks
#
# Fourteen layers of 64 ReLU units with the default initialisation. The plain stack does not train
# at all: the signal fades a little at every layer, and the gradient with it. Two fixes:
#
# - **Batch normalisation** re-centres and re-scales every unit's activations over the batch
#   (learning a scale and shift per unit), so every layer sees inputs of a healthy size;
# - **residual blocks** compute $x + f(x)$: the identity path carries the signal (and the gradient)
#   through any depth, and each block only learns a correction.

# %%
class ResidualBlock(nn.Module):
    """relu(x + fc2(relu(fc1(x)))): two layers with a skip connection around them."""

    def __init__(self, width: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(width, width)
        self.fc2 = nn.Linear(width, width)

    def forward(self, x: tg.Tensor) -> tg.Tensor:
        return (x + self.fc2(self.fc1(x).relu())).relu()


def deep_net(kind: str, hidden: int = 12, width: int = 64) -> nn.Sequential:
    layers: list[nn.Module] = [nn.Linear(784, width), nn.ReLU()]
    if kind == "residual":
        layers += [ResidualBlock(width) for _ in range(hidden // 2)]
    else:
        for _ in range(hidden):
            layers += [nn.Linear(width, width)]
            layers += [nn.BatchNorm1d(width)] if kind == "batch norm" else []
            layers += [nn.ReLU()]
    return nn.Sequential(*layers, nn.Linear(width, 10))


runs = {}
for kind in ["plain", "batch norm", "residual"]:
    tg.manual_seed(0)
    model = deep_net(kind)
    runs[kind] = train(model, optim.SGD(model.parameters(), lr=0.01, momentum=0.9), epochs=6)
    results[f"14 layers, {kind}"] = runs[kind]["test_acc"][-1]
plot_runs(runs, "14 layers deep")
assert runs["batch norm"]["test_acc"][-1] > 0.5 and runs["residual"]["test_acc"][-1] > 0.5
assert runs["plain"]["test_acc"][-1] < runs["batch norm"]["test_acc"][-1]

# %% [markdown]
# ## Summary

# %%
width = max(len(name) for name in results)
for name, acc in results.items():
    print(f"{name:<{width}}  {acc:6.1%}")
print(f"\nall experiments: {time.perf_counter() - notebook_start:.0f} s")
