"""Activation functions, their derivatives, and the layers that apply them.

Every function maps an array to an array of the same shape and dtype. Each
``d_name(x)`` is the derivative with respect to the input, evaluated at ``x``.
All are numerically stable: at |x| = 1e4 they raise no overflow warning,
return no NaN, and reach their exact limits (``sigmoid(-1e4) == 0``).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from .module import Module

_SQRT_2 = math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_erf = np.vectorize(math.erf, otypes=[np.float64])


# --- elementwise functions -------------------------------------------------------
def identity(x: np.ndarray) -> np.ndarray:
    return x


def d_identity(x: np.ndarray) -> np.ndarray:
    return np.ones_like(x)


def sigmoid(x: np.ndarray) -> np.ndarray:
    """σ(x) = 1 / (1 + e^{−x}), computed without overflow from e^{−|x|}."""
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e)).astype(x.dtype, copy=False)


def d_sigmoid(x: np.ndarray) -> np.ndarray:
    """σ′(x) = σ(x)(1 − σ(x))."""
    s = sigmoid(x)
    return s * (1 - s)


def tanh(x: np.ndarray) -> np.ndarray:
    return np.tanh(x)


def d_tanh(x: np.ndarray) -> np.ndarray:
    """tanh′(x) = 1 − tanh²(x)."""
    t = np.tanh(x)
    return 1 - t * t


def relu(x: np.ndarray) -> np.ndarray:
    return np.maximum(x, 0)


def d_relu(x: np.ndarray) -> np.ndarray:
    """1 where x > 0, else 0 (the subgradient PyTorch uses at 0)."""
    return (x > 0).astype(x.dtype)


def leaky_relu(x: np.ndarray, negative_slope: float = 0.01) -> np.ndarray:
    return np.where(x > 0, x, negative_slope * x).astype(x.dtype, copy=False)


def d_leaky_relu(x: np.ndarray, negative_slope: float = 0.01) -> np.ndarray:
    return np.where(x > 0, 1.0, negative_slope).astype(x.dtype)


def elu(x: np.ndarray, alpha: float = 1.0) -> np.ndarray:
    """x for x > 0, α(e^x − 1) otherwise (expm1 of min(x, 0): no overflow)."""
    return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0))).astype(x.dtype, copy=False)


def d_elu(x: np.ndarray, alpha: float = 1.0) -> np.ndarray:
    return np.where(x > 0, 1.0, alpha * np.exp(np.minimum(x, 0))).astype(x.dtype)


def gelu(x: np.ndarray) -> np.ndarray:
    """x·Φ(x) with the exact normal CDF Φ(x) = ½(1 + erf(x/√2)), as PyTorch's default."""
    phi = 0.5 * (1.0 + _erf(np.asarray(x, dtype=np.float64) / _SQRT_2))
    return (x * phi).astype(x.dtype, copy=False)


def d_gelu(x: np.ndarray) -> np.ndarray:
    """Φ(x) + x·φ(x), with φ the standard normal density."""
    x64 = np.asarray(x, dtype=np.float64)
    phi = 0.5 * (1.0 + _erf(x64 / _SQRT_2))
    density = _INV_SQRT_2PI * np.exp(-0.5 * x64 * x64)
    return (phi + x64 * density).astype(x.dtype, copy=False)


# --- functions over the last axis ----------------------------------------------------
def softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """exp(x_i) / Σ_j exp(x_j) along ``axis``, shifted by the max so nothing overflows."""
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def log_softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """x_i − log Σ_j exp(x_j) along ``axis`` (log-sum-exp with the max factored out)."""
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
def _check_float(x, name: str) -> np.ndarray:
    if not isinstance(x, np.ndarray):
        raise TypeError(f"{name} expected a numpy array, got {type(x).__name__}")
    if x.dtype not in (np.float32, np.float64):
        raise TypeError(f"{name} expected a float32 or float64 array, got {x.dtype}")
    return x


class Activation(Module):
    """An elementwise activation as a layer: ``y = f(x)``, ``dx = dy ⊙ f′(x)``.

    No parameters; works in float32 and float64 and keeps the input's dtype.
    x: any shape -> y: the same shape.
    """

    def __init__(self, fn: Callable, d_fn: Callable, **kwargs) -> None:
        super().__init__()
        self.fn, self.d_fn, self.kwargs = fn, d_fn, kwargs
        self.cache: np.ndarray | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.cache = _check_float(x, type(self).__name__)
        return self.fn(x, **self.kwargs)

    def backward(self, dout: np.ndarray) -> np.ndarray:
        if self.cache is None:
            raise RuntimeError(f"{type(self).__name__}.backward called before forward")
        if dout.shape != self.cache.shape:
            raise ValueError(
                f"{type(self).__name__}.backward expected dout of shape {self.cache.shape}, got {dout.shape}"
            )
        return dout * self.d_fn(self.cache, **self.kwargs)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v}" for k, v in self.kwargs.items())
        return f"{type(self).__name__}({args})"


class Identity(Activation):
    def __init__(self) -> None:
        super().__init__(identity, d_identity)


class Sigmoid(Activation):
    def __init__(self) -> None:
        super().__init__(sigmoid, d_sigmoid)


class Tanh(Activation):
    def __init__(self) -> None:
        super().__init__(tanh, d_tanh)


class ReLU(Activation):
    def __init__(self) -> None:
        super().__init__(relu, d_relu)


class LeakyReLU(Activation):
    def __init__(self, negative_slope: float = 0.01) -> None:
        super().__init__(leaky_relu, d_leaky_relu, negative_slope=negative_slope)


class ELU(Activation):
    def __init__(self, alpha: float = 1.0) -> None:
        super().__init__(elu, d_elu, alpha=alpha)


class GELU(Activation):
    def __init__(self) -> None:
        super().__init__(gelu, d_gelu)


class Softmax(Module):
    """Softmax over the last axis. x: (..., C) -> y: (..., C), rows sum to 1.

    Backward is the Jacobian-vector product ``dx = y ⊙ (dy − Σ_j dy_j y_j)``.
    """

    def __init__(self) -> None:
        super().__init__()
        self.cache: np.ndarray | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        _check_float(x, "Softmax")
        self.cache = softmax(x)
        return self.cache

    def backward(self, dout: np.ndarray) -> np.ndarray:
        y = self.cache
        return y * (dout - (dout * y).sum(axis=-1, keepdims=True))


class LogSoftmax(Module):
    """log-softmax over the last axis. x: (..., C) -> (..., C).

    Backward: ``dx = dy − softmax(x) · Σ_j dy_j``.
    """

    def __init__(self) -> None:
        super().__init__()
        self.cache: np.ndarray | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        _check_float(x, "LogSoftmax")
        out = log_softmax(x)
        self.cache = out
        return out

    def backward(self, dout: np.ndarray) -> np.ndarray:
        return dout - np.exp(self.cache) * dout.sum(axis=-1, keepdims=True)


_LAYERS: dict[str, type[Module]] = {
    "identity": Identity, "sigmoid": Sigmoid, "tanh": Tanh, "relu": ReLU, "leaky_relu": LeakyReLU,
    "elu": ELU, "gelu": GELU, "softmax": Softmax, "log_softmax": LogSoftmax,
}


def get_activation(name: str, **kwargs) -> Module:
    """A new activation layer by name: ``get_activation("tanh")``, ``get_activation("elu", alpha=0.5)``."""
    try:
        return _LAYERS[name](**kwargs)
    except KeyError:
        raise ValueError(f"unknown activation {name!r}; expected one of {sorted(_LAYERS)}") from None
