"""dlnetwork and its learnables/state tables."""

from .dlnetwork import dlnetwork  # noqa: F401
from .graph import Connection  # noqa: F401
from .table import Table, TableRow  # noqa: F401

__all__ = ["dlnetwork", "Table", "TableRow", "Connection"]
