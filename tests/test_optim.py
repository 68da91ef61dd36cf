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
    assert lrs == pytest.approx([0.25, 0.5, 0.75, 1.0, 1.0, 1.0], rel=1e-15)


# (lib factory, torch factory) for every scheduler, including the cosine past T_max (its "restart" branch)
SCHEDULES = {
    "StepLR": (lambda o: lib.StepLR(o, step_size=3, gamma=0.5),
               lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=3, gamma=0.5)),
    "ExponentialLR": (lambda o: lib.ExponentialLR(o, gamma=0.9),
                      lambda o: torch.optim.lr_scheduler.ExponentialLR(o, gamma=0.9)),
    "CosineAnnealingLR": (lambda o: lib.CosineAnnealingLR(o, T_max=5, eta_min=0.01),
                          lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=5, eta_min=0.01)),
    "LinearLR": (lambda o: lib.LinearLR(o, start_factor=0.2, end_factor=0.9, total_iters=4),
                 lambda o: torch.optim.lr_scheduler.LinearLR(o, start_factor=0.2, end_factor=0.9, total_iters=4)),
    "LinearWarmup": (lambda o: lib.LinearWarmup(o, warmup=4),
                     lambda o: torch.optim.lr_scheduler.LinearLR(o, start_factor=1 / 4, total_iters=3)),
}


def _trajectories(names, lr=0.1, set_lr=None, epochs=24):
    """lr per epoch (after construction, then after each epoch's steps) in lib and in torch."""
    opt = lib.SGD(lib.Dense(2, 2), lr=lr)
    topt = torch.optim.SGD(torch.nn.Linear(2, 2).parameters(), lr=lr)
    if set_lr is not None:
        opt.lr = set_lr
        topt.param_groups[0]["lr"] = set_lr
    ours = [SCHEDULES[n][0](opt) for n in names]
    theirs = [SCHEDULES[n][1](topt) for n in names]
    lrs, tlrs = [opt.lr], [topt.param_groups[0]["lr"]]
    for _ in range(epochs):
        topt.step()  # (no gradients: only keeps torch from warning about the call order)
        for s in ours:
            s.step()
        for s in theirs:
            s.step()
        lrs.append(opt.lr)
        tlrs.append(topt.param_groups[0]["lr"])
    return lrs, tlrs


@pytest.mark.parametrize("name", list(SCHEDULES))
def test_schedule_trajectory_alone_equals_torch_and_closed_form(name):
    lrs, tlrs = _trajectories([name])
    assert lrs == pytest.approx(tlrs, rel=1e-12, abs=1e-15)
    sched = SCHEDULES[name][0](lib.SGD(lib.Dense(2, 2), lr=0.1))
    assert lrs == pytest.approx([sched.lr_at(e) for e in range(len(lrs))], rel=1e-12, abs=1e-15)


@pytest.mark.parametrize("name", list(SCHEDULES))
def test_schedule_starts_from_the_current_lr(name):
    """opt.lr = 0.01 after construction: the schedule continues from 0.01 (not the constructor's 0.05)."""
    lrs, tlrs = _trajectories([name], lr=0.05, set_lr=0.01)
    assert lrs == pytest.approx(tlrs, rel=1e-12, abs=1e-15)
    assert lrs[0] <= 0.01 and max(lrs) <= 0.01 + 1e-12


@pytest.mark.parametrize("first", list(SCHEDULES))
@pytest.mark.parametrize("second", list(SCHEDULES))
def test_two_chained_schedules_equal_torch(first, second):
    lrs, tlrs = _trajectories([first, second])
    assert lrs == pytest.approx(tlrs, rel=1e-12, abs=1e-15)


def test_three_chained_schedules_equal_torch():
    lrs, tlrs = _trajectories(["LinearWarmup", "CosineAnnealingLR", "StepLR"], epochs=30)
    assert lrs == pytest.approx(tlrs, rel=1e-12, abs=1e-15)


def test_warmup_then_step_is_pytorchs_chain():
    """The example of issue 14: lr 1, LinearWarmup(4) then StepLR(2, 0.5)."""
    opt = lib.SGD(lib.Dense(2, 2), lr=1.0)
    warm, decay = lib.LinearWarmup(opt, warmup=4), lib.StepLR(opt, step_size=2, gamma=0.5)
    lrs = [opt.lr]
    for _ in range(5):
        warm.step()
        lrs.append(decay.step())
    topt = torch.optim.SGD(torch.nn.Linear(2, 2).parameters(), lr=1.0)
    chain = [torch.optim.lr_scheduler.LinearLR(topt, start_factor=0.25, total_iters=3),
             torch.optim.lr_scheduler.StepLR(topt, step_size=2, gamma=0.5)]
    tlrs = [topt.param_groups[0]["lr"]]
    for _ in range(5):
        topt.step()
        for s in chain:
            s.step()
        tlrs.append(topt.param_groups[0]["lr"])
    assert lrs[:3] == pytest.approx([0.25, 0.5, 0.375], rel=1e-15)
    assert lrs == pytest.approx(tlrs, rel=1e-15)
    assert decay.get_last_lr() == lrs[-1]


def test_schedule_bad_input():
    opt = lib.SGD(lib.Dense(2, 2), lr=0.1)
    with pytest.raises(ValueError, match="StepLR expected step_size to be a positive int, got 0"):
        lib.StepLR(opt, step_size=0)
    with pytest.raises(ValueError, match="StepLR expected step_size to be a positive int, got 2.5"):
        lib.StepLR(opt, step_size=2.5)
    with pytest.raises(ValueError, match=r"ExponentialLR expected gamma in \[0.0, inf\), got -0.5"):
        lib.ExponentialLR(opt, gamma=-0.5)
    with pytest.raises(ValueError, match=r"StepLR expected gamma in \[0.0, inf\), got nan"):
        lib.StepLR(opt, step_size=1, gamma=float("nan"))
    with pytest.raises(TypeError, match="ExponentialLR expected gamma to be a number, got str"):
        lib.ExponentialLR(opt, gamma="0.9")
    with pytest.raises(ValueError, match=r"LinearLR expected start_factor in \(0.0, 1.0\], got 0.0"):
        lib.LinearLR(opt, start_factor=0.0)
    with pytest.raises(ValueError, match=r"LinearLR expected end_factor in \[0.0, 1.0\], got 1.5"):
        lib.LinearLR(opt, end_factor=1.5)
    with pytest.raises(ValueError, match="LinearLR expected total_iters to be a non-negative int, got -1"):
        lib.LinearLR(opt, total_iters=-1)
    with pytest.raises(ValueError, match="LinearWarmup expected warmup to be a positive int, got 0"):
        lib.LinearWarmup(opt, warmup=0)
    with pytest.raises(ValueError, match=r"CosineAnnealingLR expected eta_min in \[0.0, inf\)"):
        lib.CosineAnnealingLR(opt, T_max=3, eta_min=-1.0)
    assert opt.lr == 0.1  # a refused scheduler leaves the optimizer alone
    with pytest.raises(ValueError, match=r"SGD expected lr >= 0 \(finite\), got nan"):
        opt.lr = float("nan")
    with pytest.raises(TypeError, match="SGD expected lr to be a number, got NoneType"):
        opt.lr = None


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
    with pytest.raises(ValueError, match=r"SGD expected momentum in \[0.0, inf\), got -0.5"):
        lib.SGD(lib.Dense(2, 2), lr=0.1, momentum=-0.5)
    with pytest.raises(TypeError, match="RMSprop expected alpha to be a number, got str"):
        lib.RMSprop(lib.Dense(2, 2), alpha="0.9")
    with pytest.raises(ValueError, match=r"Adam expected betas as a pair of numbers in \[0, 1\), got 0.9"):
        lib.Adam(lib.Dense(2, 2), betas=0.9)
    with pytest.raises(ValueError, match=r"AdamW expected weight_decay in \[0.0, inf\), got -1"):
        lib.AdamW(lib.Dense(2, 2), weight_decay=-1)
    with pytest.raises(ValueError, match="at least one module"):
        lib.Adam([])
    with pytest.raises(ValueError, match="CosineAnnealingLR expected T_max to be a positive int, got 0"):
        lib.CosineAnnealingLR(lib.SGD(lib.Dense(2, 2), lr=0.1), T_max=0)
    with pytest.raises(TypeError, match="expected an Optimizer"):
        lib.StepLR("sgd", step_size=1)


def test_step_refuses_bad_gradients_before_touching_any_parameter():
    layer = lib.Dense(2, 2)
    opt = lib.SGD(layer, lr=0.1)
    before = {k: v.copy() for k, v in layer.params.items()}
    layer.grads["bias"] = np.zeros(2, np.float32)
    with pytest.raises(TypeError, match="SGD: gradient of 'bias' has dtype float32, parameter has float64"):
        opt.step()
    layer.grads["bias"] = np.zeros((1, 2))
    with pytest.raises(ValueError, match=r"SGD: gradient of 'bias' has shape \(1, 2\), parameter has \(2,\)"):
        opt.step()
    assert all((layer.params[k] == before[k]).all() for k in before)  # "weight" came first and is untouched


def test_non_finite_gradients_are_applied_as_in_torch():
    """PyTorch's optimizers apply NaN/inf gradients; so do lib's (lib.fit stops before that)."""
    layer = lib.Dense(2, 1)
    layer.grads["weight"] = np.array([[np.inf, 0.0]])
    lib.SGD(layer, lr=0.1).step()
    assert np.isneginf(layer.params["weight"][0, 0])
