"""Gradient clipping equals torch.nn.utils; truncated BPTT carries the state across chunks."""

from __future__ import annotations

import numpy as np
import pytest

import lib

torch = pytest.importorskip("torch", reason="PyTorch not installed: cross-checks skipped (make test installs it)")


@pytest.mark.parametrize("max_norm, norm_type", [(0.5, 2.0), (100.0, 2.0), (0.3, 1.0), (0.1, np.inf)])
def test_clip_grad_norm_equals_torch(max_norm, norm_type):
    rng = np.random.default_rng(0)
    layer = lib.LSTM(3, 4, num_layers=2, rng=rng)
    for k, v in layer.params.items():
        layer.grads[k] = rng.standard_normal(v.shape)
    tparams = [torch.nn.Parameter(torch.tensor(v)) for v in layer.params.values()]
    for p, g in zip(tparams, layer.grads.values(), strict=True):
        p.grad = torch.tensor(g.copy())
    total = lib.clip_grad_norm(layer, max_norm, norm_type)
    ttotal = torch.nn.utils.clip_grad_norm_(tparams, max_norm, norm_type)
    assert total == pytest.approx(float(ttotal), rel=1e-12)
    for p, g in zip(tparams, layer.grads.values(), strict=True):
        assert lib.relative_error(g, p.grad.numpy()) < 1e-12


def test_clip_grad_value():
    grads = {"w": np.array([-3.0, 0.5, 2.0])}
    lib.clip_grad_value(grads, 1.0)
    np.testing.assert_array_equal(grads["w"], [-1.0, 0.5, 1.0])
    with pytest.raises(TypeError, match="modules or dicts"):
        lib.clip_grad_norm(["nope"], 1.0)


def test_truncated_bptt_carries_state():
    rng = np.random.default_rng(1)
    rnn, head = lib.GRU(1, 8, rng=rng), lib.Dense(8, 1, rng=rng)
    x = rng.standard_normal((2, 30, 1))
    y = np.cumsum(x, axis=1) * 0.1  # needs memory of the past
    opt = lib.Adam([rnn, head], lr=0.01)
    losses, state = lib.truncated_bptt(rnn, head, x, y, chunk=10, loss_fn=lib.mse_loss, optimizer=opt, max_norm=1.0)
    assert len(losses) == 3 and state.shape == (1, 2, 8)
    # the carried state is the one a single forward pass over the whole sequence would reach
    # if the weights had not changed: check with no learning
    rnn2 = lib.GRU(1, 8, rng=np.random.default_rng(2))
    full, h_full = rnn2.forward(x)
    h = None
    for s in range(0, 30, 10):
        _, h = rnn2.forward(x[:, s:s + 10], h)
    np.testing.assert_allclose(h, h_full, rtol=1e-12)
    with pytest.raises(ValueError, match="chunk >= 1"):
        lib.truncated_bptt(rnn, head, x, y, 0, lib.mse_loss, opt)
