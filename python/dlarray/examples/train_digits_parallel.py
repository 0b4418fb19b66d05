"""The seed network trained on the digits data by several processes at once, with MATLAB's
parallel custom-training-loop pattern ("Train Network in Parallel with Custom Training
Loop"):

    RAYON_NUM_THREADS=1 mpirun -np 2 python -m dlarray.examples.train_digits_parallel
        [--epochs N] [--batch-size B] [--learn-rate LR] [--max-iterations K] [--seed S]
        [--test-images M] [--png PATH]

(as root, Open MPI also wants ``OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1``;
with more processes than cores, ``mpirun --oversubscribe``). ``RAYON_NUM_THREADS`` sets the
kernels' threads per process: with one process per core, one thread each. Without
``mpirun`` the same script trains in one process.

What each process does, as MATLAB's example on each worker:

* the same network on every process: ``broadcast(build_network())``;
* its share of every mini-batch of ``--batch-size`` (128) observations:
  ``minibatchqueue(..., partition=(spmdSize(), spmdIndex()))``, shuffled every epoch in the
  same order on every process;
* ``while spmdReduce("and", mbq.hasdata())``: the epoch ends on all processes together;
* ``dlfeval(model_loss, net, X, T)`` on the share, then, weighted by the share's fraction
  ``f = mbq.normalization_factor`` of the mini-batch: the loss ``spmdPlus(f * loss)``, the
  batch-norm state ``aggregate_state(state, f)`` and the gradients
  ``aggregate_gradients(grads, f)``; the same ``sgdmupdate`` everywhere;
* the monitor is drawn by process 0, whose Stop flag is shared with ``spmdBroadcast``;
* the test accuracy: each process predicts a block of the test images, ``spmdPlus`` adds
  up the correct ones; process 0 prints it.
"""

from __future__ import annotations

import time
from typing import Any, Dict, Optional, Sequence

import numpy as np

from dlarray import (
    arrayDatastore,
    combine,
    digitTest4DArrayData,
    digitTrain4DArrayData,
    dlfeval,
    dlupdate,
    gpuArray,
    minibatchqueue,
    sgdmupdate,
    spmdBroadcast,
    spmdIndex,
    spmdPlus,
    spmdReduce,
    spmdSize,
    trainingProgressMonitor,
)
from dlarray.data.partition import block
from dlarray.examples.train_digits import _collate_digits, accuracy, build_network, execution_device, model_loss, run_command_line
from dlarray.parallel import aggregate_gradients, aggregate_state, broadcast

__all__ = ["main", "train"]


def train(
    epochs: int = 3,
    batch_size: int = 128,
    learn_rate: float = 0.01,
    decay: float = 0.01,
    momentum: float = 0.9,
    png: Optional[str] = "training-progress.png",
    max_iterations: Optional[int] = None,
    seed: int = 0,
    verbose: bool = True,
    test_images: Optional[int] = None,
    execution_environment: str = "auto",
) -> Dict[str, Any]:
    """Train on every process of the pool, each on the device ``execution_environment`` names
    (MATLAB's option; ``"auto"`` is the GPU where ``canUseGPU()``); returns the network (the
    same on every process), the test accuracy and timings."""
    rank, size = spmdIndex(), spmdSize()
    device = execution_device(execution_environment)
    np.random.seed(seed)
    XTrain, YTrain, _ = digitTrain4DArrayData()
    XTest, YTest, _ = digitTest4DArrayData()
    if test_images is not None:
        XTest, YTest = XTest[..., :test_images], YTest[:test_images]
    net = broadcast(build_network())
    if device == "gpu":
        net = dlupdate(gpuArray, net)
    ds = combine(arrayDatastore(XTrain, iteration_dimension=3), arrayDatastore(YTrain))
    mbq = minibatchqueue(
        ds,
        mini_batch_size=batch_size,
        mini_batch_fcn=_collate_digits,
        mini_batch_format=["SSCB", "CB"],
        partition=(size, rank),
        shuffle_seed=seed,
        output_environment=device,
    )
    per_epoch = len(mbq)
    total = spmdReduce("min", per_epoch) * epochs
    if max_iterations is not None:
        total = min(total, max_iterations)
    monitor = trainingProgressMonitor(
        metrics=["Loss"], info=["Epoch", "LearnRate", "Processes"], x_label="Iteration", png_path=png, visible=verbose
    )
    monitor.update_info(Processes=size)
    vel = None
    iteration, epoch, stop = 0, 0, False
    epoch_times, epoch_losses = [], []
    start = time.perf_counter()
    while epoch < epochs and not stop and iteration < total:
        epoch += 1
        t0, losses = time.perf_counter(), []
        mbq.shuffle()
        while spmdReduce("and", mbq.hasdata()) and not stop and iteration < total:
            iteration += 1
            X, T = mbq.next()
            f = mbq.normalization_factor  # this share's fraction of the mini-batch
            loss, grads, state = dlfeval(model_loss, net, X, T)
            loss = spmdPlus(f * float(loss))  # the loss of the whole mini-batch
            net.state = aggregate_state(state, f)
            grads = aggregate_gradients(grads, f)
            lr = learn_rate / (1 + decay * iteration)
            net, vel = sgdmupdate(net, grads, vel, lr, momentum)
            losses.append(loss)
            monitor.record_metrics(iteration, Loss=loss)
            monitor.update_info(Epoch=epoch, LearnRate=lr)
            monitor.progress = 100.0 * iteration / total
            stop = spmdBroadcast(monitor.stop)  # process 0's Stop ends training on all
        epoch_times.append(time.perf_counter() - t0)
        epoch_losses.append(float(np.mean(losses)) if losses else float("nan"))
        if verbose and rank == 0:
            print(
                f"epoch {epoch}: mean loss {epoch_losses[-1]:.4f}, {len(losses)} iterations, "
                f"{epoch_times[-1]:.1f} s on {size} process{'es' if size > 1 else ''}",
                flush=True,
            )
    monitor.status = "Training complete" if not stop else "Stopped"
    monitor.close()
    train_time = time.perf_counter() - start
    lo, hi = block(XTest.shape[-1], size, rank)
    correct = spmdPlus(round(accuracy(net, XTest[..., lo:hi], YTest[lo:hi], device=device) * (hi - lo)) if hi > lo else 0)
    acc = correct / XTest.shape[-1]
    if verbose and rank == 0:
        print(
            f"test accuracy: {100 * acc:.2f}% ({XTest.shape[-1]} images); training {train_time:.1f} s on "
            f"{size} process{'es' if size > 1 else ''} ({train_time / max(epoch, 1):.1f} s per epoch)"
            + (f"; progress plot: {png}" if png else ""),
            flush=True,
        )
    return {
        "net": net,
        "accuracy": acc,
        "iterations": iteration,
        "epochs": epoch,
        "epoch_losses": epoch_losses,
        "epoch_times": epoch_times,
        "train_time": train_time,
        "processes": size,
    }


def main(argv: Optional[Sequence[str]] = None) -> int:
    return run_command_line(
        argv,
        train,
        prog="python -m dlarray.examples.train_digits_parallel",
        description=__doc__.split("\n\n")[0],
        batch_help="mini-batch size, all processes together (default 128)",
        png_help="where process 0 writes the training-progress plot ('' for none)",
    )


if __name__ == "__main__":
    raise SystemExit(main())
