"""The equivalence checks of ``spmd_checks``: training on N processes (each a shard of every
mini-batch, gradients and batch-norm statistics aggregated with MATLAB's formulas) gives the
parameters one process gets from the whole mini-batches, for an MLP and a batch-norm network,
in float64 and float32, with SGDM and Adam."""

from __future__ import annotations

import numpy as np
from dlarray import (
    adamupdate,
    crossentropy,
    dlarray,
    dlfeval,
    dlgradient,
    fullyconnect,
    minibatchqueue,
    sgdmupdate,
    softmax,
    spmdBroadcast,
    spmdIndex,
    spmdReduce,
    spmdSize,
    tanh,
)
from dlarray.data import arrayDatastore, combine
from dlarray.data.partition import block
from dlarray.parallel import aggregate_gradients, aggregate_state, broadcast
from spmd_helpers import _assert_same_structure_and_values, _bn_network, _leaves


def _mlp_params(dtype, rng):
    def w(o, i):
        return dlarray((rng.standard_normal((o, i)) * np.sqrt(2.0 / i)).astype(dtype))

    return {
        "fc1": {"Weights": w(12, 6), "Bias": dlarray(np.zeros((12, 1), dtype))},
        "fc2": {"Weights": w(4, 12), "Bias": dlarray(np.zeros((4, 1), dtype))},
    }


def _mlp_loss(params, X, T):
    h = tanh(fullyconnect(X, params["fc1"]["Weights"], params["fc1"]["Bias"]))
    Y = softmax(fullyconnect(h, params["fc2"]["Weights"], params["fc2"]["Bias"]))
    loss = crossentropy(Y, T)
    return loss, dlgradient(loss, params)


def _bn_loss(net, X, T):
    Y, state = net.forward(X, return_state=True)
    loss = crossentropy(Y, T)
    return loss, dlgradient(loss, net.learnables), state


def _data(dtype, n_obs=52):
    rng = np.random.default_rng(11)
    X = rng.standard_normal((n_obs, 6)).astype(dtype)
    labels = (X[:, 0] + X[:, 1] > 0).astype(int) + 2 * (X[:, 2] > 0)
    T = np.eye(4, dtype=dtype)[labels]
    return X, T


def _queue(dtype, batch, **options):
    X, T = _data(dtype)
    ds = combine(arrayDatastore(X), arrayDatastore(T))
    cast = "double" if dtype == np.float64 else "single"
    return minibatchqueue(ds, mini_batch_size=batch, mini_batch_format=["CB", "CB"], output_cast=cast, shuffle_seed=3, **options)


def _update(optimizer, params, grads, opt_state, iteration):
    if optimizer == "sgdm":
        params, vel = sgdmupdate(params, grads, opt_state, 0.05, 0.9)
        return params, vel
    avg, avg_sq = opt_state if opt_state is not None else (None, None)
    params, avg, avg_sq = adamupdate(params, grads, avg, avg_sq, iteration, 0.01)
    return params, (avg, avg_sq)


def _relative_error(got, want):
    g = [np.asarray(v, dtype=np.float64) for v in _leaves(got)]
    w = [np.asarray(v, dtype=np.float64) for v in _leaves(want)]
    assert len(g) == len(w)
    return max(float(np.max(np.abs(a - b)) / max(float(np.max(np.abs(b))), 1e-300)) for a, b in zip(g, w))


def _train_mlp(dtype, optimizer, share, epochs=2, batch=16):
    params = _mlp_params(dtype, np.random.default_rng(1))
    mbq = _queue(dtype, batch, partition=share)
    opt_state, iteration = None, 0
    for _ in range(epochs):
        mbq.shuffle()
        while spmdReduce("and", mbq.hasdata()) if share else mbq.hasdata():
            iteration += 1
            X, T = mbq.next()
            loss, grads = dlfeval(_mlp_loss, params, X, T)
            if share:
                grads = aggregate_gradients(grads, mbq.normalization_factor)
            params, opt_state = _update(optimizer, params, grads, opt_state, iteration)
    return params, iteration


def _check_mlp(dtype, tolerance):
    rank, size = (spmdIndex(), spmdSize())
    out = []
    for optimizer in ("sgdm", "adam"):
        pooled, steps = _train_mlp(dtype, optimizer, (size, rank))
        alone, steps_alone = _train_mlp(dtype, optimizer, None)  # one process, whole mini-batches
        assert steps == steps_alone == 8, (steps, steps_alone)
        err = _relative_error(pooled, alone)
        worst = spmdReduce("max", err)
        assert worst <= tolerance, f"{optimizer} {np.dtype(dtype).name}: relative error {worst:.2e} > {tolerance:g}"
        _assert_same_structure_and_values(spmdBroadcast(pooled), pooled, "the same parameters on every process")
        out.append(f"{optimizer} {worst:.1e}")
    return f"MLP {np.dtype(dtype).name}, {size} processes vs 1, 8 steps (16 per mini-batch, last one 4): " + ", ".join(out)


def check_equivalence_mlp_float64():
    return _check_mlp(np.float64, 1e-10)


def check_equivalence_mlp_float32():
    return _check_mlp(np.float32, 1e-5)


def _train_bn_pooled(dtype, optimizer, epochs=2, batch=16):
    rank, size = (spmdIndex(), spmdSize())
    np.random.seed(21 + rank)
    net = broadcast(_bn_network(dtype))
    mbq = _queue(dtype, batch, partition=(size, rank))
    opt_state, iteration = None, 0
    for _ in range(epochs):
        mbq.shuffle()
        while spmdReduce("and", mbq.hasdata()):
            iteration += 1
            X, T = mbq.next()
            f = mbq.normalization_factor
            loss, grads, state = dlfeval(_bn_loss, net, X, T)
            net.state = aggregate_state(state, f)
            grads = aggregate_gradients(grads, f)
            net, opt_state = _update(optimizer, net, grads, opt_state, iteration)
    return net, iteration


def _train_bn_one_process(dtype, optimizer, size, epochs=2, batch=16):
    """One process doing what the pool does: each mini-batch cut into the same shares (batch
    normalisation normalises each share by its own statistics, in MATLAB's pattern too), the
    shares' gradients and statistics combined here with numpy."""
    np.random.seed(21)
    net = _bn_network(dtype)
    mbq = _queue(dtype, batch)
    opt_state, iteration = None, 0
    for _ in range(epochs):
        mbq.shuffle()
        while mbq.hasdata():
            iteration += 1
            X, T = mbq.next()
            x, t = np.asarray(X), np.asarray(T)
            n = x.shape[1]
            grads_sum, means, variances, factors = None, [], [], []
            for r in range(size):
                start, stop = block(n, size, r)
                f = (stop - start) / n
                _, g, state = dlfeval(_bn_loss, net, dlarray(x[:, start:stop], "CB"), dlarray(t[:, start:stop], "CB"))
                gs = [np.asarray(v) * np.asarray(f, dtype) for v in g.value]
                grads_sum = gs if grads_sum is None else [a + b for a, b in zip(grads_sum, gs)]
                means.append(np.asarray(state["batchnorm", "TrainedMean"]))
                variances.append(np.asarray(state["batchnorm", "TrainedVariance"]))
                factors.append(np.asarray(f, dtype))
            mean = sum(f * m for f, m in zip(factors, means))
            var = sum(f * (v + (m - mean) ** 2) for f, m, v in zip(factors, means, variances))
            st = net.state
            st["batchnorm", "TrainedMean"], st["batchnorm", "TrainedVariance"] = dlarray(mean), dlarray(var)
            net.state = st
            grads = g.replace([dlarray(a) for a in grads_sum])
            net, opt_state = _update(optimizer, net, grads, opt_state, iteration)
    return net, iteration


def _check_bn(dtype, tolerance):
    _, size = (spmdIndex(), spmdSize())
    out = []
    for optimizer in ("sgdm", "adam"):
        pooled, steps = _train_bn_pooled(dtype, optimizer)
        alone, steps_alone = _train_bn_one_process(dtype, optimizer, size)
        assert steps == steps_alone == 8, (steps, steps_alone)
        err = spmdReduce("max", max(_relative_error(pooled.learnables, alone.learnables), _relative_error(pooled.state, alone.state)))
        assert err <= tolerance, f"batch norm {optimizer} {np.dtype(dtype).name}: relative error {err:.2e}"
        out.append(f"{optimizer} {err:.1e}")
    return f"batch-norm network {np.dtype(dtype).name}, learnables and state: " + ", ".join(out)


def check_equivalence_batchnorm_float64():
    return _check_bn(np.float64, 1e-10)


def check_equivalence_batchnorm_float32():
    return _check_bn(np.float32, 1e-5)
