"""How many times one call of each deep-learning op crosses from Python into the compiled
core (functions of ``dlarray._core`` and methods of ``dlarray``), counted with
``sys.setprofile``'s ``c_call`` events. Fewer crossings mean less per-call overhead on small
inputs; the layout work of convolution, pooling and fullyconnect happens inside one call.

    python benches/ffi_crossings.py
"""

from __future__ import annotations

import sys
from collections import Counter
from typing import Callable, Dict

import dlarray as dl
import numpy as np
from dlarray import _core


def crossings(fn: Callable[[], object]) -> Counter:
    """The compiled functions ``fn`` calls, with their counts."""
    seen: Counter = Counter()

    def profile(frame, event, arg):  # noqa: ARG001
        if event != "c_call":
            return
        owner = getattr(arg, "__self__", None)
        if getattr(arg, "__module__", None) == "dlarray._core" or isinstance(owner, _core.dlarray) or owner is _core:
            seen[arg.__name__] += 1

    sys.setprofile(profile)
    try:
        fn()
    finally:
        sys.setprofile(None)
    return seen


def main() -> None:
    rng = np.random.default_rng(0)
    x = dl.dlarray(rng.standard_normal((12, 12, 3, 4)).astype(np.float32), "SSCB")
    w = dl.dlarray(rng.standard_normal((3, 3, 3, 8)).astype(np.float32))
    b = dl.dlarray(np.zeros(8, np.float32))
    y = dl.dlconv(x, w, b, padding="same")
    fc_w = dl.dlarray(rng.standard_normal((10, y.size // 4)).astype(np.float32))
    fc_b = dl.dlarray(np.zeros(10, np.float32))
    offset, scale = dl.dlarray(np.zeros(8, np.float32)), dl.dlarray(np.ones(8, np.float32))
    cases: Dict[str, Callable[[], object]] = {
        "dlconv": lambda: dl.dlconv(x, w, b, padding="same"),
        "dltranspconv": lambda: dl.dltranspconv(x, dl.dlarray(np.ones((3, 3, 8, 3), np.float32)), 0, stride=2),
        "maxpool": lambda: dl.maxpool(y, 2, stride=2),
        "avgpool": lambda: dl.avgpool(y, 2, stride=2),
        "fullyconnect": lambda: dl.fullyconnect(y, fc_w, fc_b),
        "batchnorm": lambda: dl.batchnorm(y, offset, scale),
        "relu": lambda: dl.relu(y),
        "softmax": lambda: dl.softmax(dl.dlarray(np.ones((10, 4), np.float32), "CB")),
    }
    for name, fn in cases.items():
        fn()  # warm: lazy imports are not crossings of the op
        c = crossings(fn)
        calls = ", ".join(f"{k}×{v}" if v > 1 else k for k, v in c.most_common())
        print(f"{name:14s} {sum(c.values()):3d}  {calls}")


if __name__ == "__main__":
    main()
