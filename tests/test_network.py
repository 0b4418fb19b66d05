"""dlnetwork, layers and the learnables/state tables (design.md §6–7)."""

import dlarray as dl
import numpy as np
import pytest
from dlarray import (
    AutodiffError,
    FormatError,
    OptionError,
    ShapeError,
    additionLayer,
    batchNormalizationLayer,
    convolution2dLayer,
    crossentropy,
    dlarray,
    dlfeval,
    dlgradient,
    dlnetwork,
    dropoutLayer,
    extractdata,
    featureInputLayer,
    fullyConnectedLayer,
    imageInputLayer,
    maxPooling2dLayer,
    reluLayer,
    softmaxLayer,
)
from dlarray.layers import Layer
from dlarray.network import Table


def seed_layers():
    return [
        imageInputLayer((28, 28, 1), normalization="none"),
        convolution2dLayer(5, 20, padding="same"),
        batchNormalizationLayer(),
        reluLayer(),
        maxPooling2dLayer(2, stride=2),
        fullyConnectedLayer(10),
        softmaxLayer(),
    ]


def small_digits(n=256):
    XTrain, YTrain, _ = dl.digitTrain4DArrayData()
    return XTrain[..., :n], YTrain[:n]


# ---- the canonical loop of design.md §7, verbatim -----------------------------------------------


def test_canonical_loop_runs_and_loss_decreases():
    from dlarray import (  # noqa: F811
        batchNormalizationLayer,
        convolution2dLayer,
        crossentropy,
        digitTrain4DArrayData,
        dlarray,
        dlfeval,
        dlgradient,
        dlnetwork,
        fullyConnectedLayer,
        imageInputLayer,
        maxPooling2dLayer,
        reluLayer,
        sgdmupdate,
        softmaxLayer,
    )

    np.random.seed(0)
    XTrain, YTrain, _ = digitTrain4DArrayData()
    net = dlnetwork(
        [
            imageInputLayer((28, 28, 1), normalization="none"),
            convolution2dLayer(5, 20, padding="same"),
            batchNormalizationLayer(),
            reluLayer(),
            maxPooling2dLayer(2, stride=2),
            fullyConnectedLayer(10),
            softmaxLayer(),
        ]
    )

    def model_loss(net, X, T):
        Y, state = net.forward(X, return_state=True)
        loss = crossentropy(Y, T)
        return loss, dlgradient(loss, net.learnables), state

    # The same 64 images every iteration, so the loss must fall.
    batches = [np.arange(64)] * 8
    losses = []
    vel = None
    for iteration, idx in enumerate(batches, start=1):  # idx: indices of a mini-batch
        X = dlarray(XTrain[..., idx], "SSCB")
        T = dlarray(np.eye(10, dtype=np.float32)[YTrain[idx]], "BC")  # becomes "CB"
        loss, grads, state = dlfeval(model_loss, net, X, T)
        net.state = state
        net, vel = sgdmupdate(net, grads, vel, 0.01 / (1 + 0.01 * iteration), 0.9)
        losses.append(float(loss))

    assert T.fmt == "CB"
    assert isinstance(grads, Table) and grads.keys() == net.learnables.keys()
    assert isinstance(net, dlnetwork)
    assert losses[-1] < 0.7 * losses[0], losses
    # The running statistics moved away from their initial values (0 and 1).
    assert np.abs(extractdata(net.state["batchnorm", "TrainedMean"])).max() > 0
    assert not np.allclose(extractdata(net.state["batchnorm", "TrainedVariance"]), 1)


def test_model_function_with_parameters_dict_and_adamupdate():
    from dlarray import adamupdate, fullyconnect, relu, softmax

    rng = np.random.default_rng(0)
    X = dlarray(rng.standard_normal((4, 32)).astype(np.float32), "CB")
    labels = (np.asarray(X)[0] > 0).astype(int)
    T = dlarray(np.eye(2, dtype=np.float32)[labels], "BC")
    params = {
        "fc1": {"Weights": dlarray(rng.standard_normal((8, 4)).astype(np.float32) * 0.5), "Bias": dlarray(np.zeros((8, 1), np.float32))},
        "fc2": {"Weights": dlarray(rng.standard_normal((2, 8)).astype(np.float32) * 0.5), "Bias": dlarray(np.zeros((2, 1), np.float32))},
    }

    def model(params, X):
        Y = relu(fullyconnect(X, params["fc1"]["Weights"], params["fc1"]["Bias"]))
        return softmax(fullyconnect(Y, params["fc2"]["Weights"], params["fc2"]["Bias"]))

    def model_loss(params, X, T):
        loss = crossentropy(model(params, X), T)
        return loss, dlgradient(loss, params)

    avg, avg_sq, losses = None, None, []
    for iteration in range(1, 31):
        loss, grads = dlfeval(model_loss, params, X, T)
        assert set(grads) == {"fc1", "fc2"} and set(grads["fc1"]) == {"Weights", "Bias"}
        assert grads["fc1"]["Weights"].shape == (8, 4)
        params, avg, avg_sq = adamupdate(params, grads, avg, avg_sq, iteration, 0.05)
        losses.append(float(loss))
    assert losses[-1] < 0.5 * losses[0]


# ---- graphs --------------------------------------------------------------------------------------


def residual_network():
    net = dlnetwork()
    net.add_layers(
        [
            featureInputLayer(6, name="in"),
            fullyConnectedLayer(6, name="fc1"),
            reluLayer(name="relu1"),
            fullyConnectedLayer(6, name="fc2"),
            additionLayer(2, name="add"),
            reluLayer(name="relu2"),
            fullyConnectedLayer(3, name="fcout"),
        ]
    )
    # The skip connection: relu1 -> add/in2 (fc2 -> add/in1 came from the series).
    net.connect_layers("relu1", "add/in2")
    net.initialize()
    return net


def test_residual_graph_network_matches_hand_computation():
    np.random.seed(1)
    net = residual_network()
    assert net.initialized
    assert ("relu1", "add/in2") in net.connections
    assert ("fc2", "add/in1") in net.connections
    assert net.input_names == ["in"] and net.output_names == ["fcout"]
    X = np.random.default_rng(2).standard_normal((6, 5)).astype(np.float32)
    Y = net.predict(dlarray(X, "CB"))
    p = {(layer, n): extractdata(v) for layer, n, v in net.learnables}
    h1 = np.maximum(p["fc1", "Weights"] @ X + p["fc1", "Bias"], 0)
    h2 = p["fc2", "Weights"] @ h1 + p["fc2", "Bias"]
    expected = p["fcout", "Weights"] @ np.maximum(h2 + h1, 0) + p["fcout", "Bias"]
    assert Y.fmt == "CB"
    np.testing.assert_allclose(extractdata(Y), expected, rtol=1e-5, atol=1e-5)
    # Intermediate outputs by name; several at once come back as a tuple.
    a, b = net.predict(dlarray(X, "CB"), outputs=["relu1", "add"])
    np.testing.assert_allclose(extractdata(a), h1, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(extractdata(b), h2 + h1, rtol=1e-5, atol=1e-5)


def test_residual_gradient_flows_through_both_branches():
    np.random.seed(3)
    net = residual_network()
    X = dlarray(np.random.default_rng(4).standard_normal((6, 5)).astype(np.float32), "CB")

    def loss_fn(net, X):
        loss = net.forward(X).sum()
        return loss, dlgradient(loss, net.learnables)

    loss, grads = dlfeval(loss_fn, net, X)
    assert grads.keys() == net.learnables.keys()
    # Finite differences in float64 on one weight of the skipped branch.
    W = extractdata(net.learnables["fc1", "Weights"]).astype(np.float64)
    t = net.learnables
    for i, j in [(0, 0), (2, 3)]:
        vals = []
        for step in (1e-3, -1e-3):
            W2 = W.copy()
            W2[i, j] += step
            t["fc1", "Weights"] = dlarray(W2.astype(np.float32))
            n2 = dlnetwork(net)
            n2.learnables = t
            vals.append(float(n2.forward(X).sum()))
        fd = (vals[0] - vals[1]) / 2e-3
        assert abs(fd - extractdata(grads["fc1", "Weights"])[i, j]) < 2e-2 * max(1, abs(fd))


def test_graph_editing_errors_and_operations():
    net = dlnetwork([featureInputLayer(3), fullyConnectedLayer(4), reluLayer(), fullyConnectedLayer(2)], initialize=False)
    assert [layer.name for layer in net.layers] == ["input", "fc_1", "relu", "fc_2"]
    with pytest.raises(OptionError, match="duplicate"):
        net.add_layers(reluLayer(name="relu"))
    with pytest.raises(OptionError, match="already connected"):
        net.connect_layers("input", "relu")
    with pytest.raises(OptionError, match="no layer named 'nope'"):
        net.connect_layers("nope", "relu")
    net.add_layers(additionLayer(2, name="add"))
    with pytest.raises(OptionError, match="several inputs"):
        net.connect_layers("fc_2", "add")
    with pytest.raises(OptionError, match="no input 'in3'"):
        net.connect_layers("fc_2", "add/in3")
    net.connect_layers("fc_2", "add/in1")
    with pytest.raises(OptionError, match="cycle"):
        net.connect_layers("add", "add/in2")
    net.disconnect_layers("fc_2", "add/in1")
    net.remove_layers("add")
    assert "add" not in [layer.name for layer in net.layers]
    net.replace_layer("relu", [dl.tanhLayer(name="t1"), dl.sigmoidLayer(name="s1")])
    assert [layer.name for layer in net.layers] == ["input", "fc_1", "t1", "s1", "fc_2"]
    assert ("fc_1", "t1") in net.connections and ("s1", "fc_2") in net.connections
    net.initialize()
    X = np.random.default_rng(0).standard_normal((3, 2)).astype(np.float32)
    p = {(layer, n): extractdata(v) for layer, n, v in net.learnables}
    h = 1 / (1 + np.exp(-np.tanh(p["fc_1", "Weights"] @ X + p["fc_1", "Bias"])))
    np.testing.assert_allclose(extractdata(net.predict(X)), p["fc_2", "Weights"] @ h + p["fc_2", "Bias"], rtol=1e-5, atol=1e-6)


def test_automatic_names_follow_matlab_scheme():
    net = dlnetwork(seed_layers(), initialize=False)
    assert [layer.name for layer in net.layers] == ["imageinput", "conv", "batchnorm", "relu", "maxpool", "fc", "softmax"]
    net.add_layers(reluLayer())  # "relu" is taken: the next free number
    assert net.layers[-1].name == "relu_1"


def test_multiple_inputs_and_outputs():
    np.random.seed(0)
    net = dlnetwork()
    net.add_layers([featureInputLayer(2, name="a"), fullyConnectedLayer(3, name="fa")])
    net.add_layers([featureInputLayer(4, name="b"), fullyConnectedLayer(3, name="fb")])
    net.add_layers(dl.concatenationLayer("C", 2, name="cat"))
    net.connect_layers("fa", "cat/in1")
    net.connect_layers("fb", "cat/in2")
    net.add_layers(reluLayer(name="r"))
    net.connect_layers("fa", "r")
    net.initialize()
    assert net.input_names == ["a", "b"]
    assert net.output_names == ["cat", "r"]
    xa = np.ones((2, 5), np.float32)
    xb = np.ones((4, 5), np.float32)
    cat, r = net.predict(xa, xb)
    assert cat.shape == (6, 5) and cat.fmt == "CB"
    assert r.shape == (3, 5)
    with pytest.raises(OptionError, match="2 inputs"):
        net.predict(xa)
    with pytest.raises(FormatError, match="expected input format 'CB'"):
        net.predict(dlarray(xa, "CT"), xb)
    with pytest.raises(ShapeError, match="input size"):
        net.predict(xb, xb)


def test_network_without_input_layer_needs_example_inputs():
    net = dlnetwork([fullyConnectedLayer(3), reluLayer()])
    assert not net.initialized
    with pytest.raises(OptionError, match="not initialized"):
        net.predict(dlarray(np.ones((4, 2), np.float32), "CB"))
    with pytest.raises(OptionError, match="example inputs"):
        net.initialize()
    net.initialize(dlarray(np.ones((4, 1), np.float32), "CB"))
    assert net.learnables["fc", "Weights"].shape == (3, 4)
    assert net.predict(dlarray(np.ones((4, 2), np.float32), "CB")).shape == (3, 2)


# ---- forward vs predict, state -------------------------------------------------------------------


def test_forward_vs_predict_dropout():
    np.random.seed(0)
    net = dlnetwork([featureInputLayer(1000), dropoutLayer(0.5)])
    X = dlarray(np.ones((1000, 4), np.float32), "CB")
    np.testing.assert_array_equal(extractdata(net.predict(X)), 1.0)
    Y = extractdata(net.forward(X))
    assert set(np.unique(Y)) <= {0.0, 2.0}  # inverted dropout scales kept values by 1/(1-p)
    assert 0.4 < np.mean(Y == 0) < 0.6
    assert not np.array_equal(Y, extractdata(net.forward(X)))


def test_forward_vs_predict_batchnorm_and_state_update():
    np.random.seed(0)
    net = dlnetwork([featureInputLayer(3), batchNormalizationLayer(name="bn")])
    rng = np.random.default_rng(5)
    x = (rng.standard_normal((3, 64)) * np.array([[1], [2], [3]]) + np.array([[1], [-1], [5]])).astype(np.float32)
    X = dlarray(x, "CB")
    Y, state = net.forward(X, return_state=True)
    mu, var = x.mean(1, keepdims=True), x.var(1, keepdims=True)
    np.testing.assert_allclose(extractdata(Y), (x - mu) / np.sqrt(var + 1e-5), rtol=1e-4, atol=1e-4)
    # MeanDecay 0.1: new = 0.9 * old + 0.1 * batch statistic; shapes are MATLAB's (C, 1).
    assert state["bn", "TrainedMean"].shape == (3, 1)
    np.testing.assert_allclose(extractdata(state["bn", "TrainedMean"]), 0.1 * mu, rtol=1e-5, atol=1e-6)
    unbiased = x.var(1, ddof=1, keepdims=True)
    np.testing.assert_allclose(extractdata(state["bn", "TrainedVariance"]), 0.9 + 0.1 * unbiased, rtol=1e-4)
    # The network's own state is untouched until assigned (value semantics).
    np.testing.assert_array_equal(extractdata(net.state["bn", "TrainedMean"]), 0)
    np.testing.assert_allclose(extractdata(net.predict(X)), x / np.sqrt(1 + 1e-5), rtol=1e-5)
    net.state = state
    m, v = extractdata(state["bn", "TrainedMean"]), extractdata(state["bn", "TrainedVariance"])
    np.testing.assert_allclose(extractdata(net.predict(X)), (x - m) / np.sqrt(v + 1e-5), rtol=1e-4, atol=1e-5)
    # forward without return_state returns just Y; predict's state is unchanged.
    assert isinstance(net.forward(X), dlarray)
    _, s2 = net.predict(X, return_state=True)
    np.testing.assert_array_equal(extractdata(s2["bn", "TrainedMean"]), m)


def test_dlfeval_traces_learnables_and_state():
    net = dlnetwork([featureInputLayer(2), batchNormalizationLayer(name="bn")])
    X = dlarray(np.arange(8, dtype=np.float32).reshape(2, 4), "CB")

    def fn(net, X):
        assert all(v.traced for v in net.learnables.value)
        assert all(v.traced for v in net.state.value)
        Y = net.forward(X)
        return dlgradient((Y * Y).sum(), net.learnables)

    g = dlfeval(fn, net, X)
    assert isinstance(g, Table) and g.keys() == [("bn", "Offset"), ("bn", "Scale")]
    assert all(not v.traced for v in g.value)
    with pytest.raises(AutodiffError):
        dlgradient(dlarray(1.0), net.learnables)


# ---- tables --------------------------------------------------------------------------------------


def test_learnables_table_interface():
    np.random.seed(0)
    net = dlnetwork(seed_layers())
    t = net.learnables
    assert len(t) == 6
    assert t.layer == ["conv", "conv", "batchnorm", "batchnorm", "fc", "fc"]
    assert t.parameter == ["Weights", "Bias", "Offset", "Scale", "Weights", "Bias"]
    assert t["conv", "Weights"].shape == (5, 5, 1, 20)
    assert t["conv", "Bias"].shape == (1, 1, 20)
    assert t["fc", "Weights"].shape == (10, 14 * 14 * 20)
    assert t["fc", "Bias"].shape == (10, 1)
    assert t["batchnorm", "Offset"].shape == (1, 1, 20)
    assert net.state.parameter == ["TrainedMean", "TrainedVariance"]
    rows = list(t)
    assert rows[0].layer == "conv" and rows[0].parameter == "Weights" and rows[0] == t[0]
    layer, parameter, value = t[-1]
    assert (layer, parameter) == ("fc", "Bias")
    assert len(t["conv"]) == 2
    with pytest.raises(KeyError, match="no row with layer 'conv' and parameter 'Scale'"):
        t["conv", "Scale"]
    text = repr(t)
    assert "layer" in text and "conv" in text and "5x5x1x20" in text
    # Assignment changes this table only; assigning it back changes the network.
    new_bias = dlarray(np.full((10, 1), 3.0, np.float32))
    t["fc", "Bias"] = new_bias
    assert not np.any(extractdata(net.learnables["fc", "Bias"]) == 3.0)
    net.learnables = t
    np.testing.assert_array_equal(extractdata(net.learnables["fc", "Bias"]), 3.0)
    with pytest.raises(ShapeError, match="expected \\(10, 1\\)"):
        t["fc", "Bias"] = dlarray(np.zeros((3, 1), np.float32))
        net.learnables = t
    bad = Table(["nope"], ["Weights"], [dlarray(np.zeros(1, np.float32))])
    with pytest.raises(OptionError, match="no learnable parameter 'Weights' in layer 'nope'"):
        net.learnables = bad


def test_table_to_pandas():
    pd = pytest.importorskip("pandas")
    net = dlnetwork([featureInputLayer(3), fullyConnectedLayer(2)])
    df = net.learnables.to_pandas()
    assert isinstance(df, pd.DataFrame) and list(df.columns) == ["layer", "parameter", "value"]
    assert list(df["parameter"]) == ["Weights", "Bias"]


def test_value_semantics_of_updates():
    from dlarray import sgdmupdate

    net = dlnetwork([featureInputLayer(3), fullyConnectedLayer(2)])
    before = extractdata(net.learnables["fc", "Weights"])
    grads = net.learnables.map(lambda v: v * 0 + 1)
    net2, vel = sgdmupdate(net, grads, None, 0.1, 0.9)
    assert net2 is not net
    np.testing.assert_array_equal(extractdata(net.learnables["fc", "Weights"]), before)
    np.testing.assert_allclose(extractdata(net2.learnables["fc", "Weights"]), before - 0.1, rtol=1e-6)
    assert isinstance(vel, Table)


def test_learn_rate_factors_are_applied_per_parameter():
    from dlarray import sgdmupdate

    net = dlnetwork([featureInputLayer(3), fullyConnectedLayer(2, weight_learn_rate_factor=0.0, bias_learn_rate_factor=2.0)])
    assert net._learn_rate_factors() == [0.0, 2.0]
    assert net.get_l2_factor("fc", "Weights") == 1.0 and net.get_l2_factor("fc", "Bias") == 0.0
    grads = net.learnables.map(lambda v: v * 0 + 1)
    net2, _ = sgdmupdate(net, grads, None, 0.1, 0.0)
    np.testing.assert_array_equal(extractdata(net2.learnables["fc", "Weights"]), extractdata(net.learnables["fc", "Weights"]))
    np.testing.assert_allclose(extractdata(net2.learnables["fc", "Bias"]), -0.2, rtol=1e-6)
    net.set_learn_rate_factor("fc", "Weights", 0.5)
    assert net.get_learn_rate_factor("fc", "Weights") == 0.5


# ---- summary, custom layers, initialisers ---------------------------------------------------------


def test_summary_lists_layers_activations_and_learnables():
    net = dlnetwork(seed_layers())
    text = str(net)
    assert "7 layers" in text and "initialized" in text
    for expected in (
        "imageinput",
        "Image Input",
        "28x28x1",
        "2-D Convolution",
        "28x28x20",
        "Weights 5x5x1x20",
        "14x14x20",
        "Fully Connected",
        "Weights 10x3920",
        "Softmax",
    ):
        assert expected in text, expected
    assert f"{5 * 5 * 20 + 20 + 40 + 10 * 3920 + 10:,} learnables" in text


class PReLULayer(Layer):
    """The custom layer of dlarray.layers.base's docstring."""

    learnable_parameters = ("Alpha",)
    description = "PReLU"

    def __init__(self, name=""):
        super().__init__(name)
        self.Alpha = None

    def initialize(self, X):
        if self.Alpha is None:
            channels = X.shape[X.fmt.index("C")]
            self.Alpha = dlarray(np.full((channels,), 0.25, np.float32))

    def predict(self, X):
        c = X.fmt.index("C")
        alpha = self.Alpha.reshape([-1 if i == c else 1 for i in range(X.ndim)])
        return dl.relu(X) - alpha * dl.relu(-X)


def test_custom_layer_is_learnable_and_trainable():
    net = dlnetwork([featureInputLayer(3), PReLULayer(name="prelu")])
    assert net.learnables.keys() == [("prelu", "Alpha")]
    x = np.array([[-1.0, 2.0], [-2.0, 0.5], [3.0, -4.0]], np.float32)
    np.testing.assert_allclose(extractdata(net.predict(x)), np.where(x > 0, x, 0.25 * x))

    def loss_fn(net, X):
        loss = net.forward(X).sum()
        return loss, dlgradient(loss, net.learnables)

    _, g = dlfeval(loss_fn, net, dlarray(x, "CB"))
    # d/dalpha of -alpha*relu(-x) summed over the batch: -sum(relu(-x)) per channel.
    np.testing.assert_allclose(extractdata(g["prelu", "Alpha"]), -np.maximum(-x, 0).sum(1))
    assert "PReLU" in str(net)


def test_initializers_statistics():
    np.random.seed(0)
    conv = dlnetwork([imageInputLayer((8, 8, 50), normalization="none"), convolution2dLayer(3, 400)])
    w = extractdata(conv.learnables["conv", "Weights"])
    fan_in, fan_out = 9 * 50, 9 * 400
    a = np.sqrt(6 / (fan_in + fan_out))
    assert w.shape == (3, 3, 50, 400) and w.dtype == np.float32
    assert np.abs(w).max() <= a and np.abs(w).max() > 0.99 * a
    np.testing.assert_allclose(w.var(), a * a / 3, rtol=0.02)  # uniform variance
    np.testing.assert_array_equal(extractdata(conv.learnables["conv", "Bias"]), 0)
    he = dlnetwork([featureInputLayer(500), fullyConnectedLayer(400, weights_initializer="he")])
    np.testing.assert_allclose(extractdata(he.learnables["fc", "Weights"]).std(), np.sqrt(2 / 500), rtol=0.02)
    nn_ = dlnetwork([featureInputLayer(500), fullyConnectedLayer(400, weights_initializer="narrow-normal", bias_initializer="ones")])
    np.testing.assert_allclose(extractdata(nn_.learnables["fc", "Weights"]).std(), 0.01, rtol=0.02)
    np.testing.assert_array_equal(extractdata(nn_.learnables["fc", "Bias"]), 1)
    from dlarray.layers.initializers import initialize

    q = extractdata(initialize("orthogonal", (40, 10)))
    np.testing.assert_allclose(q.T @ q, np.eye(10), atol=1e-5)
    b = extractdata(initialize("unit-forget-gate", (12, 1)))
    np.testing.assert_array_equal(b[:, 0], [0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0])
    seen = []
    custom = dlnetwork([featureInputLayer(4), fullyConnectedLayer(3, weights_initializer=lambda sz: seen.append(sz) or np.full(sz, 7.0))])
    assert seen == [(3, 4)]
    np.testing.assert_array_equal(extractdata(custom.learnables["fc", "Weights"]), 7)
    with pytest.raises(OptionError, match="weights_initializer"):
        fullyConnectedLayer(3, weights_initializer="xavier")


def test_flatten_layer_matches_fullyconnect_order():
    np.random.seed(0)
    x = np.random.default_rng(0).standard_normal((3, 2, 4, 5)).astype(np.float32)
    net = dlnetwork([imageInputLayer((3, 2, 4), normalization="none"), dl.flattenLayer()])
    Y = net.predict(x)
    assert Y.fmt == "CB" and Y.shape == (24, 5)
    # MATLAB's column-major order: feature h + H*(w + W*c).
    np.testing.assert_array_equal(extractdata(Y), x.reshape(24, 5, order="F"))


def test_input_layer_normalization():
    mean = np.array([1.0, 2.0], np.float32)
    net = dlnetwork([featureInputLayer(2, normalization="zscore", mean=mean, standard_deviation=[2.0, 4.0])])
    np.testing.assert_allclose(extractdata(net.predict(np.array([[3.0], [6.0]], np.float32))), [[1.0], [1.0]])
    # zerocenter (imageInputLayer's MATLAB default) without a mean: zeros, i.e. the identity.
    img = dlnetwork([imageInputLayer((2, 2, 1))])
    assert img.layers[0].normalization == "zerocenter"
    x = np.arange(4, dtype=np.float32).reshape(2, 2, 1, 1)
    np.testing.assert_array_equal(extractdata(img.predict(x)), x)
    with pytest.raises(OptionError, match="normalization"):
        imageInputLayer((2, 2, 1), normalization="bogus")


def test_maxpool_layer_stride_defaults_to_one():
    net = dlnetwork([imageInputLayer((4, 4, 1), normalization="none"), maxPooling2dLayer(2)])
    x = np.arange(16, dtype=np.float32).reshape(4, 4, 1, 1)
    assert net.predict(x).shape == (3, 3, 1, 1)


def test_reset_state_and_grouped_convolution_bias_order():
    np.random.seed(0)
    net = dlnetwork(
        [
            imageInputLayer((5, 5, 4), normalization="none"),
            dl.groupedConvolution2dLayer(
                3, 2, 2, name="g", padding="same", bias_initializer=lambda s: np.arange(4, dtype=np.float32).reshape(s, order="F")
            ),
        ]
    )
    assert net.learnables["g", "Weights"].shape == (3, 3, 2, 2, 2)
    assert net.learnables["g", "Bias"].shape == (1, 1, 2, 2)
    zero = net.learnables
    zero["g", "Weights"] = dlarray(np.zeros((3, 3, 2, 2, 2), np.float32))
    net.learnables = zero
    y = extractdata(net.predict(np.zeros((5, 5, 4, 1), np.float32)))
    # Output channel g*(F/G) + f gets bias (f, g) -> column-major order 0, 1, 2, 3.
    np.testing.assert_array_equal(y[0, 0, :, 0], [0, 1, 2, 3])
    assert net.reset_state() is net


def test_layers_property_returns_copies_and_summary_shows_connections():
    net = residual_network()
    layers = net.layers
    layers[1].learn_rate_factors["Weights"] = 0.0
    layers[1].Weights = None
    assert net.get_learn_rate_factor("fc1", "Weights") == 1.0
    assert net.learnables["fc1", "Weights"] is not None
    text = str(net)
    assert "Connections:" in text and "relu1 -> add/in2" in text
    assert "Addition" in text


def test_output_names_option_and_editing_uninitializes():
    np.random.seed(0)
    net = dlnetwork([featureInputLayer(2), fullyConnectedLayer(3), reluLayer()], output_names=["fc"])
    assert net.output_names == ["fc"]
    y = net.predict(np.array([[-1.0], [1.0]], np.float32))
    assert np.any(extractdata(y) < 0)  # the fc output, before the relu
    weights = net.learnables["fc", "Weights"]
    net.add_layers(dl.sigmoidLayer(name="extra"))
    net.connect_layers("relu", "extra")
    assert not net.initialized
    with pytest.raises(OptionError, match="not initialized"):
        net.predict(np.zeros((2, 1), np.float32))
    net.initialize()
    assert net.learnables["fc", "Weights"] is weights  # initialize keeps values already set
