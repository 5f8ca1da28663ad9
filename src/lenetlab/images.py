"""Image files in and out through Pillow: any format it reads becomes an RGB tensor on the 0–255
scale, and maps leave as 8-bit PNGs.

Every failure to read (missing, empty, truncated or not an image at all) is an `ImageError` that
names the file, so that the CLI prints one line instead of a Pillow traceback.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from lenetlab.data.idx import atomic_write_bytes
from lenetlab.errors import ImageError

# Greyscale modes deeper than 8 bits, and the divisor that brings them to 0–255. Pillow opens
# 16-bit PNG and TIFF as "I;16*" (older releases as "I"); "F" is taken to be on 0–255 already.
DEEP_GREY = {"I;16": 257.0, "I;16L": 257.0, "I;16B": 257.0, "I;16N": 257.0, "I": 257.0, "F": 1.0}
ALPHA_MODES = {"RGBA", "RGBa", "LA", "La", "PA"}


def image_suffixes() -> set[str]:
    """Lower-case file suffixes of every format this Pillow can open (".png", ".jpg", ...)."""
    Image.init()
    return {suffix for suffix, fmt in Image.registered_extensions().items() if fmt in Image.OPEN}


def find_images(paths: Iterable[str | os.PathLike]) -> list[Path]:
    """Files as given, folders expanded to their image files (by suffix, sorted, not recursive)."""
    suffixes = image_suffixes()
    found = []
    for path in map(Path, paths):
        if path.is_dir():
            images = sorted(p for p in path.iterdir()
                            if p.is_file() and p.suffix.lower() in suffixes)
            if not images:
                raise ImageError(f"{path}: folder holds no image files")
            found += images
        elif path.exists():
            found.append(path)
        else:
            raise ImageError(f"{path}: no such file or folder")
    return found


def open_image(path: str | os.PathLike) -> Image.Image:
    """The first frame of an image file, decoded in full (so that truncation shows up here)."""
    path = Path(path)
    if not path.is_file():
        raise ImageError(f"{path}: no such file")
    if path.stat().st_size == 0:
        raise ImageError(f"{path}: empty file, not an image")
    try:
        with Image.open(path) as img:
            img.load()
            return img
    except UnidentifiedImageError:
        raise ImageError(f"{path}: not an image format Pillow can read") from None
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise ImageError(f"{path}: unreadable image ({exc})") from None


def rgb_array(img: Image.Image) -> np.ndarray:
    """float32 [H, W, 3] on 0–255 from any Pillow mode.

    Deep greyscale is scaled down (not clipped), transparency is composited over white (a fully
    transparent pixel has no colour of its own), palettes and other colour spaces go through
    Pillow's own conversion.
    """
    if img.mode in DEEP_GREY:
        grey = np.asarray(img, dtype=np.float32) / DEEP_GREY[img.mode]  # [H, W]
        return np.repeat(grey[..., None], 3, axis=2)
    if img.mode in ALPHA_MODES or "transparency" in img.info:
        rgba = np.asarray(img.convert("RGBA"), dtype=np.float32)  # [H, W, 4]
        alpha = rgba[..., 3:] / 255.0
        return rgba[..., :3] * alpha + 255.0 * (1.0 - alpha)
    return np.asarray(img.convert("RGB"), dtype=np.float32)


def read_rgb(path: str | os.PathLike) -> torch.Tensor:
    """An image file as float32 [3, H, W] on 0–255 (ImageError when it cannot be read)."""
    return torch.from_numpy(np.ascontiguousarray(rgb_array(open_image(path)).transpose(2, 0, 1)))


def to_uint8(values: np.ndarray) -> np.ndarray:
    """Round and clip to 0–255 for an 8-bit image."""
    return np.clip(np.round(values), 0, 255).astype(np.uint8)


def signed_to_uint8(values: np.ndarray) -> np.ndarray:
    """Signed values (a difference, −255…255) as grey levels with zero at mid-grey 128:
    level = 128 + v/2, rounded and clipped."""
    return to_uint8(128.0 + np.asarray(values, dtype=np.float64) / 2.0)


def png_bytes(array: np.ndarray) -> bytes:
    """uint8 [H, W] (grey) or [H, W, 3] (RGB) as PNG file contents."""
    if array.dtype != np.uint8 or array.ndim not in (2, 3):
        raise ValueError(f"expected uint8 [H, W] or [H, W, 3], got {array.dtype} {array.shape}")
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format="PNG")
    return buf.getvalue()


def write_png(path: str | os.PathLike, array: np.ndarray) -> None:
    """Write an 8-bit image as PNG, atomically."""
    atomic_write_bytes(path, png_bytes(array))
