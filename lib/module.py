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
        """Copy arrays into ``params`` in place; keys and shapes must match exactly, values be finite numbers."""
        name = type(self).__name__
        if not isinstance(state, dict):
            raise TypeError(f"{name}.load_state_dict expected a dict of arrays, got {type(state).__name__}")
        missing = set(self.params) - set(state)
        extra = set(state) - set(self.params)
        if missing or extra:
            raise ValueError(
                f"{name}.load_state_dict: missing keys {sorted(missing)}, "
                f"unexpected keys {sorted(extra)}"
            )
        checked = {}
        for k, v in state.items():
            v = np.asarray(v)
            if v.shape != self.params[k].shape:
                raise ValueError(
                    f"{name}.load_state_dict: {k} expected shape "
                    f"{self.params[k].shape}, got {v.shape}"
                )
            if v.dtype.kind not in "fiu":
                raise TypeError(f"{name}.load_state_dict: {k} expected numbers, got dtype {v.dtype}")
            if not np.isfinite(v).all():
                raise ValueError(f"{name}.load_state_dict: {k} holds NaN or inf")
            checked[k] = v
        for k, v in checked.items():  # nothing is written unless every entry is good
            self.params[k][...] = v.astype(self.dtype, copy=False)

    def save(self, path: str | os.PathLike) -> None:
        """Save parameters in NumPy's ``.npz`` format (no pickle) to exactly ``path``, like ``torch.save``:
        no suffix is added (``save("ckpt")`` writes ``ckpt``; ``np.savez`` alone would write ``ckpt.npz``)."""
        path = _check_path(path, f"{type(self).__name__}.save")
        with open(path, "wb") as f:  # a file object: np.savez then adds no ".npz"
            np.savez(f, **self.params)

    def load(self, path: str | os.PathLike) -> None:
        """Load parameters written by :meth:`save` from exactly ``path`` (``allow_pickle=False``)."""
        owner = f"{type(self).__name__}.load"
        path = _check_path(path, owner)
        try:
            data = np.load(path, allow_pickle=False)
        except (ValueError, EOFError):  # empty, a pickle, or not a NumPy file at all
            raise ValueError(f"{owner}: {os.fspath(path)!r} is not an .npz file written by save()") from None
        if not isinstance(data, np.lib.npyio.NpzFile):
            raise ValueError(f"{owner}: {os.fspath(path)!r} holds a single array (.npy), not an .npz file "
                             "written by save()")
        with data:
            self.load_state_dict({k: data[k] for k in data.files})

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    def forward(self, *args, **kwargs):  # pragma: no cover - abstract
        raise NotImplementedError

    def backward(self, *args, **kwargs):  # pragma: no cover - abstract
        raise NotImplementedError


def _check_path(path, owner: str):
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"{owner} expected a path (str or os.PathLike), got {type(path).__name__}")
    if os.fspath(path) == "":
        raise ValueError(f"{owner} expected a path, got an empty string")
    return path
