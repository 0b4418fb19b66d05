"""The main job: train the seed's convolutional network on the digits data with MATLAB's
canonical custom training loop, then report the test accuracy.

    python -m dlarray.examples.train_digits [--epochs N] [--batch-size B] [--learn-rate LR]
                                            [--png PATH] [--max-iterations K] [--seed S]
                                            [--execution-environment auto|cpu|gpu]

(also installed as the console script ``dlarray-train-digits``). It is MATLAB's "Train
Network Using Custom Training Loop" example, ported line by line:

* ``digitTrain4DArrayData`` → an ``arrayDatastore`` pair → ``minibatchqueue`` (mini-batches
  of 128 formatted ``SSCB``, one-hot targets ``CB`` built by a mini-batch function);
* the network of design.md §7 (conv 5×5×20 "same", batch norm, ReLU, 2×2 max pooling with
  stride 2, fully connected 10, softmax);
* ``dlfeval(model_loss, net, X, T)`` → loss, gradients, state; ``net.state = state``;
  ``sgdmupdate`` with the time-based decay ``lr / (1 + decay·iteration)`` and momentum 0.9;
* a ``trainingProgressMonitor`` showing the loss (a PNG of the curve is written at the end);
* the accuracy of ``net.predict`` on ``digitTest4DArrayData``;
* MATLAB's ``ExecutionEnvironment`` option: ``"auto"`` trains on the GPU when ``canUseGPU()``
  (the queue delivers GPU batches and ``dlupdate(@gpuArray, net)`` moves the network), else on
  the CPU.
"""

from __future__ import annotations

import argparse
import time
from typing import Any, Callable, Dict, Optional, Sequence

import numpy as np

from dlarray import (
    arrayDatastore,
    batchNormalizationLayer,
    canUseGPU,
    combine,
    convolution2dLayer,
    crossentropy,
    digitTest4DArrayData,
    digitTrain4DArrayData,
    dlarray,
    dlfeval,
    dlgradient,
    dlnetwork,
    dlupdate,
    extractdata,
    fullyConnectedLayer,
    gpuArray,
    imageInputLayer,
    maxPooling2dLayer,
    minibatchqueue,
    reluLayer,
    sgdmupdate,
    softmaxLayer,
    trainingProgressMonitor,
)

__all__ = ["NUM_CLASSES", "accuracy", "build_network", "main", "make_queue", "model_loss", "train"]

NUM_CLASSES = 10


def build_network() -> dlnetwork:
    """The seed network of design.md §7."""
    return dlnetwork(
        [
            imageInputLayer((28, 28, 1), normalization="none"),
            convolution2dLayer(5, 20, padding="same"),
            batchNormalizationLayer(),
            reluLayer(),
            maxPooling2dLayer(2, stride=2),
            fullyConnectedLayer(NUM_CLASSES),
            softmaxLayer(),
        ]
    )


def model_loss(net: dlnetwork, X: dlarray, T: dlarray):
    """MATLAB's ``modelLoss``: loss, gradients with respect to the learnables, new state."""
    Y, state = net.forward(X, return_state=True)
    loss = crossentropy(Y, T)
    return loss, dlgradient(loss, net.learnables), state


def _collate_digits(images, labels):
    """Mini-batch function: images stacked along the 4th dim, labels one-hot (classes × N)."""
    X = np.stack(images, axis=-1)
    T = np.eye(NUM_CLASSES, dtype=np.float32)[np.asarray(labels, dtype=np.int64)].T
    return X, T


def make_queue(X: np.ndarray, labels: np.ndarray, batch_size: int, environment: str = "cpu") -> minibatchqueue:
    ds = combine(arrayDatastore(X, iteration_dimension=3), arrayDatastore(labels))
    return minibatchqueue(
        ds, mini_batch_size=batch_size, mini_batch_fcn=_collate_digits, mini_batch_format=["SSCB", "CB"], output_environment=environment
    )


def execution_device(environment: str) -> str:
    """MATLAB's ``ExecutionEnvironment``: ``"auto"`` is the GPU where ``canUseGPU()``."""
    if environment not in ("auto", "cpu", "gpu"):
        raise ValueError(f"execution environment must be 'auto', 'cpu' or 'gpu', got {environment!r}")
    return ("gpu" if canUseGPU() else "cpu") if environment == "auto" else environment


def accuracy(net: dlnetwork, X: np.ndarray, labels: np.ndarray, batch_size: int = 250, device: str = "cpu") -> float:
    """Fraction of ``labels`` predicted correctly by ``net.predict`` (inference mode)."""
    correct = 0
    for start in range(0, X.shape[-1], batch_size):
        Y = net.predict(dlarray(X[..., start : start + batch_size], "SSCB").to(device))
        correct += int(np.sum(np.argmax(extractdata(Y), axis=0) == labels[start : start + batch_size]))
    return correct / X.shape[-1]


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
    """Train and evaluate (on the first ``test_images`` test images, default all) on the device
    ``execution_environment`` names; returns the network, the accuracy, the device and timings."""
    device = execution_device(execution_environment)
    np.random.seed(seed)  # MATLAB's rng(seed): initialisers and shuffling
    XTrain, YTrain, _ = digitTrain4DArrayData()
    XTest, YTest, _ = digitTest4DArrayData()
    if test_images is not None:
        XTest, YTest = XTest[..., :test_images], YTest[:test_images]
    net = build_network()
    if device == "gpu":
        net = dlupdate(gpuArray, net)
    mbq = make_queue(XTrain, YTrain, batch_size, device)
    per_epoch = -(-XTrain.shape[-1] // batch_size)
    total = per_epoch * epochs if max_iterations is None else min(per_epoch * epochs, max_iterations)
    monitor = trainingProgressMonitor(metrics=["Loss"], info=["Epoch", "LearnRate"], x_label="Iteration", png_path=png, visible=verbose)
    vel = None
    iteration, epoch = 0, 0
    epoch_times, epoch_losses = [], []
    start = time.perf_counter()
    while epoch < epochs and not monitor.stop and iteration < total:
        epoch += 1
        t0, losses = time.perf_counter(), []
        mbq.shuffle()
        while mbq.hasdata() and not monitor.stop and iteration < total:
            iteration += 1
            X, T = mbq.next()
            loss, grads, state = dlfeval(model_loss, net, X, T)
            net.state = state
            lr = learn_rate / (1 + decay * iteration)
            net, vel = sgdmupdate(net, grads, vel, lr, momentum)
            losses.append(float(loss))
            monitor.record_metrics(iteration, Loss=losses[-1])
            monitor.update_info(Epoch=epoch, LearnRate=lr)
            monitor.progress = 100.0 * iteration / total
        epoch_times.append(time.perf_counter() - t0)
        epoch_losses.append(float(np.mean(losses)))
        if verbose:
            print(f"epoch {epoch}: mean loss {epoch_losses[-1]:.4f}, {len(losses)} iterations, {epoch_times[-1]:.1f} s", flush=True)
    monitor.status = "Training complete" if not monitor.stop else "Stopped"
    monitor.close()
    train_time = time.perf_counter() - start
    acc = accuracy(net, XTest, YTest, device=device)
    if verbose:
        print(
            f"test accuracy: {100 * acc:.2f}% ({XTest.shape[-1]} images); training on the {device.upper()} {train_time:.1f} s "
            f"({train_time / max(epoch, 1):.1f} s per epoch)" + (f"; progress plot: {png}" if png else "")
        )
    return {
        "net": net,
        "accuracy": acc,
        "device": device,
        "iterations": iteration,
        "epochs": epoch,
        "epoch_losses": epoch_losses,
        "epoch_times": epoch_times,
        "train_time": train_time,
    }


def run_command_line(
    argv: Optional[Sequence[str]],
    train_fn: Callable[..., Any],
    prog: str,
    description: str,
    batch_help: str = "mini-batch size (default 128)",
    png_help: str = "where to write the training-progress plot ('' for none)",
) -> int:
    """Parses the digits examples' shared options and trains with ``train_fn``."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("--epochs", type=int, default=3, help="number of epochs (default 3)")
    parser.add_argument("--batch-size", type=int, default=128, help=batch_help)
    parser.add_argument(
        "--learn-rate",
        type=float,
        default=0.01,
        help="initial learning rate of sgdmupdate, decayed as lr/(1+0.01·iteration) (default 0.01)",
    )
    parser.add_argument("--png", default="training-progress.png", help=png_help)
    parser.add_argument("--max-iterations", type=int, default=None, help="stop after this many iterations (CI)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--test-images", type=int, default=None, help="evaluate on the first N test images only (CI; default all 5000)")
    parser.add_argument(
        "--execution-environment",
        choices=["auto", "cpu", "gpu"],
        default="auto",
        help="where to train: the GPU when one can be used (auto, the default), the CPU, or the GPU",
    )
    args = parser.parse_args(argv)
    if args.epochs < 1 or args.batch_size < 1 or (args.test_images is not None and args.test_images < 1):
        parser.error("--epochs, --batch-size and --test-images must be positive")
    train_fn(
        epochs=args.epochs,
        batch_size=args.batch_size,
        learn_rate=args.learn_rate,
        png=args.png or None,
        max_iterations=args.max_iterations,
        seed=args.seed,
        test_images=args.test_images,
        execution_environment=args.execution_environment,
    )
    return 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    return run_command_line(argv, train, prog="dlarray-train-digits", description=__doc__.split("\n\n")[0])


if __name__ == "__main__":
    raise SystemExit(main())
