"""Gradient clipping: by global norm (Pascanu, Mikolov & Bengio 2013) and by value."""

from __future__ import annotations

import math

import numpy as np

from ._checks import check_number


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
    for g in arrays:
        if not isinstance(g, np.ndarray) or g.dtype.kind != "f":
            got = f"dtype {g.dtype}" if isinstance(g, np.ndarray) else type(g).__name__
            raise TypeError(f"clipping expected float gradient arrays, got {got}")
    return arrays


def clip_grad_norm(modules, max_norm: float, norm_type: float = 2.0, error_if_nonfinite: bool = False) -> float:
    """Scale every gradient in place so that their global norm is at most ``max_norm``.

    The global norm is the ``norm_type``-norm of all gradient entries together (``norm_type`` > 0
    or ``inf``). As ``torch.nn.utils.clip_grad_norm_``: the scale is ``max_norm / (norm + 1e-6)``,
    applied when it is below 1; no gradients give a norm of 0. A NaN or infinite norm is an error
    with ``error_if_nonfinite=True``; otherwise the gradients are scaled by it as PyTorch does
    (an inf norm zeroes the finite entries, a NaN norm makes every entry NaN).
    Returns the norm before clipping. ``modules``: a Module, a dict of gradients, or a list of them.
    """
    grads = _grad_arrays(modules)
    if isinstance(max_norm, bool) or not isinstance(max_norm, (int, float, np.integer, np.floating)):
        raise TypeError(f"clip_grad_norm expected max_norm to be a number, got {type(max_norm).__name__}")
    if not max_norm >= 0:  # inf is allowed: measure the norm, never clip
        raise ValueError(f"clip_grad_norm expected max_norm >= 0 (inf: no clipping), got {max_norm}")
    max_norm = float(max_norm)
    if norm_type != np.inf:
        norm_type = check_number("clip_grad_norm", "norm_type", norm_type, low=0.0, low_open=True)
    if not grads:
        return 0.0
    if norm_type == np.inf:
        total = max(float(np.abs(g).max()) if g.size else 0.0 for g in grads)
    else:
        total = float(sum(float((np.abs(g) ** norm_type).sum()) for g in grads) ** (1.0 / norm_type))
    if not math.isfinite(total):
        if error_if_nonfinite:
            raise RuntimeError(f"clip_grad_norm: the total norm of order {norm_type} of the gradients is {total}, "
                               "so it cannot be clipped (error_if_nonfinite=True)")
        scale = float("nan") if math.isnan(total) else 0.0
        with np.errstate(invalid="ignore"):  # inf * 0 = NaN, as in PyTorch
            for g in grads:
                g *= scale
        return total
    scale = max_norm / (total + 1e-6)
    if scale < 1:
        for g in grads:
            g *= scale
    return total


def clip_grad_value(modules, clip_value: float) -> None:
    """Clamp every gradient entry in place to [−clip_value, clip_value] (``clip_value`` >= 0)."""
    clip_value = check_number("clip_grad_value", "clip_value", clip_value, low=0.0)
    for g in _grad_arrays(modules):
        np.clip(g, -clip_value, clip_value, out=g)
