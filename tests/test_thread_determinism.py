"""Results do not depend on the number of threads: the same script run with RAYON_NUM_THREADS
1, 2 and 4 gives bit-identical reductions, normalisations, products, convolution and LSTM
gradients and training steps (each run in its own process: the pool size is fixed when it
starts)."""

import os
import subprocess
import sys

SCRIPT = r"""
import hashlib, numpy as np, dlarray as dl
from dlarray import (dlarray, dlfeval, dlgradient, dlnetwork, crossentropy, adamupdate, imageInputLayer,
                     convolution2dLayer, batchNormalizationLayer, layerNormalizationLayer, reluLayer,
                     maxPooling2dLayer, fullyConnectedLayer, softmaxLayer)

digests = []
def put(a):
    digests.append(hashlib.sha256(np.ascontiguousarray(np.asarray(a)).tobytes()).hexdigest()[:16])

rng = np.random.default_rng(5)
x = (rng.standard_normal(3_000_000) * 100 + 1e4).astype(np.float32)
put(dl.sum(dlarray(x)))
X = dlarray(x.reshape(1000, 3000))
for axis in (0, 1):
    put(dl.sum(X, axis)); put(dl.mean(X, axis)); put(dl.prod(X * 0 + 1.0000001, axis))
put(dl.sum(dlarray(x.reshape(10, 300_000)), 1)); put(dl.sum(dlarray(x.reshape(10, 300_000)), 0))
put(dl.sum(dlarray(x.reshape(300_000, 10)), 1))
B = dlarray(x.reshape(30, 40, 50, 50), "SSCB")
put(dl.batchnorm(B, np.zeros(50, np.float32), np.ones(50, np.float32)))
put(dl.layernorm(B, np.zeros(50, np.float32), np.ones(50, np.float32)))
put(dl.instancenorm(B, np.zeros(50, np.float32), np.ones(50, np.float32)))

# Matrix products (gemm splits only output blocks between threads) and convolution gradients.
A = rng.standard_normal((300, 2000)).astype(np.float32)
put(dl.matmul(dlarray(A), dlarray(rng.standard_normal((2000, 400)).astype(np.float32))))
put(dl.matmul(dlarray(A[:300].reshape(10, 60000)), dlarray(rng.standard_normal((60000, 10)).astype(np.float32))))
def conv_grads(x, w):
    return dlgradient((dl.stripdims(dl.dlconv(x, w, 0, padding="same")) ** 2).sum(), x, w)
for g in dlfeval(conv_grads, dlarray(rng.standard_normal((28, 28, 8, 64)).astype(np.float32), "SSCB"),
                 dlarray(rng.standard_normal((5, 5, 8, 16)).astype(np.float32))):
    put(g)

# An LSTM large enough for its two-thread kernels, forward and backward.
H, Cx, Bx, Tx = 256, 64, 64, 6
Xl = dlarray(rng.standard_normal((Cx, Bx, Tx)).astype(np.float32), "CBT")
h0, c0 = np.zeros((H, Bx), np.float32), np.zeros((H, Bx), np.float32)
Wl, Rl = (0.1 * rng.standard_normal((4 * H, Cx))).astype(np.float32), (0.1 * rng.standard_normal((4 * H, H))).astype(np.float32)
def lstm_grads(x, w, r):
    Y, _, _ = dl.lstm(x, h0, c0, w, r, np.zeros(4 * H, np.float32))
    return dlgradient((dl.stripdims(Y) ** 2).sum(), x, w, r)
for g in dlfeval(lstm_grads, Xl, dlarray(Wl), dlarray(Rl)):
    put(g)

# A few training steps of a small network (conv, batch and layer norm, fully connected).
np.random.seed(0)
net = dlnetwork([imageInputLayer((28, 28, 1), normalization="none"), convolution2dLayer(5, 20, padding="same"),
                 batchNormalizationLayer(), reluLayer(), maxPooling2dLayer(2, stride=2), layerNormalizationLayer(),
                 fullyConnectedLayer(10), softmaxLayer()])
Xt = rng.standard_normal((28, 28, 1, 128)).astype(np.float32)
Tt = np.eye(10, dtype=np.float32)[rng.integers(0, 10, 128)].T

def model_loss(net, X, T):
    Y, state = net.forward(X, return_state=True)
    loss = crossentropy(Y, T)
    return loss, dlgradient(loss, net.learnables), state

avg = sq = None
for it in range(1, 4):
    loss, grads, state = dlfeval(model_loss, net, dlarray(Xt, "SSCB"), dlarray(Tt, "CB"))
    net.state = state
    net, avg, sq = adamupdate(net, grads, avg, sq, it)
    put(loss)
for v in net.learnables.value:
    put(v)
print(" ".join(digests))
"""


def run(threads):
    env = dict(os.environ, RAYON_NUM_THREADS=str(threads))
    out = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    return out.stdout.split()


def test_results_are_bit_identical_for_1_2_and_4_threads():
    one = run(1)
    for t in (2, 4):
        other = run(t)
        differ = [i for i, (a, b) in enumerate(zip(one, other)) if a != b]
        assert len(one) == len(other) and not differ, f"{t} threads: results {differ} differ from one thread's"
