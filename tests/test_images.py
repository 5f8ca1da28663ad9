"""Image files in (every Pillow mode we promise) and out, and the errors for bad files."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from lenetlab.errors import ImageError
from lenetlab.images import (
    find_images,
    open_image,
    png_bytes,
    read_rgb,
    signed_to_uint8,
    to_uint8,
    write_png,
)


def save(img: Image.Image, path, fmt: str = "PNG", **kwargs):
    img.save(path, format=fmt, **kwargs)
    return path


def rgb_of(path) -> np.ndarray:
    """read_rgb as [H, W, 3] for comparison with Pillow arrays."""
    return read_rgb(path).permute(1, 2, 0).numpy()


def test_rgb_png_is_read_exactly(tmp_path):
    pixels = np.random.default_rng(0).integers(0, 256, (5, 7, 3), dtype=np.uint8)
    x = read_rgb(save(Image.fromarray(pixels), tmp_path / "a.png"))
    assert x.dtype.is_floating_point and x.shape == (3, 5, 7)
    np.testing.assert_array_equal(x.permute(1, 2, 0).numpy(), pixels)


def test_jpeg_is_read(tmp_path):
    pixels = np.full((8, 8, 3), (200, 100, 50), dtype=np.uint8)
    x = rgb_of(save(Image.fromarray(pixels), tmp_path / "a.jpg", "JPEG", quality=95))
    assert np.abs(x - pixels).max() <= 3  # lossy, but close


def test_rgba_is_composited_over_white(tmp_path):
    rgba = np.array([[[10, 20, 30, 255], [10, 20, 30, 0], [0, 0, 0, 51]]], dtype=np.uint8)
    x = rgb_of(save(Image.fromarray(rgba, "RGBA"), tmp_path / "a.png"))
    np.testing.assert_allclose(x[0, 0], [10, 20, 30])  # opaque: its colour
    np.testing.assert_allclose(x[0, 1], [255, 255, 255])  # transparent: the background
    np.testing.assert_allclose(x[0, 2], [204, 204, 204], atol=1e-4)  # 20% black over white


def test_palette_image_gives_its_colours(tmp_path):
    pixels = np.random.default_rng(1).integers(0, 256, (6, 6, 3), dtype=np.uint8)
    palette = Image.fromarray(pixels).quantize(colors=8)
    assert palette.mode == "P"
    x = rgb_of(save(palette, tmp_path / "a.png"))
    np.testing.assert_array_equal(x, np.asarray(palette.convert("RGB")))


def test_palette_transparency_is_composited(tmp_path):
    img = Image.new("P", (2, 1))
    img.putpalette([255, 0, 0, 0, 0, 255] + [0] * 762)
    img.putdata([0, 1])
    x = rgb_of(save(img, tmp_path / "a.png", transparency=1))
    np.testing.assert_array_equal(x[0], [[255, 0, 0], [255, 255, 255]])


def test_16_bit_greyscale_is_scaled_to_0_255(tmp_path):
    deep = np.array([[0, 257, 32896, 65535]], dtype=np.uint16)
    img = Image.fromarray(deep)
    assert img.mode.startswith("I")
    x = rgb_of(save(img, tmp_path / "a.png"))
    np.testing.assert_allclose(x[..., 0], [[0, 1, 128, 255]])
    np.testing.assert_array_equal(x[..., 0], x[..., 2])  # grey stays grey


@pytest.mark.parametrize("mode", ["L", "1", "LA", "CMYK"])
def test_other_modes_are_read(tmp_path, mode):
    img = Image.new(mode, (4, 3))
    fmt = "TIFF" if mode == "CMYK" else "PNG"
    x = read_rgb(save(img, tmp_path / f"a.{fmt.lower()}", fmt))
    assert x.shape == (3, 3, 4)
    assert x.min() >= 0 and x.max() <= 255


NOISE_PNG = png_bytes(np.random.default_rng(2).integers(0, 256, (40, 40), dtype=np.uint8))


@pytest.mark.parametrize(("content", "message"), [
    (b"", "empty file"),
    (b"definitely not an image", "not an image format"),
    (NOISE_PNG[: len(NOISE_PNG) // 2], "unreadable image"),
], ids=["empty", "garbage", "truncated"])
def test_bad_files_raise_image_error_naming_the_file(tmp_path, content, message):
    path = tmp_path / "bad.png"
    path.write_bytes(content)
    with pytest.raises(ImageError, match=message) as info:
        open_image(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_missing_file_raises_image_error(tmp_path):
    with pytest.raises(ImageError, match="no such file"):
        read_rgb(tmp_path / "nothing.png")


def test_folders_expand_to_their_images_sorted(tmp_path):
    for name in ("b.png", "a.JPG", "notes.txt"):
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / "sub").mkdir()
    single = tmp_path / "sub" / "c.png"
    single.write_bytes(b"x")
    assert find_images([tmp_path, single]) == [tmp_path / "a.JPG", tmp_path / "b.png", single]


def test_empty_folder_and_missing_path_are_errors(tmp_path):
    with pytest.raises(ImageError, match="no image files"):
        find_images([tmp_path])
    with pytest.raises(ImageError, match="no such file or folder"):
        find_images([tmp_path / "missing"])


def test_signed_values_map_zero_to_mid_grey():
    d = np.array([-255, -2, 0, 2, 100, 255, 300])
    assert signed_to_uint8(d).tolist() == [0, 127, 128, 129, 178, 255, 255]
    assert to_uint8(np.array([-3.0, 0.4, 0.6, 254.5, 999])).tolist() == [0, 0, 1, 254, 255]


def test_png_round_trip(tmp_path):
    grey = np.arange(12, dtype=np.uint8).reshape(3, 4)
    write_png(tmp_path / "out" / "g.png", grey)
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "out" / "g.png")), grey)
    rgb = np.asarray(Image.open(io.BytesIO(png_bytes(np.zeros((2, 3, 3), np.uint8)))))
    assert rgb.shape == (2, 3, 3)
    with pytest.raises(ValueError):
        png_bytes(grey.astype(np.float32))
