"""The functional deep-learning operations (MATLAB's names, defaults and weight layouts).

Each family lives in its own module; this file only re-exports them. Every op accepts a
formatted dlarray, or an unformatted one with ``data_format=``.
"""

from ._layout import Layout, layout_of  # noqa: F401
from .activations import *  # noqa: F401,F403
from .attention import *  # noqa: F401,F403
from .conv import *  # noqa: F401,F403
from .ctc import *  # noqa: F401,F403
from .dropout import *  # noqa: F401,F403
from .embedding import *  # noqa: F401,F403
from .fullyconnect import *  # noqa: F401,F403
from .losses import *  # noqa: F401,F403
from .normalization import *  # noqa: F401,F403
from .ode import *  # noqa: F401,F403
from .onehot import *  # noqa: F401,F403
from .pooling import *  # noqa: F401,F403
from .recurrent import *  # noqa: F401,F403
from .resize import *  # noqa: F401,F403

# Several names a line, as the table was written.
# fmt: off
__all__ = [
    "dlconv", "dltranspconv",
    "avgpool", "maxpool", "maxunpool",
    "crossentropy", "huber", "indexcrossentropy", "l1loss", "l2loss", "mse",
    "onehotdecode", "onehotencode",
    "embed",
    "fullyconnect",
    "gelu", "leakyrelu", "relu", "sigmoid", "softmax", "tanh",
    "batchnorm", "crosschannelnorm", "groupnorm", "instancenorm", "layernorm",
    "dropout",
    "gru", "lstm",
    "attention",
    "dlresize",
    "ctc", "dlode45",
]
# fmt: on
