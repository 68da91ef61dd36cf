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


def _carve(take, shapes):
    """Views of one pool array, one per shape (each starting at a multiple of 16 elements): one borrow
    instead of several."""
    sizes = [math.prod(s) for s in shapes]
    ends = [-(-k // 16) * 16 for k in sizes]
    flat = take((sum(ends),))
    out, at = [], 0
    for shape, size, step in zip(shapes, sizes, ends, strict=True):
        out.append(flat[at:at + size].reshape(shape))
        at += step
    return out


class LSTM(RecurrentLayer):
    """A multi-layer, optionally bidirectional LSTM over whole sequences (see :mod:`lib.recurrent`).

    ``forward(x, state=None, lengths=None) -> (outputs, (h_n, c_n))``;
    ``backward(doutputs, dstate=None) -> dx`` where ``dstate`` is ``(dh_n, dc_n)`` or None.
    ``history["gates"]`` holds i, f, g, o and the cell state c, each (N, T, H).

    Per (layer, direction) the forward pass keeps the gate activations and cell states in one array
    (T+1, 5H, N), the hidden states (T+1, H, N) (the +1 is the initial state) and nothing else;
    backward turns the gate rows into ∂L/∂(pre-activations) in place and frees it all. The arrays are
    feature-major — step t's block is (5H, N) — so that every gate is a contiguous block and every
    per-step NumPy call works on contiguous memory. Internally a step's block is (o, i, f, g, c_{t−1}):
    one tanh call covers all four gates and two more turn the first three into sigmoids,
    σ(a) = ½·tanh(a/2) + ½, with their weight rows halved beforehand (exact); (i, f) and (g, c_{t−1})
    are neighbours, so that c_t = i ⊙ g + f ⊙ c_{t−1} is one multiplication of the two pairs and one addition.
    """

    gate_names = ("i", "f", "g", "o")
    has_cell = True
    _feature_major = True
    _rows: dict[int, np.ndarray] = {}

    @classmethod
    def _torch_rows(cls, H: int) -> np.ndarray:
        """For each row of PyTorch's (i, f, g, o) blocks, its row in the internal (o, i, f, g) order."""
        rows = cls._rows.get(H)
        if rows is None:
            rows = cls._rows[H] = np.concatenate([np.arange(H, 4 * H), np.arange(0, H)])
        return rows

    def _scan(self, u, W_ih, b_ih, W_hh, b_hh, h0, c0, mask, reverse, h_mask, take):
        T, N, D = u.shape
        H = self.hidden_size
        G, H2, H3, dt = 4 * H, 2 * H, 3 * H, self.dtype
        # Wi, Wh: private copies in the internal order, kept for backward; the halved ones are for this pass.
        # Z[k] is a (5H, N) block (o, i, f, g, c): the gates of step k (k + 1 for a reverse scan) and, in
        # its last H rows, the cell state before that step; Z[T] (Z[0]) holds only the last cell state.
        Wi, Wh, Z, hs_ext = _carve(take, [(G, D), (G, H), (T + 1, 5 * H, N), (T + 1, H, N)])
        Wi_half, Wh_half = _carve(take, [(G, D), (G, H)])
        half = np.array(0.5, dt)  # σ(a) = ½·tanh(a/2) + ½: the o, i, f rows halved (exact)
        for src, W, W_half in ((W_ih, Wi, Wi_half), (W_hh, Wh, Wh_half)):
            np.copyto(W[:H], src[H3:])   # PyTorch's (i, f, g, o) rows in the internal order (o, i, f, g)
            np.copyto(W[H:], src[:H3])
            np.multiply(W[:H3], half, W_half[:H3])
            np.copyto(W_half[H3:], W[H3:])
        b = b_ih + b_hh
        bias = np.empty((G, N), dt)  # (G, N), not (G, 1): adding it to (T, G, N) is then one contiguous run per step
        np.multiply(b[H3:, None], half, bias[:H])
        np.multiply(b[:H2, None], half, bias[H:H3])
        np.copyto(bias[H3:], b[H2:H3, None])
        r = 1 if reverse else 0
        gates = Z[r:r + T, :G]  # (T, 4H, N): step t's pre-activations, then its gates
        if N == 1:  # (T, G, 1) is (T, 1, G): one matrix product
            np.matmul(u.reshape(T, D), Wi_half.T, out=gates.reshape(T, G))
        else:
            np.matmul(Wi_half, u.transpose(0, 2, 1), out=gates)
        gates += bias
        # cs_ext/hs_ext hold the initial state at the scan's start and step t's state next to it, so that
        # "the state before step t" is a slice too (no shifted copies in backward); cs_ext[t + r] is in step t's block.
        cs_ext = Z[:, G:]
        cs, hs = (cs_ext[:T], hs_ext[:T]) if reverse else (cs_ext[1:], hs_ext[1:])
        k0 = T if reverse else 0
        np.copyto(cs_ext[k0], c0.T)
        np.copyto(hs_ext[k0], h0.T)
        hm = None if h_mask is None else take((T, H, N))  # h_{t−1} ⊙ mask: what W_hh saw at step t
        m_h = None if h_mask is None else h_mask.T
        tmp, prod, tc = np.empty((G, N), dt), np.empty((2 * H, N), dt), np.empty((H, N), dt)
        ig, fc = prod[:H], prod[H:]
        add, mul, tanh = np.add, np.multiply, np.tanh
        w_dot = Wh_half.dot  # the bound method: np.dot's dispatch costs ~0.15 µs a call
        def steps(a):  # a's per-step views in scan order, made once
            return list(a[::-1] if reverse else a)

        # per step: the gates, o/i/f, the pairs (i, f) and (g, c_{t−1}), c_t, o, h_t
        per_step = zip(steps(gates), steps(gates[:, :H3]), steps(Z[r:r + T, H:H3]), steps(Z[r:r + T, H3:]),
                       steps(cs), steps(gates[:, :H]), steps(hs), strict=True)
        M_ = None if mask is None else steps(mask.transpose(0, 2, 1))
        Hm_ = None if hm is None else steps(hm)
        h, c = hs_ext[k0], cs_ext[k0]
        for k, (a, s, i_f, g_c, c_t, o, h_t) in enumerate(per_step):
            h_in = h
            if Hm_ is not None:
                h_in = Hm_[k]
                mul(h, m_h, h_in)
            w_dot(h_in, tmp)                 # W_hh h_{t−1} (o, i, f rows halved)
            add(a, tmp, a)
            tanh(a, a)                       # o, i, f (at half their pre-activation) and g
            mul(s, half, s)
            add(s, half, s)                  # o, i, f = σ(pre-activation)
            mul(i_f, g_c, prod)              # i ⊙ g, f ⊙ c_{t−1}
            add(ig, fc, c_t)
            tanh(c_t, tc)
            mul(o, tc, h_t)
            if M_ is not None:  # padded steps keep the previous state
                m = M_[k]
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
        C = chunk_steps(T, N, H)
        # work arrays, from one pool array: batch-major copies of a chunk for the weight gradients' matrix
        # products, ∂L/∂a (steps, N, 4H) and [h_{t−1}, u_t, 1] (steps, N, H + D + 1); W_hhᵀ C-ordered (BLAS is
        # a little faster so, which pays for itself over enough steps); ∂L/∂h_t for the record. The chunk's
        # tanh(c), ∂L/∂h from the outputs (scratch before that) and the pair (o (1 − tanh² c) of step t,
        # f of the step after t) live in the memory of the ∂L/∂a copy, which is filled only after them.
        copy_WhT = T * N >= 512
        shapes = {"DGs": (C, N, G), "HU": (C, N, H + D + 1)}
        if copy_WhT:
            shapes["WhT"] = (H, G)
        if self.record:
            shapes["record"] = (T, H, N)
        work = dict(zip(shapes, _carve(take, list(shapes.values())), strict=True))
        DGs, HU = work["DGs"], work["HU"]
        CHN = C * H * N
        TC, DO, AF = (DGs.reshape(-1)[k * CHN:(k + m) * CHN].reshape(shape)
                      for k, m, shape in ((0, 1, (C, H, N)), (1, 1, (C, H, N)), (2, 2, (C, 2, H, N))))
        WhT = Wh.T  # ∂L/∂h_{t−1} = W_hhᵀ · ∂L/∂a_t
        if copy_WhT:
            WhT = work["WhT"]
            np.copyto(WhT, Wh.T)
        record = work.get("record")
        w_dot = WhT.dot  # the bound method: np.dot's dispatch costs ~0.15 µs a call
        HU[:, :, H + D] = 1  # the bias gradient is the last column of the product
        dW = np.zeros((G, H + D + 1), dt)  # internal row order: [∂W_hh, ∂W_ih, ∂b]
        m_h = None if h_mask is None else h_mask.T
        one = np.array(1.0, dt)
        dot, add, sub, mul, tanh = np.dot, np.add, np.subtract, np.multiply, np.tanh
        g4 = gates.reshape(T, 4, H, N)
        maskT = None if mask is None else mask.transpose(0, 2, 1)  # (T, 1, N)
        Mc = None if mask is None else 1 - maskT
        tmp = None if mask is None else np.empty((H, N), dt)
        # Q = (∂L/∂h_t, ∂L/∂c_t three times), (4H, N): ∂L/∂(o, i, f, g) = K ⊙ Q is then one contiguous
        # multiplication; its dc rows hold ∂L/∂c of step t+1 (or c_T) until step t has made its own from it.
        Q, P = np.empty((G, N), dt), np.empty((2 * H, N), dt)
        dh, dc, Q01, Q123 = Q[:H], Q[H:2 * H], Q[:2 * H], Q[H:].reshape(3, H, N)
        P0, P1 = P[:H], P[H:]
        if dcT is None:
            dc.fill(0)
        else:
            np.copyto(dc, dcT.T)
        dh_rec = np.zeros((H, N), dt) if dhT is None else dhT.T.copy()  # ∂L/∂h_t from step t+1 (or h_T)
        carry = np.ones((H, N), dt)  # f of the step after the chunk in scan order (1 after the last step)
        rows = list(gates)
        for start, end in backward_chunks(T, C, reverse):
            n = end - start
            o, i, f, g = g4[start:end, 0], g4[start:end, 1], g4[start:end, 2], g4[start:end, 3]
            tc, x, af = TC[:n], DO[:n], AF[:n]  # x: scratch, until DO gets ∂L/∂h from the outputs
            a, f_next = af[:, 0], af[:, 1]
            tanh(cs[start:end], tc)
            mul(tc, tc, a)
            sub(one, a, a)
            mul(a, o, a)                     # A_t = o (1 − tanh² c): dc_t = dh_t ⊙ A_t + dc_{t+1} ⊙ f_{t+1}
            fs = f
            if mask is not None:             # padded steps pass dc through unchanged
                mul(f, maskT[start:end], x)
                add(x, Mc[start:end], x)
                fs = x
            if reverse:                      # the step after t in scan order is t − 1
                np.copyto(f_next[1:], fs[:n - 1])
                np.copyto(f_next[0], carry)
                np.copyto(carry, fs[n - 1])
            else:
                np.copyto(f_next[:n - 1], fs[1:])
                np.copyto(f_next[n - 1], carry)
                np.copyto(carry, fs[0])
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
            S_, AF_ = list(src), list(af.reshape(n, 2 * H, N))
            for k in (range(n) if reverse else range(n - 1, -1, -1)):
                t = start + k
                add(S_[k], dh_rec, dh)
                mul(Q01, AF_[k], P)           # dh_t ⊙ A_t, dc_{t+1} ⊙ f_{t+1}
                add(P0, P1, Q123)             # dc_t, three times (broadcast)
                mul(rows[t], Q, rows[t])      # ∂L/∂(o, i, f, g)_pre = K ⊙ (dh, dc, dc, dc)
                w_dot(rows[t], dh_rec)        # ∂L/∂h_{t−1} from step t: W_hhᵀ ∂L/∂a_t
                if record is not None:
                    np.copyto(record[t], dh)
                if m_h is not None:
                    mul(dh_rec, m_h, dh_rec)
                if mask is not None:          # padded steps pass dh through unchanged
                    mul(dh, Mc[t], tmp)
                    add(dh_rec, tmp, dh_rec)
            # this chunk's share of the weight gradients: one product of batch-major (steps·N, ·) matrices
            dG2, hu = DGs[:n], HU[:n]
            np.copyto(dG2, gates[start:end].transpose(0, 2, 1))
            np.copyto(hu[:, :, :H], hp_all[start:end].transpose(0, 2, 1))
            np.copyto(hu[:, :, H:H + D], u[start:end])
            dG2 = dG2.reshape(n * N, G)
            dW += dot(dG2.T, hu.reshape(n * N, H + D + 1))
            dot(dG2, Wi, du[start:end].reshape(n * N, D))
        mul(dc, carry, dc)                   # ∂L/∂c before the first step: dc ⊙ f of that step
        inv = self._torch_rows(H)
        norms = None if record is None else np.sqrt(np.einsum("tij,tij->t", record, record))
        return (dW[inv, H:H + D], dW[inv, H + D], dW[inv, :H], dW[inv, H + D], dh_rec.T.copy(), dc.T.copy(),
                norms)

    def _gates_for_history(self, cache) -> dict[str, np.ndarray]:
        gates, cs_ext, reverse = cache[0], cache[1], cache[-1]
        T, G, N = gates.shape
        H = G // 4
        cs = cs_ext[:T] if reverse else cs_ext[1:]
        g4 = gates.reshape(T, 4, H, N).transpose(1, 3, 0, 2)  # (4, N, T, H), internal order o, i, f, g
        return {"i": g4[1].copy(), "f": g4[2].copy(), "g": g4[3].copy(), "o": g4[0].copy(),
                "c": cs.transpose(2, 0, 1).copy()}
