"""numpy export: np.asarray(X) is a zero-copy read-only view, extractdata a writable copy
(docs/decisions.md)."""

import gc
import pickle

import numpy as np
import pytest
from dlarray import dlarray, extractdata

DTYPES = [np.float32, np.float64, np.complex64, np.complex128]


def _data(dtype, shape=(3, 4)):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape)
    if np.issubdtype(dtype, np.complexfloating):
        x = x + 1j * rng.standard_normal(shape)
    return x.astype(dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_asarray_is_a_read_only_view_with_the_same_values(dtype):
    x = _data(dtype)
    X = dlarray(x)
    a = np.asarray(X)
    assert a.dtype == dtype and a.shape == x.shape
    np.testing.assert_array_equal(a, x)
    assert not a.flags.writeable
    # No copy: two exports share the dlarray's storage.
    assert np.shares_memory(a, np.asarray(X))


def test_writing_into_the_view_raises_and_never_changes_the_dlarray():
    X = dlarray(np.arange(6, dtype=np.float32).reshape(2, 3))
    a = np.asarray(X)
    with pytest.raises(ValueError, match="read-only"):
        a[0, 0] = 100.0
    with pytest.raises(ValueError):
        a.setflags(write=True)
    np.testing.assert_array_equal(extractdata(X), np.arange(6, dtype=np.float32).reshape(2, 3))


def test_view_outlives_the_dlarray():
    X = dlarray(np.arange(1000, dtype=np.float64) * 0.5)
    a = np.asarray(X)
    del X
    gc.collect()
    _ = [np.ones(1000) for _ in range(20)]  # reuse freed memory, if it were freed
    np.testing.assert_array_equal(a, np.arange(1000, dtype=np.float64) * 0.5)


def test_view_keeps_its_values_after_indexed_assignment():
    X = dlarray(np.zeros((2, 2), dtype=np.float32))
    a = np.asarray(X)
    X[0, 0] = 5.0
    assert a[0, 0] == 0.0
    assert float(X[0, 0]) == 5.0


def test_extractdata_is_a_writable_copy():
    x = np.arange(4, dtype=np.float32)
    X = dlarray(x)
    d = extractdata(X)
    assert d.flags.writeable
    assert not np.shares_memory(d, np.asarray(X))
    d[0] = 42.0
    np.testing.assert_array_equal(np.asarray(X), x)


def test_explicit_copy_and_dtype_conversion_give_fresh_writable_arrays():
    X = dlarray(np.arange(4, dtype=np.float32))
    c = np.array(X)  # numpy asks for a copy
    assert c.flags.writeable and not np.shares_memory(c, np.asarray(X))
    d = np.asarray(X, dtype=np.float64)
    assert d.dtype == np.float64 and d.flags.writeable
    np.testing.assert_array_equal(d, [0, 1, 2, 3])
    same = np.asarray(X, dtype=np.float32)
    assert np.shares_memory(same, np.asarray(X))


@pytest.mark.skipif(np.lib.NumpyVersion(np.__version__) < "2.0.0", reason="copy= needs numpy 2")
def test_copy_false_refuses_a_conversion_that_needs_a_copy():
    X = dlarray(np.arange(4, dtype=np.float32))
    assert np.shares_memory(np.asarray(X, copy=False), np.asarray(X))
    with pytest.raises(ValueError, match="copy"):
        np.asarray(X, dtype=np.float64, copy=False)


@pytest.mark.parametrize("shape", [(), (0,), (2, 0, 3), (1, 1, 1, 5)])
def test_zero_dim_and_empty_arrays(shape):
    x = np.ones(shape, dtype=np.float32) * 3
    a = np.asarray(dlarray(x))
    assert a.shape == shape
    np.testing.assert_array_equal(a, x)


def test_traced_and_formatted_arrays_export_their_data():
    X = dlarray(np.ones((2, 3, 4), dtype=np.float32), "SCB")
    a = np.asarray(X)
    assert a.shape == X.shape
    X2 = pickle.loads(pickle.dumps(X))
    np.testing.assert_array_equal(np.asarray(X2), a)
    assert X2.fmt == X.fmt
