"""Recurrent layers and cells as a demanding user meets them: the caller's arrays may be reused before
``backward`` (no silent aliasing), and every bad input — empty sizes, wrong shapes, wrong kinds, NaN, calls
out of order — is a clear error that names what was expected."""

from __future__ import annotations

import numpy as np
import pytest

import lib

LAYERS = {"rnn": lib.RNN, "lstm": lib.LSTM, "gru": lib.GRU}
CELLS = {"rnn": lib.RNNCell, "lstm": lib.LSTMCell, "gru": lib.GRUCell}


def _state(kind, rng, shape):
    return (rng.standard_normal(shape), rng.standard_normal(shape)) if kind == "lstm" else rng.standard_normal(shape)


def _arrays(state):
    return list(state) if isinstance(state, tuple) else [state]


# -- aliasing -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", list(LAYERS))
@pytest.mark.parametrize("batch, steps", [(1, 5), (3, 1), (1, 1), (2, 4)])
@pytest.mark.parametrize("reuse", ["x", "state", "outputs", "params"])
def test_layer_gradients_do_not_depend_on_what_the_caller_does_before_backward(kind, batch, steps, reuse):
    """Overwriting x, the initial state, the returned arrays or the parameters (in place) between forward and
    backward leaves backward's results those of the forward pass that ran."""
    rng = np.random.default_rng(0)
    layer = LAYERS[kind](3, 4, num_layers=2, bidirectional=True, rng=rng)
    x = rng.standard_normal((batch, steps, 3))
    state = _state(kind, rng, (4, batch, 4))
    g = rng.standard_normal((batch, steps, 8))
    layer.forward(x.copy(), tuple(a.copy() for a in _arrays(state)) if kind == "lstm" else state.copy())
    dx_ref = layer.backward(g)
    grads_ref = {k: v.copy() for k, v in layer.grads.items()}
    dstate_ref = [a.copy() for a in _arrays(layer.dstate)]
    params_before = {k: v.copy() for k, v in layer.params.items()}

    out, final = layer.forward(x, state)
    if reuse == "x":
        x[...] = 7.0
    elif reuse == "state":
        for a in _arrays(state):
            a[...] = -3.0
    elif reuse == "outputs":
        out[...] = 5.0
        for a in _arrays(final):
            a[...] = 5.0
    else:
        for p in layer.params.values():
            p *= 2.0
    dx = layer.backward(g)
    np.testing.assert_array_equal(dx, dx_ref)
    for k, v in grads_ref.items():
        np.testing.assert_array_equal(layer.grads[k], v, err_msg=k)
    for a, b in zip(_arrays(layer.dstate), dstate_ref, strict=True):
        np.testing.assert_array_equal(a, b)
    if reuse == "params":
        for k, v in layer.params.items():
            np.testing.assert_array_equal(v, 2.0 * params_before[k])


@pytest.mark.parametrize("kind", list(CELLS))
@pytest.mark.parametrize("batch", [1, 3])
def test_cell_gradients_do_not_depend_on_reused_inputs(kind, batch):
    rng = np.random.default_rng(1)
    cell = CELLS[kind](3, 4, rng=rng)
    x = rng.standard_normal((batch, 3))
    state = _state(kind, rng, (batch, 4))
    dh = rng.standard_normal((batch, 4))
    cell.forward(x.copy(), tuple(a.copy() for a in state) if kind == "lstm" else state.copy())
    ref = cell.backward(dh)
    grads_ref = {k: v.copy() for k, v in cell.grads.items()}
    cell.forward(x, state)
    x[...] = 9.0
    for a in _arrays(state):
        a[...] = 9.0
    got = cell.backward(dh)
    for a, b in zip(_arrays(got[1]) + [got[0]], _arrays(ref[1]) + [ref[0]], strict=True):
        np.testing.assert_array_equal(a, b)
    for k, v in grads_ref.items():
        np.testing.assert_array_equal(cell.grads[k], v)


# -- bad input: layers ------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", list(LAYERS))
@pytest.mark.parametrize("args, kwargs, error, match", [
    ((3, 0), {}, ValueError, r"hidden_size to be a positive int, got 0"),
    ((0, 4), {}, ValueError, r"input_size to be a positive int, got 0"),
    ((3, 4.0), {}, ValueError, r"hidden_size to be a positive int, got 4.0"),
    ((3, True), {}, ValueError, r"hidden_size to be a positive int, got True"),
    ((3, 4), {"num_layers": 0}, ValueError, r"num_layers to be a positive int, got 0"),
    ((3, 4), {"bidirectional": "yes"}, TypeError, r"bidirectional to be a bool, got 'yes'"),
    ((3, 4), {"record": 1}, TypeError, r"record to be a bool, got 1"),
    ((3, 4), {"rng": 0}, TypeError, r"rng to be an np.random.Generator .*got int"),
    ((3, 4), {"dtype": np.int64}, TypeError, r"dtype must be float32 or float64, got int64"),
])
def test_constructor_errors(kind, args, kwargs, error, match):
    with pytest.raises(error, match=match):
        LAYERS[kind](*args, **kwargs)


@pytest.mark.parametrize("kind", list(LAYERS))
def test_forward_errors(kind):
    name = kind.upper()
    layer = LAYERS[kind](3, 4, num_layers=2)
    x = np.zeros((2, 5, 3))
    with pytest.raises(ValueError, match=rf"{name} expected at least one time step, got x of shape \(2, 0, 3\)"):
        layer.forward(np.zeros((2, 0, 3)))  # PyTorch refuses it too
    with pytest.raises(ValueError, match=r"expected input of shape \(batch, time, 3\), got \(2, 5\)"):
        layer.forward(np.zeros((2, 5)))
    with pytest.raises(ValueError, match=r"expected input of shape \(batch, time, 3\), got \(2, 5, 4\)"):
        layer.forward(np.zeros((2, 5, 4)))
    with pytest.raises(TypeError, match=r"expected a numpy array, got list"):
        layer.forward(x.tolist())
    with pytest.raises(TypeError, match=r"expected dtype float64, got float32"):
        layer.forward(x.astype(np.float32))
    with pytest.raises(ValueError, match="non-finite"):
        layer.forward(np.full((1, 2, 3), np.nan))
    # lengths
    with pytest.raises(ValueError, match=r"lengths with an empty batch \(0 sequences\)"):
        layer.forward(np.zeros((0, 5, 3)), lengths=np.array([], dtype=int))
    with pytest.raises(TypeError, match=r"lengths as integers, got dtype float64"):
        layer.forward(x, lengths=np.array([5.0, 2.0]))
    with pytest.raises(TypeError, match=r"lengths as integers, got dtype bool"):
        layer.forward(x, lengths=np.array([True, True]))
    with pytest.raises(TypeError, match=r"lengths as an array or list of 2 ints, got int"):
        layer.forward(x, lengths=5)
    with pytest.raises(ValueError, match=r"lengths of shape \(2,\), one per sequence, got \(3,\)"):
        layer.forward(x, lengths=[5, 2, 1])
    with pytest.raises(ValueError, match=r"lengths in \[1, 5\], got \[6 1\]"):
        layer.forward(x, lengths=np.array([6, 1]))
    with pytest.raises(ValueError, match=r"lengths in \[1, 5\], got \[0 1\]"):
        layer.forward(x, lengths=[0, 1])


@pytest.mark.parametrize("kind", list(LAYERS))
def test_state_errors(kind):
    name = kind.upper()
    layer = LAYERS[kind](3, 4, num_layers=2, bidirectional=True)
    x = np.zeros((2, 5, 3))
    good = np.zeros((4, 2, 4))
    if kind == "lstm":
        with pytest.raises(TypeError, match=r"LSTM expected state as a pair \(h_0, c_0\), each of shape "
                                            r"\(4, 2, 4\), got ndarray"):
            layer.forward(x, good)
        with pytest.raises(TypeError, match=r"pair \(h_0, c_0\).*got a tuple of length 3"):
            layer.forward(x, (good, good, good))
        with pytest.raises(ValueError, match=r"LSTM state c_0 expected input of shape \(4, 2, 4\), got \(2, 2, 4\)"):
            layer.forward(x, (good, np.zeros((2, 2, 4))))
        with pytest.raises(TypeError, match=r"LSTM state h_0 expected dtype float64, got float32"):
            layer.forward(x, [good.astype(np.float32), good])
        with pytest.raises(ValueError, match=r"LSTM state c_0 got non-finite"):
            layer.forward(x, (good, np.full_like(good, np.inf)))
    else:
        with pytest.raises(TypeError,
                           match=rf"{name} expected state as one array h_0 of shape \(4, 2, 4\), got a tuple"):
            layer.forward(x, (good, good))
        with pytest.raises(ValueError, match=rf"{name} state h_0 expected input of shape \(4, 2, 4\), got \(4, 3, 4\)"):
            layer.forward(x, np.zeros((4, 3, 4)))
        with pytest.raises(TypeError, match=rf"{name} state h_0 expected dtype float64, got int64"):
            layer.forward(x, np.zeros((4, 2, 4), dtype=np.int64))
        with pytest.raises(ValueError, match=rf"{name} state h_0 got non-finite"):
            layer.forward(x, np.full_like(good, np.nan))


@pytest.mark.parametrize("kind", list(LAYERS))
def test_backward_errors(kind):
    name = kind.upper()
    with pytest.raises(RuntimeError, match=rf"{name}.backward called before forward"):
        LAYERS[kind](3, 4).backward(np.zeros((2, 5, 4)))
    layer = LAYERS[kind](3, 4, num_layers=2)
    layer.forward(np.zeros((2, 5, 3)))
    g = np.zeros((2, 5, 4))
    with pytest.raises(ValueError, match=r"doutputs expected input of shape \(2, 5, 4\), got \(2, 5, 8\)"):
        layer.backward(np.zeros((2, 5, 8)))
    with pytest.raises(ValueError, match=r"doutputs expected input of shape \(2, 5, 4\), got \(5, 2, 4\)"):
        layer.backward(np.zeros((5, 2, 4)))  # the same size, time-major by mistake
    with pytest.raises(TypeError, match=r"doutputs expected dtype float64, got float32"):
        layer.backward(g.astype(np.float32))
    with pytest.raises(ValueError, match=r"doutputs got non-finite"):
        layer.backward(np.full_like(g, np.nan))
    dh = np.zeros((2, 2, 4))
    if kind == "lstm":
        with pytest.raises(TypeError, match=r"LSTM.backward expected dstate as a pair \(dh_n, dc_n\), each of shape "
                                            r"\(2, 2, 4\) or None, got ndarray"):
            layer.backward(g, dh)  # one array instead of a pair
        with pytest.raises(ValueError, match=r"LSTM.backward dstate dc_n expected input of shape \(2, 2, 4\)"):
            layer.backward(g, (dh, np.zeros((2, 4))))
        with pytest.raises(ValueError, match=r"LSTM.backward dstate dh_n got non-finite"):
            layer.backward(g, (np.full_like(dh, np.nan), None))
    else:
        with pytest.raises(TypeError, match=rf"{name}.backward expected dstate as one array dh_n of shape "
                                            r"\(2, 2, 4\), got a tuple"):
            layer.backward(g, (dh, dh))
        with pytest.raises(ValueError, match=rf"{name}.backward dstate dh_n expected input of shape \(2, 2, 4\)"):
            layer.backward(g, np.zeros((1, 2, 4)))
    layer.backward(g, (dh, None) if kind == "lstm" else dh)  # still usable after the errors


@pytest.mark.parametrize("kind", list(LAYERS))
@pytest.mark.parametrize("bidirectional", [False, True])
def test_empty_batch_runs_like_torch(kind, bidirectional):
    """A batch of 0 sequences (no lengths) gives empty outputs and zero gradients, as in PyTorch."""
    layer = LAYERS[kind](3, 4, num_layers=2, bidirectional=bidirectional)
    out, final = layer.forward(np.zeros((0, 5, 3)))
    D = layer.num_directions
    assert out.shape == (0, 5, 4 * D)
    assert all(a.shape == (2 * D, 0, 4) for a in _arrays(final))
    dx = layer.backward(np.zeros((0, 5, 4 * D)))
    assert dx.shape == (0, 5, 3)
    assert all(not g.any() for g in layer.grads.values())


def test_the_base_class_is_not_a_layer():
    with pytest.raises(TypeError, match="abstract base of the recurrent layers: use lib.RNN, lib.LSTM or lib.GRU"):
        lib.RecurrentLayer(3, 4)


@pytest.mark.parametrize("kind", list(CELLS))
def test_cells_take_an_empty_batch_like_torch(kind):
    cell = CELLS[kind](3, 4)
    out = cell.forward(np.zeros((0, 3)))
    h = out[0] if kind == "lstm" else out
    assert h.shape == (0, 4)
    dx, _ = cell.backward(np.zeros((0, 4)))
    assert dx.shape == (0, 3) and not any(g.any() for g in cell.grads.values())


# -- bad input: cells ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", list(CELLS))
def test_cell_errors(kind):
    cls = CELLS[kind]
    name = cls.__name__
    with pytest.raises(ValueError, match=rf"{name} expected hidden_size to be a positive int, got 0"):
        cls(3, 0)  # PyTorch builds it; here it is refused rather than dividing by zero
    with pytest.raises(ValueError, match=rf"{name} expected input_size to be a positive int, got -1"):
        cls(-1, 4)
    with pytest.raises(TypeError, match=rf"{name} expected rng to be an np.random.Generator"):
        cls(3, 4, rng=np.random.RandomState(0))
    cell = cls(3, 4)
    with pytest.raises(RuntimeError, match=rf"{name}.backward called before forward"):
        cell.backward(np.zeros((2, 4)))
    with pytest.raises(ValueError, match=rf"{name} expected input of shape \(batch, 3\), got \(3,\)"):
        cell.forward(np.zeros(3))
    x = np.zeros((2, 3))
    if kind == "lstm":
        with pytest.raises(TypeError, match=r"LSTMCell expected state as a pair \(h, c\), each of shape \(2, 4\), "
                                            r"got ndarray"):
            cell.forward(x, np.zeros((2, 4)))
        with pytest.raises(ValueError, match=r"LSTMCell state c expected input of shape \(2, 4\), got \(1, 4\)"):
            cell.forward(x, (np.zeros((2, 4)), np.zeros((1, 4))))
    else:
        with pytest.raises(ValueError, match=rf"{name} state h expected input of shape \(2, 4\), got \(2, 5\)"):
            cell.forward(x, np.zeros((2, 5)))
        with pytest.raises(ValueError, match=rf"{name} state h got non-finite"):
            cell.forward(x, np.full((2, 4), np.nan))
    cell.forward(x)
    with pytest.raises(ValueError, match=rf"{name}.backward dh expected input of shape \(2, 4\), got \(1, 4\)"):
        cell.backward(np.zeros((1, 4)))  # broadcasting would have summed it into the weights
    with pytest.raises(ValueError, match=rf"{name}.backward dh expected input of shape \(2, 4\), got \(4, 2\)"):
        cell.backward(np.zeros((4, 2)))
    with pytest.raises(ValueError, match=rf"{name}.backward dh got non-finite"):
        cell.backward(np.full((2, 4), np.nan))
    with pytest.raises(TypeError, match=rf"{name}.backward dh expected dtype float64, got float32"):
        cell.backward(np.zeros((2, 4), np.float32))
    if kind == "lstm":
        with pytest.raises(ValueError, match=r"LSTMCell.backward dc expected input of shape \(2, 4\), got \(4,\)"):
            cell.backward(np.zeros((2, 4)), np.zeros(4))
    grads_before = {k: v.copy() for k, v in cell.grads.items()}
    for v in grads_before.values():
        assert not v.any()  # none of the refused calls touched the gradients


def test_lstm_cell_gates_are_named_and_read_only():
    cell = lib.LSTMCell(3, 4, rng=np.random.default_rng(0))
    with pytest.raises(RuntimeError, match="before forward"):
        _ = cell.gates
    cell.forward(np.ones((2, 3)))
    gates = cell.gates
    assert set(gates) == {"i", "f", "g", "o"} and all(v.shape == (2, 4) for v in gates.values())
    np.testing.assert_array_equal(gates["f"], cell.cache[4])
    with pytest.raises(ValueError, match="read-only"):
        gates["f"][0, 0] = 0.0
