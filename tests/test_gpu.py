"""Arrays on the GPU: every op's value on the GPU against the CPU's, first and second
derivatives on the GPU against the CPU's, the mixed-device rule, the optimizers, the data
pipeline and the custom training loops trained on the GPU.

The tests need a GPU adapter: a real GPU, or Mesa's lavapipe with ``DLARRAY_GPU_ADAPTER=any``
(how CI runs them, in their own step). Without one they skip, unless
``DLARRAY_REQUIRE_GPU=1`` makes that a failure."""

import os

import dlarray as dl
import numpy as np
import pytest
from dlarray import _core, dlarray

f32, f64 = np.float32, np.float64

if not dl.canUseGPU():
    if os.environ.get("DLARRAY_REQUIRE_GPU") == "1":
        raise RuntimeError("DLARRAY_REQUIRE_GPU=1 but canUseGPU() is False (set DLARRAY_GPU_ADAPTER=any for a CPU adapter)")
    pytest.skip("no GPU adapter (set DLARRAY_GPU_ADAPTER=any to use lavapipe)", allow_module_level=True)

HAS_F64 = dl.gpu_info()["shader_f64"] == "true"
rng = np.random.default_rng(7)


def both(*arrays, fmt=None):
    """Each array as a CPU dlarray and as its GPU copy."""
    cpu = [dlarray(a, fmt) if fmt else dlarray(a) for a in arrays]
    return cpu, [dl.gpuArray(c) for c in cpu]


def host(x):
    return np.asarray(dl.gather(dl.extractdata(x)) if isinstance(x, dlarray) else x)


def assert_same(gpu_result, cpu_result, rtol=2e-5, atol=2e-5):
    if isinstance(cpu_result, (tuple, list)):
        for g, c in zip(gpu_result, cpu_result):
            assert_same(g, c, rtol, atol)
        return
    assert gpu_result.device == "gpu", "a result of GPU operands is on the GPU"
    assert cpu_result.device == "cpu"
    assert dl.dims(gpu_result) == dl.dims(cpu_result)
    np.testing.assert_allclose(host(gpu_result), host(cpu_result), rtol=rtol, atol=atol)


# ----- moving data ------------------------------------------------------------------------------


def test_gpuArray_and_gather_round_trip_keep_values_format_and_dtype():
    x = rng.standard_normal((3, 4, 2)).astype(f32)
    g = dl.gpuArray(dlarray(x, "SCB"))
    assert g.device == "gpu" and dl.dims(g) == "SCB" and g.dtype == f32
    back = dl.gather(g)
    assert back.device == "cpu" and dl.dims(back) == "SCB"
    np.testing.assert_array_equal(host(back), x)
    # numpy input, .to(), and extractdata/np.asarray read back.
    n = dl.gpuArray(x)
    assert n.device == "gpu" and isinstance(n, dlarray)
    np.testing.assert_array_equal(np.asarray(n), x)
    assert n.to("cpu").device == "cpu" and n.to("gpu") is not None
    assert float(dl.gpuArray(np.float32(2.5))) == 2.5
    assert dl.gather(x) is x, "gather leaves host data as it is"


def test_bad_device_arguments_are_typed_errors():
    with pytest.raises(dl.OptionError, match="device"):
        dlarray(np.ones(2, f32)).to("tpu")
    with pytest.raises(dl.DTypeError, match="GPU"):
        dl.gpuArray(np.ones(2, np.complex64))
    if not HAS_F64:
        with pytest.raises(dl.DTypeError, match="shader-f64"):
            dl.gpuArray(np.ones(2, f64))


def test_gpu_info_names_the_adapter():
    info = dl.gpu_info()
    assert info["name"] and info["backend"] in {"vulkan", "metal", "dx12", "gl"}
    assert int(info["max_buffer_size"]) > 0


# ----- every op: the GPU's value against the CPU's ---------------------------------------------

X = rng.standard_normal((2, 3, 4)).astype(f32)
Y = rng.standard_normal((2, 3, 4)).astype(f32)
ROW = rng.standard_normal((4,)).astype(f32)
POS = (np.abs(X) + 0.5).astype(f32)
UNIT = np.clip(X, -0.9, 0.9).astype(f32)

ELEMENTWISE = {
    "neg": lambda x, y: -x,
    "add_broadcast": lambda x, y: x + y[0, 0],
    "sub_scalar": lambda x, y: x - 1.5,
    "rsub_scalar": lambda x, y: 2.0 - x,
    "mul": lambda x, y: x * y,
    "div": lambda x, y: x / (abs(y) + 1),
    "abs": lambda x, y: abs(x),
    "power": lambda x, y: dl.power(abs(x) + 0.5, y),
    "maximum": lambda x, y: dl.maximum(x, y),
    "minimum": lambda x, y: dl.minimum(x, 0.25),
    "atan2": lambda x, y: dl.atan2(x, y),
    "exp": lambda x, y: dl.exp(x),
    "log": lambda x, y: dl.log(x * x + 0.1),
    "log1p": lambda x, y: dl.log1p(x * x),
    "sqrt": lambda x, y: dl.sqrt(x * x),
    "sin": lambda x, y: dl.sin(x),
    "cos": lambda x, y: dl.cos(x),
    "tan": lambda x, y: dl.tan(x * 0.5),
    "tanh": lambda x, y: dl.tanh(x),
    "sinh": lambda x, y: dl.sinh(x),
    "cosh": lambda x, y: dl.cosh(x),
    "asin": lambda x, y: dl.asin(x * 0.3),
    "acos": lambda x, y: dl.acos(x * 0.3),
    "atan": lambda x, y: dl.atan(x),
    "erf": lambda x, y: dl.erf(x),
    "sigmoid": lambda x, y: dl.sigmoid(x),
    "relu": lambda x, y: dl.relu(x),
    "leakyrelu": lambda x, y: dl.leakyrelu(x, 0.1),
    "gelu": lambda x, y: dl.gelu(x),
    "sign": lambda x, y: dl.sign(x),
    "floor": lambda x, y: dl.floor(x * 3),
    "ceil": lambda x, y: dl.ceil(x * 3),
    "where": lambda x, y: dl.where(x > y, x, y),
}


SWEEP = np.concatenate(
    [
        np.linspace(-6, 6, 2001),
        np.geomspace(1e-30, 1, 300),
        -np.geomspace(1e-30, 1, 300),
        [0.0, -0.0, 0.49999997, 0.5, -0.5, 1.5, -2.5, 2.5, 1.0, -1.0, 0.999, -0.999, np.inf, -np.inf, np.nan],
    ]
).astype(f32)


@pytest.mark.parametrize("name", ["erf", "log1p", "sinh", "cosh", "asin", "acos", "atan", "round"])
def test_unary_kernels_are_accurate_to_float32_across_the_range_in_one_dispatch(name):
    # Small arguments too, where naive formulas (eˣ − e⁻ˣ, log(1 + x), 1 − erfc) cancel, and
    # the domain's edges, infinities and NaN.
    op = getattr(_core, name)
    (cx,), (gx,) = both(SWEEP)
    op(gx)
    before = _core._gpu_stats()
    got = op(gx)
    after = _core._gpu_stats()
    assert after["dispatches"] - before["dispatches"] == 1 and after["readbacks"] == before["readbacks"]
    got, want = host(got), host(op(cx))
    finite = np.isfinite(want)
    np.testing.assert_array_equal(got[~finite], want[~finite])
    np.testing.assert_allclose(got[finite], want[finite], rtol=1e-6, atol=0)


@pytest.mark.parametrize("name", sorted(ELEMENTWISE))
def test_elementwise_on_gpu_matches_cpu(name):
    f = ELEMENTWISE[name]
    (cx, cy), (gx, gy) = both(X, Y)
    c, g = f(cx, cy), f(gx, gy)
    assert_same(g, c, rtol=1e-4, atol=1e-5)


REDUCTIONS = {
    "sum_all": lambda x: x.sum(),
    "sum_axis": lambda x: x.sum(axis=1),
    "mean_axes": lambda x: dl.mean(x, (0, 2)),
    "max_axis": lambda x: x.max(axis=2),
    "min_all": lambda x: x.min(),
    "prod_axis": lambda x: dl.prod(x, 0),
    "cumsum": lambda x: dl.cumsum(x, 1),
    "norm": lambda x: dl.norm(x),
}


def test_atan2_and_prod_and_atan2s_derivatives_run_on_the_gpu():
    (cx, cy), (gx, gy) = both(X, Y)
    for op in (lambda x, y: dl.atan2(x, y), lambda x, y: dl.prod(x, 1)):
        op(gx, gy)
        before = _core._gpu_stats()
        got = op(gx, gy)
        after = _core._gpu_stats()
        assert after["dispatches"] - before["dispatches"] == 1 and after["readbacks"] == before["readbacks"]
        assert_same(got, op(cx, cy), rtol=1e-5, atol=1e-6)

    def f(x, y):
        a = dl.atan2(x, y)
        gs = dl.dlgradient((a * a).sum(), x, y, enable_higher_derivatives=True)
        return (*gs, *dl.dlgradient((gs[0] * gs[1]).sum(), x, y))

    dl.dlfeval(f, gx, gy)
    before = _core._gpu_stats()
    got = dl.dlfeval(f, gx, gy)
    assert _core._gpu_stats()["readbacks"] == before["readbacks"], "first and second derivatives stay on the GPU"
    assert_same(got, dl.dlfeval(f, cx, cy), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", sorted(REDUCTIONS))
def test_reductions_on_gpu_match_cpu(name):
    (cx,), (gx,) = both(X)
    assert_same(REDUCTIONS[name](gx), REDUCTIONS[name](cx), rtol=1e-4, atol=1e-5)


SHAPES = {
    "reshape": lambda x: dl.reshape(x, (6, 4)),
    "permute": lambda x: dl.permute(x, (2, 0, 1)),
    "transpose": lambda x: x.T,
    "index": lambda x: x[1, ::2, 1:],
    "index_bool": lambda x: x[:, :, np.array([True, False, True, True])],
    "flip": lambda x: dl.flip(x, 2),
    "concatenate": lambda x: dl.concatenate([x, x * 2], 1),
    "stack": lambda x: dl.stack([x, x], 0),
    "repmat": lambda x: dl.repmat(x[0], (2, 1)),
    "squeeze": lambda x: dl.squeeze(x[:1]),
    "matmul": lambda x: x @ dl.permute(x, (0, 2, 1)),
    "matmul_vector": lambda x: x[0] @ dlarray(ROW),
    "pagemtimes_transposed": lambda x: dl.pagemtimes(x, x, "transpose", "none"),
}


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_shape_ops_and_products_on_gpu_match_cpu(name):
    (cx,), (gx,) = both(X)
    assert_same(SHAPES[name](gx), SHAPES[name](cx), rtol=1e-4, atol=1e-5)


IMG = rng.standard_normal((6, 6, 3, 2)).astype(f32)
W = (rng.standard_normal((3, 3, 3, 4)) * 0.3).astype(f32)
B = rng.standard_normal((4,)).astype(f32)
SEQ = rng.standard_normal((3, 2, 5)).astype(f32)


def _lstm(x):
    h = 4
    w = dlarray((rng_fixed((4 * h, 3)) * 0.3).astype(f32))
    r = dlarray((rng_fixed((4 * h, h), 1) * 0.3).astype(f32))
    b = dlarray(np.zeros(4 * h, f32))
    z = dlarray(np.zeros((h, 2), f32))
    return dl.lstm(x, z, z, w, r, b)[0]


def _gru(x):
    h = 4
    w = dlarray((rng_fixed((3 * h, 3)) * 0.3).astype(f32))
    r = dlarray((rng_fixed((3 * h, h), 1) * 0.3).astype(f32))
    b = dlarray(np.zeros(3 * h, f32))
    return dl.gru(x, dlarray(np.zeros((h, 2), f32)), w, r, b)[0]


def rng_fixed(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


DL_OPS = {
    "dlconv": (lambda x: dl.dlconv(x, dlarray(W), dlarray(B), padding="same"), IMG, "SSCB"),
    "dlconv_strided": (lambda x: dl.dlconv(x, dlarray(W), 0, stride=2), IMG, "SSCB"),
    "maxpool": (lambda x: dl.maxpool(x, 2, stride=2), IMG, "SSCB"),
    "avgpool": (lambda x: dl.avgpool(x, 3, stride=1, padding=1), IMG, "SSCB"),
    "batchnorm": (lambda x: dl.batchnorm(x, dlarray(np.zeros(3, f32)), dlarray(np.ones(3, f32))), IMG, "SSCB"),
    "layernorm": (lambda x: dl.layernorm(x, dlarray(np.zeros(3, f32)), dlarray(np.ones(3, f32))), IMG, "SSCB"),
    "groupnorm": (lambda x: dl.groupnorm(x, 3, dlarray(np.zeros(3, f32)), dlarray(np.ones(3, f32))), IMG, "SSCB"),
    "softmax": (lambda x: dl.softmax(x), SEQ, "CBT"),
    "fullyconnect": (lambda x: dl.fullyconnect(x, dlarray((rng_fixed((4, 108)) * 0.1).astype(f32)), dlarray(B)), IMG, "SSCB"),
    "lstm": (_lstm, SEQ, "CBT"),
    "gru": (_gru, SEQ, "CBT"),
    "crossentropy": (
        lambda x: dl.crossentropy(dl.softmax(x), dlarray(np.eye(3, dtype=f32)[:, [0, 2]][:, :, None].repeat(5, 2), "CBT")),
        SEQ,
        "CBT",
    ),
    "mse": (lambda x: dl.mse(x, x * 0.5 + 1), SEQ, "CBT"),
    "huber": (lambda x: dl.huber(x, x * 0.5), SEQ, "CBT"),
}


@pytest.mark.parametrize("name", sorted(DL_OPS))
def test_deep_learning_ops_on_gpu_match_cpu(name):
    f, data, fmt = DL_OPS[name]
    (cx,), (gx,) = both(data, fmt=fmt)
    assert_same(f(gx), f(cx), rtol=1e-4, atol=1e-5)


# ----- convolution and pooling ----------------------------------------------------------------


def _rand(shape, seed, scale=1.0):
    return (np.random.default_rng(seed).standard_normal(shape) * scale).astype(f32)


# name: (input, format, weights, bias, options); weights in MATLAB's layout (K..., C/G, F/G[, G]).
CONVS = {
    "1d_strided_padded": (_rand((11, 3, 2), 1), "SCB", _rand((3, 3, 4), 2, 0.3), _rand((4,), 3), dict(stride=2, padding=1)),
    "1d_dilated_over_time": (_rand((3, 2, 12), 4), "CBT", _rand((3, 3, 2), 5, 0.3), 0, dict(dilation_factor=3)),
    "2d_same": (IMG, "SSCB", W, B, dict(padding="same")),
    "2d_padding_value": (IMG, "SSCB", W, B, dict(stride=(2, 1), padding=((1, 0), (2, 1)), padding_value=0.5)),
    "2d_groups": (_rand((7, 6, 4, 2), 6), "SSCB", _rand((3, 2, 2, 3, 2), 7, 0.3), _rand((6,), 8), dict(dilation_factor=(1, 2), padding=1)),
    "2d_depthwise": (_rand((6, 5, 3, 2), 9), "SSCB", _rand((2, 2, 1, 2, 3), 10, 0.3), 0.25, dict(stride=2)),
    "3d": (
        _rand((5, 4, 6, 2, 2), 11),
        "SSSCB",
        _rand((2, 3, 2, 2, 3), 12, 0.3),
        _rand((3,), 13),
        dict(stride=(1, 1, 2), padding=1, padding_value=-1.0),
    ),
}


def _conv(name, to):
    x, fmt, w, b, opts = CONVS[name]
    b = to(dlarray(b)) if isinstance(b, np.ndarray) else b
    return to(dlarray(x, fmt)), to(dlarray(w)), b, opts


@pytest.mark.parametrize("name", sorted(CONVS))
def test_dlconv_on_gpu_runs_there_and_matches_cpu(name):
    gx, gw, gb, opts = _conv(name, dl.gpuArray)
    cx, cw, cb, _ = _conv(name, lambda a: a)
    assert_same(dl.dlconv(gx, gw, gb, **opts), dl.dlconv(cx, cw, cb, **opts), rtol=1e-4, atol=1e-5)


def _conv_grads(name, to):
    x, w, b, opts = _conv(name, to)

    def f(x, w):
        y = dl.dlconv(x, w, b, **opts)
        loss = (y * y * 0.5 + dl.sin(y)).sum()
        gx, gw = dl.dlgradient(loss, x, w, enable_higher_derivatives=True)
        second = dl.dlgradient((gx * gx).sum() + (gw * gw).sum(), x, w)
        return (loss, gx, gw) + second

    return dl.dlfeval(f, x, w)


@pytest.mark.parametrize("name", sorted(CONVS))
def test_dlconv_first_and_second_derivatives_on_gpu_match_cpu(name):
    assert_same(_conv_grads(name, dl.gpuArray), _conv_grads(name, lambda a: a), rtol=5e-4, atol=5e-4)


@pytest.mark.skipif(not HAS_F64, reason="the adapter has no shader-f64")
def test_float64_dlconv_and_its_gradients_on_gpu_match_cpu_closely():
    def run(to):
        x, w = to(dlarray(IMG.astype(f64), "SSCB")), to(dlarray(W.astype(f64)))

        def f(x, w):
            y = dl.dlconv(x, w, 0, stride=2, padding=1, padding_value=0.5)
            return (y,) + dl.dlgradient((y * y).sum(), x, w)

        return dl.dlfeval(f, x, w)

    got, want = run(dl.gpuArray), run(lambda a: a)
    assert got[0].dtype == f64
    assert_same(got, want, rtol=1e-12, atol=1e-12)


def test_dltranspconv_on_gpu_matches_cpu():
    x = _rand((4, 5, 3, 2), 14)
    w = _rand((3, 3, 2, 3), 15, 0.3)
    (cx,), (gx,) = both(x, fmt="SSCB")
    opts = dict(stride=2, cropping=1)
    assert_same(dl.dltranspconv(gx, dl.gpuArray(dlarray(w)), 0, **opts), dl.dltranspconv(cx, dlarray(w), 0, **opts), rtol=1e-4, atol=1e-5)


def test_a_convolution_and_its_gradients_on_gpu_arrays_read_nothing_back():
    gx, gw, gb, opts = _conv("2d_groups", dl.gpuArray)
    dl.dlconv(gx, gw, gb, **opts)
    dl.gather(gx + 0)  # compiles the kernels and flushes the uploads
    before = _core._gpu_stats()
    y = dl.dlconv(gx, gw, gb, **opts)
    after = _core._gpu_stats()
    assert after["dispatches"] > before["dispatches"], "it ran on the GPU"
    assert after["readbacks"] == before["readbacks"] and after["uploads"] == before["uploads"]
    assert y.device == "gpu"

    def f(x, w):
        return dl.dlgradient(dl.dlconv(x, w, gb, **opts).sum(), x, w)

    dl.dlfeval(f, gx, gw)
    before = _core._gpu_stats()
    gxg, gwg = dl.dlfeval(f, gx, gw)
    after = _core._gpu_stats()
    assert after["readbacks"] == before["readbacks"], "the gradients stay on the device"
    assert gxg.device == gwg.device == "gpu"


@pytest.mark.parametrize("activation", [dl.relu, lambda x: dl.leakyrelu(x, 0.2)], ids=["relu", "leakyrelu"])
def test_relu_gradient_and_broadcasting_run_on_the_gpu_without_readback(activation):
    x = rng.standard_normal((6, 5, 4)).astype(f32)
    # At NaN and at 0 the slope is the one below zero (0 for relu), as on the CPU.
    x[0, 0, 0], x[1, 1, 1] = np.nan, 0.0
    (cx,), (gx,) = both(x, fmt="SCB")

    def f(x):
        y = activation(x) * 2.0
        return dl.dlgradient((y * y).sum() + y.sum(), x)

    dl.dlfeval(f, gx)
    before = _core._gpu_stats()
    g = dl.dlfeval(f, gx)
    after = _core._gpu_stats()
    assert after["readbacks"] == before["readbacks"], "the activation's gradient and the sum's broadcast stay on the device"
    assert after["dispatches"] > before["dispatches"] and g.device == "gpu"
    assert_same(g, dl.dlfeval(f, cx))
    b = dl.gpuArray(dlarray(rng.standard_normal((1, 5, 1)).astype(f32)))
    before = _core._gpu_stats()
    out = b + dl.gpuArray(dlarray(np.zeros((6, 5, 4), f32)))
    assert _core._gpu_stats()["readbacks"] == before["readbacks"] and out.device == "gpu"
    np.testing.assert_array_equal(host(out), np.broadcast_to(host(b), (6, 5, 4)))


def test_host_scalars_beside_gpu_arrays_are_uploaded_once():
    x = dl.gpuArray(dlarray(rng.standard_normal((4, 3)).astype(f32)))
    y = x * 0.375 + 1.25
    before = _core._gpu_stats()
    z = x * 0.375 + 1.25  # fresh scalar tensors of the same values
    assert _core._gpu_stats()["uploads"] == before["uploads"]
    np.testing.assert_array_equal(host(z), host(y))
    np.testing.assert_allclose(host(x * 0.5), host(x) * 0.5)  # another value, its own copy


# Ties (a coarse grid) and a NaN, so the maxima chosen must be the CPU's.
POOL_IN = np.round(_rand((7, 6, 3, 2), 16) * 2).astype(f32)
POOL_IN_NAN = POOL_IN.copy()
POOL_IN_NAN[2, 3, 1, 0] = np.nan

# name: (pooling function, input, format)
POOLS = {
    "maxpool_2x2": (lambda x: dl.maxpool(x, 2, stride=2), POOL_IN, "SSCB"),
    "maxpool_overlapping_padded": (lambda x: dl.maxpool(x, 3, stride=(1, 2), padding=1), POOL_IN, "SSCB"),
    "maxpool_1d": (lambda x: dl.maxpool(x, 3, stride=2), _rand((9, 3, 2), 17), "SCB"),
    "maxpool_3d": (lambda x: dl.maxpool(x, (2, 2, 2), padding=((1, 0, 0), (0, 1, 1))), _rand((4, 3, 5, 2, 2), 18), "SSSCB"),
    "maxpool_global": (lambda x: dl.maxpool(x, "global"), POOL_IN, "SSCB"),
    "avgpool_padded": (lambda x: dl.avgpool(x, 3, stride=1, padding=1), POOL_IN, "SSCB"),
    "avgpool_mean": (lambda x: dl.avgpool(x, (3, 2), stride=(2, 1), padding=1, padding_value="mean"), POOL_IN, "SSCB"),
    "avgpool_1d": (lambda x: dl.avgpool(x, 2, stride=2), _rand((9, 3, 2), 19), "SCB"),
    "avgpool_3d": (lambda x: dl.avgpool(x, 2, padding=1), _rand((4, 3, 5, 2, 2), 20), "SSSCB"),
}


@pytest.mark.parametrize("name", sorted(POOLS))
def test_pooling_on_gpu_runs_there_and_matches_cpu(name):
    f, data, fmt = POOLS[name]
    (cx,), (gx,) = both(data, fmt=fmt)
    dl.gather(gx + 0)
    f(gx)
    before = _core._gpu_stats()
    y = f(gx)
    after = _core._gpu_stats()
    assert after["dispatches"] - before["dispatches"] == 1, "one kernel"
    assert after["readbacks"] == before["readbacks"]
    assert_same(y, f(cx), rtol=1e-5, atol=1e-6)


def test_maxpool_on_gpu_takes_the_cpus_maxima_with_nan():
    f = POOLS["maxpool_overlapping_padded"][0]
    (cx,), (gx,) = both(POOL_IN_NAN, fmt="SSCB")
    assert_same(f(gx), f(cx), rtol=0, atol=0)

    def grads(x):
        return dl.dlfeval(lambda x: dl.dlgradient((f(x) * 3).sum(), x), x)

    assert_same(grads(gx), grads(cx), rtol=0, atol=0)


def _pool_grads(f, x):
    def g(x):
        y = f(x)
        loss = (y * y * dl.sin(y)).sum()
        gx = dl.dlgradient(loss, x, enable_higher_derivatives=True)
        second = dl.dlgradient((gx * gx * x).sum(), x)
        return loss, gx, second

    return dl.dlfeval(g, x)


@pytest.mark.parametrize("name", sorted(POOLS))
def test_pooling_first_and_second_derivatives_on_gpu_match_cpu(name):
    f, data, fmt = POOLS[name]
    (cx,), (gx,) = both(data, fmt=fmt)
    assert_same(_pool_grads(f, gx), _pool_grads(f, cx), rtol=2e-4, atol=2e-4)


@pytest.mark.skipif(not HAS_F64, reason="the adapter has no shader-f64")
def test_float64_pooling_and_its_gradients_on_gpu_match_cpu_closely():
    for name in ("maxpool_overlapping_padded", "avgpool_mean"):
        f, data, fmt = POOLS[name]
        (cx,), (gx,) = both(data.astype(f64) / 3, fmt=fmt)
        got, want = _pool_grads(f, gx), _pool_grads(f, cx)
        assert got[1].dtype == f64
        assert_same(got, want, rtol=1e-12, atol=1e-12)


def test_maxpool_with_indices_on_gpu_gives_the_cpus_indices():
    (cx,), (gx,) = both(POOL_IN, fmt="SSCB")
    yg, ig, sg = dl.maxpool(gx, 3, stride=2, padding=1, return_indices=True)
    yc, ic, sc = dl.maxpool(cx, 3, stride=2, padding=1, return_indices=True)
    assert_same(yg, yc, rtol=0, atol=0)
    np.testing.assert_array_equal(ig, ic)
    assert sg == sc


SOFTMAX_CASES = {
    "CB_short": (rng.standard_normal((10, 6)) * 20, "CB"),
    "CB_long": (rng.standard_normal((300, 3)) * 20, "CB"),
    "SSCB_middle": (rng.standard_normal((4, 3, 5, 2)) * 20, "SSCB"),
    "CBT": (rng.standard_normal((3, 2, 5)) * 20, "CBT"),
}


@pytest.mark.parametrize("name", sorted(SOFTMAX_CASES))
def test_softmax_and_its_log_run_on_the_gpu_and_match_the_cpu(name):
    data, fmt = SOFTMAX_CASES[name]
    (cx,), (gx,) = both(data.astype(f32), fmt=fmt)
    dl.gather(gx + 0)  # uploads the input
    before = _core._gpu_stats()
    g = dl.softmax(gx)
    after = _core._gpu_stats()
    assert after["dispatches"] - before["dispatches"] == 1 and after["readbacks"] == before["readbacks"], "one kernel"
    c = dl.softmax(cx)
    assert_same(g, c, rtol=1e-4, atol=1e-7)
    # The log taken from the logits (what crossentropy does) runs there too.
    axis = dl.dims(g).index("C")
    gl, cl = _core._softmax_log(dl.stripdims(g), axis), _core._softmax_log(dl.stripdims(c), axis)
    assert_same(gl, cl, rtol=1e-5, atol=1e-4)


BATCHNORM_CASES = {
    "CB": ((rng.standard_normal((6, 10)) * 3 + 50), "CB"),
    "SSCB": (rng.standard_normal((4, 3, 5, 2)) * 2 - 7, "SSCB"),
    "CBT_long_channels": (rng.standard_normal((3, 20, 30)), "CBT"),
}


def _batchnorm_params(n_c, to, dtype=f32):
    off = to(dlarray(np.linspace(-1, 1, n_c).astype(dtype)))
    sc = to(dlarray(np.linspace(0.5, 2, n_c).astype(dtype)))
    return off, sc


@pytest.mark.parametrize("name", sorted(BATCHNORM_CASES))
def test_batchnorm_in_training_runs_on_the_gpu_without_readback_and_matches_the_cpu(name):
    data, fmt = BATCHNORM_CASES[name]
    (cx,), (gx,) = both(data.astype(f32), fmt=fmt)
    n_c = data.shape[fmt.index("C")]
    goff, gsc = _batchnorm_params(n_c, dl.gpuArray)
    coff, csc = _batchnorm_params(n_c, lambda a: a)
    dl.gather(gx + goff.sum() + gsc.sum())  # uploads the inputs
    dl.batchnorm(gx, goff, gsc, training=True)
    before = _core._gpu_stats()
    got = dl.batchnorm(gx, goff, gsc, training=True)
    after = _core._gpu_stats()
    assert after["readbacks"] == before["readbacks"], "the statistics stay on the GPU"
    assert after["dispatches"] - before["dispatches"] == 1, "one kernel"
    want = dl.batchnorm(cx, coff, csc, training=True)
    assert_same(got, want, rtol=1e-4, atol=1e-4)


def _batchnorm_grads(x, off, sc, w):

    def f(x, off, sc):
        y, mu, var = dl.batchnorm(x, off, sc, training=True)
        loss = (y * w).sum() + (y * y * y).sum() + (mu * mu).sum() + var.sum()
        gx, goff, gsc = dl.dlgradient(loss, x, off, sc, enable_higher_derivatives=True)
        second = dl.dlgradient((gx * gx).sum() + (gsc * gsc).sum() + (goff * gsc).sum(), x, off, sc)
        return (loss, gx, goff, gsc) + second

    return dl.dlfeval(f, x, off, sc)


@pytest.mark.parametrize("name", sorted(BATCHNORM_CASES))
def test_batchnorm_first_and_second_derivatives_on_gpu_match_cpu(name):
    data, fmt = BATCHNORM_CASES[name]
    (cx,), (gx,) = both(data.astype(f32), fmt=fmt)
    n_c = data.shape[fmt.index("C")]
    w = dlarray(np.cos(np.arange(data.size)).reshape(data.shape).astype(f32), fmt)
    got = _batchnorm_grads(gx, *_batchnorm_params(n_c, dl.gpuArray), w)
    want = _batchnorm_grads(cx, *_batchnorm_params(n_c, lambda a: a), w)
    for g, c in zip(got, want):
        scale = max(1.0, float(np.abs(host(c)).max()))
        assert_same(g, c, rtol=1e-3, atol=1e-3 * scale)


STANDARDIZING = {
    "layernorm_SSCB": (lambda x, off, sc: dl.layernorm(x, off, sc), (4, 3, 6, 2), "SSCB", 6),
    "layernorm_CBT": (lambda x, off, sc: dl.layernorm(x, off, sc), (6, 3, 5), "CBT", 6),
    "groupnorm_SSCB": (lambda x, off, sc: dl.groupnorm(x, 2, off, sc), (4, 3, 6, 2), "SSCB", 6),
    "instancenorm_SSCB": (lambda x, off, sc: dl.instancenorm(x, off, sc), (4, 3, 6, 2), "SSCB", 6),
    "instancenorm_CBT": (lambda x, off, sc: dl.instancenorm(x, off, sc), (6, 3, 5), "CBT", 6),
}


@pytest.mark.parametrize("name", sorted(STANDARDIZING))
def test_layer_group_and_instance_norm_run_on_the_gpu_without_readback_and_match_the_cpu(name):
    f, shape, fmt, n_c = STANDARDIZING[name]
    data = rng.standard_normal(shape).astype(f32) * 2 + 3
    (cx,), (gx,) = both(data, fmt=fmt)
    goff, gsc = _batchnorm_params(n_c, dl.gpuArray)
    coff, csc = _batchnorm_params(n_c, lambda a: a)
    w = rng.standard_normal(shape).astype(f32)
    gw, cw = dl.gpuArray(dlarray(w, fmt)), dlarray(w, fmt)

    def grads(x, off, sc, w):
        y = f(x, off, sc)
        loss = (y * w).sum() + (y * y * y).sum()
        gx, goff, gsc = dl.dlgradient(loss, x, off, sc, enable_higher_derivatives=True)
        second = dl.dlgradient((gx * gx).sum() + (gsc * gsc).sum(), x, off, sc)
        return (y, loss, gx, goff, gsc) + second

    dl.gather(dl.dlfeval(grads, gx, goff, gsc, gw)[1])  # compiles the kernels, uploads the constants
    before = _core._gpu_stats()
    got = dl.dlfeval(grads, gx, goff, gsc, gw)
    after = _core._gpu_stats()
    assert after["readbacks"] == before["readbacks"], "the statistics and the derivatives stay on the GPU"
    assert got[0].device == "gpu" and got[2].device == "gpu"
    want = dl.dlfeval(grads, cx, coff, csc, cw)
    for g, c in zip(got, want):
        scale = max(1.0, float(np.abs(host(c)).max()))
        assert_same(g, c, rtol=1e-3, atol=1e-3 * scale)


@pytest.mark.parametrize("axes", [[1], [0, 2], [0, 1, 2], [], [2, 0]])
def test_standardizing_over_any_axes_runs_on_the_gpu_without_readback(axes):
    # (C, B, T) over B alone keeps C and T apart: the kernel reads a permuted copy.
    data = rng.standard_normal((3, 4, 5)).astype(f32)
    (cx,), (gx,) = both(data, fmt="CBT")
    _core._standardize(gx, axes, 1e-5)
    before = _core._gpu_stats()
    got = _core._standardize(gx, axes, 1e-5)
    assert _core._gpu_stats()["readbacks"] == before["readbacks"] and got.device == "gpu"
    assert_same(got, _core._standardize(cx, axes, 1e-5), rtol=1e-4, atol=1e-4)


def _assigned(x):
    y = x * 1.0
    y[0, 1:3] = x[1, :2] * 3.0
    y[:, 0, 0] = 0.5
    return y


INDEXING = {
    "slice": lambda x: x[1:, ::2, 1:],
    "negative_step": lambda x: x[:, ::-1, 2:0:-1],
    "integers_repeated": lambda x: x[:, [2, 0, 2, 2]],
    "mask": lambda x: x[:, :, np.array([True, False, True, True])],
    "flip": lambda x: dl.flip(x, 1),
    "concatenate": lambda x: dl.concatenate([x, x[:, :1] * 2.0, dlarray(np.ones((2, 2, 4), f32))], 1),
    "stack": lambda x: dl.stack([x, -x], 0),
    "assignment": _assigned,
    "embed": lambda x: dl.embed(dlarray(np.array([[3, 1, 3, 0, 2]], f32), "CB"), dl.reshape(x, (4, 6))),
    "crosschannelnorm": lambda x: dl.crosschannelnorm(dlarray(dl.stripdims(x) * 2.0, "SCB"), 3, alpha=0.1),
    "huber": lambda x: dl.huber(dlarray(dl.stripdims(x), "SCB"), dlarray(Y, "SCB"), transition_point=0.7),
}


@pytest.mark.parametrize("name", sorted(INDEXING))
def test_indexing_joining_and_their_derivatives_run_on_the_gpu_without_readback(name):
    f = INDEXING[name]
    w = rng.standard_normal(host(f(dlarray(X))).shape).astype(f32)

    def grads(x):
        y = f(x)
        loss = (y * y * y).sum() + (y * w).sum()
        g = dl.dlgradient(loss, x, enable_higher_derivatives=True)
        return y, g, dl.dlgradient((g * g).sum(), x)

    (cx,), (gx,) = both(X)
    dl.gather(dl.dlfeval(grads, gx)[1])  # compiles the kernels, uploads the constants
    before = _core._gpu_stats()
    got = dl.dlfeval(grads, gx)
    after = _core._gpu_stats()
    assert after["readbacks"] == before["readbacks"], "the selection and its adjoint stay on the GPU"
    assert after["dispatches"] > before["dispatches"]
    assert_same(got, dl.dlfeval(grads, cx), rtol=1e-4, atol=1e-4)


def _recurrent_params(gates, bias_rows, C=3, H=4, B=2):
    r = np.random.default_rng(11)
    return [(r.standard_normal(shape) * 0.5).astype(f32) for shape in ((H, B), (H, B), (gates * H, C), (gates * H, H), (bias_rows * H,))]


RECURRENT = {
    "lstm": (4, 4, lambda x, h0, c0, w, r, b: dl.lstm(x, h0, c0, w, r, b)),
    "lstm_softsign": (4, 4, lambda x, h0, c0, w, r, b: dl.lstm(x, h0, c0, w, r, b, state_activation_function="softsign")),
    "gru": (3, 3, lambda x, h0, c0, w, r, b: dl.gru(x, h0, w, r, b)),
    "gru_recurrent_bias": (
        3,
        6,
        lambda x, h0, c0, w, r, b: dl.gru(x, h0, w, r, b, reset_gate_mode="recurrent-bias-after-multiplication"),
    ),
}


@pytest.mark.parametrize("name", sorted(RECURRENT))
def test_lstm_and_gru_and_their_derivatives_run_on_the_gpu_without_readback(name):
    gates, bias_rows, f = RECURRENT[name]
    x = rng.standard_normal((3, 2, 5)).astype(f32)

    def grads(x, h0, c0, w, r, b):
        y = f(x, h0, c0, w, r, b)
        loss = (y[0] * y[0]).sum() + (y[1] * y[1] * y[1]).sum()
        gs = dl.dlgradient(loss, x, w, r, b, enable_higher_derivatives=True)
        return (*y, *gs, *dl.dlgradient(sum((g * g).sum() for g in gs), x, r))

    cpu = [dlarray(x, "CBT")] + [dlarray(a) for a in _recurrent_params(gates, bias_rows)]
    gpu = [dl.gpuArray(a) for a in cpu]
    dl.gather(dl.dlfeval(grads, *gpu)[0])  # compiles the kernels, uploads the constants
    before = _core._gpu_stats()
    got = dl.dlfeval(grads, *gpu)
    after = _core._gpu_stats()
    assert after["readbacks"] == before["readbacks"], "the steps and their derivatives stay on the GPU"
    assert_same(got, dl.dlfeval(grads, *cpu), rtol=2e-4, atol=2e-4)


@pytest.mark.skipif(not HAS_F64, reason="the adapter has no shader-f64")
def test_float64_batchnorm_on_gpu_matches_cpu_closely():
    data, fmt = BATCHNORM_CASES["SSCB"]
    (cx,), (gx,) = both(data.astype(f64), fmt=fmt)
    got = dl.batchnorm(gx, *_batchnorm_params(5, dl.gpuArray, f64), training=True)
    want = dl.batchnorm(cx, *_batchnorm_params(5, lambda a: a, f64), training=True)
    assert got[0].dtype == f64
    assert_same(got, want, rtol=1e-10, atol=1e-10)


# ----- derivatives on the GPU -----------------------------------------------------------------

LOSSES = {
    "polynomial": lambda x: (x * x * x - 2 * x).sum(),
    "exp_tanh": lambda x: (dl.exp(dl.tanh(x)) * x).sum(),
    "sigmoid_log": lambda x: dl.log(dl.sigmoid(x) + 0.5).sum(),
    "matmul_chain": lambda x: (dl.tanh(x @ dl.permute(x, (0, 2, 1))) ** 2).sum(),
    "softmax_crossentropy": lambda x: dl.crossentropy(
        dl.softmax(dlarray(dl.stripdims(x).reshape(3, 8), "CB")), dlarray(np.eye(3, dtype=f32)[:, [0, 1, 2, 0, 1, 2, 0, 1]], "CB")
    ),
    "max_and_mean": lambda x: x.max(axis=2).sum() + dl.mean(x * x, (0, 1)).sum(),
    "where_relu": lambda x: dl.where(x > 0, x * x, -x).sum() + dl.relu(x).sum(),
    "softmax_middle_channel": lambda x: (dl.softmax(dlarray(dl.stripdims(x), "SCB")) * SOFT_W).sum(),
    "log_softmax_crossentropy_SCB": lambda x: dl.crossentropy(dl.softmax(dlarray(dl.stripdims(x) * 3, "SCB")), SOFT_T),
}


SOFT_W = rng.standard_normal((2, 3, 4)).astype(f32)
SOFT_T = dlarray(np.eye(3, dtype=f32)[:, rng.integers(0, 3, (2, 4))].transpose(1, 0, 2).copy(), "SCB")


def _grad_and_second(loss, x):
    def f(x):
        y = loss(x)
        g = dl.dlgradient(y, x, enable_higher_derivatives=True)
        second = dl.dlgradient((g * g).sum(), x)
        return y, g, second

    return dl.dlfeval(f, x)


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_first_and_second_derivatives_on_gpu_match_cpu(name):
    (cx,), (gx,) = both(X)
    c, g = _grad_and_second(LOSSES[name], cx), _grad_and_second(LOSSES[name], gx)
    assert_same(g, c, rtol=2e-4, atol=2e-4)


@pytest.mark.skipif(not HAS_F64, reason="the adapter has no shader-f64")
def test_float64_gradients_on_gpu_match_cpu_closely():
    x64 = X.astype(f64)
    (cx,), (gx,) = both(x64)
    loss = lambda x: (x * x * dl.sign(x)).sum() + (x @ dl.permute(x, (0, 2, 1))).sum()  # noqa: E731
    c, g = _grad_and_second(loss, cx), _grad_and_second(loss, gx)
    assert g[1].dtype == f64
    assert_same(g, c, rtol=1e-12, atol=1e-12)


def test_gradient_through_gpuArray_returns_to_the_host_input():
    def f(x):
        y = (dl.gpuArray(x) * 3).sum()
        return dl.dlgradient(y, x)

    g = dl.dlfeval(f, dlarray(X))
    assert g.device == "cpu"
    np.testing.assert_allclose(host(g), np.full_like(X, 3))


def test_gradient_of_an_unused_gpu_input_is_zeros_on_the_gpu():
    def f(x, y):
        return dl.dlgradient((x * 2).sum(), [x, y])

    gx, gy = dl.dlfeval(f, dl.gpuArray(X), dl.gpuArray(Y))
    assert gx.device == "gpu" and gy.device == "gpu"
    np.testing.assert_array_equal(host(gy), np.zeros_like(Y))


# ----- the mixed-device rule ----------------------------------------------------------------------


def test_an_op_with_an_operand_on_the_gpu_puts_its_result_there():
    cpu, gpu = dlarray(X), dl.gpuArray(Y)
    for r in [cpu + gpu, gpu * cpu, gpu + 1.0, 2.0 * gpu, gpu - X, dl.maximum(cpu, gpu), cpu @ dl.permute(gpu, (0, 2, 1))]:
        assert r.device == "gpu"
    np.testing.assert_allclose(host(cpu + gpu), X + Y, rtol=1e-6)
    assert (cpu + cpu).device == "cpu"


# ----- optimizers, networks, data ----------------------------------------------------------------


def test_optimizers_keep_parameters_and_state_on_the_gpu():
    p, g = dl.gpuArray(X), dl.gpuArray(Y)
    pc, gc = dlarray(X), dlarray(Y)
    a, avg, sq = dl.adamupdate(p, g, None, None, 1)
    ac, avgc, sqc = dl.adamupdate(pc, gc, None, None, 1)
    assert_same((a, avg, sq), (ac, avgc, sqc), rtol=1e-6, atol=1e-7)
    s, v = dl.sgdmupdate(p, g, None)
    assert s.device == "gpu" and v.device == "gpu"
    r, ms = dl.rmspropupdate(p, g, None)
    assert r.device == "gpu" and ms.device == "gpu"
    u = dl.dlupdate(lambda w: w * 0.5, p)
    assert u.device == "gpu"


PARAMS = {"W": rng.standard_normal((5, 7)).astype(f32), "b": rng.standard_normal((5, 1)).astype(f32)}
GRADS = [{k: rng.standard_normal(v.shape).astype(f32) for k, v in PARAMS.items()} for _ in range(3)]

OPTIMIZERS = {
    "adam": lambda p, g, s, it: dl.adamupdate(p, g, *(s or (None, None)), it, 0.01),
    "rmsprop": lambda p, g, s, it: dl.rmspropupdate(p, g, *(s or (None,)), 0.01),
    "sgdm": lambda p, g, s, it: dl.sgdmupdate(p, g, *(s or (None,)), 0.05, 0.9),
}


def _three_steps(name, to):
    """Three steps of an optimizer from `[]` states; every result of every step."""
    p, state, seen = {k: to(dlarray(v)) for k, v in PARAMS.items()}, None, []
    for it, g in enumerate(GRADS, 1):
        p, *state = OPTIMIZERS[name](p, {k: to(dlarray(v)) for k, v in g.items()}, state, it)
        seen.append([p["W"], p["b"]] + [s[k] for s in state for k in ("W", "b")])
    return seen


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_optimizer_steps_on_the_gpu_match_the_cpu(name):
    for gpu_step, cpu_step in zip(_three_steps(name, dl.gpuArray), _three_steps(name, lambda a: a)):
        assert_same(gpu_step, cpu_step, rtol=2e-6, atol=1e-7)


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_an_optimizer_step_on_gpu_arrays_is_one_dispatch_per_parameter_without_readback(name):
    p = {k: dl.gpuArray(dlarray(v)) for k, v in PARAMS.items()}
    g = {k: dl.gpuArray(dlarray(v)) for k, v in GRADS[0].items()}
    p, *state = OPTIMIZERS[name](p, g, None, 1)
    dl.gather(p["W"])  # the first step compiles its kernels; flush them out
    before = _core._gpu_stats()
    p, *state = OPTIMIZERS[name](p, g, state, 2)
    after = _core._gpu_stats()
    assert after["dispatches"] - before["dispatches"] == len(PARAMS), "one kernel per parameter"
    assert after["readbacks"] == before["readbacks"], "parameters, gradients and state stay on the device"
    assert after["uploads"] == before["uploads"]
    assert all(x.device == "gpu" for x in [p["W"], p["b"]] + [s[k] for s in state for k in ("W", "b")])


def test_optimizer_step_of_a_gpu_parameter_with_a_host_gradient_runs_on_the_gpu():
    before = _core._gpu_stats()
    a, m, v = dl.adamupdate(dl.gpuArray(X), dlarray(Y), None, None, 1)
    after = _core._gpu_stats()
    assert a.device == m.device == v.device == "gpu"
    assert after["dispatches"] - before["dispatches"] == 1 and after["readbacks"] == before["readbacks"]
    ac, mc, vc = dl.adamupdate(dlarray(X), dlarray(Y), None, None, 1)
    assert_same((a, m, v), (ac, mc, vc), rtol=2e-6, atol=1e-7)
    # A host parameter with a GPU gradient steps on the host, where the parameter is.
    h, _, _ = dl.adamupdate(dlarray(X), dl.gpuArray(Y), None, None, 1)
    assert h.device == "cpu"


@pytest.mark.skipif(not HAS_F64, reason="the adapter has no shader-f64")
@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_float64_optimizer_steps_on_the_gpu_match_the_cpu_closely(name):
    x64, y64 = X.astype(f64), Y.astype(f64)
    (cp, cg), (gp, gg) = both(x64, y64)
    c, g = OPTIMIZERS[name](cp, cg, None, 1), OPTIMIZERS[name](gp, gg, None, 1)
    assert g[0].dtype == f64
    assert_same(g, c, rtol=1e-13, atol=1e-15)


def test_dlupdate_gpuArray_moves_a_network_and_it_trains_as_on_the_cpu():
    layers = [
        dl.featureInputLayer(4),
        dl.fullyConnectedLayer(8),
        dl.reluLayer(),
        dl.fullyConnectedLayer(3),
        dl.softmaxLayer(),
    ]
    dl.rng(0)
    net_cpu = dl.dlnetwork(layers)
    net_gpu = dl.dlupdate(dl.gpuArray, net_cpu)
    assert all(v.device == "gpu" for v in net_gpu.Learnables.Value)
    xs = rng.standard_normal((4, 16)).astype(f32)
    ts = np.eye(3, dtype=f32)[:, rng.integers(0, 3, 16)]

    def loss_fn(net, x, t):
        y = dl.forward(net, x)
        loss = dl.crossentropy(y, t)
        return loss, dl.dlgradient(loss, net.Learnables)

    losses = {}
    for name, net, to in [("cpu", net_cpu, lambda a: a), ("gpu", net_gpu, dl.gpuArray)]:
        x, t = to(dlarray(xs, "CB")), to(dlarray(ts, "CB"))
        vel = None
        seen = []
        for _ in range(5):
            loss, grads = dl.dlfeval(loss_fn, net, x, t)
            net, vel = dl.sgdmupdate(net, grads, vel, 0.5)
            seen.append(float(loss))
        assert loss.device == name
        losses[name] = seen
    assert losses["gpu"][-1] < losses["gpu"][0]
    np.testing.assert_allclose(losses["gpu"], losses["cpu"], rtol=1e-4)


def test_model_function_with_adamupdate_trains_on_the_gpu():
    w_true = rng.standard_normal((1, 3)).astype(f32)
    x = rng.standard_normal((3, 64)).astype(f32)
    y = w_true @ x + 0.5
    results = {}
    for name, to in [("cpu", lambda a: a), ("gpu", dl.gpuArray)]:
        params = {"W": to(dlarray(np.zeros((1, 3), f32))), "b": to(dlarray(np.zeros((1, 1), f32)))}
        X_, Y_ = to(dlarray(x)), to(dlarray(y))

        def model_loss(p, X_, Y_):
            pred = p["W"] @ X_ + p["b"]
            loss = ((pred - Y_) ** 2).mean()
            return loss, dl.dlgradient(loss, p)

        avg = sq = None
        for it in range(1, 101):
            loss, grads = dl.dlfeval(model_loss, params, X_, Y_)
            params, avg, sq = dl.adamupdate(params, grads, avg, sq, it, 0.05)
        assert params["W"].device == name
        results[name] = (float(loss), host(params["W"]))
    assert results["gpu"][0] < 0.05
    np.testing.assert_allclose(results["gpu"][1], results["cpu"][1], rtol=1e-3, atol=1e-4)


def test_minibatchqueue_delivers_gpu_batches():
    ds = dl.arrayDatastore(rng.standard_normal((10, 4)).astype(f32), iteration_dimension=1)
    mbq = dl.minibatchqueue(ds, mini_batch_size=4, mini_batch_format="CB", output_environment="gpu")
    batch = mbq.next()
    assert batch.device == "gpu" and dl.dims(batch) == "CB"
    auto = dl.minibatchqueue(ds, mini_batch_size=4, mini_batch_format="CB", output_environment="auto")
    assert auto.next().device == "gpu", "auto is the GPU where canUseGPU()"


def test_an_accelerated_function_traces_again_for_inputs_on_the_other_device():
    def loss(x):
        return dl.dlgradient((dl.tanh(x) * x).sum(), x)

    acc = dl.dlaccelerate(loss)
    (x,), (xg,) = both(rng.standard_normal((3, 5)).astype(f32), fmt="CB")
    cpu = dl.dlfeval(acc, x)
    gpu = dl.dlfeval(acc, xg)
    assert acc.occupancy == 2 * 100 / acc.cache_size and acc.hit_rate == 0, "the device is part of the signature"
    assert gpu.device == "gpu" and cpu.device == "cpu"
    assert_same(gpu, cpu)
    again = dl.dlfeval(acc, xg)
    assert acc.hit_rate == 100 / 3 and again.device == "gpu"
    assert_same(again, cpu)
