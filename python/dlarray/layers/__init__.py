"""Layers for dlnetwork, with MATLAB's constructor names, options and defaults.

Each family has its own module; a custom layer subclasses :class:`Layer` (see
``dlarray.layers.base`` for an example)."""

from .activation import (
    ClippedReLULayer,
    DropoutLayer,
    ELULayer,
    GELULayer,
    IdentityLayer,
    LeakyReLULayer,
    ReLULayer,
    SigmoidLayer,
    SoftmaxLayer,
    SoftplusLayer,
    SpatialDropoutLayer,
    SwishLayer,
    TanhLayer,
    clippedReluLayer,
    dropoutLayer,
    eluLayer,
    geluLayer,
    identityLayer,
    leakyReluLayer,
    reluLayer,
    sigmoidLayer,
    softmaxLayer,
    softplusLayer,
    spatialDropoutLayer,
    swishLayer,
    tanhLayer,
)
from .attention import (
    AttentionLayer,
    SelfAttentionLayer,
    attentionLayer,
    selfAttentionLayer,
)
from .base import Layer
from .combination import (
    AdditionLayer,
    ConcatenationLayer,
    DepthConcatenationLayer,
    MultiplicationLayer,
    additionLayer,
    concatenationLayer,
    depthConcatenationLayer,
    multiplicationLayer,
)
from .convolution import (
    Convolution1DLayer,
    Convolution2DLayer,
    Convolution3DLayer,
    GroupedConvolution2DLayer,
    TransposedConvolution1DLayer,
    TransposedConvolution2DLayer,
    TransposedConvolution3DLayer,
    convolution1dLayer,
    convolution2dLayer,
    convolution3dLayer,
    groupedConvolution2dLayer,
    transposedConv1dLayer,
    transposedConv2dLayer,
    transposedConv3dLayer,
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
from .network import NetworkLayer, networkLayer
from .normalization import (
    BatchNormalizationLayer,
    CrossChannelNormalizationLayer,
    GroupNormalizationLayer,
    InstanceNormalizationLayer,
    LayerNormalizationLayer,
    batchNormalizationLayer,
    crossChannelNormalizationLayer,
    groupNormalizationLayer,
    instanceNormalizationLayer,
    layerNormalizationLayer,
)
from .pooling import (
    AveragePooling1DLayer,
    AveragePooling2DLayer,
    AveragePooling3DLayer,
    GlobalAveragePooling1DLayer,
    GlobalAveragePooling2DLayer,
    GlobalAveragePooling3DLayer,
    GlobalMaxPooling1DLayer,
    GlobalMaxPooling2DLayer,
    GlobalMaxPooling3DLayer,
    MaxPooling1DLayer,
    MaxPooling2DLayer,
    MaxPooling3DLayer,
    averagePooling1dLayer,
    averagePooling2dLayer,
    averagePooling3dLayer,
    globalAveragePooling1dLayer,
    globalAveragePooling2dLayer,
    globalAveragePooling3dLayer,
    globalMaxPooling1dLayer,
    globalMaxPooling2dLayer,
    globalMaxPooling3dLayer,
    maxPooling1dLayer,
    maxPooling2dLayer,
    maxPooling3dLayer,
)
from .position import (
    PositionEmbeddingLayer,
    SinusoidalPositionEncodingLayer,
    positionEmbeddingLayer,
    sinusoidalPositionEncodingLayer,
)
from .recurrent import (
    BiLSTMLayer,
    GRULayer,
    LSTMLayer,
    bilstmLayer,
    gruLayer,
    lstmLayer,
)
from .resize import (
    Crop2DLayer,
    Resize2DLayer,
    Resize3DLayer,
    crop2dLayer,
    resize2dLayer,
    resize3dLayer,
)

# The constructors (MATLAB's names) are also exported at the top level of the package; the
# classes only here.
# Several names a line, as the table was written.
# fmt: off
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
    "clippedReluLayer", "eluLayer", "identityLayer", "softplusLayer", "spatialDropoutLayer", "swishLayer",
    "multiplicationLayer", "instanceNormalizationLayer", "globalAveragePooling1dLayer", "globalAveragePooling3dLayer",
    "globalMaxPooling1dLayer", "globalMaxPooling3dLayer", "crossChannelNormalizationLayer",
    "ClippedReLULayer", "ELULayer", "IdentityLayer", "SoftplusLayer", "SpatialDropoutLayer", "SwishLayer",
    "MultiplicationLayer", "InstanceNormalizationLayer", "GlobalAveragePooling1DLayer", "GlobalAveragePooling3DLayer",
    "GlobalMaxPooling1DLayer", "GlobalMaxPooling3DLayer", "CrossChannelNormalizationLayer",
    "InputLayer", "FeatureInputLayer", "ImageInputLayer", "SequenceInputLayer",
    "Convolution1DLayer", "Convolution2DLayer", "Convolution3DLayer", "GroupedConvolution2DLayer",
    "TransposedConvolution2DLayer", "BatchNormalizationLayer", "GroupNormalizationLayer", "LayerNormalizationLayer",
    "DropoutLayer", "GELULayer", "LeakyReLULayer", "ReLULayer", "SigmoidLayer", "SoftmaxLayer", "TanhLayer",
    "AveragePooling1DLayer", "AveragePooling2DLayer", "AveragePooling3DLayer", "GlobalAveragePooling2DLayer",
    "GlobalMaxPooling2DLayer", "MaxPooling1DLayer", "MaxPooling2DLayer", "MaxPooling3DLayer",
    "EmbeddingLayer", "FlattenLayer", "FullyConnectedLayer", "GRULayer", "LSTMLayer",
    "AdditionLayer", "ConcatenationLayer", "DepthConcatenationLayer", "FunctionLayer",
    "crop2dLayer", "resize2dLayer", "resize3dLayer",
    "Crop2DLayer", "Resize2DLayer", "Resize3DLayer",
    "attentionLayer", "selfAttentionLayer",
    "AttentionLayer", "SelfAttentionLayer",
    "positionEmbeddingLayer", "sinusoidalPositionEncodingLayer",
    "PositionEmbeddingLayer", "SinusoidalPositionEncodingLayer",
    "bilstmLayer",
    "BiLSTMLayer",
    "transposedConv1dLayer", "transposedConv3dLayer",
    "TransposedConvolution1DLayer", "TransposedConvolution3DLayer",
    "networkLayer",
    "NetworkLayer",
]
# fmt: on
