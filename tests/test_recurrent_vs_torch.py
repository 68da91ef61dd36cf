"""RNN, LSTM and GRU equal PyTorch's nn.RNN/nn.LSTM/nn.GRU in float64: outputs, final states,
dx, the gradient of the initial state and every parameter gradient, to 1e-10 relative."""

from __future__ import annotations

import itertools
import zlib

import numpy as np
import pytest

import lib

torch = pytest.importorskip("torch", reason="PyTorch not installed: cross-checks skipped (make test installs it)")
TOL = 1e-10

KINDS = {
    "rnn_tanh": (lambda *a, **k: lib.RNN(*a, nonlinearity="tanh", **k),
                 lambda *a, **k: torch.nn.RNN(*a, nonlinearity="tanh", **k)),
    "rnn_relu": (lambda *a, **k: lib.RNN(*a, nonlinearity="relu", **k),
                 lambda *a, **k: torch.nn.RNN(*a, nonlinearity="relu", **k)),
    "lstm": (lib.LSTM, torch.nn.LSTM),
    "gru": (lib.GRU, torch.nn.GRU),
}
SIZES = [(3, 5, 4, 6), (1, 9, 2, 3), (4, 2, 7, 5)]  # (batch, time, input, hidden)


def make_pair(kind, D, H, layers, bidirectional, seed):
    ours_cls, theirs_cls = KINDS[kind]
    ours = ours_cls(D, H, num_layers=layers, bidirectional=bidirectional, rng=np.random.default_rng(seed))
    theirs = theirs_cls(D, H, num_layers=layers, bidirectional=bidirectional, batch_first=True).double()
    theirs.load_state_dict({k: torch.tensor(v) for k, v in ours.state_dict().items()})
    return ours, theirs


def run_both(ours, theirs, x, state, rng, lengths=None):
    has_cell = isinstance(ours, lib.LSTM)
    out, final = ours.forward(x, state, lengths=lengths)
    finals = list(final) if has_cell else [final]
    g_out = rng.standard_normal(out.shape)
    g_finals = [rng.standard_normal(f.shape) for f in finals]
    if lengths is not None:
        g_out *= (np.arange(x.shape[1])[None, :] < lengths[:, None])[:, :, None]
    dx = ours.backward(g_out, tuple(g_finals) if has_cell else g_finals[0])

    xt = torch.tensor(x, requires_grad=True)
    st = None
    if state is not None:
        st = tuple(torch.tensor(s, requires_grad=True) for s in (state if has_cell else [state]))
    inp = xt
    if lengths is not None:
        inp = torch.nn.utils.rnn.pack_padded_sequence(xt, torch.tensor(lengths), batch_first=True,
                                                      enforce_sorted=False)
    tout, tfinal = theirs(inp, (st if has_cell else st[0]) if st is not None else None)
    if lengths is not None:
        tout, _ = torch.nn.utils.rnn.pad_packed_sequence(tout, batch_first=True, total_length=x.shape[1])
    tfinals = list(tfinal) if has_cell else [tfinal]
    loss = (tout * torch.tensor(g_out)).sum()
    loss = loss + sum((f * torch.tensor(g)).sum() for f, g in zip(tfinals, g_finals, strict=True))
    loss.backward()

    errors = {"output": lib.relative_error(out, tout.detach().numpy()), "dx": lib.relative_error(dx, xt.grad.numpy())}
    for i, (f, tf) in enumerate(zip(finals, tfinals, strict=True)):
        errors[f"state{i}"] = lib.relative_error(f, tf.detach().numpy())
    if st is not None:
        ours_d = list(ours.dstate) if has_cell else [ours.dstate]
        for i, (d, s) in enumerate(zip(ours_d, st, strict=True)):
            errors[f"dstate{i}"] = lib.relative_error(d, s.grad.numpy())
    for name, p in theirs.named_parameters():
        errors[name] = lib.relative_error(ours.grads[name], p.grad.numpy())
    return errors


CASES = list(itertools.product(KINDS, [1, 2], [False, True], [False, True], range(len(SIZES))))


@pytest.mark.parametrize("kind, layers, bidirectional, with_state, size", CASES)
def test_equal_to_torch(kind, layers, bidirectional, with_state, size):
    N, T, D, H = SIZES[size]
    rng = np.random.default_rng(zlib.crc32(f"{kind}{layers}{bidirectional}{with_state}{size}".encode()))
    ours, theirs = make_pair(kind, D, H, layers, bidirectional, seed=size)
    x = rng.standard_normal((N, T, D))
    state = None
    if with_state:
        shape = (layers * (2 if bidirectional else 1), N, H)
        state = rng.standard_normal(shape)
        if kind == "lstm":
            state = (state, rng.standard_normal(shape))
    errors = run_both(ours, theirs, x, state, rng)
    assert max(errors.values()) < TOL, errors


@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("bidirectional", [False, True])
def test_padded_batches_equal_packed_sequences(kind, bidirectional):
    rng = np.random.default_rng(7)
    ours, theirs = make_pair(kind, 3, 4, 2, bidirectional, seed=1)
    lengths = np.array([5, 2, 4, 1])
    x = rng.standard_normal((4, 5, 3))
    errors = run_both(ours, theirs, x, None, rng, lengths=lengths)
    assert max(errors.values()) < TOL, errors


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_state_dict_round_trip(kind, tmp_path):
    ours, theirs = make_pair(kind, 3, 4, 2, True, seed=3)
    assert list(ours.params) == list(theirs.state_dict())
    for k, v in theirs.state_dict().items():
        assert ours.params[k].shape == tuple(v.shape)
    path = tmp_path / "params.npz"
    ours.save(path)
    fresh = KINDS[kind][0](3, 4, num_layers=2, bidirectional=True, rng=np.random.default_rng(99))
    fresh.load(path)
    theirs2 = KINDS[kind][1](3, 4, num_layers=2, bidirectional=True, batch_first=True).double()
    theirs2.load_state_dict({k: torch.tensor(v) for k, v in fresh.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((2, 3, 3))
    assert lib.relative_error(fresh.forward(x)[0], theirs2(torch.tensor(x))[0].detach().numpy()) < TOL


@pytest.mark.parametrize("cell, torch_cell", [("RNNCell", "RNNCell"), ("LSTMCell", "LSTMCell"), ("GRUCell", "GRUCell")])
def test_cells_equal_torch(cell, torch_cell):
    rng = np.random.default_rng(5)
    ours = getattr(lib, cell)(4, 3, rng=rng)
    theirs = getattr(torch.nn, torch_cell)(4, 3).double()
    theirs.load_state_dict({k: torch.tensor(v) for k, v in ours.state_dict().items()})
    x = rng.standard_normal((2, 4))
    h = rng.standard_normal((2, 3))
    xt, ht = torch.tensor(x, requires_grad=True), torch.tensor(h, requires_grad=True)
    if cell == "LSTMCell":
        c = rng.standard_normal((2, 3))
        ct = torch.tensor(c, requires_grad=True)
        (h1, c1), (th1, tc1) = ours.forward(x, (h, c)), theirs(xt, (ht, ct))
        gh, gc = rng.standard_normal((2, 3)), rng.standard_normal((2, 3))
        ((th1 * torch.tensor(gh)).sum() + (tc1 * torch.tensor(gc)).sum()).backward()
        dx, (dh, dc) = ours.backward(gh, gc)
        errors = [lib.relative_error(h1, th1.detach().numpy()), lib.relative_error(c1, tc1.detach().numpy()),
                  lib.relative_error(dc, ct.grad.numpy())]
    else:
        h1, th1 = ours.forward(x, h), theirs(xt, ht)
        gh = rng.standard_normal((2, 3))
        (th1 * torch.tensor(gh)).sum().backward()
        dx, dh = ours.backward(gh)
        errors = [lib.relative_error(h1, th1.detach().numpy())]
    errors += [lib.relative_error(dx, xt.grad.numpy()), lib.relative_error(dh, ht.grad.numpy())]
    errors += [lib.relative_error(ours.grads[k], p.grad.numpy()) for k, p in theirs.named_parameters()]
    assert max(errors) < TOL, errors


@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("padded", [False, True])
def test_backward_in_small_chunks_equals_torch(kind, bidirectional, padded, monkeypatch):
    """Backward works through the sequence in chunks of steps; with chunks of 1–3 steps (instead of the
    whole sequence at these sizes) every chunk boundary is crossed, including uneven last chunks."""
    rng = np.random.default_rng(11)
    ours, theirs = make_pair(kind, 3, 4, 2, bidirectional, seed=2)
    N, T = 5, 11
    monkeypatch.setattr(lib.recurrent, "CHUNK_ELEMENTS", N * 4 * 2 + 1)  # 2 steps per chunk here
    x = rng.standard_normal((N, T, 3))
    shape = (2 * (2 if bidirectional else 1), N, 4)
    state = rng.standard_normal(shape)
    if kind == "lstm":
        state = (state, rng.standard_normal(shape))
    lengths = np.array([11, 4, 7, 1, 10]) if padded else None
    errors = run_both(ours, theirs, x, state, rng, lengths=lengths)
    assert max(errors.values()) < TOL, errors


@pytest.mark.parametrize("kind", list(KINDS))
def test_repeated_passes_and_the_pool_change_nothing(kind):
    """Work arrays come back from the pool uninitialised: a second pass, or a pass with the pool off,
    gives bit-identical outputs and gradients."""
    from lib.recurrent import WORK_ARRAYS

    rng = np.random.default_rng(12)
    layer = KINDS[kind][0](3, 5, num_layers=2, bidirectional=True, rng=rng)
    x, g = rng.standard_normal((4, 9, 3)), rng.standard_normal((4, 9, 10))
    results = []
    limit = WORK_ARRAYS.limit
    try:
        for pool_limit in (limit, limit, 0):
            WORK_ARRAYS.limit = pool_limit
            out, _ = layer.forward(x)
            dx = layer.backward(g)
            results.append([out, dx] + [layer.grads[k].copy() for k in sorted(layer.grads)])
            layer.forward(rng.standard_normal((6, 3, 3)))  # a different pass in between leaves stale data
            layer.backward(rng.standard_normal((6, 3, 10)))
    finally:
        WORK_ARRAYS.limit = limit
    for other in results[1:]:
        for a, b in zip(results[0], other, strict=True):
            np.testing.assert_array_equal(a, b)
