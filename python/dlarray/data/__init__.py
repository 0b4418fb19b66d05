"""Data helpers of MATLAB's custom training loops: synthetic digit data, in-memory
datastores and ``minibatchqueue``, image datastores (``imageDatastore``,
``augmentedImageDatastore``, ``imageDataAugmenter``; reading files needs Pillow, the
``images`` extra), ``padsequences``, ``categorical`` labels, and the image helpers
``rescale`` and ``imtile``."""

from .augmentation import imageDataAugmenter
from .augmented_datastore import augmentedImageDatastore
from .categorical import categorical, categories, countcats
from .datastore import CombinedDatastore, EndOfDatastoreError, arrayDatastore, combine
from .digits import digitTest4DArrayData, digitTrain4DArrayData
from .image_datastore import countEachLabel, imageDatastore, numpartitions, splitEachLabel
from .images import imtile, rescale
from .minibatchqueue import EndOfDataError, minibatchqueue
from .partition import partition
from .sequences import padsequences

# Several names a line, as the table was written.
# fmt: off
__all__ = ["CombinedDatastore", "EndOfDataError", "EndOfDatastoreError", "arrayDatastore", "augmentedImageDatastore",
           "categorical", "categories", "combine", "countEachLabel", "countcats", "digitTest4DArrayData",
           "digitTrain4DArrayData", "imageDataAugmenter", "imageDatastore", "imtile", "minibatchqueue",
           "numpartitions", "padsequences", "partition", "rescale", "splitEachLabel"]
# fmt: on
