"""Checked by mypy (tests/test_typing.py), not run: how the public API types for a user.

Each ``assert_type`` fails the check if the stub or an annotation drifts; the imports fail it
if a public name stops being exported (mypy runs with implicit re-exports off)."""

from __future__ import annotations

from typing import List, Tuple

import dlarray as dl
import numpy as np
import numpy.typing as npt
from dlarray import *  # noqa: F403  (binds exactly dlarray.__all__)
from dlarray import max as dl_max  # re-exported, though not star-exported
from dlarray import sum as dl_sum
from dlarray.layers import FullyConnectedLayer, Layer
from dlarray.nn import crossentropy as nn_crossentropy
from typing_extensions import assert_type

# A star import leaves Python's builtins alone.
assert_type(sum([1, 2]), int)
assert_type(max(1, 2), int)
assert_type(abs(-1), int)
assert_type(round(1.5), int)

x = dlarray(np.ones((3, 4), np.float32), "CB")
assert_type(x, dlarray)
assert_type(x.shape, Tuple[int, ...])
assert_type(x.fmt, str)
assert_type(x + 1, dlarray)
assert_type(2.0 * x, dlarray)
assert_type(x**2, dlarray)
assert_type(x @ x.T, dlarray)
assert_type(x > 0, npt.NDArray[np.bool_])
assert_type(x[0], dlarray)
assert_type(float(x.sum()), float)
assert_type(extractdata(x), np.ndarray)
assert_type(dl_sum(x, axis=1), dlarray)
assert_type(dl_max(x), dlarray)
assert_type(dl.sum(x), dlarray)
assert_type(dl.abs(x), dlarray)
assert_type(dl.finddim(x, "C"), List[int])

layer = fullyConnectedLayer(10)
assert_type(layer, FullyConnectedLayer)
layers: List[Layer] = [featureInputLayer(4), layer, reluLayer()]
net = dlnetwork(layers)
assert_type(net, dlnetwork)
loss = nn_crossentropy(softmax(x), x)
assert_type(loss, dlarray)

try:
    x.reshape(5, 5)
except ShapeError as err:
    assert_type(err, ShapeError)

monitor = trainingProgressMonitor(metrics=["Loss"], info="Epoch", window=False)
monitor.record_metrics(1, Loss=0.5)
monitor.update_info(Epoch=1)
monitor.progress = 50.0
assert_type(monitor.stop, bool)
assert_type(monitor.metric_data["Loss"], Tuple[np.ndarray, np.ndarray])
assert_type(monitor.render(), np.ndarray)
monitor.savefig("progress.svg")
monitor.close()
