"""P1 and P3 on a real image: grayscale by a 1×1 convolution, finite differences by a 2×2 one,
and the checks against numpy.diff and Pillow's own grayscale."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image

from lenetlab.devices import resolve_device
from lenetlab.images import png_bytes, signed_to_uint8, to_uint8
from lenetlab.ops import finite_differences, gradient_magnitude, to_grayscale

WORKED_PIXEL = (100, 200, 100)  # the document's example: grayscale 158.7


@dataclass(frozen=True)
class FiltersConfig:
    device: str = "auto"


@dataclass
class FilterMaps:
    gray: np.ndarray  # float32 [H, W], 0–255
    vertical: np.ndarray  # float32 [H−1, W−1], X[i+1, j] − X[i, j]
    horizontal: np.ndarray  # float32 [H−1, W−1], X[i, j+1] − X[i, j]
    magnitude: np.ndarray  # float32 [H−1, W−1], √(vertical² + horizontal²)

    def pngs(self) -> dict[str, bytes]:
        """8-bit PNGs: grey levels as they are, differences at 128 + d/2 (zero is mid-grey),
        the magnitude clipped at 255 (only where both differences are large)."""
        return {
            "gray": png_bytes(to_uint8(self.gray)),
            "vertical": png_bytes(signed_to_uint8(self.vertical)),
            "horizontal": png_bytes(signed_to_uint8(self.horizontal)),
            "magnitude": png_bytes(to_uint8(self.magnitude)),
        }


def run(rgb: torch.Tensor, config: FiltersConfig = FiltersConfig()) -> FilterMaps:
    """The maps of one image, float32 [3, H, W] on 0–255 (as `images.read_rgb` gives it)."""
    device = resolve_device(config.device)
    with torch.no_grad():
        gray = to_grayscale(rgb.to(device))  # [H, W]
        diffs = finite_differences(gray)  # [2, H−1, W−1]
        magnitude = gradient_magnitude(diffs)  # [H−1, W−1]
    gray, diffs, magnitude = (t.cpu().numpy() for t in (gray, diffs, magnitude))
    return FilterMaps(gray, diffs[0], diffs[1], magnitude)


@dataclass
class PhotoChecks:
    """How exactly the layers reproduce their references on one photo."""

    shape: tuple[int, int]  # H, W of the photo
    diff_max_error: float  # max |conv − numpy.diff| on the photo's 8-bit grayscale
    pillow_max_error: int  # max |round(ours) − Pillow convert("L")|, grey levels
    pillow_differing: int  # pixels where the two grey levels differ
    worked_example: float  # grayscale of WORKED_PIXEL


def worked_example() -> float:
    """The document's pixel (100, 200, 100) through the 1×1 layer: 158.7."""
    pixel = torch.tensor(WORKED_PIXEL, dtype=torch.float64).view(3, 1, 1)
    return float(to_grayscale(pixel)[0, 0])


def check_photo(rgb: torch.Tensor, config: FiltersConfig = FiltersConfig()) -> PhotoChecks:
    """Compare the layers with numpy.diff and Pillow on an 8-bit RGB photo [3, H, W]."""
    device = resolve_device(config.device)
    rgb8 = rgb.round().clamp(0, 255).to(torch.uint8)
    with torch.no_grad():
        ours = to_grayscale(rgb8.to(device, torch.float32)).round().cpu().numpy()
    pillow = np.asarray(Image.fromarray(rgb8.permute(1, 2, 0).numpy()).convert("L"))
    gray8 = pillow.astype(np.int64)  # an integer image to difference
    with torch.no_grad():
        diffs = finite_differences(torch.from_numpy(gray8).to(device)).cpu().numpy()
    reference = np.stack([np.diff(gray8, axis=0)[:, :-1], np.diff(gray8, axis=1)[:-1, :]])
    gap = np.abs(ours - pillow)
    return PhotoChecks(
        shape=tuple(gray8.shape),
        diff_max_error=float(np.abs(diffs - reference).max()),
        pillow_max_error=int(gap.max()),
        pillow_differing=int((gap != 0).sum()),
        worked_example=worked_example(),
    )

