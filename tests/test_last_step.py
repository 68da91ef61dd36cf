"""LastStep: a recurrent layer as a one-array layer for lib.fit and lib.Sequential — finite differences,
the same parameters, train/eval forwarded, and a model trained end to end by lib.fit."""

from __future__ import annotations

import numpy as np
import pytest

import lib


@pytest.mark.parametrize("cls", [lib.RNN, lib.LSTM, lib.GRU])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("which", ["output", "state"])
@pytest.mark.parametrize("with_lengths", [False, True])
def test_gradient_check(cls, bidirectional, which, with_lengths):
    rng = np.random.default_rng(0)
    step = lib.LastStep(cls(3, 4, num_layers=2, bidirectional=bidirectional, rng=rng), which)
    x = rng.standard_normal((3, 5, 3))
    lengths = np.array([5, 2, 4]) if with_lengths else None
    y = step.forward(x, lengths=lengths)
    assert y.shape == (3, 4 * (2 if bidirectional else 1))
    g = rng.standard_normal(y.shape)
    dx = step.backward(g)
    analytic = {"x": dx, **{k: v.copy() for k, v in step.grads.items()}}
    errors = lib.gradient_check(lambda: float((step.forward(x, lengths=lengths) * g).sum()),
                                {"x": x, **step.params}, analytic)
    assert max(errors.values()) < 1e-7, errors


@pytest.mark.parametrize("cls", [lib.RNN, lib.LSTM, lib.GRU])
def test_what_it_returns(cls):
    rng = np.random.default_rng(1)
    layer = cls(3, 4, num_layers=2, bidirectional=True, rng=rng)
    x = rng.standard_normal((2, 6, 3))
    lengths = np.array([6, 3])
    outputs, state = layer.forward(x, lengths=lengths)
    h = state[0] if isinstance(state, tuple) else state
    np.testing.assert_array_equal(lib.LastStep(layer).forward(x, lengths=lengths),
                                  outputs[np.arange(2), lengths - 1])
    np.testing.assert_array_equal(lib.LastStep(layer, "state").forward(x, lengths=lengths),
                                  np.concatenate([h[2], h[3]], axis=1))  # layer 1, both directions
    one_way = cls(3, 4, rng=rng)
    np.testing.assert_allclose(lib.LastStep(one_way, "state").forward(x), lib.LastStep(one_way).forward(x))


def test_parameters_modes_and_state_dict_are_the_layers():
    gru = lib.GRU(2, 3, num_layers=2, dropout=0.5, rng=np.random.default_rng(2))
    step = lib.LastStep(gru)
    assert step.params is gru.params and step.num_parameters() == gru.num_parameters()
    model = lib.Sequential(step, lib.Dense(3, 1))
    model.eval()
    assert not gru.training
    x = np.random.default_rng(3).standard_normal((4, 5, 2))
    np.testing.assert_array_equal(model.forward(x), model.forward(x))  # eval: no dropout masks
    model.train()
    assert gru.training
    state = model.state_dict()
    assert "0.weight_hh_l1" in state
    gru.params["bias_hh_l0"][...] = 7.0
    model.load_state_dict(state)
    np.testing.assert_array_equal(gru.params["bias_hh_l0"], state["0.bias_hh_l0"])


def test_fit_trains_a_bare_recurrent_layer_end_to_end():
    """The adding problem with T = 10: a GRU read out at its last step beats the trivial MSE 1/6 by far."""
    x, y = lib.adding_problem(600, 10, np.random.default_rng(4))
    x_test, y_test = lib.adding_problem(300, 10, np.random.default_rng(5))
    rng = np.random.default_rng(6)
    model = lib.Sequential(lib.LastStep(lib.GRU(2, 16, rng=rng)), lib.Dense(16, 1, rng=rng))
    history = lib.fit(model, lib.mse_loss, lib.Adam(model, lr=1e-2), x, y, epochs=15, batch_size=32,
                      rng=rng, validation_data=(x_test, y_test))
    assert history.val_loss[-1] < 0.2 * (1 / 6), history.val_loss[-1]
    check = lib.check_layer(lib.LastStep(lib.LSTM(2, 3, rng=rng)), x[:2, :4].copy())
    assert max(check.values()) < 1e-7


def test_bad_input():
    with pytest.raises(TypeError, match="LastStep expected a recurrent layer .* got Dense"):
        lib.LastStep(lib.Dense(2, 2))
    with pytest.raises(ValueError, match="LastStep expected which='output' or 'state', got 'last'"):
        lib.LastStep(lib.GRU(2, 3), "last")
    step = lib.LastStep(lib.GRU(2, 3))
    with pytest.raises(RuntimeError, match="LastStep.backward called before forward"):
        step.backward(np.zeros((1, 3)))
    step.forward(np.zeros((2, 4, 2)))
    with pytest.raises(ValueError, match=r"LastStep.backward expected a gradient of shape \(2, 3\)"):
        step.backward(np.zeros((3, 2)))
    with pytest.raises(ValueError, match="LastStep.backward got non-finite values"):
        step.backward(np.full((2, 3), np.nan))
