"""dlarray: MATLAB's deep-learning custom training loop for Python.

Formatted deep-learning arrays, automatic differentiation to any order inside ``dlfeval``,
the functional deep-learning ops, dlnetwork and the functional optimizers, on a Rust core.
"""

from ._core import (  # noqa: F401  (re-exports)
    __version__,
    abs,
    acos,
    angle,
    asin,
    atan,
    atan2,
    ceil,
    complex,
    conj,
    cos,
    cosh,
    dims,
    dlarray,
    erf,
    exp,
    extractdata,
    finddim,
    flip,
    floor,
    imag,
    isdlarray,
    log,
    log1p,
    matmul,
    maximum,
    minimum,
    pagemtimes,
    power,
    real,
    repmat,
    round,
    sign,
    sin,
    sinh,
    sqrt,
    squeeze,
    stack,
    stripdims,
    tan,
    where,
)
from .array_functions import concatenate, cumsum, max, mean, min, norm, permute, prod, reshape, sum, transpose  # noqa: F401
from .autodiff import dldivergence, dlfeval, dlgradient, dljacobian, dllaplacian  # noqa: F401
from .errors import (  # noqa: F401
    AutodiffError,
    DlIndexError,
    DTypeError,
    FormatError,
    InternalError,
    OptionError,
    OutOfMemoryError,
    ShapeError,
)
from .device import canUseGPU, gather, gpuArray  # noqa: F401

# Data and monitoring need only numpy.
from .data import (  # noqa: E402,F401
    arrayDatastore,
    combine,
    digitTest4DArrayData,
    digitTrain4DArrayData,
    minibatchqueue,
)
from .monitor import trainingProgressMonitor  # noqa: E402,F401

# The functional deep-learning operations (their format-aware relu, sigmoid and tanh are the
# exported ones).
from .nn import *  # noqa: E402,F401,F403

# dlnetwork, its layers, and checkpoints.
from .network import dlnetwork  # noqa: E402,F401
from .layers import *  # noqa: E402,F401,F403
from .io import CheckpointError, load, register_custom, save  # noqa: E402,F401
from .optim import adamupdate, dlupdate, lbfgsState, lbfgsupdate, rmspropupdate, sgdmupdate  # noqa: E402,F401
