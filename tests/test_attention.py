"""Attention: MultiHeadAttention equals torch.nn.MultiheadAttention; finite differences for the rest."""

from __future__ import annotations

import numpy as np
import pytest

import lib

torch = pytest.importorskip("torch", reason="PyTorch not installed: cross-checks skipped (make test installs it)")
TOL = 1e-10


def _mha_pair(E=8, heads=2, seed=0):
    ours = lib.MultiHeadAttention(E, heads, rng=np.random.default_rng(seed))
    theirs = torch.nn.MultiheadAttention(E, heads, batch_first=True).double()
    rng = np.random.default_rng(seed + 1)
    state = {k: rng.standard_normal(v.shape) * 0.5 for k, v in ours.params.items()}  # non-zero biases too
    ours.load_state_dict(state)
    theirs.load_state_dict({k: torch.tensor(v) for k, v in state.items()})
    return ours, theirs


@pytest.mark.parametrize("masking", ["none", "causal", "padding"])
@pytest.mark.parametrize("self_attention", [False, True])
def test_multihead_equals_torch(masking, self_attention):
    rng = np.random.default_rng(3)
    ours, theirs = _mha_pair()
    N, Lq, Lk, E = 3, 4, 4 if self_attention else 6, 8
    q = rng.standard_normal((N, Lq, E))
    k = q if self_attention else rng.standard_normal((N, Lk, E))
    v = q if self_attention else rng.standard_normal((N, Lk, E))
    mask, kwargs = None, {}
    if masking == "causal":
        mask = np.tril(np.ones((Lq, Lk), bool))
        kwargs["attn_mask"] = torch.tensor(~mask)
    elif masking == "padding":
        valid = np.ones((N, Lk), bool)
        valid[1, 2:] = False
        valid[2, 3:] = False
        mask = valid[:, None, None, :]
        kwargs["key_padding_mask"] = torch.tensor(~valid)
    out, weights = ours.forward(q, k, v, mask)
    g = rng.standard_normal(out.shape)
    dq, dk, dv = ours.backward(g)

    qt = torch.tensor(q, requires_grad=True)
    kt = qt if self_attention else torch.tensor(k, requires_grad=True)
    vt = qt if self_attention else torch.tensor(v, requires_grad=True)
    tout, tweights = theirs(qt, kt, vt, average_attn_weights=False, **kwargs)
    (tout * torch.tensor(g)).sum().backward()
    errors = {"out": lib.relative_error(out, tout.detach().numpy()),
              "weights": lib.relative_error(weights, tweights.detach().numpy())}
    if self_attention:
        errors["dx"] = lib.relative_error(dq + dk + dv, qt.grad.numpy())
    else:
        errors.update(dq=lib.relative_error(dq, qt.grad.numpy()), dk=lib.relative_error(dk, kt.grad.numpy()),
                      dv=lib.relative_error(dv, vt.grad.numpy()))
    for name, p in theirs.named_parameters():
        errors[name] = lib.relative_error(ours.grads[name], p.grad.numpy())
    assert max(errors.values()) < TOL, errors
    if mask is not None:
        assert (weights[~np.broadcast_to(mask, weights.shape)] == 0).all()


def test_scaled_dot_product_gradient_check():
    rng = np.random.default_rng(4)
    q, k, v = rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 5, 4)), rng.standard_normal((2, 5, 2))
    mask = np.ones((2, 3, 5), bool)
    mask[0, :, 3:] = False
    att = lib.ScaledDotProductAttention()
    g = rng.standard_normal((2, 3, 2))
    att.forward(q, k, v, mask)
    dq, dk, dv = att.backward(g)
    errors = lib.gradient_check(lambda: float((att.forward(q, k, v, mask)[0] * g).sum()),
                                {"q": q, "k": k, "v": v}, {"q": dq, "k": dk, "v": dv})
    assert max(errors.values()) < 1e-7, errors
    out, w = lib.scaled_dot_product_attention(q, k, v, mask)
    assert (w[0, :, 3:] == 0).all()
    np.testing.assert_allclose(w.sum(axis=-1), 1.0)


def test_additive_attention_gradient_check():
    rng = np.random.default_rng(5)
    att = lib.AdditiveAttention(query_dim=3, key_dim=4, hidden_dim=5, rng=rng)
    query, keys, values = rng.standard_normal((2, 3)), rng.standard_normal((2, 6, 4)), rng.standard_normal((2, 6, 2))
    mask = np.ones((2, 6), bool)
    mask[1, 4:] = False
    g = rng.standard_normal((2, 2))
    context, weights = att.forward(query, keys, values, mask)
    assert (weights[1, 4:] == 0).all() and np.allclose(weights.sum(axis=1), 1)
    dq, dk, dv = att.backward(g)
    analytic = {"query": dq, "keys": dk, "values": dv, **{k: v.copy() for k, v in att.grads.items()}}
    errors = lib.gradient_check(lambda: float((att.forward(query, keys, values, mask)[0] * g).sum()),
                                {"query": query, "keys": keys, "values": values, **att.params}, analytic)
    assert max(errors.values()) < 1e-7, errors


def test_masked_inputs_do_not_change_outputs():
    rng = np.random.default_rng(6)
    mha = lib.MultiHeadAttention(4, 2, rng=rng)
    x = rng.standard_normal((1, 5, 4))
    valid = np.array([[True, True, True, False, False]])
    out1, _ = mha.forward(x, x, x, valid[:, None, None, :])
    x2 = x.copy()
    x2[0, 3:] = 100.0
    out2, _ = mha.forward(x[:, :3], x2, x2, valid[:, None, None, :])
    np.testing.assert_allclose(out1[:, :3], out2, atol=1e-12)


def test_bad_input():
    with pytest.raises(ValueError, match="divisible"):
        lib.MultiHeadAttention(6, 4)
    mha = lib.MultiHeadAttention(4, 2)
    with pytest.raises(ValueError, match=r"MultiHeadAttention query expected input of shape \(batch, Lq, 4\)"):
        mha.forward(np.zeros((2, 3, 5)), np.zeros((2, 3, 5)), np.zeros((2, 3, 5)))
    with pytest.raises(TypeError, match="dtype float64, got float32"):
        x = np.zeros((1, 2, 4), np.float32)
        mha.forward(x, x, x)
    with pytest.raises(ValueError, match="no key to attend to"):
        x = np.zeros((1, 2, 4))
        mha.forward(x, x, x, np.zeros((2, 2), bool))
