"""Synthetic digits, arrayDatastore / combine and minibatchqueue.

The pure-numpy parts run without the compiled core; tests that need the dlarray class
skip when ``dlarray._core`` cannot be imported.
"""

import importlib
import importlib.util
import pathlib
import sys
import types

import numpy as np
import pytest


def _import_data_package():
    """``dlarray.data``; if the package cannot be imported because the compiled core is
    not built, load the pure-Python subpackage on its own."""
    try:
        return importlib.import_module("dlarray.data")
    except ImportError:
        root = pathlib.Path(__file__).resolve().parents[1] / "python" / "dlarray"
        stub = types.ModuleType("dlarray")
        stub.__path__ = [str(root)]
        sys.modules["dlarray"] = stub
        return importlib.import_module("dlarray.data")


data = _import_data_package()
arrayDatastore, combine, minibatchqueue = data.arrayDatastore, data.combine, data.minibatchqueue
EndOfDataError = data.EndOfDataError


def _core_or_skip():
    pytest.importorskip("dlarray._core", reason="compiled core dlarray._core not built")
    return importlib.import_module("dlarray")


# --- digits -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def train():
    return data.digitTrain4DArrayData()


@pytest.fixture(scope="module")
def test_set():
    return data.digitTest4DArrayData()


def test_digit_shapes_and_types(train):
    X, labels, angles = train
    assert X.shape == (28, 28, 1, 5000) and X.dtype == np.float32
    assert labels.shape == (5000,) and labels.dtype == np.int64
    assert angles.shape == (5000,) and np.issubdtype(angles.dtype, np.floating)


def test_digit_values_and_balance(train):
    X, labels, angles = train
    assert X.min() >= 0.0 and X.max() <= 1.0
    assert np.array_equal(np.bincount(labels, minlength=10), np.full(10, 500))
    assert set(np.unique(labels)) == set(range(10))
    assert angles.min() >= -45.0 and angles.max() <= 45.0 and angles.std() > 20
    # Labels are mixed, not sorted by class.
    assert len(set(labels[:50].tolist())) > 5
    # Every image has a bright stroke and a mostly dark background.
    per_image = X.reshape(-1, 5000)
    assert (per_image.max(axis=0) > 0.9).all()
    ink = (per_image > 0.5).mean(axis=0)
    assert ink.min() > 0.03 and ink.max() < 0.5


def test_digits_deterministic_and_copied(train):
    X, labels, angles = train
    X2, labels2, angles2 = data.digitTrain4DArrayData()
    assert np.array_equal(X, X2) and np.array_equal(labels, labels2)
    assert np.array_equal(angles, angles2)
    X2[:] = 0
    labels2[:] = 0
    X3, labels3, _ = data.digitTrain4DArrayData()
    assert np.array_equal(X3, X) and np.array_equal(labels3, labels)
    assert X3.flags.writeable


def test_train_and_test_differ(train, test_set):
    assert not np.array_equal(train[0], test_set[0])
    assert not np.array_equal(train[2], test_set[2])
    assert np.array_equal(np.bincount(test_set[1]), np.full(10, 500))


def test_digits_are_learnable(train, test_set):
    """A linear softmax classifier on 14x14 averages must beat 85% on the test set
    (a CNN does much better); guards against indistinguishable classes."""

    def features(X):
        return X[:, :, 0, :].reshape(14, 2, 14, 2, -1).mean((1, 3)).reshape(196, -1).T

    F, Ft = features(train[0]), features(test_set[0])
    mu, sd = F.mean(0), F.std(0) + 0.05
    F, Ft = (F - mu) / sd, (Ft - mu) / sd
    W, b, Y = np.zeros((196, 10)), np.zeros(10), np.eye(10)[train[1]]
    for _ in range(100):
        Z = F @ W + b
        P = np.exp(Z - Z.max(1, keepdims=True))
        P /= P.sum(1, keepdims=True)
        G = (P - Y) / len(Y)
        W -= F.T @ G
        b -= G.sum(0)
    accuracy = ((Ft @ W + b).argmax(1) == test_set[1]).mean()
    assert accuracy > 0.85, accuracy


# --- arrayDatastore -------------------------------------------------------------------------


def test_array_datastore_reads_rows():
    A = np.arange(12).reshape(6, 2)
    ds = arrayDatastore(A)
    assert ds.numobservations == len(ds) == 6 and ds.iteration_dimension == 0
    first = ds.read()
    assert isinstance(first, list) and len(first) == 1
    assert np.array_equal(first[0], [0, 1])
    rest = []
    while ds.hasdata():
        rest.extend(ds.read())
    assert len(rest) == 5 and np.array_equal(rest[-1], [10, 11])
    with pytest.raises(ValueError, match="no more data"):
        ds.read()
    ds.reset()
    assert ds.hasdata() and np.array_equal(ds.read()[0], [0, 1])


def test_array_datastore_read_size_and_same():
    A = np.arange(10)
    ds = arrayDatastore(A, read_size=4, output_type="same")
    assert np.array_equal(ds.read(), [0, 1, 2, 3])
    assert np.array_equal(ds.preview(), [0, 1, 2, 3])
    ds.read()
    assert np.array_equal(ds.read(), [8, 9])  # last read is short
    assert not ds.hasdata()
    assert np.array_equal(ds.readall(), A)
    cells = arrayDatastore(A, read_size=4)
    assert [int(v) for v in cells.read()] == [0, 1, 2, 3]


def test_array_datastore_iteration_dimension():
    X = np.random.default_rng(0).random((5, 4, 1, 7))
    for dim in (3, -1):
        ds = arrayDatastore(X, iteration_dimension=dim)
        assert ds.numobservations == 7
        obs = ds.read()[0]
        assert obs.shape == (5, 4, 1) and np.array_equal(obs, X[..., 0])
    with pytest.raises(ValueError, match="iteration_dimension"):
        arrayDatastore(X, iteration_dimension=4)
    with pytest.raises(ValueError):
        arrayDatastore(X, output_type="table")
    with pytest.raises(ValueError):
        arrayDatastore(X, read_size=0)


def test_array_datastore_shuffle_returns_copy():
    A = np.arange(100)
    ds = arrayDatastore(A, output_type="same")
    shuffled = ds.shuffle(seed=1)
    assert np.array_equal(ds.readall(), A)  # original untouched
    values = shuffled.readall()
    assert not np.array_equal(values, A) and np.array_equal(np.sort(values), A)
    assert np.array_equal(ds.shuffle(seed=1).readall(), values)
    np.random.seed(3)
    first = ds.shuffle().readall()
    np.random.seed(3)
    assert np.array_equal(ds.shuffle().readall(), first)  # global state, like rng


def test_array_datastore_of_objects():
    ds = arrayDatastore(["a", [1, 2], {"k": 3}])
    assert ds.numobservations == 3
    assert ds.read() == ["a"] and ds.read() == [[1, 2]]


def test_combine_reads_tuples():
    X = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    Y = np.array([7, 8, 9, 10])
    cds = combine(arrayDatastore(X, iteration_dimension=2), arrayDatastore(Y))
    assert cds.numobservations == 4
    ((x, y),) = cds.read()
    assert np.array_equal(x, X[:, :, 0]) and int(y) == 7
    rows = cds.readall()
    assert len(rows) == 4 and all(isinstance(r, tuple) and len(r) == 2 for r in rows)
    shuffled = cds.shuffle(seed=0)
    for x, y in shuffled.readall():  # pairs stay together
        k = int(y) - 7
        assert np.array_equal(x, X[:, :, k])
    triple = combine(cds, arrayDatastore(-Y))
    assert len(triple.read()[0]) == 3
    with pytest.raises(TypeError):
        combine(X)


# --- minibatchqueue (numpy outputs: no compiled core needed) --------------------------------


def _queue(ds, **kw):
    kw.setdefault("output_as_dlarray", False)
    kw.setdefault("output_environment", "cpu")
    return minibatchqueue(ds, **kw)


def _images_and_labels(n=10):
    X = np.random.default_rng(0).random((4, 4, 1, n)).astype(np.float64)
    Y = np.arange(n) % 3
    return X, Y, combine(arrayDatastore(X, iteration_dimension=3), arrayDatastore(Y))


def test_queue_defaults_and_properties():
    _, _, ds = _images_and_labels()
    mbq = minibatchqueue(ds)
    assert mbq.mini_batch_size == 128 and mbq.num_outputs == 2
    assert mbq.partial_mini_batch == "return" and mbq.mini_batch_fcn == "collate"
    assert mbq.mini_batch_format == ("", "") and mbq.output_cast == ("single", "single")
    assert mbq.output_environment == ("auto", "auto") and mbq.output_as_dlarray == (True, True)


def test_queue_collates_along_last_axis():
    X, Y, ds = _images_and_labels()
    mbq = _queue(ds, mini_batch_size=4)
    x, y = mbq.next()
    assert x.shape == (4, 4, 1, 4) and y.shape == (4,)
    assert x.dtype == np.float32 and y.dtype == np.float32  # "single" by default
    assert np.allclose(x, X[..., :4]) and np.array_equal(y, Y[:4])


def test_queue_partial_batches():
    _, _, ds = _images_and_labels(10)
    sizes = [x.shape[-1] for x, _ in _queue(ds, mini_batch_size=4)]
    assert sizes == [4, 4, 2]
    assert len(_queue(ds, mini_batch_size=4)) == 3
    mbq = _queue(ds, mini_batch_size=4, partial_mini_batch="discard")
    assert [x.shape[-1] for x, _ in mbq] == [4, 4] and len(mbq) == 2
    assert not mbq.hasdata()
    with pytest.raises(ValueError):
        _queue(ds, partial_mini_batch="keep")


def test_queue_end_of_data_reset_and_iteration():
    _, _, ds = _images_and_labels(6)
    mbq = _queue(ds, mini_batch_size=4)
    mbq.next()
    mbq.next()
    assert not mbq.hasdata()
    with pytest.raises(EndOfDataError, match="reset"):
        mbq.next()
    assert issubclass(EndOfDataError, ValueError)
    mbq.reset()
    assert mbq.hasdata() and mbq.next()[0].shape[-1] == 4
    # Iterating continues from the current position ...
    assert [x.shape[-1] for x, _ in mbq] == [2]
    # ... and an exhausted queue starts a new pass.
    assert [x.shape[-1] for x, _ in mbq] == [4, 2]


def test_queue_shuffle():
    X = np.arange(20)
    mbq = _queue(arrayDatastore(X), mini_batch_size=5, output_cast=None)
    assert np.array_equal(np.concatenate(list(mbq)), X)
    mbq.shuffle(seed=0)
    first = np.concatenate(list(mbq))
    assert not np.array_equal(first, X) and np.array_equal(np.sort(first), X)
    mbq.reset()  # reset keeps the shuffled order
    assert np.array_equal(np.concatenate(list(mbq)), first)
    mbq.shuffle(seed=0)
    assert np.array_equal(np.concatenate(list(mbq)), first)
    mbq.shuffle()
    mbq.next()
    mbq.shuffle()  # shuffling rewinds
    assert sum(b.size for b in mbq) == 20


def test_queue_mini_batch_fcn():
    X, Y, ds = _images_and_labels(10)
    seen = {}

    def onehot(xs, ys):
        seen["types"] = (type(xs), type(ys), len(xs))
        return np.stack(xs, axis=-1), np.eye(3)[np.array(ys)].T

    mbq = _queue(ds, mini_batch_size=4, mini_batch_fcn=onehot)
    x, t = mbq.next()
    assert seen["types"] == (list, list, 4)
    assert x.shape == (4, 4, 1, 4) and t.shape == (3, 4) and t.dtype == np.float32
    assert np.array_equal(t.argmax(0), Y[:4])
    single = _queue(ds, num_outputs=1, mini_batch_size=4, mini_batch_fcn=lambda xs, ys: np.stack(xs))
    assert single.num_outputs == 1 and single.next().shape == (4, 4, 4, 1)
    wrong = _queue(ds, num_outputs=2, mini_batch_fcn=lambda xs, ys: (np.stack(xs),))
    with pytest.raises(ValueError, match="returned 1"):
        wrong.next()


def test_queue_output_options():
    X, Y, ds = _images_and_labels(10)
    x, y = _queue(ds, output_cast="double").next()
    assert x.dtype == np.float64 and y.dtype == np.float64
    x, y = _queue(ds, output_cast=["single", "int32"]).next()
    assert x.dtype == np.float32 and y.dtype == np.int32
    x, y = _queue(ds, output_cast=[None, "logical"]).next()
    assert x.dtype == np.float64 and y.dtype == np.bool_
    with pytest.raises(ValueError, match="output_as_dlarray"):
        minibatchqueue(ds, output_cast=["single", "int64"])
    with pytest.raises(ValueError, match="one string"):
        minibatchqueue(ds, mini_batch_format="SSCB")
    with pytest.raises(ValueError, match="2 outputs"):
        minibatchqueue(ds, mini_batch_format=["SSCB"])
    with pytest.raises(ValueError, match="column"):
        minibatchqueue(ds, 3)
    with pytest.raises(ValueError):
        minibatchqueue(ds, output_environment="tpu")
    with pytest.raises(ValueError):
        _queue(ds, mini_batch_format=["SSCB", ""]).next()  # format needs a dlarray


def test_queue_plain_arrays_and_tuples():
    A = np.arange(12, dtype=np.float64).reshape(6, 2)
    x = _queue(A, mini_batch_size=4).next()
    assert x.shape == (2, 4) and np.array_equal(x, A[:4].T)
    x, y = _queue((A, np.arange(6)), mini_batch_size=3).next()
    assert x.shape == (2, 3) and np.array_equal(y, [0, 1, 2])
    with pytest.raises(TypeError):
        minibatchqueue(42)


def test_queue_non_numeric_output_passes_through():
    ds = combine(arrayDatastore(np.arange(4.0)), arrayDatastore(["a", "b", "c", "d"]))
    x, names = _queue(ds, mini_batch_size=3).next()
    assert np.array_equal(x, [0, 1, 2]) and list(names) == ["a", "b", "c"]


def test_queue_background_dispatch_matches_serial():
    X, Y, ds = _images_and_labels(23)
    serial = _queue(ds, mini_batch_size=5)
    background = _queue(ds, mini_batch_size=5, dispatch_in_background=True)
    for mbq in (serial, background):
        mbq.shuffle(seed=4)
    pairs = list(zip(serial, background))
    assert len(pairs) == 5
    for (xa, ya), (xb, yb) in pairs:
        assert np.array_equal(xa, xb) and np.array_equal(ya, yb)
    background.reset()  # a pending prefetch is discarded
    assert np.array_equal(background.next()[0], pairs[0][0][0])


class _CountingDatastore:
    """A datastore with only read / hasdata / reset / shuffle (no random access)."""

    def __init__(self, values):
        self.values, self.position = list(values), 0

    def hasdata(self):
        return self.position < len(self.values)

    def read(self):
        self.position += 1
        return [(np.full(2, self.values[self.position - 1]), self.values[self.position - 1])]

    def reset(self):
        self.position = 0

    def shuffle(self):
        return _CountingDatastore(self.values[::-1])


def test_queue_generic_datastore():
    mbq = _queue(_CountingDatastore(range(7)), mini_batch_size=3)
    assert mbq.num_outputs == 2
    batches = list(mbq)
    assert [y.tolist() for _, y in batches] == [[0, 1, 2], [3, 4, 5], [6]]
    assert batches[0][0].shape == (2, 3)
    mbq.shuffle()
    assert mbq.next()[1].tolist() == [6, 5, 4]
    discard = _queue(_CountingDatastore(range(7)), mini_batch_size=3, partial_mini_batch="discard")
    assert len(list(discard)) == 2


# --- minibatchqueue with dlarray outputs (needs the compiled core) -------------------------


def test_queue_dlarray_outputs():
    dl = _core_or_skip()
    X, Y, ds = _images_and_labels(10)
    mbq = minibatchqueue(ds, mini_batch_size=4, mini_batch_format=["SSCB", ""], output_environment="cpu")
    x, y = mbq.next()
    assert isinstance(x, dl.dlarray) and isinstance(y, dl.dlarray)
    assert dl.dims(x) == "SSCB" and x.shape == (4, 4, 1, 4)
    assert dl.dims(y) == ""
    data_x = dl.extractdata(x)
    assert data_x.dtype == np.float32 and np.allclose(data_x, X[..., :4])


def test_queue_format_reorders_to_canonical():
    dl = _core_or_skip()
    X = np.random.default_rng(1).random((5, 5, 6, 3))  # collated as S S B C
    ds = arrayDatastore(X, iteration_dimension=2)
    ds_t = arrayDatastore(np.eye(6, 2))  # (2,) per observation
    mbq = minibatchqueue(
        combine(ds, ds_t),
        mini_batch_size=2,
        output_cast="double",
        mini_batch_format=["SSCB", "CB"],
        output_environment="cpu",
        mini_batch_fcn=lambda xs, ts: (np.stack(xs, -1), np.stack(ts, -1)),
    )
    x, t = mbq.next()
    assert dl.dims(x) == "SSCB" and x.shape == (5, 5, 3, 2)
    assert dl.extractdata(x).dtype == np.float64
    assert dl.dims(t) == "CB" and t.shape == (2, 2)
    swapped = minibatchqueue(ds, mini_batch_size=2, mini_batch_format="SSBC", output_environment="cpu")
    y = swapped.next()  # (5, 5, 3, 2) as SSBC
    assert dl.dims(y) == "SSCB" and y.shape == (5, 5, 2, 3)
