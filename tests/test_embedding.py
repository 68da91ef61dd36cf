"""Embedding: gradients by central differences, equality with torch.nn.Embedding (repeated ids sum)."""

from __future__ import annotations

import numpy as np
import pytest

import lib

torch = pytest.importorskip("torch", reason="PyTorch not installed: cross-checks skipped (make test installs it)")


@pytest.mark.parametrize("shape", [(7,), (3, 5), (2, 3, 4)])
def test_embedding_gradient_check(shape):
    rng = np.random.default_rng(0)
    emb = lib.Embedding(6, 4, rng=rng)
    ids = rng.integers(0, 6, size=shape)  # with 7+ draws from 6 ids some repeat: their gradients must add
    g = rng.standard_normal(shape + (4,))

    def loss() -> float:
        return float((emb.forward(ids) * g).sum())

    emb.forward(ids)
    emb.backward(g)
    analytic = {"weight": emb.grads["weight"].copy()}
    errors = lib.gradient_check(loss, {"weight": emb.params["weight"]}, analytic)
    assert errors["weight"] < 1e-7, errors


def test_embedding_matches_torch():
    rng = np.random.default_rng(1)
    emb = lib.Embedding(10, 5, rng=rng)
    ids = np.array([[1, 2, 2, 9], [0, 2, 1, 1]])
    g = rng.standard_normal((2, 4, 5))
    ref = torch.nn.Embedding(10, 5, dtype=torch.float64)
    ref.load_state_dict({k: torch.tensor(v) for k, v in emb.state_dict().items()})
    assert set(emb.params) == set(ref.state_dict())
    yt = ref(torch.tensor(ids))
    yt.backward(torch.tensor(g))
    y = emb.forward(ids)
    assert emb.backward(g) is None  # ids have no gradient
    np.testing.assert_array_equal(y, yt.detach().numpy())  # a lookup: exactly equal
    assert lib.relative_error(emb.grads["weight"], ref.weight.grad.numpy()) < 1e-12
    assert not emb.grads["weight"][[3, 4, 5, 6, 7, 8]].any()  # rows never looked up get no gradient


def test_embedding_init_is_standard_normal_like_torch():
    w = lib.Embedding(400, 50, rng=np.random.default_rng(2)).params["weight"]
    assert abs(w.mean()) < 0.01 and abs(w.std() - 1.0) < 0.01  # PyTorch: N(0, 1)
