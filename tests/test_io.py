"""save / load: safetensors checkpoints of networks and optimizer state, written atomically."""

import json
import os
import struct

import dlarray as dl
import numpy as np
import pytest
from dlarray import (
    additionLayer,
    batchNormalizationLayer,
    convolution2dLayer,
    dlarray,
    dlnetwork,
    extractdata,
    featureInputLayer,
    fullyConnectedLayer,
    imageInputLayer,
    load,
    maxPooling2dLayer,
    reluLayer,
    save,
    softmaxLayer,
)
from dlarray.io import CheckpointError
from dlarray.network import Table


def seed_network():
    np.random.seed(0)
    return dlnetwork(
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


def assert_tables_equal(a: Table, b: Table):
    assert a.keys() == b.keys()
    for x, y in zip(a.value, b.value):
        assert x.shape == y.shape and x.dtype == y.dtype and x.fmt == y.fmt
        np.testing.assert_array_equal(extractdata(x), extractdata(y))


def test_round_trip_network_and_optimizer_state(tmp_path):
    net = seed_network()
    X = dlarray(np.random.default_rng(0).random((28, 28, 1, 3), np.float32), "SSCB")
    _, state = net.forward(X, return_state=True)
    net.state = state
    vel = net.learnables.map(lambda v: v * 0.5)
    path = tmp_path / "ckpt.safetensors"
    extra = {"step": np.arange(3), "nested": [None, (1, 2.5), {"a": dlarray(np.ones((2, 2)), "CB")}]}
    save(
        path,
        net,
        vel=vel,
        epoch=3,
        learn_rate=0.01,
        note="warm",
        nothing=None,
        extra=extra,
        avg=None,
        z=dlarray(np.array([1 + 2j, 3 - 1j], np.complex64)),
        nan=float("nan"),
    )
    ckpt = load(path)
    assert set(ckpt) == {"net", "vel", "epoch", "learn_rate", "note", "nothing", "extra", "avg", "z", "nan"}
    loaded = ckpt["net"]
    assert isinstance(loaded, dlnetwork) and loaded.initialized
    assert [layer.name for layer in loaded.layers] == [layer.name for layer in net.layers]
    assert loaded.connections == net.connections
    assert_tables_equal(loaded.learnables, net.learnables)
    assert_tables_equal(loaded.state, net.state)
    np.testing.assert_array_equal(extractdata(loaded.predict(X)), extractdata(net.predict(X)))
    assert isinstance(ckpt["vel"], Table)
    assert_tables_equal(ckpt["vel"], vel)
    assert ckpt["epoch"] == 3 and isinstance(ckpt["epoch"], int)
    assert ckpt["learn_rate"] == 0.01 and ckpt["note"] == "warm" and ckpt["nothing"] is None and ckpt["avg"] is None
    np.testing.assert_array_equal(ckpt["extra"]["step"], np.arange(3))
    assert ckpt["extra"]["nested"][0] is None and ckpt["extra"]["nested"][1] == (1, 2.5)
    a = ckpt["extra"]["nested"][2]["a"]
    assert a.fmt == "CB" and a.dtype == np.float64
    assert ckpt["z"].dtype == np.complex64
    np.testing.assert_array_equal(extractdata(ckpt["z"]), [1 + 2j, 3 - 1j])
    assert np.isnan(ckpt["nan"])
    # The loaded network keeps training: its layers carry options and learn-rate factors.
    assert loaded.get_l2_factor("fc", "Bias") == 0.0
    assert loaded.layers[1].padding == "same"


def test_file_is_standard_safetensors(tmp_path):
    net = dlnetwork([featureInputLayer(3), fullyConnectedLayer(2, name="fc")])
    path = tmp_path / "net.safetensors"
    save(path, net)
    raw = path.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    assert n % 8 == 0
    header = json.loads(raw[8 : 8 + n])
    assert header["__metadata__"]["format"] == "dlarray-checkpoint-2"
    w = header["net/learnables/fc/Weights"]
    assert w["dtype"] == "F32" and w["shape"] == [2, 3]
    start, stop = w["data_offsets"]
    data = np.frombuffer(raw[8 + n + start : 8 + n + stop], "<f4").reshape(2, 3)
    np.testing.assert_array_equal(data, extractdata(net.learnables["fc", "Weights"]))
    # A plain safetensors file (no dlarray metadata) loads as a dict of numpy arrays.
    body = np.arange(6, dtype="<f8").tobytes()
    plain = json.dumps({"x": {"dtype": "F64", "shape": [2, 3], "data_offsets": [0, 48]}}).encode()
    plain += b" " * (-len(plain) % 8)
    (tmp_path / "plain.safetensors").write_bytes(struct.pack("<Q", len(plain)) + plain + body)
    out = load(tmp_path / "plain.safetensors")
    np.testing.assert_array_equal(out["x"], np.arange(6.0).reshape(2, 3))


def test_graph_network_round_trip(tmp_path):
    np.random.seed(1)
    net = dlnetwork()
    net.add_layers(
        [
            featureInputLayer(4, name="in"),
            fullyConnectedLayer(4, name="fc1"),
            reluLayer(name="r1"),
            fullyConnectedLayer(4, name="fc2"),
            additionLayer(2, name="add"),
        ]
    )
    net.connect_layers("r1", "add/in2")
    net.initialize()
    save(tmp_path / "g.safetensors", net)
    loaded = load(tmp_path / "g.safetensors")["net"]
    assert loaded.connections == net.connections
    x = np.random.default_rng(0).standard_normal((4, 3)).astype(np.float32)
    np.testing.assert_array_equal(extractdata(loaded.predict(x)), extractdata(net.predict(x)))


def test_atomic_write_under_simulated_crash(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.safetensors"
    old = seed_network()
    save(path, old, epoch=1)
    before = path.read_bytes()
    new = dlnetwork([featureInputLayer(3), fullyConnectedLayer(2)])

    real_fdopen = os.fdopen
    calls = {"writes": 0}

    class CrashingFile:
        def __init__(self, f):
            self.f = f

        def write(self, data):
            calls["writes"] += 1
            if calls["writes"] == 2:  # the header went out; crash in the middle of the tensors
                self.f.write(data[: len(data) // 2])
                raise OSError("simulated crash: disk full")
            return self.f.write(data)

        def __getattr__(self, name):
            return getattr(self.f, name)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.f.close()
            return False

    monkeypatch.setattr(os, "fdopen", lambda fd, mode: CrashingFile(real_fdopen(fd, mode)))
    with pytest.raises(OSError, match="simulated crash"):
        save(path, new, epoch=2)
    monkeypatch.undo()
    assert calls["writes"] == 2
    assert path.read_bytes() == before  # the old checkpoint is intact
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt.safetensors"]  # no temporary file left
    assert load(path)["epoch"] == 1


def test_missing_and_corrupt_files(tmp_path):
    missing = tmp_path / "nope.safetensors"
    with pytest.raises(FileNotFoundError, match="nope.safetensors"):
        load(missing)
    path = tmp_path / "ckpt.safetensors"
    save(path, dlnetwork([featureInputLayer(3), fullyConnectedLayer(2)]), epoch=1)
    raw = path.read_bytes()
    cases = {
        "empty": b"",
        "truncated-tensors": raw[:-5],
        "truncated-header": raw[:20],
        "huge-length": struct.pack("<Q", 10**12) + raw[8:],
        "not-json": raw[:8] + b"\xff" * (len(raw) - 8),
        "trailing": raw + b"\x00" * 8,
    }
    for name, data in cases.items():
        bad = tmp_path / f"{name}.safetensors"
        bad.write_bytes(data)
        with pytest.raises(CheckpointError, match=f"{name}.safetensors"):
            load(bad)
    assert issubclass(CheckpointError, ValueError)
    assert CheckpointError is dl.CheckpointError is dl.errors.CheckpointError


def test_unsaveable_values_raise_before_writing(tmp_path):
    path = tmp_path / "x.safetensors"
    with pytest.raises(TypeError, match="cannot save a value of type object"):
        save(path, thing=object())
    net = dlnetwork([featureInputLayer(2), dl.functionLayer(lambda x: x * 2)])
    with pytest.raises(TypeError, match="lambdas"):
        save(path, net)
    assert not path.exists() and list(tmp_path.iterdir()) == []


def test_function_layer_with_module_level_function_round_trips(tmp_path):
    net = dlnetwork([featureInputLayer(2), dl.functionLayer(dl.relu, formattable=True)])
    x = np.array([[-1.0], [2.0]], np.float32)
    save(tmp_path / "f.safetensors", net)
    loaded = load(tmp_path / "f.safetensors")["net"]
    np.testing.assert_array_equal(extractdata(loaded.predict(x)), np.maximum(x, 0))


def test_recurrent_network_and_adam_state_round_trip(tmp_path):
    from dlarray import adamupdate, dlfeval, dlgradient, lstmLayer, sequenceInputLayer

    np.random.seed(0)
    net = dlnetwork([sequenceInputLayer(2), lstmLayer(4, output_mode="last"), fullyConnectedLayer(3)])
    X = dlarray(np.random.default_rng(0).standard_normal((2, 5, 6)).astype(np.float32), "CBT")

    def loss_fn(net, X):
        Y, state = net.forward(X, return_state=True)
        loss = (Y * Y).sum()
        return loss, dlgradient(loss, net.learnables), state

    _, grads, state = dlfeval(loss_fn, net, X)
    net.state = state
    net, avg, avg_sq = adamupdate(net, grads, None, None, 1)
    save(tmp_path / "rnn.safetensors", net, avg=avg, avg_sq=avg_sq, iteration=1)
    ckpt = load(tmp_path / "rnn.safetensors")
    loaded = ckpt["net"]
    assert_tables_equal(loaded.state, net.state)
    assert loaded.state["lstm", "HiddenState"].shape == (4, 5)
    np.testing.assert_array_equal(extractdata(loaded.predict(X)), extractdata(net.predict(X)))
    # Training resumes identically from the checkpoint.
    _, g1, _ = dlfeval(loss_fn, net, X)
    _, g2, _ = dlfeval(loss_fn, loaded, X)
    n1, _, _ = adamupdate(net, g1, avg, avg_sq, 2)
    n2, _, _ = adamupdate(loaded, g2, ckpt["avg"], ckpt["avg_sq"], ckpt["iteration"] + 1)
    assert_tables_equal(n1.learnables, n2.learnables)
    loaded.reset_state()
    assert loaded.state["lstm", "HiddenState"].shape == (4, 1)


@pytest.mark.parametrize("wrap", [lambda v: [v], lambda v: (v,), lambda v: {"k": v}])
def test_nesting_limit_is_the_same_for_save_and_load(tmp_path, wrap):
    from dlarray.io import MAX_DEPTH

    value = 1.5
    for _ in range(MAX_DEPTH):
        value = wrap(value)
    save(tmp_path / "deep.safetensors", x=value)
    loaded = load(tmp_path / "deep.safetensors")["x"]
    assert loaded == value
    with pytest.raises(ValueError, match="nest more than"):
        save(tmp_path / "deeper.safetensors", x=wrap(value))
    assert not (tmp_path / "deeper.safetensors").exists()
