"""Property-based tests: invariants that must hold for any input."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import lib

finite = st.floats(-1e3, 1e3, allow_nan=False)
SETTINGS = settings(max_examples=30, deadline=None)


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


@SETTINGS
@given(arrays(np.int64, st.integers(1, 12), elements=st.integers(0, 6)))
def test_one_hot_round_trips_through_argmax(labels):
    encoded = lib.one_hot(labels, 7)
    np.testing.assert_array_equal(encoded.argmax(axis=-1), labels)
    np.testing.assert_array_equal(encoded.sum(axis=-1), 1.0)


@SETTINGS
@given(st.lists(st.integers(0, 6), min_size=1, max_size=5), st.integers(1, 3))
def test_pad_sequences_mask_marks_exactly_the_real_steps(lengths, features):
    seqs = [np.full((n, features), i + 1.0) for i, n in enumerate(lengths)]
    padded, mask, lens = lib.pad_sequences(seqs, pad_value=0.0)
    np.testing.assert_array_equal(lens, lengths)
    np.testing.assert_array_equal(mask.sum(axis=1), lengths)
    for i, s in enumerate(seqs):
        np.testing.assert_array_equal(padded[i][mask[i]], s)
        assert (padded[i][~mask[i]] == 0).all()


@SETTINGS
@given(st.integers(1, 5), st.integers(1, 3), st.integers(0, 6))
def test_sliding_windows_index_the_series(window, horizon, extra):
    series = np.arange(window + horizon + extra, dtype=float)
    X, y = lib.sliding_windows(series, window, horizon)
    assert X.shape == (extra + 1, window, 1) and y.shape == (extra + 1, horizon)
    i = np.arange(extra + 1)[:, None]
    np.testing.assert_array_equal(X[..., 0], i + np.arange(window))
    np.testing.assert_array_equal(y, i + window + np.arange(horizon))


@SETTINGS
@given(arrays(np.float64, st.integers(1, 30), elements=st.floats(-1e4, 1e4)))
def test_activation_derivatives_are_bounded(x):
    from lib import activations as A

    assert ((0 <= A.d_sigmoid(x)) & (A.d_sigmoid(x) <= 0.25)).all()
    assert ((0 <= A.d_tanh(x)) & (A.d_tanh(x) <= 1)).all()
    assert np.isfinite(A.d_gelu(x)).all() and (A.d_gelu(x) <= 1.13).all()
    assert (np.abs(A.gelu(x)) <= np.abs(x)).all()


@SETTINGS
@given(st.integers(1, 5), st.integers(2, 6))
def test_uniform_logits_cost_log_num_classes(n, c):
    value, _ = lib.softmax_cross_entropy(np.zeros((n, c)), np.zeros(n, dtype=int))
    assert value == np.float64(np.log(c)) or abs(value - np.log(c)) < 1e-15
