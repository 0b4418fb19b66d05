"""The recorded trace as data: `dltrace` lists it, and the core replays it on new inputs
through the Python layer's formats and layouts — a model's loss and its gradients (recorded
with higher derivatives, so they are traces too) come out exactly as a fresh evaluation."""

import dlarray as dl
import numpy as np
import pytest
from dlarray import _core, dlarray, dlfeval, dlgradient, dltrace

RNG = np.random.default_rng(11)


def _record(model, *arrays):
    """Runs `model` in dlfeval and keeps the traced inputs and the traced outputs (the loss
    and its gradients with respect to every input)."""
    kept = {}

    def fn(*xs):
        loss = model(*xs)
        grads = dlgradient(loss, *xs, enable_higher_derivatives=True)
        grads = grads if isinstance(grads, tuple) else (grads,)
        kept["inputs"], kept["outputs"] = list(xs), [loss, *grads]
        return loss

    dlfeval(fn, *arrays)
    return kept["inputs"], kept["outputs"]


def _cnn(x, w, b, offset, scale, fc_w, fc_b, targets):
    y = dl.dlconv(x, w, b, padding="same")
    y, _, _ = dl.batchnorm(y, offset, scale, training=True)
    y = dl.relu(y)
    y = dl.maxpool(y, 2, stride=2)
    y = dl.fullyconnect(y, fc_w, fc_b)
    return dl.crossentropy(dl.softmax(y), targets)


def _cnn_inputs(seed):
    rng = np.random.default_rng(seed)
    x = dlarray(rng.standard_normal((6, 6, 2, 4)), "SSCB")
    w = dlarray(rng.standard_normal((3, 3, 2, 3)) * 0.5)
    b = dlarray(rng.standard_normal(3) * 0.1)
    offset, scale = dlarray(rng.standard_normal(3) * 0.1), dlarray(1 + rng.standard_normal(3) * 0.1)
    fc_w, fc_b = dlarray(rng.standard_normal((5, 27)) * 0.3), dlarray(rng.standard_normal(5) * 0.1)
    t = np.zeros((5, 4))
    t[rng.integers(0, 5, 4), np.arange(4)] = 1
    return [x, w, b, offset, scale, fc_w, fc_b, dlarray(t, "CB")]


def test_a_cnn_loss_and_its_gradients_replay_exactly():
    old, new = _cnn_inputs(1), _cnn_inputs(2)
    inputs, outputs = _record(_cnn, *old)
    replayed = _core._replay(outputs, inputs, new)
    _, direct = _record(_cnn, *new)
    assert len(replayed) == len(direct) == 1 + len(old)
    for r, d in zip(replayed, direct):
        assert dl.dims(r) == dl.dims(d)
        np.testing.assert_array_equal(dl.extractdata(r), dl.extractdata(d))
    # The gradients really depend on the inputs: the replay is not the recorded values.
    assert not np.array_equal(dl.extractdata(replayed[1]), dl.extractdata(outputs[1]))


def test_an_lstm_sequence_replays():
    def model(x, h0, c0, w, r, b):
        y, _, _ = dl.lstm(x, h0, c0, w, r, b)
        return (y * y).sum()

    def inputs(seed):
        rng = np.random.default_rng(seed)
        h = 3
        return [
            dlarray(rng.standard_normal((2, 4, 5)), "CBT"),
            dlarray(rng.standard_normal((h, 4)) * 0.1),
            dlarray(rng.standard_normal((h, 4)) * 0.1),
            dlarray(rng.standard_normal((4 * h, 2)) * 0.5),
            dlarray(rng.standard_normal((4 * h, h)) * 0.5),
            dlarray(rng.standard_normal(4 * h) * 0.1),
        ]

    ins, outs = _record(model, *inputs(3))
    replayed = _core._replay(outs, ins, inputs(4))
    _, direct = _record(model, *inputs(4))
    for r, d in zip(replayed, direct):
        np.testing.assert_array_equal(dl.extractdata(r), dl.extractdata(d))


def test_dltrace_lists_the_ops_inside_dlfeval():
    seen = {}

    def f(x):
        y = dl.sin(x * 2.0).sum()
        seen["text"] = dltrace(y)
        return y

    dlfeval(f, dlarray(np.array([1.0, 2.0, 3.0])))
    lines = seen["text"].splitlines()
    assert lines[0] == "%0 = leaf  [3] float64"
    assert any(line.startswith("%") and "= multiply(%0, const[])" in line for line in lines), lines
    assert any("= sin(" in line for line in lines) and "= sum(" in lines[-2] + lines[-1]


def test_dltrace_of_an_untraced_array_is_empty_and_bad_input_is_typed():
    assert dltrace(dlarray(np.ones(3))) == ""
    with pytest.raises(dl.OptionError, match="dltrace"):
        dltrace(np.ones(3))


def test_replay_refuses_mismatched_replacements():
    ins, outs = _record(lambda x: (x * x).sum(), dlarray(RNG.standard_normal(3)))
    with pytest.raises(dl.ShapeError, match="replay"):
        _core._replay(outs, ins, [dlarray(np.ones(4))])
    with pytest.raises(ValueError, match="replay"):
        _core._replay(outs, ins, [])
