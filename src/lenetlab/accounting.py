"""Per-layer accounting (SPEC P2): output shape, weight shape, parameters, multiply-adds and
the 1998 paper's "connections".

A layer with C_in inputs, C_out outputs and k×k kernels has weight [C_out, C_in, k, k] and
C_out·(C_in·k² + 1) parameters. Connections count every (input or bias, output unit) link,
shared weights counted each time they are used: C1 of LeNet-5 has 156 parameters but 122,304
connections. Multiply-adds count products only (a bias is an addition).

Layers of our own can describe themselves with a method
`account(out_shape) -> (weight_shape, macs, connections)`; the common PyTorch layers are
described here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class LayerAccount:
    name: str
    kind: str
    output_shape: tuple[int, ...]  # per example, no batch dimension
    weight_shape: tuple[int, ...] | None
    params: int
    macs: int
    connections: int


def _describe(module: nn.Module, out_shape: tuple[int, ...]) -> tuple[tuple | None, int, int]:
    """(weight shape, multiply-adds, connections) of one layer for one example."""
    if hasattr(module, "account"):
        return module.account(out_shape)
    units = math.prod(out_shape)
    if isinstance(module, nn.Conv2d):
        fan_in = module.in_channels // module.groups * math.prod(module.kernel_size)
        bias = module.bias is not None
        return tuple(module.weight.shape), units * fan_in, units * (fan_in + bias)
    if isinstance(module, nn.Linear):
        bias = module.bias is not None
        return tuple(module.weight.shape), units * module.in_features, units * (
            module.in_features + bias
        )
    if isinstance(module, nn.AvgPool2d | nn.MaxPool2d):
        k = module.kernel_size
        window = k * k if isinstance(k, int) else math.prod(k)
        return None, units * window, units * window
    raise TypeError(f"no accounting rule for {type(module).__name__}")


def account(model: nn.Module, input_shape: tuple[int, ...]) -> list[LayerAccount]:
    """Run one example of `input_shape` through `model` and describe each top-level layer."""
    rows: list[LayerAccount] = []
    hooks = []
    for name, module in model.named_children():

        def hook(mod, _inputs, output, name=name):
            shape = tuple(output.shape[1:])
            weight_shape, macs, connections = _describe(mod, shape)
            params = sum(p.numel() for p in mod.parameters() if p.requires_grad)
            rows.append(LayerAccount(name, type(mod).__name__, shape, weight_shape, params,
                                     macs, connections))

        hooks.append(module.register_forward_hook(hook))
    try:
        with torch.no_grad():
            model(torch.zeros(1, *input_shape))
    finally:
        for h in hooks:
            h.remove()
    return rows


def count_parameters(model: nn.Module) -> int:
    """Trainable parameters of `model`."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
