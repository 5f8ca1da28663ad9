"""Random planar affine distortions of digits, as in the paper's 0.8% run (SPEC P7+).

LeCun et al. (1998, §III-C) trained on distorted copies — translations, scaling, squeezing and
horizontal shearing — without giving the ranges. Ours are `DistortionRanges`' defaults, chosen
so that a distorted digit still fits the 28×28 field and still reads as the same digit.

The parameters are drawn on the CPU from a seeded `torch.Generator` (5 numbers per image, so
every device distorts identically); the warp is one batched `affine_grid` + `grid_sample` on the
images' device. Pixels that come from outside the image are background (0).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F


@dataclass(frozen=True)
class DistortionRanges:
    """Each parameter is uniform in the stated interval, independently per image."""

    shift: float = 2.0  # pixels, each axis: translation in [−2, 2]
    scale: float = 0.1  # isotropic scale factor in [0.9, 1.1]
    squeeze: float = 0.15  # width × q and height ÷ q, q in [0.85, 1.15]: the aspect ratio
    shear: float = 0.25  # horizontal shear x' = x + k·y, k in [−0.25, 0.25] (≈ ±14°)

    def __post_init__(self) -> None:
        if min(self.shift, self.scale, self.squeeze, self.shear) < 0:
            raise ValueError("distortion ranges must not be negative")
        if max(self.scale, self.squeeze) >= 1:
            raise ValueError("scale and squeeze ranges must stay below 1 (factors stay > 0)")

    def describe(self) -> str:
        return (f"translation ±{self.shift:g} px, scale ×[{1 - self.scale:g}, {1 + self.scale:g}]"
                f", squeeze q ∈ [{1 - self.squeeze:g}, {1 + self.squeeze:g}] (width ×q, height"
                f" ÷q), horizontal shear k ∈ ±{self.shear:g}")


PARAMS = ("shift_x", "shift_y", "scale", "squeeze", "shear")


def sample_params(n: int, generator: torch.Generator,
                  ranges: DistortionRanges = DistortionRanges()) -> torch.Tensor:
    """[n, 5] CPU float32, the columns of `PARAMS`: shifts in pixels, then the factors."""
    u = torch.rand(n, 5, generator=generator) * 2 - 1  # uniform in [−1, 1)
    half = torch.tensor([ranges.shift, ranges.shift, ranges.scale, ranges.squeeze, ranges.shear])
    offset = torch.tensor([0.0, 0.0, 1.0, 1.0, 0.0])
    return offset + u * half


def forward_maps(params: torch.Tensor) -> torch.Tensor:
    """[n, 5] parameters → [n, 2, 2] maps A = scale · diag(q, 1/q) · [[1, k], [0, 1]] that take
    a point (x right, y down, from the centre) of the original to the distorted image."""
    scale, q, k = params[:, 2], params[:, 3], params[:, 4]
    one, zero = torch.ones_like(k), torch.zeros_like(k)
    squeeze = torch.stack([torch.stack([q, zero], -1), torch.stack([zero, 1 / q], -1)], -2)
    shear = torch.stack([torch.stack([one, k], -1), torch.stack([zero, one], -1)], -2)
    return scale.view(-1, 1, 1) * squeeze @ shear


def warp(images: torch.Tensor, params: torch.Tensor) -> torch.Tensor:
    """Distort [N, C, H, W] images (H = W) by [N, 5] parameters; bilinear, background 0.

    `grid_sample` asks, for each output pixel p', where to read in the input: A⁻¹(p' − t).
    In its normalised coordinates (align_corners=False) a pixel is 2/W wide.
    """
    h, w = images.shape[-2:]
    if h != w:
        raise ValueError(f"square images only, got {h}×{w}")
    inverse = torch.linalg.inv(forward_maps(params.double()))  # [N, 2, 2]
    shift = params[:, :2].double().unsqueeze(-1) * (2 / w)  # [N, 2, 1] normalised
    theta = torch.cat([inverse, -inverse @ shift], 2).to(images.device, images.dtype)
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)  # [N, H, W, 2]
    return F.grid_sample(images, grid, mode="bilinear", padding_mode="zeros",
                         align_corners=False)


def distort(images: torch.Tensor, generator: torch.Generator,
            ranges: DistortionRanges = DistortionRanges()) -> torch.Tensor:
    """A freshly distorted copy of every image, parameters drawn from `generator`."""
    return warp(images, sample_params(len(images), generator, ranges))
