"""The exception classes dlarray raises. Each subclasses the builtin a Python user would
catch: shape/format/option errors are ``ValueError``s, dtype errors ``TypeError``s, index
errors ``IndexError``s and misuse of automatic differentiation ``RuntimeError``s."""

from ._core import AutodiffError, DlIndexError, DTypeError, FormatError, OptionError, ShapeError

__all__ = ["AutodiffError", "DlIndexError", "DTypeError", "FormatError", "OptionError", "ShapeError"]
