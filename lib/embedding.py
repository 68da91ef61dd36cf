"""Embedding: a lookup table of learned vectors, one per token id (like ``torch.nn.Embedding``)."""

from __future__ import annotations

import numpy as np

from ._checks import check_grad, check_rng, check_size
from .module import Module


class Embedding(Module):
    """``E[ids]``: integer ids of any shape -> vectors (..., embedding_dim).

    params: ``weight`` (num_embeddings, embedding_dim), initialised N(0, 1) as PyTorch.
    backward(dout (..., embedding_dim)) scatters-adds into ``grads["weight"]`` and returns None
    (ids have no gradient).
    """

    def __init__(self, num_embeddings: int, embedding_dim: int, dtype=np.float64,
                 rng: np.random.Generator | None = None) -> None:
        super().__init__(dtype)
        num_embeddings = check_size(num_embeddings, "Embedding", "num_embeddings")
        embedding_dim = check_size(embedding_dim, "Embedding", "embedding_dim")
        rng = check_rng(rng, "Embedding")
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        self.params["weight"] = rng.standard_normal((num_embeddings, embedding_dim)).astype(self.dtype)
        self.zero_grad()
        self.ids: np.ndarray | None = None

    def forward(self, ids: np.ndarray) -> np.ndarray:
        """ids: integers in [0, num_embeddings), any shape (...) -> vectors (..., embedding_dim)."""
        ids = np.asarray(ids)
        if ids.dtype.kind not in "iu":
            raise TypeError(f"Embedding expected integer ids, got dtype {ids.dtype}")
        if ids.size and (ids.min() < 0 or ids.max() >= self.num_embeddings):
            raise ValueError(f"Embedding expected ids in [0, {self.num_embeddings}), "
                             f"got range [{ids.min()}, {ids.max()}]")
        self.ids = ids.copy()  # the layer's own copy: changing the caller's ids cannot alter backward
        return self.params["weight"][ids]

    def backward(self, dout: np.ndarray) -> None:
        """dout (..., embedding_dim), shaped exactly like the forward output -> None; fills ``grads``."""
        if self.ids is None:
            raise RuntimeError("Embedding.backward called before forward")
        check_grad(dout, "Embedding.backward", self.ids.shape + (self.embedding_dim,), self.dtype)
        grad = np.zeros_like(self.params["weight"])
        np.add.at(grad, self.ids.reshape(-1), dout.reshape(-1, self.embedding_dim))
        self.grads["weight"] = grad
        return None
