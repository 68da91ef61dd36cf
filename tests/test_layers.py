"""Dense and Sequential: gradients, PyTorch equality, parameter sharing, errors."""

from __future__ import annotations

import numpy as np
import pytest

import lib

torch = pytest.importorskip("torch", reason="PyTorch not installed: cross-checks skipped (make test installs it)")


@pytest.mark.parametrize("shape", [(5, 3), (2, 4, 3)])
def test_dense_gradient_check(shape):
    rng = np.random.default_rng(0)
    errors = lib.check_layer(lib.Dense(3, 4, rng=rng), rng.standard_normal(shape), rng)
    assert max(errors.values()) < 1e-7, errors


def test_dense_matches_torch_linear():
    rng = np.random.default_rng(1)
    layer = lib.Dense(6, 4, rng=rng)
    x = rng.standard_normal((8, 5, 6))
    g = rng.standard_normal((8, 5, 4))
    linear = torch.nn.Linear(6, 4, dtype=torch.float64)
    linear.load_state_dict({k: torch.tensor(v) for k, v in layer.state_dict().items()})
    xt = torch.tensor(x, requires_grad=True)
    yt = linear(xt)
    yt.backward(torch.tensor(g))
    y = layer.forward(x)
    dx = layer.backward(g)
    assert lib.relative_error(y, yt.detach().numpy()) < 1e-10
    assert lib.relative_error(dx, xt.grad.numpy()) < 1e-10
    for name, p in linear.named_parameters():
        assert lib.relative_error(layer.grads[name], p.grad.numpy()) < 1e-10
    assert set(layer.params) == set(linear.state_dict())


def test_dense_default_init_is_torch_like():
    layer = lib.Dense(100, 50, rng=np.random.default_rng(2))
    bound = 1 / np.sqrt(100)
    assert layer.params["weight"].shape == (50, 100) and layer.params["bias"].shape == (50,)
    assert np.abs(layer.params["weight"]).max() <= bound
    assert np.abs(layer.params["weight"]).max() > 0.9 * bound


def test_dense_custom_init_and_no_bias():
    layer = lib.Dense(4, 4, bias=False, rng=np.random.default_rng(0), init=lib.initializers.orthogonal)
    np.testing.assert_allclose(layer.params["weight"] @ layer.params["weight"].T, np.eye(4), atol=1e-12)
    assert "bias" not in layer.params
    assert lib.check_layer(layer, np.random.default_rng(1).standard_normal((3, 4)))["weight"] < 1e-7


def test_dense_float32():
    layer = lib.Dense(3, 2, dtype=np.float32)
    y = layer.forward(np.ones((4, 3), np.float32))
    assert y.dtype == np.float32
    assert layer.backward(np.ones_like(y)).dtype == np.float32
    assert layer.grads["weight"].dtype == np.float32


def test_dense_bad_input():
    layer = lib.Dense(3, 2)
    with pytest.raises(ValueError, match=r"Dense expected input of shape \(batch, 3\).*got \(4, 5\)"):
        layer.forward(np.zeros((4, 5)))
    with pytest.raises(ValueError, match="Dense expected input of shape"):
        layer.forward(np.zeros(3))
    with pytest.raises(TypeError, match="Dense expected a numpy array, got list"):
        layer.forward([[0.0, 1.0, 2.0]])
    with pytest.raises(TypeError, match="expected dtype float64, got float32"):
        layer.forward(np.zeros((4, 3), np.float32))
    with pytest.raises(ValueError, match="non-finite"):
        layer.forward(np.array([[0.0, np.nan, 1.0]]))
    with pytest.raises(ValueError, match="positive int"):
        lib.Dense(0, 3)
    layer.forward(np.zeros((4, 3)))
    with pytest.raises(ValueError, match=r"Dense.backward expected a gradient of shape \(4, 2\)"):
        layer.backward(np.zeros((4, 3)))


def test_sequential_keys_grads_and_sharing():
    rng = np.random.default_rng(3)
    model = lib.Sequential(lib.Dense(3, 5, rng=rng), lib.ReLU(), lib.Dense(5, 2, rng=rng))
    assert list(model.params) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert model.params["0.weight"] is model[0].params["weight"]
    errors = lib.check_layer(model, rng.standard_normal((4, 3)) + 0.1, rng)
    assert max(errors.values()) < 1e-7, errors
    model.params["2.bias"][...] = 7.0
    assert (model[2].params["bias"] == 7.0).all()
    assert model.num_parameters() == 3 * 5 + 5 + 5 * 2 + 2


def test_sequential_matches_torch_and_loads_its_state_dict():
    rng = np.random.default_rng(4)
    tmodel = torch.nn.Sequential(torch.nn.Linear(3, 6), torch.nn.Tanh(), torch.nn.Linear(6, 2)).double()
    model = lib.Sequential(lib.Dense(3, 6, rng=rng), lib.Tanh(), lib.Dense(6, 2, rng=rng))
    model.load_state_dict({k: v.numpy() for k, v in tmodel.state_dict().items()})
    x = rng.standard_normal((5, 3))
    assert lib.relative_error(model.forward(x), tmodel(torch.tensor(x)).detach().numpy()) < 1e-12


def test_train_eval_propagate_and_save_load(tmp_path):
    model = lib.Sequential(lib.Dense(2, 2), lib.Dropout(0.5), lib.Dense(2, 1))
    model.eval()
    assert not model[1].training
    model.train()
    assert model[1].training
    path = tmp_path / "model.npz"
    model.save(path)
    before = model.state_dict()
    for p in model.params.values():
        p[...] = 0
    model.load(path)
    for k, v in model.params.items():
        np.testing.assert_array_equal(v, before[k])


def test_load_state_dict_errors():
    model = lib.Dense(2, 3)
    with pytest.raises(ValueError, match="missing keys"):
        model.load_state_dict({"weight": np.zeros((3, 2))})
    with pytest.raises(ValueError, match=r"weight expected shape \(3, 2\), got \(2, 3\)"):
        model.load_state_dict({"weight": np.zeros((2, 3)), "bias": np.zeros(3)})


def test_sequential_bad_input():
    with pytest.raises(ValueError, match="at least one layer"):
        lib.Sequential()
    with pytest.raises(TypeError, match="Module layers"):
        lib.Sequential(lib.Dense(2, 2), "relu")


def test_dense_init_by_name_and_rng_errors():
    rng = np.random.default_rng(5)
    layer = lib.Dense(6, 6, rng=rng, init="orthogonal")
    np.testing.assert_allclose(layer.params["weight"] @ layer.params["weight"].T, np.eye(6), atol=1e-12)
    assert lib.Dense(3, 2, init="zeros").params["weight"].sum() == 0
    with pytest.raises(ValueError, match="unknown initializer 'glorot'"):
        lib.Dense(3, 2, init="glorot")
    with pytest.raises(TypeError, match="np.random.Generator"):
        lib.Dense(3, 2, rng=42)


def test_dense_is_reproducible_from_its_rng():
    a = lib.Dense(4, 3, rng=np.random.default_rng(8))
    b = lib.Dense(4, 3, rng=np.random.default_rng(8))
    for k in a.params:
        np.testing.assert_array_equal(a.params[k], b.params[k])
    np.testing.assert_array_equal(lib.Dense(4, 3).params["weight"], lib.Dense(4, 3).params["weight"])


def test_float32_network_end_to_end():
    rng = np.random.default_rng(6)
    model = lib.Sequential(lib.Dense(3, 4, dtype=np.float32, rng=rng), lib.GELU(), lib.Dropout(0.2, rng=rng),
                           lib.Dense(4, 2, dtype=np.float32, rng=rng), lib.LogSoftmax())
    x = rng.standard_normal((5, 3)).astype(np.float32)
    y = model.forward(x)
    assert y.dtype == np.float32 and model.dtype == np.float32
    assert model.backward(np.ones_like(y)).dtype == np.float32
    assert all(g.dtype == np.float32 for g in model.grads.values())
    with pytest.raises(TypeError, match="Dense expected dtype float32, got float64"):
        model.forward(x.astype(np.float64))


def test_sequential_of_every_layer_kind_passes_gradient_check():
    rng = np.random.default_rng(7)
    model = lib.Sequential(lib.Dense(3, 5, rng=rng), lib.ELU(), lib.Dense(5, 5, rng=rng), lib.Sigmoid(),
                           lib.Dense(5, 4, rng=rng), lib.Softmax())
    errors = lib.check_layer(model, rng.standard_normal((2, 6, 3)), rng)
    assert max(errors.values()) < 1e-7, errors


def test_sequential_grads_follow_replaced_arrays_and_zero_grad():
    model = lib.Sequential(lib.Dense(2, 3), lib.Tanh(), lib.Dense(3, 1))
    model.forward(np.ones((4, 2)))
    model.backward(np.ones((4, 1)))
    assert model.grads["2.weight"] is model[2].grads["weight"]  # Dense.backward replaced the array
    model.zero_grad()
    assert all((g == 0).all() for g in model.grads.values())
    assert "Dense(2, 3" in repr(model) and len(model) == 3
