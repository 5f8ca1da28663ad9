"""The 1998 LeNet-5 itself (SPEC P7+): LeCun, Bottou, Bengio, Haffner, "Gradient-based learning
applied to document recognition", Proc. IEEE 86(11), 1998, §II-B and Appendix A.

What differs from the document's network (`models.LeNet5`):
- the input is a 32×32 image at the paper's levels, background −0.1 and ink 1.175;
- every layer is squashed by f(a) = 1.7159·tanh(2a/3);
- S2 and S4 are trainable: each unit adds its 2×2 block, multiplies the sum by one coefficient
  per map, adds one bias per map (§II-B says "added", so the coefficient multiplies the sum,
  not the average: a factor 4 from §II-A's wording);
- C5 is a 5×5 convolution over all 16 S4 maps (1×1 outputs);
- the output is 10 Euclidean RBF units whose weights are the fixed ±1 7×12 bitmaps of Fig. 3;
  they return penalties (squared distances), and the prediction is the argmin;
- weights start uniform in ±2.4/F_i, F_i the fan-in of the unit, a bias counting as one input.
60,000 trainable parameters and 340,908 connections in all.

Input: like every model here, [N, 1, 28, 28] with pixels in [0, 1]; the model itself maps the
levels and pads to 32×32 with background, so it plugs into the same data path (`training.Split`,
the distortions) as the others.
"""

from __future__ import annotations

import hashlib
from importlib import resources

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from lenetlab.layers import C3_TABLE, TableConv2d

BACKGROUND, INK = -0.1, 1.175  # input levels of a white and a black pixel (§II-B)
SQUASH_A, SQUASH_S = 1.7159, 2 / 3  # f(a) = A·tanh(S·a): f(±1) = ±1 (Appendix A)
INIT_SCALE = 2.4  # weights uniform in ±2.4/F_i (Appendix A)

BITMAPS = "rbf_bitmaps.txt"
# sha256 of the 10 prototypes as int8 [10, 84], row-major, +1 ink / −1 background.
BITMAPS_SHA256 = "0901b360e6d372db3f8e160e377ab3cf02ed5a98f10bcc15ffe77ee007dea3e4"
BITMAP_ROWS, BITMAP_COLS = 12, 7


def squash(a: torch.Tensor) -> torch.Tensor:
    """The paper's squashing function f(a) = 1.7159·tanh(2a/3)."""
    return SQUASH_A * torch.tanh(SQUASH_S * a)


def squash_slope(a: torch.Tensor) -> torch.Tensor:
    """f'(a) = 1.7159·(2/3)·(1 − tanh²(2a/3)), for the Gauss–Newton diagonal (`sdlm`)."""
    return SQUASH_A * SQUASH_S * (1 - torch.tanh(SQUASH_S * a).square())


def parse_bitmaps(text: str) -> np.ndarray:
    """The prototypes of a bitmaps file as int8 [10, 84]: 12 rows of 7 pixels per digit,
    row-major, '#' → +1, '.' → −1. Lines starting with '#' are comments; the first other line
    names the digits, then each line is a row number and the 10 digits' 7 pixels of that row."""
    lines = [ln.split() for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]
    digits, rows = [int(d) for d in lines[0]], lines[1:]
    if digits != list(range(10)) or len(rows) != BITMAP_ROWS:
        raise ValueError("a bitmaps file names digits 0-9 and then has 12 rows")
    grid = np.array([[list(cell) for cell in row[1:]] for row in rows])  # [12, 10, 7] chars
    if grid.shape != (BITMAP_ROWS, 10, BITMAP_COLS) or not np.isin(grid, ["#", "."]).all():
        raise ValueError("every row needs 10 cells of 7 '#'/'.' pixels")
    return np.where(grid == "#", 1, -1).astype(np.int8).transpose(1, 0, 2).reshape(10, -1)


def rbf_bitmaps(text: str | None = None) -> torch.Tensor:
    """The Fig. 3 prototypes, int8 [10, 84], checksum verified: those shipped with the package,
    or those of a bitmaps file's `text`."""
    if text is None:
        text = resources.files("lenetlab.resources").joinpath(BITMAPS).read_text(encoding="utf-8")
    bitmaps = parse_bitmaps(text)
    digest = hashlib.sha256(bitmaps.tobytes()).hexdigest()
    if digest != BITMAPS_SHA256:
        raise ValueError(f"{BITMAPS}: sha256 {digest}, expected {BITMAPS_SHA256}")
    return torch.from_numpy(bitmaps)


def to_paper_input(x: torch.Tensor) -> torch.Tensor:
    """[N, 1, 28, 28] pixels in [0, 1] → [N, 1, 32, 32] at the paper's levels, padded with
    background: x = −0.1 + 1.275·p."""
    return F.pad(x, (2, 2, 2, 2)).mul(INK - BACKGROUND).add(BACKGROUND)


class Subsampling(nn.Module):
    """S2/S4: the sum of each size×size block, times a trainable coefficient, plus a trainable
    bias, one of each per map. 2 parameters per map; size²+1 connections per unit."""

    def __init__(self, channels: int, size: int = 2) -> None:
        super().__init__()
        self.channels, self.size = channels, size
        self.weight = nn.Parameter(torch.empty(channels))
        self.bias = nn.Parameter(torch.empty(channels))
        init_1998_(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # x: [N, C, H, W] -> [N, C, H/size, W/size]; avg·size² is the block sum exactly
        coefficient = self.weight.view(-1, 1, 1)
        return torch.addcmul(self.bias.view(-1, 1, 1), F.avg_pool2d(x, self.size), coefficient,
                             value=self.size * self.size)

    def account(self, out_shape: tuple[int, ...]) -> tuple[None, int, int]:
        """(weight shape, multiply-adds, connections): a block sum per unit, like a pooling."""
        units, window = int(np.prod(out_shape)), self.size * self.size
        return None, units * window, units * (window + 1)

    def extra_repr(self) -> str:
        return f"{self.channels}, size={self.size}"


class EuclideanRBF(nn.Module):
    """Output units y_i = Σ_j (x_j − w_ij)² with fixed prototypes w (a buffer, not trained)."""

    def __init__(self, prototypes: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("prototypes", prototypes.float())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # x: [N, D] -> [N, K] penalties; the direct differences, exact for any magnitude
        return (x.unsqueeze(1) - self.prototypes).square().sum(-1)

    def account(self, out_shape: tuple[int, ...]) -> tuple[tuple[int, ...], int, int]:
        connections = self.prototypes.numel()
        return tuple(self.prototypes.shape), connections, connections


def fan_in(layer: nn.Module) -> torch.Tensor:
    """F_i of every output map of a layer: its inputs per unit plus one for the bias."""
    if isinstance(layer, TableConv2d):
        return torch.tensor([len(ins) * layer.kernel_size**2 + 1 for ins in layer.table])
    if isinstance(layer, nn.Conv2d):
        k = layer.in_channels // layer.groups * layer.kernel_size[0] * layer.kernel_size[1]
        return torch.full((layer.out_channels,), k + 1)
    if isinstance(layer, nn.Linear):
        return torch.full((layer.out_features,), layer.in_features + 1)
    if isinstance(layer, Subsampling):
        return torch.full((layer.channels,), layer.size**2 + 1)
    raise TypeError(f"no fan-in rule for {type(layer).__name__}")


# How the initial range shrinks with the fan-in F_i: the paper's text says ±2.4/F_i. Its stated
# reason, "the initial standard deviation of the weighted sums in the same range for each unit,
# within the normal operating region of the sigmoid", is what ±2.4/√F_i does (the sum's
# standard deviation is then 1.39·rms(input) whatever F_i; with 2.4/F_i it is 1.39/√F_i times
# that, 0.07 for C5). Only with √F_i does the paper's μ = 0.02 train (see `experiments.paper`).
INIT_RULES = {"fan-in": lambda f: f, "sqrt-fan-in": lambda f: f.sqrt()}


@torch.no_grad()
def init_1998_(layer: nn.Module, rule: str = "fan-in") -> None:
    """Weights and bias of each output map uniform in ±2.4/F_i ("fan-in", the paper's text) or
    ±2.4/√F_i ("sqrt-fan-in"), drawn from the global RNG like nn.init."""
    bounds = INIT_SCALE / INIT_RULES[rule](fan_in(layer).double())
    if isinstance(layer, TableConv2d):  # one weight row per table entry, grouped by map
        bounds_w = bounds.repeat_interleave(torch.tensor([len(ins) for ins in layer.table]))
    else:
        bounds_w = bounds
    for param, bound in ((layer.weight, bounds_w), (layer.bias, bounds)):
        shape = (-1,) + (1,) * (param.dim() - 1)
        param.uniform_(-1, 1).mul_(bound.to(param.dtype).view(shape))


class LeNet1998(nn.Module):
    """LeNet-5 as published in 1998; returns the 10 RBF penalties, the smallest one wins."""

    def __init__(self, init: str = "fan-in") -> None:
        super().__init__()
        if init not in INIT_RULES:
            raise ValueError(f"init must be one of {', '.join(INIT_RULES)}, not {init!r}")
        self.c1 = nn.Conv2d(1, 6, 5)
        self.s2 = Subsampling(6)
        self.c3 = TableConv2d(C3_TABLE, 6, 5)
        self.s4 = Subsampling(16)
        self.c5 = nn.Conv2d(16, 120, 5)
        self.f6 = nn.Linear(120, 84)
        self.output = EuclideanRBF(rbf_bitmaps())
        for layer in self.stages():
            init_1998_(layer, init)

    def stages(self) -> tuple[nn.Module, ...]:
        """The trainable layers in order, each followed by `squash` (what `sdlm` walks)."""
        return self.c1, self.s2, self.c3, self.s4, self.c5, self.f6

    def features(self, x: torch.Tensor) -> torch.Tensor:
        # x: [N, 1, 28, 28] in [0, 1]
        x = to_paper_input(x)  # [N, 1, 32, 32], background −0.1, ink 1.175
        x = squash(self.c1(x))  # [N, 6, 28, 28]
        x = squash(self.s2(x))  # [N, 6, 14, 14]
        x = squash(self.c3(x))  # [N, 16, 10, 10]
        x = squash(self.s4(x))  # [N, 16, 5, 5]
        x = squash(self.c5(x)).flatten(1)  # [N, 120]
        return squash(self.f6(x))  # [N, 84]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.output(self.features(x))  # [N, 10] penalties

    def silent_maps(self, tol: float = 0.02) -> dict[str, list[int]]:
        """The S2 and S4 maps whose coefficient is within `tol` of 0, by index.

        Such a map passes on only its bias: the C1 or C3 map under it has stopped mattering.
        Under ±2.4/F_i the coefficients start uniform in ±0.48 and the C3 weights in ±0.032 or
        less; a map whose coefficient is drawn near 0 gets too little gradient (a product of
        two small numbers) to grow and stays silent for good (seed 1: S4 maps 7, 11, 14, 15,
        drawn at −0.04, 0.03, 0.03, 0.00, all silent after 6,000 online steps and at the end).
        """
        return {name: (layer.weight.abs() < tol).nonzero().flatten().tolist()
                for name, layer in (("s2", self.s2), ("s4", self.s4))}

    @staticmethod
    def predict(penalties: torch.Tensor) -> torch.Tensor:
        return penalties.argmin(1)


def lenet5_1998(init: str = "fan-in") -> LeNet1998:
    """The 1998 LeNet-5 (SPEC P7+), 60,000 trainable parameters, initialised by Appendix A
    (`init`: see `INIT_RULES`)."""
    return LeNet1998(init)
