"""Datasets and batching: verified MNIST / Fashion-MNIST loading, IDX files, a small DataLoader.

    from tinygrad_np.data import load_mnist, normalize, DataLoader
    x_train, y_train, x_test, y_test = load_mnist()      # uint8 (60000, 28, 28), uint8 (60000,)
    for xb, yb in DataLoader(normalize(x_train), y_train, 64, shuffle=True, seed=0):
        ...                                                # xb float32 (64, 1, 28, 28)
"""
from .datasets import (FASHION_MNIST, FASHION_MNIST_CLASSES, MNIST, DatasetSpec, DatasetUnavailableError,
                       data_dir, load_dataset, load_fashion_mnist, load_mnist)
from .idx import IDXError, idx_bytes, parse_idx, read_idx, write_idx
from .loader import DataLoader
from .safe_pickle import RestrictedUnpickler, safe_load, safe_loads
from .transforms import (FASHION_MNIST_MEAN, FASHION_MNIST_STD, MNIST_MEAN, MNIST_STD, add_channel_dim,
                         normalize)

__all__ = [
    "load_mnist", "load_fashion_mnist", "load_dataset", "data_dir", "DatasetSpec", "DatasetUnavailableError",
    "MNIST", "FASHION_MNIST", "FASHION_MNIST_CLASSES",
    "DataLoader", "normalize", "add_channel_dim", "MNIST_MEAN", "MNIST_STD", "FASHION_MNIST_MEAN",
    "FASHION_MNIST_STD",
    "read_idx", "write_idx", "parse_idx", "idx_bytes", "IDXError",
    "RestrictedUnpickler", "safe_load", "safe_loads",
]
