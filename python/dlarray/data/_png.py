"""A minimal PNG encoder (zlib + struct, numpy only).

Used to save digit grids and the training-progress plots without depending on
matplotlib or Pillow, neither of which the project requires.
"""

from __future__ import annotations

import struct
import zlib

import numpy as np

_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_COLOR_TYPE = {1: 0, 3: 2, 4: 6}  # channels -> PNG colour type (gray, RGB, RGBA)


def _chunk(kind: bytes, payload: bytes) -> bytes:
    crc = zlib.crc32(kind + payload) & 0xFFFFFFFF
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)


def _to_uint8(image) -> np.ndarray:
    """Accept uint8 as is; scale floats in [0, 1] to 0..255 (clipping outliers)."""
    a = np.asarray(image)
    if a.dtype == np.uint8:
        return a
    if a.dtype == np.bool_:
        return a.astype(np.uint8) * 255
    if np.issubdtype(a.dtype, np.floating):
        return (np.clip(np.nan_to_num(a), 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    return np.clip(a, 0, 255).astype(np.uint8)


def encode_png(image, compress_level: int = 6) -> bytes:
    """Encode an image as PNG bytes.

    ``image`` is (H, W) grayscale, or (H, W, 3) RGB, or (H, W, 4) RGBA; uint8, or
    floats in [0, 1].
    """
    a = _to_uint8(image)
    if a.ndim == 2:
        a = a[:, :, None]
    if a.ndim != 3 or a.shape[2] not in _COLOR_TYPE:
        raise ValueError(
            f"encode_png: expected (H, W), (H, W, 3) or (H, W, 4) image, got shape {a.shape}")
    height, width, channels = a.shape
    if height == 0 or width == 0:
        raise ValueError(f"encode_png: empty image of shape {a.shape}")
    # Each scanline is prefixed by filter type 0 (None): simplest, zlib does the work.
    rows = np.concatenate(
        [np.zeros((height, 1), np.uint8),
         np.ascontiguousarray(a).reshape(height, width * channels)], axis=1)
    header = struct.pack(">IIBBBBB", width, height, 8, _COLOR_TYPE[channels], 0, 0, 0)
    return (_SIGNATURE
            + _chunk(b"IHDR", header)
            + _chunk(b"IDAT", zlib.compress(rows.tobytes(), compress_level))
            + _chunk(b"IEND", b""))


def write_png(path, image, compress_level: int = 6) -> None:
    """Write ``image`` (see :func:`encode_png`) to ``path`` as a PNG file."""
    data = encode_png(image, compress_level)
    with open(path, "wb") as f:
        f.write(data)


def image_grid(images, ncols: int, pad: int = 1, pad_value: float = 0.5,
               scale: int = 1) -> np.ndarray:
    """Tile images (N, H, W) into one (rows*H, ncols*W) picture with padding.

    ``scale`` enlarges each pixel into a scale x scale block (nearest neighbour), which
    makes 28x28 digits easy to look at.
    """
    imgs = np.asarray(images, dtype=np.float32)
    n, h, w = imgs.shape
    nrows = -(-n // ncols)
    canvas = np.full((nrows * (h + pad) + pad, ncols * (w + pad) + pad), pad_value,
                     np.float32)
    for k in range(n):
        r, c = divmod(k, ncols)
        top, left = pad + r * (h + pad), pad + c * (w + pad)
        canvas[top:top + h, left:left + w] = imgs[k]
    if scale > 1:
        canvas = np.repeat(np.repeat(canvas, scale, axis=0), scale, axis=1)
    return canvas
