"""load_torch_state_dict: PyTorch weights into a dlnetwork give PyTorch's outputs (CNN with
batch norm and a flatten, LSTM, GRU, BiLSTM), the layout conversions on a hand-made dict
without PyTorch, and typed errors naming the torch key, the layer and the shapes."""

import sys

import numpy as np
import pytest
import safetensors.numpy
from dlarray import (
    OptionError,
    ShapeError,
    batchNormalizationLayer,
    bilstmLayer,
    convolution2dLayer,
    dlarray,
    dlnetwork,
    extractdata,
    flattenLayer,
    fullyConnectedLayer,
    gruLayer,
    imageInputLayer,
    load_torch_state_dict,
    lstmLayer,
    maxPooling2dLayer,
    reluLayer,
    sequenceInputLayer,
)

H, W, C, F, K = 8, 6, 3, 4, 5


def cnn_layers(flatten=True):
    layers = [
        convolution2dLayer(3, F, padding="same", name="conv"),
        batchNormalizationLayer(name="bn"),
        reluLayer(),
        maxPooling2dLayer(2, stride=2),
    ]
    return layers + ([flattenLayer()] if flatten else []) + [fullyConnectedLayer(K, name="fc")]


def cnn(flatten=True):
    layers = cnn_layers(flatten)
    # float64 example input: the learnables are float64.
    return dlnetwork(layers, dlarray(np.zeros((H, W, C, 1)), "SSCB"))


def torch_cnn(torch):
    nn = torch.nn
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(C, F, 3, padding=1), nn.BatchNorm2d(F), nn.ReLU(), nn.MaxPool2d(2, 2), nn.Flatten(), nn.Linear(F * (H // 2) * (W // 2), K)
    ).double()
    with torch.no_grad():  # statistics other than 0 and 1, so that they matter
        model[1].running_mean.uniform_(-1, 1)
        model[1].running_var.uniform_(0.5, 2)
        model[1].weight.uniform_(0.5, 1.5)
        model[1].bias.uniform_(-0.5, 0.5)
    return model.eval()


@pytest.mark.parametrize("flatten", [True, False])
def test_cnn_gives_torch_outputs(flatten):
    torch = pytest.importorskip("torch")
    model = torch_cnn(torch)
    net = load_torch_state_dict(cnn(flatten), model.state_dict())
    x = np.random.default_rng(0).standard_normal((2, C, H, W))
    with torch.no_grad():
        ref = model(torch.from_numpy(x)).numpy()
    Y = net.predict(dlarray(x, "BCSS"))
    assert Y.fmt == "CB" and extractdata(Y).dtype == np.float64
    np.testing.assert_allclose(extractdata(Y).T, ref, rtol=0, atol=1e-10)
    np.testing.assert_array_equal(extractdata(net.state["bn", "TrainedMean"]).reshape(-1), model[1].running_mean.numpy())


def test_lstm_gives_torch_outputs():
    torch = pytest.importorskip("torch")
    T, N, Hd = 7, 3, 5

    class Model(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = torch.nn.LSTM(C, Hd, batch_first=True)
            self.head = torch.nn.Linear(Hd, K)

        def forward(self, x):
            return self.head(self.lstm(x)[0][:, -1])

    torch.manual_seed(1)
    model = Model().double().eval()
    net = dlnetwork(
        [lstmLayer(Hd, output_mode="last", name="lstm"), fullyConnectedLayer(K, name="head")], dlarray(np.zeros((C, 1, T)), "CBT")
    )
    net = load_torch_state_dict(net, model.state_dict())
    x = np.random.default_rng(1).standard_normal((N, T, C))
    with torch.no_grad():
        ref = model(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(extractdata(net.predict(dlarray(x, "BTC"))).T, ref, rtol=0, atol=1e-10)


def test_gru_and_bilstm_give_torch_outputs():
    torch = pytest.importorskip("torch")
    T, N, Hd = 6, 2, 4
    torch.manual_seed(2)
    x = np.random.default_rng(2).standard_normal((N, T, C))
    gru = torch.nn.GRU(C, Hd, batch_first=True).double()
    net = dlnetwork([gruLayer(Hd, reset_gate_mode="recurrent-bias-after-multiplication", name="gru")], dlarray(np.zeros((C, 1, T)), "CBT"))
    net = load_torch_state_dict(net, {f"gru.{k}": v for k, v in gru.state_dict().items()})
    with torch.no_grad():
        ref = gru(torch.from_numpy(x))[0].numpy()  # (N, T, Hd)
    np.testing.assert_allclose(extractdata(net.predict(dlarray(x, "BTC"))).transpose(1, 2, 0), ref, rtol=0, atol=1e-10)

    bi = torch.nn.LSTM(C, Hd, batch_first=True, bidirectional=True).double()
    net = dlnetwork([bilstmLayer(Hd, name="bi")], dlarray(np.zeros((C, 1, T)), "CBT"))
    net = load_torch_state_dict(net, bi.state_dict())
    with torch.no_grad():
        ref = bi(torch.from_numpy(x))[0].numpy()  # (N, T, 2 Hd): [forward; backward]
    np.testing.assert_allclose(extractdata(net.predict(dlarray(x, "BTC"))).transpose(1, 2, 0), ref, rtol=0, atol=1e-10)


def test_pt_and_safetensors_files(tmp_path):
    torch = pytest.importorskip("torch")
    model = torch_cnn(torch)
    torch.save(model.state_dict(), tmp_path / "model.pt")
    safetensors.numpy.save_file({k: v.numpy() for k, v in model.state_dict().items()}, tmp_path / "model.safetensors")
    a = load_torch_state_dict(cnn(), tmp_path / "model.pt")
    b = load_torch_state_dict(cnn(), str(tmp_path / "model.safetensors"))
    c = load_torch_state_dict(cnn(), model.state_dict())
    for (layer, p, va), vb, vc in zip(a.learnables, b.learnables.value, c.learnables.value):
        np.testing.assert_array_equal(extractdata(va), extractdata(vb), err_msg=f"{layer} {p}")
        np.testing.assert_array_equal(extractdata(va), extractdata(vc))


def rng_dict():
    rng = np.random.default_rng(3)
    f = lambda *s: rng.standard_normal(s)  # noqa: E731
    return {
        "features.0.weight": f(F, C, 3, 3),
        "features.0.bias": f(F),
        "features.1.weight": f(F),
        "features.1.bias": f(F),
        "features.1.running_mean": f(F),
        "features.1.running_var": f(F) ** 2,
        "features.1.num_batches_tracked": np.array(7),
        "classifier.weight": f(K, F * (H // 2) * (W // 2)),
        "classifier.bias": f(K),
    }


def test_known_conversions_without_torch():
    sd = rng_dict()
    net = load_torch_state_dict(cnn(), sd)
    L = net.learnables
    np.testing.assert_array_equal(extractdata(L["conv", "Weights"]), sd["features.0.weight"].transpose(2, 3, 1, 0))
    np.testing.assert_array_equal(extractdata(L["conv", "Bias"]).reshape(-1), sd["features.0.bias"])
    np.testing.assert_array_equal(extractdata(L["bn", "Scale"]).reshape(-1), sd["features.1.weight"])
    np.testing.assert_array_equal(extractdata(L["bn", "Offset"]).reshape(-1), sd["features.1.bias"])
    np.testing.assert_array_equal(extractdata(net.state["bn", "TrainedVariance"]).reshape(-1), sd["features.1.running_var"])
    # The flatten: torch's (C, H, W) row-major columns to MATLAB's (H, W, C) column-major.
    h, w = H // 2, W // 2
    expected = sd["classifier.weight"].reshape(K, F, h, w).transpose(0, 1, 3, 2).reshape(K, -1)
    np.testing.assert_array_equal(extractdata(L["fc", "Weights"]), expected)
    # Column j of MATLAB's weights is feature (hh, ww, ff) with j = hh + h * (ww + w * ff).
    hh, ww, ff = 1, 2, 3
    np.testing.assert_array_equal(
        extractdata(L["fc", "Weights"])[:, hh + h * (ww + w * ff)], sd["classifier.weight"][:, ff * h * w + hh * w + ww]
    )
    # LSTM: gates in the same order, the two biases summed.
    Hd = 2
    lstm = {
        "rnn.weight_ih_l0": np.arange(4 * Hd * C, dtype=float).reshape(4 * Hd, C),
        "rnn.weight_hh_l0": np.ones((4 * Hd, Hd)),
        "rnn.bias_ih_l0": np.arange(4 * Hd, dtype=float),
        "rnn.bias_hh_l0": np.full(4 * Hd, 10.0),
    }
    net = dlnetwork([sequenceInputLayer(C), lstmLayer(Hd, name="lstm")])
    out = load_torch_state_dict(net, lstm)
    np.testing.assert_array_equal(extractdata(out.learnables["lstm", "InputWeights"]), lstm["rnn.weight_ih_l0"])
    np.testing.assert_array_equal(extractdata(out.learnables["lstm", "Bias"]).reshape(-1), np.arange(4 * Hd) + 10.0)
    assert extractdata(out.learnables["lstm", "Bias"]).dtype == np.float32  # the network's dtype
    # The input network is unchanged.
    assert not np.array_equal(extractdata(net.learnables["lstm", "Bias"]).reshape(-1), np.arange(4 * Hd) + 10.0)


def test_mapping_and_strict():
    sd = rng_dict()
    # Named pairing: the modules in another order than the layers.
    reordered = {k: sd[k] for k in sorted(sd, key=lambda k: not k.startswith("classifier"))}
    with pytest.raises(ShapeError):
        load_torch_state_dict(cnn(), reordered)
    net = load_torch_state_dict(cnn(), reordered, mapping={"classifier": "fc", "features.0": "conv", "features.1": "bn"})
    np.testing.assert_array_equal(extractdata(net.learnables["fc", "Bias"]).reshape(-1), sd["classifier.bias"])
    # strict=False: a layer left out keeps its values.
    partial = {k: v for k, v in sd.items() if not k.startswith("classifier")}
    with pytest.raises(OptionError, match=r"2 modules with parameters \['features.0', 'features.1'\].*3 layers"):
        load_torch_state_dict(cnn(), partial)
    base = cnn()
    net = load_torch_state_dict(base, partial, strict=False)
    np.testing.assert_array_equal(extractdata(net.learnables["fc", "Weights"]), extractdata(base.learnables["fc", "Weights"]))
    with pytest.raises(OptionError, match="'nope'"):
        load_torch_state_dict(cnn(), sd, mapping={"nope": "fc"})
    with pytest.raises(OptionError, match="layer 'nope'"):
        load_torch_state_dict(cnn(), sd, mapping={"classifier": "nope"})


def test_errors_name_the_key_the_layer_and_both_shapes(tmp_path, monkeypatch):
    sd = rng_dict()
    sd["features.0.weight"] = np.zeros((F, C, 5, 5))
    with pytest.raises(ShapeError, match=r"features\.0\.weight.*'conv'.*\(5, 5, 3, 4\).*\(3, 3, 3, 4\)"):
        load_torch_state_dict(cnn(), sd)
    sd = rng_dict()
    sd["classifier.weight"] = np.zeros((K, 7))
    with pytest.raises(ShapeError, match=r"classifier\.weight.*\(5, 7\).*'fc'.*\(4, 3, 4\)"):
        load_torch_state_dict(cnn(), sd)
    sd = rng_dict()
    del sd["features.1.running_var"]
    with pytest.raises(OptionError, match=r"'features\.1'.*'bn'.*missing \['running_var'\]"):
        load_torch_state_dict(cnn(), sd)
    gru = {"g.weight_ih_l0": np.zeros((6, C)), "g.weight_hh_l0": np.zeros((6, 2)), "g.bias_ih_l0": np.zeros(6), "g.bias_hh_l0": np.ones(6)}
    with pytest.raises(OptionError, match="recurrent-bias-after-multiplication"):
        load_torch_state_dict(dlnetwork([sequenceInputLayer(C), gruLayer(2)]), gru)
    with pytest.raises(OptionError, match="not initialized"):
        load_torch_state_dict(dlnetwork([fullyConnectedLayer(2)], initialize=False), {})
    with pytest.raises(TypeError, match="source"):
        load_torch_state_dict(cnn(), 42)
    # A .pt file without PyTorch: the error says how to do without it.
    (tmp_path / "m.pt").write_bytes(b"not read")
    monkeypatch.setitem(sys.modules, "torch", None)
    with pytest.raises(ImportError, match=r"needs PyTorch.*safetensors\.torch\.save_file"):
        load_torch_state_dict(cnn(), tmp_path / "m.pt")


def test_imageinput_network_and_float32():
    """A network built with its input layer (float32): the torch float64 values become float32."""
    sd = rng_dict()
    out = load_torch_state_dict(dlnetwork([imageInputLayer((H, W, C), normalization="none")] + cnn_layers()), sd)
    assert extractdata(out.learnables["conv", "Weights"]).dtype == np.float32
    np.testing.assert_allclose(
        extractdata(out.learnables["conv", "Weights"]), sd["features.0.weight"].transpose(2, 3, 1, 0).astype(np.float32)
    )
