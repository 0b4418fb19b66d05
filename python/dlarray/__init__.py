"""dlarray: MATLAB's deep-learning custom training loop for Python.

Formatted deep-learning arrays, automatic differentiation to any order inside ``dlfeval``,
the functional deep-learning ops, dlnetwork and the functional optimizers, on a Rust core.
"""

from ._core import (  # noqa: F401  (re-exports)
    __version__,
    acos,
    angle,
    asin,
    atan,
    atan2,
    ceil,
    conj,
    cos,
    cosh,
    dims,
    dlarray,
    erf,
    exp,
    extractdata,
    finddim,
    flip,
    floor,
    from_dlpack,
    imag,
    isdlarray,
    log,
    log1p,
    matmul,
    maximum,
    minimum,
    pagemtimes,
    power,
    real,
    repmat,
    sign,
    sin,
    sinh,
    sqrt,
    squeeze,
    stack,
    stripdims,
    tan,
    where,
)
from ._core import (
    abs as abs,
)
from ._core import (
    complex as complex,
)
from ._core import (
    round as round,
)
from ._random import rng  # noqa: E402,F401
from .accelerate import AcceleratedFunction, clearCache, dlaccelerate  # noqa: F401
from .array_functions import concatenate, cumsum, mean, norm, permute, prod, reshape, transpose  # noqa: F401
from .array_functions import max as max  # noqa: F401
from .array_functions import min as min
from .array_functions import sum as sum
from .autodiff import dldivergence, dlfeval, dlgradient, dljacobian, dllaplacian, dltrace  # noqa: F401

# Data and monitoring need only numpy.
from .data import (  # noqa: E402,F401
    arrayDatastore,
    augmentedImageDatastore,
    categorical,
    categories,
    combine,
    countcats,
    countEachLabel,
    digitTest4DArrayData,
    digitTrain4DArrayData,
    imageDataAugmenter,
    imageDatastore,
    imtile,
    minibatchqueue,
    numpartitions,
    padsequences,
    partition,
    rescale,
    splitEachLabel,
)
from .device import canUseGPU, gather, gpu_info, gpuArray  # noqa: F401
from .errors import *  # noqa: F401,F403  (every error class; listed again in __all__ below)
from .io import load, load_torch_state_dict, register_custom, save  # noqa: E402,F401
from .layers import (  # noqa: E402,F401
    Layer,
    additionLayer,
    attentionLayer,
    averagePooling1dLayer,
    averagePooling2dLayer,
    averagePooling3dLayer,
    batchNormalizationLayer,
    bilstmLayer,
    clippedReluLayer,
    concatenationLayer,
    convolution1dLayer,
    convolution2dLayer,
    convolution3dLayer,
    crop2dLayer,
    crop3dLayer,
    crossChannelNormalizationLayer,
    depthConcatenationLayer,
    dropoutLayer,
    eluLayer,
    embeddingConcatenationLayer,
    embeddingLayer,
    featureInputLayer,
    flattenLayer,
    fullyConnectedLayer,
    functionLayer,
    geluLayer,
    globalAveragePooling1dLayer,
    globalAveragePooling2dLayer,
    globalAveragePooling3dLayer,
    globalMaxPooling1dLayer,
    globalMaxPooling2dLayer,
    globalMaxPooling3dLayer,
    groupedConvolution2dLayer,
    groupNormalizationLayer,
    gruLayer,
    gruProjectedLayer,
    identityLayer,
    image3dInputLayer,
    imageInputLayer,
    indexing1dLayer,
    inputLayer,
    instanceNormalizationLayer,
    layerNormalizationLayer,
    leakyReluLayer,
    lstmLayer,
    lstmProjectedLayer,
    maxPooling1dLayer,
    maxPooling2dLayer,
    maxPooling3dLayer,
    multiplicationLayer,
    networkLayer,
    positionEmbeddingLayer,
    reluLayer,
    resize2dLayer,
    resize3dLayer,
    selfAttentionLayer,
    sequenceInputLayer,
    sigmoidLayer,
    sinusoidalPositionEncodingLayer,
    softmaxLayer,
    softplusLayer,
    spatialDropoutLayer,
    swishLayer,
    tanhLayer,
    transposedConv1dLayer,
    transposedConv2dLayer,
    transposedConv3dLayer,
    wordEmbeddingLayer,
)
from .monitor import trainingProgressMonitor  # noqa: E402,F401

# dlnetwork, its layers, and checkpoints.
from .network import dlnetwork, expandLayers, forward, initialize, predict, resetState  # noqa: E402,F401

# The functional deep-learning operations (their format-aware relu, sigmoid and tanh are the
# exported ones).
from .nn import *  # noqa: E402,F401,F403
from .optim import adamupdate, dlupdate, lbfgsState, lbfgsupdate, rmspropupdate, sgdmupdate  # noqa: E402,F401
from .parallel.spmd import spmdBarrier, spmdBroadcast, spmdIndex, spmdPlus, spmdReduce, spmdSize  # noqa: E402,F401

# What ``from dlarray import *`` binds. abs, complex, max, min, round and sum are left out so
# that a star import does not shadow Python's builtins (they are re-exported explicitly above:
# ``dlarray.sum`` and ``from dlarray import sum`` work); submodules are left out too.
# Several names a line, as the table was written.
# fmt: off
__all__ = [
    # arrays and their elementwise, reduction and shape functions
    "dlarray", "acos", "angle", "asin", "atan", "atan2", "ceil", "conj", "cos", "cosh", "dims", "erf",
    "exp", "extractdata", "finddim", "flip", "floor", "from_dlpack", "imag", "isdlarray", "log", "log1p", "matmul",
    "maximum", "minimum", "pagemtimes", "power", "real", "repmat", "sign", "sin", "sinh", "sqrt",
    "squeeze", "stack", "stripdims", "tan", "where",
    "concatenate", "cumsum", "mean", "norm", "permute", "prod", "reshape", "transpose",
    # automatic differentiation
    "dldivergence", "dlfeval", "dlgradient", "dljacobian", "dllaplacian", "dltrace",
    "AcceleratedFunction", "clearCache", "dlaccelerate",
    # errors
    "AutodiffError", "CheckpointError", "DeviceError", "DlIndexError", "DTypeError", "FormatError", "InternalError",
    "FormattedIterationError", "OptionError", "OutOfMemoryError", "ScalarIterationError", "ShapeError", "UnknownOptionError",
    "DatastoreLocationError", "ImageReadError",
    # devices
    "canUseGPU", "gather", "gpu_info", "gpuArray",
    # data and monitoring
    "arrayDatastore", "categorical", "categories", "combine", "countcats", "digitTest4DArrayData",
    "digitTrain4DArrayData", "imtile", "minibatchqueue", "padsequences", "partition", "rescale", "rng",
    "augmentedImageDatastore", "countEachLabel", "imageDataAugmenter", "imageDatastore", "numpartitions", "splitEachLabel",
    "trainingProgressMonitor",
    # data-parallel training
    "spmdBarrier", "spmdBroadcast", "spmdIndex", "spmdPlus", "spmdReduce", "spmdSize",
    # functional deep-learning operations
    "attention", "avgpool", "batchnorm", "crosschannelnorm", "crossentropy", "dlconv", "dltranspconv",
    "dropout", "embed", "fullyconnect", "gelu", "groupnorm", "gru", "huber", "indexcrossentropy",
    "instancenorm", "l1loss", "l2loss", "layernorm", "leakyrelu", "lstm", "maxpool", "maxunpool", "mse",
    "onehotdecode", "onehotencode", "relu", "sigmoid", "softmax", "tanh",
    "dlresize", "ctc", "dlode45",
    # dlnetwork and layers
    "dlnetwork", "forward", "initialize", "predict", "resetState", "Layer", "additionLayer", "averagePooling1dLayer", "averagePooling2dLayer",
    "averagePooling3dLayer", "batchNormalizationLayer", "concatenationLayer", "convolution1dLayer",
    "convolution2dLayer", "convolution3dLayer", "depthConcatenationLayer", "dropoutLayer",
    "embeddingLayer", "featureInputLayer", "flattenLayer", "fullyConnectedLayer", "functionLayer",
    "geluLayer", "globalAveragePooling2dLayer", "globalMaxPooling2dLayer", "groupNormalizationLayer",
    "groupedConvolution2dLayer", "gruLayer", "imageInputLayer", "layerNormalizationLayer",
    "leakyReluLayer", "lstmLayer", "maxPooling1dLayer", "maxPooling2dLayer", "maxPooling3dLayer",
    "reluLayer", "sequenceInputLayer", "sigmoidLayer", "softmaxLayer", "tanhLayer",
    "transposedConv2dLayer", "clippedReluLayer", "crossChannelNormalizationLayer", "eluLayer", "globalAveragePooling1dLayer",
    "globalAveragePooling3dLayer", "globalMaxPooling1dLayer", "globalMaxPooling3dLayer", "identityLayer",
    "instanceNormalizationLayer", "multiplicationLayer", "softplusLayer", "spatialDropoutLayer", "swishLayer",
    "crop2dLayer", "resize2dLayer", "resize3dLayer",
    "attentionLayer", "selfAttentionLayer",
    "positionEmbeddingLayer", "sinusoidalPositionEncodingLayer",
    "bilstmLayer",
    "transposedConv1dLayer", "transposedConv3dLayer",
    "networkLayer", "expandLayers",
    "wordEmbeddingLayer", "image3dInputLayer", "inputLayer", "crop3dLayer", "indexing1dLayer",
    "embeddingConcatenationLayer", "lstmProjectedLayer", "gruProjectedLayer",
    # checkpoints
    "load", "load_torch_state_dict", "register_custom", "save",
    # optimizers
    "adamupdate", "dlupdate", "lbfgsState", "lbfgsupdate", "rmspropupdate", "sgdmupdate",
]
# fmt: on
