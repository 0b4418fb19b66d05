"""Indexing follows numpy: for random keys (integers, slices, `...`, None, integer arrays,
boolean masks, in any combination) a dlarray selects and assigns exactly the elements numpy
does, in numpy's result shape, and fails with a typed error where numpy fails."""

import warnings

import dlarray as dl
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

small = st.integers(-5, 5)
bound = st.one_of(st.none(), st.integers(-6, 6))
slices = st.builds(slice, bound, bound, st.one_of(st.none(), st.integers(-3, 3).filter(lambda s: s != 0)))


@st.composite
def arrays(draw, shape):
    if draw(st.booleans()) and shape:
        # A mask over some leading dims of the array, or of a wrong shape.
        k = draw(st.integers(1, len(shape)))
        mshape = tuple(shape[:k]) if draw(st.integers(0, 4)) else (draw(st.integers(0, 4)),)
        return draw(st.lists(st.booleans(), min_size=int(np.prod(mshape)), max_size=int(np.prod(mshape)))), mshape, bool
    ishape = draw(st.lists(st.integers(0, 3), min_size=0, max_size=2))
    n = int(np.prod(ishape))
    return draw(st.lists(small, min_size=n, max_size=n)), tuple(ishape), np.int64


@st.composite
def keys(draw):
    shape = tuple(draw(st.lists(st.integers(0, 4), min_size=0, max_size=3)))
    items = []
    for _ in range(draw(st.integers(0, 4))):
        kind = draw(st.sampled_from(["int", "slice", "slice", "ellipsis", "none", "array"]))
        if kind == "int":
            items.append(draw(small))
        elif kind == "slice":
            items.append(draw(slices))
        elif kind == "ellipsis":
            items.append(Ellipsis)
        elif kind == "none":
            items.append(None)
        else:
            values, ashape, dtype = draw(arrays(shape))
            items.append(np.array(values, dtype=dtype).reshape(ashape))
    key = tuple(items) if len(items) != 1 or draw(st.booleans()) else items[0]
    return shape, key


def _numpy(shape, key):
    x = np.arange(int(np.prod(shape)), dtype=np.float64).reshape(shape)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            return x[key], None
        except (IndexError, ValueError, TypeError, DeprecationWarning) as e:
            return None, e


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(keys())
def test_selection_matches_numpy(case):
    shape, key = case
    want, err = _numpy(shape, key)
    x = dl.dlarray(np.arange(int(np.prod(shape)), dtype=np.float64).reshape(shape))
    if err is not None:
        with pytest.raises((dl.DlIndexError, ValueError)):
            x[key]
        return
    got = x[key]
    assert tuple(got.shape) == want.shape, (shape, key)
    np.testing.assert_array_equal(np.asarray(dl.extractdata(got)), want)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(keys())
def test_assignment_matches_numpy(case):
    shape, key = case
    want, err = _numpy(shape, key)
    if err is not None:
        return
    ref = np.arange(int(np.prod(shape)), dtype=np.float64).reshape(shape)
    values = -1.0 - np.arange(want.size, dtype=np.float64).reshape(want.shape)
    ref[key] = values
    x = dl.dlarray(np.arange(int(np.prod(shape)), dtype=np.float64).reshape(shape))
    x[key] = values
    if len(np.unique(np.arange(ref.size).reshape(shape)[key])) == want.size:
        # With repeated positions the last write wins in both, but numpy does not promise it.
        np.testing.assert_array_equal(np.asarray(dl.extractdata(x)), ref)


def test_keys_numpy_refuses_are_typed_errors():
    x = dl.dlarray(np.arange(6.0).reshape(2, 3))
    for key in [
        (0, 0, 0),
        (..., ...),
        2,
        (slice(None), 3),
        np.array([1.5]),
        "a",
        slice(None, None, 0),
        (np.array([0, 1]), np.array([0, 1, 2])),
    ]:
        with pytest.raises((dl.DlIndexError, ValueError)):
            x[key]


def test_integer_scalars_of_every_kind_index_as_integers():
    x = dl.dlarray(np.arange(24.0).reshape(2, 3, 4))
    ref = np.arange(24.0).reshape(2, 3, 4)
    for i in [1, np.int64(1), np.array(1), dl.dlarray(1.0)]:
        # An integer with an array elsewhere is advanced: the broadcast dims go first.
        np.testing.assert_array_equal(dl.extractdata(x[i, :, [0, 2]]), ref[1, :, [0, 2]])
    np.testing.assert_array_equal(dl.extractdata(x[True]), ref[True])
    np.testing.assert_array_equal(dl.extractdata(x[[]]), ref[[]])
