"""Gated recurrent unit (Cho et al. 2014), in PyTorch's (and cuDNN's) formulation.

With gate order (r, z, n)::

    r = σ(W_ir x + b_ir + W_hr h + b_hr)          reset gate
    z = σ(W_iz x + b_iz + W_hz h + b_hz)          update gate
    n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))  candidate (b_hn inside the reset product)
    h' = (1 − z) ⊙ n + z ⊙ h
"""

from __future__ import annotations

import math

import numpy as np

from ._checks import check_array
from .lstm import sigmoid_
from .module import Module
from .recurrent import RecurrentLayer, check_rng, check_size


class GRUCell(Module):
    """One GRU step, to run by hand. Parameters as ``torch.nn.GRUCell``.

    params: ``weight_ih`` (3H, D), ``weight_hh`` (3H, H), ``bias_ih`` (3H,), ``bias_hh`` (3H,)
    forward: x (N, D), h (N, H) or None (zeros) -> h' (N, H)
    backward: dh (N, H), ∂L/∂h' -> (dx (N, D), dh_prev (N, H)); fills ``grads``.
    ``cache`` holds (x, h, r, z, n, W_hn·h + b_hn) of the last forward, each (N, ·) (copies of the
    caller's x and h).
    """

    def __init__(self, input_size: int, hidden_size: int, dtype=np.float64,
                 rng: np.random.Generator | None = None) -> None:
        super().__init__(dtype)
        self.input_size = check_size(input_size, "input_size", "GRUCell")
        self.hidden_size = check_size(hidden_size, "hidden_size", "GRUCell")
        rng = check_rng(rng, "GRUCell")
        bound, H = 1.0 / math.sqrt(self.hidden_size), self.hidden_size
        for name, shape in (("weight_ih", (3 * H, self.input_size)), ("weight_hh", (3 * H, H)),
                            ("bias_ih", (3 * H,)), ("bias_hh", (3 * H,))):
            self.params[name] = rng.uniform(-bound, bound, size=shape).astype(self.dtype)
        self.zero_grad()
        self.cache: tuple | None = None

    def forward(self, x: np.ndarray, h: np.ndarray | None = None) -> np.ndarray:
        """x: (N, D), h: (N, H) or None -> h' (N, H)."""
        check_array(x, "GRUCell", shape=("batch", self.input_size), dtype=self.dtype)
        N, H = x.shape[0], self.hidden_size
        if h is None:
            h = np.zeros((N, H), self.dtype)
        check_array(h, "GRUCell state h", shape=(N, H), dtype=self.dtype)
        p = self.params
        gx = x @ p["weight_ih"].T + p["bias_ih"]
        gh = h @ p["weight_hh"].T + p["bias_hh"]
        r = sigmoid_(gx[:, :H] + gh[:, :H])
        z = sigmoid_(gx[:, H:2 * H] + gh[:, H:2 * H])
        hn = gh[:, 2 * H:]
        n = np.tanh(gx[:, 2 * H:] + r * hn)
        self.cache = (x.copy(), h.copy(), r, z, n, hn)
        return (1 - z) * n + z * h

    def backward(self, dh: np.ndarray):
        """dh: (N, H) -> (dx (N, D), dh_prev (N, H))."""
        if self.cache is None:
            raise RuntimeError("GRUCell.backward called before forward")
        x, h, r, z, n, hn = self.cache
        check_array(dh, "GRUCell.backward dh", shape=h.shape, dtype=self.dtype)
        dn = dh * (1 - z) * (1 - n * n)
        dr = dn * hn * r * (1 - r)
        dz = dh * (h - n) * z * (1 - z)
        dgx = np.concatenate([dr, dz, dn], axis=1)
        dgh = np.concatenate([dr, dz, dn * r], axis=1)
        p = self.params
        self.grads["weight_ih"] = dgx.T @ x
        self.grads["weight_hh"] = dgh.T @ h
        self.grads["bias_ih"] = dgx.sum(axis=0)
        self.grads["bias_hh"] = dgh.sum(axis=0)
        return dgx @ p["weight_ih"], dh * z + dgh @ p["weight_hh"]

    def __repr__(self) -> str:
        return f"GRUCell({self.input_size}, {self.hidden_size}, dtype={self.dtype})"


class GRU(RecurrentLayer):
    """A multi-layer, optionally bidirectional GRU over whole sequences (see :mod:`lib.recurrent`).

    ``forward(x, state=None, lengths=None) -> (outputs, h_n)``; ``backward(doutputs, dstate=None) -> dx``.
    ``history["gates"]`` holds r, z and n, each (N, T, H).
    """

    gate_names = ("r", "z", "n")

    def _scan(self, xw, W_hh, b_hh, h0, c0, mask, reverse, h_mask):
        T, N, G = xw.shape
        H = G // 3
        W_T = np.ascontiguousarray(W_hh.T)  # (H, 3H)
        rz = self._buffer("rz", (T, N, 2 * H), xw.dtype)
        ns = self._buffer("n", (T, N, H), xw.dtype)
        hns = self._buffer("hn", (T, N, H), xw.dtype)
        hs = self._buffer("h", (T, N, H), xw.dtype)
        gh = np.empty((N, G), dtype=xw.dtype)
        h = h0
        for t in (range(T - 1, -1, -1) if reverse else range(T)):
            np.matmul(h if h_mask is None else h * h_mask, W_T, out=gh)
            gh += b_hh
            a = rz[t]
            np.add(xw[t, :, :2 * H], gh[:, :2 * H], out=a)
            sigmoid_(a)
            r, z = a[:, :H], a[:, H:]
            hns[t] = gh[:, 2 * H:]
            n = ns[t]
            np.multiply(r, hns[t], out=n)
            n += xw[t, :, 2 * H:]
            np.tanh(n, out=n)
            h_t = hs[t]
            np.subtract(h, n, out=h_t)  # h' = n + z ⊙ (h − n)
            h_t *= z
            h_t += n
            if mask is not None:
                h_t -= h
                h_t *= mask[t]
                h_t += h
            h = h_t
        return hs, h, None, (rz, ns, hns, hs, h0, W_T, h_mask)

    def _scan_backward(self, cache, dout, dhT, dcT, mask, reverse):
        rz, ns, hns, hs, h0, W_T, h_mask = cache
        T, N, H = ns.shape
        r, z = rz[:, :, :H], rz[:, :, H:]
        h_prev = self._previous("h_prev", hs, h0, reverse)
        # dG = dh ⊙ K, with K = [∂/∂r_pre, ∂/∂z_pre, ∂/∂(W_hn h + b_hn), ∂/∂n_pre] for all steps.
        K = self._buffer("K", (T, N, 4, H), ns.dtype)
        Kn = (1 - z) * (1 - ns * ns)
        K[:, :, 0] = Kn * hns * r * (1 - r)
        K[:, :, 1] = (h_prev - ns) * z * (1 - z)
        K[:, :, 2] = Kn * r
        K[:, :, 3] = Kn
        Z = z
        if mask is not None:
            K *= mask[:, :, :, None]
            Z = z * mask + (1 - mask)
        W = np.ascontiguousarray(W_T.T)  # (3H, H)
        dG = self._buffer("dG", (T, N, 4, H), ns.dtype)
        dh_next = np.zeros((N, H), ns.dtype) if dhT is None else dhT.copy()
        record = np.empty((T, N, H), ns.dtype) if self.record else None
        for t in (range(T) if reverse else range(T - 1, -1, -1)):
            dh = dout[t] + dh_next
            if record is not None:
                record[t] = dh
            np.multiply(K[t], dh[:, None, :], out=dG[t])
            dh_rec = dG[t, :, :3].reshape(N, 3 * H) @ W
            if h_mask is not None:
                dh_rec *= h_mask
            dh_next = dh * Z[t]
            dh_next += dh_rec
        dgh = dG[:, :, :3].reshape(T * N, 3 * H)
        if h_mask is not None:  # W_hh saw the masked state; the interpolation (K's z block) the plain one
            h_prev *= h_mask
        dxw = dG[:, :, [0, 1, 3]].reshape(T, N, 3 * H)
        norms = None if record is None else np.sqrt((record**2).sum(axis=(1, 2)))
        return dxw, dgh.T @ h_prev.reshape(-1, H), dgh.sum(axis=0), dh_next, None, norms

    def _gates_for_history(self, cache) -> dict[str, np.ndarray]:
        rz, ns = cache[0], cache[1]
        H = ns.shape[2]
        # copies: the scan's work arrays are reused by the next call
        return {"r": rz[:, :, :H].transpose(1, 0, 2).copy(), "z": rz[:, :, H:].transpose(1, 0, 2).copy(),
                "n": ns.transpose(1, 0, 2).copy()}
