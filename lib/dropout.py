"""Dropout (Srivastava et al. 2014), in its "inverted" form."""

from __future__ import annotations

import numpy as np

from .module import Module


class Dropout(Module):
    """Zero each input with probability ``p`` in training and scale the rest by 1/(1−p).

    In eval mode (``layer.eval()``) it is the identity, so no rescaling is needed at
    test time. x: any shape -> y: the same shape and dtype.
    """

    def __init__(self, p: float = 0.5, rng: np.random.Generator | None = None) -> None:
        super().__init__()
        if not 0.0 <= p < 1.0:
            raise ValueError(f"Dropout expected 0 <= p < 1, got {p}")
        self.p = float(p)
        self.rng = rng if rng is not None else np.random.default_rng(0)
        self.mask: np.ndarray | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        if not isinstance(x, np.ndarray) or x.dtype not in (np.float32, np.float64):
            raise TypeError(f"Dropout expected a float32 or float64 array, got {getattr(x, 'dtype', type(x))}")
        if not self.training or self.p == 0.0:
            self.mask = None
            return x
        keep = self.rng.random(x.shape) >= self.p
        self.mask = keep.astype(x.dtype) / x.dtype.type(1.0 - self.p)
        return x * self.mask

    def backward(self, dout: np.ndarray) -> np.ndarray:
        return dout if self.mask is None else dout * self.mask

    def __repr__(self) -> str:
        return f"Dropout(p={self.p})"
