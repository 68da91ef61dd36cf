"""Activations: gradients against finite differences and PyTorch, stability at extreme inputs."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import lib
from lib import activations as A

torch = pytest.importorskip("torch", reason="PyTorch not installed: cross-checks skipped (make test installs it)")
F = torch.nn.functional

ELEMENTWISE = {
    "identity": (A.identity, lambda t: t),
    "sigmoid": (A.sigmoid, torch.sigmoid),
    "tanh": (A.tanh, torch.tanh),
    "relu": (A.relu, F.relu),
    "leaky_relu": (A.leaky_relu, F.leaky_relu),
    "elu": (A.elu, F.elu),
    "gelu": (A.gelu, F.gelu),
}
LAYERS = ["identity", "sigmoid", "tanh", "relu", "leaky_relu", "elu", "gelu", "softmax", "log_softmax"]


def _x(rng, shape=(4, 7)):
    # keep away from ReLU's kink at 0, where finite differences are meaningless
    x = rng.standard_normal(shape) * 3
    x[np.abs(x) < 1e-3] = 0.5
    return x


@pytest.mark.parametrize("name", LAYERS)
def test_layer_gradient_check(name):
    rng = np.random.default_rng(0)
    errors = lib.check_layer(lib.get_activation(name), _x(rng), rng)
    assert max(errors.values()) < 1e-7, errors


@pytest.mark.parametrize("name", list(ELEMENTWISE))
def test_function_and_derivative_match_torch(name):
    fn, torch_fn = ELEMENTWISE[name]
    x = _x(np.random.default_rng(1), (50,))
    xt = torch.tensor(x, requires_grad=True)
    yt = torch_fn(xt)
    yt.sum().backward()
    y = fn(x)
    dy = A.ACTIVATIONS[name][1](x)
    assert lib.relative_error(y, yt.detach().numpy()) < 1e-10
    assert lib.relative_error(dy, xt.grad.numpy()) < 1e-10


@pytest.mark.parametrize("fn, torch_fn", [(A.softmax, F.softmax), (A.log_softmax, F.log_softmax)])
def test_softmax_family_matches_torch(fn, torch_fn):
    x = np.random.default_rng(2).standard_normal((3, 5, 6)) * 10
    assert lib.relative_error(fn(x), torch_fn(torch.tensor(x), dim=-1).numpy()) < 1e-10


@pytest.mark.parametrize("name", LAYERS)
def test_extreme_inputs_are_stable(name):
    x = np.array([[-1e4, -50.0, 0.0, 50.0, 1e4]])
    layer = lib.get_activation(name)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = layer.forward(x)
        dx = layer.backward(np.ones_like(y))
    assert np.isfinite(y).all() and np.isfinite(dx).all()


def test_exact_limits():
    x = np.array([-1e4, 1e4])
    np.testing.assert_array_equal(A.sigmoid(x), [0.0, 1.0])
    np.testing.assert_array_equal(A.tanh(x), [-1.0, 1.0])
    np.testing.assert_array_equal(A.elu(x), [-1.0, 1e4])
    np.testing.assert_array_equal(A.gelu(x), [0.0, 1e4])
    np.testing.assert_array_equal(A.softmax(np.array([[1e4, 0.0, -1e4]])), [[1.0, 0.0, 0.0]])
    assert A.log_softmax(np.array([[1e4, 0.0]]))[0, 1] == -1e4


@pytest.mark.parametrize("name", LAYERS)
def test_float32_stays_float32(name):
    x = np.random.default_rng(3).standard_normal((2, 3)).astype(np.float32)
    layer = lib.get_activation(name)
    assert layer.forward(x).dtype == np.float32
    assert layer.backward(np.ones((2, 3), np.float32)).dtype == np.float32


@pytest.mark.parametrize("name, kwargs, torch_layer", [
    ("identity", {}, torch.nn.Identity()),
    ("sigmoid", {}, torch.nn.Sigmoid()),
    ("tanh", {}, torch.nn.Tanh()),
    ("relu", {}, torch.nn.ReLU()),
    ("leaky_relu", {"negative_slope": 0.2}, torch.nn.LeakyReLU(0.2)),
    ("elu", {"alpha": 0.7}, torch.nn.ELU(0.7)),
    ("gelu", {}, torch.nn.GELU()),
    ("softmax", {}, torch.nn.Softmax(dim=-1)),
    ("log_softmax", {}, torch.nn.LogSoftmax(dim=-1)),
])
def test_layer_forward_and_backward_match_torch(name, kwargs, torch_layer):
    rng = np.random.default_rng(4)
    x, g = _x(rng, (3, 4, 6)), rng.standard_normal((3, 4, 6))
    layer = lib.get_activation(name, **kwargs)
    xt = torch.tensor(x, requires_grad=True)
    yt = torch_layer(xt)
    yt.backward(torch.tensor(g))
    assert lib.relative_error(layer.forward(x), yt.detach().numpy()) < 1e-10
    assert lib.relative_error(layer.backward(g), xt.grad.numpy()) < 1e-10


def test_erf_is_float64_accurate():
    import math

    x = np.concatenate([np.linspace(-27, 27, 20001), np.geomspace(1e-300, 1, 200),
                        np.random.default_rng(5).standard_normal(2000) * 4])
    erf_ref = np.array([math.erf(v) for v in x])
    erfc_ref = np.array([math.erfc(v) for v in x])
    normal = np.abs(erfc_ref) > 1e-300  # relative accuracy ends where erfc becomes subnormal
    assert np.max(np.abs(A.erf(x) - erf_ref) / np.abs(np.where(erf_ref == 0, 1, erf_ref))) < 2e-15
    assert np.max(np.abs(A.erfc(x) - erfc_ref)[normal] / erfc_ref[normal]) < 2e-15
    np.testing.assert_array_equal(A.erf(np.array([-np.inf, 0.0, np.inf, 1e300])), [-1.0, 0.0, 1.0, 1.0])
    np.testing.assert_array_equal(A.erfc(np.array([-np.inf, np.inf, 1e300])), [2.0, 0.0, 0.0])


def test_gelu_is_accurate_in_the_left_tail():
    import math

    x = np.array([-5.0, -10.0, -30.0])
    expected = [v * 0.5 * math.erfc(-v / math.sqrt(2)) for v in x]
    np.testing.assert_allclose(A.gelu(x), expected, rtol=1e-13)
    assert A.gelu(np.array([-10.0]))[0] < 0  # x·Φ(x) is tiny but not 0 here


def test_functions_keep_float32():
    x = np.linspace(-3, 3, 7, dtype=np.float32)
    for fn, d_fn in A.ACTIVATIONS.values():
        assert fn(x).dtype == np.float32 and d_fn(x).dtype == np.float32
    assert A.softmax(x).dtype == np.float32 and A.log_softmax(x).dtype == np.float32


def test_dtype_argument_is_enforced():
    layer = lib.Tanh(dtype=np.float32)
    assert layer.forward(np.zeros(3, np.float32)).dtype == np.float32
    with pytest.raises(TypeError, match="Tanh expected dtype float32, got float64"):
        layer.forward(np.zeros(3))
    with pytest.raises(TypeError, match="Softmax expected dtype float64, got float32"):
        lib.get_activation("softmax", dtype=np.float64).forward(np.zeros((1, 3), np.float32))
    with pytest.raises(TypeError, match="float32 or float64"):
        lib.ReLU(dtype=np.int64)


def test_bad_input():
    with pytest.raises(TypeError, match="float32 or float64"):
        lib.Tanh().forward(np.arange(3))
    with pytest.raises(TypeError, match="numpy array"):
        lib.ReLU().forward([1.0, 2.0])
    with pytest.raises(ValueError, match="unknown activation"):
        lib.get_activation("swishy")
    layer = lib.Sigmoid()
    layer.forward(np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"expected a gradient of shape \(2, 3\)"):
        layer.backward(np.zeros((3, 2)))
    with pytest.raises(ValueError, match="non-finite"):
        lib.GELU().forward(np.array([0.0, np.nan]))
    with pytest.raises(ValueError, match="non-finite"):
        lib.Softmax().forward(np.array([[np.inf, 0.0]]))
    with pytest.raises(RuntimeError, match="before forward"):
        lib.LogSoftmax().backward(np.zeros((1, 2)))
    softmax = lib.Softmax()
    softmax.forward(np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"Softmax.backward expected a gradient of shape \(2, 3\)"):
        softmax.backward(np.zeros((2, 4)))
    with pytest.raises(TypeError, match="negative_slope"):
        lib.get_activation("tanh", negative_slope=0.1)
