"""The perceptron: convergence on separable data, failure on XOR, errors."""

from __future__ import annotations

import numpy as np
import pytest

import lib


def test_converges_on_separable_data():
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, (100, 2))
    X = X[np.abs(X @ [1.0, 1.0]) > 0.1]
    y = (X @ [1.0, 1.0] > 0).astype(int)
    p = lib.Perceptron(2).fit(X, y, rng=rng)
    assert p.converged and (p.predict(X) == y).all()


def test_never_converges_on_xor():
    X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    p = lib.Perceptron(2).fit(X, np.array([0, 1, 1, 0]), epochs=100)
    assert not p.converged and len(p.history) == 100 and min(p.history) > 0


def test_step_is_the_learning_rule():
    p = lib.Perceptron(2, lr=0.5)
    assert p.step(np.array([1.0, 2.0]), 1)  # w·x + b = 0 -> predicts 0 -> mistake
    np.testing.assert_array_equal(p.weight, [0.5, 1.0])
    assert p.bias == 0.5
    assert not p.step(np.array([1.0, 2.0]), 1)


def test_bad_input():
    p = lib.Perceptron(3)
    with pytest.raises(ValueError, match=r"Perceptron expected input of shape \(batch, 3\), got \(2, 2\)"):
        p.predict(np.zeros((2, 2)))
    with pytest.raises(ValueError, match="labels in"):
        p.fit(np.zeros((2, 3)), np.array([0, 2]))
    with pytest.raises(ValueError, match=r"y of shape \(2,\)"):
        p.fit(np.zeros((2, 3)), np.array([0, 1, 1]))
    with pytest.raises(ValueError, match="positive int"):
        lib.Perceptron(0)
