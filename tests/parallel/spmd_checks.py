"""Checks of dlarray.parallel that every process of a pool runs together.

``run_checks.py`` runs them all under ``mpirun -np N``; ``tests/test_parallel.py`` runs each
one in a single process (a pool of one), where they must hold as well. Each check computes
what the pool must return from every process's value (each process can build every other's:
the values depend only on the rank) and compares; a failure raises, which aborts the whole
pool. Checks return a short text of what they measured, for the log.
"""

from __future__ import annotations

import collections
import os
import shutil
import tempfile
import threading
import time

import dlarray as dl
import numpy as np
from dlarray import (
    dlarray,
    minibatchqueue,
    spmdBarrier,
    spmdBroadcast,
    spmdIndex,
    spmdPlus,
    spmdReduce,
    spmdSize,
)
from dlarray.data import arrayDatastore, partition
from dlarray.data.partition import block
from dlarray.errors import DTypeError, OptionError
from dlarray.network.table import Table
from dlarray.parallel import SpmdMismatchError, aggregate_state, broadcast
from spmd_equivalence import (
    check_equivalence_batchnorm_float32,
    check_equivalence_batchnorm_float64,
    check_equivalence_mlp_float32,
    check_equivalence_mlp_float64,
)
from spmd_helpers import _assert_same_structure_and_values, _bn_network, _equal_leaf

Pair = collections.namedtuple("Pair", "first second")


def _rank_size():
    return spmdIndex(), spmdSize()


# ---- values every process can build for any rank --------------------------------------------


def leaf_samples(rank: int) -> dict:
    """One value of every supported leaf kind; small integers, so sums are exact in any order."""
    r = rank + 1
    return {
        "dlarray_f32_CB": dlarray(np.arange(6, dtype=np.float32).reshape(2, 3) * r - 3, "CB"),
        "dlarray_f64": dlarray(np.array([1.0, -2.0, 0.0, 4.0]) * r),
        "float16": (np.arange(5) * r - 2).astype(np.float16),
        "float32": (np.arange(4) * r).astype(np.float32).reshape(2, 2),
        "float64": np.array([[0.5, -1.5], [2.0, 0.0]]) * r,
        "complex64": (np.arange(3) + 1j * r).astype(np.complex64),
        "complex128": np.array([1 + 2j, -1j]) * r,
        "int32": np.array([1, -2, 3], dtype=np.int32) * r,
        "int64": np.arange(3, dtype=np.int64) - r,
        "uint8": np.array([1, 2, 3], dtype=np.uint8) * r,
        "bool": np.array([True, rank % 2 == 0, rank == 0, False]),
        "zero_d": np.array(2.5 * r),
        "empty": np.zeros((0, 3)),
        "numpy_f32": np.float32(1.5 * r),
        "numpy_i64": np.int64(-r),
        "numpy_bool": np.bool_(rank == 0),
        "py_int": 3 * r,
        "py_float": 0.25 * r,
        "py_complex": complex(r, -1),
        "py_bool": rank % 2 == 0,
    }


def expected(op: str, values):
    """What reducing ``values`` (one per process, in rank order) must give, leaf kind kept."""
    first = values[0]
    if isinstance(first, dlarray):
        data = expected(op, [np.asarray(v) for v in values])
        data = data.astype(first.dtype)
        return dlarray(data, first.fmt) if first.fmt else dlarray(data)
    if isinstance(first, (bool, int, float, complex)) and not isinstance(first, np.generic):
        arr = expected(op, [np.asarray(v) for v in values])
        return arr.item()
    arrays = [np.asarray(v) for v in values]
    dtype = arrays[0].dtype
    if op in ("and", "or"):
        result_dtype = np.dtype(np.bool_)
    elif dtype == np.bool_ and op in ("plus", "times"):
        result_dtype = np.dtype(np.int64)
    else:
        result_dtype = dtype
    if op in ("plus", "times"):
        out = arrays[0].astype(result_dtype)
        for a in arrays[1:]:
            out = out + a.astype(result_dtype) if op == "plus" else out * a.astype(result_dtype)
    elif op in ("max", "min"):
        out = arrays[0]
        for a in arrays[1:]:
            out = np.maximum(out, a) if op == "max" else np.minimum(out, a)
    else:
        out = arrays[0] != 0
        for a in arrays[1:]:
            out = np.logical_and(out, a != 0) if op == "and" else np.logical_or(out, a != 0)
    out = np.asarray(out).astype(result_dtype)
    return out[()] if isinstance(first, np.generic) else out


# ---- checks ----------------------------------------------------------------------------------


def check_rank_and_size():
    rank, size = _rank_size()
    assert 0 <= rank < size
    assert spmdPlus(1) == size
    assert spmdPlus(rank) == size * (size - 1) // 2
    assert spmdReduce("max", rank) == size - 1 and spmdReduce("min", rank) == 0
    for source in range(size):
        assert spmdBroadcast(rank, source=source) == source
    return f"rank {rank} of {size}"


def check_reductions_on_every_leaf_kind():
    rank, size = _rank_size()
    everyone = [leaf_samples(r) for r in range(size)]
    mine = everyone[rank]
    count = 0
    for op in ("plus", "times", "max", "min", "and", "or"):
        for name, value in mine.items():
            if op in ("max", "min") and np.iscomplexobj(value if not isinstance(value, dlarray) else np.asarray(value)):
                try:
                    spmdReduce(op, value)
                except DTypeError as e:
                    assert "complex" in str(e)
                    continue
                raise AssertionError(f"spmdReduce({op!r}) of complex {name} did not raise DTypeError")
            got = spmdPlus(value) if op == "plus" and count % 2 else spmdReduce(op, value)
            _equal_leaf(got, expected(op, [e[name] for e in everyone]), f"spmdReduce({op!r}) of {name}")
            count += 1
    # The whole dict at once: one collective over all leaves, the same answers.
    _assert_same_structure_and_values(
        spmdPlus(mine), {k: expected("plus", [e[k] for e in everyone]) for k in mine}, "spmdPlus of the dict of every leaf kind"
    )
    return f"{count} reductions of {len(mine)} leaf kinds"


def check_function_spellings():
    rank, size = _rank_size()
    import operator

    x = np.array([rank, -rank, 2], dtype=np.int64)
    for fn in ("plus", "@plus", "sum", "+", operator.add, np.add):
        assert np.array_equal(spmdReduce(fn, x), sum(np.array([r, -r, 2]) for r in range(size))), fn
    for fn in ("max", "@max", max, np.maximum):
        assert np.array_equal(spmdReduce(fn, x), [size - 1, 0, 2]), fn
    for fn in ("and", "@and", "&", operator.and_, np.logical_and):
        assert spmdReduce(fn, rank < size - 1) is False, fn  # the last process says no
    for fn in ("or", "|", operator.or_, np.logical_or):
        assert spmdReduce(fn, rank == size - 1) is True, fn
    # Any other function: applied in rank order, leaf by leaf.
    got = spmdReduce(lambda a, b: a * 10 + b, {"x": rank + 1, "y": [np.array([rank])]})
    digits = int("".join(str(r + 1) for r in range(size)))
    assert got["x"] == digits and np.array_equal(got["y"][0], [int("".join(str(r) for r in range(size)))])
    for bad, kind in (("median", OptionError), (42, DTypeError)):
        try:
            spmdReduce(bad, 1)
        except kind:
            continue
        raise AssertionError(f"spmdReduce({bad!r}) did not raise {kind.__name__}")
    return "names, operator/numpy functions, custom function"


def _containers(rank: int):
    r = rank + 1
    items = [("b", np.arange(3.0) * r), ("a", dlarray(np.ones((2, 2), np.float32) * r, "SS")), ("c", r)]
    if rank % 2:
        items.reverse()  # the same dict built in another order on odd ranks
    table = Table(["fc", "fc"], ["Weights", "Bias"], [dlarray(np.full((2, 3), float(r))), dlarray(np.zeros((2, 1)) + r)])
    return {
        "dict": dict(items),
        "ordered": collections.OrderedDict(items),
        "list": [np.float64(r), [r, (r, np.array([r]))]],
        "tuple": (r, 2.0 * r),
        "named": Pair(np.array([r, -r]), {"deep": [dlarray(np.array([1.0 * r]))]}),
        "table": table,
        "static": ("label", None, r),
    }


def check_containers_keep_their_structure():
    rank, size = _rank_size()
    mine = _containers(rank)
    got = spmdPlus(mine)
    assert list(got["dict"].keys()) == list(mine["dict"].keys()), "a dict keeps its own key order"
    assert type(got["ordered"]) is collections.OrderedDict and type(got["named"]) is Pair
    assert isinstance(got["table"], Table) and got["table"].keys() == mine["table"].keys()
    assert got["static"][:2] == ("label", None)
    total = size * (size + 1) // 2
    assert got["dict"]["c"] == total and np.array_equal(got["dict"]["b"], np.arange(3.0) * total)
    assert got["dict"]["a"].fmt == "SS" and np.array_equal(np.asarray(got["dict"]["a"]), np.full((2, 2), total))
    assert got["list"][1][1][0] == total and np.array_equal(got["list"][1][1][1], [total])
    assert np.array_equal(np.asarray(got["named"].second["deep"][0]), [float(total)])
    assert np.array_equal(np.asarray(got["table"]["fc", "Weights"]), np.full((2, 3), float(total)))
    assert got["static"][2] == total
    # Broadcast: the structure comes from the source (the others pass nothing).
    for source in range(size):
        b = spmdBroadcast(mine if rank == source else None, source=source)
        _assert_same_structure_and_values(b, _containers(source), f"spmdBroadcast from {source}")
        assert list(b["dict"].keys()) == list(_containers(source)["dict"].keys())
    # Every leaf kind, broadcast bit for bit (float16 and bool included).
    for source in range(size):
        b = spmdBroadcast(leaf_samples(rank) if rank == source else None, source=source)
        _assert_same_structure_and_values(b, leaf_samples(source), f"spmdBroadcast of every leaf kind from {source}")
    # destination: only that process gets the result.
    for destination in range(size):
        got = spmdPlus({"n": rank + 1}, destination=destination)
        assert (got == {"n": total}) if rank == destination else got is None
        got = spmdReduce("max", np.array([rank]), destination=destination)
        assert (np.array_equal(got, [size - 1])) if rank == destination else got is None
    return "dict, OrderedDict, list, tuple, namedtuple, Table, static values; broadcast; destination"


def check_rank_arguments():
    _, size = _rank_size()
    for bad in (size, -1, 1.5, True):
        for call in (lambda: spmdBroadcast(1, source=bad), lambda: spmdPlus(1, destination=bad)):
            try:
                call()
            except OptionError as e:
                assert "0-based" in str(e) or "an int" in str(e)
                continue
            raise AssertionError(f"rank {bad!r} was accepted")
    return "out-of-range and non-integer ranks rejected"


def check_mismatches_raise_on_every_process():
    rank, size = _rank_size()
    if size == 1:
        return "a pool of one cannot disagree"
    cases = [
        (lambda: spmdPlus(np.zeros(3 + rank)), "(3,)"),
        (lambda: spmdPlus({"a": 1} if rank == 0 else {"b": 1}), "'a'"),
        (lambda: spmdPlus(np.zeros(3, np.float32 if rank == 0 else np.float64)), "<f4"),
        (lambda: spmdBarrier() if rank == 0 else spmdPlus(1), "spmdBarrier"),
        (lambda: spmdReduce("max" if rank == 0 else "min", 1), "spmdReduce('max')"),
    ]
    for call, text in cases:
        try:
            call()
        except SpmdMismatchError as e:
            assert text in str(e), f"message lacks {text!r}: {e}"
            continue
        raise AssertionError("the processes disagreed but no SpmdMismatchError was raised")
    # The pool is usable afterwards.
    assert spmdPlus(1) == size
    return f"{len(cases)} kinds of disagreement reported on all processes"


def _index_queue(n_obs: int, batch: int, **options):
    ds = arrayDatastore(np.arange(n_obs, dtype=np.float64))
    return minibatchqueue(ds, mini_batch_size=batch, output_as_dlarray=False, output_cast="double", **options)


def check_partitioned_queue_shares_every_mini_batch():
    rank, size = _rank_size()
    n_obs, batch = 53, 16  # mini-batches of 16, 16, 16 and a last one of 5
    whole = _index_queue(n_obs, batch, shuffle_seed=7)
    mine = _index_queue(n_obs, batch, shuffle_seed=7, partition=(size, rank))
    also = partition(_index_queue(n_obs, batch, shuffle_seed=7), size, rank)
    assert mine.share == (size, rank) and also.share == (size, rank) and whole.share is None
    steps, firsts = 0, []
    for _epoch in range(2):
        whole.shuffle()
        mine.shuffle()
        also.shuffle()
        first = True
        while spmdReduce("and", mine.hasdata()):
            full = whole.next()
            part = mine.next()
            if first:
                firsts.append(full)
                first = False
            assert np.array_equal(part, also.next())
            start, stop = block(full.size, size, rank)
            assert np.array_equal(part, full[start:stop]), "a share is its block of the mini-batch"
            assert mine.normalization_factor == (stop - start) / full.size
            # Together the shares are exactly the mini-batch: every observation once.
            counts = spmdPlus(np.bincount(part.astype(np.int64), minlength=n_obs))
            assert np.array_equal(counts, np.bincount(full.astype(np.int64), minlength=n_obs))
            assert abs(spmdPlus(mine.normalization_factor) - 1.0) < 1e-15
            steps += 1
        assert spmdReduce("max", steps) == spmdReduce("min", steps), "every process ends the epoch together"
    # The last mini-batch counts when every process has a share of it.
    per_epoch = n_obs // batch + (1 if n_obs % batch >= size else 0)
    assert steps == 2 * per_epoch, (steps, per_epoch)
    assert not np.array_equal(firsts[0], firsts[1]), "each epoch is shuffled anew"
    other = _index_queue(n_obs, batch, shuffle_seed=8, partition=(size, rank))
    other.shuffle()
    again = _index_queue(n_obs, batch, shuffle_seed=7, partition=(size, rank))
    again.shuffle()
    assert not np.array_equal(other.next(), again.next()), "another seed, another order"
    return f"{steps} mini-batches over 2 epochs; the shares make up each mini-batch exactly"


def check_uneven_shards_end_the_epoch_together():
    """MATLAB's route: the datastore partitioned into blocks, each process with its own
    mini-batch size; the shards have different numbers of mini-batches and
    ``spmdReduce("and", hasdata)`` stops every process at the shortest."""
    rank, size = _rank_size()
    n_obs, batch = 47, 9
    sizes = [batch // size + (1 if r < batch % size else 0) for r in range(size)]
    ds = partition(arrayDatastore(np.arange(n_obs, dtype=np.float64)), size, rank)
    start, stop = block(n_obs, size, rank)
    assert np.array_equal(np.array(ds.readall()), np.arange(start, stop, dtype=np.float64))
    q = minibatchqueue(ds, mini_batch_size=sizes[rank], output_as_dlarray=False, output_cast="double")
    local = len(q)
    steps = 0
    while spmdReduce("and", q.hasdata()):
        q.next()
        steps += 1
    lengths = [-(-(block(n_obs, size, r)[1] - block(n_obs, size, r)[0]) // sizes[r]) for r in range(size)]
    assert steps == min(lengths), (steps, lengths)
    assert local == lengths[rank]
    assert size == 1 or len(set(lengths)) > 1, "the shards should differ in length"
    return f"mini-batches per shard {lengths}; all stopped after {steps}"


def check_broadcast_network():
    rank, size = _rank_size()
    np.random.seed(100 + rank)  # a different initialisation on every process
    net = _bn_network(np.float64)
    before = np.asarray(net.learnables["fc_1", "Weights"]).copy()
    net = broadcast(net)
    np.random.seed(100)
    reference = _bn_network(np.float64)
    _assert_same_structure_and_values(net.learnables, reference.learnables, "broadcast learnables")
    _assert_same_structure_and_values(net.state, reference.state, "broadcast state")
    if rank == 0:
        assert np.array_equal(before, np.asarray(reference.learnables["fc_1", "Weights"]))
    params = broadcast({"w": np.full(3, float(rank)), "step": rank}, source=size - 1)
    assert np.array_equal(params["w"], np.full(3, float(size - 1))) and params["step"] == size - 1
    return "network learnables and state, dict of parameters"


def check_batchnorm_statistics_merge_exactly():
    """With the shares' batch mean and (biased) variance, MATLAB's merge is the law of total
    variance: exactly the whole mini-batch's statistics, for shares of any sizes."""
    rank, size = _rank_size()
    rng = np.random.default_rng(5)
    data = rng.normal(2.0, 3.0, size=(4, 29))  # 4 channels, 29 observations
    start, stop = block(data.shape[1], size, rank)
    share = data[:, start:stop]
    factor = share.shape[1] / data.shape[1]
    state = Table(
        ["bn", "bn", "lstm"],
        ["TrainedMean", "TrainedVariance", "HiddenState"],
        [dlarray(share.mean(axis=1, keepdims=True)), dlarray(share.var(axis=1, keepdims=True)), dlarray(np.full((3, 1), float(rank)))],
    )
    merged = aggregate_state(state, factor)
    mean_err = np.max(np.abs(np.asarray(merged["bn", "TrainedMean"])[:, 0] - data.mean(axis=1)))
    var_err = np.max(np.abs(np.asarray(merged["bn", "TrainedVariance"])[:, 0] - data.var(axis=1)) / data.var(axis=1))
    assert mean_err < 1e-12 and var_err < 1e-12, (mean_err, var_err)
    assert np.array_equal(np.asarray(merged["lstm", "HiddenState"]), np.full((3, 1), float(rank))), "other state stays"
    assert np.array_equal(np.asarray(state["bn", "TrainedMean"]), share.mean(axis=1, keepdims=True)), "input unchanged"
    # The same merge in a dict of statistics.
    d = {"bn1": {"TrainedMean": share.mean(axis=1), "TrainedVariance": share.var(axis=1)}, "other": 1}
    md = aggregate_state(d, factor)
    assert np.max(np.abs(md["bn1"]["TrainedVariance"] - data.var(axis=1)) / data.var(axis=1)) < 1e-12
    assert md["other"] == 1 and np.array_equal(d["bn1"]["TrainedMean"], share.mean(axis=1)), "input unchanged"
    return (
        f"shares of {[block(29, size, r)[1] - block(29, size, r)[0] for r in range(size)]}: mean error {mean_err:.1e}, "
        f"variance relative error {var_err:.1e}"
    )


# ---- process-level behaviour ------------------------------------------------------------------


def check_gil_released_during_collectives():
    """While one process waits in a collective for a late partner, its other Python threads
    run: mpi4py releases the GIL around MPI calls."""
    rank, size = _rank_size()
    if size == 1:
        return "nothing to wait for in a pool of one"
    counter = [0]
    running = [True]

    def count():
        while running[0]:
            counter[0] += 1

    thread = threading.Thread(target=count, daemon=True)
    spmdBarrier()
    if rank == 0:
        thread.start()
        c0 = counter[0]
        time.sleep(0.2)  # sleep releases the GIL: the free rate
        free = counter[0] - c0
        c1 = counter[0]
        total = spmdPlus(np.ones(1 << 20))  # the others arrive 0.6 s later
        during = counter[0] - c1
        running[0] = False
        thread.join()
        assert total[0] == size
        # 0.6 s in MPI with the GIL held would leave the thread a switch interval or so.
        assert during > 0.3 * free, f"the counting thread advanced {during} times in the collective, {free} in 0.2 s of sleep"
        return f"thread advanced {during} times during the collective ({free} per 0.2 s free)"
    time.sleep(0.6)
    spmdPlus(np.ones(1 << 20))
    return "late partner"


def check_checkpoints_and_monitor_only_on_process_zero():
    rank, size = _rank_size()
    folder = spmdBroadcast(tempfile.mkdtemp(prefix="dlarray-parallel-") if rank == 0 else None)
    try:
        net = broadcast(_bn_network(np.float32))
        dl.save(os.path.join(folder, f"net{rank}.dlarray"), net, step=3)
        monitor = dl.trainingProgressMonitor(
            metrics=["Loss"], png_path=os.path.join(folder, f"monitor{rank}.png"), stream=open(os.devnull, "w")
        )
        monitor.record_metrics(1, Loss=1.0)
        monitor.close()
        spmdBarrier()
        names = sorted(os.listdir(folder))
        assert names == ["monitor0.png", "net0.dlarray"], names
        assert dl.load(os.path.join(folder, "net0.dlarray"))["step"] == 3
        spmdBarrier()
    finally:
        if rank == 0:
            shutil.rmtree(folder, ignore_errors=True)
    return "files written: net0, monitor0 only"


CHECKS = [
    check_rank_and_size,
    check_reductions_on_every_leaf_kind,
    check_function_spellings,
    check_containers_keep_their_structure,
    check_rank_arguments,
    check_mismatches_raise_on_every_process,
    check_partitioned_queue_shares_every_mini_batch,
    check_uneven_shards_end_the_epoch_together,
    check_broadcast_network,
    check_batchnorm_statistics_merge_exactly,
    check_equivalence_mlp_float64,
    check_equivalence_mlp_float32,
    check_equivalence_batchnorm_float64,
    check_equivalence_batchnorm_float32,
    check_gil_released_during_collectives,
    check_checkpoints_and_monitor_only_on_process_zero,
]
