"""Optimizers and schedules: ten steps equal torch.optim's to 1e-10."""

from __future__ import annotations

import numpy as np
import pytest

import lib

torch = pytest.importorskip("torch", reason="PyTorch not installed: cross-checks skipped (make test installs it)")

CASES = [
    ("SGD", {"lr": 0.1}),
    ("SGD", {"lr": 0.1, "weight_decay": 0.01}),
    ("SGD", {"lr": 0.05, "momentum": 0.9}),
    ("SGD", {"lr": 0.05, "momentum": 0.9, "nesterov": True, "weight_decay": 0.001}),
    ("RMSprop", {"lr": 0.01}),
    ("RMSprop", {"lr": 0.01, "momentum": 0.5, "weight_decay": 0.01}),
    ("RMSprop", {"lr": 0.01, "centered": True, "alpha": 0.9}),
    ("Adam", {"lr": 0.01}),
    ("Adam", {"lr": 0.01, "betas": (0.8, 0.99), "weight_decay": 0.05}),
    ("AdamW", {"lr": 0.01}),
    ("AdamW", {"lr": 0.02, "weight_decay": 0.1, "eps": 1e-6}),
]


def _pair(seed=0):
    rng = np.random.default_rng(seed)
    model = lib.Sequential(lib.Dense(4, 8, rng=rng), lib.Tanh(), lib.Dense(8, 3, rng=rng))
    tmodel = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 3)).double()
    tmodel.load_state_dict({k: torch.tensor(v) for k, v in model.state_dict().items()})
    return rng, model, tmodel


def _train(opt, topt, model, tmodel, rng, scheduler=None, tscheduler=None, steps=10):
    for _ in range(steps):
        x = rng.standard_normal((16, 4))
        y = rng.integers(0, 3, size=16)
        loss, dlogits = lib.softmax_cross_entropy(model.forward(x), y)
        model.backward(dlogits)
        opt.step()
        topt.zero_grad()
        torch.nn.functional.cross_entropy(tmodel(torch.tensor(x)), torch.tensor(y)).backward()
        topt.step()
        if scheduler is not None:
            scheduler.step()
            tscheduler.step()
            assert opt.lr == pytest.approx(topt.param_groups[0]["lr"], rel=1e-12)


@pytest.mark.parametrize("name, kwargs", CASES, ids=[f"{n}-{i}" for i, (n, _) in enumerate(CASES)])
def test_ten_steps_match_torch(name, kwargs):
    rng, model, tmodel = _pair()
    opt = getattr(lib, name)(model, **kwargs)
    topt = getattr(torch.optim, name)(tmodel.parameters(), **kwargs)
    _train(opt, topt, model, tmodel, rng)
    worst = max(lib.relative_error(model.params[k], v.detach().numpy()) for k, v in tmodel.state_dict().items())
    assert worst < 1e-10, worst


@pytest.mark.parametrize("name, kwargs", [
    ("StepLR", {"step_size": 3, "gamma": 0.5}),
    ("ExponentialLR", {"gamma": 0.9}),
    ("CosineAnnealingLR", {"T_max": 10, "eta_min": 0.001}),
])
def test_schedules_match_torch(name, kwargs):
    rng, model, tmodel = _pair(1)
    opt = lib.SGD(model, lr=0.1, momentum=0.9)
    topt = torch.optim.SGD(tmodel.parameters(), lr=0.1, momentum=0.9)
    _train(opt, topt, model, tmodel, rng, getattr(lib, name)(opt, **kwargs),
           getattr(torch.optim.lr_scheduler, name)(topt, **kwargs))
    worst = max(lib.relative_error(model.params[k], v.detach().numpy()) for k, v in tmodel.state_dict().items())
    assert worst < 1e-10, worst


def test_linear_warmup():
    opt = lib.SGD(lib.Dense(2, 2), lr=1.0)
    sched = lib.LinearWarmup(opt, warmup=4)
    lrs = [opt.lr] + [sched.step() for _ in range(5)]
    assert lrs == [0.25, 0.5, 0.75, 1.0, 1.0, 1.0]


def test_updates_are_in_place():
    layer = lib.Dense(3, 2)
    weight = layer.params["weight"]
    layer.forward(np.ones((1, 3)))
    layer.backward(np.ones((1, 2)))
    before = weight.copy()
    lib.Adam(layer, lr=0.1).step()
    assert layer.params["weight"] is weight and not np.array_equal(weight, before)


def test_several_modules_and_zero_grad():
    a, b = lib.Dense(2, 2), lib.Dense(2, 2)
    opt = lib.SGD([a, b], lr=0.1)
    for layer in (a, b):
        layer.forward(np.ones((1, 2)))
        layer.backward(np.ones((1, 2)))
    opt.step()
    opt.zero_grad()
    assert all((g == 0).all() for m in (a, b) for g in m.grads.values())


def test_bad_input():
    with pytest.raises(TypeError, match="params and grads"):
        lib.SGD(["not a module"], lr=0.1)
    with pytest.raises(ValueError, match="lr >= 0"):
        lib.Adam(lib.Dense(2, 2), lr=-1)
    with pytest.raises(ValueError, match="Nesterov"):
        lib.SGD(lib.Dense(2, 2), lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match="betas"):
        lib.Adam(lib.Dense(2, 2), betas=(1.0, 0.9))


def _worst(model, tmodel):
    return max(lib.relative_error(model.params[k], v.detach().numpy()) for k, v in tmodel.state_dict().items())


@pytest.mark.parametrize("warmup", [2, 4])
def test_linear_warmup_matches_torch_linear_lr(warmup):
    rng, model, tmodel = _pair(2)
    opt = lib.Adam(model, lr=0.02)
    topt = torch.optim.Adam(tmodel.parameters(), lr=0.02)
    tsched = torch.optim.lr_scheduler.LinearLR(topt, start_factor=1 / warmup, total_iters=warmup - 1)
    sched = lib.LinearWarmup(opt, warmup=warmup)
    assert opt.lr == pytest.approx(topt.param_groups[0]["lr"], rel=1e-12)
    _train(opt, topt, model, tmodel, rng, sched, tsched)
    assert _worst(model, tmodel) < 1e-10


@pytest.mark.parametrize("name, kwargs", [
    ("StepLR", {"step_size": 2, "gamma": 0.3}),
    ("ExponentialLR", {"gamma": 0.8}),
    ("CosineAnnealingLR", {"T_max": 4}),  # past T_max the cosine climbs back, as in torch
])
def test_schedules_with_adamw_and_rmsprop_match_torch(name, kwargs):
    for opt_name, opt_kwargs in [("AdamW", {"lr": 0.01, "weight_decay": 0.1}),
                                 ("RMSprop", {"lr": 0.01, "momentum": 0.3, "centered": True})]:
        rng, model, tmodel = _pair(3)
        opt = getattr(lib, opt_name)(model, **opt_kwargs)
        topt = getattr(torch.optim, opt_name)(tmodel.parameters(), **opt_kwargs)
        _train(opt, topt, model, tmodel, rng, getattr(lib, name)(opt, **kwargs),
               getattr(torch.optim.lr_scheduler, name)(topt, **kwargs))
        assert _worst(model, tmodel) < 1e-10, opt_name


def test_float32_parameters_stay_float32_and_in_place():
    layer = lib.Dense(3, 2, dtype=np.float32)
    arrays = dict(layer.params)
    for opt in (lib.SGD(layer, lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.1),
                lib.RMSprop(layer, lr=0.01, momentum=0.5, centered=True), lib.Adam(layer, weight_decay=0.1),
                lib.AdamW(layer)):
        for _ in range(2):
            layer.forward(np.ones((2, 3), np.float32))
            layer.backward(np.ones((2, 2), np.float32))
            opt.step()
        assert all(layer.params[k] is arrays[k] and arrays[k].dtype == np.float32 for k in arrays)


def test_step_without_gradients_and_more_bad_input():
    class Bare:
        params = {"w": np.zeros(2)}
        grads: dict = {}

    with pytest.raises(ValueError, match="no gradient for parameter 'w'"):
        lib.SGD(Bare(), lr=0.1).step()
    with pytest.raises(ValueError, match="momentum >= 0"):
        lib.SGD(lib.Dense(2, 2), lr=0.1, momentum=-0.5)
    with pytest.raises(ValueError, match="weight_decay >= 0"):
        lib.AdamW(lib.Dense(2, 2), weight_decay=-1)
    with pytest.raises(ValueError, match="at least one module"):
        lib.Adam([])
    with pytest.raises(ValueError, match="T_max >= 1"):
        lib.CosineAnnealingLR(lib.SGD(lib.Dense(2, 2), lr=0.1), T_max=0)
    with pytest.raises(TypeError, match="expected an Optimizer"):
        lib.StepLR("sgd", step_size=1)
