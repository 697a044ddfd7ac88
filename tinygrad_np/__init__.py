"""tinygrad_np: a small, readable reverse-mode autograd framework on NumPy.

    import tinygrad_np as tg
    x = tg.Tensor([1.0, 2.0], requires_grad=True)
    (x * x).sum().backward()        # x.grad == [2, 4]
"""
from .tensor import Tensor
from .ops.tensor_methods import install as _install_tensor_methods
from .autograd.function import Function
from .autograd.engine import grad
from .autograd.grad_mode import enable_grad, inference_mode, is_grad_enabled, no_grad, set_grad_enabled
from .autograd.anomaly import AnomalyError, detect_anomaly
from .errors import GraphError, InplaceModificationError, ShapeError
from .creation import arange, eye, full, ones, ones_like, rand, randn, tensor, uniform, zeros, zeros_like
from .functions import (cat, concatenate, cos, cumsum, expm1, flip, gather, index_select, log1p, masked_fill,
                        maximum, minimum, roll, scatter, scatter_add, sin, sort, stack, topk, where)
from .gradcheck import GradcheckError, gradcheck, gradgradcheck
from .check_op import CheckOpError, check_op
from .serialization import CheckpointError, load, save
from .random import get_rng_state, manual_seed, set_rng_state
from .kernels.memory import keep_freed_memory
from .kernels.threads import get_num_threads, set_num_threads

_install_tensor_methods(Tensor)  # Tensor's operators and op methods: ops/tensor_methods.py

from numpy import float32, float64, int64  # dtype names, as in torch

__version__ = "0.1.0"

_SUBMODULES = ("data", "functional", "nn", "optim", "viz", "examples")


def __getattr__(name: str):
    """Import subpackages on first use (`tg.nn`, `tg.optim`, `tg.data`, ...), keeping `import tinygrad_np` fast."""
    if name in _SUBMODULES:
        import importlib

        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'tinygrad_np' has no attribute {name!r}")
