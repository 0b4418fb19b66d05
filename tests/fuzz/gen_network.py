"""Malformed layers and networks: layer constructors with odd options, networks fed input
with a zero batch, zero time steps, wrong sizes, formats or dtypes, graph-editing misuse,
and learnables/state assignment with the wrong shapes."""

from __future__ import annotations

import re

from hypothesis import strategies as st

from .harness import Case
from .values import ODD, dl, nd, option, weighted

# name -> (the layers of a small network, its input's good shape (without B) and format)
_NETWORKS = {
    "image": (
        "[imageInputLayer((4, 4, 2), normalization='none'), convolution2dLayer(3, 3, padding='same'), "
        "batchNormalizationLayer(), reluLayer(), maxPooling2dLayer(2, stride=2), fullyConnectedLayer(3), "
        "softmaxLayer()]",
        (4, 4, 2),
        "SSCB",
    ),
    "image2": (
        "[imageInputLayer((4, 4, 2), normalization='zscore'), groupedConvolution2dLayer(2, 2, 'channel-wise'), "
        "transposedConv2dLayer(2, 2, stride=2), averagePooling2dLayer(2, padding='same'), "
        "globalMaxPooling2dLayer(), flattenLayer(), fullyConnectedLayer(2)]",
        (4, 4, 2),
        "SSCB",
    ),
    "feature": (
        "[featureInputLayer(3), fullyConnectedLayer(4), layerNormalizationLayer(), geluLayer(), "
        "dropoutLayer(0.5), fullyConnectedLayer(2), sigmoidLayer()]",
        (3,),
        "CB",
    ),
    "lstm": ("[sequenceInputLayer(3), lstmLayer(4), fullyConnectedLayer(2), softmaxLayer()]", (3,), "CBT"),
    "gru": ("[sequenceInputLayer(3), gruLayer(4, output_mode='last'), fullyConnectedLayer(2), tanhLayer()]", (3,), "CBT"),
    "conv1d": (
        "[sequenceInputLayer(2), convolution1dLayer(3, 4, padding='causal'), groupNormalizationLayer('all-channels'), "
        "leakyReluLayer(), averagePooling1dLayer(2, stride=2)]",
        (2,),
        "CBT",
    ),
    "embed": ("[sequenceInputLayer(1), embeddingLayer(3, 5), lstmLayer(2, output_mode='last')]", (1,), "CBT"),
}

_INPUT_LAYER = re.compile(r"\[(\w+InputLayer\((?:\([^)]*\)|[^()])*\))")

#: Constructor -> (its required positional arguments, the keyword options to fuzz).
_LAYERS = {
    "imageInputLayer": (["(4, 4, 2)"], ["normalization", "mean", "standard_deviation", "min", "max", "name"]),
    "featureInputLayer": (["3"], ["normalization", "mean", "name"]),
    "sequenceInputLayer": (["3"], ["normalization", "min_length", "name"]),
    "convolution1dLayer": (
        ["3", "2"],
        [
            "stride",
            "dilation_factor",
            "padding",
            "padding_value",
            "num_channels",
            "weights_initializer",
            "weights",
            "bias",
            "weight_learn_rate_factor",
        ],
    ),
    "convolution2dLayer": (
        ["3", "2"],
        [
            "stride",
            "dilation_factor",
            "padding",
            "padding_value",
            "num_channels",
            "weights_initializer",
            "bias_initializer",
            "weights",
            "bias",
            "weight_l2_factor",
            "name",
        ],
    ),
    "convolution3dLayer": (["2", "2"], ["stride", "padding", "weights"]),
    "groupedConvolution2dLayer": (["2", "2", "2"], ["stride", "padding", "weights", "bias"]),
    "transposedConv2dLayer": (["2", "2"], ["stride", "cropping", "weights", "bias", "padding"]),
    "batchNormalizationLayer": ([], ["epsilon", "mean_decay", "offset", "scale", "trained_mean", "trained_variance", "offset_initializer"]),
    "layerNormalizationLayer": ([], ["epsilon", "operation_dimension", "offset", "scale"]),
    "groupNormalizationLayer": (["2"], ["epsilon", "offset", "scale"]),
    "reluLayer": ([], ["name"]),
    "leakyReluLayer": (["0.01"], ["name"]),
    "geluLayer": ([], ["approximation"]),
    "dropoutLayer": (["0.5"], ["name"]),
    "softmaxLayer": ([], ["name"]),
    "maxPooling2dLayer": (["2"], ["stride", "padding"]),
    "maxPooling1dLayer": (["2"], ["stride", "padding"]),
    "averagePooling2dLayer": (["2"], ["stride", "padding", "padding_value"]),
    "globalAveragePooling2dLayer": ([], ["name"]),
    "fullyConnectedLayer": (["3"], ["input_size", "weights_initializer", "weights", "bias", "bias_learn_rate_factor"]),
    "embeddingLayer": (["3", "5"], ["weights_initializer", "weights"]),
    "flattenLayer": ([], ["name"]),
    "lstmLayer": (
        ["2"],
        [
            "output_mode",
            "state_activation_function",
            "input_weights",
            "recurrent_weights",
            "bias",
            "hidden_state",
            "cell_state",
            "has_state_inputs",
            "bias_initializer",
        ],
    ),
    "gruLayer": (["2"], ["output_mode", "reset_gate_mode", "input_weights", "hidden_state", "recurrent_weights_initializer"]),
    "additionLayer": (["2"], ["name"]),
    "concatenationLayer": (["'C'", "2"], ["name"]),
    "depthConcatenationLayer": (["2"], ["name"]),
    "functionLayer": (["relu"], ["num_inputs", "num_outputs", "formattable", "description"]),
}
#: The network (from ``_NETWORKS``) whose input a layer is tried on after its input layer.
_CONTEXT = {
    "convolution1dLayer": "conv1d",
    "lstmLayer": "lstm",
    "gruLayer": "lstm",
    "embeddingLayer": "embed",
    "featureInputLayer": None,
    "imageInputLayer": None,
    "sequenceInputLayer": None,
    "fullyConnectedLayer": "feature",
    "layerNormalizationLayer": "feature",
    "geluLayer": "feature",
    "dropoutLayer": "feature",
    "leakyReluLayer": "feature",
    "softmaxLayer": "feature",
    "maxPooling1dLayer": "conv1d",
    "additionLayer": None,
    "concatenationLayer": None,
    "depthConcatenationLayer": None,
    "convolution3dLayer": None,
    "functionLayer": "feature",
}
_GOOD_OPTIONS = {
    "stride": ["1", "2", "[1, 2]"],
    "dilation_factor": ["1", "2"],
    "padding": ["0", "1", "'same'", "[1, 0, 0, 1]"],
    "padding_value": ["0", "'mean'"],
    "num_channels": ["'auto'", "2"],
    "weights_initializer": ["'glorot'", "'he'", "'zeros'", "'orthogonal'", "'narrow-normal'", "lambda s: np.zeros(s, np.float32)", "fail"],
    "bias_initializer": ["'zeros'", "'ones'", "'unit-forget-gate'", "'narrow-normal'"],
    "normalization": ["'none'", "'zerocenter'", "'zscore'", "'rescale-symmetric'", "'rescale-zero-one'", "fail", "lambda x: x"],
    "epsilon": ["1e-5"],
    "mean_decay": ["0.1"],
    "operation_dimension": ["'auto'", "'channel-only'"],
    "approximation": ["'tanh'"],
    "output_mode": ["'sequence'", "'last'"],
    "reset_gate_mode": ["'before-multiplication'"],
    "state_activation_function": ["'softsign'"],
    "cropping": ["0", "'same'", "1"],
    "input_size": ["'auto'", "3"],
    "num_inputs": ["1", "2"],
    "num_outputs": ["1", "2"],
    "formattable": ["True", "False"],
    "min_length": ["1", "3"],
    "name": ["'a'", "'b/c'", "''", "'layer'"],
    "has_state_inputs": ["False", "True"],
    "description": ["'d'"],
}


def _option_value(name: str) -> st.SearchStrategy[str]:
    good = _GOOD_OPTIONS.get(name, ["None"])
    arrays = [nd((2, 2)), nd((3,)), nd((3, 3, 2, 2)), nd((0,)), nd((1, 1, 2)), dl((2, 3)), nd((2, 2), "U1")]
    return option(good, arrays, p_bad=0.5)


@st.composite
def layer_case(draw) -> Case:
    ctor = draw(st.sampled_from(sorted(_LAYERS)))
    required, options = _LAYERS[ctor]
    args = [draw(weighted([a], ODD, 0.25)) for a in required]
    names = draw(st.lists(st.sampled_from(options), max_size=3, unique=True))
    kwargs = [f"{n}={draw(_option_value(n))}" for n in names]
    layer = f"{ctor}({', '.join(args + kwargs)})"
    ops = [ctor, ctor.replace("Conv2d", "Convolution2D"), "dlnetwork", ctor.replace("Layer", "")]
    context = _CONTEXT.get(ctor, "image")
    if context is None or draw(st.integers(0, 3)) == 0:
        return Case(f"out = {layer}", ops, "layer")
    layers, size, fmt = _NETWORKS[context]
    first = _INPUT_LAYER.match(layers).group(1)
    x = dl(size + (2,) + ((3,) if "T" in fmt else ()), fmt)
    call = draw(st.sampled_from(["predict", "forward"]))
    return Case(f"net = dlnetwork([{first}, {layer}])\nout = net.{call}({x})", ops, "layer")


def _bad_input(size: tuple, fmt: str) -> st.SearchStrategy[str]:
    """A network input close to the right one: a zero batch or sequence, a wrong size, format
    or dtype, numpy data, an extra dim."""

    @st.composite
    def draw_input(draw):
        b = draw(st.sampled_from([2, 1, 0]))
        t = (draw(st.sampled_from([3, 1, 0])),) if "T" in fmt else ()
        s = tuple(size)
        kind = draw(st.integers(0, 9))
        if kind == 1:  # one size off
            i = draw(st.integers(0, len(s) - 1))
            s = s[:i] + (draw(st.sampled_from([0, s[i] + 1, 1])),) + s[i + 1 :]
        full = s + (b,) + t
        if kind == 2:
            return nd(full, draw(st.sampled_from(["float64", "int32", "bool", "complex64", "float16", "U1"])))
        if kind == 3:
            return dl(full)
        if kind == 4:  # one more dim, labelled in some other way
            extra = [f for f in (fmt + "U", "SSCBT", "SSCBU", "CBTU", "SCBT", fmt + "S", "CBT", "SCB") if len(f) == len(full) + 1]
            return dl(full + (1,), draw(st.sampled_from(extra)))
        if kind == 5:
            return dl(full[:-1] if len(full) > 1 else full, fmt[:-1] if len(fmt) > 1 else fmt)
        if kind == 6:
            return draw(st.sampled_from(ODD))
        if kind == 7:
            return f"dlarray(np.full({full!r}, np.nan, np.float32), {fmt!r})"
        dtype = draw(st.sampled_from(["float32", "float32", "float64", "complex64"]))
        return dl(full, fmt, dtype)

    return draw_input()


@st.composite
def network_case(draw) -> Case:
    name = draw(st.sampled_from(sorted(_NETWORKS)))
    layers, size, fmt = _NETWORKS[name]
    x = draw(_bad_input(size, fmt))
    step = draw(
        st.sampled_from(
            [
                "predict",
                "forward",
                "forward_state",
                "outputs",
                "nargs",
                "init",
                "learnables",
                "state",
                "connect",
                "remove",
                "replace",
                "examples",
                "table",
                "summary",
            ]
        )
    )
    head = f"net = dlnetwork({layers})\n"
    ops = ["dlnetwork", "forward", "predict"]
    if step in ("predict", "forward"):
        return Case(head + f"out = net.{step}({x})", ops, "network")
    if step == "forward_state":
        return Case(head + f"out = net.forward({x}, return_state=True)", ops, "network")
    if step == "outputs":
        o = draw(st.sampled_from(["'fc'", "['fc', 'fc']", "'nope'", "'fc/out'", "'fc/in'", "5", "[]", "None", "'fc/out2'"]))
        return Case(head + f"out = net.predict({x}, outputs={o})", ops, "network")
    if step == "nargs":
        return Case(head + f"out = net.predict({x}, {x})", ops, "network")
    if step == "init":
        return Case(
            f"net = dlnetwork({layers}, initialize=False)\nout = net.{draw(st.sampled_from(['predict', 'initialize']))}({x})",
            ops + ["initialize"],
            "network",
        )
    if step == "examples":
        return Case(f"net = dlnetwork({layers}[1:], {x})\nout = net.predict({x})", ops + ["initialize"], "network")
    if step in ("learnables", "state"):
        prop = step
        value = draw(
            st.sampled_from(
                [nd((1,)), nd((0,)), "None", "5", "'x'", dl((2, 2), "CB"), nd((3, 3), "complex64"), nd((2**8,)), nd(()), "fail"]
            )
        )
        idx = draw(st.sampled_from(["0", "-1", "len(t) - 1"]))
        return Case(
            head + f"t = net.{prop}\nif len(t):\n    t[t.layer[{idx}], t.parameter[{idx}]] = {value}\n"
            f"net.{prop} = t\nout = net.predict({x})",
            ops + [prop, "table"],
            "network",
        )
    if step == "connect":
        src, dst = (
            draw(st.sampled_from(["'fc'", "'nope'", "'fc/out'", "'fc/in'", "'input'", "5"])),
            draw(st.sampled_from(["'fc'", "'nope'", "'fc/in'", "'fc/in2'", "'input'", "None"])),
        )
        verb = draw(st.sampled_from(["connect_layers", "disconnect_layers"]))
        return Case(head + f"net.{verb}({src}, {dst})\nout = net.initialize().predict({x})", ops + [verb], "network")
    if step == "remove":
        n = draw(st.sampled_from(["'fc'", "['fc', 'fc']", "'nope'", "[]", "5", "None"]))
        return Case(head + f"net.remove_layers({n})\nout = net.initialize().predict({x})", ops + ["remove_layers"], "network")
    if step == "replace":
        new = draw(
            st.sampled_from(
                [
                    "reluLayer()",
                    "[]",
                    "[reluLayer(), reluLayer()]",
                    "additionLayer(2)",
                    "5",
                    "fullyConnectedLayer(7)",
                    "[featureInputLayer(3)]",
                ]
            )
        )
        return Case(head + f"net.replace_layer('fc', {new})\nout = net.initialize().predict({x})", ops + ["replace_layer"], "network")
    if step == "table":
        key = draw(
            st.sampled_from(["('fc', 'Weights')", "('fc', 'Nope')", "'fc'", "0", "-1", "99", "('fc',)", "None", "1.5", "slice(0, 2)"])
        )
        return Case(head + f"t = net.learnables\nout = t[{key}]", ops + ["table", "learnables"], "network")
    return Case(head + "out = repr(net) + str(net.layers) + str(net.connections)", ops, "network")


NETWORK_FAMILIES = {"layer": layer_case(), "network": network_case()}
