"""Sharing memory with other libraries: ``from_dlpack`` reads a producer's memory in place
(copying only where the dtype or layout needs it, or when asked), ``__dlpack__`` exports
without a copy and read-only to DLPack 1.0 consumers, and tensors of other libraries (torch
tensors that require grad, bfloat16) are accepted."""

import gc
import weakref

import dlarray as dl
import numpy as np
import pytest
from dlarray import dlarray, dlfeval, dlgradient, extractdata, from_dlpack
from test_dlarray import _DLPackOnly

RNG = np.random.default_rng(5)
DTYPES = [np.float32, np.float64, np.complex64, np.complex128]


def _torch():
    try:
        import torch
    except Exception:  # not installed, or installed without the libraries it loads
        pytest.skip("torch is not usable here")
    return torch


def _data(dtype, shape=(3, 4)):
    x = RNG.standard_normal(shape)
    if np.dtype(dtype).kind == "c":
        x = x + 1j * RNG.standard_normal(shape)
    return x.astype(dtype)


# ----- import -------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
def test_from_dlpack_shares_memory(dtype):
    a = _data(dtype)
    X = from_dlpack(a, "CB")
    assert X.dtype == a.dtype and X.fmt == "CB" and X.shape == a.shape
    assert np.shares_memory(np.asarray(X), a)
    np.testing.assert_array_equal(extractdata(X * 2), a * 2)


def test_from_dlpack_keeps_the_producer_alive():
    a = _data(np.float64)
    expected = a.copy()
    gone = weakref.ref(a)
    X = from_dlpack(a)
    del a
    gc.collect()
    assert gone() is not None  # held by the dlarray
    np.testing.assert_array_equal(extractdata(X), expected)
    del X
    gc.collect()
    assert gone() is None  # released with the last reader


def test_from_dlpack_of_a_dlpack_only_object():
    a = _data(np.float32)
    X = from_dlpack(_DLPackOnly(a))
    assert np.shares_memory(np.asarray(X), a)


def test_writing_a_shared_dlarray_never_writes_the_producer():
    a = _data(np.float64)
    before = a.copy()
    X = from_dlpack(a)
    X[0, 0] = 100.0
    assert extractdata(X)[0, 0] == 100.0
    np.testing.assert_array_equal(a, before)


def test_dlarray_constructor_always_copies():
    a = _data(np.float32)
    assert not np.shares_memory(np.asarray(dlarray(a)), a)


def test_copy_true_copies_and_copy_false_refuses_conversions():
    a = _data(np.float32)
    assert not np.shares_memory(np.asarray(from_dlpack(a, copy=True)), a)
    ints = np.arange(6, dtype=np.int32).reshape(2, 3)
    X = from_dlpack(ints)  # converted, as dlarray(x) converts
    assert X.dtype == np.float32
    np.testing.assert_array_equal(extractdata(X), ints)
    with pytest.raises(ValueError, match=r"from_dlpack.*'x'.*int32.*needs converting.*copy=None"):
        from_dlpack(ints, copy=False)
    fortran = np.asfortranarray(_data(np.float64))
    X = from_dlpack(fortran)
    assert not np.shares_memory(np.asarray(X), fortran)
    np.testing.assert_array_equal(extractdata(X), fortran)
    with pytest.raises(ValueError, match=r"not C-contiguous"):
        from_dlpack(fortran, copy=False)


def test_from_dlpack_refuses_non_numeric_data_with_a_typed_error():
    with pytest.raises(dl.DTypeError, match="from_dlpack"):
        from_dlpack(np.array(["a", "b"]))
    with pytest.raises(dl.FormatError):
        from_dlpack(_data(np.float32), "CCB")


def test_gradients_flow_through_a_shared_array():
    a = _data(np.float64)
    X = from_dlpack(a)

    def f(x):
        y = (x * x).sum()
        return y, dlgradient(y, x)

    _, g = dlfeval(f, X)
    np.testing.assert_allclose(extractdata(g), 2 * a)


def test_optimizer_updates_of_shared_parameters_leave_the_producer_alone():
    w = _data(np.float64)
    before = w.copy()
    params = {"w": from_dlpack(w)}
    grads = {"w": dlarray(np.ones_like(w))}
    new, _ = dl.sgdmupdate(params, grads, None, 0.1)
    np.testing.assert_allclose(extractdata(new["w"]), before - 0.1)
    np.testing.assert_array_equal(w, before)


def test_an_empty_array_is_shared_as_empty():
    X = from_dlpack(np.zeros((0, 3), np.float32))
    assert X.shape == (0, 3)


# ----- export -------------------------------------------------------------------------------------


# numpy marks an exported array read-only from 2.1 on (DLPack 1.0's flag); before, the export
# is a copy.
NUMPY_MARKS_READ_ONLY = tuple(int(p) for p in np.__version__.split(".")[:2]) >= (2, 1)


def test_dlpack_export_is_zero_copy_and_read_only():
    X = dlarray(_data(np.float32), "CB")
    y = np.from_dlpack(X)
    np.testing.assert_array_equal(y, np.asarray(X))
    if not NUMPY_MARKS_READ_ONLY:
        assert not np.shares_memory(y, np.asarray(X))
        return
    assert np.shares_memory(y, np.asarray(X))
    assert not y.flags.writeable
    with pytest.raises(ValueError):
        y[0, 0] = 1.0


def test_dlpack_export_to_an_old_consumer_copies():
    X = dlarray(_data(np.float32))
    # A consumer of DLPack before 1.0 (no max_version) cannot be told the memory is read-only.
    capsule = X.__dlpack__()
    assert type(capsule).__name__ == "PyCapsule"
    with pytest.raises(BufferError):
        X.__dlpack__(copy=False)
    assert type(X.__dlpack__(copy=True, max_version=(1, 0))).__name__ == "PyCapsule"
    if NUMPY_MARKS_READ_ONLY:
        X.__dlpack__(copy=False, max_version=(1, 0))  # the read-only view, no copy


# ----- other libraries ----------------------------------------------------------------------------


def test_bfloat16_numpy_arrays_become_float32():
    ml_dtypes = pytest.importorskip("ml_dtypes")
    a = np.arange(6, dtype=np.float32).astype(ml_dtypes.bfloat16)
    for X in (dlarray(a), from_dlpack(a)):
        assert X.dtype == np.float32
        np.testing.assert_array_equal(extractdata(X), np.arange(6, dtype=np.float32))


def test_torch_tensors_detached_and_shared():
    torch = _torch()
    t = torch.randn(3, 4, dtype=torch.float64, requires_grad=True)
    X = dlarray(t, "CB")
    np.testing.assert_array_equal(extractdata(X), t.detach().numpy())
    S = from_dlpack(t)
    assert np.shares_memory(np.asarray(S), t.detach().numpy())
    b = torch.arange(6, dtype=torch.float32).to(torch.bfloat16)
    B = dlarray(b)
    assert B.dtype == np.float32
    np.testing.assert_array_equal(extractdata(B), np.arange(6, dtype=np.float32))
    back = torch.from_dlpack(dlarray(np.arange(4.0)))
    assert back.tolist() == [0.0, 1.0, 2.0, 3.0]


def test_copy_must_be_a_bool_or_none():
    for bad in (1, "yes", 0.0):
        with pytest.raises(dl.OptionError, match=r"from_dlpack.*copy"):
            from_dlpack(np.ones(3), copy=bad)
    assert from_dlpack(np.ones(3), copy=np.bool_(True)).shape == (3,)
