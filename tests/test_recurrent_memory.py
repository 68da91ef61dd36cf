"""Memory of the recurrent layers: a pass peaks near what backward needs, nothing stays with the layer after
backward, the shared pool of idle work arrays stays within its limit, and pickling or copying a layer carries
its parameters and gradients only (the benchmark with numbers is benchmarks/bench_memory.py)."""

from __future__ import annotations

import copy
import gc
import pickle
import tracemalloc

import numpy as np
import pytest

import lib
from lib.recurrent import WORK_ARRAYS

LAYERS = {"rnn": lib.RNN, "lstm": lib.LSTM, "gru": lib.GRU}
PER_STEP = {"rnn": 1, "lstm": 6, "gru": 5}  # numbers per step, sample and hidden unit that backward needs


def array_bytes(obj, seen=None) -> int:
    """Bytes of every distinct array buffer reachable from obj through dicts, lists, tuples and attributes."""
    seen = set() if seen is None else seen
    if id(obj) in seen:
        return 0
    seen.add(id(obj))
    if isinstance(obj, np.ndarray):
        base = obj
        while isinstance(base.base, np.ndarray):
            base = base.base
        if id(base) in seen and base is not obj:
            return 0
        seen.add(id(base))
        return base.nbytes
    if isinstance(obj, dict):
        return sum(array_bytes(v, seen) for v in obj.values())
    if isinstance(obj, (list, tuple)):
        return sum(array_bytes(v, seen) for v in obj)
    if hasattr(obj, "__dict__") and not isinstance(obj, (np.random.Generator, type)):
        return array_bytes(vars(obj), seen)
    return 0


def param_bytes(layer) -> int:
    return sum(p.nbytes for p in layer.params.values())


@pytest.mark.parametrize("kind", list(LAYERS))
@pytest.mark.parametrize("bidirectional", [False, True])
def test_nothing_but_parameters_and_gradients_stays_after_backward(kind, bidirectional):
    rng = np.random.default_rng(0)
    layer = LAYERS[kind](8, 16, num_layers=2, bidirectional=bidirectional, rng=rng)
    x = rng.standard_normal((4, 50, 8))
    out, _ = layer.forward(x)
    assert array_bytes(layer) > 10 * param_bytes(layer)  # the cache: the pass's states and gates
    layer.backward(np.ones_like(out))
    dstate = sum(a.nbytes for a in (layer.dstate if kind == "lstm" else (layer.dstate,)))
    assert layer._cache is None
    assert array_bytes(layer) == 2 * param_bytes(layer) + dstate  # params, grads, ∂L/∂(initial state)


@pytest.mark.parametrize("kind", list(LAYERS))
def test_traced_memory_peak_and_retained(kind):
    """tracemalloc sees every NumPy buffer: the pass peaks at most 1.5× what backward needs from forward, and
    after backward only the pool's idle arrays remain (the layer's new gradients replace the old ones)."""
    N, T, D, H = 8, 3000, 16, 64
    rng = np.random.default_rng(1)
    layer = LAYERS[kind](D, H, dtype=np.float32, rng=rng)
    x = rng.standard_normal((N, T, D)).astype(np.float32)
    g = rng.standard_normal((N, T, H)).astype(np.float32)
    layer.forward(x[:, :2])
    layer.backward(g[:, :2])
    WORK_ARRAYS.clear()
    gc.collect()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        out, state = layer.forward(x)
        dx = layer.backward(g)
        peak = tracemalloc.get_traced_memory()[1] - base
        del out, state, dx
        gc.collect()
        retained = tracemalloc.get_traced_memory()[0] - base
    finally:
        tracemalloc.stop()
    minimum = N * T * H * PER_STEP[kind] * 4
    assert peak <= 1.5 * minimum + 2 * N * T * (D + H) * 4, (peak, minimum)  # + x's copy and dx, for the RNN
    if kind != "rnn":
        assert peak <= 1.5 * minimum, (peak / minimum)
    assert retained < 0.01 * minimum, retained  # Python objects; the pool is bypassed while tracing
    assert WORK_ARRAYS.idle_bytes <= WORK_ARRAYS.limit


def test_pool_keeps_at_most_its_limit_and_can_be_turned_off():
    limit = WORK_ARRAYS.limit
    try:
        WORK_ARRAYS.clear()
        WORK_ARRAYS.limit = 1 << 20
        layer = lib.GRU(4, 32, rng=np.random.default_rng(2))
        out, _ = layer.forward(np.ones((8, 200, 4)))
        layer.backward(np.ones_like(out))
        assert 0 < WORK_ARRAYS.idle_bytes <= 1 << 20
        WORK_ARRAYS.limit = 0
        WORK_ARRAYS.clear()
        out2, _ = layer.forward(np.ones((8, 200, 4)))
        layer.backward(np.ones_like(out2))
        assert WORK_ARRAYS.idle_bytes == 0
        np.testing.assert_array_equal(out, out2)
    finally:
        WORK_ARRAYS.limit = limit


@pytest.mark.parametrize("kind", list(LAYERS))
@pytest.mark.parametrize("after", ["forward", "backward"])
@pytest.mark.parametrize("how", ["pickle", "deepcopy"])
def test_pickle_and_deepcopy_carry_parameters_not_buffers(kind, after, how):
    rng = np.random.default_rng(3)
    layer = LAYERS[kind](8, 32, num_layers=2, rng=rng)
    x = rng.standard_normal((16, 300, 8))
    out, _ = layer.forward(x)
    if after == "backward":
        layer.backward(np.ones_like(out))
    if how == "pickle":
        blob = pickle.dumps(layer)
        assert len(blob) < 2 * param_bytes(layer) + 64 * 1024  # params + grads (+ small state)
        clone = pickle.loads(blob)
    else:
        clone = copy.deepcopy(layer)
        assert array_bytes(clone) <= 2 * param_bytes(layer) + 64 * 1024
    with pytest.raises(RuntimeError, match="before forward"):
        clone.backward(np.ones_like(out))  # the cache did not travel
    out2, _ = clone.forward(x)
    np.testing.assert_array_equal(out2, layer.forward(x)[0])
    clone.backward(np.ones_like(out2))


def test_second_backward_needs_a_new_forward():
    layer = lib.LSTM(3, 4)
    out, _ = layer.forward(np.ones((2, 5, 3)))
    layer.backward(np.ones_like(out))
    with pytest.raises(RuntimeError, match="twice after one forward"):
        layer.backward(np.ones_like(out))


def test_pool_is_bypassed_while_tracemalloc_traces():
    """Traced memory then counts every array a pass uses: a probe after other passes measures the same."""
    layer = lib.LSTM(2, 8, rng=np.random.default_rng(4))
    x = np.ones((4, 30, 2))

    def traced_peak():
        tracemalloc.start()
        try:
            out, _ = layer.forward(x)
            layer.backward(np.ones_like(out))
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    WORK_ARRAYS.clear()
    first = traced_peak()
    assert WORK_ARRAYS.idle_bytes == 0
    out, _ = layer.forward(x)  # untraced passes fill the pool …
    layer.backward(np.ones_like(out))
    assert WORK_ARRAYS.idle_bytes > 0
    assert traced_peak() > 0.95 * first  # … and a traced pass still allocates everything it uses
