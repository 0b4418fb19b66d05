"""An uncaught exception on one process of a pool ends every process of it.

Otherwise the process that raised exits (mpi4py finalises MPI at exit) while the others wait
in their next collective for a partner that is gone: the job hangs until its time limit.
``sys.excepthook`` prints the traceback as usual, says which process failed and why the job
stops, then calls ``MPI_Abort``, which makes the launcher end every process with a non-zero
status. Installed when a pool of several processes is joined; ``DLARRAY_MPI_ABORT=0`` leaves
the hook alone (for a program that handles failures itself).
"""

from __future__ import annotations

import os
import sys
from typing import Any

_installed = False


def abort_on_uncaught_exception(world: Any) -> None:
    global _installed
    if _installed or os.environ.get("DLARRAY_MPI_ABORT", "").strip() == "0":
        return
    _installed = True
    previous = sys.excepthook

    def excepthook(exc_type, exc, tb):
        try:
            first = f"{exc_type.__name__}: {exc}".splitlines()[0][:300] if exc is not None else exc_type.__name__
            sys.stderr.write(
                f"\ndlarray.parallel: process {world.rank} of {world.size} stopped with an uncaught exception "
                f"({first}); aborting all {world.size} processes (MPI_Abort) so that none waits for it "
                f"forever. Its traceback:\n"
            )
            previous(exc_type, exc, tb)
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            world.comm.Abort(1)

    sys.excepthook = excepthook
