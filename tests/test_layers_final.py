"""wordEmbeddingLayer, image3dInputLayer, inputLayer, crop3dLayer, indexing1dLayer,
embeddingConcatenationLayer, lstmProjectedLayer and gruProjectedLayer.

Values against numpy references written here in float64, first and second derivatives
against finite differences (tests/gradcheck.py), MATLAB's option spellings, typed errors for
bad options, and each layer inside a dlnetwork (initialize, predict, forward, a save/load
round trip)."""

import dlarray as dl
import numpy as np
import pytest
from dlarray import dlarray, dlnetwork, extractdata
from dlarray.errors import DlIndexError, FormatError, OptionError, ShapeError
from gradcheck import gradcheck, gradgradcheck


def _rng(seed=0):
    return np.random.default_rng(seed)


def _np(x):
    return np.asarray(extractdata(x))


def _round_trip(net, tmp_path, X, training=False):
    """The network saved and loaded gives the same output and learnables."""
    path = tmp_path / "net.dlnet"
    dl.save(path, net)
    again = dl.load(path)["net"]
    for (layer, p, v), (layer2, p2, v2) in zip(net.learnables, again.learnables):
        assert (layer, p) == (layer2, p2)
        np.testing.assert_array_equal(_np(v), _np(v2))
    np.testing.assert_array_equal(_np(net.predict(X)), _np(again.predict(X)))
    return again


# ----- wordEmbeddingLayer ----------------------------------------------------------------------


def test_word_embedding_layer_values_and_oov_modes():
    W = _rng(1).standard_normal((3, 5))
    idx = np.array([[0.0, 3.0, 7.0], [-1.0, 4.0, 1.0]])  # (B, T); 7 and -1 are outside 0..3
    layer = dl.wordEmbeddingLayer(3, 4, Weights=W)
    assert layer.OOVMode == "map-to-unknown" and layer.WeightsInitializer == "narrow-normal"
    Y = layer.predict(dlarray(idx, "BT"))
    mapped = np.where((idx < 0) | (idx >= 4), 4, idx).astype(int)
    assert Y.fmt == "CBT"
    np.testing.assert_array_equal(_np(Y), W[:, mapped])
    strict = dl.wordEmbeddingLayer(3, 5, OOVMode="error", Weights=W)
    with pytest.raises(DlIndexError, match="out of range"):
        strict.predict(dlarray(idx, "BT"))
    np.testing.assert_array_equal(_np(strict.predict(dlarray(mapped.astype(float), "BT"))), W[:, mapped])
    with pytest.raises(DlIndexError, match="integer"):
        layer.predict(dlarray(np.array([[0.5]]), "BT"))
    # The shared lookup keeps embeddingLayer as it was: no unknown column.
    assert dl.embeddingLayer(3, 4).oov_mode == "error"


def test_word_embedding_layer_initializer_and_network(tmp_path):
    dl.rng(0)
    net = dlnetwork([dl.sequenceInputLayer(1), dl.wordEmbeddingLayer(300, 50, Name="emb")])
    W = _np(net.learnables["emb", "Weights"])
    assert W.shape == (300, 51)  # the last column is the unknown word
    assert abs(W.mean()) < 1e-3 and abs(W.std() - 0.01) < 5e-4  # narrow-normal: N(0, 0.01²)
    net = dlnetwork([dl.sequenceInputLayer(1), dl.wordEmbeddingLayer(4, 6, OOVMode="error", Name="emb")])
    assert net.learnables["emb", "Weights"].shape == (4, 6)
    X = dlarray(np.array([[[1.0, 5.0, 2.0]]], np.float32), "CBT")
    Y = net.predict(X)
    assert Y.shape == (4, 1, 3)
    np.testing.assert_array_equal(_np(dl.forward(net, X)), _np(Y))
    again = _round_trip(net, tmp_path, X)
    assert type(again.layers[1]).__name__ == "WordEmbeddingLayer" and again.layers[1].oov_mode == "error"


def test_word_embedding_layer_gradients():
    idx = dlarray(np.array([[0.0, 2.0, 9.0, 2.0]]), "BT")
    W = _rng(2).standard_normal((2, 4))
    gradcheck(lambda W: dl.wordEmbeddingLayer(2, 3, Weights=W).predict(idx), W)
    gradgradcheck(lambda W: dl.tanh(dl.wordEmbeddingLayer(2, 3, Weights=W).predict(idx)), W)


def test_word_embedding_layer_bad_options():
    with pytest.raises(OptionError, match="wordEmbeddingLayer.*oov_mode.*'ignore'"):
        dl.wordEmbeddingLayer(3, 4, OOVMode="ignore")
    with pytest.raises(OptionError, match="wordEmbeddingLayer.*num_words"):
        dl.wordEmbeddingLayer(3, 0)
    with pytest.raises(OptionError, match="wordEmbeddingLayer.*weights_initializer"):
        dl.wordEmbeddingLayer(3, 4, WeightsInitializer="wide")
    with pytest.raises(ShapeError, match="wordEmbeddingLayer 'e'.*Weights.*\\(3, 5\\)"):
        dlnetwork([dl.sequenceInputLayer(1), dl.wordEmbeddingLayer(3, 4, weights=np.zeros((3, 4)), name="e")])
    with pytest.raises(dl.UnknownOptionError):
        dl.wordEmbeddingLayer(3, 4, OOV="error")


# ----- image3dInputLayer and inputLayer ---------------------------------------------------------


def test_image3d_input_layer(tmp_path):
    x = _rng(3).standard_normal((4, 3, 2, 2, 2))
    mean = _rng(4).standard_normal((4, 3, 2, 2))
    std = 1 + _rng(5).random((1, 1, 1, 2))
    layer = dl.image3dInputLayer((4, 3, 2, 2), Normalization="zscore", Mean=mean, StandardDeviation=std, Name="vol")
    assert layer.fmt == "SSSCB" and layer.InputSize == (4, 3, 2, 2)
    Y = layer.predict(x)
    ref = (x - mean.astype(np.float32)[..., None]) / std.astype(np.float32)[..., None]
    np.testing.assert_allclose(_np(Y), ref, rtol=1e-6)
    assert dl.image3dInputLayer((4, 3, 2)).input_size == (4, 3, 2, 1)
    assert dl.image3dInputLayer((4, 3, 2)).normalization == "zerocenter"  # MATLAB's default
    net = dlnetwork([layer, dl.convolution3dLayer(2, 3, name="conv")])
    X = dlarray(x.astype(np.float32), "SSSCB")
    assert net.predict(X).shape == (3, 2, 1, 3, 2)
    np.testing.assert_array_equal(_np(dl.forward(net, X)), _np(net.predict(X)))
    _round_trip(net, tmp_path, X)
    gradcheck(
        lambda X: dl.image3dInputLayer((2, 2, 1), Normalization="rescale-symmetric", Min=-1, Max=3).predict(X) ** 2, x[:2, :2, :1, :1, :1]
    )
    with pytest.raises(OptionError, match="image3dInputLayer.*input_size"):
        dl.image3dInputLayer((4, 3))
    with pytest.raises(OptionError, match="Image3DInputLayer.*normalization"):
        dl.image3dInputLayer((4, 3, 2), Normalization="unit")
    with pytest.raises(ShapeError, match="Image3DInputLayer 'vol'.*\\(4, 3, 2, 2\\)"):
        layer.predict(np.zeros((4, 3, 3, 2, 1)))


def test_input_layer_formats_and_variable_sizes(tmp_path):
    layer = dl.inputLayer([np.nan, 3, np.nan], "BCT", Name="seq")
    assert layer.fmt == "CBT" and layer.InputSize == (3, None, None) and layer.DataFormat == "BCT"
    x = _rng(6).standard_normal((2, 3, 5))  # read in the order B, C, T
    Y = layer.predict(x)
    assert Y.fmt == "CBT"
    np.testing.assert_array_equal(_np(Y), x.transpose(1, 0, 2))
    net = dlnetwork([layer, dl.lstmLayer(4, OutputMode="last", name="lstm"), dl.fullyConnectedLayer(2, name="fc")])
    X = dlarray(x.transpose(1, 0, 2).astype(np.float32), "CBT")
    for T in (1, 5, 7):  # any B and T
        assert net.predict(dlarray(np.ones((3, 4, T), np.float32), "CBT")).shape == (2, 4)
    np.testing.assert_array_equal(_np(dl.forward(net, X)), _np(net.predict(X)))
    _round_trip(net, tmp_path, X)
    img = dl.inputLayer((5, 4, 2, None), "SSCB")
    assert img.input_size == (5, 4, 2, None) and img.example().shape == (5, 4, 2, 1)
    gradcheck(lambda X: img.predict(X) ** 3, dlarray(_rng(7).standard_normal((5, 4, 2, 1)), "SSCB"))
    with pytest.raises(ShapeError, match="inputLayer 'seq'.*\\(3, None, None\\)"):
        layer.predict(dlarray(np.zeros((4, 2, 3)), "CBT"))
    with pytest.raises(FormatError, match="inputLayer 'seq'.*'CBT'.*'CB'"):
        layer.predict(dlarray(np.zeros((3, 2)), "CB"))
    with pytest.raises(FormatError, match="inputLayer: data_format"):
        dl.inputLayer((3, np.nan), "CX")
    with pytest.raises(FormatError, match="inputLayer.*repeats"):
        dl.inputLayer((3, 2, 2), "CBB")
    with pytest.raises(ShapeError, match="inputLayer.*one size per label"):
        dl.inputLayer((3, 2), "CBT")
    with pytest.raises(OptionError, match="inputLayer: input_size.*positive integers or NaN"):
        dl.inputLayer((3, 0.5), "CB")


# ----- crop3dLayer ------------------------------------------------------------------------------


def test_crop3d_layer_values_gradients_and_network(tmp_path):
    x = _rng(8).standard_normal((5, 6, 4, 2, 1))
    ref = dlarray(np.zeros((3, 2, 3, 1, 1)), "SSSCB")
    Y = dl.crop3dLayer().predict(dlarray(x, "SSSCB"), ref)
    assert Y.fmt == "SSSCB"
    np.testing.assert_array_equal(_np(Y), x[1:4, 2:4, 0:3])
    Yl = dl.crop3dLayer((3, 1, 1)).predict(dlarray(x, "SSSCB"), ref)  # x column, y row, z depth
    np.testing.assert_array_equal(_np(Yl), x[1:4, 3:5, 1:4])
    gradcheck(lambda X: dl.crop3dLayer().predict(X, ref) ** 2, dlarray(x[:4, :3, :3, :1], "SSSCB"))
    gradgradcheck(lambda X: dl.crop3dLayer((0, 1, 0)).predict(X, ref) ** 3, dlarray(x[:4, :3, :3, :1], "SSSCB"))
    net = dlnetwork(dl.image3dInputLayer((6, 6, 4, 1), Normalization="none", Name="vol"), initialize=False)
    net.add_layers([dl.convolution3dLayer(3, 1, Name="conv")])
    net.add_layers([dl.crop3dLayer(Name="crop")])
    net.connect_layers("vol", "conv")
    net.connect_layers("vol", "crop/in")
    net.connect_layers("conv", "crop/ref")
    X = dlarray(_rng(9).standard_normal((6, 6, 4, 1, 1)).astype(np.float32), "SSSCB")
    net.initialize(X)
    np.testing.assert_array_equal(_np(net.predict(X)), _np(X)[1:5, 1:5, 1:3])
    np.testing.assert_array_equal(_np(dl.forward(net, X)), _np(net.predict(X)))
    _round_trip(net, tmp_path, X)
    with pytest.raises(OptionError, match="crop3dLayer.*3 non-negative integers"):
        dl.crop3dLayer((1, 2))
    with pytest.raises(OptionError, match="crop3dLayer.*'centercrop'.*'corner'"):
        dl.crop3dLayer("corner")
    with pytest.raises(ShapeError, match="crop3dLayer.*does not fit"):
        dl.crop3dLayer((5, 0, 0)).predict(dlarray(x, "SSSCB"), ref)
    with pytest.raises(FormatError, match="crop3dLayer.*3 'S'"):
        dl.crop3dLayer().predict(dlarray(x[:, :, 0], "SSCB"), ref)


# ----- indexing1dLayer --------------------------------------------------------------------------


@pytest.mark.parametrize("mode, t", [("first", 0), ("last", 3), (2, 2), ("Last", 3)])
def test_indexing1d_layer_values(mode, t):
    x = _rng(10).standard_normal((3, 2, 4))
    Y = dl.indexing1dLayer(mode).predict(dlarray(x, "CBT"))
    assert Y.fmt == "CB"
    np.testing.assert_array_equal(_np(Y), x[:, :, t])
    s = dl.indexing1dLayer(IndexingMode=mode).predict(dlarray(x.transpose(2, 0, 1), "SCB"))
    assert s.fmt == "CB"
    np.testing.assert_array_equal(_np(s), x[:, :, t])


def test_indexing1d_layer_gradients_network_and_errors(tmp_path):
    x = _rng(11).standard_normal((2, 2, 3))
    gradcheck(lambda X: dl.indexing1dLayer("last").predict(X) ** 2, dlarray(x, "CBT"))
    gradgradcheck(lambda X: dl.indexing1dLayer(1).predict(X) ** 3, dlarray(x, "CBT"))
    net = dlnetwork([dl.sequenceInputLayer(2), dl.fullyConnectedLayer(3, name="fc"), dl.indexing1dLayer("last", name="idx")])
    X = dlarray(x.astype(np.float32), "CBT")
    assert net.predict(X).fmt == "CB" and net.predict(X).shape == (3, 2)
    np.testing.assert_array_equal(_np(dl.forward(net, X)), _np(net.predict(X)))
    _round_trip(net, tmp_path, X)
    with pytest.raises(OptionError, match="indexing1dLayer: indexing_mode.*'middle'"):
        dl.indexing1dLayer("middle")
    with pytest.raises(OptionError, match="indexing1dLayer: indexing_mode.*-1"):
        dl.indexing1dLayer(-1)
    with pytest.raises(ShapeError, match="indexing1dLayer 'i'.*position 5.*size 3"):
        dl.indexing1dLayer(5, name="i").predict(dlarray(x, "CBT"))
    with pytest.raises(FormatError, match="indexing1dLayer.*'SSCB'"):
        dl.indexing1dLayer().predict(dlarray(np.zeros((2, 2, 1, 1)), "SSCB"))


# ----- embeddingConcatenationLayer --------------------------------------------------------------


def test_embedding_concatenation_layer_values_and_gradients():
    x = _rng(12).standard_normal((3, 2, 4))
    w = _rng(13).standard_normal((3, 1))
    Y = dl.embeddingConcatenationLayer(Weights=w).predict(dlarray(x, "CBT"))
    ref = np.concatenate([np.repeat(w[:, :, None], 2, axis=1), x], axis=2)
    assert Y.fmt == "CBT" and Y.shape == (3, 2, 5)
    np.testing.assert_array_equal(_np(Y), ref)
    Ys = dl.embeddingConcatenationLayer(weights=w).predict(dlarray(x.transpose(2, 0, 1), "SCB"))  # 1-D image: along S
    assert Ys.fmt == "SCB"
    np.testing.assert_array_equal(_np(Ys), ref.transpose(2, 0, 1))

    def fn(X, W):
        return dl.embeddingConcatenationLayer(weights=W).predict(X) ** 2

    gradcheck(fn, dlarray(x[:, :, :2], "CBT"), w)
    gradgradcheck(lambda X, W: dl.tanh(fn(X, W)), dlarray(x[:2, :1, :2], "CBT"), w[:2])


def test_embedding_concatenation_layer_network_and_errors(tmp_path):
    dl.rng(1)
    net = dlnetwork([dl.sequenceInputLayer(400), dl.embeddingConcatenationLayer(Name="cls", WeightsLearnRateFactor=2)])
    W = _np(net.learnables["cls", "Weights"])
    assert W.shape == (400, 1) and abs(W.std() - 0.01) < 2e-3  # narrow-normal as MATLAB
    assert net.layers[1].learn_rate_factor("Weights") == 2
    X = dlarray(_rng(14).standard_normal((400, 2, 3)).astype(np.float32), "CBT")
    Y = net.predict(X)
    assert Y.shape == (400, 2, 4)
    np.testing.assert_array_equal(_np(Y)[:, 1, 0], W[:, 0])
    np.testing.assert_array_equal(_np(dl.forward(net, X)), _np(Y))
    _round_trip(net, tmp_path, X)

    def loss(net, X):
        return dl.sum(dl.forward(net, X)[:, :, 0] ** 2)

    grads = dl.dlfeval(lambda n: dl.dlgradient(loss(n, X), n.learnables), net)
    np.testing.assert_allclose(_np(grads["cls", "Weights"]), 2 * 2 * W, rtol=1e-5)  # two observations
    with pytest.raises(OptionError, match="embeddingConcatenationLayer.*weights_initializer"):
        dl.embeddingConcatenationLayer(WeightsInitializer="uniform")
    with pytest.raises(ShapeError, match="embeddingConcatenationLayer 'e'.*Weights.*\\(3, 1\\)"):
        dlnetwork([dl.sequenceInputLayer(3), dl.embeddingConcatenationLayer(weights=np.zeros((2, 1)), name="e")])
    with pytest.raises(FormatError, match="embeddingConcatenationLayer.*'SSCB'"):
        dl.embeddingConcatenationLayer(weights=np.zeros((1, 1))).predict(dlarray(np.zeros((2, 2, 1, 1)), "SSCB"))


# ----- lstmProjectedLayer and gruProjectedLayer -------------------------------------------------


def _sig(x):
    return 1 / (1 + np.exp(-x))


def _lstm_reference(x, W, R, b, h, c):
    """numpy float64 LSTM over x (C, B, T), MATLAB's gate order i, f, g, o."""
    H = R.shape[1]
    ys = []
    for t in range(x.shape[2]):
        z = W @ x[:, :, t] + R @ h + b
        i, f, g, o = _sig(z[:H]), _sig(z[H : 2 * H]), np.tanh(z[2 * H : 3 * H]), _sig(z[3 * H :])
        c = f * c + i * g
        h = o * np.tanh(c)
        ys.append(h)
    return np.stack(ys, 2), h, c


def _projected(H, Po, Pi, C, gates, seed):
    rng = _rng(seed)
    return dict(
        input_weights=rng.standard_normal((gates * H, Pi)) * 0.5,
        recurrent_weights=rng.standard_normal((gates * H, Po)) * 0.5,
        bias=rng.standard_normal((gates * H, 1)) * 0.5,
        input_projector=rng.standard_normal((C, Pi)) * 0.5,
        output_projector=rng.standard_normal((H, Po)) * 0.5,
    )


def test_lstm_projected_layer_against_numpy():
    H, Po, Pi, C = 3, 2, 2, 4
    p = _projected(H, Po, Pi, C, 4, 15)
    x = _rng(16).standard_normal((C, 2, 5))
    h0, c0 = _rng(17).standard_normal((H, 2)), _rng(18).standard_normal((H, 2))
    layer = dl.lstmProjectedLayer(H, Po, Pi, hidden_state=h0, cell_state=c0, **p)
    Y, h, c = layer.predict(dlarray(x, "CBT"))
    W = p["input_weights"] @ p["input_projector"].T
    R = p["recurrent_weights"] @ p["output_projector"].T
    ry, rh, rc = _lstm_reference(x, W, R, p["bias"], h0, c0)
    assert Y.fmt == "CBT"
    np.testing.assert_allclose(_np(Y), ry, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(_np(h), rh, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(_np(c), rc, rtol=1e-12, atol=1e-12)
    last = dl.lstmProjectedLayer(H, Po, Pi, OutputMode="last", HiddenState=h0, CellState=c0, **p).predict(dlarray(x, "CBT"))[0]
    assert last.fmt == "CB"
    np.testing.assert_allclose(_np(last), rh, rtol=1e-12, atol=1e-12)


def test_gru_projected_layer_matches_gru_with_the_product_weights():
    H, Po, Pi, C = 3, 2, 3, 2
    x = dlarray(_rng(19).standard_normal((C, 2, 4)), "CBT")
    h0 = _rng(20).standard_normal((H, 2))
    for mode, rows in (("after-multiplication", 3), ("recurrent-bias-after-multiplication", 6)):
        p = _projected(H, Po, Pi, C, 3, 21)
        p["bias"] = _rng(22).standard_normal((rows * H, 1))
        Y, h = dl.gruProjectedLayer(H, Po, Pi, ResetGateMode=mode, hidden_state=h0, **p).predict(x)
        W = p["input_weights"] @ p["input_projector"].T
        R = p["recurrent_weights"] @ p["output_projector"].T
        ry, rh = dl.gru(x, h0, W, R, p["bias"], reset_gate_mode=mode)
        np.testing.assert_allclose(_np(Y), _np(ry), rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(_np(h), _np(rh), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("ctor, gates", [(dl.lstmProjectedLayer, 4), (dl.gruProjectedLayer, 3)])
def test_projected_layer_gradients(ctor, gates):
    H, Po, Pi, C = 2, 1, 1, 2
    p = _projected(H, Po, Pi, C, gates, 23)
    x = dlarray(_rng(24).standard_normal((C, 1, 2)), "CBT")
    names = list(p)
    states = dict(hidden_state=np.zeros((H, 1)), **({"cell_state": np.zeros((H, 1))} if gates == 4 else {}))

    def fn(X, *values):
        return ctor(H, Po, Pi, **dict(zip(names, values)), **states).predict(X)[0]

    gradcheck(fn, x, *p.values())
    gradgradcheck(
        lambda X, Wp, Qo: fn(X, p["input_weights"], p["recurrent_weights"], p["bias"], Wp, Qo),
        x,
        p["input_projector"],
        p["output_projector"],
    )


@pytest.mark.parametrize("ctor, gates", [(dl.lstmProjectedLayer, 4), (dl.gruProjectedLayer, 3)])
def test_projected_layers_in_a_network(ctor, gates, tmp_path):
    dl.rng(2)
    H, Po, Pi, C = 6, 2, 3, 5
    net = dlnetwork([dl.sequenceInputLayer(C), ctor(H, Po, Pi, Name="rnn"), dl.fullyConnectedLayer(2, name="fc")])
    shapes = {p: v.shape for layer, p, v in net.learnables if layer == "rnn"}
    assert shapes == {
        "InputWeights": (gates * H, Pi),
        "RecurrentWeights": (gates * H, Po),
        "Bias": (gates * H, 1),
        "InputProjector": (C, Pi),
        "OutputProjector": (H, Po),
    }
    for name in ("InputProjector", "OutputProjector"):  # orthogonal: orthonormal columns
        Q = _np(net.learnables["rnn", name]).astype(np.float64)
        np.testing.assert_allclose(Q.T @ Q, np.eye(Q.shape[1]), atol=1e-5)
    if gates == 4:  # unit-forget-gate
        np.testing.assert_array_equal(_np(net.learnables["rnn", "Bias"])[:, 0], np.r_[np.zeros(H), np.ones(H), np.zeros(2 * H)])
    X = dlarray(_rng(25).standard_normal((C, 2, 4)).astype(np.float32), "CBT")
    Y = net.predict(X)
    assert Y.shape == (2, 2, 4)
    np.testing.assert_allclose(_np(dl.forward(net, X)), _np(Y), rtol=1e-6)
    again = _round_trip(net, tmp_path, X)
    assert again.layers[1].output_projector_size == Po

    def loss(net):
        return dl.sum(dl.forward(net, X) ** 2)

    grads = dl.dlfeval(lambda n: dl.dlgradient(loss(n), n.learnables), net)
    for layer, p, g in grads:
        assert np.any(_np(g) != 0), (layer, p)  # every factor learns


@pytest.mark.parametrize("ctor, who", [(dl.lstmProjectedLayer, "lstmProjectedLayer"), (dl.gruProjectedLayer, "gruProjectedLayer")])
def test_projected_layers_bad_options(ctor, who):
    with pytest.raises(OptionError, match=f"{who}: output_projector_size.*0"):
        ctor(4, 0, 2)
    with pytest.raises(OptionError, match=f"{who}: input_projector_size.*2.5"):
        ctor(4, 2, 2.5)
    with pytest.raises(OptionError, match=f"{who}: input_projector_initializer.*'he-normal'"):
        ctor(4, 2, 2, InputProjectorInitializer="he-normal")
    with pytest.raises(OptionError, match="output_mode"):
        ctor(4, 2, 2, OutputMode="all")
    with pytest.raises(ShapeError, match=f"{who} 'r'.*InputProjector.*\\(3, 2\\)"):
        dlnetwork([dl.sequenceInputLayer(3), ctor(4, 2, 2, input_projector=np.zeros((4, 2)), name="r")])
    with pytest.raises(dl.UnknownOptionError):
        ctor(4, 2, 2, ProjectorSize=3)
