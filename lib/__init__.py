"""lib — the book's small NumPy neural-network library.

Every layer has hand-written forward and backward passes, ``params`` and
``grads`` dicts keyed like PyTorch, and docstrings that state array shapes.
"""

# --- foundation -------------------------------------------------------------
from ._checks import check_array, check_dtype
from .gradcheck import check_layer, gradient_check, numerical_gradient, relative_error
from .module import Module
from .perceptron import Perceptron

# --- core (activations, dense, losses, optimizers, training, data) -----------
# NOTE for helpers: at 07:10 UTC nothing had landed here, so the lead is writing these
# modules now. If you are the lib-core or recurrent engineer: read what exists, extend and
# test it; do not recreate or overwrite these files.

# --- recurrent and attention ---------------------------------------------------

# --- visualisation -------------------------------------------------------------
from .viz import Interactive, interactive

__all__ = [name for name in dir() if not name.startswith("_")]
