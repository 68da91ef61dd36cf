"""Long short-term memory (Hochreiter & Schmidhuber 1997, with the forget gate of Gers et al. 2000).

With PyTorch's gate order (i, f, g, o) and both biases::

    i = σ(W_ii x + b_ii + W_hi h + b_hi)        input gate
    f = σ(W_if x + b_if + W_hf h + b_hf)        forget gate
    g = tanh(W_ig x + b_ig + W_hg h + b_hg)     candidate
    o = σ(W_io x + b_io + W_ho h + b_ho)        output gate
    c' = f ⊙ c + i ⊙ g                          the additive cell path
    h' = o ⊙ tanh(c')
"""

from __future__ import annotations

import math

import numpy as np

from ._checks import check_array
from .module import Module
from .recurrent import RecurrentLayer, check_rng, check_size


def sigmoid_(a: np.ndarray) -> np.ndarray:
    """σ(a) in place, as ½·tanh(a/2) + ½ (stable for any a, four cheap ufunc calls)."""
    a *= 0.5
    np.tanh(a, out=a)
    a *= 0.5
    a += 0.5
    return a


class LSTMCell(Module):
    """One LSTM step, to run by hand. Parameters as ``torch.nn.LSTMCell``.

    params: ``weight_ih`` (4H, D), ``weight_hh`` (4H, H), ``bias_ih`` (4H,), ``bias_hh`` (4H,)
    forward: x (N, D), state (h, c) each (N, H) or None (zeros) -> (h', c')
    backward: dh (N, H), dc (N, H) or None -> (dx (N, D), (dh_prev, dc_prev) each (N, H)); fills ``grads``.
    ``cache`` holds (x, h, c, i, f, g, o, tanh c') of the last forward, each (N, ·) (copies of the
    caller's x, h and c); :attr:`gates` names the gate activations.
    """

    def __init__(self, input_size: int, hidden_size: int, dtype=np.float64,
                 rng: np.random.Generator | None = None) -> None:
        super().__init__(dtype)
        self.input_size = check_size(input_size, "input_size", "LSTMCell")
        self.hidden_size = check_size(hidden_size, "hidden_size", "LSTMCell")
        rng = check_rng(rng, "LSTMCell")
        bound, H = 1.0 / math.sqrt(self.hidden_size), self.hidden_size
        for name, shape in (("weight_ih", (4 * H, self.input_size)), ("weight_hh", (4 * H, H)),
                            ("bias_ih", (4 * H,)), ("bias_hh", (4 * H,))):
            self.params[name] = rng.uniform(-bound, bound, size=shape).astype(self.dtype)
        self.zero_grad()
        self.cache: tuple | None = None

    @property
    def gates(self) -> dict[str, np.ndarray]:
        """The gate activations of the last forward: ``{"i", "f", "g", "o"}``, each (N, H) (read-only views)."""
        if self.cache is None:
            raise RuntimeError("LSTMCell.gates read before forward")
        out = {}
        for k, a in zip("ifgo", self.cache[3:7], strict=True):
            view = a.view()
            view.flags.writeable = False
            out[k] = view
        return out

    def forward(self, x: np.ndarray, state: tuple[np.ndarray, np.ndarray] | None = None):
        """x: (N, D), state: (h, c) each (N, H), or None -> (h', c') each (N, H)."""
        check_array(x, "LSTMCell", shape=("batch", self.input_size), dtype=self.dtype)
        N, H = x.shape[0], self.hidden_size
        if state is None:
            h, c = np.zeros((N, H), self.dtype), np.zeros((N, H), self.dtype)
        else:
            if not (isinstance(state, (tuple, list)) and len(state) == 2):
                raise TypeError(f"LSTMCell expected state as a pair (h, c), each of shape {(N, H)}, "
                                f"got {type(state).__name__}")
            h, c = state
            check_array(h, "LSTMCell state h", shape=(N, H), dtype=self.dtype)
            check_array(c, "LSTMCell state c", shape=(N, H), dtype=self.dtype)
        p = self.params
        a = x @ p["weight_ih"].T + p["bias_ih"] + h @ p["weight_hh"].T + p["bias_hh"]
        i = sigmoid_(a[:, :H].copy())
        f = sigmoid_(a[:, H:2 * H].copy())
        g = np.tanh(a[:, 2 * H:3 * H])
        o = sigmoid_(a[:, 3 * H:].copy())
        c_next = f * c + i * g
        tanh_c = np.tanh(c_next)
        h_next = o * tanh_c
        self.cache = (x.copy(), h.copy(), c.copy(), i, f, g, o, tanh_c)
        return h_next, c_next

    def backward(self, dh: np.ndarray, dc: np.ndarray | None = None):
        """dh: (N, H) = ∂L/∂h', dc: (N, H) = ∂L/∂c' or None -> (dx (N, D), (dh_prev, dc_prev))."""
        if self.cache is None:
            raise RuntimeError("LSTMCell.backward called before forward")
        x, h, c, i, f, g, o, tanh_c = self.cache
        check_array(dh, "LSTMCell.backward dh", shape=h.shape, dtype=self.dtype)
        if dc is not None:
            check_array(dc, "LSTMCell.backward dc", shape=h.shape, dtype=self.dtype)
        dc = (np.zeros_like(c) if dc is None else dc) + dh * o * (1 - tanh_c**2)
        da = np.concatenate([dc * g * i * (1 - i), dc * c * f * (1 - f), dc * i * (1 - g**2),
                             dh * tanh_c * o * (1 - o)], axis=1)
        p = self.params
        self.grads["weight_ih"] = da.T @ x
        self.grads["weight_hh"] = da.T @ h
        self.grads["bias_ih"] = da.sum(axis=0)
        self.grads["bias_hh"] = da.sum(axis=0)
        return da @ p["weight_ih"], (da @ p["weight_hh"], dc * f)

    def __repr__(self) -> str:
        return f"LSTMCell({self.input_size}, {self.hidden_size}, dtype={self.dtype})"


class LSTM(RecurrentLayer):
    """A multi-layer, optionally bidirectional LSTM over whole sequences (see :mod:`lib.recurrent`).

    ``forward(x, state=None, lengths=None) -> (outputs, (h_n, c_n))``;
    ``backward(doutputs, dstate=None) -> dx`` where ``dstate`` is ``(dh_n, dc_n)`` or None.
    Internally the gates are kept in the order (o, i, f, g) so that one sigmoid call
    covers three gates and one multiply covers the three gates fed by ∂L/∂c.
    ``history["gates"]`` holds i, f, g, o and the cell state c, each (N, T, H).
    """

    gate_names = ("i", "f", "g", "o")
    has_cell = True

    def _perm(self, H: int) -> np.ndarray:
        """Rows of PyTorch's (i, f, g, o) blocks in the internal (o, i, f, g) order."""
        return np.concatenate([np.arange(3 * H, 4 * H), np.arange(0, 2 * H), np.arange(2 * H, 3 * H)])

    def _gate_rows(self) -> np.ndarray:
        return self._perm(self.hidden_size)

    def _scan(self, xw, W_hh, b_hh, h0, c0, mask, reverse, h_mask):
        T, N, G = xw.shape
        H = G // 4
        perm = self._perm(H)  # xw arrives in the internal order already (see _gate_rows)
        xw += b_hh[perm]
        W_T = np.ascontiguousarray(W_hh[perm].T)  # (H, 4H)
        # σ(a) = ½·tanh(a/2) + ½: with the o, i, f columns halved (exact, a power of two) one tanh
        # call covers all four gates, and two more calls turn the first three into sigmoids.
        W_half = W_T.copy()
        W_half[:, :3 * H] *= 0.5
        xw[:, :, :3 * H] *= 0.5
        gates = self._buffer("gates", (T, N, G), xw.dtype)
        cs = self._buffer("c", (T, N, H), xw.dtype)
        tcs = self._buffer("tanh_c", (T, N, H), xw.dtype)
        hs = self._buffer("h", (T, N, H), xw.dtype)
        tmp = np.empty((N, H), dtype=xw.dtype)
        h, c = h0, c0
        for t in (range(T - 1, -1, -1) if reverse else range(T)):
            a = gates[t]
            np.matmul(h if h_mask is None else h * h_mask, W_half, out=a)
            a += xw[t]
            np.tanh(a, out=a)                      # o, i, f (at half their pre-activation) and g
            sig = a[:, :3 * H]
            sig *= 0.5
            sig += 0.5                             # o, i, f = σ(pre-activation)
            o, i, f, g = a[:, :H], a[:, H:2 * H], a[:, 2 * H:3 * H], a[:, 3 * H:]
            c_t, h_t = cs[t], hs[t]
            np.multiply(f, c, out=c_t)
            np.multiply(i, g, out=tmp)
            c_t += tmp
            np.tanh(c_t, out=tcs[t])
            np.multiply(o, tcs[t], out=h_t)
            if mask is not None:  # padded steps keep the previous state
                m = mask[t]
                c_t -= c
                c_t *= m
                c_t += c
                h_t -= h
                h_t *= m
                h_t += h
            h, c = h_t, c_t
        return hs, h, c, (gates, cs, tcs, hs, h0, c0, W_T, h_mask)

    def _scan_backward(self, cache, dout, dhT, dcT, mask, reverse):
        gates, cs, tcs, hs, h0, c0, W_T, h_mask = cache
        T, N, G = gates.shape
        H = G // 4
        g4 = gates.reshape(T, N, 4, H)
        o, i, f, g = g4[:, :, 0], g4[:, :, 1], g4[:, :, 2], g4[:, :, 3]
        c_prev = self._previous("c_prev", cs, c0, reverse)
        h_prev = self._previous("h_prev", hs, h0, reverse)
        # Local derivatives for all steps at once: ∂a/∂(pre-activation) times what multiplies it.
        K = self._buffer("K", (T, N, 4, H), gates.dtype)
        tmp = self._buffer("tmp", (T, N, H), gates.dtype)
        np.subtract(1, o, out=tmp)
        np.multiply(tmp, o, out=K[:, :, 0])
        K[:, :, 0] *= tcs                       # o  <- dh: tanh(c) σ'(o)
        np.subtract(1, i, out=tmp)
        np.multiply(tmp, i, out=K[:, :, 1])
        K[:, :, 1] *= g                         # i  <- dc: g σ'(i)
        np.subtract(1, f, out=tmp)
        np.multiply(tmp, f, out=K[:, :, 2])
        K[:, :, 2] *= c_prev                    # f  <- dc: c_{t-1} σ'(f)
        np.multiply(g, g, out=tmp)
        np.subtract(1, tmp, out=tmp)
        np.multiply(tmp, i, out=K[:, :, 3])     # g  <- dc: i (1 - g²)
        A = self._buffer("A", (T, N, H), gates.dtype)
        np.multiply(tcs, tcs, out=A)
        np.subtract(1, A, out=A)
        A *= o                                  # dc += dh ⊙ A, A = o (1 - tanh²c)
        F = f
        if mask is not None:
            K *= mask[:, :, :, None]
            A = A * mask
            F = f * mask + (1 - mask)
        W = np.ascontiguousarray(W_T.T)  # (4H, H), internal order
        dgates = self._buffer("dgates", (T, N, 4, H), gates.dtype)
        dh_next = np.zeros((N, H), gates.dtype) if dhT is None else dhT.copy()
        dc_next = np.zeros((N, H), gates.dtype) if dcT is None else dcT.copy()
        record = np.empty((T, N, H), gates.dtype) if self.record else None
        for t in (range(T) if reverse else range(T - 1, -1, -1)):
            dh = dout[t] + dh_next
            if record is not None:
                record[t] = dh
            dc = dh * A[t]
            dc += dc_next
            dG = dgates[t]
            np.multiply(K[t, :, 0], dh, out=dG[:, 0])
            np.multiply(K[t, :, 1:], dc[:, None, :], out=dG[:, 1:])
            dc_next = dc * F[t]
            dh_next = dG.reshape(N, G) @ W
            if h_mask is not None:
                dh_next *= h_mask
            if mask is not None:
                dh_next += dh * (1 - mask[t])
        inv = np.argsort(self._perm(H))
        dgates = dgates.reshape(T, N, G)  # internal order, as xw was
        flat = dgates.reshape(-1, G)
        if h_mask is not None:
            h_prev *= h_mask
        dW_hh = (flat.T @ h_prev.reshape(-1, H))[inv]
        db_hh = flat.sum(axis=0)[inv]
        norms = None if record is None else np.sqrt((record**2).sum(axis=(1, 2)))
        return dgates, dW_hh, db_hh, dh_next, dc_next, norms

    def _gates_for_history(self, cache) -> dict[str, np.ndarray]:
        gates, cs = cache[0], cache[1]
        T, N, G = gates.shape
        H = G // 4
        g4 = gates.reshape(T, N, 4, H).transpose(2, 1, 0, 3)  # (4, N, T, H), internal order o, i, f, g
        return {"i": g4[1].copy(), "f": g4[2].copy(), "g": g4[3].copy(), "o": g4[0].copy(),
                "c": cs.transpose(1, 0, 2).copy()}  # a copy: the work arrays are reused next call
