"""``python -m tests.fuzz --seconds 120``: fuzz the public API and print the figures.

Exit status 1 when any call leaked an untyped error, panicked, aborted, hung or failed a
result check; ``--json PATH`` writes every distinct failure with its reproducer.
"""

from __future__ import annotations

import argparse
import os
import sys

from .harness import Settings
from .outcome import FAILURES
from .runner import fuzz, write_json


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m tests.fuzz", description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=120.0, help="time budget (default 120)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workers", type=int, default=os.cpu_count() or 2, help="worker subprocesses (default: CPU count)")
    p.add_argument("--families", default="", help="comma-separated families or groups (array, nn, network, autodiff)")
    p.add_argument("--timeout", type=float, default=10.0, help="seconds one case may run before it counts as a hang")
    p.add_argument("--memory-gb", type=float, default=4.0, help="address-space limit per worker (0: none)")
    p.add_argument("--job-size", type=int, default=60, help="cases a worker draws and runs per job")
    p.add_argument("--show", type=int, default=40, help="distinct failures to print")
    p.add_argument("--show-unnamed", type=int, default=10, help="typed errors not naming their op to print")
    p.add_argument("--json", default="", help="write figures and distinct failures to this file")
    args = p.parse_args(argv)
    families = [f for f in args.families.split(",") if f]
    report = fuzz(
        args.seconds,
        seed=args.seed,
        workers=args.workers,
        families=families,
        job_size=args.job_size,
        settings=Settings(timeout=args.timeout, memory_gb=args.memory_gb),
        progress=True,
    )
    print(report.text(show=args.show, show_unnamed=args.show_unnamed))
    if args.json:
        write_json(report, args.json)
    return 1 if any(report.counts[c] for c in FAILURES) else 0


if __name__ == "__main__":
    sys.exit(main())
