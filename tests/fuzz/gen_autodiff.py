"""Misuse of automatic differentiation (``dlfeval``, ``dlgradient`` and the derivative
helpers) and of the optimizers (mismatched parameter / gradient / state trees, odd
hyperparameters)."""

from __future__ import annotations

import re

from hypothesis import strategies as st

from .harness import Case
from .values import any_array, dl, dl_array, option, shape_of, small_side, weighted

# ----- dlfeval / dlgradient -------------------------------------------------------------------

_LOSSES = [
    "x.sum()",
    "(x * x).sum()",
    "x",
    "x * 2",
    "x.sum() + 1j",
    "dlarray(1.0)",
    "x.sum() * 0",
    "relu(x).mean()",
    "(x ** 3).sum()",
    "x.sum().astype('float64')",
    "norm(x)",
    "gelu(x).sum()",
    "sigmoid(x).prod()",
    "x.max()",
    "x[0].sum()",
    "(x @ x.T).sum()",
    "abs(x).sum()",
    "x.mean() / x.mean()",
    "float(x.sum())",
    "x.sum().reshape(1, 1)",
    "x.sum() + dlarray(R((0,))).sum()",
    "mse(x, x * 0, data_format='C' * x.ndim)",
    "where(np.asarray(x) > 0, x, 0 * x).sum()",
    "cumsum(x, 0).sum()",
    "x.sum(keepdims=True)",
    "extractdata(x).sum()",
    "sqrt(x).sum()",
    "log(x).sum()",
]
_WRT = [
    "x",
    "[x]",
    "{'a': x}",
    "(x, x)",
    "[]",
    "{}",
    "None",
    "5",
    "dlarray(1.0)",
    "[x, [x, {'b': (x,)}]]",
    "x.T",
    "x * 1",
    "stripdims(x)",
    "np.asarray(x)",
    "R((2,))",
]


@st.composite
def gradient_case(draw) -> Case:
    x = draw(dl_array(max_dims=3, dtypes=["float32"] * 4 + ["float64", "complex64"], formatted=0.3))
    loss = draw(st.sampled_from(_LOSSES))
    wrt = draw(st.lists(st.sampled_from(_WRT), min_size=0, max_size=2))
    kw = []
    if draw(st.booleans()):
        kw.append("retain_data=" + draw(option(["True", "False"], [], 0.2)))
    if draw(st.booleans()):
        kw.append("enable_higher_derivatives=" + draw(option(["True", "False"], [], 0.2)))
    grad = f"dlgradient({', '.join([loss] + wrt + kw)})"
    # The loss's own functions raise errors too, named as themselves.
    ops = ["dlgradient", "dlfeval"] + re.findall(r"\b([a-z]\w*)\(", loss) + (["matmul"] if "@" in loss else [])
    shape = draw(st.sampled_from(["plain", "twice", "second_order", "outside", "nested", "kwargs", "leak_trace"]))
    if shape == "plain":
        body = f"    return {grad}"
    elif shape == "twice":
        body = f"    g = {grad}\n    return {grad}"
    elif shape == "second_order":
        body = f"    g = {grad}\n    return dlgradient(builtins.sum([v.sum() for v in dl._tree.tree_leaves(g)] or [x.sum()]), x)"
    elif shape == "nested":
        body = f"    return dlfeval(lambda x: {grad}, x)"
    elif shape == "kwargs":
        return Case(f"def f(x=None, **kw):\n    return {grad}\nout = dlfeval(f, x={x})", ops, "autodiff")
    elif shape == "leak_trace":
        return Case(
            f"kept = []\ndef f(x):\n    kept.append(x * 2)\n    return x.sum()\ndlfeval(f, {x})\nx = kept[0]\n"
            f"out = dlfeval(lambda y: dlgradient(x.sum(), y), {x})",
            ["dlgradient", "dlfeval"],
            "autodiff",
        )
    else:
        return Case(f"x = {x}\nout = {grad}", ops, "autodiff")
    return Case(f"def f(x):\n{body}\nout = dlfeval(f, {x})", ops, "autodiff")


@st.composite
def dlfeval_case(draw) -> Case:
    fn = draw(
        st.sampled_from(
            [
                "fail",
                "5",
                "None",
                "lambda: 1",
                "lambda *a, **k: a",
                "lambda x: (x, [x], {'k': x})",
                "lambda x: iter([x])",
                "lambda x: dlnetwork",
                "lambda x: x.__class__",
                "print",
            ]
        )
    )
    args = draw(
        st.lists(
            st.one_of(
                any_array(max_dims=3),
                st.sampled_from(
                    [
                        "{'a': [dlarray(1.0)]}",
                        "(dlarray(R((0,))),)",
                        "dlnetwork([featureInputLayer(2), fullyConnectedLayer(1)])",
                        "object()",
                        "[[[[dlarray(1.0)]]]]",
                    ]
                ),
            ),
            max_size=2,
        )
    )
    return Case(f"out = dlfeval({', '.join([fn] + args)})", ["dlfeval"], "autodiff")


@st.composite
def derivative_case(draw) -> Case:
    fn = draw(st.sampled_from(["dljacobian", "dldivergence", "dllaplacian"]))
    fmt = draw(st.sampled_from(["", "CB", "SCB", "C"]))
    # Small sizes: the helpers take one gradient per component, a million is slow, not wrong.
    shape = draw(shape_of(len(fmt) if fmt else draw(st.integers(1, 3)), small_side))
    x = dl(shape, fmt)
    u = draw(
        st.sampled_from(
            [
                "x * x",
                "x.sum(0, keepdims=True)",
                "x.sum()",
                "sin(x)",
                "x[:1] * x[:1]",
                "stripdims(x) * 2",
                "x * dlarray(1j)",
                "dlarray(R((2, 2)))",
            ]
        )
    )
    dim = draw(option(["0", "1", "'C'", "'B'", "-1"], ["'Q'", "'S'", "5", "'CB'"]))
    ehd = draw(weighted(["True", "False"], ["None", "'x'"], 0.1))
    return Case(
        f"def f(x):\n    return {fn}({u}, x, {dim}, enable_higher_derivatives={ehd})\nout = dlfeval(f, {x})", [fn, "dlgradient"], "autodiff"
    )


# ----- optimizers -----------------------------------------------------------------------------

_PARAMS = {
    "dict": "{'w': dlarray(R((2, 3))), 'b': dlarray(R((3,)))}",
    "list": "[dlarray(R((2, 3))), dlarray(R((3,)))]",
    "tuple": "(dlarray(R((2,))),)",
    "array": "dlarray(R((2, 2)))",
    "numpy": "R((2, 2))",
    "nested": "{'a': [dlarray(R((2,))), {'b': dlarray(R((0, 3)))}]}",
    "net": "dlnetwork([featureInputLayer(3), fullyConnectedLayer(2)])",
    "empty": "{}",
    "complex": "[dlarray(R((2,), 'complex64'))]",
    "f64": "[dlarray(R((2,), 'float64'))]",
}
#: A gradient or state tree: the right one (``{P}``) or one that does not match the parameters.
_MUTATIONS = [
    "{P}",
    "{P}",
    "{P}",
    "{P}",
    "None",
    "5",
    "'x'",
    "[]",
    "{{}}",
    "{{'w': {P}}}",
    "[{P}]",
    "({P},)",
    "{{'zz': dlarray(1.0)}}",
    "[dlarray(R((3, 2))), dlarray(R((3,)))]",
    "{{'w': dlarray(R((2, 3))), 'b': dlarray(R((4,)))}}",
    "dlarray(R((2, 2), 'float64'))",
    "{{'w': None, 'b': None}}",
    "[None, None]",
    "dlarray(R((2, 3)))",
    "R((2, 2), 'complex64')",
    "R((2, 2), 'int64')",
    "dlnetwork([featureInputLayer(3), fullyConnectedLayer(3)]).learnables",
    "dlnetwork([featureInputLayer(2), fullyConnectedLayer(2)])",
    "[dlarray(R((2, 3))), dlarray(R((3,))), dlarray(R((1,)))]",
    "{{'w': dlarray(R((2, 3))), 'b': 'x'}}",
    "dlarray(np.full((2, 2), np.nan, np.float32))",
    "R((0,))",
]
_DECAYS = ["0", "1", "-0.5", "2", "float('nan')", "None"]


def _tree(draw, right: str) -> str:
    return draw(st.sampled_from(_MUTATIONS)).format(P=right)


@st.composite
def optimizer_case(draw) -> Case:
    p = _PARAMS[draw(st.sampled_from(sorted(_PARAMS)))]
    g = _tree(draw, "grads")
    fn = draw(st.sampled_from(["adamupdate", "rmspropupdate", "sgdmupdate", "dlupdate", "lbfgsupdate"]))
    head = f"params = {p}\ngrads = dl.optim._params.map_leaves(lambda v: v * 0.5, params)\n"
    lr = draw(option(["0.01", "0.001", "1"], ["0", "-1", "float('nan')", "'0.1'", "[0.1]"], 0.25))
    if fn == "adamupdate":
        s1, s2 = _tree(draw, draw(st.sampled_from(["grads", "None"]))), _tree(draw, draw(st.sampled_from(["grads", "None"])))
        it = draw(option(["1", "2", "10"], ["0", "-1", "1.5", "2**63", "None"], 0.3))
        kw = ", ".join(
            f"{k}={draw(option([v], _DECAYS, 0.25))}" for k, v in (("grad_decay", "0.9"), ("sq_grad_decay", "0.999"), ("epsilon", "1e-8"))
        )
        return Case(head + f"out = adamupdate(params, {g}, {s1}, {s2}, {it}, {lr}, {kw})", [fn], "optimizer")
    if fn == "rmspropupdate":
        s = _tree(draw, draw(st.sampled_from(["grads", "None"])))
        return Case(head + f"out = rmspropupdate(params, {g}, {s}, {lr}, {draw(option(['0.9'], _DECAYS))})", [fn], "optimizer")
    if fn == "sgdmupdate":
        v = _tree(draw, draw(st.sampled_from(["grads", "None"])))
        return Case(head + f"out = sgdmupdate(params, {g}, {v}, {lr}, {draw(option(['0.9', '0'], _DECAYS))})", [fn], "optimizer")
    if fn == "dlupdate":
        f = draw(
            st.sampled_from(
                [
                    "lambda p: p * 2",
                    "lambda p, g: p - g",
                    "fail",
                    "5",
                    "lambda p: 'x'",
                    "lambda p: None",
                    "lambda p: dlarray(R((9,)))",
                    "lambda *a: a",
                    "lambda p, g: (p, g)",
                ]
            )
        )
        more = draw(st.lists(st.sampled_from([g, "grads"]), max_size=2))
        return Case(head + f"out = dlupdate({', '.join([f, 'params'] + more)})", [fn], "optimizer")
    loss = draw(
        st.sampled_from(
            [
                "lambda p: (builtins.sum(v.sum() for v in dl._tree.tree_leaves(p)) ** 2, "
                "dlgradient(builtins.sum(v.sum() for v in dl._tree.tree_leaves(p)) ** 2, p))",
                "lambda p: (dlarray(1.0), p)",
                "lambda p: 5",
                "fail",
                "lambda p: (dlarray(R((2,))), p)",
                "lambda p: None",
                "lambda p: (dlarray(float('nan')), p)",
                "lambda p: (dlarray(1.0),)",
                "lambda p: (dlarray(1.0), [], 3)",
            ]
        )
    )
    state = draw(weighted(["None", "lbfgsState()"], ["lbfgsState(history_size=0)", "5", "'x'", "lbfgsState(history_size=2**40)"], 0.3))
    kw = draw(
        st.sampled_from(
            [
                "",
                ", line_search_method='backtracking'",
                ", line_search_method='x'",
                ", max_num_line_search_iterations=0",
                ", max_num_line_search_iterations=-1",
                ", num_loss_function_outputs=5",
                ", num_loss_function_outputs=0",
                ", line_search_method=None",
            ]
        )
    )
    # A loss calling dlgradient outside dlfeval is dlgradient's error.
    return Case(head + f"out = lbfgsupdate(params, {loss}, {state}{kw})", [fn, "lbfgsState", "dlgradient"], "optimizer")


AUTODIFF_FAMILIES = {
    "gradient": gradient_case(),
    "dlfeval": dlfeval_case(),
    "derivative": derivative_case(),
    "optimizer": optimizer_case(),
}
