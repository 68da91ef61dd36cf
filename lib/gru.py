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
from .recurrent import RecurrentLayer, backward_chunks, check_rng, check_size, chunk_steps


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

    Per (layer, direction) the forward pass keeps r, z, n (T, N, 3H), W_hn·h_{t−1} + b_hn (T, N, H)
    and the hidden states (T+1, N, H, with the initial state) — the same as PyTorch's GRU workspace;
    backward overwrites them with gradients and frees them. The sigmoids are computed as
    σ(a) = ½·tanh(a/2) + ½ with the r and z weight rows halved beforehand (exact).
    """

    gate_names = ("r", "z", "n")

    def _scan(self, u, W_ih, b_ih, W_hh, b_hh, h0, c0, mask, reverse, h_mask, take):
        T, N, D = u.shape
        H = self.hidden_size
        G, H2, dt = 3 * H, 2 * H, self.dtype
        half_rows = np.ones(G, dt)  # σ(a) = ½·tanh(a/2) + ½: the r, z rows halved (exact)
        half_rows[:H2] = 0.5
        Wi, Wh = take((G, D)), take((G, H))  # private copies, kept for backward
        np.copyto(Wi, W_ih)
        np.copyto(Wh, W_hh)
        WiT_half, WhT_half = take((D, G)), take((H, G))  # transposed and C-ordered: BLAS is faster so
        np.multiply(Wi.T, half_rows, WiT_half)
        np.multiply(Wh.T, half_rows, WhT_half)
        bias = b_ih.copy()
        bias[:H2] += b_hh[:H2]  # b_hr, b_hz sit outside the reset product, b_hn inside it
        bias *= half_rows
        b_hn = b_hh[H2:].copy()
        gates = take((T, N, G))  # x W_ihᵀ + b, then r, z, n in place
        np.dot(u.reshape(T * N, D), WiT_half, gates.reshape(T * N, G))
        gates += bias
        hn_all = take((T, N, H))  # W_hn h_{t−1} + b_hn
        hs_ext = take((T + 1, N, H))  # the initial state next to the first step's (see LSTM._scan)
        hs = hs_ext[:T] if reverse else hs_ext[1:]
        k0 = T if reverse else 0
        hs_ext[k0] = h0
        hm = None if h_mask is None else take((T, N, H))
        gh, tmp = np.empty((N, G), dt), np.empty((N, H), dt)
        gh_rz, gh_n = gh[:, :H2], gh[:, H2:]
        half = np.array(0.5, dt)
        dot, add, sub, mul, tanh = np.dot, np.add, np.subtract, np.multiply, np.tanh
        WhT = WhT_half
        RZ_, R_, Z_, N_ = (list(gates[:, :, :H2]), list(gates[:, :, :H]), list(gates[:, :, H:H2]),
                           list(gates[:, :, H2:]))
        HN_, Hs_ = list(hn_all), list(hs)
        M_ = None if mask is None else list(mask)
        Hm_ = None if hm is None else list(hm)
        h = hs_ext[k0]
        for t in (range(T - 1, -1, -1) if reverse else range(T)):
            h_in = h
            if Hm_ is not None:
                h_in = Hm_[t]
                mul(h, h_mask, h_in)
            dot(h_in, WhT, gh)
            rz = RZ_[t]
            add(rz, gh_rz, rz)
            tanh(rz, rz)
            mul(rz, half, rz)
            add(rz, half, rz)               # r, z
            hn = HN_[t]
            add(gh_n, b_hn, hn)
            n = N_[t]
            mul(R_[t], hn, tmp)
            add(n, tmp, n)
            tanh(n, n)                      # n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))
            h_t = Hs_[t]
            sub(h, n, h_t)
            mul(h_t, Z_[t], h_t)
            add(h_t, n, h_t)                # h' = n + z ⊙ (h − n)
            if M_ is not None:
                m = M_[t]
                h_t -= h
                h_t *= m
                h_t += h
            h = h_t
        return hs, h.copy(), None, (gates, hn_all, hs_ext, hm, u, Wi, Wh, h_mask, reverse)

    def _scan_backward(self, cache, dout, dhT, dcT, mask, du, take):
        gates, hn_all, hs_ext, hm, u, Wi, Wh, h_mask, reverse = cache
        T, N, G = gates.shape
        H = G // 3
        dt = self.dtype
        h_prev = hs_ext[1:] if reverse else hs_ext[:T]
        one = np.array(1.0, dt)
        dot, add, sub, mul = np.dot, np.add, np.subtract, np.multiply
        g3 = gates.reshape(T, N, 3, H)
        C = chunk_steps(T, N, H)
        X, Y, W, Zb, DH = (take((C, N, H)) for _ in range(5))
        DO = None if mask is None else take((C, N, H))
        Mc = None if mask is None else 1 - mask
        dnext = np.zeros((N, H), dt) if dhT is None else dhT.copy()  # ∂L/∂h_t from the future
        dh_rec = np.empty((N, H), dt)
        record = take((T, N, H)) if self.record else None
        rows, rows3 = list(gates), list(g3)
        for start, end in backward_chunks(T, C, reverse):
            n_ = end - start
            r, z, n, hn = g3[start:end, :, 0], g3[start:end, :, 1], g3[start:end, :, 2], hn_all[start:end]
            x, y, w, zb = X[:n_], Y[:n_], W[:n_], Zb[:n_]
            dhc = DH[:n_] if record is None else record[start:end]
            mul(n, n, x)
            sub(one, x, x)
            sub(one, z, y)
            mul(x, y, x)                    # Kn = (1 − z)(1 − n²) = ∂h'/∂n_pre
            mul(y, z, y)
            sub(h_prev[start:end], n, w)
            mul(y, w, y)                    # K_z = (h − n) σ'(z)
            np.copyto(zb, z)
            np.copyto(z, y)
            sub(one, r, y)
            mul(y, r, y)
            mul(y, hn, y)
            mul(y, x, y)                    # K_r = Kn (W_hn h + b_hn) σ'(r)
            mul(x, r, n)                    # K_hn = Kn r
            np.copyto(r, y)
            np.copyto(hn, x)                # Kn, for ∂L/∂n_pre = Kn dh after the loop
            src = dout[start:end]
            if mask is not None:
                mk = mask[start:end]
                g3[start:end] *= mk[:, :, :, None]
                hn *= mk
                zb *= mk
                zb += Mc[start:end]         # padded steps pass dh through unchanged
                src = DO[:n_]
                mul(dout[start:end], mk, src)
            S_, D_, Db_, Z_ = list(src), list(dhc), list(dhc[:, :, None, :]), list(zb)
            for k in (range(n_) if reverse else range(n_ - 1, -1, -1)):
                t = start + k
                d_h = D_[k]
                add(S_[k], dnext, d_h)
                mul(rows3[t], Db_[k], rows3[t])  # [∂r_pre, ∂z_pre, ∂(W_hn h + b_hn)]
                mul(d_h, Z_[k], dnext)
                dot(rows[t], Wh, dh_rec)
                if h_mask is not None:
                    mul(dh_rec, h_mask, dh_rec)
                add(dnext, dh_rec, dnext)
            mul(hn, dhc, hn)                # ∂L/∂n_pre
        # gates holds [∂r_pre, ∂z_pre, ∂(W_hn h + b_hn)] = ∂L/∂(W_hh h + b_hh); hn_all holds ∂L/∂n_pre.
        dG = gates.reshape(T * N, G)
        hp = (h_prev if hm is None else hm).reshape(T * N, H)
        u2 = u.reshape(T * N, u.shape[2])
        dW_hh = dot(dG.T, hp)
        db_hh = dG.sum(axis=0)
        np.copyto(g3[:, :, 2], hn_all)  # now ∂L/∂(W_ih x + b_ih) = [∂r_pre, ∂z_pre, ∂n_pre]
        dW_ih = dot(dG.T, u2)
        db_ih = dG.sum(axis=0)
        dot(dG, Wi, du.reshape(T * N, u.shape[2]))
        norms = None if record is None else np.sqrt(np.einsum("tnh,tnh->t", record, record))
        return dW_ih, db_ih, dW_hh, db_hh, dnext, None, norms

    def _gates_for_history(self, cache) -> dict[str, np.ndarray]:
        gates = cache[0]
        H = self.hidden_size
        # copies: backward turns these arrays into gradients
        return {"r": gates[:, :, :H].transpose(1, 0, 2).copy(), "z": gates[:, :, H:2 * H].transpose(1, 0, 2).copy(),
                "n": gates[:, :, 2 * H:].transpose(1, 0, 2).copy()}
