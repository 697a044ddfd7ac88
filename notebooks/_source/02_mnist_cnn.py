# %% [markdown]
# # 02 · A CNN on MNIST
#
# A small convolutional network, written as an `nn.Module`, trained with Adam on a subset of MNIST:
# about half a minute on two CPU cores for roughly 97% test accuracy. Along the way: the data, the
# model's summary, loss and accuracy curves, test digits with the model's guesses, and a confusion
# matrix. (`python -m tinygrad_np.examples.mnist` trains a larger CNN on all 60,000 images to 99%.)

# %%
# %matplotlib inline
import time

import matplotlib.pyplot as plt
import numpy as np
from tqdm.auto import tqdm

import tinygrad_np as tg
import tinygrad_np.functional as F
from tinygrad_np import nn, optim
from tinygrad_np.data import DataLoader, load_mnist, normalize
from tinygrad_np.viz import summary

# %% [markdown]
# ## The data
#
# `load_mnist()` returns the official 60,000 training and 10,000 test images as `uint8` arrays
# (downloaded and verified on first use, then read from a local cache). `normalize` scales pixels to
# zero mean and unit variance and adds the channel axis convolutions expect: `(N, 1, 28, 28)`.

# %%
x_train, y_train, x_test, y_test = load_mnist()
print("train:", x_train.shape, x_train.dtype, " test:", x_test.shape)

N_TRAIN, EPOCHS, BATCH = 12_000, 3, 64     # a subset, so the notebook runs in about half a minute
train_images, train_labels = normalize(x_train[:N_TRAIN]), y_train[:N_TRAIN].astype(np.int64)
test_images, test_labels = normalize(x_test), y_test.astype(np.int64)
print("training on", train_images.shape, train_images.dtype)

fig, axes = plt.subplots(2, 8, figsize=(8, 2.4), layout="constrained")
for ax, image, label in zip(axes.flat, x_train, y_train):
    ax.imshow(image, cmap="gray_r")
    ax.set_title(str(label), fontsize=9)
    ax.axis("off")
plt.show()

# %% [markdown]
# ## The model
#
# Two blocks of 3×3 convolution, ReLU and 2×2 max pooling shrink the image from 28×28 to 7×7 while
# growing the channels from 1 to 16; a linear layer maps the 784 features to 10 class scores
# (logits). The first convolution runs as im2col and one matrix product; the second, 3×3 over 8
# input channels, by Winograd's transforms, which need fewer multiplications for the same result.
# See the docs page "Convolution: im2col and col2im".

# %%
class SmallCNN(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, padding=1)
        self.conv2 = nn.Conv2d(8, 16, 3, padding=1)
        self.fc = nn.Linear(16 * 7 * 7, 10)

    def forward(self, x: tg.Tensor) -> tg.Tensor:
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)      # (N, 8, 14, 14)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)      # (N, 16, 7, 7)
        return self.fc(x.flatten(1))                    # (N, 10)


tg.manual_seed(0)      # the same initial weights, dropout masks and shuffles on every run
model = SmallCNN()
print(model)
print(summary(model, tg.Tensor(train_images[:BATCH]), params=dict(model.named_parameters())))

# %% [markdown]
# ## Training
#
# The loop is the usual four lines: forward and loss, `zero_grad`, `backward`, `step`. After each
# epoch we measure accuracy on the full 10,000-image test set, under `no_grad` and in `eval()` mode.

# %%
def accuracy(model: nn.Module, images: np.ndarray, labels: np.ndarray, batch: int = 1000) -> tuple[float, np.ndarray]:
    """Fraction of correct predictions, and the predictions."""
    model.eval()
    with tg.no_grad():
        predictions = np.concatenate([model(tg.Tensor(images[i:i + batch])).argmax(axis=1).numpy()
                                      for i in range(0, len(images), batch)])
    model.train()
    return float((predictions == labels).mean()), predictions


opt = optim.Adam(model.parameters(), lr=2e-3)
loader = DataLoader(train_images, train_labels, BATCH, shuffle=True, seed=0)
step_losses, history = [], []
start = time.perf_counter()
for epoch in range(EPOCHS):
    for xb, yb in tqdm(loader, desc=f"epoch {epoch + 1}/{EPOCHS}", disable=None):
        loss = F.cross_entropy(model(tg.Tensor(xb)), yb)
        opt.zero_grad()
        loss.backward()
        opt.step()
        step_losses.append(loss.item())
    test_acc, _ = accuracy(model, test_images, test_labels)
    train_acc, _ = accuracy(model, train_images[:2000], train_labels[:2000])
    history.append((train_acc, test_acc))
    print(f"epoch {epoch + 1}: loss {np.mean(step_losses[-len(loader):]):.4f}, "
          f"train accuracy {train_acc:.2%}, test accuracy {test_acc:.2%}  ({time.perf_counter() - start:.0f} s)")

assert history[-1][1] > 0.95, "the CNN should pass 95% test accuracy"

# %% [markdown]
# ## Curves

# %%
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.4), layout="constrained")
steps = np.arange(1, len(step_losses) + 1)
window = 25
smooth = np.convolve(step_losses, np.ones(window) / window, mode="valid")
ax1.plot(steps, step_losses, color="C0", alpha=0.3, lw=0.8, label="per batch")
ax1.plot(steps[window - 1:], smooth, color="C0", label=f"moving average ({window})")
ax1.set(xlabel="step", ylabel="cross-entropy", yscale="log", title="training loss")
ax1.legend()
epochs = np.arange(1, EPOCHS + 1)
ax2.plot(epochs, [100 * h[0] for h in history], "o-", label="train (2,000 images)")
ax2.plot(epochs, [100 * h[1] for h in history], "s-", label="test (10,000 images)")
ax2.set(xlabel="epoch", ylabel="accuracy (%)", xticks=epochs, title="accuracy")
ax2.legend()
plt.show()

# %% [markdown]
# ## Test digits and the model's guesses
#
# Top row: the first ten test digits. Bottom row: the first ten the model gets wrong, with the true
# label in brackets. Many of them are hard for people too.

# %%
test_acc, predictions = accuracy(model, test_images, test_labels)
wrong = np.flatnonzero(predictions != test_labels)
fig, axes = plt.subplots(2, 10, figsize=(10, 2.6), layout="constrained")
for ax, i in zip(axes.flat, np.concatenate([np.arange(10), wrong[:10]])):
    ax.imshow(x_test[i], cmap="gray_r")
    ok = predictions[i] == test_labels[i]
    ax.set_title(f"{predictions[i]}" if ok else f"{predictions[i]} ({test_labels[i]})",
                 color="green" if ok else "red", fontsize=10)
    ax.axis("off")
plt.show()
print(f"{len(wrong)} of {len(test_labels)} test digits misclassified ({test_acc:.2%} accuracy)")

# %% [markdown]
# ## Confusion matrix
#
# Row *i*, column *j* counts test digits of class *i* predicted as *j*. The diagonal holds the
# correct answers; the largest off-diagonal entries are the pairs the model confuses most.

# %%
confusion = np.bincount(10 * test_labels + predictions, minlength=100).reshape(10, 10)
assert confusion.sum() == len(test_labels) and np.trace(confusion) == (predictions == test_labels).sum()

fig, ax = plt.subplots(figsize=(5.2, 4.6), layout="constrained")
image = ax.imshow(np.log1p(confusion), cmap="Blues")
for i in range(10):
    for j in range(10):
        if confusion[i, j]:
            ax.text(j, i, confusion[i, j], ha="center", va="center", fontsize=7,
                    color="white" if i == j else "black")
ax.set(xlabel="predicted", ylabel="true", xticks=range(10), yticks=range(10), title="confusion matrix")
plt.show()

off_diagonal = confusion - np.diag(np.diag(confusion))
i, j = np.unravel_index(np.argmax(off_diagonal), off_diagonal.shape)
print(f"most common mistake: {i} read as {j} ({off_diagonal[i, j]} times)")
