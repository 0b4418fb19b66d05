"""asv suites of the deep-learning op families, forward and forward + backward (dlfeval +
dlgradient of the summed output on the input and every parameter). The workloads (sizes,
data, layouts) live in _workloads.py, shared with benches/compare_ops.py."""

from ._workloads import WORKLOADS, names


class _FamilySuite:
    """One asv class per family; the parameter is the workload's name."""

    param_names = ["workload"]
    timeout = 120

    def setup(self, workload):
        self.phases = WORKLOADS[workload].dlarray_phases()
        self.phases["forward"]()  # first call pays for buffer pools and thread start-up

    def time_forward(self, workload):
        self.phases["forward"]()

    def time_forward_backward(self, workload):
        self.phases["forward_backward"]()


class Conv(_FamilySuite):
    params = names("conv")


class Pool(_FamilySuite):
    params = names("pool")


class Norm(_FamilySuite):
    params = names("norm")


class Activation(_FamilySuite):
    params = names("activation")


class Recurrent(_FamilySuite):
    params = names("recurrent")


class Attention(_FamilySuite):
    params = names("attention")


class Embed(_FamilySuite):
    params = names("embed")


class Loss(_FamilySuite):
    params = names("loss")


class FullyConnect(_FamilySuite):
    params = names("fullyconnect")


class Dropout(_FamilySuite):
    params = names("dropout")
