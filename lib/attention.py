"""Attention: scaled dot-product (Vaswani et al. 2017), multi-head, and additive (Bahdanau et al. 2015).

Masks follow PyTorch, function by function — and PyTorch itself has **two boolean conventions**:

* :class:`MultiHeadAttention` follows ``torch.nn.MultiheadAttention``: ``attn_mask`` of shape
  (Lq, Lk) or (N·num_heads, Lq, Lk) and ``key_padding_mask`` of shape (N, Lk). A **bool True
  means "may not attend"** (a hidden key, a padded key). A float mask is **added** to the scores
  (0 keeps a key, −inf hides it).
* :func:`scaled_dot_product_attention` and :class:`ScaledDotProductAttention` follow
  ``torch.nn.functional.scaled_dot_product_attention``: ``attn_mask`` broadcastable to
  (..., Lq, Lk), where a **bool True means "takes part in attention"**; a float mask is added;
  ``is_causal=True`` applies the causal (lower-triangular) mask.
* :class:`AdditiveAttention` (no PyTorch counterpart) takes a ``key_padding_mask`` (N, L) like
  :class:`MultiHeadAttention`'s: bool True = padding, or float added to the scores.

Masked keys get exactly zero weight. Any other mask shape or dtype is an error naming the accepted
ones. A query whose every key is masked is a ``ValueError`` in all three. PyTorch (2.13) gives such a
row zeros in ``F.scaled_dot_product_attention``; ``nn.MultiheadAttention`` gives NaN weights and
outputs with its default ``need_weights=True``, and with ``need_weights=False`` zero head outputs (the
output is ``out_proj.bias``) except on its inference fast path, where it is NaN again. lib refuses
rather than pick one silently.
"""

from __future__ import annotations

import math

import numpy as np

from ._checks import NonFiniteError, check_array, check_grad, check_nonempty, check_rng, check_size
from .module import Module

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def _additive(mask, owner: str, true_hides: bool, dtype: np.dtype) -> np.ndarray:
    """A bool or float mask as the float array added to the scores (0 = keep, −inf = hide)."""
    if not isinstance(mask, np.ndarray):
        raise TypeError(f"{owner} expected a numpy array (bool or float), got {type(mask).__name__}")
    if mask.dtype == np.bool_:
        hidden = mask if true_hides else ~mask
        return np.where(hidden, -np.inf, 0.0).astype(dtype)
    if mask.dtype in _FLOATS:
        if np.isnan(mask).any() or np.isposinf(mask).any():
            raise ValueError(f"{owner}: a float mask is added to the scores, so it may hold finite values "
                             "and -inf only; got NaN or +inf")
        return mask.astype(dtype, copy=False)
    meaning = "True = may not attend" if true_hides else "True = takes part in attention"
    raise TypeError(f"{owner} expected a bool mask ({meaning}) or a float32/float64 mask added to the "
                    f"scores, got dtype {mask.dtype}")


def _softmax_rows(scores: np.ndarray, owner: str, axes: str = "(..., query)") -> np.ndarray:
    """Softmax over the last axis of scores that may hold −inf (masked keys get weight exactly 0).

    ``axes`` names the leading axes of ``scores`` for the message about a fully masked row."""
    top = scores.max(axis=-1, keepdims=True)
    if not np.isfinite(top).all():
        bad = np.argwhere(~np.isfinite(top[..., 0]))[0]
        if np.isneginf(top[tuple(bad)][0]):
            where = ", ".join(str(int(i)) for i in bad)
            raise ValueError(
                f"{owner}: the mask hides every key from query ({where}) (axes {axes}); each query needs "
                "at least one key it may attend to. (PyTorch gives zeros there in F.scaled_dot_product_attention "
                "and NaN in nn.MultiheadAttention with need_weights=True; lib refuses.)")
        raise NonFiniteError(f"{owner}: the attention scores overflowed to inf")
    e = np.exp(scores - top)
    return e / e.sum(axis=-1, keepdims=True)


def _softmax_backward(weights: np.ndarray, dweights: np.ndarray) -> np.ndarray:
    """Jacobian-vector product of the softmax: dscores = w ⊙ (dw − Σ dw ⊙ w)."""
    return weights * (dweights - (dweights * weights).sum(axis=-1, keepdims=True))


class ScaledDotProductAttention(Module):
    """``softmax(Q Kᵀ · scale + mask) V`` with ``scale = 1/√d`` by default; no parameters.

    The module form of :func:`scaled_dot_product_attention`, with the mask conventions of
    ``torch.nn.functional.scaled_dot_product_attention``:

    * ``attn_mask`` broadcastable to (..., Lq, Lk) without growing the scores (e.g. (Lq, Lk));
      **bool True = takes part in attention** (False hides the key), or float added to the scores;
    * ``is_causal=True``: query i sees keys 0 … i (``attn_mask`` must then be None, as in PyTorch);
    * ``scale``: a number replacing 1/√d.

    q: (..., Lq, d), k: (..., Lk, d), v: (..., Lk, dv), all of one float dtype with equal leading axes
    -> (output (..., Lq, dv), weights (..., Lq, Lk)) — PyTorch's function returns only the output.
    backward(doutput (..., Lq, dv)) -> (dq, dk, dv). A query with every key hidden is a ``ValueError``.
    """

    name = "ScaledDotProductAttention"

    def __init__(self) -> None:
        super().__init__()
        self.cache = None

    def forward(self, query: np.ndarray, key: np.ndarray, value: np.ndarray, attn_mask: np.ndarray | None = None,
                is_causal: bool = False, scale: float | None = None):
        name = self.name
        for what, a in (("query", query), ("key", key), ("value", value)):
            check_array(a, f"{name} {what}")
            if a.ndim < 2:
                raise ValueError(f"{name} expected {what} of shape (..., L, d), got {a.shape}")
            if a.dtype not in _FLOATS:
                raise TypeError(f"{name} expected float32 or float64 {what}, got {a.dtype}")
        if not query.dtype == key.dtype == value.dtype:
            raise TypeError(f"{name} expected query, key and value of one dtype, got "
                            f"{query.dtype}, {key.dtype}, {value.dtype}")
        if (query.shape[-1] != key.shape[-1] or key.shape[:-1] != value.shape[:-1]
                or query.shape[:-2] != key.shape[:-2]):
            raise ValueError(f"{name} expected query (..., Lq, d), key (..., Lk, d), value (..., Lk, dv) with the "
                             f"same leading axes; got {query.shape}, {key.shape}, {value.shape}")
        check_nonempty(query, name + " query", [*(["batch"] * (query.ndim - 2)), "Lq", "d"])
        check_nonempty(key, name + " key", [*(["batch"] * (key.ndim - 2)), "Lk", "d"])
        check_nonempty(value, name + " value", [*(["batch"] * (value.ndim - 2)), "Lk", "dv"])
        Lq, Lk = query.shape[-2], key.shape[-2]
        if scale is None:
            scale = 1.0 / math.sqrt(query.shape[-1])
        elif isinstance(scale, bool) or not isinstance(scale, (int, float, np.floating)) or not math.isfinite(scale):
            raise ValueError(f"{name} expected scale to be a finite number or None, got {scale!r}")
        if not isinstance(is_causal, (bool, np.bool_)):
            raise TypeError(f"{name} expected is_causal to be a bool, got {type(is_causal).__name__}")
        bias = None
        if is_causal:
            if attn_mask is not None:
                raise ValueError(f"{name}: pass either attn_mask or is_causal=True, not both (as PyTorch)")
            bias = _additive(np.tril(np.ones((Lq, Lk), bool)), name, False, query.dtype)
        elif attn_mask is not None:
            bias = _additive(attn_mask, f"{name} attn_mask", False, query.dtype)
            scores_shape = query.shape[:-1] + (Lk,)
            try:
                ok = bias.ndim <= len(scores_shape) and np.broadcast_shapes(bias.shape, scores_shape) == scores_shape
            except ValueError:
                ok = False
            if not ok:
                raise ValueError(f"{name} expected attn_mask broadcastable to the scores (..., Lq, Lk) = "
                                 f"{scores_shape}, e.g. ({Lq}, {Lk}); got {attn_mask.shape}")
        return self._attend(query, key, value, bias, float(scale), name)

    def _attend(self, q: np.ndarray, k: np.ndarray, v: np.ndarray, bias: np.ndarray | None, scale: float,
                owner: str, axes: str = "(..., query)"):
        """The computation, on validated inputs; ``bias`` is the additive mask (or None)."""
        scores = (q @ np.swapaxes(k, -1, -2)) * q.dtype.type(scale)
        if bias is not None:
            scores = scores + bias
        weights = _softmax_rows(scores, owner, axes)
        out = weights @ v
        self.cache = (q, k, v, weights, scale, out.shape)
        return out, weights

    def backward(self, doutput: np.ndarray):
        """doutput (..., Lq, dv) -> (dquery, dkey, dvalue)."""
        if self.cache is None:
            raise RuntimeError(f"{self.name}.backward called before forward")
        q, k, v, weights, scale, out_shape = self.cache
        check_grad(doutput, f"{self.name}.backward", out_shape, q.dtype)
        dv = np.swapaxes(weights, -1, -2) @ doutput
        dscores = _softmax_backward(weights, doutput @ np.swapaxes(v, -1, -2)) * q.dtype.type(scale)
        return dscores @ k, np.swapaxes(dscores, -1, -2) @ q, dv


def scaled_dot_product_attention(query: np.ndarray, key: np.ndarray, value: np.ndarray,
                                 attn_mask: np.ndarray | None = None, is_causal: bool = False,
                                 scale: float | None = None):
    """``(output (..., Lq, dv), weights (..., Lq, Lk))`` of ``softmax(Q Kᵀ/√d + mask) V``.

    Arguments and mask conventions as ``torch.nn.functional.scaled_dot_product_attention``
    (bool ``attn_mask`` True = takes part in attention; float added; ``is_causal``; ``scale``);
    see :class:`ScaledDotProductAttention`.
    """
    att = ScaledDotProductAttention()
    att.name = "scaled_dot_product_attention"
    return att.forward(query, key, value, attn_mask=attn_mask, is_causal=is_causal, scale=scale)


class MultiHeadAttention(Module):
    """Multi-head attention with the parameters and masks of ``torch.nn.MultiheadAttention(batch_first=True)``.

    params: ``in_proj_weight`` (3E, E), ``in_proj_bias`` (3E,), ``out_proj.weight`` (E, E),
    ``out_proj.bias`` (E,).

    forward(query (N, Lq, E), key (N, Lk, E), value (N, Lk, E), *, key_padding_mask=None,
    need_weights=True, attn_mask=None, average_attn_weights=True)
        -> (output (N, Lq, E), weights): weights (N, Lq, Lk) averaged over heads, or per head
        (N, num_heads, Lq, Lk) with ``average_attn_weights=False``; None with ``need_weights=False``.

    Masks, exactly as PyTorch's (keyword-only here, so that one kind cannot be passed as the other):

    * ``attn_mask``: (Lq, Lk) — the same for every sequence, e.g. causal ``np.triu(np.ones((L, L),
      bool), 1)`` — or (N·num_heads, Lq, Lk), entry ``n·num_heads + h`` for sequence n, head h;
    * ``key_padding_mask``: (N, Lk), e.g. ``np.arange(Lk) >= lengths[:, None]``;
    * either one **bool, True = may not attend**, or **float, added to the scores** (0 / −inf).
      Both may be given (their effects add). Every key of a query masked: ``ValueError``.
      As in PyTorch, a float mask of 0s and 1s is *added* (it hides nothing): make 0/1 masks bool.

    backward(doutput (N, Lq, E)) -> (dquery, dkey, dvalue); for self-attention (query = key =
    value) the input's gradient is their sum.
    """

    def __init__(self, embed_dim: int, num_heads: int, dtype=np.float64,
                 rng: np.random.Generator | None = None) -> None:
        super().__init__(dtype)
        embed_dim = check_size(embed_dim, "MultiHeadAttention", "embed_dim")
        num_heads = check_size(num_heads, "MultiHeadAttention", "num_heads")
        if embed_dim % num_heads:
            raise ValueError(f"MultiHeadAttention expected embed_dim divisible by num_heads, "
                             f"got {embed_dim} and {num_heads}")
        self.embed_dim, self.num_heads, self.head_dim = embed_dim, num_heads, embed_dim // num_heads
        rng = check_rng(rng, "MultiHeadAttention")
        E = embed_dim
        bound = math.sqrt(6.0 / (E + 3 * E))  # xavier_uniform on (3E, E), as PyTorch
        self.params["in_proj_weight"] = rng.uniform(-bound, bound, (3 * E, E)).astype(self.dtype)
        self.params["in_proj_bias"] = np.zeros(3 * E, self.dtype)
        self.params["out_proj.weight"] = rng.uniform(-1 / math.sqrt(E), 1 / math.sqrt(E), (E, E)).astype(self.dtype)
        self.params["out_proj.bias"] = np.zeros(E, self.dtype)
        self.zero_grad()
        self.attention = ScaledDotProductAttention()
        self.attention.name = "MultiHeadAttention"
        self.cache = None

    def _split(self, x: np.ndarray) -> np.ndarray:
        N, L, _ = x.shape
        return x.reshape(N, L, self.num_heads, self.head_dim).transpose(0, 2, 1, 3)

    def _merge(self, x: np.ndarray) -> np.ndarray:
        N, _, L, _ = x.shape
        return x.transpose(0, 2, 1, 3).reshape(N, L, self.embed_dim)

    def _bias(self, key_padding_mask, attn_mask, N: int, Lq: int, Lk: int) -> np.ndarray | None:
        """Both masks as one additive array broadcastable to (N, heads, Lq, Lk), or None."""
        H, bias = self.num_heads, None
        if attn_mask is not None:
            am = _additive(attn_mask, "MultiHeadAttention attn_mask", True, self.dtype)
            if am.shape == (Lq, Lk):
                bias = am
            elif am.shape == (N * H, Lq, Lk):
                bias = am.reshape(N, H, Lq, Lk)
            else:
                raise ValueError(f"MultiHeadAttention expected attn_mask of shape (Lq, Lk) = ({Lq}, {Lk}) or "
                                 f"(N·num_heads, Lq, Lk) = ({N * H}, {Lq}, {Lk}), got {am.shape} "
                                 "(a padding mask (N, Lk) goes in key_padding_mask)")
        if key_padding_mask is not None:
            kp = _additive(key_padding_mask, "MultiHeadAttention key_padding_mask", True, self.dtype)
            if kp.shape != (N, Lk):
                raise ValueError(f"MultiHeadAttention expected key_padding_mask of shape (N, Lk) = ({N}, {Lk}), "
                                 f"got {kp.shape}")
            kp = kp[:, None, None, :]
            bias = kp if bias is None else bias + kp
        return bias

    def forward(self, query: np.ndarray, key: np.ndarray, value: np.ndarray, *,
                key_padding_mask: np.ndarray | None = None, need_weights: bool = True,
                attn_mask: np.ndarray | None = None, average_attn_weights: bool = True):
        E = self.embed_dim
        check_array(query, "MultiHeadAttention query", shape=("batch", "Lq", E), dtype=self.dtype)
        check_array(key, "MultiHeadAttention key", shape=(query.shape[0], "Lk", E), dtype=self.dtype)
        check_array(value, "MultiHeadAttention value", shape=key.shape, dtype=self.dtype)
        check_nonempty(query, "MultiHeadAttention query", ["N", "Lq"])
        check_nonempty(key, "MultiHeadAttention key", ["N", "Lk"])
        N, Lq, _ = query.shape
        Lk = key.shape[1]
        bias = self._bias(key_padding_mask, attn_mask, N, Lq, Lk)
        W, b = self.params["in_proj_weight"], self.params["in_proj_bias"]
        q = self._split(query @ W[:E].T + b[:E])
        k = self._split(key @ W[E:2 * E].T + b[E:2 * E])
        v = self._split(value @ W[2 * E:].T + b[2 * E:])
        ctx, weights = self.attention._attend(q, k, v, bias, 1.0 / math.sqrt(self.head_dim), "MultiHeadAttention",
                                             "(batch, head, query)")
        ctx = self._merge(ctx)
        self.cache = (query, key, value, ctx)
        out = ctx @ self.params["out_proj.weight"].T + self.params["out_proj.bias"]
        if not need_weights:
            return out, None
        return out, (weights.mean(axis=1) if average_attn_weights else weights)

    def backward(self, doutput: np.ndarray):
        """doutput (N, Lq, E) -> (dquery, dkey, dvalue); fills ``grads``."""
        if self.cache is None:
            raise RuntimeError("MultiHeadAttention.backward called before forward")
        query, key, value, ctx = self.cache
        E = self.embed_dim
        check_grad(doutput, "MultiHeadAttention.backward", query.shape, self.dtype)
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

    One-shot use: ``forward(query (N, Dq), keys (N, L, Dk), values=None, key_padding_mask=None)``
    -> (context (N, Dv), weights (N, L)); ``backward(dcontext) -> (dquery, dkeys, dvalues)``.
    In a decoder loop, project the keys once with :meth:`project_keys`, call :meth:`step`
    at every step (it returns its cache), and go back with :meth:`step_backward` and
    :meth:`project_keys_backward`; those accumulate into ``grads`` (call ``zero_grad`` first).
    key_padding_mask: (N, L), as :class:`MultiHeadAttention`'s — bool **True = padding** (weight
    exactly 0), or float added to the scores. Every key of a row masked: ``ValueError``.
    """

    def __init__(self, query_dim: int, key_dim: int, hidden_dim: int, dtype=np.float64,
                 rng: np.random.Generator | None = None) -> None:
        super().__init__(dtype)
        query_dim = check_size(query_dim, "AdditiveAttention", "query_dim")
        key_dim = check_size(key_dim, "AdditiveAttention", "key_dim")
        hidden_dim = check_size(hidden_dim, "AdditiveAttention", "hidden_dim")
        rng = check_rng(rng, "AdditiveAttention")
        self.query_dim, self.key_dim, self.hidden_dim = query_dim, key_dim, hidden_dim
        self.params["W_query"] = rng.uniform(-1, 1, (hidden_dim, query_dim)).astype(self.dtype) / math.sqrt(query_dim)
        self.params["W_key"] = rng.uniform(-1, 1, (hidden_dim, key_dim)).astype(self.dtype) / math.sqrt(key_dim)
        self.params["v"] = rng.uniform(-1, 1, hidden_dim).astype(self.dtype) / math.sqrt(hidden_dim)
        self.zero_grad()
        self.cache = None

    def project_keys(self, keys: np.ndarray) -> np.ndarray:
        """keys (N, L, Dk) -> W_k h_j for every j: (N, L, A)."""
        check_array(keys, "AdditiveAttention keys", shape=("batch", "L", self.key_dim), dtype=self.dtype)
        check_nonempty(keys, "AdditiveAttention keys", ["N", "L"])
        return keys @ self.params["W_key"].T

    def project_keys_backward(self, dkeys_proj: np.ndarray, keys: np.ndarray) -> np.ndarray:
        """Accumulate ∂L/∂W_key; return ∂L/∂keys (N, L, Dk)."""
        check_array(keys, "AdditiveAttention.project_keys_backward keys", shape=("batch", "L", self.key_dim),
                    dtype=self.dtype)
        check_grad(dkeys_proj, "AdditiveAttention.project_keys_backward", keys.shape[:2] + (self.hidden_dim,),
                   self.dtype)
        self.grads["W_key"] += dkeys_proj.reshape(-1, self.hidden_dim).T @ keys.reshape(-1, self.key_dim)
        return dkeys_proj @ self.params["W_key"]

    def step(self, query: np.ndarray, keys_proj: np.ndarray, values: np.ndarray,
             key_padding_mask: np.ndarray | None = None):
        """query (N, Dq), keys_proj (N, L, A), values (N, L, Dv) -> (context (N, Dv), weights (N, L), cache)."""
        check_array(keys_proj, "AdditiveAttention keys_proj", shape=("batch", "L", self.hidden_dim), dtype=self.dtype)
        N, L, _ = keys_proj.shape
        check_nonempty(keys_proj, "AdditiveAttention keys_proj", ["N", "L"])
        check_array(query, "AdditiveAttention query", shape=(N, self.query_dim), dtype=self.dtype)
        check_array(values, "AdditiveAttention values", shape=(N, L, "Dv"), dtype=self.dtype)
        bias = None
        if key_padding_mask is not None:
            bias = _additive(key_padding_mask, "AdditiveAttention key_padding_mask", True, self.dtype)
            if bias.shape != (N, L):
                raise ValueError(f"AdditiveAttention expected key_padding_mask of shape (N, L) = ({N}, {L}), "
                                 f"got {bias.shape}")
        hidden = np.tanh(keys_proj + (query @ self.params["W_query"].T)[:, None, :])  # (N, L, A)
        scores = hidden @ self.params["v"]                                            # (N, L)
        weights = _softmax_rows(scores if bias is None else scores + bias, "AdditiveAttention", "(batch,)")
        context = np.einsum("nl,nld->nd", weights, values)
        return context, weights, (query, hidden, weights, values)

    def step_backward(self, dcontext: np.ndarray, cache, dweights: np.ndarray | None = None):
        """-> (dquery (N, Dq), dkeys_proj (N, L, A), dvalues (N, L, Dv)); accumulates grads."""
        if not (isinstance(cache, tuple) and len(cache) == 4):
            raise TypeError("AdditiveAttention.step_backward expected the cache returned by step()")
        query, hidden, weights, values = cache
        check_grad(dcontext, "AdditiveAttention.step_backward", (values.shape[0], values.shape[2]), self.dtype)
        dw = np.einsum("nd,nld->nl", dcontext, values)
        if dweights is not None:
            dw = dw + check_grad(dweights, "AdditiveAttention.step_backward dweights", weights.shape, self.dtype)
        dvalues = weights[:, :, None] * dcontext[:, None, :]
        de = _softmax_backward(weights, dw)                                   # (N, L)
        self.grads["v"] += np.einsum("nl,nla->a", de, hidden)
        dpre = de[:, :, None] * self.params["v"] * (1 - hidden * hidden)      # (N, L, A)
        dq_proj = dpre.sum(axis=1)                                            # (N, A)
        self.grads["W_query"] += dq_proj.T @ query
        return dq_proj @ self.params["W_query"], dpre, dvalues

    def forward(self, query: np.ndarray, keys: np.ndarray, values: np.ndarray | None = None,
                key_padding_mask: np.ndarray | None = None):
        values = keys if values is None else values
        keys_proj = self.project_keys(keys)
        context, weights, cache = self.step(query, keys_proj, values, key_padding_mask)
        self.cache = (keys, cache)
        return context, weights

    def backward(self, dcontext: np.ndarray):
        """-> (dquery, dkeys, dvalues); when the keys are also the values, their gradient is the sum."""
        if self.cache is None:
            raise RuntimeError("AdditiveAttention.backward called before forward")
        keys, cache = self.cache
        self.zero_grad()
        dquery, dkeys_proj, dvalues = self.step_backward(dcontext, cache)
        return dquery, self.project_keys_backward(dkeys_proj, keys), dvalues
