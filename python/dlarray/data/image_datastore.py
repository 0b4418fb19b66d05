"""MATLAB's ``imageDatastore`` and its label helpers ``splitEachLabel`` and
``countEachLabel``, with ``numpartitions``.

An image datastore lists image files and decodes them on demand with Pillow (the optional
``images`` extra: ``pip install "dlarray[images]"``). Conventions of this port:

* ``files`` are absolute paths: each location in the given order; within one location (a
  folder, a file, or a pattern with ``*``/``?``) sorted by path, as MATLAB lists them.
* ``read()`` returns one image when ``read_size`` is 1 and a list of ``read_size`` images
  otherwise (MATLAB's image and its cell array); ``read(return_info=True)`` adds MATLAB's
  ``info``: a dict with ``filename``, ``file_size`` and ``label``.
* An image is a numpy array in MATLAB's ``imread`` layout: ``(H, W)`` for grayscale,
  ``(H, W, 3)`` for colour (an alpha channel is dropped, a palette expanded to RGB),
  ``(H, W, 4)`` for CMYK; the file's integer type (``uint8``, ``uint16``) is kept.
* Decoding is data only: Pillow is limited to the raster formats of MATLAB's list (PNG,
  JPEG, BMP, GIF, TIFF, PNM, PCX, ICO/CUR, Sun raster, JPEG 2000, FITS), so no file, whatever
  its contents, makes Pillow start another program. A file that cannot be decoded raises
  :class:`~dlarray.errors.ImageReadError` naming it.
* A ``minibatchqueue`` over an image datastore has one output, the images (what ``read``
  returns); for labels, ``combine(imds, arrayDatastore(imds.labels))`` or an
  ``augmentedImageDatastore`` gives a second one.
"""

from __future__ import annotations

import glob
import os
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from .._arguments import show
from .._core import OptionError, ShapeError
from .._matlab_names import accept_matlab_names
from ..errors import DatastoreLocationError, ImageReadError
from .categorical import categorical
from .datastore import EndOfDatastoreError, _permutation, _RandomAccessDatastore

__all__ = ["countEachLabel", "imageDatastore", "numpartitions", "splitEachLabel"]

#: MATLAB's default FileExtensions: the extensions of its ``imformats``.
IMAGE_EXTENSIONS = (
    ".bmp", ".cur", ".fts", ".fits", ".gif", ".hdf", ".ico", ".j2c", ".j2k", ".jp2", ".jpf", ".jpx",
    ".jpg", ".jpeg", ".pbm", ".pcx", ".pgm", ".png", ".pnm", ".ppm", ".ras", ".tif", ".tiff", ".xwd",
)  # fmt: skip

# Pillow's decoders for those formats. Pillow picks a decoder from a file's contents, not its
# name; limiting it to these keeps out the ones that run external programs (EPS runs
# Ghostscript) whatever a file holds.
_PILLOW_FORMATS = ("PNG", "JPEG", "BMP", "DIB", "GIF", "TIFF", "PPM", "PCX", "ICO", "CUR", "SUN", "JPEG2000", "FITS")
_LABEL_SOURCES = ("none", "foldernames")


def pillow(who: str) -> Any:
    """Pillow's ``Image`` module, or an ImportError naming the extra that installs it."""
    try:
        from PIL import Image
    except ImportError:
        raise ImportError(
            f'{who} reads images with Pillow, which is not installed; install it with pip install "dlarray[images]"'
        ) from None
    return Image


def _decoders(Image: Any) -> List[str]:
    Image.init()
    return [f for f in _PILLOW_FORMATS if f in Image.OPEN]


def _as_array(im: Any) -> np.ndarray:
    """A decoded Pillow image in MATLAB's imread layout."""
    mode = im.mode
    if mode in ("1", "L", "RGB", "CMYK", "I", "F") or mode.startswith("I;16"):
        out = np.array(im)
        return out.astype(np.uint16) if mode.startswith("I;16") else out
    if mode in ("LA", "La"):
        return np.array(im.convert("L"))
    return np.array(im.convert("RGB"))  # RGBA, palettes, YCbCr, ...: MATLAB's RGB image


def decode_image(path: str, who: str) -> np.ndarray:
    """The image in ``path`` as a numpy array; ImageReadError when it cannot be decoded."""
    Image = pillow(who)
    try:
        with open(path, "rb") as f, Image.open(f, formats=_decoders(Image)) as im:
            im.load()
            return _as_array(im)
    except (OSError, SyntaxError, ValueError, EOFError, MemoryError, Image.DecompressionBombError) as error:
        raise ImageReadError(f"{who}: cannot read {path!r} as an image: {error}") from None


def _extensions(value: Any, who: str) -> Tuple[str, ...]:
    values = [value] if isinstance(value, str) else value
    try:
        exts = tuple(values)
    except TypeError:
        raise OptionError(
            f"{who}: file_extensions must be a string or a sequence of strings such as ('.png', '.jpg'), got {show(value)}"
        ) from None
    if not exts or not all(isinstance(e, str) and e.startswith(".") and len(e) > 1 for e in exts):
        raise OptionError(f"{who}: file_extensions must be extensions starting with '.', such as ('.png', '.jpg'), got {show(value)}")
    return tuple(e.lower() for e in exts)


def _pattern(location: str) -> Optional[str]:
    """A glob pattern for a location with MATLAB's wildcards (``*``; ``?`` too), else None.
    Brackets stay literal, as in MATLAB."""
    if "*" not in location and "?" not in location:
        return None
    return location.replace("[", "[[]")


def find_files(location: Any, include_subfolders: bool, extensions: Tuple[str, ...], who: str) -> List[str]:
    """The image files a location names, in MATLAB's order (see the module notes)."""
    if isinstance(location, (str, os.PathLike)):
        locations = [location]
    else:
        try:
            locations = list(location)
        except TypeError:
            raise OptionError(f"{who}: location must be a path or a sequence of paths, got {show(location)}") from None
    if not locations:
        raise DatastoreLocationError(f"{who}: location is an empty sequence; give a folder, a file or a pattern")
    files: List[str] = []
    for loc in locations:
        try:
            path = os.path.expanduser(os.fspath(loc))
        except TypeError:
            raise OptionError(f"{who}: each location must be a path (a str or os.PathLike), got {show(loc)}") from None
        pattern = _pattern(path)
        matches = sorted(glob.glob(pattern)) if pattern is not None else ([path] if os.path.exists(path) else [])
        if not matches:
            raise DatastoreLocationError(f"{who}: location {path!r} names no file or folder")
        found: List[str] = []
        for match in matches:
            if os.path.isdir(match):
                if include_subfolders:
                    for root, dirs, names in os.walk(match):
                        dirs.sort()
                        found.extend(os.path.join(root, n) for n in names)
                else:
                    found.extend(os.path.join(match, n) for n in os.listdir(match) if os.path.isfile(os.path.join(match, n)))
            else:
                found.append(match)
        chosen = sorted(os.path.abspath(f) for f in found if os.path.splitext(f)[1].lower() in extensions)
        files.extend(chosen)
    if not files:
        raise DatastoreLocationError(
            f"{who}: no file with one of the extensions {', '.join(extensions)} in {show([os.fspath(x) for x in locations])}"
            + ("" if include_subfolders else "; set include_subfolders=True to look in subfolders")
        )
    return files


def _as_labels(labels: Any, count: int, who: str) -> Optional[categorical]:
    if labels is None:
        return None
    if not isinstance(labels, categorical):
        values = np.asarray(labels)
        if values.ndim != 1:
            raise ShapeError(f"{who}: labels must be one label per file (a vector), got shape {values.shape}")
        labels = categorical(values)
    if labels.ndim != 1 or len(labels) != count:
        raise ShapeError(f"{who}: labels has {labels.size} entries (shape {labels.shape}) for {count} files")
    return labels


def _read_size(value: Any, who: str) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < 1:
        raise OptionError(f"{who}: read_size must be a positive integer, got {show(value)}")
    return int(value)


def stack_images(images: Sequence[Any]) -> Any:
    """MATLAB's collation of images: stacked along a new last axis when all are numeric of
    one shape (``(H, W, C)`` images give ``(H, W, C, N)``), else the list itself."""
    if images and all(isinstance(i, np.ndarray) and i.dtype.kind in "biuf" and i.shape == images[0].shape for i in images):
        return np.stack(images, axis=-1)
    return list(images)


class imageDatastore(_RandomAccessDatastore):  # noqa: N801 - MATLAB's name
    """Datastore of image files, decoded on demand (MATLAB's ``imageDatastore``).

    Parameters
    ----------
    location : a folder, a file, a pattern with ``*`` (``"data/*/*.png"``), or a list of them.
    include_subfolders : also list the files of every subfolder of a folder (default False).
    file_extensions : extensions of the files to include, case-insensitive (default:
        MATLAB's list of image formats, ``.bmp`` ... ``.xwd``).
    label_source : ``"none"`` (default) or ``"foldernames"``: each file's label is the name
        of the folder holding it.
    labels : one label per file (a :class:`~dlarray.categorical`, or strings or numbers,
        which become one); not together with ``label_source="foldernames"``.
    read_function : a function of a file name returning its data (MATLAB's ``ReadFcn``);
        default: decode the image with Pillow.
    read_size : images per ``read`` (default 1).

    Properties: ``files`` (a list of absolute paths), ``labels`` (a categorical or None; may be
    assigned), ``read_size`` and ``read_function`` (may be assigned), ``numobservations``.
    Methods: ``read``, ``readimage``, ``readall``, ``preview``, ``hasdata``, ``reset``,
    ``shuffle``, ``subset``, ``partition``, ``splitEachLabel``, ``countEachLabel``.

    Example
    -------
    >>> import pathlib, tempfile, numpy as np
    >>> from PIL import Image
    >>> from dlarray import imageDatastore
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> for name in ["cat", "dog"]:
    ...     (root / name).mkdir()
    ...     Image.fromarray(np.zeros((4, 5), np.uint8)).save(root / name / "a.png")
    >>> imds = imageDatastore(root, include_subfolders=True, label_source="foldernames")
    >>> imds.numobservations, imds.labels.categories
    (2, ['cat', 'dog'])
    >>> imds.read().shape
    (4, 5)
    """

    _matlab_assignable = frozenset({"labels", "read_size", "read_function"})

    def __init__(
        self,
        location: Any,
        *,
        include_subfolders: bool = False,
        file_extensions: Any = IMAGE_EXTENSIONS,
        label_source: str = "none",
        labels: Any = None,
        read_function: Optional[Callable[[str], Any]] = None,
        read_size: int = 1,
    ):
        who = "imageDatastore"
        super().__init__()
        if not isinstance(include_subfolders, (bool, np.bool_)):
            raise OptionError(f"{who}: include_subfolders must be True or False, got {show(include_subfolders)}")
        if not isinstance(label_source, str) or label_source.lower() not in _LABEL_SOURCES:
            raise OptionError(f"{who}: label_source must be 'none' or 'foldernames', got {show(label_source)}")
        source = label_source.lower()
        if source == "foldernames" and labels is not None:
            raise OptionError(f"{who}: give labels or label_source='foldernames', not both")
        if read_function is not None and not callable(read_function):
            raise OptionError(f"{who}: read_function must be a function of a file name, got {show(read_function)}")
        files = find_files(location, bool(include_subfolders), _extensions(file_extensions, who), who)
        if source == "foldernames":
            labels = categorical([os.path.basename(os.path.dirname(f)) for f in files])
        self._files = files
        self._labels = _as_labels(labels, len(files), who)
        self.read_size = read_size
        self.read_function = read_function
        self.output_type = "cell"

    @classmethod
    def _of(cls, files: List[str], labels: Optional[categorical], like: "imageDatastore") -> "imageDatastore":
        out = cls.__new__(cls)
        _RandomAccessDatastore.__init__(out)
        out._files, out._labels = files, labels
        out.read_size, out.read_function, out.output_type = like.read_size, like.read_function, "cell"
        return out

    # Properties -----------------------------------------------------------------------
    @property
    def files(self) -> List[str]:
        """The image files, absolute paths, in reading order (MATLAB's ``Files``)."""
        return list(self._files)

    @property
    def labels(self) -> Optional[categorical]:
        """One label per file, a categorical (MATLAB's ``Labels``), or None."""
        return self._labels

    @labels.setter
    def labels(self, value: Any) -> None:
        self._labels = _as_labels(value, len(self._files), "imageDatastore.labels")

    @property
    def read_size(self) -> int:
        """Images per ``read`` (MATLAB's ``ReadSize``)."""
        return self._read_size

    @read_size.setter
    def read_size(self, value: int) -> None:
        self._read_size = _read_size(value, "imageDatastore")

    @property
    def numobservations(self) -> int:
        return len(self._files)

    # Reading --------------------------------------------------------------------------
    def _load(self, i: int) -> Any:
        path = self._files[i]
        if self.read_function is not None:
            return self.read_function(path)
        return decode_image(path, "imageDatastore.read")

    def _info(self, indices: Sequence[int]) -> Dict[str, Any]:
        names = [self._files[i] for i in indices]
        sizes = [os.path.getsize(f) if os.path.exists(f) else 0 for f in names]
        label = None if self._labels is None else self._labels[np.asarray(indices, dtype=np.intp)]
        if len(names) == 1:
            return {"filename": names[0], "file_size": sizes[0], "label": None if label is None else label[0]}
        return {"filename": names, "file_size": sizes, "label": label}

    def read(self, return_info: bool = False) -> Any:
        """The next image (a list of ``read_size`` images when ``read_size`` > 1): MATLAB's
        ``read``. ``return_info=True`` returns ``(data, info)``, ``info`` a dict with
        ``filename``, ``file_size`` and ``label``."""
        if not self.hasdata():
            raise EndOfDatastoreError(
                f"imageDatastore.read: no more data; all {self.numobservations} images have been read. Call reset() to read them again."
            )
        stop = min(self._position + self.read_size, self.numobservations)
        indices = list(range(self._position, stop))
        self._position = stop
        data = [self._load(i) for i in indices]
        out = data[0] if self.read_size == 1 else data
        return (out, self._info(indices)) if return_info else out

    def readimage(self, index: int, return_info: bool = False) -> Any:
        """Image ``index`` (0-based), without moving the read position (MATLAB's ``readimage``)."""
        if isinstance(index, (bool, np.bool_)) or not isinstance(index, (int, np.integer)) or not 0 <= index < len(self._files):
            raise OptionError(f"imageDatastore.readimage: index must be an integer from 0 to {len(self._files) - 1}, got {show(index)}")
        data = self._load(int(index))
        return (data, self._info([int(index)])) if return_info else data

    def preview(self) -> Any:
        """The first image, without moving the read position (MATLAB's ``preview``)."""
        return self._load(0)

    def readall(self) -> List[Any]:
        """Every image, in order: a list (MATLAB's ``readall`` cell array)."""
        return [self._load(i) for i in range(self.numobservations)]

    # Copies ---------------------------------------------------------------------------
    def shuffle(self, seed: Any = None) -> "imageDatastore":
        """A copy with the files (and labels) in random order (MATLAB's ``shuffle``);
        the order comes from ``rng``'s generator unless ``seed`` is given."""
        return self._subset(_permutation(self.numobservations, seed))

    def subset(self, indices: Any) -> "imageDatastore":
        """A datastore over the given files (MATLAB's ``subset``; 0-based indices or a
        boolean mask)."""
        idx = np.asarray(indices)
        if idx.dtype == np.bool_:
            if idx.shape != (self.numobservations,):
                raise ShapeError(f"imageDatastore.subset: a mask must have {self.numobservations} entries, got shape {idx.shape}")
            idx = np.flatnonzero(idx)
        if idx.dtype.kind not in "iu" and idx.size:
            raise OptionError(f"imageDatastore.subset: indices must be integers or a boolean mask, got {show(indices)}")
        idx = idx.astype(np.intp).reshape(-1)
        if idx.size and (idx.min() < 0 or idx.max() >= self.numobservations):
            raise OptionError(f"imageDatastore.subset: indices must be from 0 to {self.numobservations - 1}, got {show(indices)}")
        return self._subset(idx)

    def _subset(self, order: np.ndarray) -> "imageDatastore":
        labels = None if self._labels is None else self._labels[np.asarray(order, dtype=np.intp)]
        return imageDatastore._of([self._files[i] for i in order], labels, self)

    def splitEachLabel(self, *proportions: Any, include: Any = None, exclude: Any = None) -> Tuple["imageDatastore", ...]:
        """MATLAB's ``splitEachLabel``; see the function :func:`splitEachLabel`."""
        return splitEachLabel(self, *proportions, include=include, exclude=exclude)

    def countEachLabel(self) -> Dict[str, int]:
        """MATLAB's ``countEachLabel``; see the function :func:`countEachLabel`."""
        return countEachLabel(self)

    # minibatchqueue's random access ------------------------------------------------------
    def _observation_rows(self, indices: Sequence[int]) -> List[Any]:
        return [self._load(int(i)) for i in indices]

    _same_rows = _observation_rows

    def _columns_at(self, indices: Sequence[int]) -> List[Any]:
        return [stack_images(self._observation_rows(indices))]

    def _observations_at(self, indices: Sequence[int]) -> List[Any]:
        return [self._observation_rows(indices)]

    @property
    def _num_columns(self) -> int:
        return 1

    def __repr__(self) -> str:
        shown = ", ".join(repr(f) for f in self._files[:3]) + (f", ... and {len(self._files) - 3} more" if len(self._files) > 3 else "")
        labels = "" if self._labels is None else f", labels: {len(self._labels.categories)} categories"
        return f"imageDatastore({len(self._files)} files: [{shown}]{labels}, read_size={self.read_size})"


def _labelled(imds: Any, who: str) -> categorical:
    if not isinstance(imds, imageDatastore):
        raise OptionError(f"{who}: expected an imageDatastore, got {type(imds).__name__}")
    if imds.labels is None:
        raise OptionError(f"{who}: the datastore has no labels; create it with label_source='foldernames' or labels=...")
    return imds.labels


def countEachLabel(imds: imageDatastore) -> Dict[str, int]:
    """The number of files of each label (MATLAB's ``countEachLabel``).

    Returns a dict from label to count, in the order of the labels' categories (MATLAB's
    two-column table ``Label``/``Count``); undefined labels are not counted.

    >>> import numpy as np
    >>> from dlarray import countEachLabel, imageDatastore
    >>> # countEachLabel(imageDatastore("flowers", include_subfolders=True, label_source="foldernames"))
    >>> # {'daisy': 633, 'roses': 641, ...}
    """
    labels = _labelled(imds, "countEachLabel")
    counts = np.bincount(labels.codes[labels.codes >= 0], minlength=len(labels.categories))
    return {name: int(n) for name, n in zip(labels.categories, counts)}


def splitEachLabel(imds: imageDatastore, *proportions: Any, include: Any = None, exclude: Any = None) -> Tuple[imageDatastore, ...]:
    """Split an image datastore label by label (MATLAB's ``splitEachLabel``).

    ``splitEachLabel(imds, p)`` returns ``(imds1, imds2)``: ``imds1`` holds the first ``p``
    files of every label and ``imds2`` the rest. ``p`` is a fraction in (0, 1) (the number of
    files of a label times ``p``, rounded down, as MATLAB) or a count of files per label.
    Several ``p1, ..., pN`` give N + 1 datastores. A trailing ``"randomized"`` picks the files
    of each label at random (from ``rng``'s generator) instead of the first ones.
    ``include``/``exclude`` (a label or a list of labels) restrict the split to some labels;
    files of other labels are left out of every result. Files keep their order in the
    original datastore within each result.

    Returns
    -------
    a tuple of N + 1 imageDatastores.

    >>> from dlarray import splitEachLabel
    >>> # imds_train, imds_test = splitEachLabel(imds, 0.8, "randomized")
    """
    who = "splitEachLabel"
    labels = _labelled(imds, who)
    parts = list(proportions)
    randomized = False
    if parts and isinstance(parts[-1], str):
        mode = parts.pop()
        if mode.lower() != "randomized":
            raise OptionError(f"{who}: the last argument may be 'randomized', got {show(mode)}")
        randomized = True
    if not parts:
        raise OptionError(f"{who}: give at least one proportion or number of files per label, e.g. splitEachLabel(imds, 0.7)")
    values = []
    for p in parts:
        if isinstance(p, (bool, np.bool_)) or not isinstance(p, (int, float, np.integer, np.floating)) or not np.isfinite(p) or p < 0:
            raise OptionError(f"{who}: each proportion must be a fraction in (0, 1) or a number of files, got {show(p)}")
        values.append(float(p))
    fractions = all(0 < v < 1 for v in values)
    if not fractions and not all(v == int(v) for v in values):
        raise OptionError(f"{who}: proportions must all be fractions in (0, 1) or all whole numbers of files, got {show(parts)}")
    if fractions and sum(values) > 1:
        raise OptionError(f"{who}: the fractions add up to {sum(values):g}, more than 1")
    chosen = _chosen_labels(labels, include, exclude, who)
    counts = np.bincount(labels.codes[labels.codes >= 0], minlength=len(labels.categories))
    if not fractions:
        smallest = min(int(counts[k]) for k in chosen) if chosen else 0
        if sum(values) > smallest:
            raise OptionError(f"{who}: {int(sum(values))} files per label were asked for, but the smallest label has {smallest}")
    groups: List[List[int]] = [[] for _ in range(len(values) + 1)]
    for k in chosen:
        members = np.flatnonzero(labels.codes == k)
        if randomized:
            members = members[_permutation(members.size)]
        start = 0
        for g, v in enumerate(values):
            n = int(np.floor(v * members.size)) if fractions else int(v)
            groups[g].extend(members[start : start + n].tolist())
            start += n
        groups[-1].extend(members[start:].tolist())
    return tuple(imds._subset(np.sort(np.asarray(g, dtype=np.intp))) for g in groups)


def _chosen_labels(labels: categorical, include: Any, exclude: Any, who: str) -> List[int]:
    names = labels.categories

    def codes(value: Any, option: str) -> List[int]:
        wanted = [value] if isinstance(value, str) else list(np.asarray(value, dtype=object).reshape(-1))
        unknown = [str(w) for w in wanted if str(w) not in names]
        if unknown:
            raise OptionError(f"{who}: {option} names labels that are not in the datastore: {unknown} (labels: {names})")
        return [names.index(str(w)) for w in wanted]

    if include is not None and exclude is not None:
        raise OptionError(f"{who}: give include or exclude, not both")
    if include is not None:
        return sorted(set(codes(include, "include")))
    dropped = set(codes(exclude, "exclude")) if exclude is not None else set()
    return [k for k in range(len(names)) if k not in dropped]


def numpartitions(ds: Any, pool: Any = None) -> int:
    """How many parts ``partition(ds, n, i)`` can make (MATLAB's ``numpartitions``).

    Without ``pool`` it is the number of observations (files, for an image datastore: one
    file per part at most, as MATLAB); with ``pool``, a number of workers (such as
    ``spmdSize()``), the smaller of the two.

    >>> from dlarray import arrayDatastore, numpartitions
    >>> numpartitions(arrayDatastore([1, 2, 3])), numpartitions(arrayDatastore([1, 2, 3]), 2)
    (3, 2)
    """
    if not isinstance(ds, _RandomAccessDatastore):
        raise OptionError(f"numpartitions: expected a datastore (arrayDatastore, imageDatastore, ...), got {type(ds).__name__}")
    n = ds.numobservations
    if pool is None:
        return n
    if isinstance(pool, (bool, np.bool_)) or not isinstance(pool, (int, np.integer)) or pool < 1:
        raise OptionError(f"numpartitions: pool must be a positive number of workers, got {show(pool)}")
    return min(n, int(pool))


accept_matlab_names(globals())
