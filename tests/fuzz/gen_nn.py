"""Malformed calls of the functional deep-learning ops (``dlarray.nn``): inputs with zero or
mismatched sizes, missing or doubled dims, unformatted data with odd ``data_format=``,
parameters of the wrong shape, and options that are huge, negative, fractional or of the
wrong type."""

from __future__ import annotations

import math

from hypothesis import strategies as st

from .harness import Case
from .values import dl, layout_input, nd, option, param, side, sized, weighted

_STRIDE = ["1", "2", "[1, 2]", "(2, 1)", "3", "np.int64(2)", "[2, 2, 2]"]
_PADDING = [
    "0",
    "1",
    "'same'",
    "[1, 0]",
    "[[1, 0], [0, 1]]",
    "[0, 1, 1, 0]",
    "2",
    "'SAME'",
    "10**6",
    "2**40",
    "[[-1, 0], [0, 0]]",
    "[[1, 2, 3], [4, 5, 6]]",
    "'valid'",
    "'causal'",
    "[2**62, 0]",
]
_HUGE = ["2**40", "10**6", "2**62", "2**63", "10**9"]
NAN = "float('nan')"


def _channel_param(n: int, p_bad: float = 0.2) -> st.SearchStrategy[str]:
    return st.one_of(param((n,), p_bad), param((n, 1), p_bad), st.sampled_from(["0", "1.0", "None"]))


# ----- fullyconnect ---------------------------------------------------------------------------


@st.composite
def fullyconnect_case(draw) -> Case:
    x = draw(layout_input(["CB", "SSCB", "SCB", "CBT", "SCBT", "C", "SSCBU", "BT", "B", "CU", "CBU"]))
    n_in = math.prod(x.size(c) for c in x.labels if c in "SCU")
    out = draw(st.sampled_from([1, 2, 3, 0]))
    w = draw(st.one_of(param((out, n_in)), param((out,) + tuple(x.size(c) for c in x.labels if c in "SCU"))))
    b = draw(st.one_of(st.just("None"), param((out,)), param((out, 1)), st.sampled_from(["0", "1.5"])))
    return Case(f"out = fullyconnect({x.src}, {w}, {b}{x.call_kw()})", ["fullyconnect"], "nn")


# ----- convolution ----------------------------------------------------------------------------

_CONV_LAYOUTS = ["SCB", "SSCB", "SSSCB", "CBT", "SSC", "SSCBT", "SSSSCB", "SSB", "SC", "SCBU", "CT"]


@st.composite
def _conv_parts(draw, transposed: bool):
    x = draw(layout_input(_CONV_LAYOUTS, sizes=st.sampled_from([1, 2, 3, 4, 0, 5])))
    d = max(x.labels.count("S"), 1 if "T" in x.labels else 0) or 1
    c = x.size("C")
    g = draw(st.sampled_from([1, 1, 1, 2, 3]))
    cg = draw(sized(c // g if g and c % g == 0 else c, 0.15))
    fg = draw(st.sampled_from([1, 2, 3, 0]))
    ks = tuple(draw(st.sampled_from([1, 2, 3, 1, 0, 5])) for _ in range(d))
    wshape = ks + ((fg, cg) if transposed else (cg, fg)) + ((g,) if g > 1 or draw(st.booleans()) else ())
    w = draw(param(wshape, 0.15))
    stride = draw(option(_STRIDE, _HUGE + ["0", "-1", "1.5", "'2'"]))
    dil = draw(option(["1", "2", "[1, 2]"], _HUGE + ["0", "-1"]))
    bias = draw(st.one_of(st.just("0"), param((g * fg,)), param((g * fg, 1)), st.sampled_from(["1.5", "None", "R((7,))"])))
    return x, w, stride, dil, bias


@st.composite
def dlconv_case(draw) -> Case:
    x, w, stride, dil, bias = draw(_conv_parts(False))
    pad = draw(option(_PADDING, _HUGE))
    pv = draw(option(["0", "0.5", "-1.0"], ["float('nan')", "'replicate'", "'symmetric-exclude-edge'"], 0.15))
    return Case(
        f"out = dlconv({x.src}, {w}, {bias}, stride={stride}, dilation_factor={dil}, padding={pad}, padding_value={pv}{x.call_kw()})",
        ["dlconv"],
        "nn",
    )


@st.composite
def dltranspconv_case(draw) -> Case:
    x, w, stride, dil, bias = draw(_conv_parts(True))
    crop = draw(option(_PADDING, _HUGE))
    return Case(
        f"out = dltranspconv({x.src}, {w}, {bias}, stride={stride}, dilation_factor={dil}, cropping={crop}{x.call_kw()})",
        ["dltranspconv"],
        "nn",
    )


# ----- pooling --------------------------------------------------------------------------------

_POOL_LAYOUTS = ["SCB", "SSCB", "SSSCB", "CBT", "SSC", "SS", "SSCBT", "CB", "SSSSCB"]


@st.composite
def pool_case(draw) -> Case:
    x = draw(layout_input(_POOL_LAYOUTS, sizes=st.sampled_from([1, 2, 3, 4, 0, 5])))
    size = draw(option(["2", "1", "3", "[2, 1]", "'global'", "(1, 2, 1)"], _HUGE + ["0", "-1", "'GLOBAL'", "'local'"]))
    stride = draw(option(_STRIDE, _HUGE))
    pad = draw(option(_PADDING, _HUGE))
    if draw(st.booleans()):
        ri = draw(weighted(["False", "True"], ["'yes'", "None", "2"], 0.1))
        return Case(f"out = maxpool({x.src}, {size}, stride={stride}, padding={pad}, return_indices={ri}{x.call_kw()})", ["maxpool"], "nn")
    pv = draw(option(["0", "'mean'"], ["'MEAN'", "1", "float('nan')", "'max'"], 0.3))
    return Case(f"out = avgpool({x.src}, {size}, stride={stride}, padding={pad}, padding_value={pv}{x.call_kw()})", ["avgpool"], "nn")


@st.composite
def maxunpool_case(draw) -> Case:
    x = draw(layout_input(["SSCB", "SCB", "SSSCB", "SSC"], sizes=st.sampled_from([2, 4, 3, 1, 0])))
    size = draw(st.sampled_from(["2", "1", "[2, 1]", "3"]))
    idx = draw(
        weighted(
            ["idx"],
            [
                "idx + 10**6",
                "-idx - 1",
                "idx[..., :0]",
                "idx.astype(float) + 0.5",
                "None",
                "'x'",
                "np.zeros((2**20,), np.int64)",
                "idx.reshape(-1)",
            ],
            0.4,
        )
    )
    sz = draw(
        weighted(
            ["size"],
            [
                "size[:-1]",
                "(2**40,) * len(size)",
                "tuple(-s for s in size)",
                "None",
                "(0,) * len(size)",
                "tuple(s + 1 for s in size)",
                "'a'",
                "size + (1,)",
                "[2**63] * len(size)",
            ],
            0.4,
        )
    )
    y = draw(weighted(["Y"], ["Y * 2", "Y[..., :0]", "dlarray(np.ones((2**10,), np.float32))", "stripdims(Y)"], 0.2))
    return Case(
        f"Y, idx, size = maxpool({x.src}, {size}, stride={size}, return_indices=True{x.call_kw()})\n"
        f"out = maxunpool({y}, {idx}, {sz}{x.call_kw()})",
        ["maxunpool", "maxpool"],
        "nn",
    )


# ----- normalisation --------------------------------------------------------------------------

_NORM_LAYOUTS = ["SSCB", "CB", "SCB", "CBT", "SSCBT", "SSSCB", "C", "SSC", "BT", "CBU", "SCBU"]
_EPS = ["1e-5", "1e-3", "0.1"]
_ODD_EPS = ["0", "-1e-5", "float('nan')", "float('inf')", "'1e-5'", "None", "1e-300", "[1e-5]", "True"]


@st.composite
def batchnorm_case(draw) -> Case:
    x = draw(layout_input(_NORM_LAYOUTS))
    c = x.size("C")
    args = [x.src, draw(_channel_param(c)), draw(_channel_param(c))]
    stats = draw(st.integers(0, 3))
    if stats:
        args += [draw(_channel_param(c)), draw(_channel_param(c))] if stats > 1 else [draw(_channel_param(c)), "None"]
    yes = "'yes'"
    kw = [
        f"training={draw(weighted(['False', 'True'], ['1', 'None', yes]))}",
        f"epsilon={draw(weighted(_EPS, _ODD_EPS))}",
        f"mean_decay={draw(weighted(['0.1', '0', '1'], ['-0.1', '1.5', NAN, 'None', 'True']))}",
        f"variance_decay={draw(weighted(['0.1'], ['2', 'np.float32(0.5)', '[0.1]']))}",
    ]
    if x.kw:
        kw.append(x.kw)
    return Case(f"out = batchnorm({', '.join(args + kw)})", ["batchnorm"], "nn")


@st.composite
def layernorm_case(draw) -> Case:
    x = draw(layout_input(_NORM_LAYOUTS))
    c = x.size("C")
    od = draw(option(["'auto'", "'channel-only'", "'spatial-channel'", "'batch-excluded'", "'AUTO'"], ["'batch'", "'all'"]))
    return Case(
        f"out = layernorm({x.src}, {draw(_channel_param(c))}, {draw(_channel_param(c))}, "
        f"epsilon={draw(weighted(_EPS, _ODD_EPS))}, operation_dimension={od}{x.call_kw()})",
        ["layernorm"],
        "nn",
    )


@st.composite
def groupnorm_case(draw) -> Case:
    x = draw(layout_input(_NORM_LAYOUTS))
    c = x.size("C")
    ng = draw(option(["1", "2", "3", str(max(c, 1)), "'all-channels'", "'channel-wise'"], _HUGE + ["'CHANNEL-WISE'"]))
    return Case(
        f"out = groupnorm({x.src}, {ng}, {draw(_channel_param(c))}, {draw(_channel_param(c))}, "
        f"epsilon={draw(weighted(_EPS, _ODD_EPS))}{x.call_kw()})",
        ["groupnorm"],
        "nn",
    )


@st.composite
def instancenorm_case(draw) -> Case:
    x = draw(layout_input(_NORM_LAYOUTS))
    c = x.size("C")
    return Case(
        f"out = instancenorm({x.src}, {draw(_channel_param(c))}, {draw(_channel_param(c))}, "
        f"epsilon={draw(weighted(_EPS, _ODD_EPS))}{x.call_kw()})",
        ["instancenorm"],
        "nn",
    )


@st.composite
def crosschannelnorm_case(draw) -> Case:
    x = draw(layout_input(_NORM_LAYOUTS))
    n = draw(option(["1", "3", "5", "2"], _HUGE))
    num = ["1e-4", "0.75", "2.0", "1", "0"]
    odd = ["float('nan')", "'a'", "None", "float('inf')", "-1", "1j", "[1]"]
    return Case(
        f"out = crosschannelnorm({x.src}, {n}, alpha={draw(weighted(num, odd))}, beta={draw(weighted(num, odd))}, "
        f"k={draw(weighted(num, odd))}{x.call_kw()})",
        ["crosschannelnorm"],
        "nn",
    )


# ----- activations, dropout -------------------------------------------------------------------

_ACT_LAYOUTS = ["SSCB", "CB", "CBT", "C", "B", "SSSCBTU", "U", "SCBT"]


@st.composite
def activation_case(draw) -> Case:
    x = draw(layout_input(_ACT_LAYOUTS, dtypes=["float32"] * 4 + ["float64", "complex64", "float16", "int32"]))
    fn = draw(st.sampled_from(["relu", "leakyrelu", "gelu", "sigmoid", "tanh", "softmax"]))
    if fn == "leakyrelu":
        s = draw(option(["0.01", "0.2", "0", "-1", "np.float32(0.1)"]))
        return Case(f"out = leakyrelu({x.src}, {s})", [fn], "nn")
    if fn == "gelu":
        a = draw(option(["'none'", "'tanh'", "'TANH'"], ["'erf'", "'fast'"]))
        return Case(f"out = gelu({x.src}, {a})", [fn], "nn")
    if fn == "softmax":
        return Case(f"out = softmax({x.src}{x.call_kw()})", [fn], "nn")
    return Case(f"out = {fn}({x.src})", [fn], "nn")


@st.composite
def dropout_case(draw) -> Case:
    x = draw(layout_input(_ACT_LAYOUTS))
    p = draw(option(["0.5", "0", "1", "0.1", "np.float32(0.2)"], ["1.5", "-0.1"]))
    mask = draw(st.one_of(st.just("None"), st.just(nd(x.shape, "bool")), param(x.shape, 0.4, ("float32", "bool", "int64"))))
    seed = draw(option(["None", "0", "1", "np.random.default_rng(0)"], ["-1", "2**70", "1.5", "'seed'"]))
    rm = draw(weighted(["False", "True"], ["'x'", "None"], 0.1))
    return Case(f"out = dropout({x.src}, {p}, mask={mask}, seed={seed}, return_mask={rm})", ["dropout"], "nn")


# ----- embedding, one-hot ---------------------------------------------------------------------


@st.composite
def embed_case(draw) -> Case:
    labels = draw(st.sampled_from(["BT", "CBT", "B", "CB", "SB", "T", "BTU", "SSCB"]))
    shape = tuple(draw(side) for _ in labels)
    if "C" in labels and draw(st.booleans()):
        shape = tuple(1 if label == "C" else s for label, s in zip(labels, shape))
    words = draw(st.sampled_from([1, 3, 5, 0]))
    vals = draw(
        weighted(
            [f"np.arange({math.prod(shape)}).reshape({shape!r}) % {max(words, 1)}"],
            [
                f"np.full({shape!r}, {words})",
                f"np.full({shape!r}, -1)",
                f"np.full({shape!r}, 0.5)",
                f"np.full({shape!r}, float('nan'))",
                f"np.full({shape!r}, 2**62)",
                f"np.full({shape!r}, 'a')",
                f"np.full({shape!r}, True)",
                f"np.full({shape!r}, 1e30)",
            ],
            0.4,
        )
    )
    fmt = draw(st.sampled_from(["formatted", "data_format", "numpy"]))
    if fmt == "formatted":
        order = "".join(sorted(labels, key="SCBTU".index))
        xs, kw = f"dlarray({vals}, {order!r})", ""
    elif fmt == "data_format":
        xs, kw = f"dlarray({vals})", f", data_format={labels!r}"
    else:
        xs, kw = vals, draw(st.sampled_from([f", data_format={labels!r}", "", ", data_format='XY'", ", data_format=3"]))
    e = draw(st.sampled_from([2, 1, 0, 3]))
    w = draw(st.one_of(param((e, words)), param((words, e))))
    wf = draw(weighted(["None"], ["'UC'", "'CU'", "'CB'", "'C'", "5"], 0.3))
    # Building X from string or NaN indices is the constructor's error.
    return Case(f"out = embed({xs}, {w}{kw}, weights_format={wf})", ["embed", "dlarray"], "nn")


@st.composite
def onehot_case(draw) -> Case:
    n = draw(st.sampled_from([3, 1, 0, 5]))
    labels = draw(
        st.sampled_from(
            [
                f"np.arange({n}) % 3",
                f"np.array([0, 2, 1])[:{n}]",
                "np.array([0.5, 1])",
                "np.array([-1, 2])",
                "np.array(['a', 'b', 'a'])",
                "np.array([0, float('nan')])",
                "np.zeros((2, 0), int)",
                "np.zeros((2, 1, 3), int)",
                f"dlarray(np.arange({n}) % 2, 'B')",
                f"dlarray(np.zeros((1, {n})), 'CB')",
                "5",
                "None",
                "[[0, 1], [1]]",
                "np.array([2**62, 0])",
                "np.array([True, False])",
                "np.array([None, 1], object)",
                "dlarray(np.array([[0., 1.]]))",
            ]
        )
    )
    fd = draw(option(["0", "1", "'C'", "-1"], ["2", "'B'", "'c'"]))
    if draw(st.booleans()):
        dt = draw(option(["'float32'", "'float64'", "np.float16"], ["'int32'", "'bool'", "'U1'", "'complex64'", "'foo'"]))
        cn = draw(weighted(["None"], ["['a', 'b', 'c']", "[]", "[[1, 2]]", "'abc'", "[0, 1, 2, 2]", "range(3)", "5"], 0.3))
        nc = draw(option(["None", "3", "5"], ["0", "-1", "2**40", "1.5", "'3'"]))
        return Case(f"out = onehotencode({labels}, {fd}, {dt}, class_names={cn}, num_classes={nc})", ["onehotencode"], "nn")
    b = draw(
        st.sampled_from(
            [
                "R((3, 4))",
                "R((0, 4))",
                "R((3, 0))",
                "dlarray(R((3, 4)), 'CB')",
                "np.full((3, 2), float('nan'))",
                "R((3,), 'U1')",
                "R(())",
                "dlarray(R((4, 2)), 'SB')",
                "R((3, 4), 'complex64')",
                "R((3, 4), 'bool')",
            ]
        )
    )
    cn = draw(weighted(["None"], ["['a', 'b', 'c']", "['a']", "[]", "5", "'abc'"], 0.3))
    kd = draw(weighted(["False", "True"], ["'yes'", "None"], 0.1))
    return Case(f"out = onehotdecode({b}, {cn}, {fd}, keepdims={kd})", ["onehotdecode"], "nn")


# ----- recurrent ------------------------------------------------------------------------------


@st.composite
def recurrent_case(draw) -> Case:
    gru = draw(st.booleans())
    x = draw(layout_input(["CBT", "CB", "CT", "C", "SCBT", "CBTU", "BT", "TCB"], sizes=st.sampled_from([1, 2, 3, 0])))
    c, b = x.size("C"), x.size("B")
    h = draw(st.sampled_from([1, 2, 3, 0]))
    gates = 3 if gru else 4
    mode = draw(option(["'after-multiplication'", "'before-multiplication'", "'recurrent-bias-after-multiplication'"]))
    bias_rows = 6 if "recurrent-bias" in mode else gates
    w = draw(param((gates * h, c), 0.15))
    r = draw(param((gates * h, h), 0.15))
    bias = draw(st.one_of(param((bias_rows * h,), 0.15), param((bias_rows * h, 1), 0.15)))
    h0 = draw(
        st.one_of(param((h, b), 0.15), param((h,), 0.15), st.just(f"dlarray({nd((h, b))}, 'CB')"), st.just(f"dlarray({nd((h, b))}, 'SB')"))
    )
    sa = draw(option(["'tanh'", "'softsign'", "'relu'"], ["'sigmoid'", "'TANH'"]))
    ga = draw(option(["'sigmoid'", "'hard-sigmoid'"], ["'tanh'"]))
    if gru:
        return Case(
            f"out = gru({x.src}, {h0}, {w}, {r}, {bias}, reset_gate_mode={mode}, state_activation_function={sa}, "
            f"gate_activation_function={ga}{x.call_kw()})",
            ["gru"],
            "nn",
        )
    c0 = draw(st.one_of(param((h, b), 0.15), param((h, 1), 0.15)))
    return Case(
        f"out = lstm({x.src}, {h0}, {c0}, {w}, {r}, {bias}, state_activation_function={sa}, gate_activation_function={ga}{x.call_kw()})",
        ["lstm"],
        "nn",
    )


# ----- attention ------------------------------------------------------------------------------


@st.composite
def attention_case(draw) -> Case:
    heads = draw(option(["1", "2", "3"], _HUGE))
    cq = draw(st.sampled_from([2, 4, 3, 0, 1]))
    cv = draw(st.sampled_from([2, 4, 0, 1]))
    b = draw(st.sampled_from([1, 2, 0]))
    tq, tk = draw(st.sampled_from([1, 2, 3, 0])), draw(st.sampled_from([1, 2, 3, 0]))
    fmt = draw(st.sampled_from(["CBT", "CBT", "CT", "CB", "SCBT"]))

    def arr(c, t):
        sizes = {"C": c, "B": b, "T": t, "S": 2}
        return dl(tuple(sizes[label] for label in fmt), fmt)

    q, k, v = arr(cq, tq), arr(draw(sized(cq, 0.1)), tk), arr(cv, draw(sized(tk, 0.1)))
    kw = ["scale=" + draw(option(["'auto'", "0.5", "1"], ["0", "-1", "'AUTO'"]))]
    if draw(st.booleans()):
        good = ["'none'", "'causal'", nd((tk, tq), "bool"), nd((tk, tq, b), "int64")]
        kw.append("attention_mask=" + draw(option(good, [nd((tq, tk), "bool"), nd((2**10,)), "'future'"])))
    if draw(st.booleans()):
        good = [nd((b, tk), "bool"), nd((1, b, tk)), f"dlarray({nd((b, tk))}, 'BT')"]
        kw.append("padding_mask=" + draw(option(good, [nd((tk, b)), f"dlarray({nd((b,))}, 'B')"])))
    if draw(st.booleans()):
        kw.append("dropout_probability=" + draw(option(["0", "0.5"], ["1", "1.5", "-0.5"])))
    kw.append("return_weights=" + draw(weighted(["False", "True"], ["None", "2"])))
    if draw(st.integers(0, 5)) == 0:
        kw.append("data_format=" + draw(st.sampled_from(["'CBT'", "'TBC'", "5", "'XY'"])))
    return Case(f"out = attention({q}, {k}, {v}, {heads}, {', '.join(kw)})", ["attention"], "nn")


# ----- losses ---------------------------------------------------------------------------------

_REDUCTION = ["'sum'", "'none'", "'SUM'"]
_NORMALIZATION = ["'batch-size'", "'all-elements'", "'mask-included'", "'none'"]


@st.composite
def loss_case(draw) -> Case:
    x = draw(layout_input(["CB", "SSCB", "CBT", "C", "B", "CBU", "SCB"], dtypes=["float32"] * 5 + ["float64", "complex64"]))
    fn = draw(st.sampled_from(["crossentropy", "indexcrossentropy", "mse", "l1loss", "l2loss", "huber"]))
    squash = draw(st.booleans())
    y = f"sigmoid({x.src})" if squash else x.src
    if fn == "indexcrossentropy":
        tshape = tuple(1 if label == "C" else s for label, s in zip(x.labels, x.shape))
        t = draw(
            weighted(
                [f"np.zeros({tshape!r}, int)", f"np.ones({tshape!r}, int)"],
                [
                    f"np.full({tshape!r}, 99)",
                    f"np.full({tshape!r}, -1)",
                    f"np.full({tshape!r}, 0.5)",
                    nd(x.shape),
                    "5",
                    "None",
                    f"np.zeros({tshape!r}, 'U1')",
                ],
                0.35,
            )
        )
    else:
        t = draw(st.one_of(param(x.shape, 0.3), st.just(f"dlarray({nd(x.shape)}, {x.labels!r})")))
    kw = []
    if fn != "mse":
        if draw(st.booleans()):
            n = draw(st.sampled_from([x.size("C"), x.size("B"), 0, 7]))
            kw.append("weights=" + draw(st.one_of(param((n,), 0.3), st.just(nd(x.shape)))))
            if draw(st.booleans()):
                kw.append("weights_format=" + draw(option(["'C'", "'B'", "'CB'"], ["'X'", "5"])))
        if draw(st.booleans()):
            kw.append("mask=" + draw(param(x.shape, 0.3, ("bool", "float32"))))
        kw.append("reduction=" + draw(option(_REDUCTION)))
        kw.append("normalization_factor=" + draw(option(_NORMALIZATION)))
    if fn == "crossentropy" and draw(st.booleans()):
        kw.append("classification_mode=" + draw(option(["'single-label'", "'multilabel'", "None"])))
        if draw(st.booleans()):
            kw.append("target_categories=" + draw(option(["'exclusive'", "'independent'"])))
        if not x.kw and draw(st.booleans()):
            kw.append("class_dimension=" + draw(option(["0", "1"], ["5", "-1"])))
    if fn == "huber":
        kw.append("transition_point=" + draw(option(["1.0", "0.5"], ["0", "-1"])))
    if x.kw:
        kw.append(x.kw)
    return Case(f"out = {fn}({y}, {', '.join([t] + kw)})", [fn] + (["sigmoid"] if squash else []), "nn")


# ----- ctc, dlode45 ---------------------------------------------------------------------------


@st.composite
def ctc_case(draw) -> Case:
    c, b, t = draw(st.sampled_from([3, 2, 1, 0])), draw(st.sampled_from([2, 1, 0])), draw(st.sampled_from([4, 2, 1, 0]))
    fmt = draw(weighted(["CBT"], ["CB", "CT", "SCBT", "CBTU"], 0.15))
    sizes = {"C": c, "B": b, "T": t, "S": 2, "U": 2}
    shape = tuple(sizes[label] for label in fmt)
    y = draw(
        weighted(
            [f"softmax({dl(shape, fmt)})", f"dlarray(np.abs({nd(shape)}) + 0.1, {fmt!r})"],
            [dl(shape, fmt), f"dlarray(np.full({shape!r}, float('nan'), np.float32), {fmt!r})", f"dlarray({nd(shape)})"],
            0.3,
        )
    )
    n = draw(st.sampled_from([2, 1, 0, 5]))
    targets = draw(
        weighted(
            [f"np.arange({b * n}).reshape({b}, {n}) % max({c} - 1, 1) + 1", f"np.ones(({b}, {n}))"],
            [f"np.full(({b}, {n}), {c})", f"np.full(({b}, {n}), -1)", f"np.full(({b}, {n}), 0.5)", f"np.zeros(({b + 1}, {n}))", "'abc'"],
            0.3,
        )
    )
    kw = []
    if draw(st.booleans()):
        kw.append("y_mask=" + draw(option([nd((b, t), "bool"), nd((1, b, t))], [nd((t, b)), nd((b,))])))
    if draw(st.booleans()):
        kw.append("targets_mask=" + draw(option([nd((b, n), "bool")], [nd((n, b)), nd((b, n + 1))])))
    kw.append("blank_index=" + draw(option(["'first'", "'last'", "0", str(max(c - 1, 0))], [str(c), "-1", "'middle'", "1.5"])))
    kw.append("reduction=" + draw(option(["'mean'", "'sum'", "'none'"], ["'MEAN'", "'max'"])))
    if fmt == "CBT" and draw(st.integers(0, 4)) == 0:
        kw.append("data_format=" + draw(st.sampled_from(["'CBT'", "'TBC'", "'XY'", "3"])))
    return Case(f"out = ctc({y}, {targets}, {', '.join(kw)})", ["ctc"], "nn")


@st.composite
def ode_case(draw) -> Case:
    c, b = draw(st.sampled_from([2, 1, 0])), draw(st.sampled_from([2, 1, 0]))
    fmt = draw(weighted(["CB"], ["C", "SCB", "CBT"], 0.2))
    sizes = {"C": c, "B": b, "T": 2, "S": 2}
    shape = tuple(sizes[label] for label in fmt)
    y0 = draw(weighted([dl(shape, fmt)], [dl(shape), nd(shape), f"dlarray(np.full({shape!r}, float('inf'), np.float32), {fmt!r})"], 0.25))
    fn = draw(
        weighted(
            ["lambda t, y, p: -y", "lambda t, y, p: p * y", "lambda t, y, p: tanh(y) * t"],
            ["lambda t, y, p: y[0]", "lambda t, y: y", "lambda t, y, p: 1 / (y - y)", "lambda t, y, p: 'x'", "42"],
            0.25,
        )
    )
    tspan = draw(
        option(["[0, 1]", "[0, 0.5, 1]", "np.array([1.0, 0.0])", "(0, 2)"], ["[0]", "[0, float('nan')]", "[1, 1]", "[[0, 1]]", "'t'"])
    )
    theta = draw(option(["dlarray(np.float32(0.5))", "None", "{'w': dlarray(np.float32(-1.0))}"], ["'p'"]))
    kw = []
    if draw(st.booleans()):
        kw.append("relative_tolerance=" + draw(option(["1e-3", "1e-6"], ["0", "-1", "float('nan')"])))
    if draw(st.booleans()):
        kw.append("absolute_tolerance=" + draw(option(["1e-6"], ["0", "-1"])))
    if draw(st.booleans()):
        kw.append("max_step_size=" + draw(option(["0.1", "None"], ["0", "-1", "1e-300"])))
    if draw(st.booleans()):
        kw.append("initial_step=" + draw(option(["0.01", "None"], ["0", "-1", "1e300"])))
    if draw(st.integers(0, 5)) == 0:
        kw.append("gradient_mode=" + draw(st.sampled_from(["'direct'", "'adjoint'", "'reverse'"])))
    return Case(f"out = dlode45({fn}, {tspan}, {y0}, {theta}{''.join(', ' + k for k in kw)})", ["dlode45"], "nn")


NN_FAMILIES = {
    "fullyconnect": fullyconnect_case(),
    "dlconv": dlconv_case(),
    "dltranspconv": dltranspconv_case(),
    "pool": pool_case(),
    "maxunpool": maxunpool_case(),
    "batchnorm": batchnorm_case(),
    "layernorm": layernorm_case(),
    "groupnorm": groupnorm_case(),
    "instancenorm": instancenorm_case(),
    "crosschannelnorm": crosschannelnorm_case(),
    "activation": activation_case(),
    "dropout": dropout_case(),
    "embed": embed_case(),
    "onehot": onehot_case(),
    "recurrent": recurrent_case(),
    "attention": attention_case(),
    "loss": loss_case(),
    "ctc": ctc_case(),
    "ode": ode_case(),
}
