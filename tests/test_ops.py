"""The operators of P1 and P3 against their oracles: numpy.diff (exact) and Pillow (1 level)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import skimage
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from PIL import Image
from torch import nn

from lenetlab.ops import (
    finite_difference_conv,
    finite_differences,
    gradient_magnitude,
    grayscale_conv,
    to_grayscale,
)

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
PHOTOS = ("astronaut.png", "coffee.png", "chelsea.png")
SKIMAGE_DATA = Path(skimage.__file__).parent / "data"

int_images = arrays(np.int64, st.tuples(st.integers(2, 24), st.integers(2, 24)),
                    elements=st.integers(-100_000, 100_000))
rgb_images = arrays(np.uint8, st.tuples(st.integers(1, 16), st.integers(1, 16), st.just(3)))


def numpy_diffs(image: np.ndarray) -> np.ndarray:
    """The oracle: numpy.diff along each axis, cropped to (m−1)×(n−1)."""
    return np.stack([np.diff(image, axis=0)[:, :-1], np.diff(image, axis=1)[:-1, :]])


def pillow_gray(rgb: np.ndarray) -> np.ndarray:
    return np.asarray(Image.fromarray(rgb).convert("L"), dtype=np.int64)


def our_gray(rgb: np.ndarray) -> np.ndarray:
    """uint8 [H, W, 3] → rounded grey levels [H, W] through the 1×1 layer (float32)."""
    x = torch.tensor(rgb).permute(2, 0, 1).float()  # [3, H, W]
    return to_grayscale(x).round().numpy().astype(np.int64)


def test_finite_difference_layer_is_a_plain_conv2d():
    conv = finite_difference_conv()
    assert isinstance(conv, nn.Conv2d)
    assert (conv.in_channels, conv.out_channels, conv.kernel_size) == (1, 2, (2, 2))
    assert conv.bias is None and not conv.weight.requires_grad
    assert conv.weight.tolist() == [[[[-1, 0], [1, 0]]], [[[-1, 1], [0, 0]]]]


def test_grayscale_layer_is_a_plain_conv2d():
    conv = grayscale_conv(torch.float64)
    assert (conv.in_channels, conv.out_channels, conv.kernel_size) == (3, 1, (1, 1))
    assert conv.bias is None
    assert conv.weight.flatten().tolist() == [0.299, 0.587, 0.114]


@settings(max_examples=60, deadline=None)
@given(int_images)
def test_finite_differences_equal_numpy_diff_exactly(image):
    ours = finite_differences(torch.from_numpy(image))  # int64 → float64, exact
    assert ours.dtype == torch.float64
    np.testing.assert_array_equal(ours.numpy(), numpy_diffs(image))


@settings(max_examples=30, deadline=None)
@given(arrays(np.uint8, st.tuples(st.integers(2, 24), st.integers(2, 24))))
def test_finite_differences_are_exact_in_float32_on_8_bit_images(image):
    ours = finite_differences(torch.from_numpy(image).float())
    assert ours.dtype == torch.float32
    np.testing.assert_array_equal(ours.numpy(), numpy_diffs(image.astype(np.int64)))


def test_the_layer_itself_on_a_batch_matches_the_oracle():
    images = np.random.default_rng(0).integers(0, 256, (5, 1, 9, 13))
    out = finite_difference_conv(torch.float64)(torch.from_numpy(images).double())
    assert out.shape == (5, 2, 8, 12)
    for n in range(5):
        np.testing.assert_array_equal(out[n].numpy(), numpy_diffs(images[n, 0]))


def test_single_images_and_both_batch_layouts_agree():
    x = torch.randn(4, 7, 6)
    batch = finite_differences(x)  # [N, H, W]
    assert batch.shape == (4, 2, 6, 5)
    assert torch.equal(finite_differences(x[:, None]), batch)  # [N, 1, H, W]
    assert torch.equal(finite_differences(x[2]), batch[2])  # [H, W]


def test_gradient_magnitude_is_the_euclidean_norm_of_both_differences():
    image = np.random.default_rng(1).integers(0, 256, (10, 12)).astype(np.float64)
    magnitude = gradient_magnitude(finite_differences(torch.from_numpy(image))).numpy()
    dy, dx = numpy_diffs(image)
    np.testing.assert_allclose(magnitude, np.hypot(dy, dx), rtol=1e-15)
    batch = gradient_magnitude(finite_differences(torch.from_numpy(image)[None]))
    assert batch.shape == (1, 9, 11)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32, torch.float64])
@pytest.mark.parametrize("device", DEVICES)
def test_floating_dtypes_and_devices_are_kept(dtype, device):
    gray = torch.randint(0, 100, (3, 5, 6), device=device).to(dtype)
    diffs = finite_differences(gray)
    rgb = torch.randint(0, 100, (2, 3, 5, 6), device=device).to(dtype)
    for out in (diffs, gradient_magnitude(diffs), to_grayscale(rgb)):
        assert out.dtype == dtype and out.device.type == device
    expected = numpy_diffs(gray[0].cpu().double().numpy())  # small integers: exact in any dtype
    np.testing.assert_array_equal(diffs[0].cpu().double().numpy(), expected)


@pytest.mark.parametrize("device", DEVICES)
def test_worked_example_is_158_7(device):
    pixel = torch.tensor([100.0, 200.0, 100.0], dtype=torch.float64, device=device)
    assert to_grayscale(pixel.view(3, 1, 1)).item() == pytest.approx(158.7, abs=1e-12)


@pytest.mark.parametrize("name", PHOTOS)
def test_grayscale_agrees_with_pillow_on_real_photos(name):
    rgb = np.asarray(Image.open(SKIMAGE_DATA / name).convert("RGB"))
    gap = np.abs(our_gray(rgb) - pillow_gray(rgb))
    assert gap.max() <= 1
    assert (gap == 0).mean() > 0.9  # Pillow rounds the same sum in fixed point


@settings(max_examples=60, deadline=None)
@given(rgb_images)
def test_grayscale_agrees_with_pillow_on_random_images(rgb):
    assert np.abs(our_gray(rgb) - pillow_gray(rgb)).max() <= 1


def test_grayscale_works_on_a_batch():
    rgb = torch.rand(3, 3, 8, 5) * 255
    batch = to_grayscale(rgb)
    assert batch.shape == (3, 8, 5)
    torch.testing.assert_close(batch[1], to_grayscale(rgb[1]))
    expected = torch.einsum("c,nchw->nhw", torch.tensor([0.299, 0.587, 0.114]), rgb)
    torch.testing.assert_close(batch, expected)


@pytest.mark.parametrize("bad", [
    lambda: finite_differences(torch.zeros(5)),
    lambda: finite_differences(torch.zeros(2, 3, 4, 4)),  # three channels, not one
    lambda: finite_differences(torch.zeros(1, 5)),  # a single row has no vertical difference
    lambda: gradient_magnitude(torch.zeros(3, 4, 4)),
    lambda: to_grayscale(torch.zeros(4, 5, 5)),
])
def test_wrong_shapes_are_refused(bad):
    with pytest.raises(ValueError):
        bad()
