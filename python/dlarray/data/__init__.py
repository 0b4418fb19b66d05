"""Data helpers of MATLAB's custom training loops: synthetic digit data, in-memory
datastores and ``minibatchqueue``.

Pure numpy: nothing here imports the compiled core at import time (``minibatchqueue``
loads ``dlarray`` lazily when it wraps outputs).
"""

from .datastore import CombinedDatastore, EndOfDatastoreError, arrayDatastore, combine
from .digits import digitTest4DArrayData, digitTrain4DArrayData
from .minibatchqueue import EndOfDataError, minibatchqueue
from .partition import partition

__all__ = ["CombinedDatastore", "EndOfDataError", "EndOfDatastoreError", "arrayDatastore",
           "combine", "digitTest4DArrayData", "digitTrain4DArrayData", "minibatchqueue", "partition"]
