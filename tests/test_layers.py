"""Every layer family: construction, MATLAB's parameter shapes and defaults, forward/predict,
and the recurrent layers' state."""

import dlarray as dl
import numpy as np
import pytest
from dlarray import convolution2dLayer, dlarray, dlnetwork, extractdata, imageInputLayer


@pytest.mark.parametrize(
    "layers, x, fmt, out_shape, out_fmt, learnables",
    [
        (
            [dl.sequenceInputLayer(3), dl.convolution1dLayer(3, 4, padding="causal")],
            (3, 2, 7),
            "CBT",
            (4, 2, 7),
            "CBT",
            {("conv1d", "Weights"): (3, 3, 4), ("conv1d", "Bias"): (1, 4)},
        ),
        (
            [imageInputLayer((6, 6, 2), normalization="none"), convolution2dLayer((3, 2), 5, stride=2, dilation_factor=1)],
            (6, 6, 2, 3),
            "SSCB",
            (2, 3, 5, 3),
            "SSCB",
            {("conv", "Weights"): (3, 2, 2, 5), ("conv", "Bias"): (1, 1, 5)},
        ),
        (
            [imageInputLayer((4, 4, 3), normalization="none"), dl.transposedConv2dLayer(3, 2, stride=2, cropping="same")],
            (4, 4, 3, 1),
            "SSCB",
            (8, 8, 2, 1),
            "SSCB",
            {("transconv", "Weights"): (3, 3, 2, 3), ("transconv", "Bias"): (1, 1, 2)},
        ),
        (
            [imageInputLayer((4, 4, 3), normalization="none"), dl.groupedConvolution2dLayer(3, 2, "channel-wise")],
            (4, 4, 3, 2),
            "SSCB",
            (2, 2, 6, 2),
            "SSCB",
            {("groupedconv", "Weights"): (3, 3, 1, 2, 3), ("groupedconv", "Bias"): (1, 1, 2, 3)},
        ),
        (
            [
                imageInputLayer((4, 4, 4), normalization="none"),
                dl.layerNormalizationLayer(),
                dl.groupNormalizationLayer(2),
                dl.globalAveragePooling2dLayer(),
                dl.flattenLayer(),
            ],
            (4, 4, 4, 2),
            "SSCB",
            (4, 2),
            "CB",
            {
                ("layernorm", "Offset"): (1, 1, 4),
                ("layernorm", "Scale"): (1, 1, 4),
                ("groupnorm", "Offset"): (1, 1, 4),
                ("groupnorm", "Scale"): (1, 1, 4),
            },
        ),
        (
            [
                imageInputLayer((4, 4, 1), normalization="none"),
                dl.averagePooling2dLayer(2, stride=2, padding="same"),
                dl.leakyReluLayer(0.2),
                dl.geluLayer(),
                dl.sigmoidLayer(),
                dl.tanhLayer(),
            ],
            (4, 4, 1, 2),
            "SSCB",
            (2, 2, 1, 2),
            "SSCB",
            {},
        ),
        ([dl.sequenceInputLayer(1), dl.embeddingLayer(5, 10)], (1, 2, 4), "CBT", (5, 2, 4), "CBT", {("embedding", "Weights"): (5, 10)}),
    ],
)
def test_layer_families(layers, x, fmt, out_shape, out_fmt, learnables):
    np.random.seed(0)
    net = dlnetwork(layers)
    assert {(layer, p): tuple(v.shape) for layer, p, v in net.learnables} == learnables
    data = np.random.default_rng(0).integers(0, 10, x).astype(np.float32)
    X = dlarray(data, fmt)
    for Y in (net.predict(X), net.forward(X)):
        assert Y.shape == out_shape and Y.fmt == out_fmt
        assert np.isfinite(extractdata(Y)).all()


def test_lstm_layer_matches_functional_lstm_and_keeps_state():
    np.random.seed(0)
    net = dlnetwork([dl.sequenceInputLayer(3), dl.lstmLayer(5, name="lstm")])
    t = net.learnables
    assert [tuple(v.shape) for v in t.value] == [(20, 3), (20, 5), (20, 1)]
    b = extractdata(t["lstm", "Bias"])[:, 0]
    np.testing.assert_array_equal(b, [0] * 5 + [1] * 5 + [0] * 10)  # unit-forget-gate
    R = extractdata(t["lstm", "RecurrentWeights"])
    np.testing.assert_allclose(R.T @ R, np.eye(5), atol=1e-5)  # orthogonal
    x = np.random.default_rng(1).standard_normal((3, 2, 6)).astype(np.float32)
    X = dlarray(x, "CBT")
    Y, state = net.predict(X, return_state=True)
    h0 = np.zeros((5, 1), np.float32)
    Yf, h, c = dl.lstm(X, h0, h0, t["lstm", "InputWeights"], t["lstm", "RecurrentWeights"], t["lstm", "Bias"])
    assert Y.fmt == "CBT" and Y.shape == (5, 2, 6)
    np.testing.assert_allclose(extractdata(Y), extractdata(Yf), rtol=1e-6)
    assert state["lstm", "HiddenState"].shape == (5, 2)
    np.testing.assert_allclose(extractdata(state["lstm", "HiddenState"]), extractdata(h), rtol=1e-6)
    # Stateful prediction: the next call starts from the assigned state.
    net.state = state
    Y2 = net.predict(X)
    Y2f, _, _ = dl.lstm(X, h, c, t["lstm", "InputWeights"], t["lstm", "RecurrentWeights"], t["lstm", "Bias"])
    np.testing.assert_allclose(extractdata(Y2), extractdata(Y2f), rtol=1e-6)
    # A mini-batch of another size starts from the initial state (MATLAB's reset).
    Y1 = net.predict(dlarray(x[:, :1], "CBT"))
    Y1f, _, _ = dl.lstm(dlarray(x[:, :1], "CBT"), h0, h0, t["lstm", "InputWeights"], t["lstm", "RecurrentWeights"], t["lstm", "Bias"])
    np.testing.assert_allclose(extractdata(Y1), extractdata(Y1f), rtol=1e-6)
    net.reset_state()
    assert net.state["lstm", "HiddenState"].shape == (5, 1)
    last = dlnetwork([dl.sequenceInputLayer(3), dl.lstmLayer(5, output_mode="last")])
    YL = last.predict(X)
    assert YL.fmt == "CB" and YL.shape == (5, 2)


def test_gru_layer_shapes_and_output_mode():
    np.random.seed(0)
    net = dlnetwork([dl.sequenceInputLayer(3), dl.gruLayer(4, output_mode="last")])
    assert [tuple(v.shape) for v in net.learnables.value] == [(12, 3), (12, 4), (12, 1)]
    assert net.state.parameter == ["HiddenState"]
    Y = net.forward(dlarray(np.ones((3, 2, 5), np.float32), "CBT"))
    assert Y.fmt == "CB" and Y.shape == (4, 2)
    six = dlnetwork([dl.sequenceInputLayer(3), dl.gruLayer(4, reset_gate_mode="recurrent-bias-after-multiplication")])
    assert six.learnables["gru", "Bias"].shape == (24, 1)


def test_function_layer_with_two_outputs_and_port_names():
    def split(x):
        return x[:2], x[2:]

    net = dlnetwork([dl.featureInputLayer(4), dl.functionLayer(split, num_outputs=2, name="split")], initialize=False)
    net.add_layers(dl.additionLayer(2, name="add"))
    with pytest.raises(dl.OptionError, match="several outputs"):
        net.connect_layers("split", "add/in1")
    net.connect_layers("split/out2", "add/in1")
    net.add_layers(dl.functionLayer(lambda x: x * 10, name="times10"))
    net.connect_layers("split/out1", "times10")
    net.connect_layers("times10", "add/in2")
    assert ("split/out1", "times10") in net.connections
    net.initialize()
    assert net.output_names == ["add"]
    x = np.arange(4, dtype=np.float32).reshape(4, 1)
    np.testing.assert_array_equal(extractdata(net.predict(x)), [[2 + 0], [3 + 10]])
    out1, out2 = net.predict(x, outputs=["split/out1", "split/out2"])
    np.testing.assert_array_equal(extractdata(out2), [[2], [3]])


def test_function_layer_unformatted_by_default():
    seen = []
    net = dlnetwork([dl.featureInputLayer(3), dl.functionLayer(lambda x: seen.append(x.fmt) or x * 2)])
    Y = net.predict(np.ones((3, 2), np.float32))
    assert seen[-1] == "" and Y.fmt == "CB"
    np.testing.assert_array_equal(extractdata(Y), 2)


def test_convolution3d_layer_without_input_layer():
    np.random.seed(0)
    net = dlnetwork([dl.convolution3dLayer(3, 4, padding="same"), dl.depthConcatenationLayer(1)])
    assert not net.initialized
    X = dlarray(np.ones((5, 5, 5, 2, 3), np.float32), "SSSCB")
    net.initialize(X)
    assert net.input_names == ["conv3d"]
    assert [tuple(v.shape) for v in net.learnables.value] == [(3, 3, 3, 2, 4), (1, 1, 1, 4)]
    Y = net.predict(X)
    assert Y.shape == (5, 5, 5, 4, 3) and Y.fmt == "SSSCB"
