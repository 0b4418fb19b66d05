"""dlarray side by side with PyTorch (when importable) and numpy, on this machine, in one run.

(a) Per-op overhead of a traced elementwise op on a tiny tensor, forward + backward: inside
    one dlfeval, ``y = y * 1.0001`` N times on a 4-element tensor, then one dlgradient; the
    total divided by N (µs/op). PyTorch the same way (requires_grad leaf, N multiplies, one
    backward). The forward-only and untraced costs are shown too, to see where time goes.
(b) float32 GEMM throughput (GFLOP/s = 2n³/t) at n = 256 and 1024: ``A @ B`` on dlarrays
    (no conversion inside the timing) against numpy's ``A @ B`` (and torch.mm when present).

OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE, where set on a machine, slow a current numpy; they are
read when numpy loads, so unset them for this command only:

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benches/compare_torch.py

The numpy BLAS kernel in use is printed (threadpoolctl, when installed). On a loaded machine
compare single-threaded, where CPU time is a steady measure:

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE RAYON_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 \
        OMP_NUM_THREADS=1 python benches/compare_torch.py
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import dlarray as dl
import numpy as np

try:
    import torch
except ImportError:  # PyTorch is optional
    torch = None


def best_of(fn, repeats):
    """Minimum wall time and minimum process CPU time of ``fn()`` over ``repeats`` runs (s).

    CPU time leaves out the time other processes held the core, so on a shared, loaded
    machine it is the steadier measure of single-threaded per-op cost."""
    walls, cpus = [], []
    for _ in range(repeats):
        c0, t0 = time.process_time(), time.perf_counter()
        fn()
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    return min(walls), min(cpus)


# ----- (a) per-op overhead ------------------------------------------------------------------


def dlarray_chain(n_ops, backward=True, traced=True):
    x = dl.dlarray(np.ones(4, dtype=np.float32))

    def body(x):
        y = x
        for _ in range(n_ops):
            y = y * 1.0001
        if backward:
            return dl.dlgradient(y.sum(), x)
        return y

    if traced:
        return lambda: dl.dlfeval(body, x)
    return lambda: _untraced(x, n_ops)


def _untraced(x, n_ops):
    y = x
    for _ in range(n_ops):
        y = y * 1.0001
    return y


def torch_chain(n_ops, backward=True, traced=True):
    x = torch.ones(4, dtype=torch.float32, requires_grad=traced)

    def run():
        if not traced:
            with torch.no_grad():
                return _untraced(x, n_ops)
        y = x
        for _ in range(n_ops):
            y = y * 1.0001
        if backward:
            (g,) = torch.autograd.grad(y.sum(), x)
            return g
        return y

    return run


def per_op(make, n_ops, repeats):
    make(n_ops)()  # warm up
    wall, cpu = best_of(make(n_ops), repeats)
    return wall / n_ops * 1e6, cpu / n_ops * 1e6


# ----- (b) GEMM -----------------------------------------------------------------------------


def gflops(n, seconds):
    return 2.0 * n**3 / seconds / 1e9


def gemm_times(n, repeats):
    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n)).astype(np.float32)
    b = rng.standard_normal((n, n)).astype(np.float32)
    da, db = dl.dlarray(a), dl.dlarray(b)
    # Same result first: a fast wrong answer is no answer.
    ref = a.astype(np.float64) @ b.astype(np.float64)
    got = np.asarray(da @ db)
    err = np.max(np.abs(got - ref)) / np.max(np.abs(ref))
    assert err < 1e-4, f"dlarray GEMM differs from numpy: relative error {err:.2e}"
    inner = max(1, int(2e8 // (2 * n**3)))  # ~0.1 s of work per timing at 2 GFLOP/s

    def loop(f):
        def run():
            for _ in range(inner):
                f()

        return run

    out = {}
    fns = [("dlarray", lambda: da @ db), ("numpy", lambda: a @ b)]
    if torch is not None:
        ta, tb = torch.from_numpy(a), torch.from_numpy(b)
        fns.append(("torch", lambda: torch.mm(ta, tb)))
    for name, f in fns:
        f()
        wall, cpu = best_of(loop(f), repeats)
        out[name] = (wall / inner, cpu / inner)
    return out


def numpy_blas_info():
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "threadpoolctl not installed"
    parts = []
    for p in threadpool_info():
        if p.get("user_api") == "blas":
            parts.append(
                f"{p.get('internal_api')} {p.get('version')} kernel={p.get('architecture')} "
                f"threads={p.get('num_threads')} ({os.path.basename(p.get('filepath', ''))})"
            )
    return "; ".join(parts) or "no BLAS found by threadpoolctl"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ops", type=int, default=1000, help="elementwise ops per dlfeval (N)")
    ap.add_argument("--repeats", type=int, default=30)
    ap.add_argument("--sizes", type=int, nargs="*", default=[256, 1024])
    args = ap.parse_args()

    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"dlarray {dl.__version__}, numpy {np.__version__}, torch {torch.__version__ if torch else 'not installed'}")
    for var in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
        print(f"{var}={os.environ.get(var, '(unset)')}")
    print(f"numpy BLAS: {numpy_blas_info()}")
    if torch is not None:
        print(f"torch threads: {torch.get_num_threads()}")
    print()

    rows = [
        ("traced fwd+bwd (y = y*1.0001, 4 elems)", dict(backward=True, traced=True)),
        ("traced fwd only", dict(backward=False, traced=True)),
        ("untraced fwd", dict(backward=False, traced=False)),
    ]
    print(f"(a) per-op overhead, N={args.ops} ops per call, best of {args.repeats}: wall [CPU]  (µs/op)")
    print(f"{'':40s} {'dlarray':>16s} {'torch':>16s} {'dlarray/torch':>14s}")
    for label, kw in rows:
        d_wall, d_cpu = per_op(lambda n: dlarray_chain(n, **kw), args.ops, args.repeats)
        if torch is not None:
            t_wall, t_cpu = per_op(lambda n: torch_chain(n, **kw), args.ops, args.repeats)
            t_col = f"{t_wall:7.2f} [{t_cpu:6.2f}]"
            ratio = f"{d_wall / t_wall:6.2f} [{d_cpu / t_cpu:5.2f}]"
        else:
            t_col, ratio = f"{'-':>16s}", f"{'-':>14s}"
        print(f"{label:40s} {d_wall:7.2f} [{d_cpu:6.2f}] {t_col} {ratio:>14s}")
    print()

    print(
        f"(b) float32 GEMM, C = A @ B (n x n), best of {max(3, args.repeats // 5)}: GFLOP/s by wall time "
        "[GFLOP per CPU-second, all threads]"
    )
    print(f"{'n':>6s} {'dlarray':>16s} {'numpy':>16s} {'torch':>16s} {'dlarray/numpy':>16s}")
    for n in args.sizes:
        t = gemm_times(n, max(3, args.repeats // 5))
        col = lambda k: f"{gflops(n, t[k][0]):7.1f} [{gflops(n, t[k][1]):6.1f}]" if k in t else f"{'-':>16s}"
        ratio = f"{t['numpy'][0] / t['dlarray'][0]:6.2f} [{t['numpy'][1] / t['dlarray'][1]:5.2f}]"
        print(f"{n:6d} {col('dlarray')} {col('numpy')} {col('torch')} {ratio:>16s}")


if __name__ == "__main__":
    main()
