"""Seq2Seq with and without attention: finite-difference gradients, learning, greedy decoding."""

from __future__ import annotations

import numpy as np
import pytest

import lib


def _batch(rng, N=3, S=4, V=5):
    src = rng.integers(1, V, size=(N, S))
    tgt = src[:, ::-1]
    tgt_in = np.concatenate([np.zeros((N, 1), int), tgt[:, :-1]], axis=1)  # 0 = BOS
    return src, tgt_in, tgt


@pytest.mark.parametrize("attention", [False, True])
@pytest.mark.parametrize("lengths", [None, np.array([4, 2, 3])])
def test_gradient_check(attention, lengths):
    rng = np.random.default_rng(0)
    model = lib.Seq2Seq(5, 5, embed_dim=3, hidden_size=4, attention=attention, attention_dim=3, rng=rng)
    src, tgt_in, tgt = _batch(rng)

    def loss():
        return lib.softmax_cross_entropy(model.forward(src, tgt_in, lengths), tgt)[0]

    _, dlogits = lib.softmax_cross_entropy(model.forward(src, tgt_in, lengths), tgt)
    model.backward(dlogits)
    analytic = {k: v.copy() for k, v in model.grads.items()}
    # eps = 1e-4: the attention's query weights get gradients of ~1e-4 here, and with the default
    # 1e-6 the round-off of the loss (~1e-16 / eps) swamps them; the O(eps²) truncation is far smaller.
    errors = lib.gradient_check(loss, model.params, analytic, eps=1e-4)
    assert max(errors.values()) < 1e-7, {k: v for k, v in errors.items() if v >= 1e-7}


def test_learns_to_reverse_and_decodes_greedily():
    rng = np.random.default_rng(1)
    model = lib.Seq2Seq(6, 6, embed_dim=8, hidden_size=32, attention=True, rng=rng)
    opt = lib.Adam(model, lr=0.01)
    for _ in range(300):
        src, tgt_in, tgt = _batch(rng, N=32, S=5, V=6)
        loss, dlogits = lib.softmax_cross_entropy(model.forward(src, tgt_in), tgt)
        model.backward(dlogits)
        lib.clip_grad_norm(model, 5.0)
        opt.step()
    src, _, tgt = _batch(np.random.default_rng(2), N=200, S=5, V=6)
    tokens, attn = model.greedy_decode(src, max_len=5, bos=0)
    accuracy = (tokens == tgt).mean()
    assert accuracy > 0.9, accuracy
    assert attn.shape == (200, 5, 5)
    np.testing.assert_allclose(attn.sum(axis=2), 1.0)


def test_parameters_and_state_dict():
    model = lib.Seq2Seq(7, 9, embed_dim=3, hidden_size=4, attention=True)
    keys = set(model.params)
    assert {"src_embed.weight", "encoder.weight_hh_l0", "decoder.weight_ih", "attention.v", "out.weight"} <= keys
    plain = lib.Seq2Seq(7, 9, embed_dim=3, hidden_size=4, attention=False)
    assert not any(k.startswith("attention.") for k in plain.params)
    state = model.state_dict()
    model.params["out.bias"][...] = 3.0
    model.load_state_dict(state)
    np.testing.assert_array_equal(model.params["out.bias"], state["out.bias"])
