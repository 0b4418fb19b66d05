"""The fuzz worker: a subprocess that runs cases sent by the harness and reports each outcome.

Protocol: one JSON object per line on stdin; one JSON object per line on the result channel
(the original stdout; the cases' own prints go to /dev/null).

* ``{"id", "src", "ops"}`` runs that case and answers its result.
* ``{"cmd": "fuzz", "seed", "n", "families", "first_id"}`` draws ``n`` cases with hypothesis
  (in the worker, so that every worker generates in parallel) and for each one sends
  ``{"case": ...}`` before running it — so the harness knows the case even if it kills the
  worker — then its result; ``{"done": true}`` ends the job.

The worker's stderr is a file the harness reads back: Rust writes a panic's source location
there, and faulthandler a hanging case's Python stack.

Each case's source runs with a fresh copy of the ``PREAMBLE`` namespace. A case may bind
``out``: the worker then prints it and converts every dlarray in it to numpy, so results that
cannot be shown or exported count against the call that made them.
"""

from __future__ import annotations

import faulthandler
import json
import os
import re
import resource
import sys
import time
from typing import Any, Dict

from .outcome import CASE_FILE, classify, names_op

#: What every case's source can use. Kept short, so that a printed case is a reproducer.
PREAMBLE = '''
import builtins
import numpy as np
import dlarray as dl
from dlarray import *

class FuzzUserError(Exception):
    """Raised on purpose by callables a case passes to the library."""

def R(shape, dtype="float32"):
    """A deterministic array of ``shape`` and numpy ``dtype`` (any dtype, even str/object)."""
    dt = np.dtype(dtype)
    n = int(np.prod(shape, dtype=np.int64)) if len(shape) else 1
    v = (np.arange(n) % 7 - 3) * 0.5
    if dt.kind in "fc":
        return v.astype(dt).reshape(shape)
    if dt.kind in "iu":
        return (np.arange(n) % 3).astype(dt).reshape(shape)
    if dt.kind == "b":
        return (np.arange(n) % 2 == 0).reshape(shape)
    if dt.kind in "US":
        return np.full(shape, "a", dtype=dt)
    return np.full(shape, None, dtype=object)

def fail(*args, **kwargs):
    raise FuzzUserError("raised by the case's own callable")
'''

_RUST_AT = re.compile(r"panicked at ([\w./\\-]+\.rs:\d+)(?::\d+)?|\bat ((?:rust|src)/[\w./-]+\.rs:\d+)")


def rust_location(text: str) -> str:
    """The Rust source location of the last panic in ``text`` (stderr or a message)."""
    found = _RUST_AT.findall(text)
    if not found:
        return ""
    a, b = found[-1]
    return a or b


def _touch(x: Any, depth: int = 0) -> None:
    """Print and export every dlarray in a result (tuples, lists, dicts, tables)."""
    import numpy as np
    from dlarray import dlarray

    if depth > 4:
        return
    if isinstance(x, dlarray):
        np.asarray(x)  # first: a bad export can crash the process, a bad repr only raise
        repr(x)
        return
    if isinstance(x, dict):
        for v in list(x.values())[:16]:
            _touch(v, depth + 1)
    elif isinstance(x, (list, tuple)):
        for v in list(x)[:16]:
            _touch(v, depth + 1)
    else:
        repr(x)


def _error_classes():
    """(typed, internal) exception classes of the installed library: those of ``dlarray.errors``."""
    from dlarray import errors

    typed, internal = [], []
    for name in errors.__all__:
        obj = getattr(errors, name)
        if isinstance(obj, type) and issubclass(obj, BaseException):
            (internal if name == "InternalError" else typed).append(obj)
    return typed, internal


class _Runner:
    def __init__(self, results, timeout: float):
        self.results = results
        self.timeout = timeout
        self.base: Dict[str, Any] = {}
        exec(compile(PREAMBLE, "<fuzz-preamble>", "exec"), self.base)
        self.typed, self.internal = _error_classes()
        self.user_error = self.base["FuzzUserError"]
        self.stderr_path = os.environ.get("DLARRAY_FUZZ_STDERR", "")

    def _stderr_since(self, offset: int) -> str:
        if not self.stderr_path:
            return ""
        sys.stderr.flush()
        try:
            with open(self.stderr_path, "rb") as f:
                f.seek(offset)
                return f.read(20000).decode("utf-8", "replace")
        except OSError:
            return ""

    def _stderr_size(self) -> int:
        try:
            return os.fstat(2).st_size
        except OSError:
            return 0

    def run(self, case: Dict[str, Any]) -> Dict[str, Any]:
        ops = case.get("ops") or []
        res: Dict[str, Any] = {"id": case["id"], "cat": "ok", "op": ops[0] if ops else ""}
        offset = self._stderr_size()
        ns = dict(self.base)
        stage = "call"
        faulthandler.dump_traceback_later(self.timeout, exit=False)
        t0 = time.perf_counter()
        try:
            code = compile(case["src"], CASE_FILE, "exec")
        except SyntaxError as exc:
            faulthandler.cancel_dump_traceback_later()
            res.update(cat="badcase", exc="SyntaxError", msg=str(exc))
            return res
        try:
            exec(code, ns)
            if "out" in ns:
                stage = "result"
                _touch(ns["out"])
        except BaseException as exc:  # noqa: BLE001 - every outcome is recorded
            if isinstance(exc, (KeyboardInterrupt, SystemExit)) and not isinstance(exc, self.user_error):
                raise
            cat, reason = classify(exc, self.typed, self.internal, self.user_error)
            tb = exc.__traceback__
            while tb is not None and tb.tb_next is not None:
                tb = tb.tb_next
            where = f"{tb.tb_frame.f_code.co_filename}:{tb.tb_lineno}" if tb is not None else ""
            msg = str(exc)
            res.update(
                cat=cat,
                reason=reason,
                exc=f"{type(exc).__module__}.{type(exc).__name__}",
                msg=msg[:600],
                where=_short_path(where),
                stage=stage,
            )
            if cat == "typed":
                res["names_op"] = names_op(msg, ops)
            if cat in ("panic", "internal"):
                res["rust_at"] = rust_location(msg) or rust_location(self._stderr_since(offset))
        finally:
            faulthandler.cancel_dump_traceback_later()
        res["seconds"] = round(time.perf_counter() - t0, 4)
        return res


def _short_path(where: str) -> str:
    for marker in ("/python/dlarray/", "/site-packages/dlarray/"):
        if marker in where:
            return "dlarray/" + where.split(marker, 1)[1]
    if "/numpy/" in where:
        return "numpy/" + where.split("/numpy/", 1)[1]
    return where


def main() -> None:
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # an abort writes no core file
    limit_gb = float(os.environ.get("DLARRAY_FUZZ_MEMORY_GB", "4"))
    if limit_gb > 0:
        # Big-but-legal allocations fail fast instead of swapping the shared machine.
        limit = int(limit_gb * 2**30)
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    timeout = float(os.environ.get("DLARRAY_FUZZ_CASE_TIMEOUT", "10"))
    results = os.fdopen(os.dup(1), "w", buffering=1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    sys.stdout = open(os.devnull, "w")
    runner = _Runner(results, timeout)
    results.write(json.dumps({"ready": True}) + "\n")
    for line in sys.stdin:
        if not line.strip():
            continue
        msg = json.loads(line)
        if msg.get("cmd") == "exit":
            break
        if msg.get("cmd") == "fuzz":
            _fuzz(runner, results, msg)
        else:
            results.write(json.dumps(runner.run(msg)) + "\n")


def _fuzz(runner: _Runner, results, job: Dict[str, Any]) -> None:
    from .generators import draw_cases

    try:
        cases = draw_cases(job["n"], job["seed"], job["families"])
    except Exception:  # noqa: BLE001 - a broken generator is reported, not fatal
        import traceback

        results.write(json.dumps({"gen_error": traceback.format_exc()}) + "\n")
        return
    for i, c in enumerate(cases):
        case = {"id": job["first_id"] + i, "src": c.src, "ops": list(c.ops), "family": c.family}
        results.write(json.dumps({"case": case}) + "\n")
        results.write(json.dumps(runner.run(case)) + "\n")
    results.write(json.dumps({"done": True}) + "\n")


if __name__ == "__main__":
    main()
