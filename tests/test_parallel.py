"""dlarray.parallel in a single process (a pool of one): every multi-process check holds
there too, plus the launcher detection and the pieces that need no MPI."""

import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent / "parallel"))

import dlarray.parallel  # noqa: E402,F401
import spmd_checks  # noqa: E402
from dlarray.data.partition import BatchShare, block, partition  # noqa: E402

world_module = sys.modules["dlarray.parallel.world"]


@pytest.mark.parametrize("check", spmd_checks.CHECKS, ids=lambda c: c.__name__)
def test_check_in_a_pool_of_one(check):
    check()


def test_top_level_names():
    import dlarray

    for name in ("spmdIndex", "spmdSize", "spmdPlus", "spmdReduce", "spmdBroadcast", "spmdBarrier", "partition"):
        assert callable(getattr(dlarray, name)), name
    assert dlarray.spmdSize() == 1 and dlarray.spmdIndex() == 0


def test_importing_and_using_dlarray_alone_loads_no_mpi():
    code = "import sys, dlarray, numpy as np; dlarray.spmdPlus(np.ones(3)); dlarray.spmdSize(); print('mpi4py' in sys.modules)"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OMPI_", "PMI", "PMIX", "SLURM", "MV2_"))}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize(
    "env, expected",
    [
        ({}, (0, 1)),
        ({"OMPI_COMM_WORLD_SIZE": "4", "OMPI_COMM_WORLD_RANK": "2"}, (2, 4)),
        ({"PMI_SIZE": "3", "PMI_RANK": "1"}, (1, 3)),
        ({"SLURM_STEP_NUM_TASKS": "2", "SLURM_PROCID": "1"}, (1, 2)),
        ({"OMPI_COMM_WORLD_SIZE": "1", "OMPI_COMM_WORLD_RANK": "0"}, (0, 1)),
        ({"PMIX_RANK": "5"}, (5, None)),
        ({"DLARRAY_MPI": "0", "OMPI_COMM_WORLD_SIZE": "4", "OMPI_COMM_WORLD_RANK": "2"}, (0, 1)),
        ({"DLARRAY_MPI": "1"}, (0, None)),
    ],
)
def test_launcher_detection(monkeypatch, env, expected):
    for k in list(os.environ):
        if k.startswith(("OMPI_", "PMI", "SLURM", "MV2_", "DLARRAY_MPI")):
            monkeypatch.delenv(k, raising=False)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    assert world_module.launch() == expected


def test_launched_without_mpi4py_is_a_clear_error():
    code = (
        "import sys; sys.modules['mpi4py'] = None\n"
        "import dlarray\n"
        "try:\n    dlarray.spmdSize()\nexcept ImportError as e:\n    print('ImportError:', e)\n"
    )
    env = dict(os.environ, OMPI_COMM_WORLD_SIZE="2", OMPI_COMM_WORLD_RANK="0")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "ImportError:" in out.stdout and "dlarray[mpi]" in out.stdout and "DLARRAY_MPI=0" in out.stdout


def test_blocks_and_shares():
    assert [block(10, 3, i) for i in range(3)] == [(0, 4), (4, 7), (7, 10)]
    assert [block(2, 3, i) for i in range(3)] == [(0, 1), (1, 2), (2, 2)]
    share = BatchShare(3, 2)
    assert share.window(100, 16, "return") == (11, 16, 16)
    assert share.window(2, 16, "return") is None  # no observation for part 2
    assert share.window(5, 16, "discard") is None
    assert share.num_batches(50, 16, "return") == 3  # the last mini-batch (2) has none for part 2
    assert BatchShare(3, 0).num_batches(50, 16, "return") == 4
    assert share.nominal_factor(16) == 5 / 16


@pytest.mark.parametrize(
    "bad, kind", [((0, 0), ValueError), ((2, 2), ValueError), ((2, -1), ValueError), ((2.0, 0), TypeError), ("ab", TypeError)]
)
def test_bad_partitions(bad, kind):
    from dlarray import minibatchqueue

    with pytest.raises(kind):
        minibatchqueue(np.zeros((5, 2)), partition=bad)


def test_partition_of_a_datastore_and_of_a_queue():
    from dlarray import arrayDatastore, minibatchqueue

    ds = arrayDatastore(np.arange(10.0))
    parts = [partition(ds, 3, i) for i in range(3)]
    assert [p.numobservations for p in parts] == [4, 3, 3]
    assert np.array_equal(np.concatenate([p.readall() for p in parts]), np.arange(10.0))
    assert ds.partition(3, 1).numobservations == 3
    q = minibatchqueue(ds, mini_batch_size=4, output_as_dlarray=False)
    p = q.partition(2, 1)
    assert p.share == (2, 1) and q.share is None and p.mini_batch_size == 4
    assert np.array_equal(p.next(), [2.0, 3.0]) and p.normalization_factor == 0.5
    with pytest.raises(ValueError, match="already part"):
        p.partition(2, 0)
    # The parts of one queue share its shuffle seed: together they read its mini-batches.
    a, b = q.partition(2, 0), q.partition(2, 1)
    assert a.shuffle_seed == b.shuffle_seed is not None
    a.shuffle()
    b.shuffle()
    whole = minibatchqueue(ds, mini_batch_size=4, output_as_dlarray=False, shuffle_seed=a.shuffle_seed)
    whole.shuffle()
    assert np.array_equal(np.concatenate([a.next(), b.next()]), whole.next())
    with pytest.raises(TypeError):
        partition(object(), 2, 0)


def test_sequential_datastore_cannot_be_partitioned():
    from dlarray import minibatchqueue

    class Sequential:
        def __init__(self):
            self.i = 0

        def read(self):
            self.i += 1
            return [np.float64(self.i)]

        def hasdata(self):
            return self.i < 5

        def reset(self):
            self.i = 0

    with pytest.raises(TypeError, match="random access"):
        minibatchqueue(Sequential(), partition=(2, 0), output_as_dlarray=False)


def test_aggregate_arguments():
    from dlarray.errors import DTypeError, OptionError
    from dlarray.parallel import aggregate_gradients, aggregate_state

    with pytest.raises(DTypeError):
        aggregate_gradients({"w": np.ones(2)}, "half")
    with pytest.raises(OptionError):
        aggregate_gradients({"w": np.ones(2)}, float("nan"))
    with pytest.raises(DTypeError):
        aggregate_gradients({"n": np.arange(3)}, 0.5)  # integer "gradients"
    g = aggregate_gradients({"w": np.ones(2, np.float32)}, 0.5)
    assert g["w"].dtype == np.float32 and np.array_equal(g["w"], [0.5, 0.5])
    with pytest.raises(DTypeError):
        aggregate_state([1, 2], 0.5)
    s = aggregate_state({"TrainedMean": np.array([1.0, 2.0]), "TrainedVariance": np.array([4.0, 4.0])}, 0.5)
    assert np.array_equal(s["TrainedMean"], [0.5, 1.0]) and np.array_equal(s["TrainedVariance"], [2.125, 2.5])
