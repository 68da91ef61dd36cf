"""Activation functions, their derivatives, and the layers that apply them.

Every function maps an array to an array of the same shape and dtype. Each
``d_name(x)`` is the derivative with respect to the input, evaluated at ``x``.
All are numerically stable: at |x| = 1e4 they raise no overflow warning,
return no NaN, and reach their exact limits (``sigmoid(-1e4) == 0``).

The functions take float arrays (or anything ``np.asarray`` makes numeric); integer and
boolean inputs are computed in float64 (PyTorch, too, promotes them), and other kinds
(complex, strings, objects) are a ``TypeError``. NaN propagates, as in PyTorch; the
layers refuse it.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable

import numpy as np

from ._checks import check_array, check_grad, check_number
from .module import Module

_SQRT_2 = math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)

# --- the error function, vectorised ------------------------------------------------
# W. J. Cody, "Rational Chebyshev approximations for the error function",
# Math. Comp. 23 (1969) 631-638; coefficients of Netlib's SPECFUN CALERF.
# Accurate to a few units in the last place of float64 (tests compare with math.erf).
_A = (3.16112374387056560e00, 1.13864154151050156e02, 3.77485237685302021e02, 3.20937758913846947e03,
      1.85777706184603153e-1)
_B = (2.36012909523441209e01, 2.44024637934444173e02, 1.28261652607737228e03, 2.84423683343917062e03)
_C = (5.64188496988670089e-1, 8.88314979438837594e00, 6.61191906371416295e01, 2.98635138197400131e02,
      8.81952221241769090e02, 1.71204761263407058e03, 2.05107837782607147e03, 1.23033935479799725e03,
      2.15311535474403846e-8)
_D = (1.57449261107098347e01, 1.17693950891312499e02, 5.37181101862009858e02, 1.62138957456669019e03,
      3.29079923573345963e03, 4.36261909014324716e03, 3.43936767414372164e03, 1.23033935480374942e03)
_P = (3.05326634961232344e-1, 3.60344899949804439e-1, 1.25781726111229246e-1, 1.60837851487422766e-2,
      6.58749161529837803e-4, 1.63153871373020978e-2)
_Q = (2.56852019228982242e00, 1.87295284992346047e00, 5.27905102951428412e-1, 6.05183413124413191e-2,
      2.33520497626869185e-3)
_INV_SQRT_PI = 5.6418958354775628695e-1
_ERF_SMALL, _ERFC_MID = 0.46875, 4.0


def _erf_near_zero(x: np.ndarray) -> np.ndarray:
    """erf(x) for |x| <= 0.46875: x·A(x²)/B(x²)."""
    z = x * x
    num, den = _A[4] * z, z
    for a, b in zip(_A[:3], _B[:3], strict=True):
        num, den = (num + a) * z, (den + b) * z
    return x * (num + _A[3]) / (den + _B[3])


def _exp_minus_square(y: np.ndarray) -> np.ndarray:
    """e^{−y²} as e^{−s²}·e^{−(y−s)(y+s)} with s = y rounded down to 1/16: no cancellation in y²."""
    s = np.trunc(16.0 * y) / 16.0
    return np.exp(-s * s) * np.exp(-(y - s) * (y + s))


def _erfc_positive(y: np.ndarray) -> np.ndarray:
    """erfc(y) for y > 0.46875 (underflows to 0 beyond y ≈ 27.3)."""
    out = np.empty_like(y)
    mid = y <= _ERFC_MID
    ym = y[mid]
    num, den = _C[8] * ym, ym
    for c, d in zip(_C[:7], _D[:7], strict=True):
        num, den = (num + c) * ym, (den + d) * ym
    out[mid] = (num + _C[7]) / (den + _D[7]) * _exp_minus_square(ym)
    yl = np.minimum(y[~mid], 30.0)  # erfc(30) == 0 in float64; the cap keeps 1/y² finite
    z = 1.0 / (yl * yl)
    num, den = _P[5] * z, z
    for p, q in zip(_P[:4], _Q[:4], strict=True):
        num, den = (num + p) * z, (den + q) * z
    out[~mid] = (_INV_SQRT_PI - z * (num + _P[4]) / (den + _Q[4])) / yl * _exp_minus_square(yl)
    return out


def erf(x: np.ndarray) -> np.ndarray:
    """The error function erf(x) = (2/√π) ∫₀ˣ e^{−t²} dt, elementwise, in float64."""
    x = np.asarray(x, dtype=np.float64)
    out = np.empty_like(x)
    small = np.abs(x) <= _ERF_SMALL
    out[small] = _erf_near_zero(x[small])
    far = x[~small]
    out[~small] = np.copysign(1.0 - _erfc_positive(np.abs(far)), far)
    return out


def erfc(x: np.ndarray) -> np.ndarray:
    """The complementary error function 1 − erf(x), accurate also where it is tiny (large x)."""
    x = np.asarray(x, dtype=np.float64)
    out = np.empty_like(x)
    small = np.abs(x) <= _ERF_SMALL
    out[small] = 1.0 - _erf_near_zero(x[small])
    far = x[~small]
    tail = _erfc_positive(np.abs(far))
    out[~small] = np.where(far < 0, 2.0 - tail, tail)
    return out


def normal_cdf(x: np.ndarray) -> np.ndarray:
    """Φ(x) = ½·erfc(−x/√2), the standard normal CDF (accurate in both tails)."""
    return 0.5 * erfc(-np.asarray(x, dtype=np.float64) / _SQRT_2)


# --- elementwise functions -------------------------------------------------------
def _as_float(x, name: str) -> np.ndarray:
    """x as an array of floats: float arrays unchanged, integers and booleans in float64."""
    if not isinstance(x, np.ndarray):
        try:
            x = np.asarray(x)
        except ValueError as err:  # ragged nested lists
            raise TypeError(f"{name} expected an array of numbers, got {type(x).__name__} ({err})") from None
    if x.dtype.kind == "f":
        return x
    if x.dtype.kind in "biu":
        return x.astype(np.float64)
    raise TypeError(f"{name} expected an array of real numbers, got dtype {x.dtype}")


def _numeric(fn: Callable) -> Callable:
    """Let ``fn(x, ...)`` take any numeric array-like (see the module docstring)."""
    @functools.wraps(fn)
    def wrapper(x, *args, **kwargs):
        return fn(_as_float(x, fn.__name__), *args, **kwargs)
    return wrapper


@_numeric
def identity(x: np.ndarray) -> np.ndarray:
    return x


@_numeric
def d_identity(x: np.ndarray) -> np.ndarray:
    return np.ones_like(x)


@_numeric
def sigmoid(x: np.ndarray) -> np.ndarray:
    """σ(x) = 1 / (1 + e^{−x}), computed without overflow from e^{−|x|}."""
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e)).astype(x.dtype, copy=False)


@_numeric
def d_sigmoid(x: np.ndarray) -> np.ndarray:
    """σ′(x) = σ(x)(1 − σ(x))."""
    s = sigmoid(x)
    return s * (1 - s)


@_numeric
def tanh(x: np.ndarray) -> np.ndarray:
    return np.tanh(x)


@_numeric
def d_tanh(x: np.ndarray) -> np.ndarray:
    """tanh′(x) = 1 − tanh²(x)."""
    t = np.tanh(x)
    return 1 - t * t


@_numeric
def relu(x: np.ndarray) -> np.ndarray:
    return np.maximum(x, 0)


@_numeric
def d_relu(x: np.ndarray) -> np.ndarray:
    """1 where x > 0, else 0 (the subgradient PyTorch uses at 0)."""
    return (x > 0).astype(x.dtype)


@_numeric
def leaky_relu(x: np.ndarray, negative_slope: float = 0.01) -> np.ndarray:
    return np.where(x > 0, x, negative_slope * x).astype(x.dtype, copy=False)


@_numeric
def d_leaky_relu(x: np.ndarray, negative_slope: float = 0.01) -> np.ndarray:
    return np.where(x > 0, 1.0, negative_slope).astype(x.dtype)


@_numeric
def elu(x: np.ndarray, alpha: float = 1.0) -> np.ndarray:
    """x for x > 0, α(e^x − 1) otherwise (expm1 of min(x, 0): no overflow)."""
    return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0))).astype(x.dtype, copy=False)


@_numeric
def d_elu(x: np.ndarray, alpha: float = 1.0) -> np.ndarray:
    return np.where(x > 0, 1.0, alpha * np.exp(np.minimum(x, 0))).astype(x.dtype)


@_numeric
def gelu(x: np.ndarray) -> np.ndarray:
    """x·Φ(x) with the exact normal CDF Φ (erf form, PyTorch's default ``approximate="none"``).

    Computed in float64 and returned in x's dtype.
    """
    return (x * normal_cdf(x)).astype(x.dtype, copy=False)


@_numeric
def d_gelu(x: np.ndarray) -> np.ndarray:
    """Φ(x) + x·φ(x), with φ(x) = e^{−x²/2}/√(2π) the standard normal density."""
    x64 = np.asarray(x, dtype=np.float64)
    density = _INV_SQRT_2PI * np.exp(-0.5 * x64 * x64)
    return (normal_cdf(x64) + x64 * density).astype(x.dtype, copy=False)


# --- functions over the last axis ----------------------------------------------------
def _check_axis(x: np.ndarray, axis, name: str) -> None:
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)) or not -x.ndim <= axis < max(x.ndim, 1):
        raise ValueError(f"{name} expected axis to be an int in [-{x.ndim}, {x.ndim}) for an input of shape "
                         f"{x.shape}, got {axis!r}")
    if x.ndim and x.shape[axis] == 0:
        raise ValueError(f"{name} is undefined over an empty axis: axis {axis} of shape {x.shape} has size 0")


@_numeric
def softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """exp(x_i) / Σ_j exp(x_j) along ``axis``, shifted by the max so nothing overflows."""
    _check_axis(x, axis, "softmax")
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


@_numeric
def log_softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """x_i − log Σ_j exp(x_j) along ``axis`` (log-sum-exp with the max factored out)."""
    _check_axis(x, axis, "log_softmax")
    shifted = x - x.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


# name -> (function, derivative); the elementwise activations.
ACTIVATIONS: dict[str, tuple[Callable[[np.ndarray], np.ndarray], Callable[[np.ndarray], np.ndarray]]] = {
    "identity": (identity, d_identity),
    "sigmoid": (sigmoid, d_sigmoid),
    "tanh": (tanh, d_tanh),
    "relu": (relu, d_relu),
    "leaky_relu": (leaky_relu, d_leaky_relu),
    "elu": (elu, d_elu),
    "gelu": (gelu, d_gelu),
}


# --- layers ------------------------------------------------------------------------
class _ParameterFree(Module):
    """Shared input checks of the activation layers.

    ``dtype=None`` (default) follows the input (float32 in, float32 out); a given
    ``dtype`` makes the layer insist on it, like a layer with parameters.
    """

    def __init__(self, dtype=None) -> None:
        super().__init__(np.float64 if dtype is None else dtype)
        self.strict_dtype = dtype is not None
        self.cache: np.ndarray | None = None

    def _check_input(self, x) -> np.ndarray:
        name = type(self).__name__
        check_array(x, name, dtype=self.dtype if self.strict_dtype else None)
        if x.dtype not in (np.float32, np.float64):
            raise TypeError(f"{name} expected a float32 or float64 array, got {x.dtype}")
        return x

    def _check_dout(self, dout) -> np.ndarray:
        name = type(self).__name__
        if self.cache is None:
            raise RuntimeError(f"{name}.backward called before forward")
        return check_grad(dout, f"{name}.backward", self.cache.shape, self.cache.dtype)


class Activation(_ParameterFree):
    """An elementwise activation as a layer: ``y = f(x)``, ``dx = dy ⊙ f′(x)``.

    No parameters; float32 or float64, keeping the input's dtype.
    x: any shape -> y: the same shape. Caches x for backward.
    """

    def __init__(self, fn: Callable, d_fn: Callable, dtype=None, **kwargs) -> None:
        super().__init__(dtype)
        if not (callable(fn) and callable(d_fn)):
            raise TypeError("Activation expected a function and its derivative")
        self.fn, self.d_fn, self.kwargs = fn, d_fn, kwargs

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.cache = self._check_input(x)
        return self.fn(x, **self.kwargs)

    def backward(self, dout: np.ndarray) -> np.ndarray:
        """dout: like the output -> dx: like the input."""
        return self._check_dout(dout) * self.d_fn(self.cache, **self.kwargs)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v}" for k, v in self.kwargs.items())
        return f"{type(self).__name__}({args})"


class Identity(Activation):
    def __init__(self, dtype=None) -> None:
        super().__init__(identity, d_identity, dtype)


class Sigmoid(Activation):
    def __init__(self, dtype=None) -> None:
        super().__init__(sigmoid, d_sigmoid, dtype)


class Tanh(Activation):
    def __init__(self, dtype=None) -> None:
        super().__init__(tanh, d_tanh, dtype)


class ReLU(Activation):
    def __init__(self, dtype=None) -> None:
        super().__init__(relu, d_relu, dtype)


class LeakyReLU(Activation):
    def __init__(self, negative_slope: float = 0.01, dtype=None) -> None:
        negative_slope = check_number("LeakyReLU", "negative_slope", negative_slope)
        super().__init__(leaky_relu, d_leaky_relu, dtype, negative_slope=negative_slope)


class ELU(Activation):
    def __init__(self, alpha: float = 1.0, dtype=None) -> None:
        alpha = check_number("ELU", "alpha", alpha)
        super().__init__(elu, d_elu, dtype, alpha=alpha)


class GELU(Activation):
    def __init__(self, dtype=None) -> None:
        super().__init__(gelu, d_gelu, dtype)


class Softmax(_ParameterFree):
    """Softmax over the last axis. x: (..., C) -> y: (..., C), each row sums to 1.

    Caches y. Backward is the Jacobian-vector product ``dx = y ⊙ (dy − Σ_j dy_j y_j)``.
    """

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.cache = softmax(self._check_input(x))
        return self.cache

    def backward(self, dout: np.ndarray) -> np.ndarray:
        y = self.cache
        dout = self._check_dout(dout)
        return y * (dout - (dout * y).sum(axis=-1, keepdims=True))


class LogSoftmax(_ParameterFree):
    """log-softmax over the last axis. x: (..., C) -> y: (..., C).

    Caches y. Backward: ``dx = dy − softmax(x) · Σ_j dy_j`` with softmax(x) = e^y.
    """

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.cache = log_softmax(self._check_input(x))
        return self.cache

    def backward(self, dout: np.ndarray) -> np.ndarray:
        dout = self._check_dout(dout)
        return dout - np.exp(self.cache) * dout.sum(axis=-1, keepdims=True)


_LAYERS: dict[str, type[Module]] = {
    "identity": Identity, "sigmoid": Sigmoid, "tanh": Tanh, "relu": ReLU, "leaky_relu": LeakyReLU,
    "elu": ELU, "gelu": GELU, "softmax": Softmax, "log_softmax": LogSoftmax,
}


def get_activation(name: str, **kwargs) -> Module:
    """A new activation layer by name: ``get_activation("tanh")``, ``get_activation("elu", alpha=0.5)``.

    Names: identity, sigmoid, tanh, relu, leaky_relu, elu, gelu, softmax, log_softmax.
    """
    try:
        cls = _LAYERS[name]
    except KeyError:
        raise ValueError(f"unknown activation {name!r}; expected one of {sorted(_LAYERS)}") from None
    return cls(**kwargs)
