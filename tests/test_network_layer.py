"""networkLayer (a dlnetwork nested as one layer) and expandLayers."""

import doctest
import importlib

import dlarray as dl
import numpy as np
import pytest
from dlarray import (
    DTypeError,
    OptionError,
    ShapeError,
    adamupdate,
    additionLayer,
    batchNormalizationLayer,
    convolution2dLayer,
    crossentropy,
    dlaccelerate,
    dlarray,
    dlfeval,
    dlgradient,
    dlnetwork,
    dlupdate,
    expandLayers,
    extractdata,
    featureInputLayer,
    fullyConnectedLayer,
    functionLayer,
    globalAveragePooling2dLayer,
    identityLayer,
    imageInputLayer,
    load,
    lstmLayer,
    networkLayer,
    reluLayer,
    save,
    sequenceInputLayer,
    sgdmupdate,
    softmaxLayer,
)
from dlarray.layers import NetworkLayer
from dlarray.network import Table
from dlarray.network.dlnetwork import _ACCELERATED_PREDICT

BLOCK_LAYERS = ["in", "conv1", "bn1", "relu1", "conv2", "bn2", "add", "relu2"]


def block_layers(channels=4):
    """A residual block: conv-bn-relu-conv-bn, added to its input, then relu."""
    return [
        identityLayer(name="in"),
        convolution2dLayer(3, channels, padding="same", name="conv1"),
        batchNormalizationLayer(name="bn1"),
        reluLayer(name="relu1"),
        convolution2dLayer(3, channels, padding="same", name="conv2"),
        batchNormalizationLayer(name="bn2"),
        additionLayer(2, name="add"),
        reluLayer(name="relu2"),
    ]


def residual_block(channels=4):
    return dlnetwork(block_layers(channels), initialize=False).connect_layers("in", "add/in2")


def nested_network(seed=0):
    np.random.seed(seed)
    return dlnetwork(
        [
            imageInputLayer((6, 6, 3), normalization="none", name="input"),
            convolution2dLayer(3, 4, padding="same", name="stem"),
            networkLayer(residual_block(), name="block"),
            globalAveragePooling2dLayer(name="gap"),
            fullyConnectedLayer(5, name="fc"),
            softmaxLayer(name="sm"),
        ]
    )


def flat_by_hand(nested):
    """The same network written without a network layer, with the nested network's values."""
    flat = dlnetwork(initialize=False)
    flat.add_layers([imageInputLayer((6, 6, 3), normalization="none", name="input"), convolution2dLayer(3, 4, padding="same", name="stem")])
    renamed = [layer._with(name=f"b_{layer.name}") for layer in block_layers()]
    flat.add_layers(renamed)
    flat.add_layers([globalAveragePooling2dLayer(name="gap"), fullyConnectedLayer(5, name="fc"), softmaxLayer(name="sm")])
    flat.connect_layers("stem", "b_in").connect_layers("b_in", "b_add/in2").connect_layers("b_relu2", "gap")
    flat.initialize()
    hand = lambda t: Table.from_rows([(layer.replace("block/", "b_"), p, v) for layer, p, v in t])  # noqa: E731
    flat.learnables = hand(nested.learnables)
    flat.state = hand(nested.state)
    return flat, hand


def images(n=3, seed=1):
    return dlarray(np.random.default_rng(seed).standard_normal((6, 6, 3, n)).astype(np.float32), "SSCB")


def targets(n=3):
    return dlarray(np.eye(5, dtype=np.float32)[:, np.arange(n) % 5], "CB")


def assert_tables_equal(a, b, rename=lambda name: name):
    assert [(rename(layer), p) for layer, p in a.keys()] == b.keys()
    for (_, _, x), (_, _, y) in zip(a, b):
        np.testing.assert_array_equal(extractdata(x), extractdata(y))


# ---- rows, outputs and gradients against the flat network ----------------------------------------


def test_learnables_and_state_rows_are_named_by_path():
    net = nested_network()
    assert net.learnables.keys() == [
        ("stem", "Weights"),
        ("stem", "Bias"),
        ("block/conv1", "Weights"),
        ("block/conv1", "Bias"),
        ("block/bn1", "Offset"),
        ("block/bn1", "Scale"),
        ("block/conv2", "Weights"),
        ("block/conv2", "Bias"),
        ("block/bn2", "Offset"),
        ("block/bn2", "Scale"),
        ("fc", "Weights"),
        ("fc", "Bias"),
    ]
    assert net.state.keys() == [
        ("block/bn1", "TrainedMean"),
        ("block/bn1", "TrainedVariance"),
        ("block/bn2", "TrainedMean"),
        ("block/bn2", "TrainedVariance"),
    ]
    assert net.learnables["block/conv1", "Weights"].shape == (3, 3, 4, 4)
    assert net.state["block/bn2", "TrainedMean"].shape == (1, 1, 4)
    assert [layer.name for layer in net.layers] == ["input", "stem", "block", "gap", "fc", "sm"]
    # A nested layer by its path, and MATLAB's property names of the network layer.
    assert net.get_layer("block/conv1").Weights.shape == (3, 3, 4, 4)
    block = net.get_layer("block")
    assert isinstance(block, NetworkLayer) and block.Initialized and block.NumInputs == 1
    assert block.InputNames == ["in"] and block.OutputNames == ["relu2"]
    assert [layer.name for layer in block.Network.layers] == BLOCK_LAYERS
    # The learnables count shown by the summary includes the nested ones.
    assert "block  Network" in str(net) and "8 nested" in str(net)


def test_outputs_match_the_flat_network_built_by_hand_and_by_expand_layers():
    net = nested_network()
    flat, _ = flat_by_hand(net)
    expanded = expandLayers(net)
    X = images()
    for method in ("predict", "forward"):
        y = extractdata(getattr(net, method)(X))
        np.testing.assert_array_equal(y, extractdata(getattr(flat, method)(X)))
        np.testing.assert_array_equal(y, extractdata(getattr(expanded, method)(X)))
    # Nested batch normalisation uses its trained statistics in predict and the batch's in forward.
    assert not np.allclose(extractdata(net.predict(X)), extractdata(net.forward(X)))


def test_first_and_second_order_gradients_match_the_flat_network():
    net = nested_network()
    flat, hand = flat_by_hand(net)
    X, T = images(), targets()

    def model_loss(net, X, T):
        Y, state = net.forward(X, return_state=True)
        loss = crossentropy(Y, T)
        return loss, dlgradient(loss, net.learnables), state

    loss_n, grads_n, state_n = dlfeval(model_loss, net, X, T)
    loss_f, grads_f, state_f = dlfeval(model_loss, flat, X, T)
    assert float(loss_n) == float(loss_f)
    assert isinstance(grads_n, Table) and grads_n.keys() == net.learnables.keys()
    assert_tables_equal(hand(grads_n), grads_f)
    assert_tables_equal(hand(state_n), state_f)
    assert all(float(abs(extractdata(g)).sum()) > 0 for g in grads_n.value)

    # Second order: a gradient penalty on the input, differentiated again (predict keeps it cheap).
    def penalty(net, X):
        y = net.predict(X).sum()
        gx = dlgradient(y, X, enable_higher_derivatives=True)
        p = (gx * gx).sum()
        return p, dlgradient(p, net.learnables)

    p_n, g2_n = dlfeval(penalty, net, X)
    p_f, g2_f = dlfeval(penalty, flat, X)
    assert float(p_n) == float(p_f)
    assert_tables_equal(hand(g2_n), g2_f)


def test_gradients_through_a_nested_network_match_finite_differences():
    np.random.seed(4)
    block = dlnetwork([fullyConnectedLayer(3, name="fc"), reluLayer(name="relu")], initialize=False)
    net = dlnetwork([featureInputLayer(2, name="x"), networkLayer(block, name="b"), fullyConnectedLayer(1, name="out")])
    X = dlarray(np.array([[0.3, -1.2, 0.8], [1.1, 0.4, -0.5]], np.float32), "CB")

    def loss_fn(net, X):
        loss = net.forward(X).sum()
        return loss, dlgradient(loss, net.learnables)

    _, grads = dlfeval(loss_fn, net, X)
    W = extractdata(net.learnables["b/fc", "Weights"]).astype(np.float64)
    t = net.learnables
    for i, j in [(0, 0), (2, 1)]:
        vals = []
        for step in (1e-3, -1e-3):
            W2 = W.copy()
            W2[i, j] += step
            t["b/fc", "Weights"] = dlarray(W2.astype(np.float32))
            n2 = dlnetwork(net)
            n2.learnables = t
            vals.append(float(n2.forward(X).sum()))
        fd = (vals[0] - vals[1]) / 2e-3
        assert abs(fd - extractdata(grads["b/fc", "Weights"])[i, j]) < 2e-2 * max(1, abs(fd))


# ---- updating the nested values ------------------------------------------------------------------


def test_optimizers_and_assigned_learnables_update_the_nested_layers():
    net = nested_network()
    flat, hand = flat_by_hand(net)
    X, T = images(), targets()

    def model_loss(net, X, T):
        loss = crossentropy(net.forward(X), T)
        return loss, dlgradient(loss, net.learnables)

    _, grads = dlfeval(model_loss, net, X, T)
    _, grads_f = dlfeval(model_loss, flat, X, T)
    stepped, vel = sgdmupdate(net, grads, None, 0.1, 0.9)
    stepped_f, _ = sgdmupdate(flat, grads_f, None, 0.1, 0.9)
    assert_tables_equal(hand(stepped.learnables), stepped_f.learnables)
    # MATLAB's first SGDM step: W - learnRate * grad, in the nested layer itself.
    W, g = extractdata(net.learnables["block/conv2", "Weights"]), extractdata(grads["block/conv2", "Weights"])
    np.testing.assert_allclose(extractdata(stepped.get_layer("block/conv2").Weights), W - 0.1 * g, rtol=1e-6, atol=1e-7)
    assert isinstance(vel, Table) and vel.keys() == net.learnables.keys()
    # The network given is unchanged (value semantics).
    np.testing.assert_array_equal(extractdata(net.get_layer("block/conv2").Weights), W)

    adam, avg, avg_sq = adamupdate(net, grads, None, None, 1)
    adam_f, _, _ = adamupdate(flat, grads_f, None, None, 1)
    assert_tables_equal(hand(adam.learnables), adam_f.learnables)
    assert avg.keys() == net.learnables.keys()
    np.testing.assert_array_equal(extractdata(adam.predict(X)), extractdata(adam_f.predict(X)))

    # A learnables table updated by dlupdate and assigned back, as MATLAB's net.Learnables = ...
    updated = dlupdate(lambda p, g: p - 0.5 * g, net.learnables, grads)
    net.learnables = updated
    flat.learnables = dlupdate(lambda p, g: p - 0.5 * g, flat.learnables, grads_f)
    assert_tables_equal(hand(net.learnables), flat.learnables)
    np.testing.assert_array_equal(extractdata(net.get_layer("block/bn1").Scale), extractdata(updated["block/bn1", "Scale"]))
    np.testing.assert_array_equal(extractdata(net.predict(X)), extractdata(flat.predict(X)))


def test_learn_rate_factors_of_nested_layers_are_applied():
    net = nested_network()
    net.set_learn_rate_factor("block/conv1", "Weights", 0.0)
    assert net.get_learn_rate_factor("block/conv1", "Weights") == 0.0
    assert net.get_learn_rate_factor("block/conv2", "Weights") == 1.0
    X, T = images(), targets()
    _, grads = dlfeval(lambda n: (lambda loss: (loss, dlgradient(loss, n.learnables)))(crossentropy(n.forward(X), T)), net)
    stepped, _ = sgdmupdate(net, grads, None, 0.1, 0.9)
    np.testing.assert_array_equal(
        extractdata(stepped.learnables["block/conv1", "Weights"]), extractdata(net.learnables["block/conv1", "Weights"])
    )
    assert not np.array_equal(
        extractdata(stepped.learnables["block/conv2", "Weights"]), extractdata(net.learnables["block/conv2", "Weights"])
    )
    with pytest.raises(OptionError, match="no learnable parameter 'Mean' in layer 'conv1'"):
        net.set_learn_rate_factor("block/conv1", "Mean", 0.5)


def test_nested_batchnorm_state_updates_through_forward_and_assignment():
    net = nested_network()
    flat, hand = flat_by_hand(net)
    X = images(8)
    before = extractdata(net.state["block/bn1", "TrainedMean"])
    Y, state = net.forward(X, return_state=True)
    _, state_f = flat.forward(X, return_state=True)
    assert state.keys() == net.state.keys()
    assert_tables_equal(hand(state), state_f)
    assert not np.array_equal(extractdata(state["block/bn1", "TrainedMean"]), before)
    # Unchanged until assigned back, as in MATLAB.
    np.testing.assert_array_equal(extractdata(net.state["block/bn1", "TrainedMean"]), before)
    net.state = state
    flat.state = state_f
    np.testing.assert_array_equal(extractdata(net.get_layer("block/bn1").TrainedMean), extractdata(state["block/bn1", "TrainedMean"]))
    np.testing.assert_array_equal(extractdata(net.predict(X)), extractdata(flat.predict(X)))
    # predict leaves the state as it is.
    _, s2 = net.predict(X, return_state=True)
    assert_tables_equal(s2, state)


def test_reset_state_reaches_nested_recurrent_layers():
    np.random.seed(2)
    block = networkLayer([lstmLayer(3, name="lstm")], name="rnn")
    net = dlnetwork([sequenceInputLayer(2, name="seq"), block])
    assert net.state.keys() == [("rnn/lstm", "HiddenState"), ("rnn/lstm", "CellState")]
    X = dlarray(np.random.default_rng(0).standard_normal((2, 1, 4)).astype(np.float32), "CBT")
    _, state = net.predict(X, return_state=True)
    net.state = state
    assert float(abs(extractdata(net.state["rnn/lstm", "HiddenState"])).sum()) > 0
    fresh = dl.resetState(net)
    np.testing.assert_array_equal(extractdata(fresh.state["rnn/lstm", "HiddenState"]), 0)
    assert float(abs(extractdata(net.state["rnn/lstm", "HiddenState"])).sum()) > 0  # resetState returns a copy
    net.reset_state()
    np.testing.assert_array_equal(extractdata(net.state["rnn/lstm", "CellState"]), 0)


# ---- ports ---------------------------------------------------------------------------------------


def two_port_block():
    """Two inputs (fc1, fc2) added; outputs: the sum and fc1's output."""
    return (
        dlnetwork([fullyConnectedLayer(3, name="fc1"), additionLayer(2, name="add"), fullyConnectedLayer(3, name="fc2")], initialize=False)
        .disconnect_layers("add", "fc2")
        .connect_layers("fc2", "add/in2")
    )


def test_multiple_inputs_and_outputs():
    np.random.seed(5)
    inner = two_port_block()
    assert inner.input_names == ["fc1", "fc2"] and inner.output_names == ["add"]
    block = networkLayer(inner, outputs=["add", "fc1"], name="block")
    assert block.num_inputs == 2 and block.num_outputs == 2
    assert block.input_names == ["fc1", "fc2"] and block.output_names == ["add", "fc1"]
    net = dlnetwork([featureInputLayer(2, name="a"), block, reluLayer(name="r")], initialize=False)
    net.add_layers(featureInputLayer(4, name="b")).connect_layers("b", "block/fc2")
    assert net.input_names == ["a", "b"] and net.output_names == ["block/fc1", "r"]
    net.initialize()
    a = np.random.default_rng(1).standard_normal((2, 3)).astype(np.float32)
    b = np.random.default_rng(2).standard_normal((4, 3)).astype(np.float32)
    y1, r = net.predict(dlarray(a, "CB"), dlarray(b, "CB"))
    p = {(layer, n): extractdata(v) for layer, n, v in net.learnables}
    h1 = p["block/fc1", "Weights"] @ a + p["block/fc1", "Bias"]
    h2 = p["block/fc2", "Weights"] @ b + p["block/fc2", "Bias"]
    np.testing.assert_allclose(extractdata(y1), h1, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(extractdata(r), np.maximum(h1 + h2, 0), rtol=1e-5, atol=1e-6)
    # The layer's ports by name, as the outer network writes them.
    assert ("a", "block/fc1") in net.connections and ("b", "block/fc2") in net.connections
    assert ("block/add", "r") in net.connections
    assert net.predict(dlarray(a, "CB"), dlarray(b, "CB"), outputs="block/add").shape == (3, 3)
    # Expanded, the network computes the same, with the same inputs and outputs.
    flat = expandLayers(net)
    assert flat.input_names == ["a", "b"] and flat.output_names == ["block/fc1", "r"]
    for x, y in zip(flat.predict(dlarray(a, "CB"), dlarray(b, "CB")), (y1, r)):
        np.testing.assert_array_equal(extractdata(x), extractdata(y))


def test_inputs_option_orders_the_ports_and_takes_matlab_names():
    np.random.seed(6)
    block = networkLayer(two_port_block(), Inputs=["fc2/in", "fc1"], Name="blk")
    assert block.name == "blk" and block.InputNames == ["fc2", "fc1"]
    net = dlnetwork([featureInputLayer(4, name="b"), block], initialize=False)
    net.add_layers(featureInputLayer(2, name="a")).connect_layers("a", "blk/fc1").initialize()
    assert ("b", "blk/fc2") in net.connections
    a = np.ones((2, 1), np.float32)
    b = np.full((4, 1), 2.0, np.float32)
    p = {(layer, n): extractdata(v) for layer, n, v in net.learnables}
    expected = p["blk/fc1", "Weights"] @ a + p["blk/fc1", "Bias"] + p["blk/fc2", "Weights"] @ b + p["blk/fc2", "Bias"]
    np.testing.assert_allclose(extractdata(net.predict(dlarray(b, "CB"), dlarray(a, "CB"))), expected, rtol=1e-5, atol=1e-6)
    # Called on its own, the layer takes its inputs in its own order.
    layer = net.get_layer("blk")
    np.testing.assert_allclose(extractdata(layer.predict(dlarray(b, "CB"), dlarray(a, "CB"))), expected, rtol=1e-5, atol=1e-6)


# ---- initialisation -----------------------------------------------------------------------------


def test_uninitialized_nested_network_is_initialized_by_the_outer_network():
    np.random.seed(7)
    layer = networkLayer([convolution2dLayer(3, 6, name="conv"), reluLayer(name="relu")], name="block")
    assert not layer.initialized and layer.network.learnables["conv", "Weights"] is None
    net = dlnetwork([imageInputLayer((8, 8, 2), normalization="none"), layer], initialize=False)
    assert net.learnables["block/conv", "Weights"] is None
    with pytest.raises(OptionError, match="not initialized"):
        net.predict(dlarray(np.zeros((8, 8, 2, 1), np.float32), "SSCB"))
    net.initialize()
    assert net.get_layer("block").initialized
    assert net.learnables["block/conv", "Weights"].shape == (3, 3, 2, 6)
    assert net.learnables["block/conv", "Bias"].shape == (1, 1, 6)
    # The layer given is unchanged; the network's copy holds the values.
    assert layer.network.learnables["conv", "Weights"] is None
    # Without input layers, from example inputs; initialize keeps values already set.
    W = net.learnables["block/conv", "Weights"]
    bare = dlnetwork([net.get_layer("block")], initialize=False)
    bare.initialize(dlarray(np.zeros((8, 8, 2, 1), np.float32), "SSCB"))
    assert bare.learnables["block/conv", "Weights"] is W or np.array_equal(
        extractdata(bare.learnables["block/conv", "Weights"]), extractdata(W)
    )
    # An initialised network given to networkLayer keeps its values.
    inner = dlnetwork([featureInputLayer(3), fullyConnectedLayer(2, name="fc")])
    with pytest.raises(OptionError, match="input layers"):
        networkLayer(inner)
    inner.remove_layers("input")
    kept = dlnetwork([featureInputLayer(3), networkLayer(inner, name="n")])
    np.testing.assert_array_equal(extractdata(kept.learnables["n/fc", "Weights"]), extractdata(inner.learnables["fc", "Weights"]))


def test_networks_nested_two_deep():
    np.random.seed(8)
    inner = networkLayer([fullyConnectedLayer(3, name="fc"), reluLayer(name="relu")], name="inner")
    middle = networkLayer([inner, fullyConnectedLayer(2, name="fc")], name="middle")
    net = dlnetwork([featureInputLayer(4, name="x"), middle])
    assert net.learnables.layer == ["middle/inner/fc", "middle/inner/fc", "middle/fc", "middle/fc"]
    X = dlarray(np.random.default_rng(0).standard_normal((4, 2)).astype(np.float32), "CB")
    p = {(layer, n): extractdata(v) for layer, n, v in net.learnables}
    h = np.maximum(p["middle/inner/fc", "Weights"] @ extractdata(X) + p["middle/inner/fc", "Bias"], 0)
    expected = p["middle/fc", "Weights"] @ h + p["middle/fc", "Bias"]
    np.testing.assert_allclose(extractdata(net.predict(X)), expected, rtol=1e-5, atol=1e-6)
    flat = expandLayers(net)
    assert [layer.name for layer in flat.layers] == ["x", "middle/inner/fc", "middle/inner/relu", "middle/fc"]
    assert flat.learnables.keys() == net.learnables.keys()
    np.testing.assert_array_equal(extractdata(flat.predict(X)), extractdata(net.predict(X)))
    # Learnables assigned by path reach the innermost layer.
    t = net.learnables
    t["middle/inner/fc", "Bias"] = np.ones((3, 1), np.float32)
    net.learnables = t
    np.testing.assert_array_equal(extractdata(net.get_layer("middle/inner/fc").Bias), 1)


# ---- expandLayers --------------------------------------------------------------------------------


def test_expand_layers_names_connections_and_tables():
    net = nested_network()
    flat = expandLayers(net)
    assert [layer.name for layer in flat.layers] == ["input", "stem"] + [f"block/{n}" for n in BLOCK_LAYERS] + ["gap", "fc", "sm"]
    assert not any(isinstance(layer, NetworkLayer) for layer in flat.layers)
    assert ("stem", "block/in") in flat.connections and ("block/in", "block/add/in2") in flat.connections
    assert ("block/relu2", "gap") in flat.connections
    assert flat.initialized and flat.input_names == ["input"] and flat.output_names == ["sm"]
    assert_tables_equal(flat.learnables, net.learnables)
    assert_tables_equal(flat.state, net.state)
    # The expanded network is a network like any other: outputs by layer path, editing, saving.
    X = images()
    assert flat.predict(X, outputs="block/relu1").shape == (6, 6, 4, 3)
    assert net.learnables.keys() == expandLayers(expandLayers(net)).learnables.keys()
    # The network given is unchanged.
    assert [layer.name for layer in net.layers] == ["input", "stem", "block", "gap", "fc", "sm"]
    with pytest.raises(DTypeError, match="expandLayers"):
        expandLayers([reluLayer()])


def test_expand_layers_keeps_selected_outputs():
    np.random.seed(9)
    # The nested fc2 output is not a network-layer output: expanded, it must not become one.
    block = networkLayer(
        [fullyConnectedLayer(3, name="fc1"), reluLayer(name="relu"), fullyConnectedLayer(2, name="fc2")], outputs="relu", name="b"
    )
    net = dlnetwork([featureInputLayer(2, name="x"), block])
    assert net.output_names == ["b"]
    flat = expandLayers(net)
    assert flat.output_names == ["b/relu"]
    X = dlarray(np.ones((2, 2), np.float32), "CB")
    np.testing.assert_array_equal(extractdata(flat.predict(X)), extractdata(net.predict(X)))


# ---- save / load, acceleration, tracing ----------------------------------------------------------


def test_save_and_load_round_trip(tmp_path):
    net = nested_network()
    _, state = net.forward(images(8), return_state=True)
    net.state = state
    net.set_learn_rate_factor("block/conv1", "Bias", 0.25)
    path = tmp_path / "nested.safetensors"
    save(path, net, grads=net.learnables)
    ckpt = load(path)
    back = ckpt["net"]
    assert [layer.name for layer in back.layers] == [layer.name for layer in net.layers]
    assert isinstance(back.get_layer("block"), NetworkLayer)
    assert_tables_equal(back.learnables, net.learnables)
    assert_tables_equal(back.state, net.state)
    assert_tables_equal(ckpt["grads"], net.learnables)
    assert back.get_learn_rate_factor("block/conv1", "Bias") == 0.25
    X = images()
    np.testing.assert_array_equal(extractdata(back.predict(X)), extractdata(net.predict(X)))
    np.testing.assert_array_equal(extractdata(back.forward(X)), extractdata(net.forward(X)))
    # Each nested value is stored once, with the layer that holds it.
    from safetensors import safe_open

    with safe_open(str(path), "np") as f:
        names = [k for k in f.keys() if k.startswith("net/")]
    assert len(names) == len(net.learnables) + len(net.state)
    # Uninitialised and doubly nested networks too.
    inner = networkLayer([fullyConnectedLayer(3, name="fc")], name="inner")
    raw = dlnetwork([networkLayer([inner, reluLayer(name="r")], name="outer")], initialize=False)
    save(path, raw)
    again = load(path)["net"]
    assert not again.initialized and again.learnables.keys() == [("outer/inner/fc", "Weights"), ("outer/inner/fc", "Bias")]
    again.initialize(dlarray(np.ones((2, 1), np.float32), "CB"))
    assert again.learnables["outer/inner/fc", "Weights"].shape == (3, 2)


def test_a_checkpoint_with_a_broken_network_layer_is_refused(tmp_path):
    import json

    from dlarray.errors import CheckpointError
    from safetensors.numpy import load_file, save_file

    net = dlnetwork([featureInputLayer(2), networkLayer([fullyConnectedLayer(2, name="fc")], name="b")])
    path = tmp_path / "n.safetensors"
    save(path, net)
    from safetensors import safe_open

    with safe_open(str(path), "np") as f:
        meta = f.metadata()
    content = json.loads(meta["dlarray"])
    layer = content["net"]["__dlnetwork__"]["layers"][1]
    layer["attrs"]["__dict__"]["_network"] = 3
    meta["dlarray"] = json.dumps(content)
    tensors = load_file(str(path))
    bad = tmp_path / "bad.safetensors"
    save_file(tensors, str(bad), metadata=meta)
    with pytest.raises(CheckpointError):
        load(bad)


def test_predict_with_automatic_acceleration_replays_or_falls_back():
    net = nested_network()
    X = images()
    expected = extractdata(net.predict(X, acceleration="none"))
    hits = _ACCELERATED_PREDICT._hits
    for _ in range(3):
        np.testing.assert_array_equal(extractdata(net.predict(X)), expected)
    assert _ACCELERATED_PREDICT._hits > hits  # replayed from the cached trace
    # Another nested architecture is another trace, never the first one's.
    other = nested_network()
    other.learnables = dlupdate(lambda p: p * 0.5, other.learnables)
    for _ in range(3):
        np.testing.assert_array_equal(extractdata(other.predict(X)), extractdata(other.predict(X, acceleration="none")))
    # A function layer inside a network layer is not replayed (it may branch on values).
    calls = []

    def counting(x):
        calls.append(1)
        return x * 2

    net2 = dlnetwork([featureInputLayer(2), networkLayer([functionLayer(counting, name="f")], name="b")])
    assert not net2._replayable([dlarray(np.ones((2, 1), np.float32), "CB")])
    calls.clear()  # initialisation ran it once
    for _ in range(3):
        y = net2.predict(dlarray(np.ones((2, 1), np.float32), "CB"))
    assert len(calls) == 3 and extractdata(y).tolist() == [[2.0], [2.0]]


def test_dlaccelerate_of_a_model_loss_with_a_nested_network():
    net = nested_network()
    X, T = images(), targets()

    def model_loss(net, X, T):
        loss = crossentropy(net.forward(X), T)
        return loss, dlgradient(loss, net.learnables)

    acc = dlaccelerate(model_loss)
    direct_loss, direct_grads = dlfeval(model_loss, net, X, T)
    for _ in range(2):
        loss, grads = dlfeval(acc, net, X, T)
        assert float(loss) == pytest.approx(float(direct_loss), rel=1e-6)
        assert grads.keys() == direct_grads.keys()
        for a, b in zip(grads.value, direct_grads.value):
            np.testing.assert_allclose(extractdata(a), extractdata(b), rtol=1e-5, atol=1e-6)
    assert acc.hit_rate == 50.0


def test_a_nested_network_is_a_tree_of_its_tables():
    from dlarray.parallel._leaves import flatten

    net = nested_network()
    flat = flatten(net, "test")
    assert len(flat.arrays) == len(net.learnables) + len(net.state)
    rebuilt = flat.rebuild([dlarray(np.zeros(a.shape, a.dtype)) for a in flat.arrays])
    assert float(abs(extractdata(rebuilt.get_layer("block/conv1").Weights)).sum()) == 0


# ---- errors --------------------------------------------------------------------------------------


def test_typed_errors_name_the_layer_option_and_value():
    with pytest.raises(OptionError, match=r"networkLayer 'b': the network must not contain input layers.*'input' \(FeatureInputLayer\)"):
        networkLayer(dlnetwork([featureInputLayer(2), reluLayer()]), name="b")
    with pytest.raises(OptionError, match="input layers"):
        networkLayer([imageInputLayer((4, 4, 1)), reluLayer()])
    with pytest.raises(DTypeError, match="networkLayer: net must be a dlnetwork, a layer or a list of layers, got int"):
        networkLayer(3)
    with pytest.raises(DTypeError):
        networkLayer([reluLayer(), "relu"])
    with pytest.raises(OptionError, match="no layers"):
        networkLayer(dlnetwork(initialize=False))
    with pytest.raises(OptionError, match=r"inputs: .*no layer named 'nope'"):
        networkLayer(two_port_block(), inputs=["fc1", "nope"])
    with pytest.raises(
        OptionError, match=r"inputs must name each of the network's inputs \['fc1', 'fc2'\] once, got \['fc1'\] \(\['fc2'\] missing\)"
    ):
        networkLayer(two_port_block(), inputs="fc1")
    with pytest.raises(OptionError, match=r"repeated"):
        networkLayer(two_port_block(), inputs=["fc1", "fc1/in"])
    with pytest.raises(OptionError, match=r"connected inside"):
        networkLayer(two_port_block(), inputs=["fc1", "fc2", "add/in1"])
    with pytest.raises(OptionError, match=r"outputs: .*no layer named 'zz'"):
        networkLayer(two_port_block(), outputs=["zz"])
    with pytest.raises(OptionError, match=r"inputs must be a name or a non-empty list of names, got \[\]"):
        networkLayer(two_port_block(), inputs=[])
    with pytest.raises(OptionError, match="name 'a/b' must not contain '/'"):
        networkLayer([reluLayer()], name="a/b")
    with pytest.raises(dl.UnknownOptionError, match="Input"):
        networkLayer([reluLayer()], Input="x")


def test_errors_when_evaluating_and_assigning_name_the_nested_path():
    net = nested_network()
    layer = net.get_layer("block")
    X = images()
    with pytest.raises(OptionError, match=r"network layer 'block' takes 1 inputs \['in'\], got 2"):
        layer.predict(X, X)
    # A two-input network layer given one connection leaves an input to the outer network.
    two = dlnetwork([featureInputLayer(2, name="a"), networkLayer(two_port_block(), name="t")], initialize=False)
    assert two.input_names == ["a", "t/fc2"]
    with pytest.raises(OptionError, match=r"inputs \['t/fc2'\] have no input layer"):
        two.initialize()
    with pytest.raises(OptionError, match=r"the network has 2 inputs \['a', 't/fc2'\], got 1"):
        two.initialize(dlarray(np.ones((2, 1), np.float32), "CB"))
    # Wrong sizes reaching a nested layer: the error names the layer by its path.
    bad = dlnetwork(
        [
            featureInputLayer(4, name="x"),
            networkLayer(dlnetwork([fullyConnectedLayer(2, name="fc")], dlarray(np.ones((3, 1), np.float32), "CB")), name="b"),
        ],
        initialize=False,
    )
    with pytest.raises(ShapeError, match=r"dlnetwork.initialize: layer 'b/fc' \(FullyConnectedLayer\)"):
        bad.initialize()
    t = net.learnables
    t["block/conv9", "Weights"] = np.ones((3, 3, 4, 4), np.float32)
    with pytest.raises(OptionError, match="no learnable parameter 'Weights' in layer 'block/conv9'"):
        net.learnables = t
    t = net.learnables
    t["block/conv1", "Weights"] = np.ones((2, 2), np.float32)
    with pytest.raises(ShapeError, match=r"value for \('block/conv1', 'Weights'\) has shape \(2, 2\), expected \(3, 3, 4, 4\)"):
        net.learnables = t
    with pytest.raises(OptionError, match="no layer named 'block/nope'"):
        net.get_layer("block/nope")
    with pytest.raises(OptionError, match="no learnable parameter 'TrainedMean' in layer 'block/bn1'"):
        net.learnables = net.state


def test_docstring_examples_run():
    for module in (importlib.import_module("dlarray.layers.network"), importlib.import_module("dlarray.network.expand")):
        result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
        assert result.attempted > 0 and result.failed == 0, module.__name__
