"""MATLAB calling habits: CamelCase options and properties, "all" reductions, the
function forms of the network methods, unpacking a formatted output, state safety in model
functions, and a recurrent state carried into a partial mini-batch."""

import dlarray as dl
import numpy as np
import pytest
from dlarray import dlarray, dlfeval, dlgradient, dlnetwork
from dlarray.errors import FormattedIterationError, OptionError, UnknownOptionError


def _fc_net(out=2):
    return dlnetwork([dl.featureInputLayer(3), dl.fullyConnectedLayer(out, Name="fc")])


def _x(n=4):
    return dlarray(np.arange(3 * n, dtype=np.float32).reshape(3, n) / 10, "CB")


# ---- option names --------------------------------------------------------------------------


def test_camelcase_options_equal_snake_case_ones():
    X = dlarray(np.random.default_rng(0).standard_normal((6, 6, 2, 1)), "SSCB")
    W = np.random.default_rng(1).standard_normal((3, 3, 2, 4))
    a = dl.dlconv(X, W, 0, Padding="same", Stride=2, DilationFactor=1)
    b = dl.dlconv(X, W, 0, padding="same", stride=2, dilation_factor=1)
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    layer = dl.convolution2dLayer(3, 4, Padding="same", Name="c1", WeightsInitializer="he")
    assert (layer.padding, layer.name, layer.weights_initializer) == ("same", "c1", "he")
    q = dl.minibatchqueue(dl.arrayDatastore(np.zeros((10, 2))), MiniBatchSize=4, OutputEnvironment="cpu")
    assert q.mini_batch_size == 4
    y = dl.mse(dlarray(np.ones((2, 3))), dlarray(np.zeros((2, 3))), DataFormat="CB")
    assert float(y) == pytest.approx(1.0)


def test_camelcase_options_of_dlgradient():
    def f(x):
        y = (x**3).sum()
        g = dlgradient(y, x, EnableHigherDerivatives=True)
        return dlgradient(g.sum(), x)

    np.testing.assert_allclose(np.asarray(dlfeval(f, dlarray(np.array([5.0])))), [30.0])


def test_unknown_option_names_the_snake_case_options():
    with pytest.raises(UnknownOptionError, match=r"dlconv: unknown option 'Paddin'; did you mean 'padding'\?"):
        dl.dlconv(_x(), np.ones((2, 3)), 0, Paddin=1)
    with pytest.raises(TypeError, match="fullyConnectedLayer|FullyConnectedLayer"):
        dl.fullyConnectedLayer(2, OutputSiz=3)
    # Both spellings of one option at once.
    with pytest.raises(UnknownOptionError, match="given twice"):
        dl.minibatchqueue(dl.arrayDatastore(np.zeros((4, 2))), MiniBatchSize=2, mini_batch_size=2)
    assert issubclass(UnknownOptionError, OptionError) and issubclass(UnknownOptionError, TypeError)


def test_network_methods_take_matlab_option_names():
    net = _fc_net()
    Y, state = net.forward(_x(), return_state=True, Outputs="fc")
    np.testing.assert_array_equal(np.asarray(Y), np.asarray(net.predict(_x(), outputs="fc")))
    assert len(state) == 0


# ---- property names ------------------------------------------------------------------------


def test_matlab_property_names_read_and_assign():
    net = dlnetwork([dl.featureInputLayer(3), dl.fullyConnectedLayer(2), dl.batchNormalizationLayer()])
    assert net.Learnables == net.learnables
    assert net.Learnables.Value[0].shape == (2, 3) and net.Learnables.Layer == net.learnables.layer
    assert [layer.name for layer in net.Layers] == ["input", "fc", "batchnorm"]
    assert net.Layers[1].OutputSize == 2 and net.InputNames == ["input"]
    _, state = net.forward(_x(), return_state=True)
    net.State = state  # MATLAB's net.State = state
    np.testing.assert_array_equal(np.asarray(net.state["batchnorm", "TrainedMean"]), np.asarray(state["batchnorm", "TrainedMean"]))
    assert "State" not in vars(net)
    with pytest.raises(AttributeError, match="did you mean 'learnables'"):
        _ = net.Lernables
    with pytest.raises(AttributeError, match="snake_case"):
        _ = net.Foo
    with pytest.raises(AttributeError, match="read-only"):
        net.Layers = []
    monitor = dl.trainingProgressMonitor(Metrics=["Loss"], XLabel="Epoch", visible=False)
    monitor.Progress = 40
    assert (monitor.progress, monitor.Stop, monitor.x_label, monitor.Metrics) == (40.0, False, "Epoch", ("Loss",))
    monitor.close()


# ---- "all" ---------------------------------------------------------------------------------


def test_all_reductions():
    a = np.arange(1.0, 7.0).reshape(2, 3)
    X = dlarray(a, "CB")
    assert float(dl.sum(X, "all")) == a.sum() and float(X.sum("all")) == a.sum()
    assert float(dl.mean(X, "all")) == a.mean() and float(dl.prod(X, "all")) == a.prod()
    assert float(dl.max(X, [], "all")) == 6.0 and float(dl.min(X, [], "all")) == 1.0
    assert float(dl.max(X, "all")) == 6.0
    m = dl.max(X, [], "C")
    np.testing.assert_array_equal(np.asarray(m), a.max(0))
    assert dl.sum(X, "all").fmt == "" and dl.sum(X, "all").shape == ()
    # Differentiable as the full reduction.
    g = dlfeval(lambda x: dlgradient(dl.sum(x * x, "all"), x), X)
    np.testing.assert_allclose(np.asarray(g), 2 * a)


# ---- unpacking -----------------------------------------------------------------------------


def test_unpacking_a_formatted_output_is_loud():
    net = _fc_net(out=2)
    with pytest.raises(FormattedIterationError, match=r"return_state=True"):
        Y, state = net.forward(_x())  # noqa: F841 - the mistake being tested
    with pytest.raises(TypeError):
        list(net.predict(_x()))
    Y, state = net.forward(_x(), return_state=True)
    assert Y.fmt == "CB"
    rows = list(dl.stripdims(Y))  # unformatted: numpy's iteration
    assert len(rows) == 2 and rows[0].shape == (4,)
    with pytest.raises(TypeError, match="0-d"):
        iter(dlarray(np.float32(1)))
    # A typed error (the fuzzer's rule), which is numpy's TypeError too.
    with pytest.raises(dl.ScalarIterationError, match="iter: .*0-d"):
        list(dlarray(np.float32(1)))


# ---- function forms ------------------------------------------------------------------------


def test_function_forms():
    net = dlnetwork([dl.featureInputLayer(3), dl.fullyConnectedLayer(2), dl.dropoutLayer(0.5)], initialize=False)
    assert not net.initialized
    net2 = dl.initialize(net)
    assert net2.initialized and not net.initialized  # MATLAB's value semantics
    X = _x()
    np.testing.assert_array_equal(np.asarray(dl.predict(net2, X)), np.asarray(net2.predict(X)))
    dl.rng(3)
    a = dl.forward(net2, X)
    dl.rng(3)
    b = net2.forward(X)
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    Y, state = dl.forward(net2, X, return_state=True)
    assert len(state) == 0
    with pytest.raises(dl.DTypeError, match="forward: the first argument must be a dlnetwork"):
        dl.forward(X, net2)


def test_reset_state_function_form_copies():
    net = dlnetwork([dl.sequenceInputLayer(2), dl.lstmLayer(3)])
    X = dlarray(np.ones((2, 4, 5), np.float32), "CBT")
    _, state = net.forward(X, return_state=True)
    net.state = state
    fresh = dl.resetState(net)
    assert np.abs(np.asarray(net.state["lstm", "HiddenState"])).sum() > 0
    np.testing.assert_array_equal(np.asarray(fresh.state["lstm", "HiddenState"]), np.zeros((3, 1)))


# ---- state safety --------------------------------------------------------------------------


def test_model_function_state_does_not_leak_into_the_callers_dict():
    params = {"offset": dlarray(np.zeros(3)), "scale": dlarray(np.ones(3))}
    state = {"bn": {"mean": dlarray(np.zeros(3)), "var": dlarray(np.ones(3))}}
    X = dlarray(np.arange(12.0).reshape(3, 4), "CB")

    def model_loss(params, X, state):
        Y, mu, var = dl.batchnorm(X, params["offset"], params["scale"], state["bn"]["mean"], state["bn"]["var"], training=True)
        state["bn"]["mean"], state["bn"]["var"] = mu, var  # a careless in-place update
        loss = dl.sum(Y * Y, "all")
        return loss, dlgradient(loss, params), state

    _, _, new_state = dlfeval(model_loss, params, X, state)
    np.testing.assert_array_equal(np.asarray(state["bn"]["mean"]), np.zeros(3))  # the caller's dict
    np.testing.assert_allclose(np.asarray(new_state["bn"]["mean"]), 0.1 * np.arange(3.0) * 4 + 0.15)
    # Tables handed out are copies too.
    net = dlnetwork([dl.featureInputLayer(3), dl.batchNormalizationLayer()])
    t = net.state
    t["batchnorm", "TrainedMean"] = dlarray(np.ones((3, 1), np.float32))
    np.testing.assert_array_equal(np.asarray(net.state["batchnorm", "TrainedMean"]), np.zeros((3, 1)))


# ---- a recurrent state and a partial mini-batch ---------------------------------------------


def test_lstm_state_then_partial_mini_batch_starts_from_the_initial_state():
    dl.rng(0)
    net = dlnetwork([dl.sequenceInputLayer(2), dl.lstmLayer(3, OutputMode="last")])
    full = dlarray(np.random.default_rng(0).standard_normal((2, 4, 5)).astype(np.float32), "CBT")
    _, state = net.forward(full, return_state=True)
    net.state = state
    assert net.state["lstm", "HiddenState"].shape == (3, 4)
    part = full[:, :3, :]
    Y, state2 = net.forward(part, return_state=True)  # 3 observations, stored state has 4
    expected = dl.resetState(net).forward(part)
    np.testing.assert_allclose(np.asarray(Y), np.asarray(expected), rtol=1e-6)
    assert state2["lstm", "HiddenState"].shape == (3, 3)
    # A batch of the stored size carries the state on.
    carried = net.forward(full)
    assert not np.allclose(np.asarray(carried), np.asarray(dl.resetState(net).forward(full)))


def test_lstm_initial_state_of_a_third_size_is_a_shape_error():
    layer = dl.lstmLayer(3, hidden_state=np.zeros((3, 2), np.float32), cell_state=np.zeros((3, 2), np.float32))
    with pytest.raises(dl.ShapeError, match="initial HiddenState has 2 columns but the mini-batch has 1"):
        dlnetwork([dl.sequenceInputLayer(2), layer])  # initialised with one observation
