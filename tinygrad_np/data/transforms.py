"""Turning uint8 images into the normalised float arrays a network is trained on."""
from __future__ import annotations

import numpy as np

# Mean and standard deviation of the training pixels scaled to [0, 1].
MNIST_MEAN = 0.1307
MNIST_STD = 0.3081
FASHION_MNIST_MEAN = 0.2860
FASHION_MNIST_STD = 0.3530


def normalize(images: np.ndarray, mean: float = MNIST_MEAN, std: float = MNIST_STD,
              dtype: np.dtype | type = np.float32, add_channel: bool = True) -> np.ndarray:
    """Map uint8 pixels to (pixel / 255 - mean) / std; (N, H, W) becomes (N, 1, H, W) with add_channel.

    With add_channel=False the shape is kept. Done with a 256-entry lookup table, so it is exact
    and fast; the result is a new C-contiguous array of `dtype` (float32 by default).
    """
    images = np.asarray(images)
    if images.dtype != np.uint8:
        raise TypeError(f"normalize expects uint8 pixels (0..255), got {images.dtype}")
    if std <= 0:
        raise ValueError(f"std must be positive, got {std}")
    table = ((np.arange(256, dtype=np.float64) / 255.0 - mean) / std).astype(dtype)
    out = table[images]
    return add_channel_dim(out) if add_channel else out


def add_channel_dim(images: np.ndarray) -> np.ndarray:
    """(..., H, W) -> (..., 1, H, W): the single channel axis NCHW convolutions expect (a view)."""
    images = np.asarray(images)
    if images.ndim < 2:
        raise ValueError(f"expected images of shape (..., H, W), got {images.shape}")
    return np.expand_dims(images, axis=-3)
