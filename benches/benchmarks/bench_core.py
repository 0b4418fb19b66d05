"""asv suites for the dlarray core: elementwise ops (forward and forward+backward), reductions,
matrix products and indexing. Timings only; correctness lives in tests/."""

import dlarray as dl
import numpy as np

_RNG = np.random.default_rng(0)


def _data(*shape, dtype=np.float32):
    return _RNG.standard_normal(shape).astype(dtype)


class Elementwise:
    """Unary and binary elementwise ops, untraced, at a small and a large size."""

    params = ([16, 1_000_000], ["add", "mul", "exp", "tanh", "sigmoid"])
    param_names = ["n", "op"]

    def setup(self, n, op):
        self.x = dl.dlarray(_data(n))
        self.y = dl.dlarray(_data(n))
        self.fn = {
            "add": lambda: self.x + self.y,
            "mul": lambda: self.x * self.y,
            "exp": lambda: dl.exp(self.x),
            "tanh": lambda: dl.tanh(self.x),
            "sigmoid": lambda: dl.sigmoid(self.x),
        }[op]

    def time_forward(self, n, op):
        self.fn()


class ElementwiseBackward:
    """A chain of traced elementwise ops and its gradient (the per-op overhead of the tape)."""

    params = ([4, 100_000], [1, 32])
    param_names = ["n", "chain"]

    def setup(self, n, chain):
        self.x = dl.dlarray(_data(n))

    def time_forward_backward(self, n, chain):
        def loss(x):
            y = x
            for _ in range(chain):
                y = dl.tanh(y * 1.0001 + 0.5)
            s = y.sum()
            return s, dl.dlgradient(s, x)

        dl.dlfeval(loss, self.x)

    def time_second_order(self, n, chain):
        def loss(x):
            y = x
            for _ in range(chain):
                y = dl.sin(y) * y
            g = dl.dlgradient(y.sum(), x, enable_higher_derivatives=True)
            return dl.dlgradient((g * g).sum(), x)

        dl.dlfeval(loss, self.x)


class Reductions:
    params = (["sum", "mean", "max", "prod"], [None, 0, 1])
    param_names = ["op", "axis"]

    def setup(self, op, axis):
        self.x = dl.dlarray(_data(1000, 1000))

    def time_reduce(self, op, axis):
        getattr(self.x, op)(axis)

    def time_reduce_backward(self, op, axis):
        def loss(x):
            s = getattr(x, op)(axis).sum()
            return dl.dlgradient(s, x)

        dl.dlfeval(loss, self.x)


class Matmul:
    params = ([256, 1024], ["float32", "float64"])
    param_names = ["n", "dtype"]
    timeout = 120

    def setup(self, n, dtype):
        self.a = dl.dlarray(_data(n, n, dtype=dtype))
        self.b = dl.dlarray(_data(n, n, dtype=dtype))

    def time_matmul(self, n, dtype):
        self.a @ self.b

    def time_matmul_backward(self, n, dtype):
        def loss(a, b):
            s = (a @ b).sum()
            return dl.dlgradient(s, a, b)

        dl.dlfeval(loss, self.a, self.b)

    def track_gflops_matmul(self, n, dtype):
        import timeit

        reps = max(1, int(2e9 // (2 * n**3)))
        t = min(timeit.repeat(lambda: self.a @ self.b, number=reps, repeat=3)) / reps
        return 2 * n**3 / t / 1e9

    track_gflops_matmul.unit = "GFLOP/s"


class BatchedMatmul:
    def setup(self):
        self.a = dl.dlarray(_data(64, 64, 128))
        self.b = dl.dlarray(_data(64, 128, 64))

    def time_pagemtimes(self):
        dl.pagemtimes(self.a, self.b)


class Indexing:
    params = ["slice", "int_array", "mask", "setitem"]
    param_names = ["kind"]

    def setup(self, kind):
        self.x = dl.dlarray(_data(512, 512))
        self.idx = _RNG.integers(0, 512, size=256)
        self.mask = _data(512, 512) > 0

    def time_index(self, kind):
        if kind == "slice":
            self.x[10:400:2, ::3]
        elif kind == "int_array":
            self.x[self.idx]
        elif kind == "mask":
            self.x[self.mask]
        else:
            y = dl.dlarray(self.x)
            y[:, 5] = 0.0

    def time_index_backward(self, kind):
        def loss(x):
            if kind == "slice":
                y = x[10:400:2, ::3]
            elif kind == "int_array":
                y = x[self.idx]
            elif kind == "mask":
                y = x[self.mask]
            else:
                y = x * 1.0
                y[:, 5] = 0.0
            return dl.dlgradient(y.sum(), x)

        dl.dlfeval(loss, self.x)


class Conversion:
    params = [1_000, 1_000_000]
    param_names = ["n"]

    def setup(self, n):
        self.np = _data(n)
        self.x = dl.dlarray(self.np)

    def time_from_numpy(self, n):
        dl.dlarray(self.np)

    def time_asarray(self, n):
        np.asarray(self.x)

    def time_extractdata(self, n):
        dl.extractdata(self.x)
