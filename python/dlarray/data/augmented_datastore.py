"""MATLAB's ``augmentedImageDatastore``: mini-batches of images brought to one size, with
random augmentation, from an ``imageDatastore`` or in-memory arrays.

Each image goes through MATLAB's steps, in MATLAB's order: colour preprocessing
(``"gray2rgb"`` repeats a grayscale channel, ``"rgb2gray"`` takes MATLAB's ``rgb2gray``
weights), the augmenter's random affine transform (at the image's own size), then
``output_size_mode``: ``"resize"`` (MATLAB's ``imresize``, bilinear, antialiased when
shrinking), ``"centercrop"`` or ``"randcrop"`` (a window of ``output_size``, which must fit).

Conventions of this port:

* An output image is ``(h, w, c)`` even for one channel (MATLAB's ``h x w x 1``), so a
  collated mini-batch is ``(h, w, c, N)`` and takes the format ``"SSCB"``. The image's dtype
  is kept (uint8 stays uint8; ``minibatchqueue`` casts to single).
* MATLAB's ``read`` returns a table with variables ``input`` and ``response``; here ``read``
  returns ``mini_batch_size`` rows, as a combined datastore does: a list of ``(input,
  response)`` tuples (a response is a label name for categorical responses), or a list of
  images when there are no responses.
* A ``minibatchqueue`` sees two columns, the images and the responses (one without
  responses): collated, ``X`` is ``(h, w, c, N)`` and ``T`` a categorical of N labels
  (``onehotencode(T, 0)`` gives ``"CB"`` targets) or the numeric responses stacked along a new
  last axis. A ``mini_batch_fcn`` receives the list of images and that categorical.
* Random draws (augmentation, random crops) come from ``rng``'s generator, image by image
  in reading order, so ``rng(seed)`` repeats an epoch.
"""

from __future__ import annotations

from typing import Any, List, Optional, Sequence, Tuple

import numpy as np

from .. import _random
from .._arguments import show
from .._core import OptionError, ShapeError, dlarray, extractdata
from .._matlab_names import accept_matlab_names
from .augmentation import _as_augmenter, warp
from .categorical import categorical
from .datastore import _permutation, _RandomAccessDatastore
from .image_datastore import imageDatastore, stack_images

__all__ = ["augmentedImageDatastore"]

_COLOR = ("none", "gray2rgb", "rgb2gray")
_MODES = ("resize", "centercrop", "randcrop")
#: MATLAB's rgb2gray weights (the luma row of the inverse NTSC transform).
_GRAY = np.array([0.298936021293775, 0.587043074451121, 0.114020904255103])


def _output_size(value: Any, who: str) -> Tuple[int, ...]:
    try:
        arr = np.asarray(value)
    except (TypeError, ValueError):
        arr = np.asarray([])
    ok = arr.ndim == 1 and arr.size in (2, 3) and arr.dtype.kind in "iuf" and np.all(arr == np.round(arr)) and np.all(arr >= 1)
    if not ok:
        raise OptionError(f"{who}: output_size must be (h, w) or (h, w, c) with positive integers, got {show(value)}")
    return tuple(int(v) for v in arr)


def _weights(n_in: int, n_out: int) -> np.ndarray:
    """The (n_out, n_in) matrix of MATLAB's bilinear ``imresize`` along one axis: a triangle
    kernel, widened by the shrink factor (antialiasing), indices mirrored at the edges."""
    scale = n_out / n_in
    width = 2.0 / scale if scale < 1 else 2.0
    x = np.arange(1, n_out + 1, dtype=np.float64)
    u = x / scale + 0.5 * (1 - 1 / scale)
    left = np.floor(u - width / 2)
    taps = int(np.ceil(width)) + 2
    idx = left[:, None] + np.arange(taps)[None, :]
    d = u[:, None] - idx
    if scale < 1:
        d = d * scale
    w = np.clip(1 - np.abs(d), 0, None) * (scale if scale < 1 else 1.0)
    w = w / w.sum(axis=1, keepdims=True)
    mirror = np.concatenate([np.arange(n_in), np.arange(n_in - 1, -1, -1)])
    cols = mirror[np.mod(idx.astype(np.int64) - 1, mirror.size)]
    out = np.zeros((n_out, n_in))
    np.add.at(out, (np.repeat(np.arange(n_out), taps), cols.ravel()), w.ravel())
    return out


def imresize(image: np.ndarray, size: Tuple[int, int]) -> np.ndarray:
    """MATLAB's ``imresize(image, size)`` with its default bilinear method and antialiasing;
    an (H, W, C) image, the dtype kept (integers rounded and clipped)."""
    h, w = image.shape[:2]
    oh, ow = size
    if (oh, ow) == (h, w):
        return image
    work = np.float64 if image.dtype == np.float64 else np.float32
    out = np.einsum("ij,jkc,lk->ilc", _weights(h, oh).astype(work), image.astype(work), _weights(w, ow).astype(work))
    if image.dtype.kind in "iu":
        info = np.iinfo(image.dtype)
        out = np.clip(np.floor(out + 0.5), info.min, info.max)
    elif image.dtype.kind == "b":
        out = out >= 0.5
    return out.astype(image.dtype, copy=False)


class augmentedImageDatastore(_RandomAccessDatastore):  # noqa: N801 - MATLAB's name
    """Resize, crop and randomly augment images for training (MATLAB's
    ``augmentedImageDatastore``).

    ``augmentedImageDatastore(output_size, imds)`` reads an :class:`imageDatastore` (its labels
    are the responses); ``augmentedImageDatastore(output_size, X, Y)`` reads in-memory images
    ``X`` of shape ``(H, W, C, N)`` (MATLAB's layout, as ``digitTrain4DArrayData`` returns)
    with responses ``Y``: N labels (a categorical, or strings, which become one) or a numeric
    array with N rows; ``Y`` may be left out.

    Parameters
    ----------
    output_size : ``(h, w)`` or ``(h, w, c)`` of every output image (``c``, when given, must be
        the images' channel count after colour preprocessing).
    data_augmentation : ``"none"``/``None`` (default) or an :class:`imageDataAugmenter`.
    color_preprocessing : ``"none"`` (default), ``"gray2rgb"`` or ``"rgb2gray"``.
    output_size_mode : ``"resize"`` (default), ``"centercrop"`` or ``"randcrop"``.

    Properties: ``output_size``, ``output_size_mode``, ``color_preprocessing``,
    ``data_augmentation``, ``mini_batch_size`` (rows per ``read``, default 128, may be
    assigned), ``numobservations``, ``files`` (for an imageDatastore source). Methods:
    ``read``, ``readByIndex``, ``readall``, ``preview``, ``hasdata``, ``reset``, ``shuffle``,
    ``subset``, ``partition``. See the module notes for what ``read`` and a
    ``minibatchqueue`` get.

    Example
    -------
    >>> from dlarray import augmentedImageDatastore, digitTrain4DArrayData, imageDataAugmenter, minibatchqueue
    >>> X, Y, _ = digitTrain4DArrayData()
    >>> aug = imageDataAugmenter(rand_rotation=(-20, 20), rand_x_translation=(-3, 3))
    >>> auimds = augmentedImageDatastore((28, 28), X[..., :256], Y[:256], data_augmentation=aug)
    >>> mbq = minibatchqueue(auimds, mini_batch_size=64, mini_batch_format=["SSCB", ""], output_as_dlarray=[True, False])
    >>> Xb, Tb = mbq.next()
    >>> Xb.fmt, Xb.shape, Tb.shape
    ('SSCB', (28, 28, 1, 64), (64,))
    """

    _matlab_assignable = frozenset({"mini_batch_size"})

    def __init__(
        self,
        output_size: Any,
        source: Any,
        responses: Any = None,
        *,
        data_augmentation: Any = None,
        color_preprocessing: str = "none",
        output_size_mode: str = "resize",
    ):
        who = "augmentedImageDatastore"
        super().__init__()
        self._size = _output_size(output_size, who)
        if not isinstance(color_preprocessing, str) or color_preprocessing.lower() not in _COLOR:
            raise OptionError(f"{who}: color_preprocessing must be one of {_COLOR}, got {show(color_preprocessing)}")
        if not isinstance(output_size_mode, str) or output_size_mode.lower() not in _MODES:
            raise OptionError(f"{who}: output_size_mode must be one of {_MODES}, got {show(output_size_mode)}")
        self._color = color_preprocessing.lower()
        self._mode = output_size_mode.lower()
        self._augmenter = _as_augmenter(data_augmentation, who)
        if isinstance(source, imageDatastore):
            if responses is not None:
                raise OptionError(f"{who}: responses come from the imageDatastore's labels; pass X, Y arrays to give them yourself")
            self._imds: Optional[imageDatastore] = source
            self._X: Optional[np.ndarray] = None
            count = source.numobservations
            self._responses: Any = source.labels
        else:
            X = extractdata(source) if isinstance(source, dlarray) else np.asarray(source) if not isinstance(source, (str, bytes)) else None
            if X is None or X.dtype.kind not in "biuf":
                raise OptionError(f"{who}: expected an imageDatastore or numeric images (H, W, C, N), got {show(source)}")
            if X.ndim != 4:
                hint = "; add the channel dim of grayscale images with X[:, :, None, :]" if X.ndim == 3 else ""
                raise ShapeError(f"{who}: in-memory images must be (H, W, C, N), MATLAB's layout, got shape {X.shape}{hint}")
            self._imds, self._X = None, X
            count = X.shape[3]
            self._responses = _as_responses(responses, count, who)
        self._count = count
        self._order = np.arange(count)
        self.mini_batch_size = 128
        self.output_type = "cell"

    def _copy(self, order: np.ndarray) -> "augmentedImageDatastore":
        out = object.__new__(type(self))
        _RandomAccessDatastore.__init__(out)
        out.__dict__.update({k: v for k, v in self.__dict__.items() if k != "_position"})
        out._order = self._order[np.asarray(order, dtype=np.intp)]
        out._count = out._order.size
        return out

    # Properties -----------------------------------------------------------------------
    @property
    def output_size(self) -> Tuple[int, ...]:
        return self._size

    @property
    def output_size_mode(self) -> str:
        return self._mode

    @property
    def color_preprocessing(self) -> str:
        return self._color

    @property
    def data_augmentation(self) -> Any:
        """The :class:`imageDataAugmenter`, or ``"none"``."""
        return "none" if self._augmenter is None else self._augmenter

    @property
    def mini_batch_size(self) -> int:
        """Rows per ``read`` (MATLAB's ``MiniBatchSize``, default 128)."""
        return self.read_size

    @mini_batch_size.setter
    def mini_batch_size(self, value: int) -> None:
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < 1:
            raise OptionError(f"augmentedImageDatastore: mini_batch_size must be a positive integer, got {show(value)}")
        self.read_size = int(value)

    @property
    def numobservations(self) -> int:
        return self._count

    @property
    def files(self) -> Optional[List[str]]:
        """The files read, in order, for an imageDatastore source; None for arrays."""
        if self._imds is None:
            return None
        names = self._imds.files
        return [names[i] for i in self._order]

    # Images ---------------------------------------------------------------------------
    def _source_image(self, i: int) -> np.ndarray:
        if self._X is not None:
            return self._X[:, :, :, i]
        image = self._imds._load(i) if self._imds is not None else None
        if not isinstance(image, np.ndarray) or image.ndim not in (2, 3) or image.dtype.kind not in "biuf":
            what = f"{image.dtype} {image.shape}" if isinstance(image, np.ndarray) else type(image).__name__
            raise ShapeError(f"augmentedImageDatastore: {self._imds.files[i]!r} gave {what}, not a numeric (H, W) or (H, W, C) image")
        return image

    def _prepared(self, i: int) -> np.ndarray:
        who = "augmentedImageDatastore"
        image = self._source_image(i)
        if image.ndim == 2:
            image = image[:, :, None]
        if self._color == "gray2rgb" and image.shape[2] == 1:
            image = np.repeat(image, 3, axis=2)
        elif self._color == "rgb2gray" and image.shape[2] == 3:
            gray = np.tensordot(image.astype(np.float64), _GRAY, axes=([2], [0]))[:, :, None]
            if image.dtype.kind in "iu":
                info = np.iinfo(image.dtype)
                gray = np.clip(np.floor(gray + 0.5), info.min, info.max)
            image = gray.astype(image.dtype)
        if len(self._size) == 3 and image.shape[2] != self._size[2]:
            hint = " (color_preprocessing='gray2rgb' or 'rgb2gray' converts)" if {image.shape[2], self._size[2]} == {1, 3} else ""
            raise ShapeError(f"{who}: an image has {image.shape[2]} channels but output_size {self._size} asks for {self._size[2]}{hint}")
        h, w = image.shape[:2]
        if self._augmenter is not None and not self._augmenter.is_identity:
            forward = self._augmenter.random_matrix(h, w)
            image = warp(image, np.linalg.inv(forward), (h, w), self._augmenter.fill_value)
        oh, ow = self._size[:2]
        if self._mode == "resize":
            return imresize(image, (oh, ow))
        if oh > h or ow > w:
            raise ShapeError(f"{who}: output_size_mode={self._mode!r} needs images of at least {oh} x {ow}, got {h} x {w}")
        if self._mode == "centercrop":
            top, left = (h - oh) // 2, (w - ow) // 2
        else:
            top = int(_random.random(()) * (h - oh + 1))
            left = int(_random.random(()) * (w - ow + 1))
        return image[top : top + oh, left : left + ow]

    def _images(self, indices: Sequence[int]) -> List[np.ndarray]:
        return [self._prepared(int(self._order[i])) for i in indices]

    def _response_column(self, indices: Sequence[int]) -> Any:
        rows = self._order[np.asarray(indices, dtype=np.intp)]
        if isinstance(self._responses, categorical):
            return self._responses[rows]
        return np.moveaxis(self._responses[rows], 0, -1)

    def _response_rows(self, indices: Sequence[int]) -> List[Any]:
        rows = self._order[np.asarray(indices, dtype=np.intp)]
        return [self._responses[int(r)] for r in rows]

    # MATLAB's interface ---------------------------------------------------------------
    def readByIndex(self, indices: Any) -> List[Any]:
        """The rows of the given observations (0-based), without moving the read position
        (MATLAB's ``readByIndex``)."""
        idx = np.asarray(indices).reshape(-1)
        if idx.size and (idx.dtype.kind not in "iu" or idx.min() < 0 or idx.max() >= self._count):
            raise OptionError(
                f"augmentedImageDatastore.readByIndex: indices must be integers from 0 to {self._count - 1}, got {show(indices)}"
            )
        return self._observation_rows(idx.astype(np.intp))

    def shuffle(self, seed: Any = None) -> "augmentedImageDatastore":
        """A copy reading the observations in random order (MATLAB's ``shuffle``)."""
        return self._copy(_permutation(self._count, seed))

    def subset(self, indices: Any) -> "augmentedImageDatastore":
        """A datastore over the given observations (MATLAB's ``subset``; 0-based)."""
        idx = np.asarray(indices).reshape(-1)
        if idx.size and (idx.dtype.kind not in "iu" or idx.min() < 0 or idx.max() >= self._count):
            raise OptionError(f"augmentedImageDatastore.subset: indices must be integers from 0 to {self._count - 1}, got {show(indices)}")
        return self._copy(idx.astype(np.intp))

    def _subset(self, order: np.ndarray) -> "augmentedImageDatastore":
        return self._copy(order)

    # Rows and columns -----------------------------------------------------------------
    def _observation_rows(self, indices: Sequence[int]) -> List[Any]:
        images = self._images(indices)
        if self._responses is None:
            return images
        return list(zip(images, self._response_rows(indices)))

    _same_rows = _observation_rows

    def _columns_at(self, indices: Sequence[int]) -> List[Any]:
        columns = [stack_images(self._images(indices))]
        if self._responses is not None:
            columns.append(self._response_column(indices))
        return columns

    def _observations_at(self, indices: Sequence[int]) -> List[Any]:
        columns: List[Any] = [self._images(indices)]
        if self._responses is not None:
            column = self._response_column(indices)
            columns.append(column if isinstance(column, categorical) else self._response_rows(indices))
        return columns

    @property
    def _num_columns(self) -> int:
        return 1 if self._responses is None else 2

    def __repr__(self) -> str:
        source = "imageDatastore" if self._imds is not None else f"array {self._X.shape}"
        aug = "none" if self._augmenter is None else "imageDataAugmenter"
        return (
            f"augmentedImageDatastore(output_size={self._size}, {self._count} observations from {source}, "
            f"data_augmentation={aug}, color_preprocessing={self._color!r}, output_size_mode={self._mode!r}, "
            f"mini_batch_size={self.read_size})"
        )


def _as_responses(responses: Any, count: int, who: str) -> Any:
    if responses is None:
        return None
    if isinstance(responses, categorical):
        if responses.ndim != 1 or len(responses) != count:
            raise ShapeError(f"{who}: responses have shape {responses.shape} for {count} images")
        return responses
    Y = extractdata(responses) if isinstance(responses, dlarray) else np.asarray(responses)
    if Y.ndim == 0 or Y.shape[0] != count:
        raise ShapeError(f"{who}: responses must have one row per image ({count}), got shape {Y.shape}")
    if Y.dtype.kind in "USO":
        if Y.ndim != 1:
            raise ShapeError(f"{who}: label responses must be a vector, got shape {Y.shape}")
        return categorical(Y)
    if Y.dtype.kind not in "biuf":
        raise OptionError(f"{who}: responses must be labels or numbers, got dtype {Y.dtype}")
    return Y


accept_matlab_names(globals())
