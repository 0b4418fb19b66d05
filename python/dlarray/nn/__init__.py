"""The functional deep-learning operations (MATLAB's names, defaults and weight layouts).

Each family lives in its own module; this file only re-exports them. Every op accepts a
formatted dlarray, or an unformatted one with ``data_format=``.
"""

from ._layout import Layout, layout_of  # noqa: F401
