"""Gradient clipping: by global norm (Pascanu, Mikolov & Bengio 2013) and by value."""

from __future__ import annotations

import numpy as np


def _grad_arrays(modules) -> list[np.ndarray]:
    modules = modules if isinstance(modules, (list, tuple)) else [modules]
    arrays = []
    for m in modules:
        if isinstance(m, dict):
            arrays += list(m.values())
        elif hasattr(m, "grads"):
            arrays += list(m.grads.values())
        else:
            raise TypeError(f"clipping expected modules or dicts of gradients, got {type(m).__name__}")
    return arrays


def clip_grad_norm(modules, max_norm: float, norm_type: float = 2.0) -> float:
    """Scale every gradient in place so that their global norm is at most ``max_norm``.

    The global norm is the ``norm_type``-norm of all gradient entries together. As
    ``torch.nn.utils.clip_grad_norm_``: the scale is ``max_norm / (norm + 1e-6)``,
    applied only when it is below 1. Returns the norm before clipping.
    ``modules``: a Module, a dict of gradients, or a list of them.
    """
    grads = _grad_arrays(modules)
    if norm_type == np.inf:
        total = max(float(np.abs(g).max()) for g in grads)
    else:
        total = float(sum(float((np.abs(g) ** norm_type).sum()) for g in grads) ** (1.0 / norm_type))
    scale = max_norm / (total + 1e-6)
    if scale < 1:
        for g in grads:
            g *= scale
    return total


def clip_grad_value(modules, clip_value: float) -> None:
    """Clamp every gradient entry in place to [−clip_value, clip_value]."""
    for g in _grad_arrays(modules):
        np.clip(g, -clip_value, clip_value, out=g)
