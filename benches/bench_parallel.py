"""Data-parallel training on MPI: how fast the gradient aggregation is, and what a second
process buys.

    python benches/bench_parallel.py            # runs every part, launching mpirun itself
    python benches/bench_parallel.py --part bandwidth|overhead|throughput   (under mpirun)

Parts (each on 2 processes, one kernel thread each):

* ``bandwidth``: for gradient sets of 1 to 64 MB (float32, 8 parameters), the time of
  mpi4py's raw in-place ``Allreduce`` of one buffer of those bytes, of the ``Allreduce`` per
  32 MB bucket of the packed buffer alone ("buckets"), and the bucketed
  reduction of the same bytes (``spmdPlus`` of numpy arrays: agreement, pack into buckets,
  one ``Allreduce`` per bucket, unpack) and against ``aggregate_gradients`` of dlarrays
  (the same, scaling while packing), with factor 0.5 and with factor 1; reported as the
  fraction of the raw bandwidth each reaches.
* ``overhead``: ``aggregate_gradients`` per step for the seed network's gradients and for a
  10M-parameter MLP's, against the raw ``Allreduce`` of the same bytes: the difference is
  what the aggregation adds to a step.
* ``throughput``: images per second training the seed network (mini-batch 128, the parallel
  example's loop) on 2 processes with 1 thread each against 1 process with 2 threads.

Loopback shared memory on a shared 2-core machine: the absolute numbers are noisy; the
ratios are what to read.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np


def _best(fn, repeat):
    from dlarray import spmdBarrier

    times = []
    for _ in range(repeat):
        spmdBarrier()
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def _raw(nbytes, repeat):
    from mpi4py import MPI

    comm = MPI.COMM_WORLD
    buf = np.ones(nbytes // 4, np.float32)
    return _best(lambda: comm.Allreduce(MPI.IN_PLACE, buf), repeat)


def _buckets_only(arrays, repeat):
    """The MPI part of the bucketed reduction alone: one Allreduce per bucket of the packed
    buffers (what the bucketing costs MPI, without the copies in and out)."""
    from dlarray.parallel._buckets import packing
    from mpi4py import MPI

    values = list(arrays.values())
    pk = packing([(a.dtype, a.size) for a in values])
    buffers = pk.buffers()
    pk.pack(buffers, values)
    comm = MPI.COMM_WORLD

    def run():
        for bucket in pk.buckets(buffers):
            comm.Allreduce(MPI.IN_PLACE, bucket)

    return _best(run, repeat)


def _grads(nbytes, parts=8):
    from dlarray import dlarray

    n = nbytes // 4 // parts
    return {f"p{i}": dlarray(np.ones(n, np.float32)) for i in range(parts)}


def part_bandwidth():
    from dlarray import spmdIndex, spmdPlus
    from dlarray.parallel import aggregate_gradients

    rows = []
    for mb in (1, 4, 16, 64):
        nbytes = mb << 20
        repeat = 12 if mb <= 16 else 6
        grads = _grads(nbytes)
        arrays = {k: np.asarray(v).copy() for k, v in grads.items()}
        aggregate_gradients(grads, 0.5)  # warm: buffers allocated
        spmdPlus(arrays)
        raw = _raw(nbytes, repeat)
        buckets = _buckets_only(arrays, repeat)
        bucketed = _best(lambda: spmdPlus(arrays), repeat)
        aggregated = _best(lambda: aggregate_gradients(grads, 0.5), repeat)
        unscaled = _best(lambda: aggregate_gradients(grads, 1.0), repeat)
        rows.append(
            {
                "MB": mb,
                "raw_ms": raw * 1e3,
                "buckets_ms": buckets * 1e3,
                "bucketed_ms": bucketed * 1e3,
                "aggregate_ms": aggregated * 1e3,
                "raw_GBps": nbytes / raw / 1e9,
                "bucketed_ratio": raw / bucketed,
                "aggregate_ratio": raw / aggregated,
                "unscaled_ms": unscaled * 1e3,
                "unscaled_ratio": raw / unscaled,
            }
        )
    if spmdIndex() == 0:
        print(json.dumps({"bandwidth": rows}))


def _mlp_grads(sizes):
    from dlarray import dlarray

    rng = np.random.default_rng(0)
    grads = {}
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        grads[f"fc{i}"] = {
            "Weights": dlarray(rng.standard_normal((n_out, n_in), dtype=np.float32)),
            "Bias": dlarray(np.zeros((n_out, 1), np.float32)),
        }
    return grads


def part_overhead():
    from dlarray import dlarray, dlfeval, spmdIndex
    from dlarray.examples.train_digits import build_network, model_loss
    from dlarray.parallel import aggregate_gradients

    net = build_network()
    X = dlarray(np.random.default_rng(0).random((28, 28, 1, 64), dtype=np.float32), "SSCB")
    T = dlarray(np.eye(10, dtype=np.float32)[np.arange(64) % 10], "BC")
    _, seed_grads, _ = dlfeval(model_loss, net, X, T)
    mlp = _mlp_grads([1024, 2048, 2048, 1792, 10])
    rows = []
    for name, grads in (("seed network", seed_grads), ("10M-parameter MLP", mlp)):
        from dlarray.parallel._leaves import flatten

        flat = flatten(grads, "bench")
        params = sum(a.size for a in flat.arrays)
        aggregate_gradients(grads, 0.5)
        repeat = 30 if params < 1e6 else 8
        t = _best(lambda: aggregate_gradients(grads, 0.5), repeat)
        raw = _raw(params * 4, repeat)
        rows.append(
            {
                "gradients": name,
                "parameters": int(params),
                "count": len(flat.arrays),
                "aggregate_ms": t * 1e3,
                "raw_allreduce_ms": raw * 1e3,
                "overhead_ms": (t - raw) * 1e3,
            }
        )
    if spmdIndex() == 0:
        print(json.dumps({"overhead": rows}))


def part_throughput():
    from dlarray import spmdIndex, spmdSize
    from dlarray.examples import train_digits_parallel

    train_digits_parallel.train(epochs=1, max_iterations=3, png=None, verbose=False, test_images=10)  # warm
    result = train_digits_parallel.train(epochs=1, max_iterations=36, png=None, verbose=False, test_images=10)
    if spmdIndex() == 0:
        images = result["iterations"] * 128
        print(
            json.dumps(
                {
                    "throughput": {
                        "processes": spmdSize(),
                        "threads": os.environ.get("RAYON_NUM_THREADS"),
                        "iterations": result["iterations"],
                        "seconds": result["train_time"],
                        "images_per_s": images / result["train_time"],
                    }
                }
            )
        )


PARTS = {"bandwidth": part_bandwidth, "overhead": part_overhead, "throughput": part_throughput}


def _launch(part, processes, threads):
    env = dict(os.environ, RAYON_NUM_THREADS=str(threads), OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    command = [sys.executable, __file__, "--part", part]
    if processes > 1:
        command = ["mpirun", "-np", str(processes), "--oversubscribe"] + command
    out = subprocess.run(command, capture_output=True, text=True, env=env, timeout=900)
    if out.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{out.stdout}\n{out.stderr}")
    return json.loads([line for line in out.stdout.splitlines() if line.startswith("{")][-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--part", choices=sorted(PARTS))
    args = parser.parse_args()
    if args.part:
        PARTS[args.part]()
        return
    bandwidth = _launch("bandwidth", 2, 1)["bandwidth"]
    print("allreduce of float32 gradients on 2 processes (median time; fraction of raw Allreduce bandwidth)")
    print(
        f"{'MB':>4} {'raw ms':>9} {'GB/s':>6} {'buckets ms':>11} {'bucketed ms':>12} {'ratio':>6} "
        f"{'aggregate(0.5) ms':>18} {'ratio':>6} {'aggregate(1) ms':>16} {'ratio':>6}"
    )
    for r in bandwidth:
        print(
            f"{r['MB']:>4} {r['raw_ms']:>9.2f} {r['raw_GBps']:>6.2f} {r['buckets_ms']:>11.2f} {r['bucketed_ms']:>12.2f} "
            f"{r['bucketed_ratio']:>6.2f} {r['aggregate_ms']:>18.2f} {r['aggregate_ratio']:>6.2f} "
            f"{r['unscaled_ms']:>16.2f} {r['unscaled_ratio']:>6.2f}"
        )
    print("\naggregate_gradients per step on 2 processes")
    for r in _launch("overhead", 2, 1)["overhead"]:
        print(
            f"  {r['gradients']}: {r['parameters']:,} parameters in {r['count']} arrays: {r['aggregate_ms']:.2f} ms "
            f"(raw Allreduce of the same bytes {r['raw_allreduce_ms']:.2f} ms; overhead {r['overhead_ms']:.2f} ms)"
        )
    one = _launch("throughput", 1, 2)["throughput"]
    two = _launch("throughput", 2, 1)["throughput"]
    print("\ntraining the seed network, mini-batch 128")
    for r in (one, two):
        print(
            f"  {r['processes']} process(es) x {r['threads']} thread(s): {r['images_per_s']:.0f} images/s "
            f"({r['iterations']} iterations in {r['seconds']:.2f} s)"
        )
    print(f"  2 processes against 1: {two['images_per_s'] / one['images_per_s']:.2f}x")


if __name__ == "__main__":
    main()
