"""Docstrings of what is implemented in Rust (``dlarray._core``).

* Every public function and class of ``dlarray._core`` (all of them are exported by
  ``dlarray``, in ``__all__`` or as the builtin-shadowing re-exports), every public method
  and property of ``dlarray.dlarray``, and every error class has a docstring whose first line
  is a sentence, not a bare signature.
* The examples in those docstrings run as doctests (numpy's default print options).
* The stub ``python/dlarray/_core.pyi`` carries the same docstrings, so the API reference
  built from it says what ``help()`` says.
"""

import ast
import doctest
import inspect
import pathlib
import re

import dlarray
import dlarray.errors
import numpy as np
import pytest
from dlarray import _core

STUB = pathlib.Path(__file__).resolve().parents[1] / "python" / "dlarray" / "_core.pyi"
# Re-exported by dlarray but left out of its __all__ (a star import must not shadow builtins).
BUILTIN_NAMES = ("abs", "complex", "max", "min", "round", "sum")


def _documented_objects():
    """(name, object) of every public object implemented in _core, and of every error class."""
    found = {}
    for name in list(dlarray.__all__) + [n for n in BUILTIN_NAMES if hasattr(dlarray, n)]:
        obj = getattr(dlarray, name)
        if getattr(_core, name, None) is obj:
            found[name] = obj
    # _core's own public names too: the top-level relu, sigmoid and tanh are the format-aware
    # wrappers of dlarray.nn, built on _core's.
    for name in _core.__all__:
        obj = getattr(_core, name)
        if not name.startswith("_") and obj not in found.values():
            found[f"_core.{name}"] = obj
    for name in dlarray.errors.__all__:
        found.setdefault(name, getattr(dlarray.errors, name))
    for name, member in vars(_core.dlarray).items():
        if not name.startswith("_"):
            found[f"dlarray.{name}"] = member
    return sorted(found.items())


OBJECTS = _documented_objects()
IDS = [name for name, _ in OBJECTS]


def _doc(obj):
    return inspect.cleandoc(obj.__doc__ or "")


def test_the_objects_are_found():
    names = set(IDS)
    # The Rust-implemented functions, the class, its members and the error classes are all covered.
    for name in [
        "dlarray",
        "exp",
        "where",
        "pagemtimes",
        "extractdata",
        "abs",
        "round",
        "_core.relu",
        "dlarray.sum",
        "dlarray.reshape",
        "dlarray.shape",
        "dlarray.T",
        "dlarray.astype",
        "ShapeError",
        "InternalError",
        "CheckpointError",
        "DeviceError",
    ]:
        assert name in names, name
    public_core = [n for n in _core.__all__ if not n.startswith("_")]
    assert len([n for n in IDS if not n.startswith("dlarray.")]) >= len(public_core)


@pytest.mark.parametrize("name, obj", OBJECTS, ids=IDS)
def test_docstring_starts_with_a_sentence(name, obj):
    doc = _doc(obj)
    assert doc, f"{name} has no docstring"
    first = doc.split("\n", 1)[0].strip()
    assert not re.fullmatch(r"[\w.]*\(.*\)(\s*->.*)?", first), f"{name}: the first line is a signature: {first!r}"
    assert "\n--\n" not in doc, f"{name}: a text signature leaked into the docstring"
    assert re.match(r"[A-Z0-9`'\"]", first), f"{name}: the first line does not start a sentence: {first!r}"
    # A summary sentence: one line in the Rust docstrings; a Python class may wrap it.
    summary = " ".join(doc.split("\n\n", 1)[0].split())
    assert summary.endswith("."), f"{name}: the summary is not a whole sentence: {summary!r}"
    assert len(summary.split()) >= 3, f"{name}: the summary is too short to say anything: {summary!r}"


WITH_EXAMPLES = [(name, obj) for name, obj in OBJECTS if ">>>" in _doc(obj)]


def test_there_are_examples():
    assert len(WITH_EXAMPLES) >= 40, [name for name, _ in WITH_EXAMPLES]


@pytest.mark.parametrize("name, obj", WITH_EXAMPLES, ids=[name for name, _ in WITH_EXAMPLES])
def test_docstring_examples_run(name, obj):
    test = doctest.DocTestParser().get_doctest(_doc(obj), {"__name__": "__doctest__"}, name, None, 0)
    assert test.examples
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    report = []
    # numpy's default print options, whatever an earlier test set.
    with np.printoptions(precision=8, threshold=1000, edgeitems=3, linewidth=75, suppress=False, floatmode="maxprec"):
        result = runner.run(test, out=report.append)
    assert result.failed == 0, "".join(report)


def _stub_docstrings():
    """Docstrings of _core.pyi by name: module-level defs and classes, and dlarray.<member>."""
    docs = {}
    for node in ast.parse(STUB.read_text()).body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            docs[node.name] = ast.get_docstring(node)
        if isinstance(node, ast.ClassDef) and node.name == "dlarray":
            for item in node.body:
                if isinstance(item, ast.FunctionDef):
                    docs[f"dlarray.{item.name}"] = ast.get_docstring(item)
    return docs


CORE_OBJECTS = [(name, obj) for name, obj in OBJECTS if name.startswith(("dlarray.", "_core.")) or getattr(_core, name, None) is obj]


@pytest.mark.parametrize("name, obj", CORE_OBJECTS, ids=[name for name, _ in CORE_OBJECTS])
def test_stub_carries_the_same_docstring(name, obj):
    stub = _stub_docstrings()
    key = name[len("_core.") :] if name.startswith("_core.") else name
    assert key in stub, f"{key} is missing from {STUB.name}"
    assert stub[key] == _doc(obj), f"{key}: the docstring in {STUB.name} differs from the compiled module's"
