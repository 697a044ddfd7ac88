"""Neural-network building blocks (`import tinygrad_np.nn as nn`): Module, Parameter, layers, init.

    model = nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10))
    loss = F.cross_entropy(model(x), y)
"""
from . import init
from .layers import (AvgPool2d, BatchNorm1d, BatchNorm2d, Conv2d, Dropout, Flatten, Linear, MaxPool2d, ReLU,
                     Sigmoid, Tanh)
from .module import IncompatibleKeys, Module, Parameter, Sequential, StateDictError

__all__ = ["AvgPool2d", "BatchNorm1d", "BatchNorm2d", "Conv2d", "Dropout", "Flatten", "IncompatibleKeys",
           "Linear", "MaxPool2d", "Module", "Parameter", "ReLU", "Sequential", "Sigmoid", "StateDictError",
           "Tanh", "init"]
