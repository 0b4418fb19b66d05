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
from dlarray.errors import FormatError, OptionError, ShapeError
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


@pytest.mark.parametrize(
    "ctor, x_shape, fmt, kernel, stride, cropping, crops",
    [
        (dl.transposedConv1dLayer, (4, 3, 2), "SCB", (3,), (2,), 0, ((0,), (0,))),
        (dl.transposedConv1dLayer, (4, 3, 2), "SCB", (3,), (2,), "same", ((0,), (1,))),
        (dl.transposedConv1dLayer, (4, 3, 2), "SCB", (4,), (1,), [[1], [2]], ((1,), (2,))),
        (dl.transposedConv3dLayer, (2, 3, 2, 2, 1), "SSSCB", (2, 2, 1), (2, 1, 2), 0, ((0, 0, 0), (0, 0, 0))),
        (dl.transposedConv3dLayer, (2, 2, 2, 2, 2), "SSSCB", (3, 3, 3), (2, 2, 2), "same", ((0, 0, 0), (1, 1, 1))),
    ],
)
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
        assert Y.shape[: len(kernel)] == tuple(s * i for s, i in zip(stride, x_shape))


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
        dlnetwork([dl.transposedConv3dLayer(2, 2, weights=np.zeros((2, 2, 2, 2, 5)))], initialize=False).initialize(
            dlarray(np.zeros((2, 2, 2, 3, 1)), "SSSCB")
        )


# ----- bilstmLayer ------------------------------------------------------------------------------


def _sig(x):
    return 1 / (1 + np.exp(-x))


def _lstm_reference(x, h, c, W, R, b):
    """numpy float64 LSTM over x (C, B, T), MATLAB's gate order i, f, g, o."""
    H = R.shape[1]
    ys = []
    for t in range(x.shape[2]):
        z = W @ x[:, :, t] + R @ h + b.reshape(-1, 1)
        i, f, g, o = _sig(z[:H]), _sig(z[H : 2 * H]), np.tanh(z[2 * H : 3 * H]), _sig(z[3 * H :])
        c = f * c + i * g
        h = o * np.tanh(c)
        ys.append(h)
    return np.stack(ys, axis=2), h, c


def _bilstm_reference(x, h0, c0, W, R, b):
    H = R.shape[1]
    yf, hf, cf = _lstm_reference(x, h0[:H], c0[:H], W[: 4 * H], R[: 4 * H], b[: 4 * H])
    yr, hb, cb = _lstm_reference(x[:, :, ::-1], h0[H:], c0[H:], W[4 * H :], R[4 * H :], b[4 * H :])
    return np.concatenate([yf, yr[:, :, ::-1]], axis=0), np.concatenate([hf, hb]), np.concatenate([cf, cb])


def _bilstm_params(C=3, H=2, seed=5):
    rng = _rng(seed)
    return rng.standard_normal((8 * H, C)) * 0.7, rng.standard_normal((8 * H, H)) * 0.7, rng.standard_normal((8 * H, 1))


def test_bilstm_layer_against_numpy_and_state():
    W, R, b = _bilstm_params()
    x = _rng(6).standard_normal((3, 2, 4))
    h0 = _rng(7).standard_normal((4, 1))
    c0 = _rng(8).standard_normal((4, 1))
    layer = dl.bilstmLayer(2, input_weights=W, recurrent_weights=R, bias=b, hidden_state=h0, cell_state=c0, name="bi")
    net = dlnetwork([dl.sequenceInputLayer(3), layer])
    Y, state = net.forward(dlarray(x, "CBT"), return_state=True)
    y_ref, h_ref, c_ref = _bilstm_reference(x, np.repeat(h0, 2, 1), np.repeat(c0, 2, 1), W, R, b)
    assert Y.fmt == "CBT" and Y.shape == (4, 2, 4)
    np.testing.assert_allclose(_np(Y), y_ref, rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(_np(state["bi", "HiddenState"]), h_ref, rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(_np(state["bi", "CellState"]), c_ref, rtol=1e-12, atol=1e-13)
    # "last": the last time step of the output sequence.
    last = dl.bilstmLayer(2, OutputMode="last", InputWeights=W, RecurrentWeights=R, Bias=b)
    YL = dlnetwork([dl.sequenceInputLayer(3), last]).predict(dlarray(x, "CBT"))
    y_ref0 = _bilstm_reference(x, np.zeros((4, 2)), np.zeros((4, 2)), W, R, b)[0]
    assert YL.fmt == "CB"
    np.testing.assert_allclose(_np(YL), y_ref0[:, :, -1], rtol=1e-12, atol=1e-13)
    # One observation without B ("CT").
    Y1 = layer._with(HiddenState=dlarray(h0), CellState=dlarray(c0)).predict(dlarray(x[:, 0], "CT"))[0]
    assert Y1.fmt == "CT"
    np.testing.assert_allclose(_np(Y1), y_ref[:, 0], rtol=1e-12, atol=1e-13)


def test_bilstm_layer_defaults_and_learnables():
    np.random.seed(0)
    net = dlnetwork([dl.sequenceInputLayer(3), dl.bilstmLayer(4), dl.fullyConnectedLayer(2)])
    assert [(n, p, tuple(v.shape)) for n, p, v in net.learnables][:3] == [
        ("bilstm", "InputWeights", (32, 3)),
        ("bilstm", "RecurrentWeights", (32, 4)),
        ("bilstm", "Bias", (32, 1)),
    ]
    assert [(n, p, tuple(v.shape)) for n, p, v in net.state] == [("bilstm", "HiddenState", (8, 1)), ("bilstm", "CellState", (8, 1))]
    bias = _np(net.learnables["bilstm", "Bias"])[:, 0]
    expected = np.zeros(32)
    expected[4:8] = expected[20:24] = 1  # the forget gate of each direction
    np.testing.assert_array_equal(bias, expected)
    W = _np(net.learnables["bilstm", "InputWeights"])
    assert np.abs(W).max() <= np.sqrt(6 / (3 + 32))  # glorot, fan-out 8H
    R = _np(net.learnables["bilstm", "RecurrentWeights"])
    np.testing.assert_allclose(R.T @ R, np.eye(4), atol=1e-5)
    Y = net.predict(dlarray(np.ones((3, 2, 5), np.float32), "CBT"))
    assert Y.fmt == "CBT" and Y.shape == (2, 2, 5) and Y.dtype == np.float32
    assert net.layers[1].description == "BiLSTM"


def test_bilstm_layer_gradients():
    W, R, b = _bilstm_params(C=2, H=2)
    x = _rng(9).standard_normal((2, 1, 3))
    layer = dl.bilstmLayer(2, input_weights=W, recurrent_weights=R, bias=b)
    layer.initialize(dlarray(x, "CBT"))

    def fn(X, Wx):
        return layer._with(InputWeights=Wx).predict(X)[0]

    gradcheck(fn, dlarray(x, "CBT"), W)
    gradgradcheck(fn, dlarray(x, "CBT"), W, rtol=1e-4, atol=1e-6)


def test_bilstm_layer_bad_input():
    with pytest.raises(OptionError, match="BiLSTMLayer"):
        dl.bilstmLayer(0)
    with pytest.raises(OptionError, match="bilstmLayer"):
        dl.bilstmLayer(3, has_state_inputs=True)
    with pytest.raises(OptionError, match="output_mode"):
        dl.bilstmLayer(3, output_mode="first")
    with pytest.raises(ShapeError, match="InputWeights"):
        dlnetwork([dl.sequenceInputLayer(3), dl.bilstmLayer(2, input_weights=np.zeros((8, 3)))])
    with pytest.raises(ShapeError, match="HiddenState"):
        dlnetwork([dl.sequenceInputLayer(3), dl.bilstmLayer(2, hidden_state=np.zeros((2, 1)))])


# ----- position encoding and embedding ------------------------------------------------------------


def _sinusoid(p, d):
    """The formula, element by element: channel 2k sin(p/10000^(2k/d)), 2k+1 cos(...)."""
    out = np.zeros((d,) + np.shape(p))
    for k in range(d // 2):
        out[2 * k] = np.sin(np.asarray(p) / 10000 ** (2 * k / d))
        out[2 * k + 1] = np.cos(np.asarray(p) / 10000 ** (2 * k / d))
    return out


def test_sinusoidal_position_encoding_against_formula():
    x = _rng(10).standard_normal((3, 2, 7))
    layer = dl.sinusoidalPositionEncodingLayer(6)
    Y = layer.predict(dlarray(x, "CBT"))
    assert Y.fmt == "CBT" and Y.shape == (6, 2, 7) and Y.dtype == np.float64
    ref = _sinusoid(np.arange(7), 6)
    for b in range(2):
        np.testing.assert_allclose(_np(Y)[:, b], ref, rtol=1e-13, atol=1e-14)
    # 1-D images: positions along S.
    Ys = layer.predict(dlarray(np.zeros((5, 3, 1), np.float32), "SCB"))
    assert Ys.fmt == "SCB" and Ys.dtype == np.float32
    np.testing.assert_allclose(_np(Ys)[:, :, 0], ref[:, :5].T, rtol=1e-6, atol=1e-7)
    # Data values (other input: "CB" with one channel), differentiable in them.
    v = np.array([[0.3, -1.2, 4.0]])
    Yv = layer.predict(dlarray(v, "CB"))
    np.testing.assert_allclose(_np(Yv), _sinusoid(v[0], 6), rtol=1e-13, atol=1e-14)
    gradcheck(lambda X: layer.predict(X), dlarray(v, "CB"))
    gradgradcheck(lambda X: layer.predict(X), dlarray(v, "CB"))


def test_position_layers_in_a_network():
    np.random.seed(1)
    net = dlnetwork(
        [
            dl.sequenceInputLayer(1),
            dl.embeddingLayer(4, 20, name="emb"),
            dl.positionEmbeddingLayer(4, 6, Name="pos"),
            dl.additionLayer(2, name="add"),
        ],
        initialize=False,
    )
    net.connect_layers("emb", "add/in2")
    net.initialize()
    assert [(n, p, tuple(v.shape)) for n, p, v in net.learnables] == [("emb", "Weights", (4, 20)), ("pos", "Weights", (4, 6))]
    W = _np(net.learnables["pos", "Weights"])
    assert 0 < W.std() < 0.05  # narrow-normal
    words = np.array([[[3, 7, 1, 0], [5, 5, 2, 9]]], np.float32)  # (1, 2, 4) "CBT"
    Y = net.predict(dlarray(words, "CBT"))
    E = _np(net.learnables["emb", "Weights"])
    ref = E[:, words[0].astype(int)] + W[:, None, :4]
    np.testing.assert_allclose(_np(Y), ref, rtol=1e-6)

    # The gradient reaches the position weights used (columns 0..3), none of the others.
    def loss(net, X):
        return dl.dlgradient((net.forward(X) ** 2).sum(), net.learnables)

    g = dl.dlfeval(loss, net, dlarray(words, "CBT"))
    gw = _np(g["pos", "Weights"])
    np.testing.assert_allclose(gw[:, :4], 2 * ref.sum(axis=1), rtol=1e-5)
    assert not gw[:, 4:].any()
    sin_net = dlnetwork([dl.sequenceInputLayer(2), dl.sinusoidalPositionEncodingLayer(4)])
    assert len(sin_net.learnables) == 0


def test_position_embedding_gradients():
    W = _rng(11).standard_normal((3, 5))
    layer = dl.positionEmbeddingLayer(3, 5, weights=W)
    X = dlarray(np.zeros((2, 1, 4)), "CBT")
    gradcheck(lambda Wx: dl.tanh(layer._with(Weights=Wx).predict(X)), W)
    gradgradcheck(lambda Wx: dl.tanh(layer._with(Weights=Wx).predict(X)), W)


def test_position_layers_bad_input():
    with pytest.raises(OptionError, match="even"):
        dl.sinusoidalPositionEncodingLayer(5)
    with pytest.raises(OptionError, match="positions"):
        dl.sinusoidalPositionEncodingLayer(4, positions="time")
    with pytest.raises(OptionError, match="max_position"):
        dl.positionEmbeddingLayer(4, 0)
    with pytest.raises(OptionError, match="position_dimension"):
        dl.positionEmbeddingLayer(4, 3, PositionDimension="channel")
    layer = dl.positionEmbeddingLayer(2, 3, weights=np.zeros((2, 3)), name="pe")
    with pytest.raises(ShapeError, match="positionEmbeddingLayer 'pe'.*max_position"):
        layer.predict(dlarray(np.zeros((1, 1, 4)), "CBT"))
    with pytest.raises(FormatError, match="positionEmbeddingLayer"):
        layer.predict(dlarray(np.zeros((2, 2)), "CB"))
    with pytest.raises(ShapeError, match="data-values"):
        dl.sinusoidalPositionEncodingLayer(4).predict(dlarray(np.zeros((2, 3)), "CB"))
    with pytest.raises(ShapeError, match="Weights"):
        dlnetwork([dl.sequenceInputLayer(2), dl.positionEmbeddingLayer(2, 3, weights=np.zeros((3, 2)))])


# ----- selfAttentionLayer and attentionLayer ----------------------------------------------------------


def _softmax(z, axis):
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _attention_reference(q, k, v, heads, scale=None, causal=False, key_mask=None):
    """numpy multi-head attention of q (Cq, B, Tq), k (Cq, B, Tk), v (Cv, B, Tk)."""
    Cq, B, Tq = q.shape
    Cv, _, Tk = v.shape
    dq, dv = Cq // heads, Cv // heads
    scale = 1 / np.sqrt(dq) if scale is None else scale
    y = np.zeros((Cv, B, Tq))
    for h in range(heads):
        for b in range(B):
            s = scale * q[h * dq : (h + 1) * dq, b].T @ k[h * dq : (h + 1) * dq, b]  # (Tq, Tk)
            if causal:
                s = np.where(np.arange(Tk)[None, :] <= np.arange(Tq)[:, None], s, -1e30)
            if key_mask is not None:
                s = np.where(key_mask[b][None, :] != 0, s, -1e30)
            y[h * dv : (h + 1) * dv, b] = v[h * dv : (h + 1) * dv, b] @ _softmax(s, 1).T
    return y


def _fc(W, b, x):
    return np.einsum("oc,cbt->obt", W, x) + b.reshape(-1, 1, 1)


def _self_attention_params(C=4, nk=4, nv=6, no=3, seed=12):
    rng = _rng(seed)
    shapes = [(nk, C), (nk, C), (nv, C), (no, nv), (nk, 1), (nk, 1), (nv, 1), (no, 1)]
    return [rng.standard_normal(s) * 0.6 for s in shapes]


def test_self_attention_layer_against_numpy():
    Wq, Wk, Wv, Wo, bq, bk, bv, bo = params = _self_attention_params()
    x = _rng(13).standard_normal((4, 2, 5))
    for causal in (False, True):
        layer = dl.selfAttentionLayer(
            2,
            4,
            NumValueChannels=6,
            OutputSize=3,
            QueryWeights=Wq,
            KeyWeights=Wk,
            ValueWeights=Wv,
            OutputWeights=Wo,
            QueryBias=bq,
            KeyBias=bk,
            ValueBias=bv,
            OutputBias=bo,
            attention_mask="causal" if causal else "none",
            name="sa",
        )
        net = dlnetwork([dl.sequenceInputLayer(4), layer])
        assert [(n, p) for n, p, _ in net.learnables] == [
            ("sa", p)
            for p in ("QueryWeights", "KeyWeights", "ValueWeights", "OutputWeights", "QueryBias", "KeyBias", "ValueBias", "OutputBias")
        ]
        Y = net.predict(dlarray(x, "CBT"))
        y = _attention_reference(_fc(Wq, bq, x), _fc(Wk, bk, x), _fc(Wv, bv, x), 2, causal=causal)
        assert Y.fmt == "CBT" and Y.shape == (3, 2, 5)
        np.testing.assert_allclose(_np(Y), _fc(Wo, bo, y), rtol=1e-11, atol=1e-12)
        np.testing.assert_allclose(_np(net.forward(dlarray(x, "CBT"))), _np(Y), rtol=1e-13)
    del params


def test_self_attention_layer_defaults_padding_mask_and_dropout():
    np.random.seed(2)
    net = dlnetwork([dl.sequenceInputLayer(6), dl.selfAttentionLayer(3, 6)])
    assert [tuple(v.shape) for v in net.learnables.value] == [(6, 6)] * 4 + [(6, 1)] * 4
    biases = [_np(v) for n, p, v in net.learnables if p.endswith("Bias")]
    assert not any(b.any() for b in biases)  # zeros
    W = _np(net.learnables["selfattention", "QueryWeights"])
    assert np.abs(W).max() <= np.sqrt(6 / 12)  # glorot
    # A padding mask: the second input, "mask"; padded keys get no weight.
    Wq, Wk, Wv, Wo, bq, bk, bv, bo = _self_attention_params(C=4, nk=4, nv=4, no=4)
    layer = dl.selfAttentionLayer(
        2,
        4,
        has_padding_mask=True,
        query_weights=Wq,
        key_weights=Wk,
        value_weights=Wv,
        output_weights=Wo,
        query_bias=bq,
        key_bias=bk,
        value_bias=bv,
        output_bias=bo,
        name="sa",
    )
    assert layer.input_names == ["in", "mask"]
    net = dlnetwork(dl.sequenceInputLayer(4, name="x"), initialize=False)
    net.add_layers([dl.sequenceInputLayer(1, name="m")])
    net.add_layers([layer])
    net.connect_layers("x", "sa/in")
    net.connect_layers("m", "sa/mask")
    x = _rng(14).standard_normal((4, 2, 5))
    mask = np.ones((1, 2, 5))
    mask[0, 1, 3:] = 0
    net.initialize(dlarray(x, "CBT"), dlarray(mask, "CBT"))
    Y = net.predict(dlarray(x, "CBT"), dlarray(mask, "CBT"))
    y = _attention_reference(_fc(Wq, bq, x), _fc(Wk, bk, x), _fc(Wv, bv, x), 2, key_mask=mask[0])
    np.testing.assert_allclose(_np(Y), _fc(Wo, bo, y), rtol=1e-11, atol=1e-12)
    # Dropout only in forward.
    drop = dl.selfAttentionLayer(
        1,
        4,
        dropout_probability=0.5,
        query_weights=Wq,
        key_weights=Wk,
        value_weights=Wv,
        output_weights=Wo,
        query_bias=bq,
        key_bias=bk,
        value_bias=bv,
        output_bias=bo,
    )
    X = dlarray(x, "CBT")
    assert np.array_equal(_np(drop.predict(X)), _np(drop.predict(X)))
    assert not np.allclose(_np(drop.forward(X)), _np(drop.predict(X)))


def test_attention_layer_against_numpy():
    rng = _rng(15)
    q, k, v = rng.standard_normal((4, 2, 3)), rng.standard_normal((4, 2, 5)), rng.standard_normal((6, 2, 5))
    layer = dl.attentionLayer(2, Scale=0.7, name="att")
    assert layer.input_names == ["query", "key", "value"] and layer.learnable_parameters == ()
    net = dlnetwork(dl.sequenceInputLayer(4, name="q"), initialize=False)
    net.add_layers([dl.sequenceInputLayer(4, name="k")])
    net.add_layers([dl.sequenceInputLayer(6, name="v")])
    net.add_layers([layer])
    for src, port in (("q", "query"), ("k", "key"), ("v", "value")):
        net.connect_layers(src, f"att/{port}")
    net.initialize(dlarray(q, "CBT"), dlarray(k, "CBT"), dlarray(v, "CBT"))
    Y = net.predict(dlarray(q, "CBT"), dlarray(k, "CBT"), dlarray(v, "CBT"))
    assert Y.fmt == "CBT" and Y.shape == (6, 2, 3)
    np.testing.assert_allclose(_np(Y), _attention_reference(q, k, v, 2, scale=0.7), rtol=1e-12, atol=1e-13)
    causal = dl.attentionLayer(2, attention_mask="causal").predict(dlarray(q, "CBT"), dlarray(k, "CBT"), dlarray(v, "CBT"))
    np.testing.assert_allclose(_np(causal), _attention_reference(q, k, v, 2, causal=True), rtol=1e-12, atol=1e-13)


def test_attention_layers_gradients():
    Wq, Wk, Wv, Wo, bq, bk, bv, bo = _self_attention_params(C=2, nk=2, nv=2, no=2)
    layer = dl.selfAttentionLayer(
        1,
        2,
        query_weights=Wq,
        key_weights=Wk,
        value_weights=Wv,
        output_weights=Wo,
        query_bias=bq,
        key_bias=bk,
        value_bias=bv,
        output_bias=bo,
    )
    x = _rng(16).standard_normal((2, 1, 3))

    def fn(X, Wx):
        return layer._with(QueryWeights=Wx).predict(X)

    gradcheck(fn, dlarray(x, "CBT"), Wq)
    gradgradcheck(fn, dlarray(x, "CBT"), Wq, rtol=1e-4, atol=1e-6)
    att = dl.attentionLayer(1)
    gradcheck(lambda Q, K: att.predict(Q, K, K), dlarray(x, "CBT"), dlarray(x[::-1].copy(), "CBT"))


def test_attention_layers_bad_input():
    with pytest.raises(OptionError, match="divisible by num_heads"):
        dl.selfAttentionLayer(3, 4)
    with pytest.raises(OptionError, match="attention_mask"):
        dl.selfAttentionLayer(1, 4, attention_mask="future")
    with pytest.raises(OptionError, match="dropout_probability"):
        dl.selfAttentionLayer(1, 4, dropout_probability=1)
    with pytest.raises(OptionError, match="has_scores_output"):
        dl.attentionLayer(1, has_scores_output=True)
    with pytest.raises(OptionError, match="scale"):
        dl.attentionLayer(1, scale="big")
    with pytest.raises(FormatError, match="selfAttentionLayer 'sa'"):
        dlnetwork([dl.featureInputLayer(4), dl.selfAttentionLayer(1, 4, name="sa")])
    with pytest.raises(ShapeError, match="OutputWeights"):
        dlnetwork([dl.sequenceInputLayer(4), dl.selfAttentionLayer(1, 4, output_weights=np.zeros((4, 3)))])


# ----- dlresize, resize2dLayer / resize3dLayer, crop2dLayer --------------------------------------------


def _resize_reference(x, outs, method, asymmetric=False, floor=False, scales=None):
    """Element by element: output (o1, o2, ...) of x (S..., C, B) with MATLAB's half-pixel
    rule (u = (o + 0.5)/scale − 0.5, scale = out/n unless given), nearest rounding half away
    from zero, or multilinear interpolation between clamped neighbours."""
    d = len(outs)
    sizes = x.shape[:d]
    scales = [k / n for k, n in zip(outs, sizes)] if scales is None else list(np.broadcast_to(scales, (d,)))
    y = np.zeros(tuple(outs) + x.shape[d:])
    for o in itertools.product(*(range(k) for k in outs)):
        us = [oi / sc if asymmetric else (oi + 0.5) / sc - 0.5 for oi, sc in zip(o, scales)]
        if method == "nearest":
            idx = tuple(
                min(max(int(np.floor(u)) if floor else int(np.sign(u) * np.floor(abs(u) + 0.5)), 0), n - 1) for u, n in zip(us, sizes)
            )
            y[o] = x[idx]
            continue
        total = 0.0
        for corner in itertools.product((0, 1), repeat=d):
            weight, idx = 1.0, []
            for u, n, c in zip(us, sizes, corner):
                u = min(max(u, 0.0), n - 1.0)
                i0 = int(np.floor(u))
                weight *= (u - i0) if c else (1 - (u - i0))
                idx.append(min(i0 + c, n - 1))
            total = total + weight * x[tuple(idx)]
        y[o] = total
    return y


@pytest.mark.parametrize(
    "shape, kwargs, outs",
    [
        ((3, 4, 2, 1), dict(scale=2), (6, 8)),
        ((5, 4, 1, 2), dict(output_size=[3, 7]), (3, 7)),
        ((4, 3, 1, 1), dict(scale=[0.5, 1.7]), (2, 5)),
        ((3, 2, 2, 1, 1), dict(output_size=[4, 3, 3]), (4, 3, 3)),
    ],
)
@pytest.mark.parametrize("method", ["nearest", "linear"])
def test_dlresize_against_numpy(shape, kwargs, outs, method):
    x = _rng(17).standard_normal(shape)
    fmt = "S" * len(outs) + "CB"
    Y = dl.dlresize(dlarray(x, fmt), method=method, **kwargs)
    assert Y.fmt == fmt and Y.shape == outs + shape[len(outs) :]
    ref = _resize_reference(x, outs, method, scales=kwargs.get("scale"))
    np.testing.assert_allclose(_np(Y), ref, rtol=1e-12, atol=1e-13)


def test_dlresize_modes_and_unformatted_input():
    x = _rng(18).standard_normal((4, 5, 1, 1))
    Ya = dl.dlresize(dlarray(x, "SSCB"), scale=1.5, geometric_transform_mode="asymmetric", NearestRoundingMode="floor")
    np.testing.assert_allclose(_np(Ya), _resize_reference(x, (6, 7), "nearest", asymmetric=True, floor=True, scales=1.5))
    # Unformatted with data_format: the S dims are where the format says (here last two).
    xt = np.transpose(x[:, :, 0, 0])[None, None]  # (1, 1, W, H) "CBSS"
    Yu = dl.dlresize(dlarray(xt), output_size=[3, 2], method="linear", data_format="CBSS")
    assert Yu.fmt == "" and Yu.shape == (1, 1, 3, 2)
    ref = _resize_reference(np.transpose(x[:, :, 0, 0])[..., None, None], (3, 2), "linear")[..., 0, 0]
    np.testing.assert_allclose(_np(Yu)[0, 0], ref, rtol=1e-12)
    # Downsampling by an exact factor with bilinear half-pixel averages pairs.
    Y2 = dl.dlresize(dlarray(x, "SSCB"), output_size=[2, 5], method="linear")
    np.testing.assert_allclose(_np(Y2)[:, :, 0, 0], (x[0::2, :, 0, 0] + x[1::2, :, 0, 0]) / 2, rtol=1e-12)


def test_dlresize_gradients():
    x = _rng(19).standard_normal((3, 2, 1, 1))
    for method in ("nearest", "linear"):
        fn = lambda X, m=method: dl.dlresize(X, output_size=[5, 3], method=m)
        gradcheck(fn, dlarray(x, "SSCB"))
        gradgradcheck(lambda X, m=method: dl.dlresize(X, scale=1.5, method=m) ** 2, dlarray(x, "SSCB"))


def test_resize_and_crop_layers_in_a_network():
    x = _rng(20).standard_normal((4, 6, 2, 1)).astype(np.float32)
    net = dlnetwork(
        [
            dl.imageInputLayer((4, 6, 2), normalization="none"),
            dl.resize2dLayer(Scale=2, Method="bilinear"),
            dl.convolution2dLayer(3, 2, padding="same"),
        ]
    )
    Y = net.predict(dlarray(x, "SSCB"))
    assert Y.shape == (8, 12, 2, 1) and [layer.name for layer in net.layers][1] == "resize"
    up = dl.resize2dLayer(output_size=[8, 12], method="bilinear").predict(dlarray(x, "SSCB"))
    np.testing.assert_allclose(_np(up), _resize_reference(x.astype(np.float64), (8, 12), "linear"), rtol=1e-5, atol=1e-6)
    x3 = _rng(21).standard_normal((2, 3, 2, 1, 1))
    Y3 = dl.resize3dLayer(Scale=[2, 1, 1.5], Method="trilinear").predict(dlarray(x3, "SSSCB"))
    np.testing.assert_allclose(_np(Y3), _resize_reference(x3, (4, 3, 3), "linear", scales=[2, 1, 1.5]), rtol=1e-12)
    # crop2dLayer: "in" cropped to the size of "ref" (a U-Net skip connection).
    net = dlnetwork(dl.imageInputLayer((6, 7, 1), normalization="none", name="img"), initialize=False)
    net.add_layers([dl.maxPooling2dLayer(2, stride=2, name="pool"), dl.transposedConv2dLayer(2, 1, stride=2, name="up")])
    net.add_layers([dl.crop2dLayer(name="crop")])
    assert net.layers[-1].input_names == ["in", "ref"]
    net.connect_layers("img", "pool")
    net.connect_layers("img", "crop/in")
    net.connect_layers("up", "crop/ref")
    xi = _rng(22).standard_normal((6, 7, 1, 1))
    net.initialize(dlarray(xi, "SSCB"))
    Yc = net.predict(dlarray(xi, "SSCB"))
    assert Yc.fmt == "SSCB" and Yc.shape == (6, 6, 1, 1)
    np.testing.assert_array_equal(_np(Yc), xi[0:6, 0:6])


def test_crop2d_layer_values_and_gradients():
    x = _rng(23).standard_normal((5, 6, 2, 1))
    ref = dlarray(np.zeros((3, 2, 1, 1)), "SSCB")
    Y = dl.crop2dLayer().predict(dlarray(x, "SSCB"), ref)
    np.testing.assert_array_equal(_np(Y), x[1:4, 2:4])
    Yl = dl.crop2dLayer((3, 1)).predict(dlarray(x, "SSCB"), ref)  # x = column 3, y = row 1
    np.testing.assert_array_equal(_np(Yl), x[1:4, 3:5])
    gradcheck(lambda X: dl.crop2dLayer().predict(X, ref) ** 2, dlarray(x[:4, :3, :1], "SSCB"))


def test_resize_and_crop_bad_input():
    with pytest.raises(OptionError, match="exactly one"):
        dl.dlresize(dlarray(np.zeros((2, 2, 1, 1)), "SSCB"))
    with pytest.raises(OptionError, match="method"):
        dl.dlresize(dlarray(np.zeros((2, 2, 1, 1)), "SSCB"), scale=2, method="cubic")
    with pytest.raises(FormatError, match="dlresize.*'S'"):
        dl.dlresize(dlarray(np.zeros((2, 2)), "CB"), scale=2)
    with pytest.raises(FormatError, match="data_format"):
        dl.dlresize(dlarray(np.zeros((2, 2))), scale=2)
    with pytest.raises(OptionError, match="scale"):
        dl.dlresize(dlarray(np.zeros((2, 2, 1, 1)), "SSCB"), scale=-1)
    with pytest.raises(OptionError, match="resize2dLayer"):
        dl.resize2dLayer(scale=2, output_size=[3, 3])
    with pytest.raises(OptionError, match="resize3dLayer.*output_size"):
        dl.resize3dLayer(output_size=[3, 3])
    with pytest.raises(OptionError, match="method"):
        dl.resize2dLayer(scale=2, method="trilinear")
    with pytest.raises(FormatError, match="resize3dLayer"):
        dl.resize3dLayer(scale=2).predict(dlarray(np.zeros((2, 2, 1, 1)), "SSCB"))
    with pytest.raises(OptionError, match="crop2dLayer"):
        dl.crop2dLayer("corner")
    with pytest.raises(ShapeError, match="crop2dLayer.*larger"):
        dl.crop2dLayer().predict(dlarray(np.zeros((2, 2, 1, 1)), "SSCB"), dlarray(np.zeros((3, 2, 1, 1)), "SSCB"))
    with pytest.raises(ShapeError, match="does not fit"):
        dl.crop2dLayer((1, 0)).predict(dlarray(np.zeros((2, 2, 1, 1)), "SSCB"), dlarray(np.zeros((2, 2, 1, 1)), "SSCB"))
