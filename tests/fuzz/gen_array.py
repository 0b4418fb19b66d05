"""Malformed calls on dlarray itself: the constructor and conversions, operators and the
elementwise functions, indexing, shape functions and reductions."""

from __future__ import annotations

from hypothesis import strategies as st

from .harness import Case
from .values import DTYPES, ODD_FORMATS, any_array, dl_array, format_for, nd, option, shapes, weighted

# ----- constructor and conversions ------------------------------------------------------------

_ODD_DATA = [
    "None",
    "{}",
    "'abc'",
    "b'ab'",
    "[[1], [1, 2]]",
    "[[]]",
    "[[[]]]",
    "[None]",
    "[1, 'a']",
    "2**70",
    "-2**70",
    "float('nan')",
    "float('inf')",
    "1j",
    "True",
    "object()",
    "iter([1, 2])",
    "range(3)",
    "[dlarray(1.0), 2.0]",
    "np.float16(1)",
    "np.array(1, dtype='datetime64[s]')",
    "np.array([1, 2], dtype='timedelta64[s]')",
    "np.zeros((2, 0, 3))",
    "np.zeros((0,))",
    "np.ones((1,) * 33, np.float32)",
    "np.ones((1,) * 32, np.float32)",
    "np.ones((2, 3), np.float32)[:, ::2]",
    "np.ones((2, 3), np.float32).T",
    "np.zeros(3, [('a', 'f4')])",
    "np.ma.masked_array([1.0, 2.0], [0, 1])",
    "np.matrix([[1.0, 2.0]])",
    "np.array([1.0, 2.0], '>f4')",
]


@st.composite
def constructor(draw) -> Case:
    then = draw(
        st.sampled_from(
            [
                "",
                ".astype({dt!r})",
                ".copy()",
                ".item()",
                ".tolist()",
                ".T",
                ".real",
                ".imag",
                ".conj()",
                ".fmt",
                ".astype({dt!r}).sum()",
            ]
        )
    ).format(dt=draw(st.sampled_from(DTYPES + ["'f'", "None", "int", "float"])))
    # tolist() of a huge empty array builds millions of empty lists: slow, not wrong.
    data = draw(st.one_of(any_array(max_dims=5, huge=then != ".tolist()"), st.sampled_from(_ODD_DATA)))
    n = draw(st.integers(0, 6))
    fmt = draw(st.one_of(st.just(None), format_for(n), format_for(n, valid=False), st.sampled_from(ODD_FORMATS)))
    call = f"dlarray({data})" if fmt is None else f"dlarray({data}, {fmt})"
    return Case(f"out = {call}{then}", ["dlarray", "astype", "item", "tolist", "copy", "conj", "real", "imag"], "constructor")


#: Python's and numpy's conversions, on a dlarray.
_CONVERSIONS = [
    ("float({x})", ["item", "float"]),
    ("int({x})", ["item", "int"]),
    ("complex({x})", ["item", "complex"]),
    ("bool({x})", ["bool", "truth"]),
    ("len({x})", ["len"]),
    ("list({x})", ["iter"]),
    ("np.asarray({x})", ["array"]),
    ("np.array({x}, dtype={dt})", ["array"]),
    ("repr({x})", ["repr"]),
    ("np.from_dlpack({x})", ["dlpack"]),
    ("__import__('pickle').loads(__import__('pickle').dumps({x}))", ["pickle", "reduce", "dlarray"]),
    ("({x}).__array__(copy=False)", ["array", "copy"]),
    ("hash({x})", ["hash"]),
    ("({x}).__dlpack__()", ["dlpack"]),
]
#: The library's own functions on anything.
_FUNCTIONS = [
    ("extractdata({x})", ["extractdata"]),
    ("stripdims({x}, {f})", ["stripdims"]),
    ("dims({x})", ["dims"]),
    ("finddim({x}, {f})", ["finddim"]),
    ("isdlarray({x})", ["isdlarray"]),
    ("gather({x})", ["gather"]),
]


@st.composite
def sharing(draw) -> Case:
    """``from_dlpack`` of every kind of producer (numpy arrays of any dtype and layout, views,
    read-only and non-contiguous arrays, DLPack-only wrappers, dlarrays), with each ``copy``."""
    data = draw(st.one_of(any_array(max_dims=4, huge=False), st.sampled_from(_ODD_DATA)))
    view = draw(
        st.sampled_from(["d", "np.asarray(d)", "np.asfortranarray(np.atleast_2d(d))", "np.atleast_1d(d)[..., ::2]", "_DLPackOnly(d)"])
    )
    n = draw(st.integers(0, 5))
    fmt = draw(st.one_of(st.just("None"), format_for(n), st.sampled_from(ODD_FORMATS)))
    copy = draw(st.sampled_from(["None", "True", "False", "1", "'yes'"]))
    then = draw(st.sampled_from(["", " * 2", ".sum()"]))
    src = (
        "class _DLPackOnly:\n"
        "    def __init__(self, a): self.a = a\n"
        "    def __dlpack__(self, **k): return self.a.__dlpack__(**k)\n"
        "    def __dlpack_device__(self): return self.a.__dlpack_device__()\n"
        f"d = {data}\n"
        # The producer as numpy makes it (odd data that numpy refuses goes in as it is).
        "try:\n"
        "    d = np.asarray(d) if not isinstance(d, dlarray) else d\n"
        "except Exception:\n"
        "    pass\n"
        f"p = {view} if isinstance(d, np.ndarray) else d\n"
        f"out = from_dlpack(p, {fmt}, copy={copy}){then}"
    )
    return Case(src, ["from_dlpack", "dlarray", "mul", "sum", "getitem"], "constructor")


@st.composite
def conversion(draw) -> Case:
    if draw(st.booleans()):
        # No huge empty arrays: iterating over a million empty rows is slow, not wrong.
        x = draw(dl_array(max_dims=3, huge=False))
        fn, ops = draw(st.sampled_from(_CONVERSIONS))
    else:
        x = draw(any_array(max_dims=3))
        fn, ops = draw(st.sampled_from(_FUNCTIONS))
    dt = draw(st.sampled_from(["None", "'float64'", "'int8'", "'U1'", "object"]))
    f = draw(st.one_of(st.sampled_from(["'S'", "'C'", "'B'", "'Q'", "''", "None"]), st.sampled_from(ODD_FORMATS)))
    return Case("out = " + fn.format(x=x, dt=dt, f=f), ops, "conversion")


# ----- operators and elementwise functions ----------------------------------------------------

_BINARY = [
    ("+", "add"),
    ("-", "sub"),
    ("*", "mul"),
    ("/", "div"),
    ("**", "pow"),
    ("@", "matmul"),
    ("<", "compare"),
    ("<=", "compare"),
    (">", "compare"),
    (">=", "compare"),
    ("==", "compare"),
    ("!=", "compare"),
]
_UNARY_FNS = [
    "exp",
    "log",
    "log1p",
    "sqrt",
    "sin",
    "cos",
    "tan",
    "tanh",
    "sinh",
    "cosh",
    "asin",
    "acos",
    "atan",
    "sigmoid",
    "erf",
    "abs",
    "sign",
    "floor",
    "ceil",
    "round",
    "relu",
    "real",
    "imag",
    "conj",
    "angle",
    "gelu",
]
_BINARY_FNS = ["maximum", "minimum", "atan2", "power", "complex", "matmul"]
#: dlarray's functions that share a builtin's name: ``from dlarray import *`` leaves them out.
_SHADOWING = {"sum", "max", "min", "abs", "complex", "round"}


def api(name: str) -> str:
    """Source naming dlarray's function ``name`` (``dl.sum``, not the builtin ``sum``)."""
    return f"dl.{name}" if name in _SHADOWING else name


@st.composite
def operand(draw) -> str:
    return draw(
        st.one_of(any_array(max_dims=4), st.sampled_from(["2", "0.5", "-1", "True", "1j", "float('nan')", "'x'", "None", "[1, 2]"]))
    )


@st.composite
def binary_op(draw) -> Case:
    """An operator with a dlarray on at least one side (otherwise it is not the library's)."""
    sym, name = draw(st.sampled_from(_BINARY))
    a, b = draw(dl_array(max_dims=4)), draw(operand())
    if draw(st.booleans()):
        a, b = b, a
    if sym in ("<", "<=", ">", ">=", "==", "!=") or draw(st.booleans()):
        return Case(f"out = ({a}) {sym} ({b})", [name, "broadcast", "operand"], "operator")
    # In place: x op= y rebinds x to the result, as for numpy arrays.
    return Case(f"x = {a}\nx {sym}= {b}\nout = x", [name, "broadcast", "operand"], "operator")


@st.composite
def unary_op(draw) -> Case:
    fn = draw(st.sampled_from(_UNARY_FNS))
    if draw(st.booleans()):
        form = draw(st.sampled_from(["-({x})", "+({x})", "abs({x})"]))
        return Case("out = " + form.format(x=draw(dl_array(max_dims=4))), ["neg", "pos", "abs"], "operator")
    return Case(f"out = {api(fn)}({draw(operand())})", [fn], "operator")


@st.composite
def binary_fn(draw) -> Case:
    fn = draw(st.sampled_from(_BINARY_FNS))
    return Case(f"out = {api(fn)}({draw(operand())}, {draw(operand())})", [fn], "operator")


@st.composite
def where_call(draw) -> Case:
    cond = draw(
        st.one_of(
            st.sampled_from(["True", "None", "'x'", "[True, False]"]), shapes(0, 3).map(lambda s: f"{nd(s, 'bool')}"), any_array(max_dims=3)
        )
    )
    return Case(f"out = where({cond}, {draw(operand())}, {draw(operand())})", ["where"], "operator")


@st.composite
def pagemtimes_call(draw) -> Case:
    a, b = draw(any_array(max_dims=4, dtypes=["float32", "float64", "complex64"])), draw(any_array(max_dims=4, dtypes=["float32"]))
    ta = draw(option(["'none'", "'transpose'", "'ctranspose'"], ["'T'", "'NONE'"]))
    tb = draw(option(["'none'", "'transpose'", "'ctranspose'"]))
    return Case(f"out = pagemtimes({a}, {b}, {ta}, {tb})", ["pagemtimes"], "operator")


# ----- indexing -------------------------------------------------------------------------------

_INDEX_ATOMS = [
    "0",
    "1",
    "-1",
    "2",
    "5",
    "-7",
    "2**63",
    "2**70",
    "-2**70",
    "None",
    "...",
    ":",
    "::-1",
    "::0",
    "1:0",
    "0:2**62",
    "-2**62:",
    "::2**62",
    "1.5",
    "'a'",
    "True",
    "False",
    "[0, 1]",
    "[-5]",
    "[]",
    "[[0, 1], [1, 0]]",
    "[True]",
    "np.array([0, 2**40])",
    "np.array([True, False, True])",
    "np.zeros((0,), int)",
    "np.zeros((2, 2), bool)",
    "np.array([0.5])",
    "dlarray([0.0, 1.0])",
    "slice(None, None, None)",
    "slice('a')",
    "np.newaxis",
    "np.int64(1)",
    "[0, None]",
    "(0, ...)",
    "{}",
]


@st.composite
def index_key(draw) -> str:
    parts = draw(st.lists(st.sampled_from(_INDEX_ATOMS), min_size=1, max_size=4))
    if len(parts) == 1 and draw(st.booleans()):
        return parts[0]
    return ", ".join(parts) + ("," if len(parts) == 1 else "")


@st.composite
def indexing(draw) -> Case:
    x = draw(dl_array(max_dims=4, dtypes=["float32"] * 4 + ["float64", "complex64"], formatted=0.4))
    key = draw(index_key())
    if draw(st.booleans()):
        return Case(f"x = {x}\nout = x[{key}]", ["index", "getitem"], "indexing")
    v = draw(operand())
    return Case(f"x = {x}\nx[{key}] = {v}\nout = x", ["index", "setitem", "assign"], "indexing")


# ----- shape functions ------------------------------------------------------------------------

_SHAPE_ARGS = [
    "-1",
    "0",
    "(0,)",
    "(2, -1)",
    "(-1, -1)",
    "(2**40, 2**40, 0)",
    "(2**62, 4)",
    "(2**63,)",
    "(-2, 3)",
    "(3, 2)",
    "(1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1)",
    "(6,)",
    "6",
    "2, 3",
    "3, 2",
    "(1.5,)",
    "'a'",
    "None",
    "[2, 3]",
    "np.array([2, 3])",
    "(0, -1)",
    "(True, 6)",
]
_AXES = [
    "None",
    "0",
    "1",
    "-1",
    "2",
    "5",
    "-9",
    "(0, 0)",
    "(0, 1)",
    "(1, 0)",
    "()",
    "(0, 5)",
    "'S'",
    "'C'",
    "'B'",
    "'T'",
    "'Q'",
    "'SC'",
    "''",
    "1.5",
    "[0]",
    "2**63",
    "True",
    "np.int64(0)",
    "(None,)",
]


@st.composite
def shape_fn(draw) -> Case:
    x = draw(any_array(max_dims=4, dtypes=["float32"] * 5 + ["float64", "complex64"], formatted=0.4))
    xm = draw(dl_array(max_dims=4, dtypes=["float32"] * 5 + ["float64", "complex64"], formatted=0.4))
    which = draw(
        st.sampled_from(
            ["reshape", "reshape_m", "transpose", "permute", "squeeze", "repmat", "flip", "cumsum", "concatenate", "stack", "T"]
        )
    )
    if which == "reshape":
        order = draw(weighted(["'C'", "'F'"], ["'A'", "'x'", "None", "1"], 0.2))
        return Case(f"out = reshape({x}, {draw(st.sampled_from(_SHAPE_ARGS))}, order={order})", ["reshape"], "shape")
    if which == "reshape_m":
        return Case(f"out = ({xm}).reshape({draw(st.sampled_from(_SHAPE_ARGS))})", ["reshape"], "shape")
    if which == "transpose":
        axes = draw(st.sampled_from(["", "(1, 0)", "(0, 0)", "(0, 1, 2)", "(2, 1, 0)", "(-1, 0)", "(5, 0)", "('a',)", "0", "1, 0"]))
        return Case(f"out = ({xm}).transpose({axes})", ["permute", "transpose"], "shape")
    if which == "permute":
        axes = draw(st.sampled_from(["(1, 0)", "(0,)", "()", "(0, 1, 2, 3)", "(3, 2, 1, 0)", "[0, 0]", "5", "None", "'ab'", "(0.5, 1)"]))
        return Case(f"out = permute({x}, {axes})", ["permute"], "shape")
    if which == "squeeze":
        return Case(f"out = squeeze({x}, {draw(st.sampled_from(_AXES))})", ["squeeze"], "shape")
    if which == "repmat":
        reps = draw(
            st.sampled_from(
                [
                    "2",
                    "0",
                    "-1",
                    "2**40",
                    "(2, 2)",
                    "(2**40, 2**40)",
                    "(1, 1, 1, 1, 1)",
                    "1.5",
                    "'a'",
                    "None",
                    "(0, 3)",
                    "2, 3",
                    "(2**62, 2)",
                    "[3]",
                    "()",
                    "np.int64(2)",
                    "(-1, 2)",
                ]
            )
        )
        return Case(f"out = repmat({x}, {reps})", ["repmat"], "shape")
    if which == "flip":
        return Case(f"out = flip({x}, {draw(st.sampled_from(_AXES))})", ["flip"], "shape")
    if which == "cumsum":
        rev = draw(weighted(["False", "True"], ["'yes'", "None", "2"]))
        return Case(f"out = cumsum({x}, {draw(st.sampled_from(_AXES))}, {rev})", ["cumsum"], "shape")
    if which == "T":
        return Case(f"out = ({xm}).T", ["transpose", "permute"], "shape")
    items = draw(st.lists(st.one_of(st.just(x), any_array(max_dims=4, formatted=0.3)), min_size=0, max_size=3))
    seq = draw(st.sampled_from(["[{}]", "({})", "iter([{}])"])).format("".join(f"{i}, " for i in items))
    if which == "concatenate":
        axis = draw(st.sampled_from(_AXES + ["'default'"]))
        call = f"concatenate({seq})" if axis == "'default'" else f"concatenate({seq}, axis={axis})"
        return Case(f"out = {call}", ["concatenate"], "shape")
    return Case(f"out = stack({seq}, axis={draw(st.sampled_from(_AXES))})", ["stack"], "shape")


# ----- reductions -----------------------------------------------------------------------------

_REDUCTIONS = ["sum", "mean", "prod", "max", "min"]


@st.composite
def reduction(draw) -> Case:
    x = draw(any_array(max_dims=4, dtypes=["float32"] * 5 + ["float64", "complex64", "int32"], formatted=0.4))
    fn = draw(st.sampled_from(_REDUCTIONS + ["norm"]))
    axis = draw(st.sampled_from(_AXES))
    keep = draw(weighted(["False", "True"], ["'yes'", "None", "2", "[]"], 0.2))
    if fn == "norm":
        ord_ = draw(
            weighted(["2", "1", "float('inf')", "3", "0.5", "None"], ["0", "-1", "-float('inf')", "'fro'", "float('nan')", "1j", "'2'"])
        )
        return Case(f"out = norm({x}, {ord_}, {axis}, {keep})", ["norm"], "reduction")
    if draw(st.booleans()):
        return Case(f"out = {api(fn)}({x}, {axis}, {keep})", [fn], "reduction")
    xm = draw(dl_array(max_dims=4, dtypes=["float32"] * 5 + ["float64", "complex64"], formatted=0.4))
    return Case(f"out = ({xm}).{fn}({axis}, {keep})", [fn], "reduction")


ARRAY_FAMILIES = {
    "constructor": constructor(),
    "sharing": sharing(),
    "conversion": conversion(),
    "binary": binary_op(),
    "unary": unary_op(),
    "binary_fn": binary_fn(),
    "where": where_call(),
    "pagemtimes": pagemtimes_call(),
    "indexing": indexing(),
    "shape": shape_fn(),
    "reduction": reduction(),
}
