"""The plain (Elman) recurrent network: ``h' = f(W_ih x + b_ih + W_hh h + b_hh)`` with f = tanh or ReLU."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from ._checks import check_array
from .module import Module
from .recurrent import RecurrentLayer, check_rng, check_size

_NONLINEARITIES = ("tanh", "relu")


def _check_nonlinearity(nonlinearity: str) -> str:
    if nonlinearity not in _NONLINEARITIES:
        raise ValueError(f"nonlinearity must be one of {_NONLINEARITIES}, got {nonlinearity!r}")
    return nonlinearity


class RNNCell(Module):
    """One Elman step, to run by hand. Parameters as ``torch.nn.RNNCell``.

    params: ``weight_ih`` (H, D), ``weight_hh`` (H, H), ``bias_ih`` (H,), ``bias_hh`` (H,)
    forward: x (N, D), h (N, H) or None (zeros) -> h' (N, H)
    backward: dh (N, H), ∂L/∂h' -> (dx (N, D), dh_prev (N, H)); fills ``grads``.
    ``cache`` holds (x, h, h') of the last forward (copies of the caller's x and h).
    """

    def __init__(self, input_size: int, hidden_size: int, nonlinearity: str = "tanh", dtype=np.float64,
                 rng: np.random.Generator | None = None) -> None:
        super().__init__(dtype)
        self.input_size = check_size(input_size, "input_size", "RNNCell")
        self.hidden_size = check_size(hidden_size, "hidden_size", "RNNCell")
        self.nonlinearity = _check_nonlinearity(nonlinearity)
        rng = check_rng(rng, "RNNCell")
        bound, H = 1.0 / math.sqrt(self.hidden_size), self.hidden_size
        for name, shape in (("weight_ih", (H, self.input_size)), ("weight_hh", (H, H)),
                            ("bias_ih", (H,)), ("bias_hh", (H,))):
            self.params[name] = rng.uniform(-bound, bound, size=shape).astype(self.dtype)
        self.zero_grad()
        self.cache: tuple | None = None

    def forward(self, x: np.ndarray, h: np.ndarray | None = None) -> np.ndarray:
        """x: (N, D), h: (N, H) or None -> h' (N, H)."""
        check_array(x, "RNNCell", shape=("batch", self.input_size), dtype=self.dtype)
        if h is None:
            h = np.zeros((x.shape[0], self.hidden_size), self.dtype)
        check_array(h, "RNNCell state h", shape=(x.shape[0], self.hidden_size), dtype=self.dtype)
        p = self.params
        a = x @ p["weight_ih"].T + p["bias_ih"] + h @ p["weight_hh"].T + p["bias_hh"]
        h_next = np.tanh(a) if self.nonlinearity == "tanh" else np.maximum(a, 0)
        self.cache = (x.copy(), h.copy(), h_next.copy())
        return h_next

    def backward(self, dh: np.ndarray):
        """dh: (N, H) -> (dx (N, D), dh_prev (N, H))."""
        if self.cache is None:
            raise RuntimeError("RNNCell.backward called before forward")
        x, h, h_next = self.cache
        check_array(dh, "RNNCell.backward dh", shape=h_next.shape, dtype=self.dtype)
        da = dh * (1 - h_next**2) if self.nonlinearity == "tanh" else dh * (h_next > 0)
        p = self.params
        self.grads["weight_ih"] = da.T @ x
        self.grads["weight_hh"] = da.T @ h
        self.grads["bias_ih"] = da.sum(axis=0)
        self.grads["bias_hh"] = da.sum(axis=0)
        return da @ p["weight_ih"], da @ p["weight_hh"]

    def __repr__(self) -> str:
        return f"RNNCell({self.input_size}, {self.hidden_size}, nonlinearity={self.nonlinearity!r}, dtype={self.dtype})"


class RNN(RecurrentLayer):
    """A multi-layer, optionally bidirectional Elman RNN over whole sequences (see :mod:`lib.recurrent`).

    ``RNN(input_size, hidden_size, num_layers=1, nonlinearity="tanh", bidirectional=False, …)``;
    ``forward(x, state=None, lengths=None) -> (outputs, h_n)``; ``backward(doutputs, dstate=None) -> dx``.
    """

    gate_names = ("h",)

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, nonlinearity: str = "tanh",
                 bidirectional: bool = False, dropout: float = 0.0, dtype=np.float64,
                 rng: np.random.Generator | None = None, record: bool = False, *,
                 input_dropout: float | Sequence[float] = 0.0,
                 recurrent_dropout: float | Sequence[float] = 0.0) -> None:
        self.nonlinearity = _check_nonlinearity(nonlinearity)
        super().__init__(input_size, hidden_size, num_layers, bidirectional, dropout, dtype, rng, record,
                         input_dropout=input_dropout, recurrent_dropout=recurrent_dropout)

    def _scan(self, xw, W_hh, b_hh, h0, c0, mask, reverse, h_mask):
        T, N, H = xw.shape
        xw += b_hh
        W_T = np.ascontiguousarray(W_hh.T)
        hs = self._buffer("h", (T, N, H), xw.dtype)
        tanh = self.nonlinearity == "tanh"
        h = h0
        for t in (range(T - 1, -1, -1) if reverse else range(T)):
            h_t = hs[t]
            np.matmul(h if h_mask is None else h * h_mask, W_T, out=h_t)
            h_t += xw[t]
            if tanh:
                np.tanh(h_t, out=h_t)
            else:
                np.maximum(h_t, 0, out=h_t)
            if mask is not None:
                h_t -= h
                h_t *= mask[t]
                h_t += h
            h = h_t
        return hs, h, None, (hs, h0, W_T, h_mask)

    def _scan_backward(self, cache, dout, dhT, dcT, mask, reverse):
        hs, h0, W_T, h_mask = cache
        W_hh = W_T.T
        T, N, H = hs.shape
        h_prev = self._previous("h_prev", hs, h0, reverse)
        K = self._buffer("K", (T, N, H), hs.dtype)
        if self.nonlinearity == "tanh":
            np.multiply(hs, hs, out=K)
            np.subtract(1, K, out=K)
        else:
            np.greater(hs, 0, out=K)
        if mask is not None:
            K *= mask
        da = self._buffer("da", (T, N, H), hs.dtype)
        dh_next = np.zeros((N, H), hs.dtype) if dhT is None else dhT.copy()
        record = np.empty((T, N, H), hs.dtype) if self.record else None
        for t in (range(T) if reverse else range(T - 1, -1, -1)):
            dh = dout[t] + dh_next
            if record is not None:
                record[t] = dh
            np.multiply(dh, K[t], out=da[t])
            dh_next = da[t] @ W_hh
            if h_mask is not None:
                dh_next *= h_mask
            if mask is not None:
                dh_next += dh * (1 - mask[t])
        flat = da.reshape(-1, H)
        if h_mask is not None:
            h_prev *= h_mask
        norms = None if record is None else np.sqrt((record**2).sum(axis=(1, 2)))
        return da, flat.T @ h_prev.reshape(-1, H), flat.sum(axis=0), dh_next, None, norms

    def _gates_for_history(self, cache) -> dict[str, np.ndarray]:
        return {}

    def __repr__(self) -> str:
        return super().__repr__()[:-1] + f", nonlinearity={self.nonlinearity!r})"
