"""The one base class every layer shares: parameters and their gradients as dicts.

A layer keeps ``params`` (name -> array) and ``grads`` (name -> array of the same
shape). ``forward`` caches what ``backward`` needs; ``backward`` returns the
gradient with respect to the input and *overwrites* ``grads``.
"""

from __future__ import annotations

import os

import numpy as np

from ._checks import check_dtype


class Module:
    """Base class: ``params``/``grads`` dicts, train/eval mode, save/load."""

    def __init__(self, dtype=np.float64) -> None:
        self.dtype = check_dtype(dtype)
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        self.training = True

    # -- modes -------------------------------------------------------------
    def train(self, mode: bool = True) -> Module:
        self.training = mode
        for child in self.children():
            child.train(mode)
        return self

    def eval(self) -> Module:
        return self.train(False)

    def children(self) -> list[Module]:
        """Sub-modules (override in containers); used to propagate train/eval."""
        return []

    # -- parameters ----------------------------------------------------------
    def zero_grad(self) -> None:
        for k, p in self.params.items():
            self.grads[k] = np.zeros_like(p)

    def num_parameters(self) -> int:
        return int(sum(p.size for p in self.params.values()))

    def state_dict(self) -> dict[str, np.ndarray]:
        """A copy of the parameters, keyed as in ``params``."""
        return {k: v.copy() for k, v in self.params.items()}

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        """Copy arrays into ``params`` in place; keys and shapes must match exactly."""
        missing = set(self.params) - set(state)
        extra = set(state) - set(self.params)
        if missing or extra:
            raise ValueError(
                f"{type(self).__name__}.load_state_dict: missing keys {sorted(missing)}, "
                f"unexpected keys {sorted(extra)}"
            )
        for k, v in state.items():
            v = np.asarray(v)
            if v.shape != self.params[k].shape:
                raise ValueError(
                    f"{type(self).__name__}.load_state_dict: {k} expected shape "
                    f"{self.params[k].shape}, got {v.shape}"
                )
            self.params[k][...] = v.astype(self.dtype, copy=False)

    def save(self, path: str | os.PathLike) -> None:
        """Save parameters with ``np.savez`` (no pickle)."""
        np.savez(path, **self.params)

    def load(self, path: str | os.PathLike) -> None:
        """Load parameters saved by :meth:`save` (``allow_pickle=False``)."""
        with np.load(path, allow_pickle=False) as data:
            self.load_state_dict({k: data[k] for k in data.files})

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    def forward(self, *args, **kwargs):  # pragma: no cover - abstract
        raise NotImplementedError

    def backward(self, *args, **kwargs):  # pragma: no cover - abstract
        raise NotImplementedError
