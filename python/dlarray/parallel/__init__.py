"""Data-parallel training over several processes on MPI: MATLAB's spmd functions and the
helpers of its example "Train Network in Parallel with Custom Training Loop".

Launch the same script on N processes (``mpirun -np N python train.py``, or ``srun``);
each trains on its share of every mini-batch and the processes combine their gradients::

    from dlarray import spmdIndex, spmdSize, spmdPlus, spmdReduce, minibatchqueue
    from dlarray.parallel import aggregate_gradients, aggregate_state, broadcast

    net = broadcast(build_network())                # the same start everywhere
    mbq = minibatchqueue(ds, mini_batch_size=128, ..., partition=(spmdSize(), spmdIndex()))
    for epoch in range(num_epochs):
        mbq.shuffle()                               # the same order on every process
        while spmdReduce("and", mbq.hasdata()):     # stop together
            X, T = mbq.next()                       # this process's share of the mini-batch
            f = mbq.normalization_factor            # n_i / N
            loss, grads, state = dlfeval(model_loss, net, X, T)
            net.state = aggregate_state(state, f)
            grads = aggregate_gradients(grads, f)   # spmdPlus(f * grads), bucketed
            net, vel = sgdmupdate(net, grads, vel, lr, 0.9)

Without a launcher (or without mpi4py) a process is a pool of one and the script runs
unchanged. Ranks are 0-based. mpi4py is the optional extra ``dlarray[mpi]``; see
``docs/parallel.md`` for installing MPI and the details.
"""

from ..data.partition import partition
from ._agree import SpmdMismatchError
from .aggregate import aggregate_gradients, aggregate_state
from .broadcast import broadcast
from .spmd import spmdBarrier, spmdBroadcast, spmdIndex, spmdPlus, spmdReduce, spmdSize
from .world import World, use_communicator, world

# Several names a line, as the table was written.
# fmt: off
__all__ = ["SpmdMismatchError", "World", "aggregate_gradients", "aggregate_state", "broadcast", "partition",
           "spmdBarrier", "spmdBroadcast", "spmdIndex", "spmdPlus", "spmdReduce", "spmdSize", "use_communicator",
           "world"]
# fmt: on
