"""What the multi-process checks share: comparing nested results leaf by leaf, and the small
batch-norm network they train."""

from __future__ import annotations

import numpy as np
from dlarray import batchNormalizationLayer, dlarray, dlnetwork, featureInputLayer, fullyConnectedLayer, reluLayer, softmaxLayer


def _equal_leaf(got, want, what):
    assert type(got) is type(want), f"{what}: got {type(got).__name__}, expected {type(want).__name__}"
    if isinstance(want, dlarray):
        assert got.fmt == want.fmt and got.dtype == want.dtype, f"{what}: {got.fmt} {got.dtype} vs {want.fmt} {want.dtype}"
        assert np.array_equal(np.asarray(got), np.asarray(want)), f"{what}: {np.asarray(got)} != {np.asarray(want)}"
    elif isinstance(want, (np.ndarray, np.generic)):
        assert got.dtype == want.dtype, f"{what}: dtype {got.dtype}, expected {want.dtype}"
        assert np.shape(got) == np.shape(want) and np.array_equal(got, want), f"{what}: {got} != {want}"
    else:
        assert got == want, f"{what}: {got!r} != {want!r}"


def _leaves(x):
    from dlarray.parallel._leaves import flatten

    return flatten(x, "check", numeric_only=False).values()


def _assert_same_structure_and_values(got, want, what):
    assert type(got) is type(want), f"{what}: container {type(got).__name__}, expected {type(want).__name__}"
    g, w = _leaves(got), _leaves(want)
    assert len(g) == len(w), f"{what}: {len(g)} leaves, expected {len(w)}"
    for i, (a, b) in enumerate(zip(g, w)):
        _equal_leaf(a, b, f"{what}, leaf {i}")


def _bn_network(dtype):
    net = dlnetwork(
        [featureInputLayer(6), fullyConnectedLayer(10), batchNormalizationLayer(), reluLayer(), fullyConnectedLayer(4), softmaxLayer()]
    )
    cast = lambda v: dlarray(np.asarray(v).astype(dtype))  # noqa: E731
    net.learnables = net.learnables.map(cast)
    net.state = net.state.map(cast)
    return net
