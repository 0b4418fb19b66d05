"""MATLAB's functional optimizers: ``adamupdate``, ``rmspropupdate``, ``sgdmupdate``,
``dlupdate`` and ``lbfgsupdate`` with ``lbfgsState``.

They take a dlnetwork, a learnables table, a dlarray, a numpy array or any dict / list /
tuple of them, return new parameters and state, and never modify their inputs. Adam, RMSProp
and SGDM update the whole parameter set in one fused Rust call (GIL released, rayon over
chunks of all parameters), reusing buffers of earlier steps that nobody holds any more.
"""

from .adam import adamupdate
from .dlupdate import dlupdate
from .lbfgs import lbfgsupdate
from .lbfgs_state import lbfgsState
from .rmsprop import rmspropupdate
from .sgdm import sgdmupdate

__all__ = ["adamupdate", "dlupdate", "lbfgsState", "lbfgsupdate", "rmspropupdate", "sgdmupdate"]
