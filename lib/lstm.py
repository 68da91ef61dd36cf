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
from .recurrent import RecurrentLayer, backward_chunks, check_rng, check_size, chunk_steps


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
    ``history["gates"]`` holds i, f, g, o and the cell state c, each (N, T, H).

    Per (layer, direction) the forward pass keeps the gate activations (T, 4H, N), the cell and
    hidden states (T+1, H, N) each (the +1 is the initial state) and nothing else; backward turns
    the gate array into ∂L/∂(pre-activations) in place and frees it all. The arrays are
    feature-major — step t's gates are a (4H, N) block — so that every gate is a contiguous block
    and every per-step NumPy call works on contiguous memory. Internally the gates are in the order
    (o, i, f, g): one tanh call covers all four gates and two more turn the first three into
    sigmoids, σ(a) = ½·tanh(a/2) + ½, with their weight rows halved beforehand (exact).
    """

    gate_names = ("i", "f", "g", "o")
    has_cell = True
    _feature_major = True

    @staticmethod
    def _perm(H: int) -> np.ndarray:
        """Rows of PyTorch's (i, f, g, o) blocks in the internal (o, i, f, g) order."""
        return np.concatenate([np.arange(3 * H, 4 * H), np.arange(0, 2 * H), np.arange(2 * H, 3 * H)])

    def _scan(self, u, W_ih, b_ih, W_hh, b_hh, h0, c0, mask, reverse, h_mask, take):
        T, N, D = u.shape
        H = self.hidden_size
        G, H2, H3, dt = 4 * H, 2 * H, 3 * H, self.dtype
        perm = self._perm(H)
        half_rows = np.ones((G, 1), dt)  # σ(a) = ½·tanh(a/2) + ½: the o, i, f rows halved (exact)
        half_rows[:H3] = 0.5
        Wi, Wh = take((G, D)), take((G, H))  # private copies in the internal order, kept for backward
        np.take(W_ih, perm, axis=0, out=Wi)
        np.take(W_hh, perm, axis=0, out=Wh)
        Wi_half, Wh_half = take((G, D)), take((G, H))
        np.multiply(Wi, half_rows, Wi_half)
        np.multiply(Wh, half_rows, Wh_half)
        bias = (b_ih + b_hh)[perm][:, None] * half_rows
        gates = take((T, G, N))
        if N == 1:  # (T, G, 1) is (T, 1, G): one matrix product
            np.dot(u.reshape(T, D), Wi_half.T, gates.reshape(T, G))
        else:
            np.matmul(Wi_half, u.transpose(0, 2, 1), out=gates)
        gates += bias
        # cs_ext/hs_ext hold the initial state at the scan's start and step t's state next to it, so that
        # "the state before step t" is a contiguous slice too (no shifted copies in backward).
        cs_ext, hs_ext = take((T + 1, H, N)), take((T + 1, H, N))
        cs, hs = (cs_ext[:T], hs_ext[:T]) if reverse else (cs_ext[1:], hs_ext[1:])
        k0 = T if reverse else 0
        np.copyto(cs_ext[k0], c0.T)
        np.copyto(hs_ext[k0], h0.T)
        hm = None if h_mask is None else take((T, H, N))  # h_{t−1} ⊙ mask: what W_hh saw at step t
        m_h = None if h_mask is None else h_mask.T
        tmp, tc = np.empty((G, N), dt), np.empty((H, N), dt)
        half = np.array(0.5, dt)
        dot, add, mul, tanh = np.dot, np.add, np.multiply, np.tanh
        A_, S_ = list(gates), list(gates[:, :H3])
        O_, I_, F_, G_ = list(gates[:, :H]), list(gates[:, H:H2]), list(gates[:, H2:H3]), list(gates[:, H3:])
        C_, Hs_ = list(cs), list(hs)
        M_ = None if mask is None else list(mask.transpose(0, 2, 1))
        Hm_ = None if hm is None else list(hm)
        h, c = hs_ext[k0], cs_ext[k0]
        for t in (range(T - 1, -1, -1) if reverse else range(T)):
            a = A_[t]
            h_in = h
            if Hm_ is not None:
                h_in = Hm_[t]
                mul(h, m_h, h_in)
            dot(Wh_half, h_in, tmp)
            add(a, tmp, a)
            tanh(a, a)                       # o, i, f (at half their pre-activation) and g
            s = S_[t]
            mul(s, half, s)
            add(s, half, s)                  # o, i, f = σ(pre-activation)
            c_t, h_t = C_[t], Hs_[t]
            mul(F_[t], c, c_t)
            mul(I_[t], G_[t], tc)
            add(c_t, tc, c_t)
            tanh(c_t, tc)
            mul(O_[t], tc, h_t)
            if M_ is not None:  # padded steps keep the previous state
                m = M_[t]
                c_t -= c
                c_t *= m
                c_t += c
                h_t -= h
                h_t *= m
                h_t += h
            h, c = h_t, c_t
        cache = (gates, cs_ext, hs_ext, hm, u, Wi, Wh, h_mask, reverse)
        return hs.transpose(0, 2, 1), h.T.copy(), c.T.copy(), cache

    def _scan_backward(self, cache, dout, dhT, dcT, mask, du, take):
        gates, cs_ext, hs_ext, hm, u, Wi, Wh, h_mask, reverse = cache
        T, G, N = gates.shape
        H = G // 4
        D, dt = u.shape[2], self.dtype
        cs = cs_ext[:T] if reverse else cs_ext[1:]
        c_prev = cs_ext[1:] if reverse else cs_ext[:T]
        hp_all = (hs_ext[1:] if reverse else hs_ext[:T]) if hm is None else hm
        WhT = Wh.T  # ∂L/∂h_{t−1} = W_hhᵀ · ∂L/∂a_t; BLAS is a little faster with a C-ordered copy, which pays
        if T * N >= 512:  # for itself over enough steps
            WhT = take((H, G))
            np.copyto(WhT, Wh.T)
        m_h = None if h_mask is None else h_mask.T
        one = np.array(1.0, dt)
        dot, add, sub, mul, tanh = np.dot, np.add, np.subtract, np.multiply, np.tanh
        g4 = gates.reshape(T, 4, H, N)
        C = chunk_steps(T, N, H)
        TC, A, F, X, DO = (take((C, H, N)) for _ in range(5))
        maskT = None if mask is None else mask.transpose(0, 2, 1)  # (T, 1, N)
        Mc = None if mask is None else 1 - maskT
        if N != 1:  # batch-major copies of a chunk, for the weight gradients' matrix products
            DGs, HPs = take((C, N, G)), take((C, N, H))
            Us = None if u.flags.c_contiguous else take((C, N, D))
        dh, dc, tmp = np.empty((H, N), dt), np.empty((H, N), dt), np.empty((H, N), dt)
        dh_rec = np.zeros((H, N), dt) if dhT is None else dhT.T.copy()  # ∂L/∂h_t from step t+1 (or h_T)
        dc_next = np.zeros((H, N), dt) if dcT is None else dcT.T.copy()
        record = take((T, H, N)) if self.record else None
        dW_ih, dW_hh, db = np.zeros((G, D), dt), np.zeros((G, H), dt), np.zeros(G, dt)  # internal order
        rows, o_rows, ifg = list(gates), list(gates[:, :H]), list(g4[:, 1:])
        for start, end in backward_chunks(T, C, reverse):
            n = end - start
            o, i, f, g = g4[start:end, 0], g4[start:end, 1], g4[start:end, 2], g4[start:end, 3]
            tc, a, fc, x = TC[:n], A[:n], F[:n], X[:n]
            tanh(cs[start:end], tc)
            mul(tc, tc, a)
            sub(one, a, a)
            mul(a, o, a)                     # A = o (1 − tanh² c): dc_t = dh_t ⊙ A_t + dc_{t+1} ⊙ f_{t+1}
            np.copyto(fc, f)
            sub(one, i, x)
            mul(x, i, x)
            mul(x, g, x)                     # K_i = g σ'(i), in x until i is no longer needed
            mul(g, g, g)
            sub(one, g, g)
            mul(g, i, g)                     # K_g = i (1 − g²)
            np.copyto(i, x)
            sub(one, f, x)
            mul(x, f, x)
            mul(x, c_prev[start:end], f)     # K_f = c_{t−1} σ'(f)
            sub(one, o, x)
            mul(x, o, x)
            mul(x, tc, o)                    # K_o = tanh(c) σ'(o)
            src = DO[:n]
            if mask is None:
                np.copyto(src, dout[start:end].transpose(0, 2, 1))
            else:
                mk = maskT[start:end]
                mul(dout[start:end].transpose(0, 2, 1), mk, src)
                g4[start:end] *= mk[:, None]
                a *= mk
                fc *= mk
                fc += Mc[start:end]          # padded steps pass dc through unchanged
            S_, A_, F_ = list(src), list(a), list(fc)
            for k in (range(n) if reverse else range(n - 1, -1, -1)):
                t = start + k
                d_h = dh if record is None else record[t]
                add(S_[k], dh_rec, d_h)
                mul(d_h, A_[k], dc)
                add(dc, dc_next, dc)
                o_t = o_rows[t]
                mul(o_t, d_h, o_t)            # ∂L/∂o_pre = K_o dh
                mul(ifg[t], dc, ifg[t])       # ∂L/∂(i, f, g)_pre = K dc
                mul(dc, F_[k], dc_next)
                dot(WhT, rows[t], dh_rec)
                if m_h is not None:
                    mul(dh_rec, m_h, dh_rec)
                if mask is not None:          # padded steps pass dh through unchanged
                    mul(d_h, Mc[t], tmp)
                    add(dh_rec, tmp, dh_rec)
            # this chunk's share of the weight gradients, from batch-major (steps·N, ·) matrices
            if N == 1:
                dG2, hp2 = gates[start:end].reshape(n, G), hp_all[start:end].reshape(n, H)
            else:
                dG2, hp2 = DGs[:n], HPs[:n]
                np.copyto(dG2, gates[start:end].transpose(0, 2, 1))
                np.copyto(hp2, hp_all[start:end].transpose(0, 2, 1))
                dG2, hp2 = dG2.reshape(n * N, G), hp2.reshape(n * N, H)
            if N == 1 or Us is None:
                u2 = u[start:end].reshape(n * N, D)
            else:
                u2 = Us[:n]
                np.copyto(u2, u[start:end])
                u2 = u2.reshape(n * N, D)
            dW_hh += dot(dG2.T, hp2)
            dW_ih += dot(dG2.T, u2)
            db += dG2.sum(axis=0)
            dot(dG2, Wi, du[start:end].reshape(n * N, D))
        inv = np.argsort(self._perm(H))
        norms = None if record is None else np.sqrt(np.einsum("tij,tij->t", record, record))
        return dW_ih[inv], db[inv], dW_hh[inv], db[inv], dh_rec.T.copy(), dc_next.T.copy(), norms

    def _gates_for_history(self, cache) -> dict[str, np.ndarray]:
        gates, cs_ext, reverse = cache[0], cache[1], cache[-1]
        T, G, N = gates.shape
        H = G // 4
        cs = cs_ext[:T] if reverse else cs_ext[1:]
        g4 = gates.reshape(T, 4, H, N).transpose(1, 3, 0, 2)  # (4, N, T, H), internal order o, i, f, g
        return {"i": g4[1].copy(), "f": g4[2].copy(), "g": g4[3].copy(), "o": g4[0].copy(),
                "c": cs.transpose(2, 0, 1).copy()}
