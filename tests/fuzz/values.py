"""Hypothesis strategies for the pieces of a malformed call, each drawn as Python source.

Drawing source text rather than objects makes every case its own reproducer: the harness
runs it, the report prints it, the corpus stores it. ``R(shape, dtype)`` (the worker's
preamble) builds a deterministic numpy array of any shape and dtype.

Most draws are plausible — the right number of dims, small sizes, the usual dtype — so that
calls get past the first check and into the op; the rest are the odd values that break
parsers and kernels: zero sizes, huge sizes, wrong types, NaN, strings, nested lists.
"""

from __future__ import annotations

import math
from typing import List, Sequence

from hypothesis import strategies as st

#: Integers that break size arithmetic and range checks.
ODD_INTS = ["0", "-1", "-2", "2**31", "2**40", "2**62", "2**63", "10**6", "-2**40", "True", "False", "np.int64(2)", "np.uint8(3)"]
#: Values of the wrong type or shape for nearly any option.
ODD_VALUES = [
    "None",
    "1.5",
    "0.5",
    "float('nan')",
    "float('inf')",
    "-float('inf')",
    "'2'",
    "''",
    "'x'",
    "'same'",
    "'none'",
    "[]",
    "[1]",
    "[1, 2]",
    "[1, 2, 3, 4, 5, 6, 7]",
    "[[1, 2], [3, 4]]",
    "[[1], [2, 3]]",
    "(2,)",
    "{}",
    "object()",
    "1j",
    "b'x'",
    "slice(1)",
    "np.array([])",
    "np.float32(2)",
    "np.array(2.5)",
    "np.array([[[1]]])",
    "dlarray(2.0)",
    "R((2, 2))",
    "[1.5, 2]",
    "[-1, 2]",
    "fail",
    "...",
    "np.nan",
    "R((2,), 'U1')",
    "R((2,), 'object')",
    "{'a': 1}",
]
ODD = ODD_INTS + ODD_VALUES

#: numpy dtypes an input may have: the supported float types most of the time.
DTYPES = ["float32"] * 8 + ["float64"] * 3 + ["complex64", "float16", "int32", "int64", "bool", "uint8", "U1", "object", "complex128"]
FLOAT_DTYPES = ["float32"] * 6 + ["float64"] * 2 + ["float16", "int64", "complex64"]

LABELS = "SCBTU"
#: Format strings that are wrong in some way, or not strings at all.
ODD_FORMATS = [
    "'XY'",
    "'CC'",
    "'BB'",
    "'TT'",
    "'cb'",
    "'sscb'",
    "'S' * 40",
    "'S' * 33",
    "'SCBTUS'",
    "''",
    "' '",
    "'C B'",
    "'CB '",
    "4",
    "None",
    "b'CB'",
    "['C', 'B']",
    "'ÇB'",
    "'C\\x00'",
    "1.5",
    "('C', 'B')",
]


def weighted(good: Sequence[str], bad: Sequence[str], p_bad: float = 0.3) -> st.SearchStrategy[str]:
    """One of ``good`` most of the time, one of ``bad`` with probability about ``p_bad``."""
    cut = int(round(p_bad * 100))
    if not bad:
        return st.sampled_from(list(good))
    if not good:
        return st.sampled_from(list(bad))
    return st.integers(0, 99).flatmap(lambda k: st.sampled_from(list(bad) if k < cut else list(good)))


def option(good: Sequence[str], extra_bad: Sequence[str] = (), p_bad: float = 0.3) -> st.SearchStrategy[str]:
    """An option's value: a ``good`` one, or an odd one (``ODD`` plus ``extra_bad``)."""
    return weighted(good, list(extra_bad) + ODD, p_bad)


side = st.sampled_from([1, 2, 2, 3, 3, 0, 1, 4])
small_side = st.sampled_from([1, 2, 3, 0, 1])


def shape_of(n: int, sizes: st.SearchStrategy[int] = side) -> st.SearchStrategy[tuple]:
    return st.tuples(*([sizes] * n)) if n else st.just(())


@st.composite
def empty_huge(draw, n: int) -> tuple:
    """``n`` dims, one of them 0 and the others huge: no data, but every result that keeps
    the other dims is enormous (a test of the size checks, not of the kernels)."""
    dims = [draw(st.sampled_from([2**20, 2**21, 3])) for _ in range(n)]
    dims[draw(st.integers(0, n - 1))] = 0
    # numpy refuses shapes whose other dims multiply past 2**63, even when empty.
    while math.prod(d for d in dims if d) > 2**50:
        dims[dims.index(max(dims))] = 3
    return tuple(dims)


@st.composite
def shapes(draw, min_dims: int = 0, max_dims: int = 4, huge: bool = True) -> tuple:
    n = draw(st.integers(min_dims, max_dims))
    if huge and n >= 2 and draw(st.integers(0, 29)) == 0:
        return draw(empty_huge(n))
    return draw(shape_of(n))


def nd(shape: Sequence[int], dtype: str = "float32") -> str:
    """Source of a numpy array of ``shape``."""
    return f"R({tuple(shape)!r}, {dtype!r})" if dtype != "float32" else f"R({tuple(shape)!r})"


def dl(shape: Sequence[int], fmt: str = "", dtype: str = "float32") -> str:
    """Source of a dlarray (formatted when ``fmt``)."""
    inner = nd(shape, dtype)
    return f"dlarray({inner}, {fmt!r})" if fmt else f"dlarray({inner})"


def format_for(n: int, valid: bool = True) -> st.SearchStrategy[str]:
    """A format string of ``n`` labels (as source): a valid one (C, B and T at most once, in
    any order), or with ``valid=False`` any labels at all."""
    if n == 0:
        return st.just("''")

    @st.composite
    def draw_fmt(draw):
        labels = draw(st.lists(st.sampled_from("SSSCBTU"), min_size=n, max_size=n))
        if valid:
            seen = set()
            for i, c in enumerate(labels):
                if c in "CBT" and c in seen:
                    labels[i] = draw(st.sampled_from("SU"))
                seen.add(labels[i])
        return repr("".join(labels))

    return draw_fmt()


@st.composite
def any_array(
    draw, max_dims: int = 4, dtypes: Sequence[str] = DTYPES, formatted: float = 0.3, dl_only: bool = False, huge: bool = True
) -> str:
    """A dlarray, numpy array, list or scalar of any shape and dtype (source); always a
    dlarray with ``dl_only`` (for methods and operators, which only a dlarray has); never an
    empty array with huge other dims unless ``huge``."""
    shape = draw(shapes(0, max_dims, huge))
    dtype = draw(st.sampled_from(list(dtypes)))
    kind = 0 if dl_only else draw(st.integers(0, 9))
    if kind < 6:
        if dtype in ("U1", "object"):
            dtype = "float32"
        if draw(st.floats(0, 1)) < formatted and shape:
            fmt = draw(format_for(len(shape)))
            return f"dlarray({nd(shape, dtype)}, {fmt})"
        return dl(shape, dtype=dtype)
    if kind < 8:
        return nd(shape, dtype)
    if kind == 8:
        return draw(st.sampled_from(["1.5", "2", "0", "-1", "True", "1j", "float('nan')", "[1.0, 2.0]", "[[1.0], [2.0]]", "[]"]))
    return draw(st.sampled_from(ODD))


def dl_array(max_dims: int = 4, dtypes: Sequence[str] = DTYPES, formatted: float = 0.3, huge: bool = True) -> st.SearchStrategy[str]:
    return any_array(max_dims, dtypes, formatted, dl_only=True, huge=huge)


def fmt_value(labels: str, p_bad: float = 0.15) -> st.SearchStrategy[str]:
    """A ``data_format=`` value for data laid out as ``labels``."""
    return weighted([repr(labels), repr(labels.lower())] if labels else ["''"], ODD_FORMATS + ["'SSCB'", "'CBT'", "'T'"], p_bad)


class Input:
    """An op's main input drawn for a layout: its source, the labels, its sizes and the
    ``data_format=`` keyword (empty for a formatted input)."""

    def __init__(self, src: str, labels: str, shape: tuple, kw: str):
        self.src, self.labels, self.shape, self.kw = src, labels, shape, kw

    def size(self, label: str, default: int = 1) -> int:
        return self.shape[self.labels.index(label)] if label in self.labels else default

    def call_kw(self) -> str:
        """``, data_format=...`` or nothing."""
        return f", {self.kw}" if self.kw else ""


def _canonical(labels: str) -> str:
    order = {c: i for i, c in enumerate("SCBTU")}
    return "".join(sorted(labels, key=lambda c: order[c]))


@st.composite
def layout_input(draw, layouts: Sequence[str], dtypes: Sequence[str] = FLOAT_DTYPES, sizes: st.SearchStrategy[int] = side) -> Input:
    """The main input of a deep-learning op whose data is laid out as one of ``layouts``."""
    labels = draw(st.sampled_from(list(layouts)))
    if len(labels) >= 2 and draw(st.integers(0, 29)) == 0:
        shape = draw(empty_huge(len(labels)))
    else:
        shape = draw(shape_of(len(labels), sizes))
    dtype = draw(st.sampled_from(list(dtypes)))
    mode = draw(st.integers(0, 9))
    if mode < 6:
        labels = _canonical(labels)
        return Input(dl(shape, labels, dtype), labels, shape, "")
    if mode < 9:
        kw = f"data_format={draw(fmt_value(labels))}"
        perm = draw(st.permutations(range(len(labels))))
        labels = "".join(labels[i] for i in perm)
        src = dl(shape, "", dtype) if mode < 8 else nd(shape, dtype)
        return Input(src, labels, shape, kw)
    # Formatted, and a data_format as well (agreeing or not).
    labels = _canonical(labels)
    return Input(dl(shape, labels, dtype), labels, shape, f"data_format={draw(fmt_value(labels, 0.5))}")


def sized(n: int, p_bad: float = 0.2) -> st.SearchStrategy[int]:
    """``n`` most of the time, or a wrong size near it."""
    return weighted([str(n)], [str(max(n - 1, 0)), str(n + 1), "0", str(2 * n + 1)], p_bad).map(int)


def param(shape: Sequence[int], p_bad: float = 0.2, dtypes: Sequence[str] = ("float32",)) -> st.SearchStrategy[str]:
    """A parameter array of ``shape`` (a numpy array or a dlarray), or an odd one."""

    @st.composite
    def draw_param(draw):
        k = draw(st.floats(0, 1))
        if k < p_bad:
            return draw(st.one_of(any_array(max_dims=3), st.sampled_from(ODD)))
        s = tuple(shape)
        if math.prod(s) > 2**16:  # a parameter for huge (empty) data: make it empty too
            s = s[:-1] + (0,)
        if k < p_bad * 1.5 and s:
            # One dim off by one, or dropped.
            i = draw(st.integers(0, len(s) - 1))
            s = s[:i] + (s[i] + draw(st.sampled_from([1, -1])),) + s[i + 1 :] if draw(st.booleans()) else s[:i] + s[i + 1 :]
            s = tuple(max(v, 0) for v in s)
        dtype = draw(st.sampled_from(list(dtypes)))
        return nd(s, dtype) if draw(st.booleans()) else dl(s, "", dtype)

    return draw_param()


def joined(parts: List[str]) -> str:
    return ", ".join(p for p in parts if p)
