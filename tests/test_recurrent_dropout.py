"""The recurrent layers' three dropouts: ``dropout=`` as in PyTorch (a fresh mask at every step on the
outputs of all layers but the last), and Gal & Ghahramani's variational ``input_dropout=`` and
``recurrent_dropout=`` (one mask per sequence on x_t and on h_{t−1}, the same at every step)."""

from __future__ import annotations

import numpy as np
import pytest

import lib

LAYERS = {"rnn": lib.RNN, "lstm": lib.LSTM, "gru": lib.GRU}


def loss_and_grads(layer, x, g, state=None, gs=None, lengths=None):
    out, final = layer.forward(x, state, lengths=lengths)
    dx = layer.backward(g, gs)
    return out, final, dx


# -- dropout= means what it means in PyTorch ------------------------------------------------------------
@pytest.mark.parametrize("kind", list(LAYERS))
@pytest.mark.parametrize("bidirectional", [False, True])
def test_dropout_equals_torch_given_torch_masks(kind, bidirectional):
    """In training mode, with the masks torch drew (reproduced from its seed), outputs, final states, dx and
    every parameter gradient equal torch.nn's to 1e-10: same places, same scaling, fresh mask per step."""
    torch = pytest.importorskip("torch")
    N, T, D, H, L, p = 3, 5, 4, 6, 3, 0.4
    rng = np.random.default_rng(11)
    ours = LAYERS[kind](D, H, num_layers=L, bidirectional=bidirectional, dropout=p, rng=rng)
    theirs = getattr(torch.nn, kind.upper())(D, H, num_layers=L, bidirectional=bidirectional, dropout=p,
                                             batch_first=True).double()
    theirs.load_state_dict({k: torch.tensor(v) for k, v in ours.state_dict().items()})
    x = rng.standard_normal((N, T, D))
    g = rng.standard_normal((N, T, H * ours.num_directions))
    torch.manual_seed(3)
    xt = torch.tensor(x, requires_grad=True)
    tout, tfinal = theirs(xt)
    tfinals = list(tfinal) if kind == "lstm" else [tfinal]
    gfin = [rng.standard_normal(tuple(f.shape)) for f in tfinals]
    loss = (tout * torch.tensor(g)).sum() + sum((f * torch.tensor(gf)).sum() for f, gf in zip(tfinals, gfin,
                                                                                            strict=True))
    loss.backward()
    # torch draws one (T, N, directions·H) Bernoulli tensor per layer but the last, from its default generator
    torch.manual_seed(3)
    HD = H * ours.num_directions
    torch_masks = [(torch.empty(T, N, HD, dtype=torch.float64).bernoulli_(1 - p) / (1 - p)).numpy()
                   .transpose(1, 0, 2).copy() for _ in range(L - 1)]
    queue = iter(torch_masks)
    ours._draw_mask = lambda shape, rate: next(queue)  # (N, T, HD) masks, in the order the layer asks for them
    out, final = ours.forward(x)
    finals = list(final) if kind == "lstm" else [final]
    dx = ours.backward(g, tuple(gfin) if kind == "lstm" else gfin[0])
    errors = {"output": lib.relative_error(out, tout.detach().numpy()), "dx": lib.relative_error(dx, xt.grad.numpy())}
    for i, (f, tf) in enumerate(zip(finals, tfinals, strict=True)):
        errors[f"state{i}"] = lib.relative_error(f, tf.detach().numpy())
    for name, param in theirs.named_parameters():
        errors[name] = lib.relative_error(ours.grads[name], param.grad.numpy())
    assert max(errors.values()) < 1e-10, errors
    masks = ours.dropout_masks["output"]
    assert list(masks) == [f"l{k}" for k in range(L - 1)]  # every layer's outputs but the last
    for k, m in enumerate(torch_masks):
        np.testing.assert_array_equal(masks[f"l{k}"], m)


@pytest.mark.parametrize("kind", list(LAYERS))
def test_dropout_draws_a_fresh_mask_at_every_step(kind):
    p, N, T, H = 0.3, 50, 40, 20
    layer = LAYERS[kind](3, H, num_layers=2, dropout=p, rng=np.random.default_rng(0))
    layer.forward(np.random.default_rng(1).standard_normal((N, T, 3)))
    masks = layer.dropout_masks
    assert set(masks["output"]) == {"l0"} and not masks["input"] and not masks["recurrent"]
    m = masks["output"]["l0"]
    assert m.shape == (N, T, H) and set(np.unique(m)) == {0.0, 1 / (1 - p)}
    dropped = (m == 0).mean(axis=(0, 2))  # per step: about p, and steps differ
    n = N * H
    assert np.all(np.abs(dropped - p) < 5 * np.sqrt(p * (1 - p) / n))
    same = (m[:, 1:] == m[:, :-1]).mean()  # consecutive steps agree as often as independent masks would
    assert abs(same - (p**2 + (1 - p) ** 2)) < 0.02
    layer.eval()
    layer.forward(np.zeros((2, 3, 3)))
    assert layer.dropout_masks == {"output": {}, "input": {}, "recurrent": {}}


def test_dropout_with_one_layer_warns_like_torch():
    with pytest.warns(UserWarning, match="all layers but the last"):
        lib.LSTM(3, 4, dropout=0.5)


# -- variational dropout -------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", list(LAYERS))
def test_variational_masks_one_per_sequence(kind):
    N, D, H = 6, 3, 5
    layer = LAYERS[kind](D, H, num_layers=2, bidirectional=True, input_dropout=0.4, recurrent_dropout=0.5,
                         rng=np.random.default_rng(2))
    x = np.random.default_rng(3).standard_normal((N, 7, D))
    layer.forward(x)
    masks = layer.dropout_masks
    names = ["l0", "l0_reverse", "l1", "l1_reverse"]
    assert list(masks["input"]) == names and list(masks["recurrent"]) == names and not masks["output"]
    for name in names:
        m_in, m_rec = masks["input"][name], masks["recurrent"][name]
        assert m_in.shape == (N, D if name.startswith("l0") else 2 * H)  # no time axis
        assert m_rec.shape == (N, H)
        assert set(np.unique(m_in)) <= {0.0, 1 / 0.6} and set(np.unique(m_rec)) <= {0.0, 2.0}
        assert len({row.tobytes() for row in m_rec}) > 1  # different sequences, different masks
        with pytest.raises(ValueError, match="read-only"):
            m_rec[0, 0] = 1.0
    first = masks["recurrent"]["l0"].copy()
    layer.forward(x)
    assert not np.array_equal(layer.dropout_masks["recurrent"]["l0"], first)  # a new draw every forward
    layer.eval()
    out_a, _ = layer.forward(x)
    out_b, _ = layer.forward(x)
    np.testing.assert_array_equal(out_a, out_b)  # evaluation: no dropout, deterministic
    assert layer.dropout_masks == {"output": {}, "input": {}, "recurrent": {}}


@pytest.mark.parametrize("kind", list(LAYERS))
def test_recurrent_mask_multiplies_h_prev_at_every_step(kind):
    """Stepping by hand with the layer's masks: x_t ⊙ m_x and h_{t−1} ⊙ m_h inside the recurrent weights,
    the same m_h at every step; the LSTM's cell path and the GRU's interpolation are not masked."""
    rng = np.random.default_rng(4)
    N, T, D, H = 4, 6, 3, 5
    layer = LAYERS[kind](D, H, input_dropout=0.3, recurrent_dropout=0.5, rng=rng)
    x = rng.standard_normal((N, T, D))
    out, _ = layer.forward(x)
    m_x, m_h = layer.dropout_masks["input"]["l0"], layer.dropout_masks["recurrent"]["l0"]
    p = {k[:-3]: v for k, v in layer.params.items()}
    h, c = np.zeros((N, H)), np.zeros((N, H))
    for t in range(T):
        gx = (x[:, t] * m_x) @ p["weight_ih"].T + p["bias_ih"]
        gh = (h * m_h) @ p["weight_hh"].T + p["bias_hh"]
        if kind == "rnn":
            h = np.tanh(gx + gh)
        elif kind == "lstm":
            i, f, g, o = np.split(gx + gh, 4, axis=1)
            c = lib.sigmoid(f) * c + lib.sigmoid(i) * np.tanh(g)  # c_{t−1} unmasked
            h = lib.sigmoid(o) * np.tanh(c)
        else:
            r = lib.sigmoid(gx[:, :H] + gh[:, :H])
            z = lib.sigmoid(gx[:, H:2 * H] + gh[:, H:2 * H])
            n = np.tanh(gx[:, 2 * H:] + r * gh[:, 2 * H:])
            h = (1 - z) * n + z * h  # the interpolation uses h_{t−1} unmasked
        np.testing.assert_allclose(out[:, t], h, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("kind", list(LAYERS))
@pytest.mark.parametrize("with_lengths", [False, True])
def test_gradients_with_every_dropout_match_central_differences(kind, with_lengths):
    rng = np.random.default_rng(5)
    layer = LAYERS[kind](2, 3, num_layers=2, bidirectional=True, dropout=0.3, input_dropout=0.4,
                         recurrent_dropout=0.5, rng=rng)
    N, T = 3, 4
    x = rng.standard_normal((N, T, 2))
    shape = (4, N, 3)
    state = (rng.standard_normal(shape), rng.standard_normal(shape)) if kind == "lstm" else rng.standard_normal(shape)
    lengths = np.array([4, 2, 3]) if with_lengths else None
    g = rng.standard_normal((N, T, 6))
    rng_state = layer.rng.bit_generator.state
    layer.forward(x, state, lengths=lengths)
    assert all(layer.dropout_masks[k] for k in ("output", "input", "recurrent"))
    dx = layer.backward(g)
    states = dict(zip(("h0", "c0"), state, strict=True)) if kind == "lstm" else {"h0": state}
    dstates = dict(zip(("h0", "c0"), layer.dstate, strict=True)) if kind == "lstm" else {"h0": layer.dstate}
    analytic = {"x": dx, **dstates, **{k: v.copy() for k, v in layer.grads.items()}}

    def loss():  # the same masks every time: rewind the layer's generator
        layer.rng.bit_generator.state = rng_state
        return float((layer.forward(x, state, lengths=lengths)[0] * g).sum())

    errors = lib.gradient_check(loss, {"x": x, **states, **layer.params}, analytic)
    assert max(errors.values()) < 1e-7, errors


def test_input_dropout_per_layer_reproduces_the_old_between_layer_mask():
    """``input_dropout=(0, p)``: one (N, H) mask on the second layer's input only, drawn as the book's
    chapters drew it before ``dropout=`` took PyTorch's meaning (rng.random((N, H)) >= p, scaled)."""
    layer = lib.GRU(3, 4, num_layers=2, input_dropout=(0.0, 0.5), rng=np.random.default_rng(6))
    expected_rng = np.random.default_rng()
    expected_rng.bit_generator.state = layer.rng.bit_generator.state
    layer.forward(np.random.default_rng(7).standard_normal((5, 6, 3)))
    masks = layer.dropout_masks["input"]
    assert list(masks) == ["l1"]
    np.testing.assert_array_equal(masks["l1"], (expected_rng.random((5, 4)) >= 0.5) / 0.5)


@pytest.mark.parametrize("kwargs, error, match", [
    ({"dropout": 1.0}, ValueError, r"0 <= dropout < 1, got 1.0"),
    ({"dropout": -0.1}, ValueError, r"0 <= dropout < 1"),
    ({"dropout": float("nan")}, ValueError, r"0 <= dropout < 1, got nan"),
    ({"dropout": "0.5"}, TypeError, r"dropout to be a float in \[0, 1\), got str"),
    ({"recurrent_dropout": 1.5}, ValueError, r"0 <= recurrent_dropout < 1"),
    ({"input_dropout": (0.1, 0.2, 0.3)}, ValueError,
     r"input_dropout as one float or 2 floats \(one per layer\), got 3"),
    ({"input_dropout": True}, TypeError, r"input_dropout to be a float"),
])
def test_dropout_arguments_are_checked(kwargs, error, match):
    with pytest.raises(error, match=match):
        lib.LSTM(3, 4, num_layers=2, **kwargs)
