"""Dropout (Srivastava et al. 2014), in its "inverted" form."""

from __future__ import annotations

import numpy as np

from ._checks import check_array
from .module import Module


class Dropout(Module):
    """Zero each input with probability ``p`` in training and scale the rest by 1/(1−p).

    In eval mode (``layer.eval()``) it is the identity, so nothing needs rescaling at
    test time. The mask comes from ``rng`` (default ``np.random.default_rng(0)``).
    ``dtype=None`` follows the input; a given dtype makes the layer insist on it.

    x: any shape -> y: the same shape and dtype. Caches the scaled mask (x's shape)
    for backward.
    """

    def __init__(self, p: float = 0.5, rng: np.random.Generator | None = None, dtype=None) -> None:
        super().__init__(np.float64 if dtype is None else dtype)
        if not 0.0 <= p < 1.0:
            raise ValueError(f"Dropout expected 0 <= p < 1, got {p}")
        if rng is not None and not isinstance(rng, np.random.Generator):
            raise TypeError(f"Dropout expected rng to be an np.random.Generator, got {type(rng).__name__}")
        self.p = float(p)
        self.strict_dtype = dtype is not None
        self.rng = rng if rng is not None else np.random.default_rng(0)
        self.mask: np.ndarray | None = None
        self.shape: tuple[int, ...] | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        check_array(x, "Dropout", dtype=self.dtype if self.strict_dtype else None)
        if x.dtype not in (np.float32, np.float64):
            raise TypeError(f"Dropout expected a float32 or float64 array, got {x.dtype}")
        self.shape = x.shape
        if not self.training or self.p == 0.0:
            self.mask = None
            return x
        keep = self.rng.random(x.shape) >= self.p
        self.mask = keep.astype(x.dtype) / x.dtype.type(1.0 - self.p)
        return x * self.mask

    def backward(self, dout: np.ndarray) -> np.ndarray:
        """dout: like the output -> dx = dout ⊙ mask (the same mask as the forward pass)."""
        if self.shape is None:
            raise RuntimeError("Dropout.backward called before forward")
        if not isinstance(dout, np.ndarray) or dout.shape != self.shape:
            got = dout.shape if isinstance(dout, np.ndarray) else type(dout).__name__
            raise ValueError(f"Dropout.backward expected dout of shape {self.shape}, got {got}")
        return dout if self.mask is None else dout * self.mask

    def __repr__(self) -> str:
        return f"Dropout(p={self.p})"
