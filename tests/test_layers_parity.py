"""Layers composed of existing ops: eluLayer, swishLayer, softplusLayer, clippedReluLayer,
identityLayer, multiplicationLayer, global 1-D/3-D pooling, spatialDropoutLayer and
instanceNormalizationLayer. Values against numpy references written here; first and second
derivatives against finite differences in float64."""

import dlarray as dl
import numpy as np
import pytest
from dlarray import dlarray, dlnetwork
from dlarray.errors import FormatError, OptionError
from gradcheck import gradcheck, gradgradcheck


def _away_from(values, kinks, gap=0.05):
    """Shift elements closer than ``gap`` to a kink, so finite differences see one branch."""
    v = np.array(values, dtype=np.float64)
    for k in kinks:
        close = np.abs(v - k) < gap
        v[close] = k + gap * np.where(v[close] >= k, 2, -2)
    return v


def _x(shape=(3, 4), seed=0, scale=2.0, kinks=(0.0,)):
    return _away_from(np.random.default_rng(seed).standard_normal(shape) * scale, kinks)


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


ACTIVATIONS = [
    (dl.eluLayer(), lambda x: np.where(x > 0, x, np.expm1(x)), (0.0,)),
    (dl.eluLayer(0.3), lambda x: np.where(x > 0, x, 0.3 * np.expm1(x)), (0.0,)),
    (dl.swishLayer(), lambda x: x * _sigmoid(x), ()),
    (dl.softplusLayer(), lambda x: np.log1p(np.exp(x)), ()),
    (dl.clippedReluLayer(1.5), lambda x: np.clip(x, 0, 1.5), (0.0, 1.5)),
    (dl.identityLayer(), lambda x: x, ()),
]


@pytest.mark.parametrize("layer,reference,kinks", ACTIVATIONS, ids=lambda v: type(v).__name__ if isinstance(v, dl.Layer) else "")
def test_activation_layer_values_and_gradients(layer, reference, kinks):
    x = _x(kinks=kinks)
    X = dlarray(x, "CB")
    Y = layer.predict(X)
    assert Y.fmt == "CB"
    np.testing.assert_allclose(np.asarray(Y), reference(x), rtol=1e-12, atol=1e-14)
    np.testing.assert_array_equal(np.asarray(layer.forward(X)), np.asarray(Y))
    fn = lambda x: layer.predict(x)
    gradcheck(fn, X)
    if not isinstance(layer, (dl.layers.ClippedReLULayer, dl.layers.IdentityLayer)):  # piecewise linear: f'' = 0
        gradgradcheck(fn, X)


def test_activation_layers_in_a_network_and_options():
    net = dlnetwork(
        [
            dl.featureInputLayer(3),
            dl.fullyConnectedLayer(4),
            dl.eluLayer(Alpha=0.5),
            dl.swishLayer(),
            dl.softplusLayer(),
            dl.clippedReluLayer(6),
            dl.identityLayer(Name="skip"),
        ]
    )
    assert [layer.name for layer in net.layers] == ["input", "fc", "elu", "swish", "softplus", "clippedrelu", "skip"]
    assert net.layers[2].Alpha == 0.5
    assert net.predict(dlarray(np.ones((3, 2), np.float32), "CB")).dtype == np.float32
    softplus = dl.softplusLayer().predict(dlarray(np.array([[-800.0, 0.0, 800.0]]), "CB"))
    np.testing.assert_allclose(np.asarray(softplus), [[0.0, np.log(2), 800.0]], rtol=1e-15)  # no overflow
    elu = dl.eluLayer().predict(dlarray(np.array([[1000.0, -1000.0]]), "CB"))
    np.testing.assert_array_equal(np.asarray(elu), [[1000.0, -1.0]])
    with pytest.raises(OptionError, match="clippedReluLayer: ceiling must be positive"):
        dl.clippedReluLayer(-1)
    with pytest.raises(OptionError, match="eluLayer: alpha"):
        dl.eluLayer("big")
    with pytest.raises(TypeError):
        dl.clippedReluLayer()  # MATLAB's ceiling is required


def test_multiplication_layer():
    a, b, c = (_x((2, 3), seed=s) for s in (1, 2, 3))
    layer = dl.multiplicationLayer(3)
    assert layer.input_names == ["in1", "in2", "in3"]
    A, B, C = (dlarray(v, "CB") for v in (a, b, c))
    np.testing.assert_allclose(np.asarray(layer.predict(A, B, C)), a * b * c, rtol=1e-15)
    gradcheck(lambda x, y: layer._with(num_inputs=2).predict(x, y), A, B)
    gradgradcheck(lambda x, y: layer._with(num_inputs=2).predict(x, y), A, B)
    with pytest.raises(FormatError, match="different formats"):
        layer.predict(A, B, dlarray(c.T, "BC").reshape(2, 3))
    # In a graph: the product of two branches.
    net = dlnetwork(
        [dl.featureInputLayer(2), dl.fullyConnectedLayer(2, Name="fc1"), dl.multiplicationLayer(2, Name="mul")], initialize=False
    )
    net.add_layers(dl.fullyConnectedLayer(2, Name="fc2"))
    net.connect_layers("input", "fc2")
    net.connect_layers("fc2", "mul/in2")
    net.initialize()
    X = dlarray(a[:, :2].astype(np.float32).T.copy(), "CB")
    f1, f2, Y = net.predict(X, outputs=["fc1", "fc2", "mul"])
    np.testing.assert_allclose(np.asarray(Y), np.asarray(f1) * np.asarray(f2), rtol=1e-6)


GLOBAL = [
    (dl.globalAveragePooling1dLayer(), "SCB", (5, 2, 3), lambda x: x.mean(0, keepdims=True)),
    (dl.globalAveragePooling1dLayer(), "CBT", (2, 3, 5), lambda x: x.mean(2)),
    (dl.globalAveragePooling1dLayer(), "SCBT", (4, 2, 2, 3), lambda x: x.mean(0, keepdims=True)),
    (dl.globalAveragePooling3dLayer(), "SSSCB", (3, 2, 2, 2, 2), lambda x: x.mean((0, 1, 2), keepdims=True)),
    (dl.globalMaxPooling1dLayer(), "SCB", (5, 2, 3), lambda x: x.max(0, keepdims=True)),
    (dl.globalMaxPooling1dLayer(), "CBT", (2, 3, 5), lambda x: x.max(2)),
    (dl.globalMaxPooling2dLayer(), "SSCB", (3, 3, 2, 2), lambda x: x.max((0, 1), keepdims=True)),
    (dl.globalMaxPooling3dLayer(), "SSSCB", (3, 2, 2, 2, 2), lambda x: x.max((0, 1, 2), keepdims=True)),
]


@pytest.mark.parametrize("layer,fmt,shape,reference", GLOBAL, ids=lambda v: v if isinstance(v, str) else None)
def test_global_pooling_layers(layer, fmt, shape, reference):
    # Distinct values spaced apart: no ties for max, so finite differences see one branch.
    x = np.random.default_rng(4).permutation(np.prod(shape)).reshape(shape) * 0.37 - 3.0
    X = dlarray(x, fmt)
    Y = layer.predict(X)
    assert Y.fmt == ("CB" if fmt == "CBT" else fmt)
    np.testing.assert_allclose(np.asarray(Y), reference(x), rtol=1e-13)
    gradcheck(layer.predict, X)
    gradgradcheck(lambda x: layer.predict(x) ** 2, X)


def test_global_pooling_needs_its_dims():
    with pytest.raises(FormatError, match="GlobalAveragePooling3DLayer.*three 'S' dims"):
        dl.globalAveragePooling3dLayer().predict(dlarray(np.ones((2, 2, 2, 1)), "SSCB"))
    with pytest.raises(FormatError, match="GlobalMaxPooling1DLayer.*'S' dim"):
        dl.globalMaxPooling1dLayer().predict(dlarray(np.ones((2, 2)), "CB"))
    net = dlnetwork([dl.sequenceInputLayer(3), dl.globalAveragePooling1dLayer(), dl.fullyConnectedLayer(2)])
    Y = net.predict(dlarray(np.ones((3, 2, 7), np.float32), "CBT"))
    assert Y.fmt == "CB" and Y.shape == (2, 2)


def test_spatial_dropout_drops_whole_channels():
    x = _x((4, 3, 5, 6), seed=5) + 10.0  # no zeros of its own
    X = dlarray(x, "SSCB")
    layer = dl.spatialDropoutLayer(0.4)
    np.testing.assert_array_equal(np.asarray(layer.predict(X)), x)
    dl.rng(7)
    Y = np.asarray(layer.forward(X))
    dl.rng(7)
    keep = np.random.random_sample((1, 1, 5, 6)) > 0.4
    np.testing.assert_allclose(Y, x * keep / 0.6, rtol=1e-15)
    assert 0 < keep.sum() < keep.size
    seq = dlarray(_x((2, 3, 4), seed=6), "CBT")  # sequences: a channel is dropped at every step
    dl.rng(1)
    Ys = np.asarray(layer.forward(seq))
    dropped = np.all(Ys == 0, axis=2)
    assert np.array_equal(dropped, np.any(Ys == 0, axis=2)) and dropped.any()

    def fn(x):
        dl.rng(3)
        return layer.forward(x)

    gradcheck(fn, X[:2, :2, :, :2])
    gradgradcheck(lambda x: fn(x) ** 2, X[:2, :2, :, :2])
    assert np.array_equal(np.asarray(dl.spatialDropoutLayer(0).forward(X)), x)
    with pytest.raises(FormatError, match="spatialDropoutLayer.*'C' and 'B'"):
        layer.forward(dlarray(x[:, :, :, 0], "SSC"))
    with pytest.raises(OptionError, match="probability"):
        dl.spatialDropoutLayer(1.0)


def _instance_norm(x, offset, scale, axes, eps=1e-5):
    mu = x.mean(axes, keepdims=True)
    var = x.var(axes, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * scale + offset


def test_instance_normalization_layer():
    x = _x((4, 3, 2, 2), seed=8)
    net = dlnetwork([dl.imageInputLayer((4, 3, 2), normalization="none"), dl.instanceNormalizationLayer(Epsilon=1e-3)])
    t = net.learnables
    assert t.keys() == [("instancenorm", "Offset"), ("instancenorm", "Scale")]
    assert t["instancenorm", "Offset"].shape == (1, 1, 2) and float(t["instancenorm", "Scale"].sum()) == 2.0
    assert len(net.state) == 0
    offset, scale = np.array([0.5, -1.0]), np.array([2.0, 0.3])
    layer = net.layers[1]._with(Offset=dlarray(offset.reshape(1, 1, 2)), Scale=dlarray(scale.reshape(1, 1, 2)))
    X = dlarray(x, "SSCB")
    want = _instance_norm(x, offset.reshape(1, 1, 2, 1), scale.reshape(1, 1, 2, 1), (0, 1), 1e-3)
    np.testing.assert_allclose(np.asarray(layer.predict(X)), want, rtol=1e-10, atol=1e-12)
    np.testing.assert_array_equal(np.asarray(layer.forward(X)), np.asarray(layer.predict(X)))
    # Sequences: normalised over T per channel and observation.
    s = _x((2, 3, 5), seed=9)
    seq_layer = dlnetwork([dl.sequenceInputLayer(2), dl.instanceNormalizationLayer()]).layers[1]
    assert seq_layer.Offset.shape == (2, 1)
    np.testing.assert_allclose(np.asarray(seq_layer.predict(dlarray(s, "CBT"))), _instance_norm(s, 0, 1, (2,)), rtol=1e-9, atol=1e-12)
    small = X[:2, :2, :, :1]
    fn = lambda x, o, g: layer._with(Offset=o, Scale=g).predict(x)
    o, g = dlarray(offset.reshape(1, 1, 2)), dlarray(scale.reshape(1, 1, 2))
    gradcheck(fn, small, o, g, rtol=1e-4)
    gradgradcheck(fn, small, o, g, rtol=1e-4)
    with pytest.raises(OptionError, match="epsilon"):
        dl.instanceNormalizationLayer(epsilon=0)


def test_cross_channel_normalization_layer():
    x = _x((2, 2, 5, 2), seed=10)
    layer = dl.crossChannelNormalizationLayer(3, Alpha=0.5, Beta=0.6, K=1.5)
    ss = np.zeros_like(x)
    for c in range(5):
        ss[:, :, c] = (x[:, :, max(c - 1, 0) : c + 2] ** 2).sum(2)
    want = x / (1.5 + 0.5 * ss / 3) ** 0.6
    X = dlarray(x, "SSCB")
    np.testing.assert_allclose(np.asarray(layer.predict(X)), want, rtol=1e-12)
    net = dlnetwork([dl.imageInputLayer((2, 2, 5), normalization="none"), dl.crossChannelNormalizationLayer(5)])
    assert len(net.learnables) == 0 and net.layers[1].alpha == 1e-4 and net.layers[1].k == 2.0
    small = X[:1, :2, :, :1]
    gradcheck(layer.predict, small)
    gradgradcheck(layer.predict, small)
    with pytest.raises(OptionError, match="window_channel_size"):
        dl.crossChannelNormalizationLayer(0)
