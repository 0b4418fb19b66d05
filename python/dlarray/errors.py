"""The exception classes dlarray raises. Each subclasses the builtin a Python user would
catch: shape/format/option errors are ``ValueError``s, dtype errors ``TypeError``s, index
errors ``IndexError``s, misuse of automatic differentiation ``RuntimeError``s, and a result
too large to allocate a ``MemoryError`` (checked before allocating, so the process survives),
a device that cannot be used a ``RuntimeError`` (``DeviceError``).

``InternalError`` (a ``RuntimeError``) means dlarray itself broke an invariant — a bug to
report; it carries the source location. No input should ever produce one."""

from ._core import (
    AutodiffError,
    DeviceError,
    DlIndexError,
    DTypeError,
    FormatError,
    InternalError,
    OptionError,
    OutOfMemoryError,
    ShapeError,
)

# Several names a line, as the table was written.
# fmt: off
__all__ = [
    "AutodiffError",
    "DeviceError",
    "DlIndexError",
    "DTypeError",
    "FormatError",
    "InternalError",
    "OptionError",
    "OutOfMemoryError",
    "ShapeError",
]
# fmt: on


class CheckpointError(ValueError):
    """A file given to ``load`` is not a valid checkpoint (truncated, corrupt, malformed), or
    it names code that was neither dlarray's own nor registered by the user."""


__all__.append("CheckpointError")


class UnknownOptionError(OptionError, TypeError):
    """A keyword argument that names no option of the function (neither its snake_case name
    nor MATLAB's name for it). A ``TypeError`` too, as Python's own error for an unknown
    keyword; the message names the function's options and the closest match."""


__all__.append("UnknownOptionError")


class FormattedIterationError(FormatError, TypeError):
    """Iteration over (or unpacking of) a formatted dlarray, which would split it along a
    labelled dim; see ``dlarray._iteration``. A ``TypeError``, as for other objects that
    cannot be iterated."""


__all__.append("FormattedIterationError")


class ScalarIterationError(ShapeError, TypeError):
    """Iteration over (or unpacking of) a 0-d dlarray, which has no dim to iterate over. A
    ``TypeError`` too, as numpy's error for a 0-d array."""


__all__.append("ScalarIterationError")


class ImageReadError(ValueError):
    """A file of an image datastore could not be decoded as an image (corrupt, truncated,
    too large, or not an image of a format the datastore reads); the message names the file."""


__all__.append("ImageReadError")


class DatastoreLocationError(OptionError, FileNotFoundError):
    """A location given to a datastore names no file or folder, or no file with one of the
    datastore's extensions. An ``OptionError`` and a ``FileNotFoundError``."""


__all__.append("DatastoreLocationError")
