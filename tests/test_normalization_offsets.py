"""Normalisation statistics and outputs do not depend on the data's offset: a constant channel
gives exactly the offset, and float32 data around 1e5 normalises (forward and backward) to
float32 accuracy, against float64 references written here."""

import dlarray as dl
import numpy as np
import pytest
from dlarray import dlarray, dlfeval, dlgradient
from gradcheck import gradcheck, gradgradcheck

RNG = np.random.default_rng(11)
C = 3
OFFSET = np.array([0.5, -1.25, 2.0], np.float32)
SCALE = np.array([1.5, 0.75, 1.0], np.float32)

# name -> (function of (X, offset, scale), the axes its statistics reduce over for "SSCB" data)
NORMS = {
    "batchnorm": (lambda X, o, s: dl.batchnorm(X, o, s), (0, 1, 3)),
    "batchnorm-training": (lambda X, o, s: dl.batchnorm(X, o, s, np.zeros(C, X.dtype), np.ones(C, X.dtype), training=True)[0], (0, 1, 3)),
    "layernorm": (lambda X, o, s: dl.layernorm(X, o, s), (0, 1, 2)),
    "instancenorm": (lambda X, o, s: dl.instancenorm(X, o, s), (0, 1)),
    "groupnorm": (lambda X, o, s: dl.groupnorm(X, "channel-wise", o, s), (0, 1)),
}


def reference(x, axes, offset=OFFSET, scale=SCALE, eps=1e-5):
    x = x.astype(np.float64)
    m = x.mean(axis=axes, keepdims=True)
    v = x.var(axis=axes, keepdims=True)
    shape = (1, 1, C, 1)
    return (x - m) / np.sqrt(v + eps) * scale.reshape(shape).astype(np.float64) + offset.reshape(shape).astype(np.float64)


@pytest.mark.parametrize("name", NORMS)
@pytest.mark.parametrize("value", [1e5, 1e5 + 0.3, -3e4 + 0.1])
def test_constant_channel_gives_exactly_the_offset(name, value):
    fn, _ = NORMS[name]
    x = np.full((5, 4, C, 6), value, np.float32)
    y = np.asarray(fn(dlarray(x, "SSCB"), OFFSET, SCALE))
    np.testing.assert_array_equal(y, np.broadcast_to(OFFSET.reshape(1, 1, C, 1), y.shape))


@pytest.mark.parametrize("name", NORMS)
@pytest.mark.parametrize("offset", [1e5, 1e3, 0.0])
def test_large_offset_keeps_float32_accuracy(name, offset):
    fn, axes = NORMS[name]
    x = (offset + RNG.standard_normal((7, 6, C, 8))).astype(np.float32)
    y = np.asarray(fn(dlarray(x, "SSCB"), OFFSET, SCALE))
    # Outputs are O(1): a few float32 roundings, whatever the offset (it was 1e-2 at 1e5).
    np.testing.assert_allclose(y, reference(x, axes), rtol=0, atol=2e-6)


@pytest.mark.parametrize("name", NORMS)
def test_large_offset_gradients_keep_float32_accuracy(name):
    fn, _ = NORMS[name]
    x = (1e5 + RNG.standard_normal((6, 5, C, 8))).astype(np.float32)
    w = RNG.standard_normal(x.shape)

    def grads(X, o, s):
        loss = (dl.stripdims(fn(X, o, s)) * w.astype(X.dtype)).sum()
        return dlgradient(loss, X, o, s)

    got = dlfeval(grads, dlarray(x, "SSCB"), dlarray(OFFSET), dlarray(SCALE))
    want = dlfeval(grads, dlarray(x.astype(np.float64), "SSCB"), dlarray(OFFSET.astype(np.float64)), dlarray(SCALE.astype(np.float64)))
    for g, r in zip(got, want):
        r = np.asarray(r)
        np.testing.assert_allclose(np.asarray(g), r, rtol=0, atol=2e-5 * np.abs(r).max())


@pytest.mark.parametrize("name", NORMS)
def test_gradients_at_an_offset_match_finite_differences(name):
    fn, _ = NORMS[name]
    x = 1e3 + RNG.standard_normal((2, 2, C, 3))

    def f(X):
        return fn(X, OFFSET.astype(np.float64), SCALE.astype(np.float64))

    gradcheck(f, dlarray(x, "SSCB"))
    gradgradcheck(f, dlarray(x, "SSCB"))
