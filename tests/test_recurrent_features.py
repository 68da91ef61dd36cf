"""Recurrent layers beyond the PyTorch cross-checks: finite differences, float32, recording hooks,
masks, and clear errors (dropout: test_recurrent_dropout.py; bad input and aliasing: test_recurrent_inputs.py)."""

from __future__ import annotations

import numpy as np
import pytest

import lib

LAYERS = {"rnn": lib.RNN, "lstm": lib.LSTM, "gru": lib.GRU}


@pytest.mark.parametrize("kind", list(LAYERS))
def test_finite_differences(kind):
    rng = np.random.default_rng(0)
    layer = LAYERS[kind](2, 3, num_layers=2, bidirectional=True, rng=rng)
    x = rng.standard_normal((2, 4, 2))
    g = rng.standard_normal((2, 4, 6))
    layer.forward(x)
    dx = layer.backward(g)
    analytic = {"x": dx, **{k: v.copy() for k, v in layer.grads.items()}}
    errors = lib.gradient_check(lambda: float((layer.forward(x)[0] * g).sum()), {"x": x, **layer.params}, analytic)
    assert max(errors.values()) < 1e-7, errors


@pytest.mark.parametrize("cell", ["RNNCell", "LSTMCell", "GRUCell"])
def test_cells_by_hand_equal_the_sequence_layer(cell):
    """Stepping a cell over time gives the sequence layer's outputs (same parameters)."""
    rng = np.random.default_rng(1)
    c = getattr(lib, cell)(3, 4, rng=rng)
    layer = getattr(lib, cell.replace("Cell", ""))(3, 4, rng=rng)
    layer.load_state_dict({f"{k}_l0": v for k, v in c.params.items()})
    x = rng.standard_normal((2, 5, 3))
    out, _ = layer.forward(x)
    state = None
    for t in range(5):
        state = c.forward(x[:, t], state)
        h = state[0] if cell == "LSTMCell" else state
        np.testing.assert_allclose(h, out[:, t], rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("kind", list(LAYERS))
def test_float32(kind):
    layer = LAYERS[kind](3, 4, dtype=np.float32)
    x = np.random.default_rng(2).standard_normal((2, 5, 3)).astype(np.float32)
    out, state = layer.forward(x)
    assert out.dtype == np.float32
    dx = layer.backward(np.ones_like(out))
    assert dx.dtype == np.float32 and all(g.dtype == np.float32 for g in layer.grads.values())
    with pytest.raises(TypeError, match="expected dtype float32, got float64"):
        layer.forward(x.astype(np.float64))


@pytest.mark.parametrize("kind", list(LAYERS))
def test_recording_hooks(kind):
    rng = np.random.default_rng(3)
    layer = LAYERS[kind](2, 5, num_layers=2, bidirectional=True, rng=rng, record=True)
    x = rng.standard_normal((3, 7, 2))
    out, _ = layer.forward(x)
    g = np.zeros_like(out)
    g[:, -1, :5] = 1.0  # loss on the last step of the forward direction only
    layer.backward(g)
    hist = layer.history
    assert hist["names"] == ["l0", "l0_reverse", "l1", "l1_reverse"]
    assert all(h.shape == (3, 7, 5) for h in hist["h"])
    np.testing.assert_allclose(hist["h"][2], out[:, :, :5])
    norms = hist["grad_h_norm"][2]  # layer 1, forward direction
    assert norms.shape == (7,) and norms[-1] == pytest.approx(np.sqrt(3 * 5))  # ‖ones (3, 5)‖
    expected = {"rnn": set(), "lstm": {"i", "f", "g", "o", "c"}, "gru": {"r", "z", "n"}}[kind]
    assert set(hist["gates"][0]) == expected
    for gate in hist["gates"][0].values():
        assert gate.shape == (3, 7, 5)


def test_lstm_gates_recorded_are_the_cells_gates():
    rng = np.random.default_rng(4)
    layer = lib.LSTM(2, 3, rng=rng, record=True)
    cell = lib.LSTMCell(2, 3)
    cell.load_state_dict({k[:-3]: v for k, v in layer.params.items()})
    x = rng.standard_normal((1, 4, 2))
    layer.forward(x)
    state = None
    for t in range(4):
        state = cell.forward(x[:, t], state)
        _, h, c, i, f, g, o, _ = cell.cache
        np.testing.assert_allclose(layer.history["gates"][0]["f"][:, t], f, rtol=1e-12)
        np.testing.assert_allclose(layer.history["gates"][0]["c"][:, t], state[1], rtol=1e-12)


def test_lengths_freeze_the_state_and_zero_the_output():
    rng = np.random.default_rng(6)
    layer = lib.LSTM(2, 3, rng=rng)
    x = rng.standard_normal((2, 5, 2))
    out, (h, c) = layer.forward(x, lengths=np.array([5, 2]))
    assert (out[1, 2:] == 0).all()
    short, (h_short, _) = layer.forward(x[1:, :2])
    np.testing.assert_allclose(h[0, 1], h_short[0, 0], rtol=1e-12)


@pytest.mark.parametrize("kind", list(LAYERS))
def test_errors(kind):
    layer = LAYERS[kind](3, 4, num_layers=2)
    with pytest.raises(ValueError, match=r"expected input of shape \(batch, time, 3\), got \(2, 5\)"):
        layer.forward(np.zeros((2, 5)))
    with pytest.raises(ValueError, match="non-finite"):
        layer.forward(np.full((1, 2, 3), np.nan))
    bad_state = np.zeros((1, 2, 4))
    with pytest.raises((ValueError, TypeError), match=r"state"):
        layer.forward(np.zeros((2, 5, 3)), (bad_state, bad_state) if kind == "lstm" else bad_state)
    with pytest.raises(ValueError, match="lengths"):
        layer.forward(np.zeros((2, 5, 3)), lengths=np.array([6, 1]))
    with pytest.raises(RuntimeError, match="before forward"):
        LAYERS[kind](3, 4).backward(np.zeros((2, 5, 4)))
    layer.forward(np.zeros((2, 5, 3)))
    with pytest.raises(ValueError, match=r"doutputs expected input of shape \(2, 5, 4\)"):
        layer.backward(np.zeros((2, 5, 8)))
    with pytest.raises(ValueError, match="positive int"):
        LAYERS[kind](3, 0)
    if kind == "rnn":
        with pytest.raises(ValueError, match="nonlinearity"):
            lib.RNN(3, 4, nonlinearity="sigmoid")


@pytest.mark.parametrize("cls", [lib.RNN, lib.LSTM, lib.GRU])
@pytest.mark.parametrize("batch, steps", [(1, 5), (3, 1), (2, 4)])
def test_results_do_not_alias_reused_work_arrays(cls, batch, steps):
    """The layers reuse their work arrays between calls: nothing they return may share memory with them."""
    rng = np.random.default_rng(0)
    layer = cls(3, 4, num_layers=2, rng=rng, record=True)
    x1, x2 = rng.normal(size=(batch, steps, 3)), rng.normal(size=(batch, steps, 3))
    out1, state1 = layer.forward(x1)
    kept = [out1.copy()] + [s.copy() for s in (state1 if isinstance(state1, tuple) else (state1,))]
    hist1 = [h.copy() for h in layer.history["h"]] + [g.copy() for d in layer.history["gates"] for g in d.values()]
    h_first = layer.history["h"] + [g for d in layer.history["gates"] for g in d.values()]
    dx1 = layer.backward(np.ones_like(out1))
    dx1_kept = dx1.copy()
    out2, _ = layer.forward(x2)
    layer.backward(np.full_like(out2, 2.0))
    assert np.array_equal(out1, kept[0]) and np.array_equal(dx1, dx1_kept)
    for s, k in zip(state1 if isinstance(state1, tuple) else (state1,), kept[1:], strict=True):
        assert np.array_equal(s, k)
    for h, k in zip(h_first, hist1, strict=True):
        assert np.array_equal(h, k)
