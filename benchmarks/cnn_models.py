"""The benchmark CNNs and the frameworks that train them, shared by the benchmark scripts.

Each script sets the BLAS thread count in the environment before it imports this module (NumPy reads
it when it loads its BLAS), then calls `load_torch` if it compares with PyTorch.
"""
from __future__ import annotations

from types import ModuleType
from typing import Any

import numpy as np

import tinygrad_np as tg
import tinygrad_np.functional as F

torch: ModuleType | None = None


def load_torch(threads: int) -> ModuleType | None:
    """PyTorch with `threads` intra-op threads, or None if it is not installed (it is no dependency)."""
    global torch
    try:
        import torch as module
    except ImportError:
        return None
    module.set_num_threads(threads)
    torch = module
    return module


LR = 0.01
# conv layers: (out channels, in channels, kernel, padding), each followed by ReLU and a 2x2 max pool;
# then affine layers (in, out), ReLU between them; `input` is one image's (C, H, W).
SPECS: dict[str, dict[str, Any]] = {
    "A": {"batch": 100, "input": (1, 28, 28), "convs": [(30, 1, 5, 0)], "affines": [(4320, 100), (100, 10)]},
    "B": {"batch": 128, "input": (1, 28, 28), "convs": [(32, 1, 3, 1), (64, 32, 3, 1)],
          "affines": [(3136, 128), (128, 10)]},
    "C": {"batch": 64, "input": (3, 32, 32), "convs": [(64, 3, 3, 1), (128, 64, 3, 1), (256, 128, 3, 1)],
          "affines": [(4096, 256), (256, 10)]},
}


def init_weights(model: str, seed: int = 0) -> dict[str, np.ndarray]:
    """He-scaled float32 weights shared by all implementations; affine weights are (out, in)."""
    rng = np.random.default_rng(seed)
    spec, weights = SPECS[model], {}
    for i, (out, cin, k, _) in enumerate(spec["convs"]):
        weights[f"conv{i}.W"] = (rng.standard_normal((out, cin, k, k)) * np.sqrt(2 / (cin * k * k))).astype(np.float32)
        weights[f"conv{i}.b"] = (0.01 * rng.standard_normal(out)).astype(np.float32)
    for i, (fin, out) in enumerate(spec["affines"]):
        weights[f"fc{i}.W"] = (rng.standard_normal((out, fin)) * np.sqrt(2 / fin)).astype(np.float32)
        weights[f"fc{i}.b"] = (0.01 * rng.standard_normal(out)).astype(np.float32)
    return weights


def random_batch(n: int, seed: int = 1, model: str = "A") -> tuple[np.ndarray, np.ndarray]:
    """n random images of `model`'s input size, and labels."""
    rng = np.random.default_rng(seed)
    return rng.random((n,) + SPECS[model]["input"], dtype=np.float32), rng.integers(0, 10, n)


class Autograd:
    """A framework with PyTorch's functional API: the model is a forward function over its weights."""

    name = ""

    def __init__(self, model: str, weights: dict[str, np.ndarray]) -> None:
        self.spec = SPECS[model]
        self.params = {k: self.tensor(v.copy(), requires_grad=True) for k, v in weights.items()}

    # what differs between frameworks
    F: Any = None

    def activate(self) -> None:
        """Called before this implementation runs: tinygrad_np's threads on for it, off otherwise
        (they hold NumPy's BLAS at one thread, which would slow the others' products)."""
        tg.set_num_threads(1)

    def tensor(self, array: np.ndarray, requires_grad: bool = False) -> Any:
        raise NotImplementedError

    def no_grad(self) -> Any:
        raise NotImplementedError

    @staticmethod
    def numpy(t: Any) -> np.ndarray:
        return t.numpy()

    # the same code for every framework
    def forward(self, x: Any) -> Any:
        F, p = self.F, self.params
        for i, (_, _, _, pad) in enumerate(self.spec["convs"]):
            x = F.max_pool2d(F.relu(F.conv2d(x, p[f"conv{i}.W"], p[f"conv{i}.b"], padding=pad)), 2)
        x = x.flatten(1)
        last = len(self.spec["affines"]) - 1
        for i in range(last + 1):
            x = F.linear(x, p[f"fc{i}.W"], p[f"fc{i}.b"])
            if i < last:
                x = F.relu(x)
        return x

    def loss(self, images: np.ndarray, labels: np.ndarray) -> Any:
        return self.F.cross_entropy(self.forward(self.tensor(images)), self.tensor(labels))

    def step(self, images: np.ndarray, labels: np.ndarray) -> float:
        loss = self.loss(images, labels)
        for p in self.params.values():
            p.grad = None
        loss.backward()
        with self.no_grad():
            for p in self.params.values():
                p -= LR * p.grad
        return loss.item()

    def grads(self, images: np.ndarray, labels: np.ndarray) -> tuple[float, dict[str, np.ndarray]]:
        loss = self.loss(images, labels)
        loss.backward()
        return loss.item(), {k: self.numpy(p.grad) for k, p in self.params.items()}

    def predict(self, images: np.ndarray) -> np.ndarray:
        with self.no_grad():
            return self.numpy(self.forward(self.tensor(images)))


class Tinygrad(Autograd):
    name = "tinygrad_np"
    F = F
    num_threads = 1  # the script sets its thread count

    def activate(self) -> None:
        tg.set_num_threads(self.num_threads)

    def tensor(self, array: np.ndarray, requires_grad: bool = False) -> tg.Tensor:
        return tg.Tensor(array, requires_grad=requires_grad)

    def no_grad(self) -> Any:
        return tg.no_grad()


class Torch(Autograd):
    name = "pytorch"

    def __init__(self, model: str, weights: dict[str, np.ndarray]) -> None:
        assert torch is not None, "call load_torch() first"
        self.F = torch.nn.functional
        super().__init__(model, weights)

    def tensor(self, array: np.ndarray, requires_grad: bool = False) -> Any:
        return torch.tensor(array, requires_grad=True) if requires_grad else torch.from_numpy(array)

    def no_grad(self) -> Any:
        return torch.no_grad()
