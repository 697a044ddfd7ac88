"""The functional API (`import tinygrad_np.functional as F`): the layer ops on plain tensors, no
modules needed, as `torch.nn.functional`. (Free functions over tensors, `tg.where`, `tg.cat`, ...,
are in the top-level namespace, from `tinygrad_np.functions`.)"""
from .ops.activation import dropout, gelu, leaky_relu, log_softmax, relu, sigmoid, silu, softmax, tanh
from .ops.conv import conv2d, conv_transpose2d, fold, unfold
from .ops.embedding import embedding
from .ops.linear import linear
from .ops.loss import (binary_cross_entropy, binary_cross_entropy_with_logits, cross_entropy, huber_loss, kl_div,
                       l1_loss, mse_loss, nll_loss, smooth_l1_loss)
from .ops.normalization import batch_norm, group_norm, layer_norm
from .ops.padding import pad
from .ops.pool import avg_pool2d, max_pool2d
from .ops.resize import adaptive_avg_pool2d, interpolate
from .ops.unpool import max_unpool2d

__all__ = [
    # activations
    "dropout", "gelu", "leaky_relu", "log_softmax", "relu", "sigmoid", "silu", "softmax", "tanh",
    # convolution, linear, embedding
    "conv2d", "conv_transpose2d", "fold", "unfold", "linear", "embedding",
    # losses
    "binary_cross_entropy", "binary_cross_entropy_with_logits", "cross_entropy", "huber_loss", "kl_div",
    "l1_loss", "mse_loss", "nll_loss", "smooth_l1_loss",
    # normalization
    "batch_norm", "group_norm", "layer_norm",
    # padding, pooling, resizing
    "pad", "avg_pool2d", "max_pool2d", "max_unpool2d", "adaptive_avg_pool2d", "interpolate",
]
