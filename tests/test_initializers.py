"""Initializers: shapes, statistics, orthogonality, fans like PyTorch, explicit RNGs."""

from __future__ import annotations

import math

import numpy as np
import pytest

from lib import initializers as init

torch = pytest.importorskip("torch", reason="PyTorch not installed: cross-checks skipped (make test installs it)")


@pytest.mark.parametrize("shape", [(30, 20), (8, 4, 3, 3)])
def test_fans_match_torch(shape):
    fan_in, fan_out = torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(shape))
    assert init.fans(shape) == (fan_in, fan_out)


@pytest.mark.parametrize("name, param", [("linear", None), ("tanh", None), ("relu", None), ("leaky_relu", 0.2)])
def test_gains_match_torch(name, param):
    assert init.calculate_gain(name, param) == pytest.approx(torch.nn.init.calculate_gain(name, param))


@pytest.mark.parametrize("fn, expected_std", [
    (lambda s, r: init.xavier_uniform(s, r), math.sqrt(2 / (400 + 300))),
    (lambda s, r: init.xavier_normal(s, r), math.sqrt(2 / (400 + 300))),
    (lambda s, r: init.kaiming_uniform(s, r, nonlinearity="relu"), math.sqrt(2 / 300)),
    (lambda s, r: init.kaiming_normal(s, r, nonlinearity="relu"), math.sqrt(2 / 300)),
    (lambda s, r: init.normal(s, r, std=0.1), 0.1),
])
def test_statistics(fn, expected_std):
    w = fn((400, 300), np.random.default_rng(0))
    assert w.shape == (400, 300)
    assert abs(w.mean()) < 0.01 * expected_std * 10
    assert w.std() == pytest.approx(expected_std, rel=0.02)


def test_uniform_bounds():
    w = init.xavier_uniform((50, 70), np.random.default_rng(1), gain=2.0)
    bound = 2.0 * math.sqrt(6 / 120)
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.95 * bound


@pytest.mark.parametrize("shape", [(6, 6), (4, 9), (9, 4)])
def test_orthogonal(shape):
    w = init.orthogonal(shape, np.random.default_rng(2), gain=1.5)
    np.testing.assert_allclose(np.linalg.svd(w, compute_uv=False), 1.5, atol=1e-12)


def test_identity_zeros_and_dtype():
    np.testing.assert_array_equal(init.identity((3, 3), gain=0.5), 0.5 * np.eye(3))
    assert init.zeros((2, 3), dtype=np.float32).dtype == np.float32
    assert init.orthogonal((3, 3), np.random.default_rng(0), dtype=np.float32).dtype == np.float32


def test_deterministic_and_errors():
    a = init.kaiming_uniform((5, 5), np.random.default_rng(7))
    b = init.kaiming_uniform((5, 5), np.random.default_rng(7))
    np.testing.assert_array_equal(a, b)
    with pytest.raises(TypeError, match="np.random.Generator"):
        init.normal((2, 2), rng=None)
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        init.xavier_uniform((5,), np.random.default_rng(0))
    with pytest.raises(ValueError, match="unknown nonlinearity"):
        init.calculate_gain("swish")
    with pytest.raises(TypeError, match="float32 or float64"):
        init.zeros((2,), dtype=np.int32)
