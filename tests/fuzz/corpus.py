"""Every distinct failure the fuzzer (and the tester's fuzzer before it) found, as concrete
calls replayed by ``tests/test_fuzz.py``. Each runs after the worker's preamble (``np``,
``dlarray``'s names, ``R(shape, dtype)``, ``fail``), in a subprocess, so an abort fails its
test rather than the test run.

``expect``: ``"ok"`` (returns; an ``assert`` in ``src`` checks the result), ``"typed"`` (a
dlarray error whose message names one of ``ops``; ``error`` the class name when given) or
``"clean"`` (either: the contract only forbids a crash or an untyped error there).

``pending`` names who must still fix an entry that fails today (``"rust"``: the core or the
bindings; a path: that module's owner). Those tests fail until the fix lands; their ids start
with ``pending-`` so a run can leave them out with ``-k "not pending"``. ``was`` records the
original failure.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Tuple


@dataclass(frozen=True)
class Entry:
    name: str
    src: str
    ops: Tuple[str, ...]
    expect: str = "typed"
    error: str = ""
    pending: str = ""
    was: str = ""


def _e(name, src, ops, expect="typed", error="", pending="", was=""):
    return Entry(name, src, tuple([ops] if isinstance(ops, str) else ops), expect, error, pending, was)


X4 = "dlarray(R((4, 4, 1, 1)), 'SSCB')"
W2 = "R((2, 2, 1, 1))"
NET_IMG = (
    "dlnetwork([imageInputLayer((4, 4, 2), normalization='none'), convolution2dLayer(3, 3, padding='same'), "
    "batchNormalizationLayer(), reluLayer(), maxPooling2dLayer(2, stride=2), fullyConnectedLayer(3), softmaxLayer()])"
)
NET_FC = "dlnetwork([featureInputLayer(3), fullyConnectedLayer(4), reluLayer(), fullyConnectedLayer(2)])"
NET_LSTM = "dlnetwork([sequenceInputLayer(3), lstmLayer(4), fullyConnectedLayer(2), softmaxLayer()])"

CORPUS = [
    # ----- the tester's findings: zero-size operands (were PanicException) -------------------
    _e(
        "zero-size-elementwise",
        "out = dlarray(np.zeros((0,), np.float32)) * 2\nassert out.shape == (0,)",
        "mul",
        "ok",
        was="PanicException: attempt to divide by zero",
    ),
    _e(
        "zero-size-binary-both",
        "out = dlarray(np.zeros((0, 3), np.float32)) + dlarray(np.zeros((1, 3), np.float32))\nassert out.shape == (0, 3)",
        "add",
        "ok",
        was="PanicException",
    ),
    _e(
        "empty-batch-net-forward",
        f"net = {NET_IMG}\nout = net.forward(dlarray(np.zeros((4, 4, 2, 0), np.float32), 'SSCB'))\nassert out.shape == (3, 0)",
        "dlnetwork",
        "ok",
        was="PanicException",
    ),
    _e(
        "empty-batch-net-predict",
        f"net = {NET_IMG}\nout = net.predict(dlarray(np.zeros((4, 4, 2, 0), np.float32), 'SSCB'))\nassert out.shape == (3, 0)",
        "dlnetwork",
        "ok",
        was="PanicException",
    ),
    _e(
        "empty-batch-lstm-net",
        f"net = {NET_LSTM}\nout = net.predict(dlarray(np.zeros((3, 0, 2), np.float32), 'CBT'))\nassert out.shape == (2, 0, 2)",
        "dlnetwork",
        "ok",
        was="PanicException",
    ),
    _e(
        "fullyconnect-B0",
        "out = fullyconnect(dlarray(np.zeros((3, 0), np.float32), 'CB'), R((2, 3)), R((2,)))\nassert out.shape == (2, 0)",
        "fullyconnect",
        "ok",
        was="PanicException",
    ),
    _e(
        "batchnorm-B0",
        "out = batchnorm(dlarray(np.zeros((3, 0), np.float32), 'CB'), R((3,)), R((3,)))",
        "batchnorm",
        "clean",
        was="PanicException",
    ),
    _e(
        "batchnorm-C0-training",
        "out = batchnorm(dlarray(np.zeros((2, 2, 0, 1), np.float32), 'SSCB'), R((0,)), R((0,)), R((0,)), R((0,)), training=True)",
        "batchnorm",
        "clean",
        was="ZeroDivisionError: integer division or modulo by zero",
    ),
    _e(
        "layernorm-B0",
        "out = layernorm(dlarray(np.zeros((3, 0), np.float32), 'CB'), R((3,)), R((3,)))\nassert out.shape == (3, 0)",
        "layernorm",
        "ok",
        was="PanicException",
    ),
    _e(
        "attention-B0",
        "z = lambda *s: dlarray(np.zeros(s, np.float32), 'CBT')\nout = attention(z(4, 0, 2), z(4, 0, 3), z(4, 0, 3), 2)\n"
        "assert out.shape == (4, 0, 2)",
        "attention",
        "ok",
        was="PanicException",
    ),
    _e(
        "attention-T0",
        "z = lambda *s: dlarray(np.zeros(s, np.float32), 'CBT')\nout = attention(z(4, 2, 0), z(4, 2, 0), z(4, 2, 0), 2)\n"
        "assert out.shape == (4, 2, 0)",
        "attention",
        "ok",
        was="ShapeError: max: zero-size reduction",
    ),
    _e(
        "attention-no-keys",
        "z = lambda *s: dlarray(np.zeros(s, np.float32), 'CBT')\nout = attention(z(4, 2, 3), z(4, 2, 0), z(6, 2, 0), 2)\n"
        "assert out.shape == (6, 2, 3) and float(abs(out).sum()) == 0",
        "attention",
        "ok",
        was="ShapeError naming max",
    ),
    _e(
        "dlconv-B0",
        "out = dlconv(dlarray(np.zeros((4, 4, 2, 0), np.float32), 'SSCB'), R((3, 3, 2, 5)), 0)\nassert out.shape == (2, 2, 5, 0)",
        "dlconv",
        "ok",
        was="PanicException",
    ),
    _e(
        "dlconv-T0",
        "out = dlconv(dlarray(np.zeros((2, 3, 0), np.float32), 'CBT'), R((3, 2, 5)), 0)",
        "dlconv",
        "clean",
        was="PanicException",
    ),
    _e(
        "mean-of-empty",
        "out = mean(dlarray(np.zeros((0, 3), np.float32)), 0)\nassert out.shape == (3,)",
        "mean",
        "ok",
        was="PanicException",
    ),
    _e("gelu-empty", "out = gelu(dlarray(np.zeros((0, 3), np.float32)))\nassert out.shape == (0, 3)", "gelu", "ok", was="PanicException"),
    _e(
        "where-empty",
        "out = where(np.zeros((0,), bool), dlarray(np.zeros((0,), np.float32)), 1.0)\nassert out.shape == (0,)",
        "where",
        "ok",
        was="PanicException",
    ),
    _e("norm-empty", "out = norm(dlarray(np.zeros((0,), np.float32)))\nassert float(out) == 0", "norm", "ok", was="PanicException"),
    _e(
        "dlgradient-empty",
        "out = dlfeval(lambda x: dlgradient((x * x).sum(), x), dlarray(np.zeros((0, 3), np.float32)))\nassert out.shape == (0, 3)",
        "dlgradient",
        "ok",
        was="PanicException",
    ),
    _e(
        "dlconv-C0-grouped",
        "out = dlconv(dlarray(np.ones((4, 4, 0, 1), np.float32), 'SSCB'), np.ones((3, 2, 0, 2, 3), np.float32), 0)\n"
        "assert out.shape == (2, 3, 6, 1)",
        "dlconv",
        "ok",
        was="PanicException: range start index 1 out of range for slice of length 0",
    ),
    _e(
        "maxpool-empty-spatial-padded",
        "out = maxpool(dlarray(np.zeros((0, 4, 1, 1), np.float32), 'SSCB'), 2, padding=1)",
        "maxpool",
        "clean",
        was="PanicException: index out of bounds",
    ),
    _e(
        "groupnorm-channel-wise-C0",
        "out = groupnorm(dlarray(np.ones((2, 2, 0, 1), np.float32), 'SSCB'), 'channel-wise', np.ones(0), np.ones(0))\n"
        "assert out.shape == (2, 2, 0, 1)",
        "groupnorm",
        "ok",
        was="ZeroDivisionError: integer modulo by zero",
    ),
    _e(
        "groupnorm-C0-huge-groups",
        "out = groupnorm(dlarray(R((0, 3, 3)), 'CBU'), 2**40, R((0, 1)), 1.0, epsilon=1e-3)",
        "groupnorm",
        "clean",
        was="abort: memory allocation of 26388279066624 bytes failed",
    ),
    _e(
        "layernorm-empty-huge",
        "out = layernorm(dlarray(np.zeros((0, 2**20, 2**20), np.float32), 'CBT'), np.zeros(0), np.zeros(0))",
        "layernorm",
        "clean",
        was="abort: memory allocation of 8796093022208 bytes failed",
    ),
    _e(
        "softmax-C0",
        "out = softmax(dlarray(np.zeros((0, 3), np.float32), 'CB'))\nassert out.shape == (0, 3)",
        "softmax",
        "ok",
        was="ShapeError naming max",
    ),
    _e(
        "indexcrossentropy-empty-huge",
        "out = indexcrossentropy(dlarray(np.zeros((3, 2**31, 0), np.float32), 'CBT'), np.zeros((2**31, 0), int))",
        "indexcrossentropy",
        "clean",
        was="numpy MemoryError (16 GiB of gather indices)",
    ),
    # ----- the tester's findings: sizes (were SIGABRT "memory allocation failed") -------------
    _e("dlconv-padding-huge", f"out = dlconv({X4}, {W2}, 0, padding=10**6)", "dlconv", error="OutOfMemoryError", was="SIGABRT"),
    _e("avgpool-padding-huge", f"out = avgpool({X4}, 2, padding=10**6)", "avgpool", was="SIGABRT"),
    _e(
        "dltranspconv-stride-huge",
        f"out = dltranspconv({X4}, {W2}, 0, stride=10**6)",
        "dltranspconv",
        was="SIGABRT; now OutOfMemoryError, but its message names dlconv",
    ),
    _e("repmat-huge", "out = repmat(dlarray(np.ones(2, np.float32)), 2**40)", "repmat", was="SIGABRT"),
    _e("dlconv-stride-padding-huge", f"out = dlconv({X4}, {W2}, 0, stride=100, padding=2**40)", "dlconv", was="SIGABRT"),
    _e(
        "padding-beyond-64-bits",
        f"out = dlconv({X4}, {W2}, 0, padding=2**63)",
        "dlconv",
        error="OptionError",
        was="OverflowError converting to usize",
    ),
    _e("squeeze-0d", "out = squeeze(dlarray(np.float32(1)), 0)", "squeeze", was="PanicException: index out of bounds: the len is 0"),
    _e("format-33-dims", "out = dlarray(np.ones((1,) * 33, np.float32), 'S' * 33) + 1", "dlarray", was="PanicException"),
    _e(
        "data-format-40-labels",
        "out = avgpool(dlarray(R((2, 2))), 1, data_format='S' * 40)",
        "avgpool",
        error="FormatError",
        was="ShapeError naming reshape",
    ),
    _e(
        "reshape-empty-overflow",
        "out = dlarray(np.zeros((0,), np.float32)).reshape(2**40, 2**40, 0)",
        "reshape",
        error="ShapeError",
        was="succeeded (numpy raises)",
    ),
    _e(
        "fullyConnectedLayer-huge",
        "net = dlnetwork([featureInputLayer(3), fullyConnectedLayer(2**62)])",
        "fullyConnectedLayer",
        error="OutOfMemoryError",
        was="ValueError: array is too big",
    ),
    _e(
        "gruLayer-huge",
        "net = dlnetwork([sequenceInputLayer(3), gruLayer(10**6)])",
        "GRULayer",
        error="OutOfMemoryError",
        was="numpy MemoryError: Unable to allocate 21.8 TiB",
    ),
    _e(
        "onehotencode-huge-label",
        "out = onehotencode(np.array([2**62, 0]), 0)",
        "onehotencode",
        error="OutOfMemoryError",
        was="numpy MemoryError",
    ),
    _e(
        "crosschannelnorm-window-huge",
        "out = crosschannelnorm(dlarray(R((3, 2, 3)), 'CBT'), 2**40)",
        "crosschannelnorm",
        "ok",
        was="numpy MemoryError (12 TiB of zero padding)",
    ),
    _e(
        "crosschannelnorm-window-hang",
        "out = crosschannelnorm(dlarray(R((3, 2, 3, 3)), 'SSCB'), 10**6)",
        "crosschannelnorm",
        "ok",
        was="hang: a Python loop over the window",
    ),
    # ----- the tester's findings: untyped errors ---------------------------------------------
    _e(
        "data-format-int",
        "out = softmax(dlarray(R((2, 2))), data_format=4)",
        "softmax",
        error="FormatError",
        was="AttributeError: 'int' object has no attribute 'upper'",
    ),
    _e(
        "data-format-tuple",
        "out = huber(dlarray(R((1,)), 'C'), 0, data_format=('C', 'B'))",
        "huber",
        error="FormatError",
        was="AttributeError: 'tuple' object has no attribute 'upper'",
    ),
    _e(
        "data-format-list",
        "out = maxpool(dlarray(R((4, 4, 1, 1))), 2, data_format=['S', 'S', 'C', 'B'])",
        "maxpool",
        error="FormatError",
        was="AttributeError",
    ),
    _e(
        "stride-string",
        f"out = dlconv({X4}, {W2}, 0, stride='2')",
        "dlconv",
        error="OptionError",
        was="TypeError: ufunc 'remainder' not supported (no op or option named)",
    ),
    _e(
        "stride-dict",
        f"out = maxpool({X4}, 2, stride={{'a': 1}})",
        "maxpool",
        error="OptionError",
        was="TypeError: unsupported operand type(s) for %: 'dict' and 'int'",
    ),
    _e("pool-size-ellipsis", f"out = avgpool({X4}, ...)", "avgpool", error="OptionError", was="TypeError"),
    _e("dilation-function", f"out = dlconv({X4}, {W2}, 0, dilation_factor=fail)", "dlconv", error="OptionError", was="TypeError"),
    _e(
        "padding-ragged",
        f"out = dlconv({X4}, {W2}, 0, padding=[[1], [2, 3]])",
        "dlconv",
        error="OptionError",
        was="ValueError: inhomogeneous shape",
    ),
    _e(
        "padding-value-string",
        f"out = dlconv({X4}, {W2}, 0, padding_value='replicate')",
        "dlconv",
        error="OptionError",
        was="ValueError: could not convert string to float",
    ),
    _e(
        "groupnorm-num-groups-beyond-64-bits",
        "out = groupnorm(dlarray(R((0,), 'float64')), 2**63, dlarray(R(())), R(()), data_format='C')",
        "groupnorm",
        error="OptionError",
        was="OverflowError: Python int too large to convert to C long",
    ),
    _e(
        "nn-op-numpy-input",
        "out = dlconv(R((4, 4, 1, 1)), R((2, 2, 1, 1)), 0, data_format='SSCB')",
        "dlconv",
        error="DTypeError",
        was="TypeError: dlconv: expected a dlarray input",
    ),
    _e("loss-numpy-predictions", "out = l2loss(R((2, 3)), R((2, 3)), data_format='CB')", "l2loss", error="DTypeError", was="TypeError"),
    _e(
        "weights-string",
        "out = fullyconnect(dlarray(R((3, 2)), 'CB'), 'a')",
        "fullyconnect",
        error="DTypeError",
        was="ValueError: could not convert string to float",
    ),
    _e(
        "weights-dict",
        "out = lstm(dlarray(R((3, 2, 2)), 'CBT'), R((2,)), R((2,)), {'a': 1}, R((8, 2)), R((8,)))",
        "lstm",
        error="DTypeError",
        was="TypeError: float() argument must be ... not 'dict'",
    ),
    _e(
        "weights-ragged",
        "out = gru(dlarray(R((3, 2, 2)), 'CBT'), R((2,)), [[1], [2, 3]], R((6, 2)), R((6,)))",
        "gru",
        error="ShapeError",
        was="ValueError: inhomogeneous shape",
    ),
    _e(
        "offset-string",
        "out = batchnorm(dlarray(R((3, 2)), 'CB'), 'x', R((3,)))",
        "batchnorm",
        error="DTypeError",
        was="ValueError: could not convert string to float",
    ),
    _e(
        "batchnorm-training-int",
        "out = batchnorm(dlarray(R((3, 2)), 'CB'), R((3,)), R((3,)), training=1)",
        "batchnorm",
        error="OptionError",
        was="accepted any truthy value",
    ),
    _e(
        "layernorm-operation-dimension-list",
        "out = layernorm(dlarray(R((3, 2)), 'CB'), R((3,)), R((3,)), operation_dimension=['auto'])",
        "layernorm",
        error="OptionError",
        was="ValueError: truth value of an array is ambiguous",
    ),
    _e(
        "gelu-approximation-array",
        "out = gelu(dlarray(R((3,))), np.array(['a', 'b']))",
        "gelu",
        error="OptionError",
        was="ValueError: truth value ambiguous",
    ),
    _e(
        "avgpool-padding-value-array",
        f"out = avgpool({X4}, 2, padding_value=np.zeros(2))",
        "avgpool",
        error="OptionError",
        was="ValueError: truth value ambiguous",
    ),
    _e("onehotdecode-complex", "out = onehotdecode(R((3, 4), 'complex64'), None, 1)", "onehotdecode", error="DTypeError", was="TypeError"),
    _e(
        "onehotdecode-class-names-int",
        "out = onehotdecode(R((3, 4)), 5, 0)",
        "onehotdecode",
        error="OptionError",
        was="TypeError: object of type 'int' has no len()",
    ),
    _e(
        "onehotdecode-keepdims-string",
        "out = onehotdecode(R((3, 4)), None, 0, keepdims='yes')",
        "onehotdecode",
        error="OptionError",
        was="numpy TypeError",
    ),
    _e("onehotencode-ragged", "out = onehotencode([[0, 1], [1]], 0)", "onehotencode", error="ShapeError", was="ValueError"),
    _e(
        "onehotencode-num-classes-tuple",
        "out = onehotencode(np.arange(3), 0, num_classes=(3,))",
        "onehotencode",
        error="OptionError",
        was="TypeError: only 0-dimensional arrays can be converted",
    ),
    _e(
        "embed-data-format-int",
        "out = embed(np.zeros((2, 3), int), R((2, 5)), data_format=3)",
        "embed",
        error="FormatError",
        was="AttributeError: 'int' object has no attribute 'upper'",
    ),
    _e(
        "embed-weights-string",
        "out = embed(dlarray(np.zeros((2, 3)), 'BT'), 'none')",
        "embed",
        error="DTypeError",
        was="DTypeError naming dlarray",
    ),
    _e(
        "attention-dropout-string",
        "z = dlarray(R((4, 2, 3)), 'CBT')\nout = attention(z, z, z, 2, dropout_probability='0.1')",
        "attention",
        error="OptionError",
        was="ValueError: could not convert string to float",
    ),
    _e(
        "attention-scale-list",
        "z = dlarray(R((4, 2, 3)), 'CBT')\nout = attention(z, z, z, 2, scale=[1.0, 2.0])",
        "attention",
        error="OptionError",
        was="TypeError: only 0-dimensional arrays can be converted",
    ),
    _e(
        "attention-data-format-int",
        "z = dlarray(R((4, 2, 3)))\nout = attention(z, z, z, 2, data_format=5)",
        "attention",
        error="FormatError",
        was="AttributeError",
    ),
    _e("dropout-mask-ragged", "out = dropout(dlarray(R((2,))), 0.5, mask=[[1], [1, 0]])", "dropout", error="ShapeError", was="ValueError"),
    _e(
        "dropout-seed-negative",
        "out = dropout(dlarray(R((2,))), 0.5, seed=-1)",
        "dropout",
        error="OptionError",
        was="numpy ValueError: expected non-negative integer",
    ),
    _e("loss-targets-complex", "out = l1loss(dlarray(R((3,)), 'C'), R((3,), 'complex64'))", "l1loss", error="DTypeError", was="TypeError"),
    _e(
        "loss-mask-object",
        "out = huber(dlarray(R((3,)), 'C'), R((3,)), mask=R((3,), 'object'))",
        "huber",
        error="DTypeError",
        was="TypeError",
    ),
    _e(
        "loss-weights-format-int",
        "out = l1loss(dlarray(R((3, 2)), 'CB'), R((3, 2)), weights=R((3,)), weights_format=5)",
        "l1loss",
        error="FormatError",
        was="AttributeError",
    ),
    _e(
        "indexcrossentropy-weights-format-list",
        "out = indexcrossentropy(dlarray(R((3, 2)), 'CB'), np.zeros(2, int), weights=R((2,)), weights_format=['B'])",
        "indexcrossentropy",
        error="FormatError",
        was="AttributeError",
    ),
    _e(
        "maxunpool-output-too-large",
        "Y, idx, size = maxpool(dlarray(R((2097152, 2097152, 0), 'float64'), 'SSC'), 2, stride=2, "
        "return_indices=True)\nout = maxunpool(Y[..., :0], 'x', (2**40,) * len(size))",
        "maxunpool",
        was="abort: memory allocation of 8796093022208 bytes failed",
    ),
    _e(
        "maxunpool-output-size-none",
        f"Y, idx, size = maxpool({X4}, 2, stride=2, return_indices=True)\nout = maxunpool(Y, idx, None)",
        "maxunpool",
        error="OptionError",
        was="TypeError: 'NoneType' object is not iterable",
    ),
    _e(
        "maxunpool-output-size-string",
        f"Y, idx, size = maxpool({X4}, 2, stride=2, return_indices=True)\nout = maxunpool(Y, idx, 'a')",
        "maxunpool",
        error="OptionError",
        was="ValueError: invalid literal for int()",
    ),
    _e(
        "maxunpool-float-indices",
        f"Y, idx, size = maxpool({X4}, 2, stride=2, return_indices=True)\nout = maxunpool(Y, idx.astype(float) + 0.5, size)",
        "maxunpool",
        error="DlIndexError",
        was="silently truncated",
    ),
    _e(
        "maxpool-return-indices-string",
        f"out = maxpool({X4}, 2, return_indices='yes')",
        "maxpool",
        error="OptionError",
        was="accepted any truthy value",
    ),
    _e(
        "norm-ord-string",
        "out = norm(dlarray(R((3,))), '2')",
        "norm",
        error="OptionError",
        was="TypeError: '>' not supported between instances of 'str' and 'int'",
    ),
    _e("norm-axis-out-of-range", "out = norm(dlarray(R((3,))), 2, 5)", "norm", error="DlIndexError", was="error named sum"),
    _e(
        "permute-float-axes",
        "out = permute(dlarray(R((1, 2))), (0.5, 1))",
        "permute",
        error="OptionError",
        was="TypeError: 'float' object cannot be interpreted as an integer",
    ),
    _e("sum-of-strings", "out = dl.sum('abc')", "sum", error="DTypeError", was="DTypeError naming dlarray"),
    _e("dlfeval-not-callable", "out = dlfeval(5)", "dlfeval", error="OptionError", was="TypeError: 'int' object is not callable"),
    _e(
        "dlgradient-retain-data-int",
        "out = dlfeval(lambda x: dlgradient(x.sum(), x, retain_data=1), dlarray(R((2,))))",
        "dlgradient",
        error="OptionError",
        was="TypeError: argument 'retain_data': 'int' object cannot be cast as 'bool'",
    ),
    _e(
        "dljacobian-flag-string",
        "out = dlfeval(lambda x: dljacobian(x * x, x, 0, enable_higher_derivatives='x'), dlarray(R((2,))))",
        "dljacobian",
        error="OptionError",
        was="TypeError from the binding",
    ),
    _e(
        "dljacobian-dim-tuple",
        "out = dlfeval(lambda x: dljacobian(x * x, x, (0,)), dlarray(R((2,))))",
        "dljacobian",
        error="OptionError",
        was="TypeError: '<=' not supported between instances of 'int' and 'tuple'",
    ),
    _e(
        "dljacobian-dim-bad-label",
        "out = dlfeval(lambda x: dljacobian(x * x, x, 'Q'), dlarray(R((2,))))",
        "dljacobian",
        error="FormatError",
        was="error named finddim",
    ),
    _e(
        "dljacobian-empty",
        "out = dlfeval(lambda x: dljacobian(x[:0] * 1, x, 0), dlarray(R((2,))))\nassert out.shape == (0, 2)",
        "dljacobian",
        "ok",
        was="OptionError naming stack",
    ),
    _e(
        "dldivergence-x-fewer-dims",
        "x = dlarray(R((2,)))\nout = dlfeval(lambda x: dldivergence(stripdims(x).reshape(2, 1) * 1, x, 1), x)",
        "dldivergence",
        error="ShapeError",
        was="IndexError: tuple index out of range",
    ),
    # ----- layers and networks ---------------------------------------------------------------
    _e(
        "layer-stride-dict",
        "out = convolution2dLayer(3, 2, stride={'a': 1})",
        "Convolution2DLayer",
        error="OptionError",
        was="TypeError: unsupported operand type(s) for %",
    ),
    _e("layer-padding-ellipsis", "out = convolution1dLayer(3, 2, padding=...)", "Convolution1DLayer", error="OptionError", was="TypeError"),
    _e(
        "layer-weights-string",
        "out = fullyConnectedLayer(3, weights=np.array(['none']))",
        "fullyConnectedLayer",
        error="DTypeError",
        was="ValueError: could not convert string to float",
    ),
    _e(
        "layer-factor-bytes",
        "out = groupNormalizationLayer(2, offset_learn_rate_factor=b'x')",
        "GroupNormalizationLayer",
        error="OptionError",
        was="ValueError: could not convert string to float",
    ),
    _e(
        "functionLayer-num-inputs-nan",
        "out = functionLayer(relu, num_inputs=float('nan'))",
        "functionLayer",
        error="OptionError",
        was="ValueError: cannot convert float NaN to integer",
    ),
    _e(
        "featureInputLayer-list",
        "out = featureInputLayer([3, 4])",
        "featureInputLayer",
        error="OptionError",
        was="TypeError: only 0-dimensional arrays can be converted",
    ),
    _e("sequenceInputLayer-none", "out = sequenceInputLayer(None)", "sequenceInputLayer", error="OptionError", was="TypeError"),
    _e("imageInputLayer-mean-dict", "out = imageInputLayer((4, 4, 2), mean={})", "ImageInputLayer", error="DTypeError", was="TypeError"),
    _e(
        "averagePooling2dLayer-padding-value-array",
        "out = averagePooling2dLayer(2, padding_value=np.zeros(2))",
        "averagePooling2dLayer",
        error="OptionError",
        was="ValueError: truth value ambiguous",
    ),
    _e(
        "gruLayer-reset-mode-array",
        "out = gruLayer(2, reset_gate_mode=np.array(['a', 'b']))",
        "gruLayer",
        error="OptionError",
        was="ValueError: truth value ambiguous",
    ),
    _e(
        "lstmLayer-hidden-state-0d",
        "net = dlnetwork([sequenceInputLayer(3), lstmLayer(2, hidden_state=np.array(2.5))])",
        "LSTMLayer",
        error="ShapeError",
        was="IndexError: tuple index out of range",
    ),
    _e(
        "transposedConv2dLayer-no-channels",
        "net = dlnetwork([imageInputLayer((4, 4, 2), normalization='none'), "
        "transposedConv2dLayer(2, 2)])\nout = net.predict(dlarray(np.zeros((4, 4, 2, 1), np.float32), 'SSCB'))",
        "dlnetwork",
        "ok",
        was="ZeroDivisionError in the glorot initializer (for zero fans)",
    ),
    _e(
        "net-not-initialized",
        "net = dlnetwork([featureInputLayer(3), fullyConnectedLayer(2)], initialize=False)\nout = net.predict(dlarray(R((3, 2)), 'CB'))",
        "dlnetwork",
        error="OptionError",
        was="RuntimeError",
    ),
    _e(
        "net-input-count",
        f"net = {NET_FC}\nout = net.predict(dlarray(R((3, 2)), 'CB'), dlarray(R((3, 2)), 'CB'))",
        "dlnetwork",
        error="OptionError",
        was="TypeError: the network has 1 inputs, got 2",
    ),
    _e(
        "net-input-strings",
        f"net = {NET_FC}\nout = net.predict(R((3, 2), 'U1'))",
        "dlnetwork",
        error="DTypeError",
        was="ValueError: could not convert string to float",
    ),
    _e(
        "net-outputs-int",
        f"net = {NET_FC}\nout = net.predict(dlarray(R((3, 2)), 'CB'), outputs=5)",
        "dlnetwork",
        error="OptionError",
        was="TypeError: 'int' object is not iterable",
    ),
    _e(
        "net-outputs-empty",
        f"net = {NET_FC}\nout = net.predict(dlarray(R((3, 2)), 'CB'), outputs=[])",
        "dlnetwork",
        error="OptionError",
        was="IndexError: list index out of range",
    ),
    _e(
        "net-layer-error-names-layer",
        f"net = {NET_FC}\nout = net.predict(dlarray(R((5, 2)), 'CB'))",
        ("featureinput", "dlnetwork"),
        error="ShapeError",
    ),
    _e(
        "net-remove-twice",
        f"net = {NET_FC}\nnet.remove_layers(['fc_2', 'fc_2'])\nassert 'fc_2' not in [l.name for l in net.layers]",
        "dlnetwork",
        "ok",
        was="KeyError: 'fc_2'",
    ),
    _e(
        "net-replace-with-nothing",
        f"net = {NET_FC}\nnet.replace_layer('relu', [])",
        "dlnetwork",
        error="OptionError",
        was="IndexError: list index out of range",
    ),
    _e(
        "net-cycle-leaves-net-usable",
        f"net = {NET_FC}\ntry:\n    net.connect_layers('fc_2', 'fc_1')\nexcept OptionError:\n    pass\nnet.connect_layers('fc_2', 'relu')",
        "dlnetwork",
        error="OptionError",
        was="a rejected cycle stayed in the graph",
    ),
    _e(
        "net-state-set-none",
        f"net = {NET_IMG}\nt = net.state\nt[t.layer[0], t.parameter[0]] = None\nnet.state = t",
        "dlnetwork",
        error="OptionError",
        was="AttributeError: 'NoneType' object has no attribute 'reshape' (at predict)",
    ),
    _e("table-float-index", f"net = {NET_FC}\nout = net.learnables[1.5]", "Table", error="DlIndexError", was="TypeError"),
    _e("table-row-out-of-range", f"net = {NET_FC}\nout = net.learnables[99]", "Table", error="DlIndexError", was="IndexError"),
    _e(
        "net-summary-non-array-learnable",
        f"net = {NET_FC}\nnet = dlupdate(lambda p: 'x', net)\nout = repr(net)",
        "dlnetwork",
        "ok",
        was="AttributeError in the summary: 'str' object has no attribute 'shape'",
    ),
    _e(
        "crosschannelnorm-empty-huge",
        "out = crosschannelnorm(dlarray(R((2**21, 2**20, 0))), 3, data_format='SSC')",
        "crosschannelnorm",
        "ok",
        was="hang (in concatenate of the empty squares)",
    ),
    _e(
        "crossentropy-no-classes-all-elements",
        "out = crossentropy(dlarray(R((0, 0, 2)), 'CBT'), dlarray(R((0, 0, 2)), 'CBT'), normalization_factor='all-elements')",
        "crossentropy",
        "ok",
        was="ZeroDivisionError: float division by zero",
    ),
    _e(
        "grouped-conv-channel-wise-no-channels",
        "net = dlnetwork([imageInputLayer((4, 4, 2), normalization='none'), "
        "groupedConvolution2dLayer(2, 2, 'channel-wise')][1:], dlarray(R((4, 4, 0, 1)), 'SSCB'))",
        "dlnetwork",
        "clean",
        was="ZeroDivisionError: integer modulo by zero",
    ),
    _e(
        "functionLayer-too-many-inputs",
        "net = dlnetwork([featureInputLayer(3), functionLayer(relu, num_inputs=2**40)])",
        "functionLayer",
        error="OptionError",
        was="hang: listing 2**40 input ports",
    ),
    _e(
        "batchnorm-scalar-offset-stats",
        "Y, m, v = batchnorm(dlarray(R((3, 2)), 'CB'), 0, 1, training=True)\nassert m.shape == (3,)",
        "batchnorm",
        "ok",
        was="ShapeError naming reshape",
    ),
    # ----- found by this fuzzer, fixed in the core ------------------------------------------
    _e("dlarray-ragged", "out = dlarray([[1], [1, 2]])", "dlarray", error="ShapeError", was="ValueError: inhomogeneous shape (numpy's)"),
    _e("setitem-ragged", "x = dlarray(R((2, 3)))\nx[0] = [[1], [1, 2]]", ("index", "assign", "setitem"), was="ValueError"),
    _e("where-operand-names-where", "out = where('x', 1.0, 2.0)", "where", error="DTypeError", was="DTypeError naming dlarray"),
    _e(
        "sum-empty-huge-result",
        "out = dlarray(np.zeros((2**20, 2**20, 0), np.float32)).sum(2)",
        "sum",
        "clean",
        was="abort: memory allocation of 4398046511104 bytes failed",
    ),
    _e("prod-empty-huge-result", "out = dlarray(np.zeros((2**20, 2**20, 0), np.float32)).prod(2)", "prod", "clean", was="abort"),
    _e(
        "standardize-empty-huge",
        "out = dl._core._standardize(dlarray(np.zeros((2**20, 2**20, 0), np.float32)), [2], 1e-5)",
        ("standardize", "layernorm"),
        "clean",
        was="abort: memory allocation of 8796093022208 bytes failed",
    ),
    # ----- binding conversions and shapes numpy cannot hold ---------------------------------------
    _e(
        "keepdims-string",
        "out = dlarray(R((2, 3))).sum(None, 'yes')",
        "sum",
        was="TypeError: argument 'keepdims': 'str' object cannot be cast as 'bool'",
    ),
    _e("keepdims-none-module-function", "out = mean(dlarray(R((2, 3))), 0, None)", "mean", was="TypeError"),
    _e("cumsum-reverse-none", "out = dlarray(R((2, 3))).cumsum(0, None)", "cumsum", was="TypeError"),
    _e("axis-float", "out = dlarray(R((2, 3))).sum(1.5)", "sum", was="TypeError: 'float' object cannot be cast as 'Sequence'"),
    _e(
        "axis-tuple-with-none",
        "out = dlarray(R((2, 3))).max((None,))",
        "max",
        was="TypeError: 'NoneType' object cannot be interpreted as an integer",
    ),
    _e(
        "pagemtimes-transp-complex",
        "a = dlarray(R((2, 3)))\nout = pagemtimes(a, a.T, 1j)",
        "pagemtimes",
        was="TypeError: argument 'transp_a': 'complex' object cannot be cast as 'str'",
    ),
    _e(
        "pagemtimes-error-names-matmul",
        "out = pagemtimes(dlarray(R((3, 2))), dlarray(R((1, 3))))",
        "pagemtimes",
        error="ShapeError",
        was="ShapeError 'matmul: inner dimensions do not match'",
    ),
    _e(
        "stack-axis-none",
        "out = stack([dlarray(R((1, 2)))], axis=None)",
        "stack",
        was="TypeError: argument 'axis': 'NoneType' object cannot be interpreted as an integer",
    ),
    _e(
        "reshape-none", "out = dlarray(R((3, 2))).reshape(None)", "reshape", was="TypeError: 'NoneType' object cannot be cast as 'Sequence'"
    ),
    _e(
        "reshape-beyond-64-bits",
        "out = dlarray(R((1, 2))).reshape((2**63,))",
        "reshape",
        was="OverflowError: Python int too large to convert to C long",
    ),
    _e(
        "reshape-order-int",
        "out = reshape(dlarray(R(())), (1,), order=1)",
        "reshape",
        was="TypeError: argument 'order': 'int' object cannot be cast as 'str'",
    ),
    _e("repmat-string", "out = repmat(dlarray(R((2,))), 'a')", "repmat", was="TypeError: Can't extract `str` to `Vec`"),
    _e("repmat-none", "out = repmat(dlarray(R((2,))), None)", "repmat", was="TypeError"),
    _e(
        "transpose-string-axes",
        "out = dlarray(R((2,))).transpose(('a',))",
        ("transpose", "permute"),
        was="TypeError: 'str' object cannot be interpreted as an integer",
    ),
    _e("flip-axis-none-tuple", "out = flip(dlarray(R((2,))), (None,))", "flip", was="TypeError"),
    _e(
        "format-int",
        "out = dlarray(R((2, 3)), 5)",
        "dlarray",
        error="FormatError",
        was="TypeError: argument 'fmt': 'int' object cannot be cast as 'str'",
    ),
    _e("format-bytes", "out = dlarray(R((2, 3)), b'CB')", "dlarray", was="TypeError"),
    _e("stripdims-format-int", "out = stripdims(dlarray(R((2, 3)), 'CB'), 5)", "stripdims", was="TypeError"),
    _e("finddim-label-int", "out = finddim(dlarray(R((2, 3)), 'CB'), 3)", "finddim", was="TypeError"),
    _e("extractdata-ragged", "out = extractdata([[1], [2, 3]])", "extractdata", was="ValueError"),
    _e(
        "maximum-error-names-max",
        "out = maximum(dlarray(R((2,))), dlarray(R((3,))))",
        "maximum",
        error="ShapeError",
        was="ShapeError 'max: operands could not be broadcast'",
    ),
    _e(
        "mean-empty-huge-result",
        "out = dlarray(np.zeros((2**20, 2**20, 0), np.float32)).mean(2)",
        "mean",
        "clean",
        was="abort; now OutOfMemoryError, but its message names sum",
    ),
    _e(
        "broadcast-unrepresentable-shape",
        "out = dlarray(np.zeros((2**31, 1, 0), np.float32)) * dlarray(np.zeros((1, 2**31, 0), np.float32))",
        ("mul", "multiply", "broadcast"),
        error="ShapeError",
        was="returns an empty (2**31, 2**31, 0) array whose np.asarray() is a SIGSEGV (numpy cannot represent the shape)",
    ),
    _e(
        "conv-empty-batch-unrepresentable-result",
        "out = dlconv(dlarray(np.zeros((1, 1, 1, 1, 0), np.float32), 'SSSCB'), R((1, 1, 1, 1, 1)), 0, padding=10**6)",
        "dlconv",
        error="ShapeError",
        was="returns a (2000001,)*3 x 1 x 0 array (more bytes than numpy can address); np.asarray() of it is a SIGSEGV",
    ),
    _e(
        "avgpool-empty-batch-unrepresentable-result",
        "out = avgpool(dlarray(np.zeros((1, 1, 1, 1, 0), np.float32), 'SSSCB'), 1, padding=10**6)",
        "avgpool",
        error="ShapeError",
        was="SIGSEGV on export, as above",
    ),
    _e(
        "concatenate-empty-huge-outer",
        "out = concatenate([dlarray(np.zeros((2**20, 2**20, 0), np.float32))], axis=2)",
        "concatenate",
        "ok",
        was="hang: the copy loops over 2**40 empty outer slices",
    ),
    _e("stack-empty-huge-outer", "out = stack([dlarray(np.zeros((2**20, 2**20, 0), np.float32))], axis=2)", "stack", "ok", was="hang"),
    _e(
        "stack-axis-label",
        "out = stack([dlarray(R((2,)))], axis='C')",
        "stack",
        was="TypeError: argument 'axis': 'str' object cannot be interpreted as an integer",
    ),
    _e("astype-bad-dtype", "out = dlarray(R((2,))).astype('None')", "astype", was="TypeError: data type 'None' not understood (numpy's)"),
    _e(
        "flip-axis-beyond-64-bits",
        "out = flip(dlarray(R((2,))), 2**63)",
        "flip",
        was="TypeError: 'int' object cannot be cast as 'Sequence'",
    ),
    _e("reshape-string", "out = dlarray(R((2,))).reshape('a')", "reshape", was="TypeError: Can't extract `str` to `Vec`"),
    # ----- Python modules ---------------------------------------------------------------------
    _e("gpuArray-without-gpu", "out = gpuArray(dlarray(R((2,))))", "gpuArray", was="RuntimeError (untyped)"),
    _e(
        "dlupdate-not-callable",
        "out = dlupdate(5, {'w': dlarray(R((2,)))})",
        "dlupdate",
        was="TypeError: dlupdate: the first argument must be a function",
    ),
]

NAMES = [e.name for e in CORPUS]
assert len(set(NAMES)) == len(NAMES), "corpus names must be unique"


def verdict(entry: Entry, result: dict) -> str:
    """Why ``result`` does not meet ``entry``'s expectation ("" when it does)."""
    cat = result["cat"]
    got = f"{cat}: {result.get('exc', '')} {result.get('msg', '')}".strip()
    if entry.expect == "ok":
        return "" if cat == "ok" else f"expected it to return, got {got}"
    if cat == "ok" and entry.expect == "clean":
        return ""
    if cat != "typed":
        return f"expected a typed dlarray error, got {got}"
    if entry.error and result.get("exc", "").rsplit(".", 1)[-1] != entry.error:
        return f"expected {entry.error}, got {got}"
    if not result.get("names_op"):
        return f"the message does not name {' / '.join(entry.ops)}: {result.get('msg', '')}"
    return ""
