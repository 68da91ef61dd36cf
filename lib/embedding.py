"""Embedding: a lookup table of learned vectors, one per token id (like ``torch.nn.Embedding``)."""

from __future__ import annotations

import numpy as np

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
        rng = rng if rng is not None else np.random.default_rng(0)
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        self.params["weight"] = rng.standard_normal((num_embeddings, embedding_dim)).astype(self.dtype)
        self.zero_grad()
        self.ids: np.ndarray | None = None

    def forward(self, ids: np.ndarray) -> np.ndarray:
        ids = np.asarray(ids)
        if ids.dtype.kind not in "iu":
            raise TypeError(f"Embedding expected integer ids, got dtype {ids.dtype}")
        if ids.size and (ids.min() < 0 or ids.max() >= self.num_embeddings):
            raise ValueError(f"Embedding expected ids in [0, {self.num_embeddings}), "
                             f"got range [{ids.min()}, {ids.max()}]")
        self.ids = ids
        return self.params["weight"][ids]

    def backward(self, dout: np.ndarray) -> None:
        grad = np.zeros_like(self.params["weight"])
        np.add.at(grad, self.ids.reshape(-1), dout.reshape(-1, self.embedding_dim))
        self.grads["weight"] = grad
        return None
