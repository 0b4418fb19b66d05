"""What became of one fuzz case, in the categories the fuzzer reports.

=========  ==================================================================================
ok         the call returned (and its result could be printed and converted to numpy)
typed      a dlarray exception (``dlarray.errors`` classes, ``OutOfMemoryError``,
           ``dlarray.io.CheckpointError``)
allowed    a builtin exception that Python or numpy semantics prescribe (see ``ALLOWED``)
leak       any other exception: an untyped error escaped the library
internal   ``InternalError``: a Rust panic caught by the bindings (still a bug)
panic      pyo3's ``PanicException``: a Rust panic that reached Python uncaught
abort      the process died (signal, ``memory allocation failed``...) running the case alone
hang       the case alone ran past the time limit
wrong      the case's own ``assert`` failed (corpus cases check results this way)
badcase    the case's source does not compile (a bug in the fuzzer)
=========  ==================================================================================

``classify`` runs inside the worker, where the exception object exists; the harness adds
``abort`` and ``hang``.
"""

from __future__ import annotations

import re
from typing import Any, Dict, Optional, Sequence, Tuple

CATEGORIES = ("ok", "typed", "allowed", "leak", "internal", "panic", "abort", "hang", "wrong", "badcase")
#: The categories that are bugs: the CI test asserts that none of them occurs.
FAILURES = ("leak", "internal", "panic", "abort", "hang", "wrong", "badcase")

#: The builtin exceptions a correct library still raises, by reason:
#:
#: * ``binding``: ``TypeError`` from Python's own argument binding — a wrong number of
#:   arguments or an unknown keyword. The function never ran; Python names it in the message.
#: * ``protocol``: errors the Python data model prescribes for a dunder called by syntax
#:   (``a + "x"`` → ``unsupported operand type(s)``; ``hash(x)`` → ``unhashable type``;
#:   ``len()`` or ``iter()`` of a 0-d array; numpy's in-place operator with a dlarray, refused
#:   by ``__array_ufunc__ = None``), and ``KeyError`` from a mapping's ``__getitem__`` (a
#:   learnables table looked up by name).
#: * ``memory``: ``MemoryError`` from numpy when the fuzzer's own arguments are too large to
#:   build (the library's own out-of-memory error is the typed ``OutOfMemoryError``).
#: * ``user``: ``FuzzUserError``, raised by a callable the case passed in (a model function, a
#:   loss, a layer function): the library must let it through unchanged.
ALLOWED = ("binding", "protocol", "memory", "user")

_BINDING = re.compile(
    r"(\w+\(\) )?(missing \d+ required (positional|keyword-only) argument"
    r"|takes (from \d+ to )?\d+ (positional )?arguments? but \d+ (was|were) given"
    r"|takes no arguments|takes at most \d+|takes exactly \d+"
    r"|got an unexpected keyword argument|got multiple values for (keyword )?argument"
    r"|got some positional-only arguments passed as keyword arguments)"
)
_PROTOCOL = re.compile(
    r"unsupported operand type\(s\)|unhashable type|not supported between instances of"
    r"|bad operand type for unary|len\(\) of (a 0-d|unsized)|iteration over a 0-d"
    r"|does not support ufuncs \(__array_ufunc__=None\)|can only concatenate str|can't multiply sequence by non-int"
)
#: Name of the file the worker compiles a case's source under.
CASE_FILE = "<fuzz-case>"


def _innermost(tb) -> Tuple[str, int, str]:
    """(file, line, function) of the frame that raised."""
    if tb is None:
        return ("?", 0, "?")
    while tb.tb_next is not None:
        tb = tb.tb_next
    code = tb.tb_frame.f_code
    return (code.co_filename, tb.tb_lineno, code.co_name)


def _within_item_access(tb) -> bool:
    """Whether a traceback passes through ``__getitem__`` / ``__setitem__`` / ``__delitem__``."""
    while tb is not None:
        if tb.tb_frame.f_code.co_name in ("__getitem__", "__setitem__", "__delitem__"):
            return True
        tb = tb.tb_next
    return False


def allowed_reason(exc: BaseException, user_error: type) -> Optional[str]:
    """Why a builtin exception is acceptable, or None when it is a leak."""
    if isinstance(exc, user_error):
        return "user"
    file, _, func = _innermost(exc.__traceback__)
    msg = str(exc)
    if type(exc) is TypeError and _BINDING.search(msg):
        return "binding"
    if type(exc) is TypeError and _PROTOCOL.search(msg) and file == CASE_FILE:
        return "protocol"
    if type(exc) is KeyError and _within_item_access(exc.__traceback__):
        return "protocol"
    if isinstance(exc, MemoryError) and file == CASE_FILE:
        return "memory"
    return None


def classify(exc: BaseException, typed: Sequence[type], internal: Sequence[type], user_error: type) -> Tuple[str, str]:
    """(category, reason) of an exception raised by a case."""
    cls = type(exc)
    if cls.__name__ == "PanicException":
        return "panic", ""
    if internal and isinstance(exc, tuple(internal)):
        return "internal", ""
    if isinstance(exc, tuple(typed)):
        return "typed", ""
    if isinstance(exc, AssertionError) and _innermost(exc.__traceback__)[0] == CASE_FILE:
        return "wrong", ""
    reason = allowed_reason(exc, user_error)
    if reason is not None:
        return "allowed", reason
    return "leak", ""


def names_op(message: str, ops: Sequence[str]) -> bool:
    """Whether an error message names one of the op's names (case-insensitive)."""
    low = message.lower()
    return any(o.lower() in low for o in ops)


def signature(result: Dict[str, Any]) -> Tuple[str, ...]:
    """What makes two failures the same bug: category, exception type, where it was raised
    (for Python code) and the message with numbers and quoted text blanked out."""
    msg = re.sub(r"'[^']*'|\"[^\"]*\"", "'…'", result.get("msg", ""))
    msg = re.sub(r"0x[0-9a-f]+|\d+", "N", msg)[:120]
    where = result.get("where", "")
    if where.startswith("<") or "site-packages" in where:
        where = ""
    where = re.sub(r":\d+$", "", where)
    return (result["cat"], result.get("exc", ""), result.get("op", ""), where, msg)
