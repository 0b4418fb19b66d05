"""dlarray.parallel on 2 and 3 processes: ``mpirun`` runs every check of
``tests/parallel/spmd_checks.py`` on all processes, a process that raises ends the job, and
the parallel example trains. Each run has a timeout, so a hang fails the test.

Skipped when ``mpirun`` or mpi4py is missing, unless ``DLARRAY_REQUIRE_MPI=1`` (CI sets it:
there a missing MPI is a failure, not a skip).
"""

import os
import pathlib
import shutil
import subprocess
import sys

import pytest

HERE = pathlib.Path(__file__).resolve().parent
REQUIRED = os.environ.get("DLARRAY_REQUIRE_MPI", "") == "1"


def _mpi_missing():
    if shutil.which("mpirun") is None:
        return "mpirun is not installed (apt-get install openmpi-bin libopenmpi-dev)"
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        return 'mpi4py is not installed (pip install "dlarray[mpi]")'
    return None


_missing = _mpi_missing()
if _missing and REQUIRED:
    raise RuntimeError(f"DLARRAY_REQUIRE_MPI=1 but {_missing}")
pytestmark = pytest.mark.skipif(_missing is not None, reason=_missing or "")


def _mpirun(n, args, timeout):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OMPI_COMM_", "PMI_", "PMIX_"))}
    # CI runs as root; one kernel thread per process on a 2-core machine.
    env.update(OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1", RAYON_NUM_THREADS="1", OMPI_MCA_rmaps_base_oversubscribe="1")
    command = ["mpirun", "-np", str(n), "--oversubscribe", sys.executable, *args]
    try:
        return subprocess.run(command, capture_output=True, text=True, env=env, timeout=timeout, cwd=HERE.parent)
    except subprocess.TimeoutExpired as e:
        pytest.fail(f"{' '.join(command)} did not finish in {timeout} s (a hang):\n{e.stdout}\n{e.stderr}")


@pytest.mark.parametrize("n", [2, 3])
def test_every_check_on_n_processes(n):
    out = _mpirun(n, [str(HERE / "parallel" / "run_checks.py")], timeout=240)
    print(out.stdout)
    assert out.returncode == 0, f"stdout:\n{out.stdout}\nstderr:\n{out.stderr}"
    sys.path.insert(0, str(HERE / "parallel"))
    import spmd_checks

    for check in spmd_checks.CHECKS:
        assert f"ok {check.__name__}:" in out.stdout, f"{check.__name__} did not report:\n{out.stdout}"
    assert f"{len(spmd_checks.CHECKS)} passed, 0 failed" in out.stdout
    assert f"on {n} processes" in out.stdout


@pytest.mark.parametrize("n", [2, 3])
def test_a_process_that_raises_ends_the_job(n, tmp_path):
    script = tmp_path / "fails.py"
    script.write_text(
        "import numpy as np, dlarray\n"
        "rank = dlarray.spmdIndex()\n"
        "dlarray.spmdBarrier()\n"
        f"if rank == {n - 1}:\n"
        "    raise RuntimeError('the data of this process is missing')\n"
        "dlarray.spmdPlus(np.ones(3))   # the others wait here for the failed one\n"
        "print('unreachable')\n"
    )
    out = _mpirun(n, [str(script)], timeout=60)
    assert out.returncode != 0
    assert "unreachable" not in out.stdout
    assert f"process {n - 1} of {n} stopped with an uncaught exception" in out.stderr
    assert "RuntimeError: the data of this process is missing" in out.stderr


def test_parallel_example_trains_on_two_processes(tmp_path):
    png = tmp_path / "progress.png"
    out = _mpirun(
        2,
        [
            "-m",
            "dlarray.examples.train_digits_parallel",
            "--epochs",
            "1",
            "--max-iterations",
            "12",
            "--batch-size",
            "64",
            "--test-images",
            "500",
            "--png",
            str(png),
        ],
        timeout=240,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.count("test accuracy:") == 1, out.stdout  # printed by process 0 only
    assert "on 2 processes" in out.stdout and png.exists()
    accuracy = float(out.stdout.split("test accuracy:")[1].split("%")[0])
    assert accuracy > 50.0, out.stdout  # chance is 10%
