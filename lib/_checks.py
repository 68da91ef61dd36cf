"""Input validation shared by every layer: clear errors that name what was expected."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


class NonFiniteError(ValueError):
    """An input held NaN or inf."""


def check_dtype(dtype) -> np.dtype:
    """Return ``np.dtype(dtype)`` if it is float32 or float64, else raise ``TypeError``."""
    dt = np.dtype(dtype)
    if dt not in FLOAT_DTYPES:
        raise TypeError(f"dtype must be float32 or float64, got {dt}")
    return dt


def check_array(
    x,
    name: str,
    shape: Sequence[int | str | None] | None = None,
    dtype: np.dtype | None = None,
    finite: bool = True,
) -> np.ndarray:
    """Validate an input array and return it unchanged.

    ``shape`` lists the expected dimensions: an int must match exactly, a string
    (``"batch"``) or ``None`` matches any size. ``dtype`` if given must match
    exactly (no silent casts). ``finite`` rejects NaN/inf values.

    Raises ``TypeError`` for a non-array or a wrong dtype and ``ValueError`` for
    a wrong shape or non-finite values, e.g.
    ``Dense expected input of shape (batch, 3), got (4, 5)``.
    """
    if not isinstance(x, np.ndarray):
        raise TypeError(f"{name} expected a numpy array, got {type(x).__name__}")
    if shape is not None:
        ok = x.ndim == len(shape) and all(
            isinstance(s, str) or s is None or s == n for s, n in zip(shape, x.shape, strict=True)
        )
        if not ok:
            want = ", ".join(str(s) if s is not None else "any" for s in shape)
            if len(shape) == 1:
                want += ","
            raise ValueError(f"{name} expected input of shape ({want}), got {tuple(x.shape)}")
    if dtype is not None and x.dtype != np.dtype(dtype):
        raise TypeError(f"{name} expected dtype {np.dtype(dtype)}, got {x.dtype}")
    if finite and x.dtype.kind in "fc" and not np.isfinite(x).all():
        raise NonFiniteError(f"{name} got non-finite values (NaN or inf) in its input")
    return x


def check_size(value, owner: str, name: str, minimum: int = 1) -> int:
    """Return ``value`` as an int if it is an integer (not a bool) ``>= minimum``, else raise ``ValueError``.

    ``check_size(0, "Dense", "in_features")`` -> ``Dense expected in_features to be a positive int, got 0``.
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < minimum:
        want = {0: "a non-negative int", 1: "a positive int"}.get(minimum, f"an int >= {minimum}")
        raise ValueError(f"{owner} expected {name} to be {want}, got {value!r}")
    return int(value)


def check_rng(rng, owner: str, optional: bool = True) -> np.random.Generator:
    """Return ``rng`` (or ``np.random.default_rng(0)`` for ``None`` when optional); anything but a
    ``np.random.Generator`` is a ``TypeError``."""
    if rng is None and optional:
        return np.random.default_rng(0)
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"{owner} expected rng to be an np.random.Generator (np.random.default_rng(seed)), "
                        f"got {type(rng).__name__}")
    return rng


def check_grad(dout, owner: str, shape: tuple[int, ...], dtype: np.dtype | None = None) -> np.ndarray:
    """Validate the gradient handed to ``owner`` (e.g. ``"Dense.backward"``): a finite numpy array of
    exactly ``shape`` (and ``dtype`` if given) — never broadcast, never reshaped."""
    if not isinstance(dout, np.ndarray):
        raise TypeError(f"{owner} expected the gradient as a numpy array, got {type(dout).__name__}")
    if dout.shape != tuple(shape):
        raise ValueError(f"{owner} expected a gradient of shape {tuple(shape)} (like the forward output), "
                         f"got {dout.shape}")
    if dtype is not None and dout.dtype != np.dtype(dtype):
        raise TypeError(f"{owner} expected a gradient of dtype {np.dtype(dtype)}, got {dout.dtype}")
    if dout.dtype.kind not in "fc":
        raise TypeError(f"{owner} expected a float gradient, got dtype {dout.dtype}")
    if not np.isfinite(dout).all():
        raise NonFiniteError(f"{owner} got non-finite values (NaN or inf) in its gradient")
    return dout


def check_nonempty(x: np.ndarray, owner: str, names: Sequence[str]) -> None:
    """Raise ``ValueError`` if an axis of ``x`` has size 0, naming it: ``names`` labels x's axes."""
    for axis_name, n in zip(names, x.shape, strict=False):
        if n == 0:
            raise ValueError(f"{owner} got an empty input: {axis_name} = 0 in shape {tuple(x.shape)} "
                             f"(expected at least 1)")


def check_number(owner: str, name: str, value, low: float | None = None, high: float | None = None,
                  low_open: bool = False) -> float:
    """Return ``value`` as a float if it is a finite real number in the interval, else raise
    (``TypeError`` for a non-number, ``ValueError`` outside the interval), e.g.
    ``StepLR expected gamma in [0.0, inf), got -0.5``. ``low_open`` excludes ``low`` itself."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{owner} expected {name} to be a number, got {type(value).__name__}")
    value = float(value)
    ok = math.isfinite(value) and (low is None or (value > low if low_open else value >= low)) and (
        high is None or value <= high)
    if not ok:
        interval = f"{'(' if low_open else '['}{'-inf' if low is None else low}, {'inf' if high is None else high}"
        interval += "]" if high is not None else ")"
        raise ValueError(f"{owner} expected {name} in {interval}, got {value}")
    return value
