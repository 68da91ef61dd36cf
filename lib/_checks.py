"""Input validation shared by every layer: clear errors that name what was expected."""

from __future__ import annotations

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
