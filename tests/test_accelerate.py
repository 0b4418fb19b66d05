"""dlaccelerate: a cached trace replayed on new inputs gives what calling the function gives
(first and second order, through dlfeval and around dlgradient, with networks); the cache
key, eviction, statistics, check mode and errors; threads."""

import threading

import dlarray as dl
import numpy as np
import pytest
from dlarray import AutodiffError, OptionError, dlarray, dlfeval, dlgradient, extractdata
from dlarray._tree import tree_leaves

RNG = np.random.default_rng(5)


def _values(out):
    return [np.asarray(extractdata(x)) for x in tree_leaves(out)]


def _assert_same(a, b, rtol=0.0):
    va, vb = _values(a), _values(b)
    assert len(va) == len(vb)
    for x, y in zip(va, vb):
        if rtol:
            np.testing.assert_allclose(x, y, rtol=rtol, atol=rtol)
        else:
            np.testing.assert_array_equal(x, y)


def _chain(x, y):
    return dl.sin(x) * y + dl.exp(-x * x) / (1 + y * y)


def test_replayed_calls_equal_direct_calls_and_count_hits():
    acc = dl.dlaccelerate(_chain)
    for _ in range(3):
        x, y = dlarray(RNG.standard_normal((3, 4)), "CB"), dlarray(RNG.standard_normal((3, 4)), "CB")
        out = acc(x, y)
        assert dl.dims(out) == "CB"
        _assert_same(out, _chain(x, y))
    assert acc.hit_rate == pytest.approx(200 / 3)
    assert acc.occupancy == pytest.approx(100 / 50)


def _mlp(params, X):
    h = dl.tanh(dl.fullyconnect(X, params["w1"], params["b1"]))
    return dl.fullyconnect(h, params["w2"], params["b2"])


def _mlp_params(seed):
    rng = np.random.default_rng(seed)
    return {
        "w1": dlarray(rng.standard_normal((8, 3)) * 0.5),
        "b1": dlarray(rng.standard_normal(8) * 0.1),
        "w2": dlarray(rng.standard_normal((2, 8)) * 0.5),
        "b2": dlarray(rng.standard_normal(2) * 0.1),
    }


def _model_loss(params, X, T):
    loss = dl.mse(_mlp(params, X), T)
    return loss, dlgradient(loss, params)


def test_a_model_loss_function_through_dlfeval_replays_its_gradients():
    acc = dl.dlaccelerate(_model_loss)
    for seed in range(3):
        rng = np.random.default_rng(seed)
        params = _mlp_params(seed)
        X, T = dlarray(rng.standard_normal((3, 16)), "CB"), dlarray(rng.standard_normal((2, 16)), "CB")
        _assert_same(dlfeval(acc, params, X, T), dlfeval(_model_loss, params, X, T), rtol=1e-12)
        loss, grads = dlfeval(acc, params, X, T)
        assert not loss.traced and not grads["w1"].traced
    assert acc.hit_rate == pytest.approx(100 * 5 / 6)


def test_second_order_pinn_style_loss_replays():
    def loss_fn(params, x):
        u = _mlp(params, x)
        ux = dlgradient(u.sum(), x, enable_higher_derivatives=True)
        loss = (ux * ux).mean() + (u * u).mean()
        return loss, dlgradient(loss, params)

    acc = dl.dlaccelerate(loss_fn)
    for seed in range(3):
        params = _mlp_params(seed)
        x = dlarray(np.random.default_rng(seed).standard_normal((3, 10)), "CB")
        _assert_same(dlfeval(acc, params, x), dlfeval(loss_fn, params, x), rtol=1e-12)


def test_an_outer_gradient_flows_through_an_accelerated_function():
    acc = dl.dlaccelerate(_chain)

    def outer(f, x, y):
        z = f(x, y).sum()
        return dlgradient(z, x, y)

    for _ in range(2):
        x, y = dlarray(RNG.standard_normal(5)), dlarray(RNG.standard_normal(5))
        _assert_same(dlfeval(outer, acc, x, y), dlfeval(outer, _chain, x, y))


def test_first_order_gradients_inside_stay_constant_to_an_outer_gradient():
    def inner(x):
        g = dlgradient((x * x * x).sum(), x)  # 3x², constant to anything outside
        return (g * x).sum()

    acc = dl.dlaccelerate(inner)

    def outer(f, x):
        return dlgradient(f(x), x)

    x = dlarray(np.array([1.0, 2.0]))
    for _ in range(2):
        _assert_same(dlfeval(outer, acc, x), dlfeval(outer, inner, x))


def test_a_network_model_loss_replays_and_a_new_architecture_retraces():
    def make(width):
        return dl.dlnetwork(
            [dl.featureInputLayer(3), dl.fullyConnectedLayer(width), dl.reluLayer(), dl.fullyConnectedLayer(2), dl.softmaxLayer()]
        )

    def model_loss(net, X, T):
        loss = dl.crossentropy(net.forward(X), T)
        return loss, dlgradient(loss, net.learnables)

    acc = dl.dlaccelerate(model_loss)
    net = make(6)
    T = dlarray(np.eye(2, dtype=np.float32)[:, RNG.integers(0, 2, 8)], "CB")
    for _ in range(2):
        X = dlarray(RNG.standard_normal((3, 8)).astype(np.float32), "CB")
        loss, grads = dlfeval(acc, net, X, T)
        loss_d, grads_d = dlfeval(model_loss, net, X, T)
        np.testing.assert_allclose(float(loss), float(loss_d), rtol=1e-6)
        for (_, _, g), (_, _, gd) in zip(grads, grads_d):
            np.testing.assert_allclose(extractdata(g), extractdata(gd), rtol=1e-5, atol=1e-7)
        net = dl.sgdmupdate(net, grads, None, 0.1)[0]
    assert acc.hit_rate == 50.0
    dlfeval(acc, make(7), X, T)
    assert acc.hit_rate == pytest.approx(100 / 3)


def test_a_layer_option_is_part_of_the_signature_and_new_learnables_are_not():
    def make(scale):
        return dl.dlnetwork([dl.featureInputLayer(3), dl.fullyConnectedLayer(4), dl.leakyReluLayer(scale)])

    acc = dl.dlaccelerate(lambda net, X: net.predict(X))
    X = dlarray(RNG.standard_normal((3, 5)), "CB")
    a, b = make(0.1), make(0.5)
    b = b.__dlarray_tree__()[1]([a.learnables, a.state])  # the same weights, another option
    ya, yb = acc(a, X), acc(b, X)
    assert acc.occupancy == 2 * 100 / acc.cache_size
    np.testing.assert_allclose(extractdata(ya), extractdata(a.predict(X)))
    np.testing.assert_allclose(extractdata(yb), extractdata(b.predict(X)))
    assert not np.allclose(extractdata(ya), extractdata(yb))
    doubled = dl.dlupdate(lambda w: 2 * w, a)
    np.testing.assert_allclose(extractdata(acc(doubled, X)), extractdata(doubled.predict(X)))
    assert acc.hit_rate == pytest.approx(100 / 3), "new learnables replay the cached trace"


@pytest.mark.parametrize("change", ["shape", "format", "dtype", "value"])
def test_each_part_of_the_signature_selects_a_new_trace(change):
    def f(x, scale):
        return x * scale

    acc = dl.dlaccelerate(f)
    acc(dlarray(np.ones((2, 3)), "CB"), 2.0)
    x = {
        "shape": dlarray(np.ones((2, 4)), "CB"),
        "format": dlarray(np.ones((2, 3)), "SB"),
        "dtype": dlarray(np.ones((2, 3), np.float32), "CB"),
    }.get(change, dlarray(np.ones((2, 3)), "CB"))
    scale = 3.0 if change == "value" else 2.0
    out = acc(x, scale)
    assert acc.hit_rate == 0.0 and acc.occupancy == pytest.approx(4.0)
    _assert_same(out, f(x, scale))


def test_cache_size_evicts_the_least_recently_used_trace_and_clear_cache_empties_it():
    acc = dl.dlaccelerate(lambda x: x + 1, cache_size=2)
    a, b, c = (dlarray(np.ones(n)) for n in (1, 2, 3))
    acc(a), acc(b), acc(a), acc(c)  # b is the least recently used when c arrives
    assert acc.occupancy == 100.0
    acc(a)
    assert acc.hit_rate == pytest.approx(40.0)
    acc(b)  # evicted: traced again
    assert acc.hit_rate == pytest.approx(100 * 2 / 6)
    dl.clearCache(acc)
    assert acc.occupancy == 0.0 and acc.hit_rate == 0.0


def test_dlfeval_of_an_accelerated_function_inside_another_dlfeval_and_returning_nothing():
    calls = []

    def quiet(x):
        calls.append(dlgradient((x * x).sum(), x))

    acc = dl.dlaccelerate(quiet)

    def outer(x):
        assert dlfeval(acc, x) is None
        return dlfeval(acc, x * 2)

    assert dlfeval(outer, dlarray(np.ones(2))) is None
    assert len(calls) == 1  # traced once; the other calls replay
    acc.enabled = False
    assert dlfeval(acc, dlarray(np.ones(2))) is None and len(calls) == 2


def test_side_effects_run_only_while_tracing_and_disabled_calls_run_the_function():
    calls = []

    def f(x):
        calls.append(1)
        return x * 2, "label"

    acc = dl.dlaccelerate(f)
    for _ in range(3):
        y, label = acc(dlarray(RNG.standard_normal(3)))
        assert label == "label"
    assert len(calls) == 1
    acc.enabled = False
    acc(dlarray(np.ones(3)))
    assert len(calls) == 2


def test_check_mode_warns_when_the_function_reads_a_value_its_inputs_do_not_carry():
    offset = {"value": 1.0}
    acc = dl.dlaccelerate(lambda x: x + dlarray(np.array(offset["value"])), check_mode="tolerance")
    x = dlarray(np.ones(3))
    acc(x)
    acc(x)  # unchanged: no warning
    offset["value"] = 5.0
    with pytest.warns(RuntimeWarning, match="check_tolerance"):
        acc(x)


def test_errors_are_typed():
    with pytest.raises(OptionError, match="dlaccelerate"):
        dl.dlaccelerate(3)
    with pytest.raises(OptionError, match="cache_size"):
        dl.dlaccelerate(_chain, cache_size=0)
    with pytest.raises(OptionError, match="check_mode"):
        dl.dlaccelerate(_chain, check_mode="strict")
    with pytest.raises(OptionError, match="clearCache"):
        dl.clearCache(_chain)
    acc = dl.dlaccelerate(lambda x: dlgradient((x * x).sum(), x))
    with pytest.raises(AutodiffError, match="inside a function evaluated by dlfeval"):
        acc(dlarray(np.ones(2)))
    nested = dl.dlaccelerate(lambda x: dlfeval(lambda y: y * 2, x))
    with pytest.raises(AutodiffError, match="dlaccelerate is tracing"):
        nested(dlarray(np.ones(2)))


def test_threads_share_the_cache_and_get_their_own_results():
    acc = dl.dlaccelerate(_chain)
    inputs = [(dlarray(RNG.standard_normal(64)), dlarray(RNG.standard_normal(64))) for _ in range(8)]
    results = [None] * len(inputs)

    def work(i):
        for _ in range(20):
            results[i] = acc(*inputs[i])

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(inputs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for (x, y), r in zip(inputs, results):
        _assert_same(r, _chain(x, y))
    assert acc.hit_rate > 90.0


def test_matlab_spellings_of_options_and_properties():
    acc = dl.dlaccelerate(_chain, CacheSize=3, CheckMode="tolerance")
    assert acc.CacheSize == 3 and acc.CheckMode == "tolerance" and acc.HitRate == 0.0
    acc.Enabled = False
    assert acc.enabled is False


def _cnn():
    return dl.dlnetwork(
        [
            dl.imageInputLayer([6, 6, 2]),
            dl.convolution2dLayer(3, 4, padding="same"),
            dl.batchNormalizationLayer(),
            dl.reluLayer(),
            dl.maxPooling2dLayer(2, stride=2),
            dl.fullyConnectedLayer(3),
            dl.softmaxLayer(),
        ]
    )


def _predict_cache():
    from dlarray.network.dlnetwork import _ACCELERATED_PREDICT

    _ACCELERATED_PREDICT.clear_cache()
    return _ACCELERATED_PREDICT


def test_predict_replays_from_the_second_call_bit_for_bit():
    cache = _predict_cache()
    net = _cnn()
    X = dlarray(RNG.standard_normal((6, 6, 2, 5)).astype(np.float32), "SSCB")
    want = extractdata(net.predict(X, acceleration="none"))
    assert cache.occupancy == 0, "acceleration='none' does not touch the cache"
    first = net.predict(X)
    assert cache.occupancy == 0, "a first call runs layer by layer"
    second, third = net.predict(X), net.predict(X)
    assert cache.occupancy == 100 / cache.cache_size and cache.hit_rate == pytest.approx(100 / 3)
    for y in (first, second, third):
        assert y.fmt == "CB"
        np.testing.assert_array_equal(extractdata(y), want)
    # An optimizer step's copy of the network replays the same trace with its new values.
    stepped = dl.dlupdate(lambda w: w * 0.5, net)
    np.testing.assert_array_equal(extractdata(stepped.predict(X)), extractdata(stepped.predict(X, acceleration="none")))
    assert cache.occupancy == 100 / cache.cache_size


def test_predict_with_state_and_named_outputs_replays():
    _predict_cache()
    net = dl.dlnetwork([dl.sequenceInputLayer(3), dl.lstmLayer(4, name="lstm"), dl.fullyConnectedLayer(2, name="fc")])
    X = dlarray(RNG.standard_normal((3, 2, 5)), "CBT")
    for _ in range(3):
        y, h = net.predict(X, outputs=["fc", "lstm"])
        y0, h0 = net.predict(X, outputs=["fc", "lstm"], acceleration="none")
        np.testing.assert_array_equal(extractdata(y), extractdata(y0))
        np.testing.assert_array_equal(extractdata(h), extractdata(h0))
        y, state = net.predict(X, return_state=True)
        y0, state0 = net.predict(X, return_state=True, Acceleration="none")
        np.testing.assert_array_equal(extractdata(y), extractdata(y0))
        for (_, _, v), (_, _, v0) in zip(state, state0):
            np.testing.assert_array_equal(extractdata(v), extractdata(v0))


def test_gradients_through_an_accelerated_predict_equal_layer_by_layer():
    _predict_cache()
    net = _cnn()
    X = dlarray(RNG.standard_normal((6, 6, 2, 4)), "SSCB")

    def loss(net, X, acceleration):
        y = net.predict(X, acceleration=acceleration)
        total = (y * y).sum()
        return dlgradient(total, net.learnables, X)

    for _ in range(3):
        (g, gx), (g0, gx0) = dlfeval(loss, net, X, "auto"), dlfeval(loss, net, X, "none")
        np.testing.assert_allclose(extractdata(gx), extractdata(gx0), rtol=1e-12, atol=1e-14)
        for (_, _, a), (_, _, b) in zip(g, g0):
            np.testing.assert_allclose(extractdata(a), extractdata(b), rtol=1e-12, atol=1e-14)


def test_predict_runs_layer_by_layer_for_function_layers_and_numpy_inputs():
    cache = _predict_cache()
    calls = []

    def double(x):
        calls.append(1)
        return 2 * x

    net = dl.dlnetwork([dl.featureInputLayer(3), dl.functionLayer(double), dl.fullyConnectedLayer(2)])
    X = dlarray(RNG.standard_normal((3, 4)), "CB")
    calls.clear()  # initializing the network called it
    for _ in range(3):
        net.predict(X)
    assert len(calls) == 3 and cache.occupancy == 0, "a function layer may do anything: never replayed"
    plain = _cnn()
    for _ in range(3):
        plain.predict(RNG.standard_normal((6, 6, 2, 1)).astype(np.float32))
    assert cache.occupancy == 0, "a numpy input's signature is its value: not cached"
    with pytest.raises(OptionError, match="acceleration"):
        plain.predict(X, acceleration="fast")


@pytest.mark.parametrize("middle", [dl.eluLayer, lambda: dl.clippedReluLayer(0.5)], ids=["elu", "clippedrelu"])
def test_predict_replays_layers_whose_masks_are_dlarray_ops(middle):
    cache = _predict_cache()
    net = dl.dlnetwork([dl.featureInputLayer(3), dl.fullyConnectedLayer(4), middle()])
    for _ in range(4):
        X = dlarray(RNG.standard_normal((3, 6)), "CB")
        np.testing.assert_array_equal(extractdata(net.predict(X)), extractdata(net.predict(X, acceleration="none")))
    assert cache.occupancy == 100 / cache.cache_size


def _masked_attention_net():
    net = dl.dlnetwork(dl.sequenceInputLayer(4, name="x"), initialize=False)
    net.add_layers([dl.sequenceInputLayer(1, name="m")])
    net.add_layers([dl.selfAttentionLayer(2, 4, has_padding_mask=True, name="sa")])
    net.connect_layers("x", "sa/in")
    net.connect_layers("m", "sa/mask")
    net.initialize(dlarray(np.ones((4, 2, 5)), "CBT"), dlarray(np.ones((1, 2, 5)), "CBT"))
    return net


def _padding(t):
    M = np.ones((1, 2, 5))
    M[0, 1, 4 - t % 4 :] = 0  # another padding each call
    return dlarray(M, "CBT")


def test_a_self_attention_layer_with_a_padding_mask_is_not_replayed():
    cache = _predict_cache()
    net = _masked_attention_net()
    X = dlarray(RNG.standard_normal((4, 2, 5)), "CBT")
    for t in range(4):
        mask = _padding(t)
        np.testing.assert_array_equal(extractdata(net.predict(X, mask)), extractdata(net.predict(X, mask, acceleration="none")))
    assert cache.occupancy == 0


def test_dlaccelerate_calls_a_function_directly_for_a_network_with_such_layers():
    net = _masked_attention_net()

    def model_loss(net, X, mask):
        loss = (net.forward(X, mask) ** 2).sum()
        return loss, dlgradient(loss, net.learnables)

    acc = dl.dlaccelerate(model_loss)
    for t in range(3):
        X, mask = dlarray(RNG.standard_normal((4, 2, 5)), "CBT"), _padding(t)
        loss, grads = dlfeval(acc, net, X, mask)
        loss_d, grads_d = dlfeval(model_loss, net, X, mask)
        assert float(loss) == float(loss_d)
        for (_, _, g), (_, _, gd) in zip(grads, grads_d):
            np.testing.assert_array_equal(extractdata(g), extractdata(gd))
    assert acc.occupancy == 0 and acc.hit_rate == 0
