"""Every deep-learning op family, dlarray side by side with PyTorch (when importable).

The workloads are the asv suites' (benches/benchmarks/_wl_*.py): same shapes, same float32
data from fixed seeds, dlarray in MATLAB's layouts and PyTorch in NCHW / TBC with
``torch.nn.functional``. Per workload and phase it prints the median wall time in ms and the
ratio dlarray / PyTorch (below 1: dlarray is faster). Without PyTorch only dlarray's times are
printed.

Phases: ``fwd`` — dlarray untraced, PyTorch under ``no_grad``; ``fwd+bwd`` — the gradient of
the summed output with respect to the input and every parameter (``dlfeval`` + ``dlgradient``
against ``torch.autograd.grad``); ``step`` — one optimizer update (dlarray returns new arrays,
PyTorch updates in place).

Before timing, the two forward outputs are compared by their sum and sum of squares (both
independent of layout): a fast wrong answer is no answer. The ``check`` column says ``ok``,
``-`` (random op or optimizer: not comparable) or the relative difference found.

    python benches/compare_ops.py [--family conv norm] [--match lstm] [--budget 0.4] [--threads 2]

dlarray's threads are rayon's (``RAYON_NUM_THREADS``, default: all cores); PyTorch gets
``--threads`` (default 2, this machine's core count when the script was written).

``OMP_WAIT_POLICY`` defaults to ``PASSIVE`` here (set it to ``ACTIVE`` to override): PyTorch's
OpenMP workers otherwise spin while waiting, and on a machine shared with other work that made
its LSTM forward 45x and its Adam step 15x slower than with passive waiting — measuring the
machine's load, not PyTorch. On an idle machine ``ACTIVE`` can be slightly faster for PyTorch.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # read when PyTorch's OpenMP starts: see above

import dlarray as dl  # noqa: E402
from benchmarks._workloads import FAMILIES  # noqa: E402

try:
    import torch
except ImportError:  # PyTorch is optional
    torch = None

PHASE_LABEL = {"forward": "fwd", "forward_backward": "fwd+bwd", "step": "step"}


def timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def median_ms(fns, budget_s: float, min_repeat: int = 5, max_repeat: int = 200):
    """Median wall time (ms) of each function, measured in interleaved rounds so a busy
    machine disturbs every contender alike. Each function is called once first (warm-up:
    buffer pools, thread start-up); the number of rounds fits ``budget_s`` per function."""
    first = [timed(f) for f in fns]
    slowest = max(max(first), 1e-6)
    rounds = int(min(max_repeat, max(min_repeat, budget_s / slowest)))
    times = [[] for _ in fns]
    for _ in range(rounds):
        for k, f in enumerate(fns):
            times[k].append(timed(f))
    return [1e3 * statistics.median(t) for t in times]


def as_numpy(y):
    if torch is not None and isinstance(y, torch.Tensor):
        return y.detach().numpy()
    return np.asarray(y)


def check(ours, theirs) -> str:
    """Compare two forward outputs by layout-independent sums (float64 accumulation)."""
    a, b = as_numpy(ours()).astype(np.float64), as_numpy(theirs()).astype(np.float64)
    if a.size != b.size:
        return f"SIZE {a.size} vs {b.size}"
    worst = 0.0
    for f in (np.sum, lambda v: np.sum(v * v)):
        x, y = f(a), f(b)
        scale = max(abs(y), np.sum(np.abs(b)) * 1e-3, 1e-30)  # a sum near 0 is judged against |b|
        worst = max(worst, abs(x - y) / scale)
    return "ok" if worst < 1e-4 else f"DIFF {worst:.1e}"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--family", nargs="*", choices=sorted(FAMILIES), help="only these op families")
    ap.add_argument("--match", default="", help="only workloads whose name contains this text")
    ap.add_argument("--budget", type=float, default=0.4, help="seconds of timing per function (default 0.4)")
    ap.add_argument("--threads", type=int, default=2, help="PyTorch intra-op threads (default 2)")
    args = ap.parse_args()

    print(
        f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"dlarray {dl.__version__}, numpy {np.__version__}, "
        f"torch {torch.__version__ if torch else 'not installed'}"
    )
    print(f"RAYON_NUM_THREADS={os.environ.get('RAYON_NUM_THREADS', '(unset)')}, OMP_WAIT_POLICY={os.environ['OMP_WAIT_POLICY']}", end="")
    if torch is not None:
        torch.set_num_threads(args.threads)
        print(f", torch threads {torch.get_num_threads()}", end="")
    print("\n")

    header = f"{'family':12s} {'workload':40s} {'phase':8s} {'dlarray ms':>10s}"
    if torch is not None:
        header += f" {'torch ms':>9s} {'ratio':>6s}  check"
    print(header)
    print("-" * len(header))
    ratios = {}
    for family, workloads in FAMILIES.items():
        if args.family and family not in args.family:
            continue
        for w in workloads:
            if args.match not in w.name:
                continue
            data = w.make_data()
            ours = w.dlarray_phases(data)
            theirs = w.torch_phases(data) if torch is not None else None
            verdict = "-"
            if theirs is not None and w.comparable:
                verdict = check(ours["forward"], theirs["forward"])
            for phase, fn in ours.items():
                label = PHASE_LABEL[phase]
                if theirs is None:
                    (a,) = median_ms([fn], args.budget)
                    print(f"{family:12s} {w.name:40s} {label:8s} {a:10.3f}", flush=True)
                    continue
                a, b = median_ms([fn, theirs[phase]], args.budget)
                ratios.setdefault(label, []).append(a / b)
                print(
                    f"{family:12s} {w.name:40s} {label:8s} {a:10.3f} {b:9.3f} {a / b:6.2f}  "
                    f"{verdict if phase != 'forward_backward' else ''}",
                    flush=True,
                )
    if ratios:
        print()
        for label, rs in ratios.items():
            gm = math.exp(sum(math.log(r) for r in rs) / len(rs))
            print(f"geometric mean of dlarray/torch, {label:8s}: {gm:5.2f} over {len(rs)} workloads")


if __name__ == "__main__":
    main()
