"""Attention: scaled dot-product (Vaswani et al. 2017), multi-head, and additive (Bahdanau et al. 2015).

Masks are boolean arrays where **True means "may attend"** (a real key); False
positions get exactly zero weight. (PyTorch's ``attn_mask`` uses the opposite
convention for booleans: pass ``~mask`` there.) A query whose every key is masked
is an error, not a silent NaN.
"""

from __future__ import annotations

import math

import numpy as np

from ._checks import check_array
from .module import Module


def _masked_softmax(scores: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
    """Softmax over the last axis; masked (False) positions get weight 0."""
    if mask is not None:
        mask = np.broadcast_to(mask, scores.shape)
        if not mask.any(axis=-1).all():
            raise ValueError("attention mask leaves a query with no key to attend to")
        scores = np.where(mask, scores, -np.inf)
    shifted = scores - scores.max(axis=-1, keepdims=True)
    e = np.exp(shifted)
    return e / e.sum(axis=-1, keepdims=True)


def _softmax_backward(weights: np.ndarray, dweights: np.ndarray) -> np.ndarray:
    """Jacobian-vector product of the softmax: dscores = w ⊙ (dw − Σ dw ⊙ w)."""
    return weights * (dweights - (dweights * weights).sum(axis=-1, keepdims=True))


class ScaledDotProductAttention(Module):
    """``softmax(Q Kᵀ / √d) V`` with an optional mask; no parameters.

    q: (..., Lq, d), k: (..., Lk, d), v: (..., Lk, dv), mask broadcastable to (..., Lq, Lk)
    forward -> (output (..., Lq, dv), weights (..., Lq, Lk)); backward(dout) -> (dq, dk, dv).
    """

    def forward(self, q: np.ndarray, k: np.ndarray, v: np.ndarray, mask: np.ndarray | None = None):
        for name, a in (("query", q), ("key", k), ("value", v)):
            check_array(a, f"ScaledDotProductAttention {name}")
        if q.shape[-1] != k.shape[-1] or k.shape[:-1] != v.shape[:-1]:
            raise ValueError(f"ScaledDotProductAttention expected q (..., Lq, d), k (..., Lk, d), v (..., Lk, dv); "
                             f"got {q.shape}, {k.shape}, {v.shape}")
        scale = 1.0 / math.sqrt(q.shape[-1])
        weights = _masked_softmax((q @ np.swapaxes(k, -1, -2)) * scale, mask)
        self.cache = (q, k, v, weights, scale)
        return weights @ v, weights

    def backward(self, dout: np.ndarray):
        q, k, v, weights, scale = self.cache
        dv = np.swapaxes(weights, -1, -2) @ dout
        dscores = _softmax_backward(weights, dout @ np.swapaxes(v, -1, -2)) * scale
        return dscores @ k, np.swapaxes(dscores, -1, -2) @ q, dv


def scaled_dot_product_attention(q, k, v, mask=None):
    """Functional form: ``(output, weights)`` of :class:`ScaledDotProductAttention`."""
    return ScaledDotProductAttention().forward(q, k, v, mask)


class MultiHeadAttention(Module):
    """Multi-head attention with parameters keyed like ``torch.nn.MultiheadAttention``.

    params: ``in_proj_weight`` (3E, E), ``in_proj_bias`` (3E,), ``out_proj.weight`` (E, E),
    ``out_proj.bias`` (E,). Batch first.

    forward(query (N, Lq, E), key (N, Lk, E), value (N, Lk, E), mask=None)
        -> (output (N, Lq, E), weights (N, heads, Lq, Lk)) — per head; PyTorch's default
        ``average_attn_weights=True`` is ``weights.mean(axis=1)``.
    mask: bool, True = may attend, broadcastable to (N, heads, Lq, Lk): e.g. (Lq, Lk) for a
        causal mask, or ``padding[:, None, None, :]`` for padded keys.
    backward(doutput) -> (dquery, dkey, dvalue); for self-attention (query = key = value)
        the input gradient is their sum.
    """

    def __init__(self, embed_dim: int, num_heads: int, dtype=np.float64,
                 rng: np.random.Generator | None = None) -> None:
        super().__init__(dtype)
        if embed_dim % num_heads:
            raise ValueError(f"MultiHeadAttention expected embed_dim divisible by num_heads, "
                             f"got {embed_dim} and {num_heads}")
        self.embed_dim, self.num_heads, self.head_dim = embed_dim, num_heads, embed_dim // num_heads
        rng = rng if rng is not None else np.random.default_rng(0)
        E = embed_dim
        bound = math.sqrt(6.0 / (E + 3 * E))  # xavier_uniform on (3E, E), as PyTorch
        self.params["in_proj_weight"] = rng.uniform(-bound, bound, (3 * E, E)).astype(self.dtype)
        self.params["in_proj_bias"] = np.zeros(3 * E, self.dtype)
        self.params["out_proj.weight"] = rng.uniform(-1 / math.sqrt(E), 1 / math.sqrt(E), (E, E)).astype(self.dtype)
        self.params["out_proj.bias"] = np.zeros(E, self.dtype)
        self.zero_grad()
        self.attention = ScaledDotProductAttention()

    def _split(self, x: np.ndarray) -> np.ndarray:
        N, L, _ = x.shape
        return x.reshape(N, L, self.num_heads, self.head_dim).transpose(0, 2, 1, 3)

    def _merge(self, x: np.ndarray) -> np.ndarray:
        N, _, L, _ = x.shape
        return x.transpose(0, 2, 1, 3).reshape(N, L, self.embed_dim)

    def forward(self, query: np.ndarray, key: np.ndarray, value: np.ndarray, mask: np.ndarray | None = None):
        E = self.embed_dim
        check_array(query, "MultiHeadAttention query", shape=("batch", "Lq", E), dtype=self.dtype)
        check_array(key, "MultiHeadAttention key", shape=(query.shape[0], "Lk", E), dtype=self.dtype)
        check_array(value, "MultiHeadAttention value", shape=key.shape, dtype=self.dtype)
        W, b = self.params["in_proj_weight"], self.params["in_proj_bias"]
        q = self._split(query @ W[:E].T + b[:E])
        k = self._split(key @ W[E:2 * E].T + b[E:2 * E])
        v = self._split(value @ W[2 * E:].T + b[2 * E:])
        if mask is not None:
            mask = np.asarray(mask, dtype=bool)
        ctx, weights = self.attention.forward(q, k, v, mask)
        ctx = self._merge(ctx)
        self.cache = (query, key, value, ctx)
        return ctx @ self.params["out_proj.weight"].T + self.params["out_proj.bias"], weights

    def backward(self, doutput: np.ndarray):
        query, key, value, ctx = self.cache
        E = self.embed_dim
        Wo = self.params["out_proj.weight"]
        self.grads["out_proj.weight"] = doutput.reshape(-1, E).T @ ctx.reshape(-1, E)
        self.grads["out_proj.bias"] = doutput.sum(axis=(0, 1))
        dq, dk, dv = self.attention.backward(self._split(doutput @ Wo))
        W = self.params["in_proj_weight"]
        dW, db, dinputs = np.empty_like(W), np.empty(3 * E, self.dtype), []
        for j, (d, x) in enumerate(((dq, query), (dk, key), (dv, value))):
            d = self._merge(d)
            rows = slice(j * E, (j + 1) * E)
            dW[rows] = d.reshape(-1, E).T @ x.reshape(-1, E)
            db[rows] = d.sum(axis=(0, 1))
            dinputs.append(d @ W[rows])
        self.grads["in_proj_weight"], self.grads["in_proj_bias"] = dW, db
        return tuple(dinputs)


class AdditiveAttention(Module):
    """Bahdanau attention: ``e_j = vᵀ tanh(W_q s + W_k h_j)``, ``α = softmax(e)``, ``c = Σ_j α_j h_j``.

    params: ``W_query`` (A, Dq), ``W_key`` (A, Dk), ``v`` (A,).

    One-shot use: ``forward(query (N, Dq), keys (N, L, Dk), values=None, mask=None)``
    -> (context (N, Dv), weights (N, L)); ``backward(dcontext) -> (dquery, dkeys, dvalues)``.
    In a decoder loop, project the keys once with :meth:`project_keys`, call :meth:`step`
    at every step (it returns its cache), and go back with :meth:`step_backward` and
    :meth:`project_keys_backward`; those accumulate into ``grads`` (call ``zero_grad`` first).
    mask: (N, L) bool, True = a real key.
    """

    def __init__(self, query_dim: int, key_dim: int, hidden_dim: int, dtype=np.float64,
                 rng: np.random.Generator | None = None) -> None:
        super().__init__(dtype)
        rng = rng if rng is not None else np.random.default_rng(0)
        self.query_dim, self.key_dim, self.hidden_dim = query_dim, key_dim, hidden_dim
        self.params["W_query"] = rng.uniform(-1, 1, (hidden_dim, query_dim)).astype(self.dtype) / math.sqrt(query_dim)
        self.params["W_key"] = rng.uniform(-1, 1, (hidden_dim, key_dim)).astype(self.dtype) / math.sqrt(key_dim)
        self.params["v"] = rng.uniform(-1, 1, hidden_dim).astype(self.dtype) / math.sqrt(hidden_dim)
        self.zero_grad()

    def project_keys(self, keys: np.ndarray) -> np.ndarray:
        """keys (N, L, Dk) -> W_k h_j for every j: (N, L, A)."""
        check_array(keys, "AdditiveAttention keys", shape=("batch", "L", self.key_dim), dtype=self.dtype)
        return keys @ self.params["W_key"].T

    def project_keys_backward(self, dkeys_proj: np.ndarray, keys: np.ndarray) -> np.ndarray:
        """Accumulate ∂L/∂W_key; return ∂L/∂keys (N, L, Dk)."""
        self.grads["W_key"] += dkeys_proj.reshape(-1, self.hidden_dim).T @ keys.reshape(-1, self.key_dim)
        return dkeys_proj @ self.params["W_key"]

    def step(self, query: np.ndarray, keys_proj: np.ndarray, values: np.ndarray, mask: np.ndarray | None = None):
        """query (N, Dq), keys_proj (N, L, A), values (N, L, Dv) -> (context, weights, cache)."""
        check_array(query, "AdditiveAttention query", shape=(keys_proj.shape[0], self.query_dim), dtype=self.dtype)
        hidden = np.tanh(keys_proj + (query @ self.params["W_query"].T)[:, None, :])  # (N, L, A)
        weights = _masked_softmax(hidden @ self.params["v"], mask)                   # (N, L)
        context = np.einsum("nl,nld->nd", weights, values)
        return context, weights, (query, hidden, weights, values)

    def step_backward(self, dcontext: np.ndarray, cache, dweights: np.ndarray | None = None):
        """-> (dquery (N, Dq), dkeys_proj (N, L, A), dvalues (N, L, Dv)); accumulates grads."""
        query, hidden, weights, values = cache
        dw = np.einsum("nd,nld->nl", dcontext, values)
        if dweights is not None:
            dw = dw + dweights
        dvalues = weights[:, :, None] * dcontext[:, None, :]
        de = _softmax_backward(weights, dw)                                   # (N, L)
        self.grads["v"] += np.einsum("nl,nla->a", de, hidden)
        dpre = de[:, :, None] * self.params["v"] * (1 - hidden * hidden)      # (N, L, A)
        dq_proj = dpre.sum(axis=1)                                            # (N, A)
        self.grads["W_query"] += dq_proj.T @ query
        return dq_proj @ self.params["W_query"], dpre, dvalues

    def forward(self, query: np.ndarray, keys: np.ndarray, values: np.ndarray | None = None,
                mask: np.ndarray | None = None):
        values = keys if values is None else values
        keys_proj = self.project_keys(keys)
        context, weights, cache = self.step(query, keys_proj, values, mask)
        self.cache = (keys, cache)
        return context, weights

    def backward(self, dcontext: np.ndarray):
        """-> (dquery, dkeys, dvalues); when the keys are also the values, their gradient is the sum."""
        keys, cache = self.cache
        self.zero_grad()
        dquery, dkeys_proj, dvalues = self.step_backward(dcontext, cache)
        return dquery, self.project_keys_backward(dkeys_proj, keys), dvalues
