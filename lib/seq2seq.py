"""An encoder–decoder (Sutskever et al. 2014; Cho et al. 2014) with optional additive
attention (Bahdanau, Cho & Bengio 2015), built from lib's parts.

Encoder: embedding -> GRU over the source. Decoder: at step t a GRU cell reads the
embedding of the previous target token and a context vector; the context is the
encoder's final state (no attention: the fixed-size bottleneck) or an attention-weighted
sum of all encoder outputs, queried with the decoder's previous state. A dense layer on
[decoder state; context] gives the logits of the next token.

Shapes: src (N, S) ints; tgt_in (N, T) ints (teacher forcing: the target shifted right,
starting with BOS); logits (N, T, V_tgt).
"""

from __future__ import annotations

import numpy as np

from ._checks import check_dtype, check_grad, check_rng, check_size
from .attention import AdditiveAttention
from .embedding import Embedding
from .gru import GRU, GRUCell
from .layers import Dense
from .module import Module


class Seq2Seq(Module):
    """GRU encoder–decoder; ``attention=True`` adds Bahdanau attention.

    ``params``/``grads`` are keyed ``"<part>.<name>"`` over the parts ``src_embed``,
    ``encoder``, ``tgt_embed``, ``decoder``, ``attention`` (if used) and ``out``.
    """

    def __init__(self, src_vocab: int, tgt_vocab: int, embed_dim: int, hidden_size: int,
                 attention: bool = True, attention_dim: int | None = None, dtype=np.float64,
                 rng: np.random.Generator | None = None) -> None:
        for name, value in (("src_vocab", src_vocab), ("tgt_vocab", tgt_vocab), ("embed_dim", embed_dim),
                            ("hidden_size", hidden_size)):
            check_size(value, "Seq2Seq", name)
        if attention_dim is not None:
            check_size(attention_dim, "Seq2Seq", "attention_dim")
        rng = check_rng(rng, "Seq2Seq")
        self.dtype, self.training = check_dtype(dtype), True
        self.src_vocab, self.tgt_vocab = int(src_vocab), int(tgt_vocab)
        self.use_attention = attention
        self.hidden_size = hidden_size
        self.parts: dict[str, Module] = {
            "src_embed": Embedding(src_vocab, embed_dim, dtype=dtype, rng=rng),
            "encoder": GRU(embed_dim, hidden_size, dtype=dtype, rng=rng),
            "tgt_embed": Embedding(tgt_vocab, embed_dim, dtype=dtype, rng=rng),
            "decoder": GRUCell(embed_dim + hidden_size, hidden_size, dtype=dtype, rng=rng),
            "out": Dense(2 * hidden_size, tgt_vocab, dtype=dtype, rng=rng),
        }
        if attention:
            self.parts["attention"] = AdditiveAttention(hidden_size, hidden_size, attention_dim or hidden_size,
                                                        dtype=dtype, rng=rng)

    @property
    def params(self) -> dict[str, np.ndarray]:
        return {f"{p}.{k}": v for p, m in self.parts.items() for k, v in m.params.items()}

    @property
    def grads(self) -> dict[str, np.ndarray]:
        return {f"{p}.{k}": v for p, m in self.parts.items() for k, v in m.grads.items()}

    def children(self) -> list[Module]:
        return list(self.parts.values())

    def zero_grad(self) -> None:
        for m in self.parts.values():
            m.zero_grad()

    def _check_tokens(self, ids, name: str, vocab: int, batch: int | None = None) -> np.ndarray:
        if not isinstance(ids, np.ndarray):
            raise TypeError(f"Seq2Seq expected {name} as a numpy array of token ids, got {type(ids).__name__}")
        if ids.dtype.kind not in "iu":
            raise TypeError(f"Seq2Seq expected integer token ids in {name}, got dtype {ids.dtype}")
        if ids.ndim != 2 or 0 in ids.shape:
            raise ValueError(f"Seq2Seq expected {name} of shape (batch, length) with both >= 1, got {ids.shape}")
        if batch is not None and ids.shape[0] != batch:
            raise ValueError(f"Seq2Seq expected {name} with the source's batch size {batch}, got {ids.shape[0]}")
        if ids.min() < 0 or ids.max() >= vocab:
            raise ValueError(f"Seq2Seq expected {name} ids in [0, {vocab}), got values in [{ids.min()}, {ids.max()}]")
        return ids

    # -- encoder ------------------------------------------------------------------------
    def encode(self, src: np.ndarray, src_lengths: np.ndarray | None = None):
        """src (N, S) -> encoder outputs (N, S, H), final state (N, H), and the key padding mask
        (N, S) bool, True at padded source positions (None without ``src_lengths``)."""
        self._check_tokens(src, "src", self.src_vocab)
        emb = self.parts["src_embed"].forward(src)
        enc_out, h_n = self.parts["encoder"].forward(emb, lengths=src_lengths)
        mask = None
        if src_lengths is not None:
            mask = np.arange(src.shape[1])[None, :] >= np.asarray(src_lengths)[:, None]
        return enc_out, h_n[0], mask

    def _decode_step(self, token_emb, s, enc_out, keys_proj, h_enc, mask):
        if self.use_attention:
            context, weights, att_cache = self.parts["attention"].step(s, keys_proj, enc_out, mask)
        else:
            context, weights, att_cache = h_enc, None, None
        s_next = self.parts["decoder"].forward(np.concatenate([token_emb, context], axis=1), s)
        return s_next, context, weights, (self.parts["decoder"].cache, att_cache)

    # -- teacher-forced training pass ---------------------------------------------------------
    def forward(self, src: np.ndarray, tgt_in: np.ndarray, src_lengths: np.ndarray | None = None) -> np.ndarray:
        """Logits (N, T, V) for every target position, feeding the true previous tokens."""
        self._check_tokens(src, "src", self.src_vocab)
        self._check_tokens(tgt_in, "tgt_in", self.tgt_vocab, batch=src.shape[0])
        enc_out, h_enc, mask = self.encode(src, src_lengths)
        keys_proj = self.parts["attention"].project_keys(enc_out) if self.use_attention else None
        emb = self.parts["tgt_embed"].forward(tgt_in)
        s, feats, caches, attn = h_enc, [], [], []
        for t in range(tgt_in.shape[1]):
            s, context, weights, cache = self._decode_step(emb[:, t], s, enc_out, keys_proj, h_enc, mask)
            feats.append(np.concatenate([s, context], axis=1))
            caches.append(cache)
            attn.append(weights)
        self.attention_weights = np.stack(attn, axis=1) if self.use_attention else None
        self._cache = (enc_out, caches, tgt_in.shape[1])
        return self.parts["out"].forward(np.stack(feats, axis=1))

    def backward(self, dlogits: np.ndarray) -> None:
        """Fill ``grads`` from ∂L/∂logits (N, T, V); needs :meth:`forward` just before (not
        :meth:`greedy_decode`, which reuses the parts' caches)."""
        if getattr(self, "_cache", None) is None:
            raise RuntimeError("Seq2Seq.backward called before forward")
        enc_out, caches, T = self._cache
        check_grad(dlogits, "Seq2Seq.backward", (enc_out.shape[0], T, self.tgt_vocab), self.dtype)
        H = self.hidden_size
        dfeat = self.parts["out"].backward(dlogits)
        dec, att = self.parts["decoder"], self.parts.get("attention")
        if att is not None:
            att.zero_grad()
        dec_grads = {k: np.zeros_like(v) for k, v in dec.params.items()}
        E = self.parts["tgt_embed"].embedding_dim
        demb = np.zeros((dlogits.shape[0], T, E), dtype=dlogits.dtype)
        denc_out = np.zeros_like(enc_out)
        dkeys_proj = np.zeros(enc_out.shape[:2] + (att.hidden_dim,), dlogits.dtype) if att is not None else None
        ds_next = np.zeros((dlogits.shape[0], H), dlogits.dtype)
        dh_enc = np.zeros_like(ds_next)
        for t in reversed(range(T)):
            dec_cache, att_cache = caches[t]
            ds = dfeat[:, t, :H] + ds_next
            dcontext = dfeat[:, t, H:].copy()
            dec.cache = dec_cache
            dinp, ds_prev = dec.backward(ds)
            for k, g in dec.grads.items():
                dec_grads[k] += g
            demb[:, t] = dinp[:, :E]
            dcontext += dinp[:, E:]
            if att is not None:
                dq, dkp, dv = att.step_backward(dcontext, att_cache)
                ds_prev = ds_prev + dq
                dkeys_proj += dkp
                denc_out += dv
            else:
                dh_enc += dcontext
            ds_next = ds_prev
        dec.grads = dec_grads
        dh_enc += ds_next
        if att is not None:
            denc_out += att.project_keys_backward(dkeys_proj, enc_out)
        self.parts["tgt_embed"].backward(demb)
        dsrc = self.parts["encoder"].backward(denc_out, dh_enc[None])
        self.parts["src_embed"].backward(dsrc)

    # -- inference ---------------------------------------------------------------------
    def greedy_decode(self, src: np.ndarray, max_len: int, bos: int, src_lengths: np.ndarray | None = None):
        """Feed back the arg-max token at every step. Returns (tokens (N, max_len),
        attention weights (N, max_len, S) or None)."""
        max_len = check_size(max_len, "Seq2Seq.greedy_decode", "max_len")
        if isinstance(bos, bool) or not isinstance(bos, (int, np.integer)) or not 0 <= bos < self.tgt_vocab:
            raise ValueError(f"Seq2Seq.greedy_decode expected bos to be a token id in [0, {self.tgt_vocab}), "
                             f"got {bos!r}")
        self._cache = None  # decoding reuses the parts' caches: a later backward needs a new forward
        enc_out, h_enc, mask = self.encode(src, src_lengths)
        keys_proj = self.parts["attention"].project_keys(enc_out) if self.use_attention else None
        s = h_enc
        token = np.full(src.shape[0], bos)
        tokens, attn = [], []
        for _ in range(max_len):
            emb = self.parts["tgt_embed"].forward(token)
            s, context, weights, _ = self._decode_step(emb, s, enc_out, keys_proj, h_enc, mask)
            logits = self.parts["out"].forward(np.concatenate([s, context], axis=1))
            token = logits.argmax(axis=1)
            tokens.append(token)
            attn.append(weights)
        return np.stack(tokens, axis=1), (np.stack(attn, axis=1) if self.use_attention else None)
