"""Layers that PyTorch does not have: the sparsely connected convolution of LeNet-5's C3."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

# LeCun, Bottou, Bengio, Haffner (1998), "Gradient-based learning applied to document
# recognition", Table I: the S2 maps that feed each of the 16 C3 maps. Six maps see 3
# contiguous inputs, six see 4 contiguous, three see 4 non-contiguous, the last sees all 6.
C3_TABLE: tuple[tuple[int, ...], ...] = (
    (0, 1, 2), (1, 2, 3), (2, 3, 4), (3, 4, 5), (0, 4, 5), (0, 1, 5),
    (0, 1, 2, 3), (1, 2, 3, 4), (2, 3, 4, 5), (0, 3, 4, 5), (0, 1, 4, 5), (0, 1, 2, 5),
    (0, 1, 3, 4), (1, 2, 4, 5), (0, 2, 3, 5),
    (0, 1, 2, 3, 4, 5),
)  # fmt: skip


class TableConv2d(nn.Module):
    """A convolution in which output map o sees only the input maps `table[o]`.

    The trainable parameters are exactly the connected kernels (one k×k kernel per table entry)
    and one bias per output map: for C3 that is 60·25 + 16 = 1,516, not the 2,416 of a dense
    layer with a mask. The forward pass scatters them into a dense, mostly-zero weight and makes
    one `conv2d` call, which is far faster than one convolution per output map; the scatter's
    backward gathers the gradient, so unconnected weights never exist as parameters.
    """

    def __init__(
        self,
        table: Sequence[Sequence[int]],
        in_channels: int,
        kernel_size: int,
        padding: int = 0,
        bias: bool = True,
    ) -> None:
        super().__init__()
        if any(not ins or not set(ins) <= set(range(in_channels)) for ins in table):
            raise ValueError(f"every table row must name input maps in 0..{in_channels - 1}")
        self.table = tuple(tuple(ins) for ins in table)
        self.in_channels, self.out_channels = in_channels, len(self.table)
        self.kernel_size, self.padding = kernel_size, padding
        rows = [o * in_channels + i for o, ins in enumerate(self.table) for i in ins]
        self.register_buffer("dense_rows", torch.tensor(rows), persistent=False)
        self.weight = nn.Parameter(torch.empty(len(rows), kernel_size, kernel_size))
        self.bias = nn.Parameter(torch.empty(self.out_channels)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """PyTorch's Conv2d default, per output map: U(±1/√fan_in) with fan_in = |table[o]|·k².

        This is what the document's 16 separate `Conv2d(|table[o]|, 1, k)` layers start from.
        """
        with torch.no_grad():
            start = 0
            for o, ins in enumerate(self.table):
                bound = 1 / math.sqrt(len(ins) * self.kernel_size**2)
                self.weight[start : start + len(ins)].uniform_(-bound, bound)
                if self.bias is not None:
                    self.bias[o].uniform_(-bound, bound)
                start += len(ins)

    def dense_weight(self) -> torch.Tensor:
        """The equivalent dense weight [C_out, C_in, k, k], zero where the table has no entry."""
        k = self.kernel_size
        flat = self.weight.new_zeros(self.out_channels * self.in_channels, k, k)
        flat = flat.index_copy(0, self.dense_rows, self.weight)
        return flat.view(self.out_channels, self.in_channels, k, k)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # x: [N, C_in, H, W] -> [N, C_out, H - k + 1 + 2p, W - k + 1 + 2p]
        return F.conv2d(x, self.dense_weight(), self.bias, padding=self.padding)

    def account(self, out_shape: tuple[int, ...]) -> tuple[tuple[int, ...], int, int]:
        """(weight shape, multiply-adds, connections) for one example; see `accounting`."""
        units_per_map = out_shape[1] * out_shape[2]
        macs = units_per_map * len(self.dense_rows) * self.kernel_size**2
        connections = macs + units_per_map * self.out_channels * (self.bias is not None)
        return tuple(self.weight.shape), macs, connections

    def extra_repr(self) -> str:
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"connections={len(self.dense_rows)}, padding={self.padding}")
