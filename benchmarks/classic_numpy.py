"""A classic hand-written NumPy CNN, the way the well-known "deep learning from scratch" tutorials build
one: layer objects with forward/backward, im2col into a 6-D array filled by a loop over the kernel
offsets, max pooling by argmax over im2col rows, affine layers, softmax-with-loss and plain SGD.

It is the baseline that `bench_cnn.py` compares tinygrad_np against. Float64 by default, as published.
Self-contained: NumPy only.
"""
from __future__ import annotations

from collections import OrderedDict

import numpy as np


def im2col(images: np.ndarray, kh: int, kw: int, stride: int = 1, pad: int = 0) -> np.ndarray:
    """(N, C, H, W) -> (N*OH*OW, C*KH*KW): one row per output pixel."""
    n, c, h, w = images.shape
    oh = (h + 2 * pad - kh) // stride + 1
    ow = (w + 2 * pad - kw) // stride + 1
    padded = np.pad(images, [(0, 0), (0, 0), (pad, pad), (pad, pad)], mode="constant")
    col = np.zeros((n, c, kh, kw, oh, ow), dtype=images.dtype)
    for y in range(kh):
        y_end = y + stride * oh
        for x in range(kw):
            x_end = x + stride * ow
            col[:, :, y, x, :, :] = padded[:, :, y:y_end:stride, x:x_end:stride]
    return col.transpose(0, 4, 5, 1, 2, 3).reshape(n * oh * ow, -1)


def col2im(col: np.ndarray, shape: tuple[int, ...], kh: int, kw: int, stride: int = 1, pad: int = 0) -> np.ndarray:
    """The reverse of im2col: rows added back onto an (N, C, H, W) image."""
    n, c, h, w = shape
    oh = (h + 2 * pad - kh) // stride + 1
    ow = (w + 2 * pad - kw) // stride + 1
    col = col.reshape(n, oh, ow, c, kh, kw).transpose(0, 3, 4, 5, 1, 2)
    image = np.zeros((n, c, h + 2 * pad + stride - 1, w + 2 * pad + stride - 1), dtype=col.dtype)
    for y in range(kh):
        y_end = y + stride * oh
        for x in range(kw):
            x_end = x + stride * ow
            image[:, :, y:y_end:stride, x:x_end:stride] += col[:, :, y, x, :, :]
    return image[:, :, pad:h + pad, pad:w + pad]


class Convolution:
    def __init__(self, weight: np.ndarray, bias: np.ndarray, stride: int = 1, pad: int = 0) -> None:
        self.W, self.b, self.stride, self.pad = weight, bias, stride, pad

    def forward(self, x: np.ndarray) -> np.ndarray:
        fn, _, fh, fw = self.W.shape
        n, _, h, w = x.shape
        oh = (h + 2 * self.pad - fh) // self.stride + 1
        ow = (w + 2 * self.pad - fw) // self.stride + 1
        self.x = x
        self.col = im2col(x, fh, fw, self.stride, self.pad)
        self.col_W = self.W.reshape(fn, -1).T
        out = self.col @ self.col_W + self.b
        return out.reshape(n, oh, ow, -1).transpose(0, 3, 1, 2)

    def backward(self, dout: np.ndarray) -> np.ndarray:
        fn, c, fh, fw = self.W.shape
        dout = dout.transpose(0, 2, 3, 1).reshape(-1, fn)
        self.db = dout.sum(axis=0)
        self.dW = (self.col.T @ dout).transpose(1, 0).reshape(fn, c, fh, fw)
        dcol = dout @ self.col_W.T
        return col2im(dcol, self.x.shape, fh, fw, self.stride, self.pad)


class Pooling:
    def __init__(self, size: int, stride: int) -> None:
        self.size, self.stride = size, stride

    def forward(self, x: np.ndarray) -> np.ndarray:
        n, c, h, w = x.shape
        oh = (h - self.size) // self.stride + 1
        ow = (w - self.size) // self.stride + 1
        col = im2col(x, self.size, self.size, self.stride).reshape(-1, self.size * self.size)
        self.x, self.arg_max = x, np.argmax(col, axis=1)
        out = np.max(col, axis=1)
        return out.reshape(n, oh, ow, c).transpose(0, 3, 1, 2)

    def backward(self, dout: np.ndarray) -> np.ndarray:
        dout = dout.transpose(0, 2, 3, 1)
        area = self.size * self.size
        dmax = np.zeros((dout.size, area), dtype=dout.dtype)
        dmax[np.arange(self.arg_max.size), self.arg_max.flatten()] = dout.flatten()
        dcol = dmax.reshape(dout.shape[0] * dout.shape[1] * dout.shape[2], -1)
        return col2im(dcol, self.x.shape, self.size, self.size, self.stride)


class Relu:
    def forward(self, x: np.ndarray) -> np.ndarray:
        self.mask = x <= 0
        out = x.copy()
        out[self.mask] = 0
        return out

    def backward(self, dout: np.ndarray) -> np.ndarray:
        dout[self.mask] = 0
        return dout


class Affine:
    def __init__(self, weight: np.ndarray, bias: np.ndarray) -> None:
        self.W, self.b = weight, bias

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.shape = x.shape
        self.x = x.reshape(x.shape[0], -1)
        return self.x @ self.W + self.b

    def backward(self, dout: np.ndarray) -> np.ndarray:
        self.dW = self.x.T @ dout
        self.db = dout.sum(axis=0)
        return (dout @ self.W.T).reshape(self.shape)


class SoftmaxWithLoss:
    def forward(self, scores: np.ndarray, labels: np.ndarray) -> float:
        shifted = scores - scores.max(axis=1, keepdims=True)
        exp = np.exp(shifted)
        self.probs = exp / exp.sum(axis=1, keepdims=True)
        self.labels = labels
        picked = self.probs[np.arange(len(labels)), labels]
        return float(-np.log(picked + 1e-7).mean())

    def backward(self) -> np.ndarray:
        grad = self.probs.copy()
        grad[np.arange(len(self.labels)), self.labels] -= 1
        return grad / len(self.labels)


# (name, kind, args): conv = (out channels, kernel, pad); pool = size; affine = out features.
ARCHITECTURES = {
    "A": [("conv1", "conv", (30, 5, 0)), ("relu1", "relu", None), ("pool1", "pool", 2),
          ("fc1", "affine", 100), ("relu2", "relu", None), ("fc2", "affine", 10)],
    "B": [("conv1", "conv", (32, 3, 1)), ("relu1", "relu", None), ("pool1", "pool", 2),
          ("conv2", "conv", (64, 3, 1)), ("relu2", "relu", None), ("pool2", "pool", 2),
          ("fc1", "affine", 128), ("relu3", "relu", None), ("fc2", "affine", 10)],
    "C": [("conv1", "conv", (64, 3, 1)), ("relu1", "relu", None), ("pool1", "pool", 2),
          ("conv2", "conv", (128, 3, 1)), ("relu2", "relu", None), ("pool2", "pool", 2),
          ("conv3", "conv", (256, 3, 1)), ("relu3", "relu", None), ("pool3", "pool", 2),
          ("fc1", "affine", 256), ("relu4", "relu", None), ("fc2", "affine", 10)],
}


class ClassicCNN:
    """A stack of the layers above for one of ARCHITECTURES, with He-scaled random weights."""

    def __init__(self, arch: str, input_shape: tuple[int, int, int] = (1, 28, 28), dtype=np.float64,
                 seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        self.params: dict[str, np.ndarray] = {}
        self.layers: OrderedDict[str, object] = OrderedDict()
        c, h, w = input_shape
        for name, kind, args in ARCHITECTURES[arch]:
            if kind == "conv":
                out, k, pad = args
                scale = np.sqrt(2.0 / (c * k * k))
                self.params[name + ".W"] = (scale * rng.standard_normal((out, c, k, k))).astype(dtype)
                self.params[name + ".b"] = np.zeros(out, dtype=dtype)
                self.layers[name] = Convolution(self.params[name + ".W"], self.params[name + ".b"], 1, pad)
                c, h, w = out, h + 2 * pad - k + 1, w + 2 * pad - k + 1
            elif kind == "pool":
                self.layers[name] = Pooling(args, args)
                h, w = h // args, w // args
            elif kind == "relu":
                self.layers[name] = Relu()
            else:
                fan_in = c * h * w
                self.params[name + ".W"] = (np.sqrt(2.0 / fan_in) * rng.standard_normal((fan_in, args))).astype(dtype)
                self.params[name + ".b"] = np.zeros(args, dtype=dtype)
                self.layers[name] = Affine(self.params[name + ".W"], self.params[name + ".b"])
                c, h, w = args, 1, 1
        self.loss_layer = SoftmaxWithLoss()

    def predict(self, x: np.ndarray) -> np.ndarray:
        for layer in self.layers.values():
            x = layer.forward(x)
        return x

    def loss(self, x: np.ndarray, labels: np.ndarray) -> float:
        return self.loss_layer.forward(self.predict(x), labels)

    def gradient(self, x: np.ndarray, labels: np.ndarray) -> tuple[float, dict[str, np.ndarray]]:
        loss = self.loss(x, labels)
        dout = self.loss_layer.backward()
        for layer in reversed(self.layers.values()):
            dout = layer.backward(dout)
        grads = {}
        for name, layer in self.layers.items():
            if isinstance(layer, (Convolution, Affine)):
                grads[name + ".W"], grads[name + ".b"] = layer.dW, layer.db
        return loss, grads

    def sgd_step(self, x: np.ndarray, labels: np.ndarray, lr: float = 0.01) -> float:
        loss, grads = self.gradient(x, labels)
        for key, value in self.params.items():
            value -= lr * grads[key]
        return loss
