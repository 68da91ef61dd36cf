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


def test_identity_and_zeros_refuse_a_misplaced_gain():
    with pytest.raises(TypeError, match="np.random.Generator"):
        init.identity((3, 3), 0.5)  # the gain must be passed by name
    np.testing.assert_array_equal(init.identity((2, 3), np.random.default_rng(0)), np.eye(2, 3))
    with pytest.raises(TypeError, match="np.random.Generator"):
        init.zeros((2, 2), 1)


def test_registry_and_gains():
    assert init.get_initializer("xavier_normal") is init.xavier_normal
    assert set(init.INITIALIZERS) == {"zeros", "normal", "uniform", "xavier_uniform", "xavier_normal",
                                      "kaiming_uniform", "kaiming_normal", "orthogonal", "identity"}
    with pytest.raises(ValueError, match="unknown initializer"):
        init.get_initializer("he")
    for name in ("selu", "conv2d", "sigmoid"):
        assert init.calculate_gain(name) == pytest.approx(torch.nn.init.calculate_gain(name))


def test_kaiming_bound_matches_torch_default_linear_init():
    # torch.nn.Linear uses kaiming_uniform_(a=√5): the bound is 1/√fan_in.
    w = init.kaiming_uniform((200, 50), np.random.default_rng(3), a=math.sqrt(5))
    assert np.abs(w).max() <= 1 / math.sqrt(50) and np.abs(w).max() > 0.99 / math.sqrt(50)


def test_orthogonal_is_semi_orthogonal_for_conv_shapes_and_deterministic():
    w = init.orthogonal((4, 2, 3), np.random.default_rng(4))
    flat = w.reshape(4, 6)
    np.testing.assert_allclose(flat @ flat.T, np.eye(4), atol=1e-12)
    np.testing.assert_array_equal(w, init.orthogonal((4, 2, 3), np.random.default_rng(4)))
