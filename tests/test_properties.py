"""Property-based tests: invariants that must hold for any input."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import lib

finite = st.floats(-1e3, 1e3, allow_nan=False)
SETTINGS = settings(max_examples=40, deadline=None)


@SETTINGS
@given(arrays(np.float64, st.tuples(st.integers(1, 5), st.integers(1, 6)), elements=finite))
def test_softmax_is_a_distribution(x):
    p = lib.softmax(x)
    assert (p >= 0).all()
    np.testing.assert_allclose(p.sum(axis=-1), 1.0, rtol=1e-12)
    np.testing.assert_allclose(np.exp(lib.log_softmax(x)), p, rtol=1e-9, atol=1e-300)


@SETTINGS
@given(arrays(np.float64, st.integers(1, 20), elements=finite), finite)
def test_softmax_is_shift_invariant(x, c):
    np.testing.assert_allclose(lib.softmax(x + c), lib.softmax(x), rtol=1e-9, atol=1e-12)


@SETTINGS
@given(arrays(np.float64, st.integers(1, 20), elements=st.floats(-1e4, 1e4)))
def test_sigmoid_symmetry_and_range(x):
    s = lib.sigmoid(x)
    assert ((0 <= s) & (s <= 1)).all()
    np.testing.assert_allclose(s + lib.sigmoid(-x), 1.0, rtol=1e-12)


@SETTINGS
@given(st.integers(1, 4), st.integers(1, 5), st.integers(1, 5), st.integers(1, 3))
def test_dense_shapes(batch, n_in, n_out, time):
    layer = lib.Dense(n_in, n_out)
    for shape in [(batch, n_in), (batch, time, n_in)]:
        y = layer.forward(np.ones(shape))
        assert y.shape == shape[:-1] + (n_out,)
        assert layer.backward(np.ones_like(y)).shape == shape


@SETTINGS
@given(arrays(np.float64, st.tuples(st.integers(1, 6), st.integers(2, 5)), elements=finite),
       st.data())
def test_cross_entropy_is_nonnegative_and_gradient_rows_sum_to_zero(logits, data):
    target = np.array(data.draw(st.lists(st.integers(0, logits.shape[1] - 1), min_size=len(logits),
                                         max_size=len(logits))))
    value, grad = lib.softmax_cross_entropy(logits, target)
    assert value >= 0
    np.testing.assert_allclose(grad.sum(axis=1), 0.0, atol=1e-12)
