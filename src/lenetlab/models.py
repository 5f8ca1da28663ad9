"""Model builders. No training code here: models are plain modules, trained elsewhere."""

from __future__ import annotations

from typing import Any, Literal

import torch
from torch import nn

from lenetlab.layers import C3_TABLE, TableConv2d
from lenetlab.lenet1998 import lenet5_1998


class LeNet5(nn.Module):
    """The document's LeNet-5 on 28×28 inputs in [0, 1], returning 10 logits.

    C1 pads by 2 so that 28×28 MNIST behaves like the paper's 32×32 input. Subsampling is plain
    2×2 average pooling followed by tanh (the 1998 network's trainable coefficients are in
    `lenet5_1998`). C3 follows Table I of the paper (`c3="table"`, 60,806 parameters in all) or
    connects every S2 map to every C3 map (`c3="full"`, 61,706).
    """

    def __init__(self, c3: Literal["table", "full"] = "table") -> None:
        super().__init__()
        if c3 not in ("table", "full"):
            raise ValueError(f"c3 must be 'table' or 'full', not {c3!r}")
        self.c3_kind = c3
        self.c1 = nn.Conv2d(1, 6, 5, padding=2)
        self.s2 = nn.AvgPool2d(2)
        self.c3 = TableConv2d(C3_TABLE, 6, 5) if c3 == "table" else nn.Conv2d(6, 16, 5)
        self.s4 = nn.AvgPool2d(2)
        self.c5 = nn.Linear(16 * 5 * 5, 120)
        self.f6 = nn.Linear(120, 84)
        self.output = nn.Linear(84, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # x: [N, 1, 28, 28]
        x = torch.tanh(self.c1(x))  # [N, 6, 28, 28]
        x = torch.tanh(self.s2(x))  # [N, 6, 14, 14]
        x = torch.tanh(self.c3(x))  # [N, 16, 10, 10]
        x = torch.tanh(self.s4(x))  # [N, 16, 5, 5]
        x = x.flatten(1)  # [N, 400]
        x = torch.tanh(self.c5(x))  # [N, 120]
        x = torch.tanh(self.f6(x))  # [N, 84]
        return self.output(x)  # [N, 10] logits


def lenet5(c3: Literal["table", "full"] = "table") -> LeNet5:
    """The document's LeNet-5 (SPEC P7); C3 by the 1998 table or fully connected."""
    return LeNet5(c3)


# Names accepted by `lenetlab params/train --model`, each with the input shape it takes.
MODELS = {
    "lenet5": (lambda: lenet5("table"), (1, 28, 28)),
    "lenet5-full": (lambda: lenet5("full"), (1, 28, 28)),
    # LeCun et al. 1998 itself: RBF outputs (smallest wins), trainable subsampling; it pads
    # the 28×28 digit to 32×32 with the paper's levels internally.
    "lenet5-1998": (lenet5_1998, (1, 28, 28)),
}


def build_model(name: str, **options: Any) -> nn.Module:
    """Build a registered model by name (see `MODELS`), passing `options` to its builder."""
    if name not in MODELS:
        raise KeyError(f"unknown model {name!r}; choose from {', '.join(MODELS)}")
    return MODELS[name][0](**options)


def input_shape(name: str) -> tuple[int, ...]:
    return MODELS[name][1]
