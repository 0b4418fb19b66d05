"""Inputs that used to reach a Rust panic or abort the process: empty operands, sizes that
overflow or cannot be allocated, too many dims, byte-swapped data. Each gives numpy's result
or one of dlarray's typed errors (the abort cases run in a subprocess, so a regression fails
the test instead of killing the run)."""

import subprocess
import sys
import textwrap

import dlarray as dl
import numpy as np
import pytest
from dlarray import dlarray
from dlarray.errors import DlIndexError, FormatError, InternalError, OutOfMemoryError, ShapeError

f32 = np.float32


def Z(*shape):
    return np.zeros(shape, f32)


def test_error_classes_are_catchable_as_exceptions():
    assert issubclass(InternalError, RuntimeError)
    assert issubclass(OutOfMemoryError, MemoryError)
    assert dl.InternalError is InternalError and dl.OutOfMemoryError is OutOfMemoryError


@pytest.mark.parametrize("shape_a, shape_b", [((0,), ()), ((0, 3), (1, 3)), ((2, 0, 4), (2, 1, 4)), ((0,), (0,))])
def test_elementwise_on_empty_operands_is_empty_like_numpy(shape_a, shape_b):
    a, b = np.ones(shape_a, f32), np.ones(shape_b, f32)
    for op in (lambda x, y: x * y, lambda x, y: x + y, lambda x, y: x > y):
        got = np.asarray(op(dlarray(a), b))
        assert got.shape == op(a, b).shape
    assert np.asarray(dl.where(np.zeros(shape_a, bool), dlarray(a), b)).shape == np.where(np.zeros(shape_a, bool), a, b).shape


def test_reductions_of_empty_arrays_follow_numpy():
    e = dlarray(Z(0, 3))
    assert float(dl.sum(e)) == 0.0
    assert float(dl.prod(e)) == 1.0
    np.testing.assert_array_equal(np.asarray(dl.sum(e, 0)), np.zeros(3, f32))
    with pytest.raises(ShapeError):
        dl.max(e)


def test_gradient_through_empty_inputs_is_empty():
    def f(x):
        y = dl.sum(x * x)
        return dl.dlgradient(y, x)

    g = dl.dlfeval(f, dlarray(Z(0, 3)))
    assert g.shape == (0, 3)


def test_squeeze_axis_out_of_range_of_a_scalar():
    with pytest.raises(DlIndexError, match="squeeze"):
        dl.squeeze(dlarray(f32(1)), 0)


def test_more_than_32_dims_is_refused_at_construction():
    with pytest.raises(ShapeError, match="at most 32 dims"):
        dlarray(np.zeros((1,) * 33, f32))
    with pytest.raises((ShapeError, FormatError), match="at most 32 dims"):
        dlarray(np.zeros((1,) * 33, f32), "S" * 33)
    with pytest.raises(FormatError, match="at most 32 dims"):
        dlarray(np.zeros((1,) * 3, f32), "S" * 33)
    with pytest.raises(ShapeError):
        dlarray(Z(1)).reshape((1,) * 33)


def test_reshape_to_an_overflowing_shape_is_refused_like_numpy():
    with pytest.raises(ValueError):
        np.zeros(0).reshape(2**40, 2**40, 0)
    with pytest.raises(ShapeError):
        dl.reshape(dlarray(Z(0)), (2**40, 2**40, 0))


@pytest.mark.parametrize(
    "call",
    [
        "dl.repmat(dlarray(Z(2, 2)), 2**40)",
        "dl.repmat(dlarray(Z(2, 2)), 2**31, 2**31)",
        "dlarray(Z(2**20, 1)) * dlarray(Z(1, 2**20))",
        "dl.dlconv(dlarray(Z(8, 8, 3, 2), 'SSCB'), dlarray(Z(3, 3, 3, 4)), 0, padding=10**6)",
        "dl.dlconv(dlarray(Z(8, 8, 3, 2), 'SSCB'), dlarray(Z(3, 3, 3, 4)), 0, stride=100, padding=2**40)",
        "dl.dlconv(dlarray(Z(8, 8, 3, 2), 'SSCB'), dlarray(Z(3, 3, 3, 4)), 0, padding=2**62)",
        "dl.dltranspconv(dlarray(Z(8, 8, 3, 2), 'SSCB'), dlarray(Z(3, 3, 4, 3)), 0, stride=10**6)",
        "dl.avgpool(dlarray(Z(8, 8, 3, 2), 'SSCB'), 2, padding=10**6)",
        "dlarray(Z(2**20, 1, 1, 1)) @ dlarray(Z(1, 2**20, 1, 1))",
    ],
)
def test_results_too_large_are_typed_errors_not_aborts(call):
    code = f"""
        import numpy as np, dlarray as dl
        from dlarray import dlarray
        Z = lambda *s: np.zeros(s, np.float32)
        try:
            {call}
        except (dl.ShapeError, dl.OutOfMemoryError, dl.OptionError) as e:
            print(type(e).__name__, str(e).split(":")[0])
    """
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    kind, op = out.stdout.split()
    assert kind in ("ShapeError", "OutOfMemoryError", "OptionError")
    assert op in ("dlconv", "dltranspconv", "avgpool", "repmat", "multiply", "matmul"), out.stdout


def test_convolution_with_degenerate_sizes():
    w = np.arange(3 * 3 * 0 * 2 * 3, dtype=f32).reshape(3, 3, 0, 2, 3)
    y = dl.dlconv(dlarray(Z(8, 8, 0, 2), "SSCB"), w, np.arange(6, dtype=f32), padding="same")
    # No input channels: every output is its filter's bias.
    np.testing.assert_array_equal(np.asarray(y)[2, 3, :, 1], np.arange(6, dtype=f32))
    assert dl.dlconv(dlarray(Z(8, 8, 3, 0), "SSCB"), dlarray(Z(3, 3, 3, 4)), 0).shape == (6, 6, 4, 0)
    # An empty input read only through padding: bias + padding value × the weights' sum.
    wt = np.ones((2, 2, 1, 1), f32)
    y = dl.dlconv(dlarray(Z(0, 0, 1, 1), "SSCB"), wt, 0.5, padding=1, padding_value=2.0)
    np.testing.assert_allclose(np.asarray(y).ravel(), [0.5 + 2.0 * 4])


def test_convolution_gradients_with_no_batch():
    X, W, b = dlarray(Z(6, 6, 2, 0), "SSCB"), dlarray(np.ones((3, 3, 2, 4), f32)), dlarray(np.ones(4, f32))

    def f(X, W, b):
        return dl.dlgradient(dl.sum(dl.dlconv(X, W, b)), X, W, b)

    gx, gw, gb = dl.dlfeval(f, X, W, b)
    assert gx.shape == (6, 6, 2, 0)
    np.testing.assert_array_equal(np.asarray(gw), 0)
    np.testing.assert_array_equal(np.asarray(gb), 0)


def test_maxpool_of_an_empty_spatial_input_with_padding_is_a_shape_error():
    with pytest.raises(ShapeError, match="maxpool"):
        dl.maxpool(dlarray(Z(0, 8, 3, 2), "SSCB"), 2, padding=1)
    assert dl.maxpool(dlarray(Z(8, 8, 3, 0), "SSCB"), 2).shape == (7, 7, 3, 0)


def test_recurrent_ops_with_no_batch_return_empty_results():
    y, h, c = dl.lstm(dlarray(Z(4, 0, 5), "CBT"), Z(6, 0), Z(6, 0), Z(24, 4), Z(24, 6), Z(24))
    assert (y.shape, h.shape, c.shape) == ((6, 0, 5), (6, 0), (6, 0))
    y, h = dl.gru(dlarray(Z(4, 0, 5), "CBT"), Z(6, 0), Z(18, 4), Z(18, 6), Z(18))
    assert (y.shape, h.shape) == ((6, 0, 5), (6, 0))
    with pytest.raises(ShapeError, match="at least one time step"):
        dl.lstm(dlarray(Z(4, 2, 0), "CBT"), Z(6, 2), Z(6, 2), Z(24, 4), Z(24, 6), Z(24))


def test_network_forward_on_an_empty_batch():
    net = dl.dlnetwork([dl.featureInputLayer(4), dl.fullyConnectedLayer(3), dl.reluLayer(), dl.softmaxLayer()])
    assert net.forward(dlarray(Z(4, 0), "CB")).shape == (3, 0)
    assert net.predict(dlarray(Z(4, 0), "CB")).shape == (3, 0)


def test_byte_swapped_input_keeps_its_values():
    big = np.arange(4, dtype=">f8")
    x = dlarray(big)
    assert x.dtype == np.float64
    np.testing.assert_array_equal(np.asarray(x), [0, 1, 2, 3])
    np.testing.assert_array_equal(np.asarray(dlarray(np.arange(4.0)) == big), [True] * 4)
    np.testing.assert_array_equal(np.asarray(dlarray(np.arange(3, dtype="<f4").astype(">f4")) + 1), [1, 2, 3])


def test_concatenate_axis_none_flattens_like_numpy():
    a, b = np.ones((2, 2), f32), np.arange(3, dtype=f32)
    np.testing.assert_array_equal(np.asarray(dl.concatenate([dlarray(a), dlarray(b)], axis=None)), np.concatenate([a, b], axis=None))
    np.testing.assert_array_equal(np.asarray(dl.concatenate([dlarray(a), dlarray(a)])), np.concatenate([a, a]))


def test_non_numeric_data_is_a_dtype_error():
    with pytest.raises(dl.DTypeError, match="dlarray"):
        dlarray(np.array(["a", "b"]))


def test_ragged_data_is_a_shape_error_naming_the_op_and_argument():
    with pytest.raises(ShapeError, match="dlarray: argument 'x' cannot become an array"):
        dlarray([[1], [1, 2]])
    x = dlarray(np.zeros(3, f32))
    with pytest.raises(ShapeError, match="index assignment: argument 'value'"):
        x[0] = [[1], [1, 2]]
    with pytest.raises(dl.DTypeError, match="where: argument 'cond'"):
        dl.where("x", 1.0, 2.0)


def test_reducing_away_an_empty_axis_checks_the_result_size():
    with pytest.raises(OutOfMemoryError, match="sum"):
        dlarray(np.zeros((2**20, 2**20, 0), f32)).sum(2)
    assert dl.sum(dlarray(Z(3, 0)), 1).shape == (3,)


# ----- options read by the op that takes them --------------------------------------------------


def test_options_of_the_wrong_type_are_typed_errors_naming_op_and_argument():
    x = dlarray(np.ones((2, 3), f32), "CB")
    cases = [
        (lambda: x.sum(None, "yes"), dl.OptionError, "sum: keepdims"),
        (lambda: dl.mean(x, 0, None), dl.OptionError, "mean: keepdims"),
        (lambda: x.cumsum(0, 1), dl.OptionError, "cumsum: reverse"),
        (lambda: x.max(1.5), dl.OptionError, "max: axis"),
        (lambda: x.reshape((2**63,)), dl.OptionError, "reshape: shape"),
        (lambda: x.reshape(6, order=1), dl.OptionError, "reshape: order"),
        (lambda: x.transpose(("a",)), dl.OptionError, "transpose: axes"),
        (lambda: dl.repmat(x, -1), dl.OptionError, "repmat"),
        (lambda: dl.stack([x], axis="C"), dl.OptionError, "stack: axis"),
        (lambda: dl.pagemtimes(x, x.T, 1j), dl.OptionError, "pagemtimes: transp_a"),
        (lambda: dlarray(np.ones(2), 5), FormatError, "dlarray: fmt"),
        (lambda: dl.stripdims(x, b"CB"), FormatError, "stripdims: fmt"),
        (lambda: dl.finddim(x, 3), FormatError, "finddim: label"),
        (lambda: x.astype("no such type"), dl.DTypeError, "astype"),
    ]
    for call, cls, start in cases:
        with pytest.raises(cls) as info:
            call()
        assert str(info.value).startswith(start), str(info.value)


def test_options_accept_numpy_scalars_and_arrays_as_numpy_does():
    x = dlarray(np.arange(6, dtype=f32).reshape(2, 3))
    a = np.arange(6, dtype=f32).reshape(2, 3)
    np.testing.assert_array_equal(np.asarray(x.sum(np.int64(1), np.bool_(True))), a.sum(1, keepdims=True))
    np.testing.assert_array_equal(np.asarray(x.sum(np.array([0, 1]))), a.sum((0, 1)))
    assert x.reshape(np.int32(3), 2).shape == (3, 2)
    assert x.reshape([3, np.int8(-1)]).shape == (3, 2)
    assert dl.repmat(x, (np.int64(2), 1)).shape == (4, 3)
    assert dl.stack([x, x], axis=np.int16(1)).shape == (2, 2, 3)


def test_ops_built_on_others_name_themselves():
    with pytest.raises(ShapeError, match="^maximum:"):
        dl.maximum(dlarray(np.ones(2, f32)), dlarray(np.ones(3, f32)))
    with pytest.raises(ShapeError, match="^pagemtimes:"):
        dl.pagemtimes(dlarray(np.ones((3, 2), f32)), dlarray(np.ones((1, 3), f32)))


def test_empty_results_numpy_cannot_hold_are_shape_errors():
    # numpy refuses a shape whose nonzero dims times the item size pass 2**63 bytes, even
    # when a zero dim makes the array empty; exporting such a result would crash numpy.
    a = dlarray(np.zeros((2**31, 1, 0), f32))
    with pytest.raises(ShapeError, match="mul"):
        a * dlarray(np.zeros((1, 2**31, 0), f32))
    with pytest.raises(ShapeError, match="dlconv"):
        dl.dlconv(dlarray(Z(1, 1, 1, 1, 0), "SSSCB"), np.ones((1, 1, 1, 1, 1), f32), 0, padding=10**6)


def test_joining_empty_arrays_with_huge_outer_dims_returns_at_once():
    e = dlarray(np.zeros((2**20, 2**20, 0), f32))
    assert dl.concatenate([e, e], axis=2).shape == (2**20, 2**20, 0)
    assert dl.stack([e], axis=2).shape == (2**20, 2**20, 1, 0)


def test_gpuArray_without_a_gpu_is_a_device_error():
    if dl.canUseGPU():
        pytest.skip("a GPU is available")
    with pytest.raises(dl.DeviceError, match="gpuArray"):
        dl.gpuArray(dlarray(np.ones(2, f32)))
    assert issubclass(dl.DeviceError, RuntimeError)
