"""What one training step costs the GPU engine in steady state: submits, dispatches, uploads,
readbacks and buffer allocations per step (from ``dlarray._core._gpu_stats()``), for the
seed CNN model function with ``adamupdate``, every array on the GPU. An upload or readback
marks an op that ran on the host copy; an allocation in steady state would mean the buffer
pool is not reused.

    DLARRAY_GPU_ADAPTER=any python benches/gpu_step_counts.py [--batch B] [--steps N]

(``DLARRAY_GPU_ADAPTER=any`` lets it run on a CPU adapter such as lavapipe.)
"""

from __future__ import annotations

import argparse

import dlarray as dl
import numpy as np
from dlarray import _core


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--steps", type=int, default=5)
    args = parser.parse_args()
    if not dl.canUseGPU():
        raise SystemExit("no GPU adapter (set DLARRAY_GPU_ADAPTER=any to use a CPU adapter such as lavapipe)")
    rng = np.random.default_rng(0)
    gpu, f32, b = dl.gpuArray, np.float32, args.batch
    X = gpu(dl.dlarray(rng.random((28, 28, 1, b), dtype=f32), "SSCB"))
    T = gpu(dl.dlarray(np.eye(10, dtype=f32)[:, rng.integers(0, 10, b)], "CB"))
    p = {
        "w": rng.standard_normal((5, 5, 1, 20)).astype(f32) * 0.1,
        "b": np.zeros(20, f32),
        "off": np.zeros(20, f32),
        "sc": np.ones(20, f32),
        "fw": rng.standard_normal((10, 3920)).astype(f32) * 0.01,
        "fb": np.zeros(10, f32),
    }
    p = {k: gpu(dl.dlarray(v)) for k, v in p.items()}
    mean0, var0 = gpu(dl.dlarray(np.zeros(20, f32))), gpu(dl.dlarray(np.ones(20, f32)))

    def model_loss(p, X, T):
        Y = dl.dlconv(X, p["w"], p["b"], padding="same")
        Y, _, _ = dl.batchnorm(Y, p["off"], p["sc"], mean0, var0, training=True)
        Y = dl.maxpool(dl.relu(Y), 2, stride=2)
        loss = dl.crossentropy(dl.softmax(dl.fullyconnect(Y, p["fw"], p["fb"])), T)
        return loss, dl.dlgradient(loss, p)

    avg = sq = None
    warmup = 3
    for it in range(1, warmup + args.steps + 1):
        if it == warmup + 1:
            before = _core._gpu_stats()
        loss, grads = dl.dlfeval(model_loss, p, X, T)
        p, avg, sq = dl.adamupdate(p, grads, avg, sq, it)
    after = _core._gpu_stats()
    print(f"batch {b}, {args.steps} steps after {warmup} of warm-up; per step:")
    for k in ("submits", "dispatches", "uploads", "readbacks", "allocations", "reuses", "pipelines_compiled"):
        print(f"  {k}: {(after[k] - before[k]) / args.steps:g}")
    print(f"  live device memory: {after['live_bytes'] / 2**20:.2f} MiB; loss {float(dl.gather(loss)):.4f}")


if __name__ == "__main__":
    main()
