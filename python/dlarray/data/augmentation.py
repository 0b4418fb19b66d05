"""MATLAB's ``imageDataAugmenter``: random affine transforms of images, and the resampler
that applies them.

Each image gets one affine matrix, composed of MATLAB's steps in MATLAB's order and about
the image centre: rotation, shear, scale, reflection, then translation. The values are drawn
in MATLAB's order, each with one uniform draw from ``rng``'s generator (``rand`` in MATLAB),
so ``rng(seed)`` repeats an augmentation.

Geometry (0-based pixel centres, x to the right along columns, y down along rows, the
centre at ``((W - 1) / 2, (H - 1) / 2)``):

* rotation by ``a`` degrees maps ``(x, y)`` to ``(x cos a + y sin a, -x sin a + y cos a)``
  about the centre: a positive angle turns the image counterclockwise on screen, as
  ``numpy.rot90`` and MATLAB's ``imrotate`` do;
* shear ``(sx, sy)`` degrees: ``x + tan(sx) y``, ``tan(sy) x + y``; scale multiplies x and y;
  a reflection negates x (left-right) or y (up-down); translation adds pixels.

The output has the input's size (MATLAB's ``OutputView="same"``). Resampling is bilinear;
points that fall outside the image take ``fill_value``, and within one pixel of its edge
blend towards it (the image is padded with ``fill_value``, as MATLAB's ``imwarp`` does).
"""

from __future__ import annotations

import math
from typing import Any, Callable, Optional, Tuple, Union

import numpy as np

from .. import _random
from .._arguments import show
from .._core import OptionError, ShapeError
from .._matlab_names import MatlabProperties, accept_matlab_names

__all__ = ["imageDataAugmenter"]

Range = Union[Tuple[float, float], Callable[[], float]]


def _range(value: Any, name: str, default: Tuple[float, float], *, positive: bool = False, limit: Optional[float] = None) -> Range:
    """A MATLAB range option: two numbers ``(low, high)`` with low <= high, or a function
    of no arguments returning one value per image (MATLAB's function handle)."""
    who = "imageDataAugmenter"
    if value is None:
        return default
    if callable(value):
        return value
    if isinstance(value, (str, bytes)):
        raise OptionError(f"{who}: {name} must be two numbers (low, high) or a function, got {show(value)}")
    try:
        arr = np.asarray(value, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        raise OptionError(f"{who}: {name} must be two numbers (low, high) or a function, got {show(value)}") from None
    if arr.size != 2 or not np.all(np.isfinite(arr)):
        raise OptionError(f"{who}: {name} must be two finite numbers (low, high) or a function, got {show(value)}")
    if arr[0] > arr[1]:
        raise OptionError(f"{who}: {name} must be (low, high) with low <= high, got {show(value)}")
    if positive and arr[0] <= 0:
        raise OptionError(f"{who}: {name} must be positive, got {show(value)}")
    if limit is not None and (arr[0] <= -limit or arr[1] >= limit):
        raise OptionError(f"{who}: {name} must lie strictly between {-limit:g} and {limit:g} degrees, got {show(value)}")
    return (float(arr[0]), float(arr[1]))


def _draw(value: Range) -> float:
    if callable(value):
        return float(value())
    low, high = value
    # MATLAB draws diff(range) * rand + range(1), one rand even for an empty range.
    return (high - low) * float(_random.random(())) + low


def _about(matrix: np.ndarray, cx: float, cy: float) -> np.ndarray:
    """``matrix`` (3 x 3, acting on column vectors (x, y, 1)) applied about (cx, cy)."""
    to, back = np.eye(3), np.eye(3)
    to[:2, 2] = (-cx, -cy)
    back[:2, 2] = (cx, cy)
    return back @ matrix @ to


def affine_matrix(
    height: int,
    width: int,
    *,
    rotation: float = 0.0,
    x_shear: float = 0.0,
    y_shear: float = 0.0,
    x_scale: float = 1.0,
    y_scale: float = 1.0,
    x_reflection: float = 1.0,
    y_reflection: float = 1.0,
    x_translation: float = 0.0,
    y_translation: float = 0.0,
) -> np.ndarray:
    """The 3 x 3 forward transform (on column vectors ``(x, y, 1)``) of these values."""
    cx, cy = (width - 1) / 2.0, (height - 1) / 2.0
    a = math.radians(rotation)
    c, s = math.cos(a), math.sin(a)
    rot = np.array([[c, s, 0.0], [-s, c, 0.0], [0.0, 0.0, 1.0]])
    shear = np.array([[1.0, math.tan(math.radians(x_shear)), 0.0], [math.tan(math.radians(y_shear)), 1.0, 0.0], [0.0, 0.0, 1.0]])
    scale = np.diag([x_scale, y_scale, 1.0])
    reflect = np.diag([x_reflection, y_reflection, 1.0])
    move = np.eye(3)
    move[:2, 2] = (x_translation, y_translation)
    return move @ _about(reflect, cx, cy) @ _about(scale, cx, cy) @ _about(shear, cx, cy) @ _about(rot, cx, cy)


def _snap(v: np.ndarray) -> np.ndarray:
    # Coordinates a rounding error away from a pixel centre are that centre, so exact maps
    # (flips, quarter turns, whole-pixel shifts) copy pixels exactly.
    r = np.rint(v)
    return np.where(np.abs(v - r) < 1e-9, r, v)


def warp(image: np.ndarray, inverse: np.ndarray, out_size: Tuple[int, int], fill: Any) -> np.ndarray:
    """Resample ``image`` ((H, W) or (H, W, C)) bilinearly on an ``out_size`` grid whose pixel
    ``(x, y)`` comes from ``inverse @ (x, y, 1)`` in the image; points outside take ``fill``
    (a number or one per channel). The result keeps the image's dtype (integers rounded and
    clipped to their range)."""
    flat = image.ndim == 2
    src = image[:, :, None] if flat else image
    h, w, ch = src.shape
    oh, ow = out_size
    work = np.float64 if src.dtype == np.float64 else np.float32
    fill_values = np.broadcast_to(np.asarray(fill, dtype=work).reshape(-1), (ch,)) if np.size(fill) in (1, ch) else None
    if fill_values is None:
        raise ShapeError(f"imageDataAugmenter: fill_value has {np.size(fill)} values for an image of {ch} channels")
    padded = np.empty((h + 2, w + 2, ch), dtype=work)
    padded[...] = fill_values
    padded[1:-1, 1:-1] = src
    ys, xs = np.mgrid[0:oh, 0:ow]
    pts = inverse[:2, :2] @ np.stack([xs.ravel(), ys.ravel()]).astype(np.float64) + inverse[:2, 2:3]
    x = _snap(pts[0]) + 1.0  # into the padded image
    y = _snap(pts[1]) + 1.0
    inside = (x >= 0) & (x <= w + 1) & (y >= 0) & (y <= h + 1)
    x = np.clip(x, 0, w + 1)
    y = np.clip(y, 0, h + 1)
    x0 = np.minimum(np.floor(x), w).astype(np.intp)
    y0 = np.minimum(np.floor(y), h).astype(np.intp)
    fx = (x - x0).astype(work)[:, None]
    fy = (y - y0).astype(work)[:, None]
    top = padded[y0, x0] * (1 - fx) + padded[y0, x0 + 1] * fx
    bottom = padded[y0 + 1, x0] * (1 - fx) + padded[y0 + 1, x0 + 1] * fx
    values = top * (1 - fy) + bottom * fy
    values = np.where(inside[:, None], values, fill_values)
    out = values.reshape(oh, ow, ch)
    if image.dtype.kind in "iu":
        info = np.iinfo(image.dtype)
        out = np.clip(np.floor(out + 0.5), info.min, info.max)
    elif image.dtype.kind == "b":
        out = out >= 0.5
    out = out.astype(image.dtype, copy=False)
    return out[:, :, 0] if flat else out


class imageDataAugmenter(MatlabProperties):  # noqa: N801 - MATLAB's name
    """Random affine image augmentation (MATLAB's ``imageDataAugmenter``).

    Each range is ``(low, high)`` (a value is drawn uniformly per image) or a function of no
    arguments returning one value (MATLAB's function handle). Defaults are MATLAB's: the
    identity.

    Parameters
    ----------
    fill_value : value of points that fall outside the image (default 0; one per channel
        allowed).
    rand_x_reflection, rand_y_reflection : reflect left-right / up-down with probability 1/2.
    rand_rotation : rotation range in degrees (positive: counterclockwise on screen).
    rand_scale : one scale range for both axes; when given, ``rand_x_scale`` and
        ``rand_y_scale`` are ignored (as MATLAB).
    rand_x_scale, rand_y_scale : scale ranges (positive), default ``(1, 1)``.
    rand_x_shear, rand_y_shear : shear angle ranges in degrees, within (-90, 90).
    rand_x_translation, rand_y_translation : translation ranges in pixels.

    Used through ``augmentedImageDatastore(..., data_augmentation=aug)``, or directly with
    :meth:`augment`.

    Example
    -------
    >>> import numpy as np
    >>> from dlarray import imageDataAugmenter
    >>> aug = imageDataAugmenter(rand_x_reflection=True, rand_rotation=(-10, 10))
    >>> aug.rand_rotation
    (-10.0, 10.0)
    >>> flip = imageDataAugmenter(rand_x_reflection=True, rand_rotation=(0, 0))
    >>> img = np.arange(6, dtype=np.uint8).reshape(2, 3)
    >>> out = flip.augment(img)
    >>> bool(np.array_equal(out, img) or np.array_equal(out, img[:, ::-1]))
    True
    """

    def __init__(
        self,
        *,
        fill_value: Any = 0,
        rand_x_reflection: bool = False,
        rand_y_reflection: bool = False,
        rand_rotation: Any = None,
        rand_scale: Any = None,
        rand_x_scale: Any = None,
        rand_y_scale: Any = None,
        rand_x_shear: Any = None,
        rand_y_shear: Any = None,
        rand_x_translation: Any = None,
        rand_y_translation: Any = None,
    ):
        who = "imageDataAugmenter"
        fill = np.asarray(fill_value) if not isinstance(fill_value, (str, bytes)) else None
        if fill is None or fill.dtype.kind not in "biuf" or fill.ndim > 1 or fill.size < 1 or not np.all(np.isfinite(fill)):
            raise OptionError(f"{who}: fill_value must be a real number or one per channel, got {show(fill_value)}")
        for name, flag in (("rand_x_reflection", rand_x_reflection), ("rand_y_reflection", rand_y_reflection)):
            if not isinstance(flag, (bool, np.bool_)):
                raise OptionError(f"{who}: {name} must be True or False, got {show(flag)}")
        self._fill = float(fill) if fill.ndim == 0 else tuple(float(v) for v in fill)
        self._x_reflection = bool(rand_x_reflection)
        self._y_reflection = bool(rand_y_reflection)
        self._rotation = _range(rand_rotation, "rand_rotation", (0.0, 0.0))
        self._scale = None if rand_scale is None else _range(rand_scale, "rand_scale", (1.0, 1.0), positive=True)
        self._x_scale = _range(rand_x_scale, "rand_x_scale", (1.0, 1.0), positive=True)
        self._y_scale = _range(rand_y_scale, "rand_y_scale", (1.0, 1.0), positive=True)
        self._x_shear = _range(rand_x_shear, "rand_x_shear", (0.0, 0.0), limit=90.0)
        self._y_shear = _range(rand_y_shear, "rand_y_shear", (0.0, 0.0), limit=90.0)
        self._x_translation = _range(rand_x_translation, "rand_x_translation", (0.0, 0.0))
        self._y_translation = _range(rand_y_translation, "rand_y_translation", (0.0, 0.0))

    # MATLAB's properties, read-only -----------------------------------------------------
    @property
    def fill_value(self) -> Any:
        return self._fill

    @property
    def rand_x_reflection(self) -> bool:
        return self._x_reflection

    @property
    def rand_y_reflection(self) -> bool:
        return self._y_reflection

    @property
    def rand_rotation(self) -> Range:
        return self._rotation

    @property
    def rand_scale(self) -> Range:
        return (1.0, 1.0) if self._scale is None else self._scale

    @property
    def rand_x_scale(self) -> Range:
        return self._x_scale

    @property
    def rand_y_scale(self) -> Range:
        return self._y_scale

    @property
    def rand_x_shear(self) -> Range:
        return self._x_shear

    @property
    def rand_y_shear(self) -> Range:
        return self._y_shear

    @property
    def rand_x_translation(self) -> Range:
        return self._x_translation

    @property
    def rand_y_translation(self) -> Range:
        return self._y_translation

    @property
    def is_identity(self) -> bool:
        """True when every image is left as it is (MATLAB's default augmenter)."""
        ranges = [self._rotation, self._x_shear, self._y_shear, self._x_translation, self._y_translation]
        scales = [self._x_scale, self._y_scale] if self._scale is None else [self._scale]
        return (
            not (self._x_reflection or self._y_reflection)
            and all(not callable(r) and r == (0.0, 0.0) for r in ranges)
            and all(not callable(r) and r == (1.0, 1.0) for r in scales)
        )

    def random_matrix(self, height: int, width: int) -> np.ndarray:
        """A new random 3 x 3 forward transform for an image of ``height`` x ``width``
        (drawn in MATLAB's order; see the module notes)."""
        xr = (-1.0 if _random.random(()) < 0.5 else 1.0) if self._x_reflection else 1.0
        yr = (-1.0 if _random.random(()) < 0.5 else 1.0) if self._y_reflection else 1.0
        rotation = _draw(self._rotation)
        if self._scale is None:
            sx, sy = _draw(self._x_scale), _draw(self._y_scale)
        else:
            sx = sy = _draw(self._scale)
        shx, shy = _draw(self._x_shear), _draw(self._y_shear)
        tx, ty = _draw(self._x_translation), _draw(self._y_translation)
        return affine_matrix(
            height,
            width,
            rotation=rotation,
            x_shear=shx,
            y_shear=shy,
            x_scale=sx,
            y_scale=sy,
            x_reflection=xr,
            y_reflection=yr,
            x_translation=tx,
            y_translation=ty,
        )

    def augment(self, images: Any) -> Any:
        """Augment one image (``(H, W)`` or ``(H, W, C)``) or a list of them, each with its own
        random transform (MATLAB's ``augment``); the results keep the images' sizes and dtypes."""
        if isinstance(images, (list, tuple)):
            return [self.augment(i) for i in images]
        image = np.asarray(images)
        if image.ndim not in (2, 3) or image.dtype.kind not in "biuf":
            raise ShapeError(f"imageDataAugmenter.augment: expected a numeric (H, W) or (H, W, C) image, got {image.dtype} {image.shape}")
        h, w = image.shape[:2]
        forward = self.random_matrix(h, w)
        return warp(image, np.linalg.inv(forward), (h, w), self._fill)

    def __repr__(self) -> str:
        parts = [f"fill_value={self._fill!r}", f"rand_x_reflection={self._x_reflection}", f"rand_y_reflection={self._y_reflection}"]
        for name in ("rotation", "x_scale", "y_scale", "x_shear", "y_shear", "x_translation", "y_translation"):
            parts.append(f"rand_{name}={getattr(self, '_' + name)!r}")
        if self._scale is not None:
            parts.append(f"rand_scale={self._scale!r}")
        return f"imageDataAugmenter({', '.join(parts)})"


def _as_augmenter(value: Any, who: str) -> Optional[imageDataAugmenter]:
    if value is None or (isinstance(value, str) and value.lower() == "none"):
        return None
    if not isinstance(value, imageDataAugmenter):
        raise OptionError(f"{who}: data_augmentation must be 'none', None or an imageDataAugmenter, got {show(value)}")
    return value


accept_matlab_names(globals())
