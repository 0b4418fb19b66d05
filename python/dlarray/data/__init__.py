"""Data helpers of MATLAB's custom training loops: synthetic digit data, in-memory
datastores and ``minibatchqueue``, ``padsequences``, ``categorical`` labels, and the image
helpers ``rescale`` and ``imtile``."""

from .categorical import categorical, categories, countcats
from .datastore import CombinedDatastore, EndOfDatastoreError, arrayDatastore, combine
from .digits import digitTest4DArrayData, digitTrain4DArrayData
from .images import imtile, rescale
from .minibatchqueue import EndOfDataError, minibatchqueue
from .partition import partition
from .sequences import padsequences

# Several names a line, as the table was written.
# fmt: off
__all__ = ["CombinedDatastore", "EndOfDataError", "EndOfDatastoreError", "arrayDatastore", "categorical",
           "categories", "combine", "countcats", "digitTest4DArrayData", "digitTrain4DArrayData", "imtile",
           "minibatchqueue", "padsequences", "partition", "rescale"]
# fmt: on
