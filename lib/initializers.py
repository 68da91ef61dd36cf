"""Weight initializers. Every random one draws from an explicit ``np.random.Generator``.

Shapes follow PyTorch: a weight is (fan_out, fan_in[, *kernel]), so for a 2-D
weight ``fan_in = shape[1]`` and ``fan_out = shape[0]``.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from ._checks import check_dtype, check_number

_GAINS = {"linear": 1.0, "identity": 1.0, "conv1d": 1.0, "conv2d": 1.0, "conv3d": 1.0, "sigmoid": 1.0,
          "tanh": 5.0 / 3.0, "relu": math.sqrt(2.0), "selu": 0.75}


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The gain PyTorch recommends for a nonlinearity (``torch.nn.init.calculate_gain``)."""
    if not isinstance(nonlinearity, str):
        raise TypeError(f"calculate_gain expected the nonlinearity's name (a str), got {type(nonlinearity).__name__}")
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else param
        return math.sqrt(2.0 / (1 + slope**2))
    try:
        return _GAINS[nonlinearity]
    except KeyError:
        raise ValueError(f"unknown nonlinearity {nonlinearity!r}; expected one of "
                         f"{sorted([*_GAINS, 'leaky_relu'])}") from None


def _check_shape(shape, name: str) -> tuple[int, ...]:
    """A shape as a tuple of positive ints (an int n means (n,))."""
    if isinstance(shape, (int, np.integer)) and not isinstance(shape, bool):
        shape = (shape,)
    if not isinstance(shape, (tuple, list)) or not all(
            isinstance(d, (int, np.integer)) and not isinstance(d, bool) for d in shape):
        raise TypeError(f"{name} expected a shape as a tuple of ints, got {shape!r}")
    if any(d < 1 for d in shape):
        raise ValueError(f"{name} expected every dimension of the shape to be >= 1, got {tuple(shape)}")
    return tuple(int(d) for d in shape)


def fans(shape: tuple[int, ...]) -> tuple[int, int]:
    """(fan_in, fan_out) of a weight of this shape."""
    shape = _check_shape(shape, "fans")
    if len(shape) < 2:
        raise ValueError(f"fan-in and fan-out need a weight with at least 2 dimensions, got shape {shape}")
    receptive = math.prod(shape[2:])
    return shape[1] * receptive, shape[0] * receptive


def _check_rng(rng, name: str, optional: bool = False) -> None:
    if optional and rng is None:
        return
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"{name} expected an np.random.Generator (np.random.default_rng(seed)), "
                        f"got {type(rng).__name__}")


def zeros(shape: tuple[int, ...], rng: np.random.Generator | None = None, dtype=np.float64) -> np.ndarray:
    """All zeros (``rng`` is accepted, and ignored, so every initializer has the same signature)."""
    _check_rng(rng, "zeros", optional=True)
    return np.zeros(_check_shape(shape, "zeros"), dtype=check_dtype(dtype))


def normal(shape, rng: np.random.Generator, mean: float = 0.0, std: float = 1.0, dtype=np.float64) -> np.ndarray:
    _check_rng(rng, "normal")
    shape = _check_shape(shape, "normal")
    mean = check_number("normal", "mean", mean)
    std = check_number("normal", "std", std, low=0.0)
    return rng.normal(mean, std, size=shape).astype(check_dtype(dtype))


def uniform(shape, rng: np.random.Generator, low: float = 0.0, high: float = 1.0, dtype=np.float64) -> np.ndarray:
    _check_rng(rng, "uniform")
    shape = _check_shape(shape, "uniform")
    low, high = check_number("uniform", "low", low), check_number("uniform", "high", high)
    if low > high:
        raise ValueError(f"uniform expected low <= high, got low={low} and high={high}")
    return rng.uniform(low, high, size=shape).astype(check_dtype(dtype))


def xavier_uniform(shape, rng: np.random.Generator, gain: float = 1.0, dtype=np.float64) -> np.ndarray:
    """Glorot & Bengio (2010): U(−a, a), a = gain·√(6 / (fan_in + fan_out))."""
    fan_in, fan_out = fans(shape)
    gain = check_number("xavier_uniform", "gain", gain, low=0.0)
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform(shape, rng, -bound, bound, dtype)


def xavier_normal(shape, rng: np.random.Generator, gain: float = 1.0, dtype=np.float64) -> np.ndarray:
    """Glorot & Bengio (2010): N(0, σ²), σ = gain·√(2 / (fan_in + fan_out))."""
    fan_in, fan_out = fans(shape)
    gain = check_number("xavier_normal", "gain", gain, low=0.0)
    return normal(shape, rng, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)), dtype)


def kaiming_uniform(shape, rng: np.random.Generator, a: float = 0.0, mode: str = "fan_in",
                    nonlinearity: str = "leaky_relu", dtype=np.float64) -> np.ndarray:
    """He et al. (2015): U(−b, b), b = gain·√(3 / fan), gain from the nonlinearity."""
    std = calculate_gain(nonlinearity, a) / math.sqrt(_fan(shape, mode))
    bound = math.sqrt(3.0) * std
    return uniform(shape, rng, -bound, bound, dtype)


def kaiming_normal(shape, rng: np.random.Generator, a: float = 0.0, mode: str = "fan_in",
                   nonlinearity: str = "leaky_relu", dtype=np.float64) -> np.ndarray:
    """He et al. (2015): N(0, σ²), σ = gain / √fan."""
    return normal(shape, rng, 0.0, calculate_gain(nonlinearity, a) / math.sqrt(_fan(shape, mode)), dtype)


def _fan(shape, mode: str) -> int:
    fan_in, fan_out = fans(shape)
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"mode must be 'fan_in' or 'fan_out', got {mode!r}")
    return fan_in if mode == "fan_in" else fan_out


def orthogonal(shape, rng: np.random.Generator, gain: float = 1.0, dtype=np.float64) -> np.ndarray:
    """Saxe et al. (2014): a (semi-)orthogonal matrix from the QR decomposition of a Gaussian one.

    The signs of R's diagonal are folded into Q so the result is uniform over the
    orthogonal group (as ``torch.nn.init.orthogonal_``). Every singular value is ``gain``.
    """
    _check_rng(rng, "orthogonal")
    shape = _check_shape(shape, "orthogonal")
    gain = check_number("orthogonal", "gain", gain)
    if len(shape) < 2:
        raise ValueError(f"orthogonal expected a shape with at least 2 dimensions, got {shape}")
    rows, cols = shape[0], math.prod(shape[1:])
    flat = rng.standard_normal((rows, cols))
    if rows < cols:
        flat = flat.T
    q, r = np.linalg.qr(flat)
    q *= np.sign(np.diag(r))
    if rows < cols:
        q = q.T
    return (gain * q).reshape(shape).astype(check_dtype(dtype))


def identity(shape, rng: np.random.Generator | None = None, gain: float = 1.0, dtype=np.float64) -> np.ndarray:
    """``gain·I`` (rectangular shapes get ones on the main diagonal) — the IRNN init of Le et al. (2015).

    ``rng`` is accepted, and ignored, so every initializer has the same signature;
    pass the gain by name: ``identity((h, h), gain=0.5)``.
    """
    _check_rng(rng, "identity", optional=True)
    shape = _check_shape(shape, "identity")
    gain = check_number("identity", "gain", gain)
    if len(shape) != 2:
        raise ValueError(f"identity expected a 2-D shape, got {shape}")
    return gain * np.eye(*shape, dtype=check_dtype(dtype))


INITIALIZERS = {
    f.__name__: f
    for f in (zeros, normal, uniform, xavier_uniform, xavier_normal, kaiming_uniform, kaiming_normal, orthogonal,
              identity)
}


def get_initializer(name: str) -> Callable[..., np.ndarray]:
    """An initializer by name, e.g. ``get_initializer("xavier_uniform")``."""
    try:
        return INITIALIZERS[name]
    except KeyError:
        raise ValueError(f"unknown initializer {name!r}; expected one of {sorted(INITIALIZERS)}") from None
