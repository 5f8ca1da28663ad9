"""P1 and P3 in the report: finite differences and grayscale as convolutions, on a real photo.

Two parts, `part_p1` and `part_p3`, share the photo (Grace Hopper, matplotlib's sample data,
so that no download is needed) and the panel figure, which `lenetlab filters` draws too.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
from matplotlib import cbook

from lenetlab.devices import describe
from lenetlab.experiments import filters
from lenetlab.experiments.filters import WORKED_PIXEL, FilterMaps, FiltersConfig, PhotoChecks
from lenetlab.figures import figure, png
from lenetlab.images import read_rgb
from lenetlab.ops import finite_difference_conv, grayscale_conv
from lenetlab.report import Comparison, Figure, Section, Table

if TYPE_CHECKING:
    from lenetlab.reproduce import Context

SAMPLE_NAME = "grace_hopper.jpg"
COMMAND = "lenetlab filters --sample --out filters"


def sample_photo() -> Path:
    """A real photograph that ships with matplotlib (a core dependency)."""
    return Path(cbook.get_sample_data(SAMPLE_NAME, asfileobj=False))


def panel(maps: FilterMaps, title: str) -> bytes:
    """Grayscale, both differences (zero is mid-grey) and the gradient magnitude, side by side.

    The colour scales stop at the 99.5th percentile of |difference| so that ordinary edges show;
    the PNGs keep the fixed scale.
    """
    limit = max(float(np.percentile(np.abs([maps.vertical, maps.horizontal]), 99.5)), 1.0)
    panels = [
        ("grayscale: 1×1 conv, BT.601", maps.gray, 0, 255),
        ("vertical: X[i+1, j] − X[i, j]", maps.vertical, -limit, limit),
        ("horizontal: X[i, j+1] − X[i, j]", maps.horizontal, -limit, limit),
        ("gradient magnitude √(Y1² + Y2²)", maps.magnitude, 0, limit),
    ]
    height, width = maps.gray.shape
    size = (16, 3.3 * height / width + 0.9)  # inches: four panels and their colour bars
    with figure(1, 4, figsize=size, layout="constrained") as (fig, axes):
        for ax, (name, image, lo, hi) in zip(axes, panels, strict=True):
            shown = ax.imshow(image, cmap="gray", vmin=lo, vmax=hi)
            ax.set_title(name, fontsize=10)
            ax.set(xticks=[], yticks=[])
            ax.grid(False)
            fig.colorbar(shown, ax=ax, shrink=0.8)
        fig.suptitle(title, fontsize=11)
        return png(fig)


def kernel_text(weight: torch.Tensor) -> str:
    """A 2-D kernel as nested lists of integers or decimals: "[[-1, 0], [1, 0]]"."""
    rows = [", ".join(f"{v:g}" for v in row) for row in weight.tolist()]
    return "[" + ", ".join(f"[{r}]" for r in rows) + "]"


def section_p1(maps: FilterMaps, checks: PhotoChecks, device: str, command: str) -> Section:
    weight = finite_difference_conv().weight  # [2, 1, 2, 2]
    height, width = checks.shape
    exact = "exact" if checks.diff_max_error == 0 else f"max error {checks.diff_max_error:g}"
    return Section(
        key="p1",
        title="Finite differences are a convolution",
        question="Can the vertical and horizontal differences of an image come from one "
        "convolution layer, and what do they show on a photograph?",
        method="One Conv2d(1→2, 2×2, no bias) with fixed weights, in PyTorch's "
        "cross-correlation convention, on the photo's grayscale (itself the 1×1 convolution "
        "of P3). On the 8-bit grayscale we compare it with numpy.diff along each axis, cropped "
        "to (m−1)×(n−1).",
        figures=[Figure("p1_panel", panel(maps, f"{SAMPLE_NAME}, {width}×{height}"),
                        "The photo's grayscale, both differences (zero is mid-grey) and the "
                        "gradient magnitude: edge maps from a 2×2 convolution.")],
        tables=[Table("The layer's kernels (out[i, j] = Σ w[a, b]·X[i+a, j+b])",
                      ["output channel", "difference", "kernel"],
                      [["0", "vertical Y1", kernel_text(weight[0, 0])],
                       ["1", "horizontal Y2", kernel_text(weight[1, 0])]])],
        comparisons=[
            Comparison("finite differences = numpy.diff", "exact", exact, device, command),
            Comparison("output size of an m×n image", "(m−1)×(n−1)",
                       f"{height - 1}×{width - 1} from {height}×{width}", device, command),
        ],
        results={"shape": list(checks.shape), "diff_max_error": checks.diff_max_error},
    )


def grayscale_figure(rgb: torch.Tensor, maps: FilterMaps) -> bytes:
    with figure(1, 2, figsize=(10, 4.6)) as (fig, axes):
        axes[0].imshow(rgb.permute(1, 2, 0).round().clamp(0, 255).to(torch.uint8).numpy())
        axes[0].set_title("RGB photo")
        axes[1].imshow(maps.gray, cmap="gray", vmin=0, vmax=255)
        axes[1].set_title("0.299 R + 0.587 G + 0.114 B (a 1×1 convolution)")
        for ax in axes:
            ax.set(xticks=[], yticks=[])
            ax.grid(False)
        return png(fig)


def section_p3(rgb: torch.Tensor, maps: FilterMaps, checks: PhotoChecks, device: str,
               command: str) -> Section:
    weights = grayscale_conv().weight.flatten().tolist()  # [3]
    pixels = checks.shape[0] * checks.shape[1]
    pillow = (f"max {checks.pillow_max_error} grey level; {checks.pillow_differing:,} of "
              f"{pixels:,} pixels differ")
    return Section(
        key="p3",
        title="RGB to grayscale is a 1×1 convolution",
        question="Is the usual luma conversion a convolution layer, and does it give the "
        "document's 158.7 and the grey levels image libraries produce?",
        method="Conv2d(3→1, kernel 1, no bias) with the ITU-R BT.601 weights: at every pixel "
        "Y = Σ_c w_c·X[c]. We feed it the document's pixel and a photo, and compare the rounded "
        "result with Pillow's convert(\"L\"), which computes the same sum in fixed point.",
        figures=[Figure("p3_grayscale", grayscale_figure(rgb, maps),
                        "The photo and its grayscale from the 1×1 layer.")],
        tables=[Table("The layer's weights", ["channel", "weight"],
                      [[c, f"{w:.3f}"] for c, w in zip("RGB", weights, strict=True)])],
        comparisons=[
            Comparison(f"grayscale of pixel {WORKED_PIXEL}", "158.7",
                       f"{checks.worked_example:.1f}", device, command),
            Comparison("agreement with Pillow convert(\"L\") on a photo",
                       "within 1 grey level", pillow, device, command),
        ],
        results={"worked_example": checks.worked_example,
                 "pillow_max_error": checks.pillow_max_error,
                 "pillow_differing": checks.pillow_differing, "pixels": pixels,
                 "weights": weights},
    )


def _photo(ctx: Context) -> tuple[torch.Tensor, FilterMaps, PhotoChecks]:
    config = FiltersConfig(device=ctx.device_name)
    rgb = read_rgb(sample_photo())  # [3, H, W]
    return rgb, filters.run(rgb, config), filters.check_photo(rgb, config)


def part_p1(ctx: Context) -> Section:
    _, maps, checks = _photo(ctx)
    return section_p1(maps, checks, describe(ctx.device), COMMAND)


def part_p3(ctx: Context) -> Section:
    rgb, maps, checks = _photo(ctx)
    return section_p3(rgb, maps, checks, describe(ctx.device), COMMAND)
