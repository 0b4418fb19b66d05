"""Property tests against numpy: broadcasting of binary ops (values and the shapes of the
gradients that flow back), reshape in both orders, indexing and permutation."""

import dlarray as dl
import numpy as np
import pytest
from dlarray import dlarray, dlfeval, dlgradient, extractdata
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

SETTINGS = settings(max_examples=50, deadline=None)

finite = st.floats(-10, 10, allow_nan=False, allow_infinity=False, width=64)


def arrays(shape, dtype=np.float64):
    return hnp.arrays(dtype, shape, elements=st.floats(-10, 10, allow_nan=False, width=32))


BINARY = {
    "add": (lambda a, b: a + b, np.add),
    "sub": (lambda a, b: a - b, np.subtract),
    "mul": (lambda a, b: a * b, np.multiply),
    "maximum": (dl.maximum, np.maximum),
    "minimum": (dl.minimum, np.minimum),
}


@SETTINGS
@given(
    shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=4, max_side=3),
    name=st.sampled_from(sorted(BINARY)),
    dtype=st.sampled_from([np.float32, np.float64]),
    data=st.data(),
)
def test_broadcasting_binary_ops(shapes, name, dtype, data):
    sa, sb = shapes.input_shapes
    a = data.draw(arrays(sa, dtype))
    b = data.draw(arrays(sb, dtype))
    f, ref = BINARY[name]
    y = f(dlarray(a), dlarray(b))
    expected = ref(a, b)
    assert y.shape == expected.shape == shapes.result_shape
    assert y.dtype == dtype
    np.testing.assert_allclose(extractdata(y), expected, rtol=1e-6)
    # Gradients are summed back to each operand's own shape.
    w = np.arange(1, expected.size + 1, dtype=np.float64).reshape(expected.shape)
    ga, gb = dlfeval(lambda x, z: dlgradient((f(x, z) * w).sum(), x, z), dlarray(a.astype(np.float64)), dlarray(b.astype(np.float64)))
    assert ga.shape == sa and gb.shape == sb
    if name in ("add", "sub", "mul"):
        da = {"add": np.ones_like(expected), "sub": np.ones_like(expected), "mul": np.broadcast_to(b, expected.shape)}[name]
        db = {"add": np.ones_like(expected), "sub": -np.ones_like(expected), "mul": np.broadcast_to(a, expected.shape)}[name]
        np.testing.assert_allclose(extractdata(ga), _sum_to(w * da, sa), rtol=1e-6, atol=1e-9)
        np.testing.assert_allclose(extractdata(gb), _sum_to(w * db, sb), rtol=1e-6, atol=1e-9)


def _sum_to(g, shape):
    g = np.asarray(g, dtype=np.float64)
    lead = g.ndim - len(shape)
    g = g.sum(axis=tuple(range(lead))) if lead else g
    axes = tuple(i for i, d in enumerate(shape) if d == 1 and g.shape[i] != 1)
    return g.sum(axis=axes, keepdims=True).reshape(shape) if axes else g.reshape(shape)


@SETTINGS
@given(
    shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=1, max_dims=3, max_side=3),
)
def test_incompatible_shapes_raise_like_numpy(shapes):
    sa, sb = shapes.input_shapes
    bad = tuple(d + 2 if i == 0 else d for i, d in enumerate(sb))
    try:
        np.broadcast_shapes(sa, bad)
        compatible = True
    except ValueError:
        compatible = False
    a, b = np.ones(sa), np.ones(bad)
    if compatible:
        assert (dlarray(a) + dlarray(b)).shape == np.broadcast_shapes(sa, bad)
    else:
        with pytest.raises(dl.ShapeError):
            dlarray(a) + dlarray(b)


@st.composite
def reshapes(draw):
    shape = draw(hnp.array_shapes(min_dims=0, max_dims=4, min_side=1, max_side=4))
    n = int(np.prod(shape))
    # A random factorisation of n into a new shape.
    factors = []
    rest = n
    for _ in range(draw(st.integers(0, 3))):
        divisors = [d for d in range(1, rest + 1) if rest % d == 0]
        d = draw(st.sampled_from(divisors))
        factors.append(d)
        rest //= d
    factors.append(rest)
    new = tuple(draw(st.permutations(factors)))
    if draw(st.booleans()) and new:
        i = draw(st.integers(0, len(new) - 1))
        new = new[:i] + (-1,) + new[i + 1 :]
    return shape, new


@SETTINGS
@given(spec=reshapes(), order=st.sampled_from(["C", "F"]))
def test_reshape_orders(spec, order):
    shape, new = spec
    x = np.arange(int(np.prod(shape)), dtype=np.float64).reshape(shape)
    y = dlarray(x).reshape(new, order=order)
    expected = np.reshape(x, new, order=order)
    assert y.shape == expected.shape
    np.testing.assert_array_equal(extractdata(y), expected)
    # The adjoint of a reshape is the inverse reshape (same order).
    w = np.arange(expected.size, dtype=np.float64).reshape(expected.shape) + 1
    g = dlfeval(lambda a: dlgradient((a.reshape(new, order=order) * w).sum(), a), dlarray(x))
    np.testing.assert_array_equal(extractdata(g), np.reshape(w, shape, order=order))


@SETTINGS
@given(shape=hnp.array_shapes(min_dims=1, max_dims=5, max_side=3), data=st.data())
def test_permutation(shape, data):
    perm = data.draw(st.permutations(range(len(shape))))
    x = np.arange(int(np.prod(shape)), dtype=np.float64).reshape(shape)
    y = dl.permute(dlarray(x), perm)
    np.testing.assert_array_equal(extractdata(y), np.transpose(x, perm))
    w = np.arange(y.size, dtype=np.float64).reshape(y.shape)
    g = dlfeval(lambda a: dlgradient((dl.permute(a, perm) * w).sum(), a), dlarray(x))
    np.testing.assert_array_equal(extractdata(g), np.transpose(w, np.argsort(perm)))


@st.composite
def index_keys(draw):
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4))
    kind = draw(st.sampled_from(["basic", "int_array", "mask", "mixed"]))
    if kind == "basic":
        key = draw(hnp.basic_indices(shape, allow_newaxis=True, allow_ellipsis=True))
    elif kind == "int_array":
        key = draw(hnp.integer_array_indices(shape, result_shape=hnp.array_shapes(min_dims=0, max_dims=2, max_side=3)))
    elif kind == "mask":
        key = draw(hnp.arrays(bool, shape))
    else:
        idx = draw(hnp.arrays(np.intp, draw(st.integers(1, 4)), elements=st.integers(-shape[0], shape[0] - 1)))
        key = (idx,) + tuple(draw(st.sampled_from([slice(None), slice(None, None, -1), slice(1, None)])) for _ in shape[1:])
    return shape, key


@SETTINGS
@given(spec=index_keys())
def test_indexing(spec):
    shape, key = spec
    x = np.arange(int(np.prod(shape)), dtype=np.float64).reshape(shape) * 0.5 - 1
    expected = x[key]
    y = dlarray(x)[key]
    assert y.shape == np.shape(expected)
    np.testing.assert_array_equal(extractdata(y), expected)
    # The gradient of a selection scatters (and accumulates) back into place.
    w = np.arange(1, y.size + 1, dtype=np.float64).reshape(y.shape)
    g = dlfeval(lambda a: dlgradient((a[key] * w).sum(), a), dlarray(x))
    expected_g = np.zeros_like(x)
    np.add.at(expected_g, key, w)
    np.testing.assert_array_equal(extractdata(g), expected_g)


@SETTINGS
@given(spec=index_keys(), value=finite)
def test_indexed_assignment(spec, value):
    shape, key = spec
    x = np.arange(int(np.prod(shape)), dtype=np.float64).reshape(shape)
    X = dlarray(x)
    before = extractdata(X)
    X[key] = value
    ref = x.copy()
    ref[key] = value
    np.testing.assert_array_equal(extractdata(X), ref)
    np.testing.assert_array_equal(before, x)
