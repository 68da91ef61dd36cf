"""Finite-difference gradient checking: the test every hand-written backward pass must pass."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ._checks import check_number, check_rng


def relative_error(a: np.ndarray, b: np.ndarray) -> float:
    """``‖a − b‖ / (‖a‖ + ‖b‖)``, 0.0 when both are zero.

    Scale-free, so the same threshold (1e-7 in float64) works for tiny and large gradients.
    """
    try:
        a = np.asarray(a, dtype=np.float64)
        b = np.asarray(b, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"relative_error expected two arrays of numbers, got {type(a).__name__} and "
                        f"{type(b).__name__}") from None
    if a.shape != b.shape:
        raise ValueError(f"relative_error expected arrays of equal shape, got {a.shape} and {b.shape}")
    denom = np.linalg.norm(a) + np.linalg.norm(b)
    return 0.0 if denom == 0 else float(np.linalg.norm(a - b) / denom)


def numerical_gradient(f: Callable[[], float], x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Central-difference gradient of the scalar ``f()`` with respect to ``x``.

    ``x`` is perturbed in place, one element at a time, and restored:
    ``∂f/∂x_i ≈ (f(x + eps·e_i) − f(x − eps·e_i)) / (2·eps)``, error O(eps²).
    ``x`` must be float64 so that eps = 1e-6 is not lost to rounding.
    """
    if not callable(f):
        raise TypeError(f"numerical_gradient expected f to be a function of no arguments, got {type(f).__name__}")
    if not isinstance(x, np.ndarray):
        raise TypeError(f"numerical_gradient expected x as a numpy array (perturbed in place), got {type(x).__name__}")
    if x.dtype != np.float64:
        raise TypeError(f"numerical_gradient expected a float64 array, got {x.dtype}")
    if not x.flags.writeable:
        raise ValueError("numerical_gradient perturbs x in place, but x is read-only")
    eps = check_number("numerical_gradient", "eps", eps, low=0.0, low_open=True)
    grad = np.zeros_like(x)
    if x.size == 0:
        return grad
    it = np.nditer(x, flags=["multi_index"], op_flags=[["readwrite"]])
    for _ in it:
        i = it.multi_index
        old = x[i]
        x[i] = old + eps
        f_plus = _scalar(f())
        x[i] = old - eps
        f_minus = _scalar(f())
        x[i] = old
        grad[i] = (f_plus - f_minus) / (2 * eps)
    return grad


def _scalar(value) -> float:
    if np.ndim(value) != 0:
        raise ValueError(f"numerical_gradient expected f() to return a scalar loss, got shape {np.shape(value)}")
    return float(value)


def gradient_check(
    f: Callable[[], float],
    arrays: dict[str, np.ndarray],
    analytic: dict[str, np.ndarray],
    eps: float = 1e-6,
) -> dict[str, float]:
    """Compare analytic gradients with central differences.

    ``f()`` computes a scalar loss from the current contents of ``arrays``
    (name -> float64 array, perturbed in place). ``analytic`` holds the
    hand-computed gradient for each name. Returns name -> relative error.
    """
    if not (isinstance(arrays, dict) and isinstance(analytic, dict)):
        raise TypeError("gradient_check expected arrays and analytic as dicts of name -> array")
    errors = {}
    for name, x in arrays.items():
        if name not in analytic:
            raise ValueError(f"gradient_check: no analytic gradient for {name!r}")
        errors[name] = relative_error(analytic[name], numerical_gradient(f, x, eps))
    return errors


def check_layer(
    layer, x: np.ndarray, rng: np.random.Generator | None = None, eps: float = 1e-6
) -> dict[str, float]:
    """Gradient-check a layer with ``y = layer.forward(x)`` and ``dx = layer.backward(dy)``.

    Uses the loss ``L = Σ y ⊙ g`` with a fixed random ``g``, so ``∂L/∂y = g``.
    Returns relative errors for ``"x"`` and every entry of ``layer.params``.
    """
    rng = check_rng(rng, "check_layer")
    y = layer.forward(x)
    if not isinstance(y, np.ndarray):
        raise TypeError(f"check_layer expected layer.forward to return one array, got {type(y).__name__} "
                        "(for a recurrent layer, wrap it, e.g. lib.LastStep(layer))")
    g = rng.standard_normal(y.shape)
    dx = layer.backward(g)
    analytic = {"x": dx, **{k: v.copy() for k, v in layer.grads.items()}}

    def loss() -> float:
        return float(np.sum(layer.forward(x) * g))

    return gradient_check(loss, {"x": x, **layer.params}, analytic, eps)
