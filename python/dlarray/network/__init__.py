"""dlnetwork and its learnables/state tables."""

from .dlnetwork import dlnetwork  # noqa: F401
from .expand import expandLayers  # noqa: F401
from .functions import forward, initialize, predict, resetState  # noqa: F401
from .graph import Connection  # noqa: F401
from .table import Table, TableRow  # noqa: F401

__all__ = ["dlnetwork", "expandLayers", "forward", "initialize", "predict", "resetState", "Table", "TableRow", "Connection"]
