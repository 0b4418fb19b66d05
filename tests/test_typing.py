"""Static typing of the public API.

* Every public module lists its names in a literal ``__all__`` (what mypy and star imports
  follow), and the top-level one covers the package without shadowing Python's builtins.
* mypy, with pyproject.toml's configuration, on code written against the API: the README's
  and docs/monitor.md's code blocks, tests/typing/ and dlarray.examples.
* stubtest: python/dlarray/_core.pyi matches the compiled module.

The mypy checks skip when mypy is not installed (the ``test`` extra installs it).
"""

import ast
import builtins
import importlib
import importlib.util
import pathlib
import re
import subprocess
import sys
import types

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "python" / "dlarray"
BUILTIN_NAMES = {"abs", "complex", "max", "min", "round", "sum"}


def _public_modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        if any(p.startswith("_") for p in parts):
            continue
        yield ".".join(parts), path


def _static_all(path: pathlib.Path):
    """The names of a module's ``__all__`` if it is built from literals only (an assigned
    list or tuple of strings, then ``append``/``extend``/``+=`` of literals), else None."""
    names = None
    for node in ast.parse(path.read_text()).body:
        target = value = None
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        elif isinstance(node, ast.AugAssign) and isinstance(node.op, ast.Add):
            target, value = node.target, node.value
        elif (
            isinstance(node, ast.Expr)
            and isinstance(node.value, ast.Call)
            and isinstance(node.value.func, ast.Attribute)
            and isinstance(node.value.func.value, ast.Name)
            and node.value.func.value.id == "__all__"
        ):
            call = node.value
            if names is None or call.func.attr not in ("append", "extend") or len(call.args) != 1:
                return None
            try:
                item = ast.literal_eval(call.args[0])
            except ValueError:
                return None
            names += [item] if call.func.attr == "append" else list(item)
            continue
        if not (isinstance(target, ast.Name) and target.id == "__all__"):
            continue
        try:
            items = ast.literal_eval(value)
        except ValueError:
            return None
        if not isinstance(items, (list, tuple)) or not all(isinstance(n, str) for n in items):
            return None
        names = (names or []) + list(items) if isinstance(node, ast.AugAssign) else list(items)
    return names


def _import(name):
    try:
        return importlib.import_module(name)
    except ImportError as error:
        pytest.skip(f"{name} not importable ({error})")


@pytest.mark.parametrize("name,path", list(_public_modules()), ids=[name for name, _ in _public_modules()])
def test_public_module_has_a_static_all(name, path):
    names = _static_all(path)
    assert names is not None, f"{name}: no __all__ built from literals"
    assert len(set(names)) == len(names), f"{name}: duplicates in __all__"
    module = _import(name)
    assert list(module.__all__) == names
    # A package may list submodules, which a star import then imports.
    missing = [n for n in names if not hasattr(module, n) and not (path.name == "__init__.py" and importlib.util.find_spec(f"{name}.{n}"))]
    assert not missing, f"{name}.__all__ names what it does not define: {missing}"


def test_top_level_all_covers_the_package_without_shadowing_builtins():
    dl = _import("dlarray")
    public = {n for n in dir(dl) if not n.startswith("_") and not isinstance(getattr(dl, n), types.ModuleType)}
    assert public - set(dl.__all__) == BUILTIN_NAMES, "names exported but missing from dlarray.__all__ (or builtins added to it)"
    namespace: dict = {}
    exec("from dlarray import *", namespace)
    bound = set(namespace) - {"__builtins__"}
    assert bound == set(dl.__all__)
    assert not bound & set(dir(builtins))
    assert not any(isinstance(v, types.ModuleType) for k, v in namespace.items() if k != "__builtins__")
    for name in BUILTIN_NAMES:  # still there by name
        assert getattr(dl, name) is not getattr(builtins, name)


def _code_blocks(markdown: pathlib.Path):
    return re.findall(r"```python\n(.*?)```", markdown.read_text(), re.S)


def test_mypy_on_code_using_the_public_api(tmp_path):
    pytest.importorskip("mypy", reason="mypy not installed (pip install '.[test]')")
    blocks = []
    for doc in (ROOT / "README.md", ROOT / "docs" / "monitor.md"):
        for k, code in enumerate(_code_blocks(doc)):
            path = tmp_path / f"{doc.stem.lower()}_block_{k}.py"
            path.write_text(code)
            blocks.append(path)
    assert len(blocks) >= 3  # README: 2, monitor.md: 1
    targets = [str(p) for p in blocks] + [str(ROOT / "tests" / "typing"), str(PACKAGE / "examples")]
    proc = subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", str(ROOT / "pyproject.toml"), *targets],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Success: no issues found" in proc.stdout


def test_stubtest_core():
    pytest.importorskip("mypy", reason="mypy not installed (pip install '.[test]')")
    pytest.importorskip("dlarray._core", reason="compiled core dlarray._core not built")
    proc = subprocess.run([sys.executable, "-m", "mypy.stubtest", "dlarray._core"], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
