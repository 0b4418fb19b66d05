"""Run every check of ``spmd_checks`` on all processes of the pool:

    mpirun -np 3 --oversubscribe python tests/parallel/run_checks.py [name ...]

Process 0 prints ``ok <check>: <what it measured>`` per check and a closing
``N passed, 0 failed``. A failing check raises on its process; dlarray.parallel then aborts
every process, so the launcher exits non-zero instead of waiting.
"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import spmd_checks  # noqa: E402
from dlarray import spmdBarrier, spmdIndex, spmdSize  # noqa: E402


def main(names):
    checks = [c for c in spmd_checks.CHECKS if not names or c.__name__ in names]
    if names and len(checks) != len(names):
        raise SystemExit(f"unknown checks: {sorted(set(names) - {c.__name__ for c in checks})}")
    rank = spmdIndex()
    if rank == 0:
        print(f"{len(checks)} checks on {spmdSize()} processes", flush=True)
    for check in checks:
        start = time.perf_counter()
        what = check()
        spmdBarrier()
        if rank == 0:
            print(f"ok {check.__name__}: {what} ({time.perf_counter() - start:.2f} s)", flush=True)
    if rank == 0:
        print(f"{len(checks)} passed, 0 failed", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
