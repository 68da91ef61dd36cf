"""Data helpers: windows, padding, splits, one-hot, standardisation without leakage."""

from __future__ import annotations

import numpy as np
import pytest

import lib


def test_sliding_windows_1d_and_2d():
    X, y = lib.sliding_windows(np.arange(10.0), window=3, horizon=2)
    assert X.shape == (6, 3, 1) and y.shape == (6, 2)
    np.testing.assert_array_equal(X[0, :, 0], [0, 1, 2])
    np.testing.assert_array_equal(y[0], [3, 4])
    np.testing.assert_array_equal(y[-1], [8, 9])
    series = np.stack([np.arange(8.0), -np.arange(8.0)], axis=1)
    X, y = lib.sliding_windows(series, window=4)
    assert X.shape == (4, 4, 2) and y.shape == (4, 1, 2)
    np.testing.assert_array_equal(y[1, 0], [5, -5])
    with pytest.raises(ValueError, match="too short"):
        lib.sliding_windows(np.arange(3.0), window=3)


def test_pad_sequences():
    seqs = [np.ones((2, 3)), 2 * np.ones((4, 3)), 3 * np.ones((1, 3))]
    padded, mask, lengths = lib.pad_sequences(seqs, pad_value=-1.0)
    assert padded.shape == (3, 4, 3)
    np.testing.assert_array_equal(lengths, [2, 4, 1])
    np.testing.assert_array_equal(mask.sum(axis=1), lengths)
    assert (padded[0, 2:] == -1).all() and (padded[1] == 2).all()
    padded, mask, lengths = lib.pad_sequences([np.arange(5), np.arange(2)], max_len=3)
    np.testing.assert_array_equal(padded, [[0, 1, 2], [0, 1, 0]])
    with pytest.raises(ValueError, match="trailing shape"):
        lib.pad_sequences([np.ones((2, 3)), np.ones((2, 4))])


def test_train_test_split():
    X, y = np.arange(20).reshape(10, 2), np.arange(10)
    X_tr, X_te, y_tr, y_te = lib.train_test_split(X, y, test_size=0.3, rng=np.random.default_rng(0))
    assert len(X_te) == 3 and len(X_tr) == 7
    np.testing.assert_array_equal(X_tr[:, 0] // 2, y_tr)
    _, X_te, _, y_te = lib.train_test_split(X, y, test_size=0.2, shuffle=False)
    np.testing.assert_array_equal(y_te, [8, 9])  # the future is the test set
    with pytest.raises(ValueError, match="equal length"):
        lib.train_test_split(X, y[:5], rng=np.random.default_rng(0))


def test_one_hot():
    np.testing.assert_array_equal(lib.one_hot(np.array([2, 0]), 3), [[0, 0, 1], [1, 0, 0]])
    assert lib.one_hot(np.array([[1]]), 2).shape == (1, 1, 2)
    with pytest.raises(ValueError, match=r"labels in \[0, 3\)"):
        lib.one_hot(np.array([3]), 3)
    with pytest.raises(TypeError, match="integer labels"):
        lib.one_hot(np.array([1.0]), 3)


def test_standardizer_fits_on_train_only():
    rng = np.random.default_rng(0)
    train, test = rng.normal(5, 2, (1000, 2)), rng.normal(8, 2, (100, 2))
    s = lib.Standardizer().fit(train)
    z_train, z_test = s.transform(train), s.transform(test)
    np.testing.assert_allclose(z_train.mean(axis=0), 0, atol=1e-12)
    assert z_test.mean() > 1.0  # the shift is visible, not hidden by refitting
    np.testing.assert_allclose(s.inverse_transform(z_test), test)
    z, mean, std = lib.standardize(train)
    np.testing.assert_allclose(z, z_train)
    with pytest.raises(RuntimeError, match="before fit"):
        lib.Standardizer().transform(train)


def test_standardizer_dtypes_and_shapes():
    ints = np.arange(12).reshape(6, 2)
    z = lib.Standardizer().fit(ints).transform(ints)
    assert z.dtype == np.float64 and np.allclose(z.std(axis=0), 1)
    x32 = np.random.default_rng(1).standard_normal((50, 3)).astype(np.float32)
    s = lib.Standardizer().fit(x32)
    assert s.transform(x32).dtype == np.float32
    assert s.transform(np.ones((2, 7, 3), np.float32)).shape == (2, 7, 3)  # (batch, time, F) broadcasts
    with pytest.raises(ValueError, match=r"statistics of shape \(1, 3\), got \(4, 2\)"):
        s.transform(np.ones((4, 2), np.float32))
    constant = lib.Standardizer().fit(np.ones((5, 1)))
    assert np.isfinite(constant.transform(np.ones((2, 1)))).all()
    with pytest.raises(ValueError, match="non-finite"):
        lib.Standardizer().fit(np.array([[np.nan]]))


def test_train_test_split_by_count_and_errors():
    X = np.arange(10)
    X_tr, X_te = lib.train_test_split(X, test_size=3, shuffle=False)
    np.testing.assert_array_equal(X_te, [7, 8, 9])
    a = lib.train_test_split(X, test_size=0.5, rng=np.random.default_rng(2))
    b = lib.train_test_split(X, test_size=0.5, rng=np.random.default_rng(2))
    np.testing.assert_array_equal(a[1], b[1])
    with pytest.raises(ValueError, match="explicit rng"):
        lib.train_test_split(X)
    with pytest.raises(ValueError, match="test_size"):
        lib.train_test_split(X, test_size=10, shuffle=False)
    with pytest.raises(ValueError, match="test_size"):
        lib.train_test_split(X, test_size=1.5, shuffle=False)


def test_pad_sequences_dtype_and_one_hot_dtype():
    padded, mask, lengths = lib.pad_sequences([np.array([1, 2]), np.array([3])], dtype=np.float32)
    assert padded.dtype == np.float32 and mask.dtype == bool
    np.testing.assert_array_equal(mask, [[True, True], [True, False]])
    assert lib.one_hot(np.array([1]), 2, dtype=np.float32).dtype == np.float32
    with pytest.raises(ValueError, match="at least one sequence"):
        lib.pad_sequences([])


def test_adding_problem_shapes_markers_and_targets():
    x, y = lib.adding_problem(64, 10, np.random.default_rng(0), dtype=np.float32)
    assert x.shape == (64, 10, 2) and y.shape == (64, 1)
    assert x.dtype == np.float32 and y.dtype == np.float32
    markers = x[..., 1]
    np.testing.assert_array_equal(markers.sum(axis=1), 2.0)
    assert (markers[:, :5].sum(axis=1) == 1).all() and (markers[:, 5:].sum(axis=1) == 1).all()
    np.testing.assert_allclose(y[:, 0], (x[..., 0] * markers).sum(axis=1), rtol=1e-6)
    assert ((x[..., 0] >= 0) & (x[..., 0] < 1)).all()


def test_adding_problem_is_reproducible_and_trivial_baseline_is_one_sixth():
    a = lib.adding_problem(5, 8, np.random.default_rng(3))
    b = lib.adding_problem(5, 8, np.random.default_rng(3))
    for u, v in zip(a, b, strict=True):
        np.testing.assert_array_equal(u, v)
    _, y = lib.adding_problem(20000, 30, np.random.default_rng(1))
    assert abs(float(np.mean((y - 1.0) ** 2)) - 1 / 6) < 0.01


@pytest.mark.parametrize(("kwargs", "error", "match"), [
    ({"n": 0, "T": 5}, ValueError, "n to be an int >= 1"),
    ({"n": 4, "T": 1}, ValueError, "T to be an int >= 2"),
    ({"n": 4, "T": 5.0}, ValueError, "T to be an int"),
    ({"n": 4, "T": 5, "dtype": np.int32}, TypeError, "float32 or float64"),
])
def test_adding_problem_rejects_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        lib.adding_problem(rng=np.random.default_rng(0), **kwargs)
    with pytest.raises(TypeError, match="np.random.Generator"):
        lib.adding_problem(4, 5, rng=0)


@pytest.mark.parametrize("signs", [False, True])
def test_delayed_echo(signs):
    x, y = lib.delayed_echo(8, 30, 4, np.random.default_rng(0), signs=signs)
    assert x.shape == y.shape == (8, 30, 1) and x.dtype == np.float64
    assert set(np.unique(x)) == ({-1.0, 1.0} if signs else {0.0, 1.0})
    np.testing.assert_array_equal(y[:, 4:], x[:, :-4])
    assert (y[:, :4] == 0).all()
    # the same draws the chapters make by hand
    reference = (np.random.default_rng(0).choice([-1.0, 1.0], size=(8, 30, 1)) if signs
                 else np.random.default_rng(0).integers(0, 2, size=(8, 30, 1)).astype(float))
    np.testing.assert_array_equal(x, reference)
    x0, y0 = lib.delayed_echo(2, 5, 0, np.random.default_rng(1), dtype=np.float32)
    assert x0.dtype == np.float32 and np.array_equal(x0, y0)


@pytest.mark.parametrize("kwargs, error, match", [
    ({"n": 0}, ValueError, "delayed_echo expected n to be a positive int, got 0"),
    ({"T": 2.5}, ValueError, "delayed_echo expected T to be a positive int, got 2.5"),
    ({"delay": -1}, ValueError, "delayed_echo expected delay to be a non-negative int, got -1"),
    ({"delay": 10}, ValueError, "delayed_echo expected delay < T, got delay=10 and T=10"),
    ({"rng": None}, TypeError, "delayed_echo expected rng to be an np.random.Generator"),
    ({"dtype": np.int64}, TypeError, "dtype must be float32 or float64"),
])
def test_delayed_echo_rejects_bad_arguments(kwargs, error, match):
    args = {"n": 4, "T": 10, "delay": 3, "rng": np.random.default_rng(0), **kwargs}
    with pytest.raises(error, match=match):
        lib.delayed_echo(**args)
