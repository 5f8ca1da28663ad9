"""The document's image operators as real convolution layers (SPEC P1 and P3).

Finite differences are a 2×2 convolution with two output channels, and BT.601 grayscale is a
1×1 convolution: the point of both exercises is that these classic operators are ordinary layers
with fixed weights. The factories return `nn.Conv2d` modules (frozen, no bias); the functions
around them accept one image or a batch on any device and keep floating dtypes.
"""

from __future__ import annotations

import torch
from torch import nn

# Cross-correlation kernels (PyTorch semantics, out[i, j] = Σ w[a, b]·x[i + a, j + b]).
VERTICAL = ((-1.0, 0.0), (1.0, 0.0))  # X[i+1, j] − X[i, j], numpy.diff(axis=0)
HORIZONTAL = ((-1.0, 1.0), (0.0, 0.0))  # X[i, j+1] − X[i, j], numpy.diff(axis=1)

# ITU-R BT.601 luma weights for (R, G, B); Pillow's convert("L") uses them in fixed point.
BT601 = (0.299, 0.587, 0.114)


def finite_difference_conv(
    dtype: torch.dtype = torch.float32, device: torch.device | str | None = None
) -> nn.Conv2d:
    """Conv2d(1→2, 2×2, no bias): channel 0 the vertical, channel 1 the horizontal difference.

    An m×n image gives two (m−1)×(n−1) maps; the weights are frozen (requires_grad False).
    """
    conv = nn.Conv2d(1, 2, 2, bias=False, device=device, dtype=dtype)
    with torch.no_grad():
        conv.weight.copy_(torch.tensor([[VERTICAL], [HORIZONTAL]], dtype=dtype))
    conv.weight.requires_grad_(False)
    return conv


def grayscale_conv(
    dtype: torch.dtype = torch.float32, device: torch.device | str | None = None
) -> nn.Conv2d:
    """Conv2d(3→1, 1×1, no bias) with the BT.601 weights: Y = 0.299 R + 0.587 G + 0.114 B."""
    conv = nn.Conv2d(3, 1, 1, bias=False, device=device, dtype=dtype)
    with torch.no_grad():
        conv.weight.copy_(torch.tensor(BT601, dtype=dtype).view(1, 3, 1, 1))
    conv.weight.requires_grad_(False)
    return conv


def _floating(x: torch.Tensor) -> torch.Tensor:
    """Floating tensors pass unchanged; integers go to float64 (exact below 2**53), because
    differences of unsigned pixels are negative and CUDA has no integer convolution."""
    return x if x.is_floating_point() else x.to(torch.float64)


def finite_differences(image: torch.Tensor) -> torch.Tensor:
    """The vertical and horizontal differences of grayscale images.

    [H, W] → [2, H−1, W−1]; [N, H, W] or [N, 1, H, W] → [N, 2, H−1, W−1].
    """
    x = _floating(image)
    if x.ndim < 2 or (x.ndim == 4 and x.shape[1] != 1) or x.ndim > 4:
        raise ValueError(f"expected [H, W], [N, H, W] or [N, 1, H, W], got {list(x.shape)}")
    if x.shape[-1] < 2 or x.shape[-2] < 2:
        raise ValueError(f"finite differences need at least 2×2 pixels, got {list(x.shape)}")
    conv = finite_difference_conv(x.dtype, x.device)
    if x.ndim == 2:
        return conv(x[None])  # [1, H, W] → [2, H−1, W−1]
    if x.ndim == 3:
        x = x[:, None]  # [N, H, W] → [N, 1, H, W]
    return conv(x)  # [N, 2, H−1, W−1]


def gradient_magnitude(differences: torch.Tensor) -> torch.Tensor:
    """√(Y1² + Y2²) from `finite_differences`' output: [..., 2, h, w] → [..., h, w]."""
    if differences.ndim < 3 or differences.shape[-3] != 2:
        raise ValueError(f"expected [..., 2, h, w], got {list(differences.shape)}")
    return torch.linalg.vector_norm(differences, dim=-3)


def to_grayscale(rgb: torch.Tensor) -> torch.Tensor:
    """BT.601 luma of RGB images, on the input's scale: [3, H, W] → [H, W], [N, 3, H, W] →
    [N, H, W]."""
    x = _floating(rgb)
    if x.ndim not in (3, 4) or x.shape[-3] != 3:
        raise ValueError(f"expected [3, H, W] or [N, 3, H, W], got {list(x.shape)}")
    return grayscale_conv(x.dtype, x.device)(x).squeeze(-3)  # [..., 1, H, W] → [..., H, W]
