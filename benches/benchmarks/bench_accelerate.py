"""asv suite of dlaccelerate: each model-loss function through ``dlfeval``, eager and through
its ``dlaccelerate`` wrapper (traced in setup, so the timed calls replay; workloads in
_wl_accelerate.py). ``track_first_call`` records what tracing costs."""

import time

import dlarray as dl

from ._wl_accelerate import ACCELERATED


class Accelerate:
    params = (list(ACCELERATED), ["eager", "accelerated"])
    param_names = ["workload", "mode"]

    def setup(self, workload, mode):
        w = ACCELERATED[workload]
        self.args = w.args()
        self.fn = dl.dlaccelerate(w.fn) if mode == "accelerated" else w.fn
        dl.dlfeval(self.fn, *self.args)

    def time_call(self, workload, mode):
        dl.dlfeval(self.fn, *self.args)


class AccelerateFirstCall:
    params = list(ACCELERATED)
    param_names = ["workload"]
    unit = "seconds"

    def track_first_call(self, workload):
        w = ACCELERATED[workload]
        args = w.args()
        acc = dl.dlaccelerate(w.fn)
        t0 = time.perf_counter()
        dl.dlfeval(acc, *args)
        return time.perf_counter() - t0
