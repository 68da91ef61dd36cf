"""The plain (Elman) recurrent network: ``h' = f(W_ih x + b_ih + W_hh h + b_hh)`` with f = tanh or ReLU."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from ._checks import check_array
from .module import Module
from .recurrent import RecurrentLayer, backward_chunks, check_rng, check_size, chunk_steps

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
    Per (layer, direction) the forward pass keeps only the hidden states (T+1, N, H, with the initial
    state); backward works through them in chunks of steps and frees them.
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

    def _scan(self, u, W_ih, b_ih, W_hh, b_hh, h0, c0, mask, reverse, h_mask, take):
        T, N, D = u.shape
        H, dt = self.hidden_size, self.dtype
        Wi, Wh, W_ihT, W_hhT = take((H, D)), take((H, H)), take((D, H)), take((H, H))  # private copies for backward
        np.copyto(Wi, W_ih)
        np.copyto(Wh, W_hh)
        np.copyto(W_ihT, W_ih.T)  # transposed and C-ordered: BLAS is faster so
        np.copyto(W_hhT, W_hh.T)
        hs_ext = take((T + 1, N, H))  # the initial state next to the first step's (see LSTM._scan)
        hs = hs_ext[:T] if reverse else hs_ext[1:]
        k0 = T if reverse else 0
        hs_ext[k0] = h0
        np.dot(u.reshape(T * N, D), W_ihT, hs.reshape(T * N, H))
        hs += b_ih  # (x W_ihᵀ + b_ih) + b_hh: the order PyTorch's (and earlier lib's) rounding follows
        hs += b_hh
        hm = None if h_mask is None else take((T, N, H))
        tmp = np.empty((N, H), dt)
        dot, add, mul = np.dot, np.add, np.multiply
        act = np.tanh if self.nonlinearity == "tanh" else None
        zero = np.array(0.0, dt)
        Hs_ = list(hs)
        M_ = None if mask is None else list(mask)
        Hm_ = None if hm is None else list(hm)
        h = hs_ext[k0]
        for t in (range(T - 1, -1, -1) if reverse else range(T)):
            h_in = h
            if Hm_ is not None:
                h_in = Hm_[t]
                mul(h, h_mask, h_in)
            dot(h_in, W_hhT, tmp)
            h_t = Hs_[t]
            add(h_t, tmp, h_t)
            if act is not None:
                act(h_t, h_t)
            else:
                np.maximum(h_t, zero, out=h_t)
            if M_ is not None:
                m = M_[t]
                h_t -= h
                h_t *= m
                h_t += h
            h = h_t
        return hs, h.copy(), None, (hs_ext, hm, u, Wi, Wh, h_mask, reverse)

    def _scan_backward(self, cache, dout, dhT, dcT, mask, du, take):
        hs_ext, hm, u, Wi, Wh, h_mask, reverse = cache
        T, N, H = hs_ext.shape[0] - 1, hs_ext.shape[1], hs_ext.shape[2]
        dt = self.dtype
        hs = hs_ext[:T] if reverse else hs_ext[1:]
        h_prev = hs_ext[1:] if reverse else hs_ext[:T]
        hp_all = h_prev if hm is None else hm
        dot, add, mul = np.dot, np.add, np.multiply
        C = chunk_steps(T, N, H)
        KB = take((C, N, H))
        DO = None if mask is None else take((C, N, H))
        Mc = None if mask is None else 1 - mask
        dh_rec = np.zeros((N, H), dt) if dhT is None else dhT.copy()
        dh, tmp = np.empty((N, H), dt), np.empty((N, H), dt)
        record = take((T, N, H)) if self.record else None
        D = u.shape[2]
        dW_ih, dW_hh = np.zeros((H, D), dt), np.zeros((H, H), dt)
        db = np.zeros(H, dt)
        for start, end in backward_chunks(T, C, reverse):
            n = end - start
            K = KB[:n]                      # ∂h_t/∂(pre-activation), then ∂L/∂(pre-activation)
            if self.nonlinearity == "tanh":
                mul(hs[start:end], hs[start:end], K)
                np.subtract(1, K, K)
            else:
                np.greater(hs[start:end], 0, K)
            src = dout[start:end]
            if mask is not None:
                K *= mask[start:end]
                src = DO[:n]
                mul(dout[start:end], mask[start:end], src)
            S_, K_ = list(src), list(K)
            for k in (range(n) if reverse else range(n - 1, -1, -1)):
                t = start + k
                d_h = dh if record is None else record[t]
                add(S_[k], dh_rec, d_h)
                mul(K_[k], d_h, K_[k])
                dot(K_[k], Wh, dh_rec)
                if h_mask is not None:
                    mul(dh_rec, h_mask, dh_rec)
                if mask is not None:
                    mul(d_h, Mc[t], tmp)
                    add(dh_rec, tmp, dh_rec)
            K2 = K.reshape(n * N, H)
            dW_hh += dot(K2.T, hp_all[start:end].reshape(n * N, H))
            dW_ih += dot(K2.T, u[start:end].reshape(n * N, D))
            db += K2.sum(axis=0)
            dot(K2, Wi, du[start:end].reshape(n * N, D))
        norms = None if record is None else np.sqrt(np.einsum("tnh,tnh->t", record, record))
        return dW_ih, db, dW_hh, db.copy(), dh_rec, None, norms

    def _gates_for_history(self, cache) -> dict[str, np.ndarray]:
        return {}

    def __repr__(self) -> str:
        return super().__repr__()[:-1] + f", nonlinearity={self.nonlinearity!r})"
