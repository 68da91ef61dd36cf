"""LastStep: a recurrent layer as a layer with one output array, for lib.fit and lib.Sequential.

A recurrent layer returns ``(outputs, state)``; ``lib.fit``, ``lib.Sequential`` and
``lib.check_layer`` want a layer whose ``forward`` returns one array and whose ``backward``
takes its gradient. ``LastStep(layer)`` is that adapter for a many-to-one model:
``lib.Sequential(lib.LastStep(lib.GRU(3, 16)), lib.Dense(16, 1))``.
"""

from __future__ import annotations

import numpy as np

from ._checks import check_grad
from .module import Module
from .recurrent import RecurrentLayer


class LastStep(Module):
    """Run a recurrent layer over the sequence and return one vector per sequence.

    which="output" (default): the top layer's output at the last step, ``outputs[:, -1]``
        (N, directions·H). With ``lengths``, the output at each sequence's last real step,
        ``outputs[n, lengths[n] − 1]``. For a bidirectional layer the reverse half of that output
        has seen only the last step; use "state" for a summary of the whole sequence.
    which="state": the top layer's final hidden state, both directions concatenated
        (N, directions·H) — for one direction the same as "output"; for a bidirectional layer
        the forward direction's state after the last step and the reverse direction's after the
        first. (For an LSTM: h, not c.)

    ``params``, ``grads``, ``zero_grad``, ``train``/``eval`` and ``state_dict`` are the wrapped
    layer's (the same arrays, so an optimizer over the LastStep updates the layer).

    forward(x (N, T, D), lengths=None) -> (N, directions·H)
    backward(d (N, directions·H)) -> dx (N, T, D): the gradient enters the recurrent layer at the
        last (real) step's output, or as the gradient of its final state.
    """

    def __init__(self, layer: RecurrentLayer, which: str = "output") -> None:
        if not isinstance(layer, RecurrentLayer):
            raise TypeError(f"LastStep expected a recurrent layer (lib.RNN, LSTM, GRU), got {type(layer).__name__}")
        if which not in ("output", "state"):
            raise ValueError(f"LastStep expected which='output' or 'state', got {which!r}")
        self.layer, self.which = layer, which
        self.dtype, self.training = layer.dtype, layer.training
        self._cache: tuple | None = None

    @property
    def params(self) -> dict[str, np.ndarray]:
        return self.layer.params

    @property
    def grads(self) -> dict[str, np.ndarray]:
        return self.layer.grads

    def children(self) -> list[Module]:
        return [self.layer]

    def zero_grad(self) -> None:
        self.layer.zero_grad()

    @property
    def width(self) -> int:
        """The output width, directions·hidden_size."""
        return self.layer.num_directions * self.layer.hidden_size

    def forward(self, x: np.ndarray, lengths: np.ndarray | None = None) -> np.ndarray:
        outputs, state = self.layer.forward(x, lengths=lengths)
        N, T, _ = outputs.shape
        if self.which == "state":
            h = state[0] if isinstance(state, tuple) else state        # (L·D, N, H)
            top = h[-self.layer.num_directions:]                        # the top layer's directions
            self._cache = (N, T, None)
            return np.concatenate(list(top), axis=1)
        last = np.full(N, T - 1) if lengths is None else np.asarray(lengths) - 1
        self._cache = (N, T, last)
        return outputs[np.arange(N), last]

    def backward(self, d: np.ndarray) -> np.ndarray:
        """d (N, directions·H) -> dx (N, T, D); fills the layer's ``grads``."""
        if self._cache is None:
            raise RuntimeError("LastStep.backward called before forward")
        N, T, last = self._cache
        check_grad(d, "LastStep.backward", (N, self.width), self.dtype)
        D, H = self.layer.num_directions, self.layer.hidden_size
        doutputs = np.zeros((N, T, self.width), self.dtype)
        if self.which == "output":
            doutputs[np.arange(N), last] = d
            return self.layer.backward(doutputs)
        L = self.layer.num_layers * D
        dh = np.zeros((L, N, H), self.dtype)
        for k in range(D):
            dh[L - D + k] = d[:, k * H:(k + 1) * H]
        dstate = (dh, np.zeros_like(dh)) if self.layer.has_cell else dh
        return self.layer.backward(doutputs, dstate)

    def __repr__(self) -> str:
        return f"LastStep({self.layer!r}, which={self.which!r})"
