"""Layers added after the first 47: transposedConv1dLayer / transposedConv3dLayer,
bilstmLayer, sinusoidalPositionEncodingLayer, positionEmbeddingLayer, selfAttentionLayer,
attentionLayer, crop2dLayer, resize2dLayer / resize3dLayer and the functional dlresize.

Values against numpy references written here in float64, first and second derivatives
against finite differences (tests/gradcheck.py), the layers inside a dlnetwork with MATLAB's
learnable names, and bad input raising the project's typed errors."""

import itertools

import dlarray as dl
import numpy as np
import pytest
from dlarray import dlarray, dlnetwork, extractdata
from dlarray.errors import OptionError, ShapeError
from gradcheck import gradcheck, gradgradcheck


def _rng(seed=0):
    return np.random.default_rng(seed)


def _np(x):
    return np.asarray(extractdata(x))


# ----- transposed convolution 1-D and 3-D ------------------------------------------------------


def _transposed_conv_reference(x, w, b, stride, crop_before, crop_after):
    """Transposed convolution of x (S..., C, B) with MATLAB's weights (K..., F, C), float64:
    input element i scatters w[k] into output position i·stride + k."""
    d = w.ndim - 2
    spatial, B = x.shape[:d], x.shape[-1]
    ks, F = w.shape[:d], w.shape[d]
    full = tuple((i - 1) * s + k for i, s, k in zip(spatial, stride, ks))
    y = np.zeros(full + (F, B))
    for pos in itertools.product(*(range(i) for i in spatial)):
        for k in itertools.product(*(range(kk) for kk in ks)):
            out = tuple(p * s + kk for p, s, kk in zip(pos, stride, k))
            y[out] += np.einsum("fc,cb->fb", w[k], x[pos])
    y = y + b.reshape((1,) * d + (F, 1))
    index = tuple(slice(cb, n - ca) for cb, ca, n in zip(crop_before, crop_after, full))
    return y[index]


@pytest.mark.parametrize("ctor, x_shape, fmt, kernel, stride, cropping, crops", [
    (dl.transposedConv1dLayer, (4, 3, 2), "SCB", (3,), (2,), 0, ((0,), (0,))),
    (dl.transposedConv1dLayer, (4, 3, 2), "SCB", (3,), (2,), "same", ((0,), (1,))),
    (dl.transposedConv1dLayer, (4, 3, 2), "SCB", (4,), (1,), [[1], [2]], ((1,), (2,))),
    (dl.transposedConv3dLayer, (2, 3, 2, 2, 1), "SSSCB", (2, 2, 1), (2, 1, 2), 0, ((0, 0, 0), (0, 0, 0))),
    (dl.transposedConv3dLayer, (2, 2, 2, 2, 2), "SSSCB", (3, 3, 3), (2, 2, 2), "same", ((0, 0, 0), (1, 1, 1))),
])
def test_transposed_conv_layers_against_numpy(ctor, x_shape, fmt, kernel, stride, cropping, crops):
    rng = _rng(1)
    x = rng.standard_normal(x_shape)
    layer = ctor(kernel, 3, stride=stride, cropping=cropping, name="tc")
    net = dlnetwork([layer], initialize=False).initialize(dlarray(x, fmt))
    W, b = net.learnables["tc", "Weights"], net.learnables["tc", "Bias"]
    C = x_shape[-2]
    assert W.shape == tuple(kernel) + (3, C) and b.shape == (1,) * len(kernel) + (3,)
    # Explicit values: float64 everywhere, bias nonzero.
    w = rng.standard_normal(W.shape)
    bias = rng.standard_normal(b.shape)
    layer64 = ctor(kernel, 3, stride=stride, cropping=cropping, weights=w, bias=bias)
    Y = layer64.predict(dlarray(x, fmt))
    assert Y.fmt == fmt
    ref = _transposed_conv_reference(x, w, bias, stride, *crops)
    np.testing.assert_allclose(_np(Y), ref, rtol=1e-12, atol=1e-12)
    if cropping == "same":
        assert Y.shape[:len(kernel)] == tuple(s * i for s, i in zip(stride, x_shape))


def test_transposed_conv1d_over_time_and_options():
    x = _rng(2).standard_normal((2, 1, 5))
    layer = dl.transposedConv1dLayer(3, 2, Stride=2, WeightsInitializer="he", BiasInitializer="ones", Name="up")
    assert layer.Stride == (2,) and layer.weights_initializer == "he"
    net = dlnetwork([dl.sequenceInputLayer(2), layer])
    assert [(n, p) for n, p, _ in net.learnables] == [("up", "Weights"), ("up", "Bias")]
    np.testing.assert_array_equal(_np(net.learnables["up", "Bias"]), np.ones((1, 2)))
    Y = net.predict(dlarray(x.astype(np.float32), "CBT"))
    assert Y.fmt == "CBT" and Y.shape == (2, 1, 11)


def test_transposed_conv_layer_gradients():
    x = _rng(3).standard_normal((3, 2, 1))
    w = _rng(4).standard_normal((2, 2, 2))
    layer = dl.transposedConv1dLayer(2, 2, stride=2, weights=w, bias=np.zeros((1, 2)))
    gradcheck(lambda X: layer.predict(X), dlarray(x, "SCB"))
    fn = lambda X, W: dl.dltranspconv(X, W, 0.0, stride=2)
    gradgradcheck(lambda X, W: dl.tanh(fn(X, W)), dlarray(x, "SCB"), w)


def test_transposed_conv_layer_bad_input():
    with pytest.raises(OptionError, match="transposedConv1dLayer"):
        dl.transposedConv1dLayer(3, 2, cropping="valid")
    with pytest.raises(OptionError, match="transposedConv3dLayer"):
        dl.transposedConv3dLayer(3, 2, padding=1)
    with pytest.raises(OptionError, match="TransposedConvolution3DLayer"):
        dl.transposedConv3dLayer((3, 3), 2)
    with pytest.raises(dl.UnknownOptionError):
        dl.transposedConv1dLayer(3, 2, Croping=1)
    with pytest.raises(ShapeError, match="transconv3d"):
        dlnetwork([dl.transposedConv3dLayer(2, 2, weights=np.zeros((2, 2, 2, 2, 5)))],
                  initialize=False).initialize(dlarray(np.zeros((2, 2, 2, 3, 1)), "SSSCB"))
