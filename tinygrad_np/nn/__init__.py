"""Neural-network building blocks (`import tinygrad_np.nn as nn`): Module, Parameter, layers, losses, init.

    model = nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10))
    loss = F.cross_entropy(model(x), y)
"""
from . import init, utils
from .activation import GELU, Identity, LeakyReLU, LogSoftmax, SiLU, Softmax
from .containers import ModuleDict, ModuleList
from .conv import ConvTranspose2d
from .layers import (AvgPool2d, BatchNorm1d, BatchNorm2d, Conv2d, Dropout, Flatten, Linear, MaxPool2d, ReLU,
                     Sigmoid, Tanh)
from .loss import (BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, HuberLoss, KLDivLoss, L1Loss, MSELoss, NLLLoss,
                   SmoothL1Loss)
from .module import IncompatibleKeys, Module, Parameter, Sequential, StateDictError
from .normalization import GroupNorm, LayerNorm
from .pooling import AdaptiveAvgPool2d, MaxUnpool2d
from .sparse import Embedding
from .upsampling import Upsample

__all__ = ["AdaptiveAvgPool2d", "AvgPool2d", "BCELoss", "BCEWithLogitsLoss", "BatchNorm1d", "BatchNorm2d", "Conv2d",
           "ConvTranspose2d", "CrossEntropyLoss", "Dropout", "Embedding", "Flatten", "GELU", "GroupNorm", "HuberLoss",
           "Identity", "IncompatibleKeys", "KLDivLoss", "L1Loss", "LayerNorm", "LeakyReLU", "Linear", "LogSoftmax",
           "MSELoss", "MaxPool2d", "MaxUnpool2d", "Module", "ModuleDict", "ModuleList", "NLLLoss", "Parameter", "ReLU",
           "Sequential", "SiLU", "Sigmoid", "SmoothL1Loss", "Softmax", "StateDictError", "Tanh", "Upsample", "init",
           "utils"]
