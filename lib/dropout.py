"""Dropout (Srivastava et al. 2014), in its "inverted" form."""

from __future__ import annotations

import numpy as np

from ._checks import check_array, check_grad, check_number, check_rng
from .module import Module


class Dropout(Module):
    """Zero each input with probability ``p`` in training and scale the rest by 1/(1−p).

    In eval mode (``layer.eval()``) it is the identity, so nothing needs rescaling at
    test time. The mask comes from ``rng`` (default ``np.random.default_rng(0)``).
    ``dtype=None`` follows the input; a given dtype makes the layer insist on it.

    x: any shape -> y: the same shape and dtype. Caches the scaled mask (x's shape)
    for backward; :attr:`mask` shows it (read-only).
    """

    def __init__(self, p: float = 0.5, rng: np.random.Generator | None = None, dtype=None) -> None:
        super().__init__(np.float64 if dtype is None else dtype)
        p = check_number("Dropout", "p", p, low=0.0)
        if not p < 1.0:
            raise ValueError(f"Dropout expected 0 <= p < 1, got {p}")
        self.p = p
        self.strict_dtype = dtype is not None
        self.rng = check_rng(rng, "Dropout")
        self._mask: np.ndarray | None = None
        self.shape: tuple[int, ...] | None = None

    @property
    def mask(self) -> np.ndarray | None:
        """The multiplier the last forward pass applied, shaped like its input: 0 for a dropped
        entry, 1/(1−p) for a kept one — a read-only view (``mask > 0`` gives the kept entries).
        None before the first forward pass and after one that dropped nothing (eval mode or p = 0)."""
        if self._mask is None:
            return None
        view = self._mask.view()
        view.flags.writeable = False
        return view

    def forward(self, x: np.ndarray) -> np.ndarray:
        check_array(x, "Dropout", dtype=self.dtype if self.strict_dtype else None)
        if x.dtype not in (np.float32, np.float64):
            raise TypeError(f"Dropout expected a float32 or float64 array, got {x.dtype}")
        self.shape, self.dtype_in = x.shape, x.dtype
        if not self.training or self.p == 0.0:
            self._mask = None
            return x
        keep = self.rng.random(x.shape) >= self.p
        self._mask = keep.astype(x.dtype) / x.dtype.type(1.0 - self.p)
        return x * self._mask

    def backward(self, dout: np.ndarray) -> np.ndarray:
        """dout: like the output -> dx = dout ⊙ mask (the same mask as the forward pass)."""
        if self.shape is None:
            raise RuntimeError("Dropout.backward called before forward")
        check_grad(dout, "Dropout.backward", self.shape, self.dtype_in)
        return dout if self._mask is None else dout * self._mask

    def __repr__(self) -> str:
        return f"Dropout(p={self.p})"
