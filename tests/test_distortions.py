"""The paper's affine distortions: exact on the identity and on whole-pixel shifts, a point lands
where the forward map says, parameters stay in their stated ranges and follow the seed."""

from __future__ import annotations

import pytest
import torch

from lenetlab.distortions import (
    DistortionRanges,
    distort,
    forward_maps,
    sample_params,
    warp,
)

IDENTITY = [0.0, 0.0, 1.0, 1.0, 0.0]


def params(*rows: list[float]) -> torch.Tensor:
    return torch.tensor(rows, dtype=torch.float32)


def test_identity_leaves_images_unchanged():
    x = torch.rand(3, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(warp(x, params(*[IDENTITY] * 3)), x, atol=1e-5, rtol=0)


@pytest.mark.parametrize(("dx", "dy"), [(1, 0), (0, 2), (-2, 1)])
def test_whole_pixel_shift_moves_the_image_and_fills_background(dx, dy):
    x = torch.rand(1, 1, 28, 28, generator=torch.Generator().manual_seed(1))
    out = warp(x, params([dx, dy, 1.0, 1.0, 0.0]))
    expected = torch.zeros_like(x)
    src = x[..., max(0, -dy) : 28 - max(0, dy), max(0, -dx) : 28 - max(0, dx)]
    expected[..., max(0, dy) : 28 - max(0, -dy), max(0, dx) : 28 - max(0, -dx)] = src
    torch.testing.assert_close(out, expected, atol=1e-5, rtol=0)


def blob(cx: float, cy: float, size: int = 28, sigma: float = 1.2) -> torch.Tensor:
    """A Gaussian spot centred at (cx, cy) pixels from the image centre (x right, y down)."""
    coords = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
    g = torch.exp(-((coords.view(1, -1) - cx) ** 2 + (coords.view(-1, 1) - cy) ** 2)
                  / (2 * sigma**2))
    return g.view(1, 1, size, size)


def centroid(image: torch.Tensor) -> torch.Tensor:
    size = image.shape[-1]
    coords = torch.arange(size, dtype=image.dtype) - (size - 1) / 2
    w = image[0, 0] / image.sum()
    return torch.stack([(w.sum(0) * coords).sum(), (w.sum(1) * coords).sum()])


@pytest.mark.parametrize("p", [
    [0.0, 0.0, 1.1, 1.0, 0.0],  # scale
    [0.0, 0.0, 1.0, 0.85, 0.0],  # squeeze
    [0.0, 0.0, 1.0, 1.0, 0.25],  # horizontal shear
    [1.5, -1.0, 0.9, 1.15, -0.2],  # everything at once
])
def test_a_spot_moves_where_the_forward_map_sends_it(p):
    point = torch.tensor([3.0, -4.0], dtype=torch.float64)
    image = blob(*point.tolist())
    p = torch.tensor([p], dtype=torch.float64)
    moved = forward_maps(p)[0] @ point + p[0, :2]
    got = centroid(warp(image, p))
    torch.testing.assert_close(got, moved, atol=0.05, rtol=0)


def test_horizontal_shear_keeps_rows():
    """x' = x + k·y: a spot on the centre row does not move; one below it moves right."""
    shear = torch.tensor([[0.0, 0.0, 1.0, 1.0, 0.25]], dtype=torch.float64)
    torch.testing.assert_close(centroid(warp(blob(0, 0), shear)),
                               torch.zeros(2, dtype=torch.float64), atol=1e-6, rtol=0)
    assert centroid(warp(blob(0, 6), shear))[0] == pytest.approx(1.5, abs=0.05)


def test_forward_maps_have_the_determinant_of_the_scale():
    """Squeezing and shearing keep the area; only the isotropic scale changes it."""
    p = sample_params(100, torch.Generator().manual_seed(0))
    torch.testing.assert_close(torch.linalg.det(forward_maps(p)), p[:, 2] ** 2)


def test_params_stay_in_their_ranges_and_follow_the_seed():
    r = DistortionRanges(shift=1.5, scale=0.2, squeeze=0.1, shear=0.3)
    p = sample_params(5000, torch.Generator().manual_seed(3), r)
    low = torch.tensor([-1.5, -1.5, 0.8, 0.9, -0.3])
    high = torch.tensor([1.5, 1.5, 1.2, 1.1, 0.3])
    assert ((p >= low) & (p <= high)).all()
    assert (p.min(0).values < low + 0.05 * (high - low)).all()  # the ranges are used in full
    assert (p.max(0).values > high - 0.05 * (high - low)).all()
    again = sample_params(5000, torch.Generator().manual_seed(3), r)
    assert torch.equal(p, again)
    assert not torch.equal(p, sample_params(5000, torch.Generator().manual_seed(4), r))


def test_distort_keeps_shape_dtype_and_pixel_range():
    x = torch.rand(7, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    out = distort(x, torch.Generator().manual_seed(0))
    assert out.shape == x.shape and out.dtype == x.dtype
    assert out.min() >= 0 and out.max() <= 1
    assert not torch.allclose(out, x)


@pytest.mark.parametrize("kwargs", [{"shift": -1.0}, {"scale": 1.0}, {"squeeze": 1.5}])
def test_bad_ranges_are_refused(kwargs):
    with pytest.raises(ValueError):
        DistortionRanges(**kwargs)


def test_non_square_images_are_refused():
    with pytest.raises(ValueError, match="square"):
        warp(torch.zeros(1, 1, 28, 30), params(IDENTITY))
