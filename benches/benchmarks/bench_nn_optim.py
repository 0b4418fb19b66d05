"""asv suite of the fused optimizers (adamupdate, sgdmupdate, rmspropupdate): one step over
≈1 M float32 parameters in a dict (workloads in _wl_training.py)."""

from ._workloads import WORKLOADS, names


class Optimizer:
    params = names("optimizer")
    param_names = ["workload"]

    def setup(self, workload):
        self.step = WORKLOADS[workload].dlarray_phases()["step"]
        self.step()  # the first step allocates the state

    def time_step(self, workload):
        self.step()
