"""Layers for dlnetwork, with MATLAB's constructor names, options and defaults.

Each family has its own module; a custom layer subclasses :class:`Layer` (see
``dlarray.layers.base`` for an example)."""

from .activation import (
    DropoutLayer,
    GELULayer,
    LeakyReLULayer,
    ReLULayer,
    SigmoidLayer,
    SoftmaxLayer,
    TanhLayer,
    dropoutLayer,
    geluLayer,
    leakyReluLayer,
    reluLayer,
    sigmoidLayer,
    softmaxLayer,
    tanhLayer,
)
from .base import Layer
from .combination import (
    AdditionLayer,
    ConcatenationLayer,
    DepthConcatenationLayer,
    additionLayer,
    concatenationLayer,
    depthConcatenationLayer,
)
from .convolution import (
    Convolution1DLayer,
    Convolution2DLayer,
    Convolution3DLayer,
    GroupedConvolution2DLayer,
    TransposedConvolution2DLayer,
    convolution1dLayer,
    convolution2dLayer,
    convolution3dLayer,
    groupedConvolution2dLayer,
    transposedConv2dLayer,
)
from .dense import (
    EmbeddingLayer,
    FlattenLayer,
    FullyConnectedLayer,
    embeddingLayer,
    flattenLayer,
    fullyConnectedLayer,
)
from .function import FunctionLayer, functionLayer
from .input import (
    FeatureInputLayer,
    ImageInputLayer,
    InputLayer,
    SequenceInputLayer,
    featureInputLayer,
    imageInputLayer,
    sequenceInputLayer,
)
from .normalization import (
    BatchNormalizationLayer,
    GroupNormalizationLayer,
    LayerNormalizationLayer,
    batchNormalizationLayer,
    groupNormalizationLayer,
    layerNormalizationLayer,
)
from .pooling import (
    AveragePooling1DLayer,
    AveragePooling2DLayer,
    AveragePooling3DLayer,
    GlobalAveragePooling2DLayer,
    GlobalMaxPooling2DLayer,
    MaxPooling1DLayer,
    MaxPooling2DLayer,
    MaxPooling3DLayer,
    averagePooling1dLayer,
    averagePooling2dLayer,
    averagePooling3dLayer,
    globalAveragePooling2dLayer,
    globalMaxPooling2dLayer,
    maxPooling1dLayer,
    maxPooling2dLayer,
    maxPooling3dLayer,
)
from .recurrent import GRULayer, LSTMLayer, gruLayer, lstmLayer

# The constructors (MATLAB's names) are also exported at the top level of the package; the
# classes only here.
__all__ = [
    "Layer",
    "imageInputLayer", "featureInputLayer", "sequenceInputLayer",
    "convolution1dLayer", "convolution2dLayer", "convolution3dLayer", "groupedConvolution2dLayer",
    "transposedConv2dLayer", "batchNormalizationLayer", "layerNormalizationLayer", "groupNormalizationLayer",
    "reluLayer", "leakyReluLayer", "geluLayer", "sigmoidLayer", "tanhLayer", "softmaxLayer", "dropoutLayer",
    "maxPooling1dLayer", "maxPooling2dLayer", "maxPooling3dLayer", "averagePooling1dLayer",
    "averagePooling2dLayer", "averagePooling3dLayer", "globalAveragePooling2dLayer", "globalMaxPooling2dLayer",
    "fullyConnectedLayer", "embeddingLayer", "flattenLayer", "lstmLayer", "gruLayer", "additionLayer",
    "concatenationLayer", "depthConcatenationLayer", "functionLayer",
    "InputLayer", "FeatureInputLayer", "ImageInputLayer", "SequenceInputLayer",
    "Convolution1DLayer", "Convolution2DLayer", "Convolution3DLayer", "GroupedConvolution2DLayer",
    "TransposedConvolution2DLayer", "BatchNormalizationLayer", "GroupNormalizationLayer", "LayerNormalizationLayer",
    "DropoutLayer", "GELULayer", "LeakyReLULayer", "ReLULayer", "SigmoidLayer", "SoftmaxLayer", "TanhLayer",
    "AveragePooling1DLayer", "AveragePooling2DLayer", "AveragePooling3DLayer", "GlobalAveragePooling2DLayer",
    "GlobalMaxPooling2DLayer", "MaxPooling1DLayer", "MaxPooling2DLayer", "MaxPooling3DLayer",
    "EmbeddingLayer", "FlattenLayer", "FullyConnectedLayer", "GRULayer", "LSTMLayer",
    "AdditionLayer", "ConcatenationLayer", "DepthConcatenationLayer", "FunctionLayer",
]
