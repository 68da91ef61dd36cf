"""Losses: values and gradients against PyTorch and finite differences; stability; errors."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import lib

torch = pytest.importorskip("torch", reason="PyTorch not installed: cross-checks skipped (make test installs it)")
F = torch.nn.functional


def _torch_value_and_grad(fn, x, *args, **kwargs):
    xt = torch.tensor(x, requires_grad=True)
    out = fn(xt, *args, **kwargs)
    out.backward(torch.ones_like(out))
    return out.detach().numpy(), xt.grad.numpy()


def _check(ours, theirs):
    value, grad = ours
    t_value, t_grad = theirs
    assert lib.relative_error(np.asarray(value), t_value) < 1e-10
    assert lib.relative_error(grad, t_grad) < 1e-10


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_mse_matches_torch(reduction):
    rng = np.random.default_rng(0)
    pred, target = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
    _check(lib.mse_loss(pred, target, reduction),
           _torch_value_and_grad(F.mse_loss, pred, torch.tensor(target), reduction=reduction))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("weighted", [False, True])
def test_bce_with_logits_matches_torch(reduction, weighted):
    rng = np.random.default_rng(1)
    logits = rng.standard_normal((6, 3)) * 5
    target = rng.random((6, 3))
    kwargs = {}
    if weighted:
        kwargs = {"weight": rng.random((6, 3)), "pos_weight": rng.random(3) + 0.5}
    theirs = _torch_value_and_grad(F.binary_cross_entropy_with_logits, logits, torch.tensor(target),
                                   reduction=reduction, **{k: torch.tensor(v) for k, v in kwargs.items()})
    _check(lib.binary_cross_entropy_with_logits(logits, target, reduction=reduction, **kwargs), theirs)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("shape", [(7, 5), (3, 4, 5)])
def test_softmax_cross_entropy_matches_torch(reduction, weighted, shape):
    rng = np.random.default_rng(2)
    logits = rng.standard_normal(shape) * 3
    target = rng.integers(0, 5, size=shape[:-1])
    target.flat[0] = -100  # one ignored position
    weight = rng.random(5) + 0.1 if weighted else None
    t_logits = logits if len(shape) == 2 else np.moveaxis(logits, -1, 1)  # torch wants (N, C, T)
    value_t, grad_t = _torch_value_and_grad(
        F.cross_entropy, t_logits, torch.tensor(target), reduction=reduction,
        weight=None if weight is None else torch.tensor(weight), ignore_index=-100,
    )
    if len(shape) == 3:
        grad_t = np.moveaxis(grad_t, 1, -1)
    _check(lib.softmax_cross_entropy(logits, target, weight=weight, reduction=reduction), (value_t, grad_t))


@pytest.mark.parametrize("loss", ["mse", "bce", "ce"])
def test_gradient_check(loss):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((4, 3))
    if loss == "mse":
        target = rng.standard_normal((4, 3))
        fn = lib.mse_loss
    elif loss == "bce":
        target = rng.random((4, 3))
        fn = lib.binary_cross_entropy_with_logits
    else:
        target = rng.integers(0, 3, size=4)
        fn = lib.softmax_cross_entropy
    _, grad = fn(x, target)
    errors = lib.gradient_check(lambda: fn(x, target)[0], {"x": x}, {"x": grad})
    assert errors["x"] < 1e-7


def test_extreme_logits_are_stable():
    logits = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 0.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        value, grad = lib.softmax_cross_entropy(logits, np.array([0, 0]))
        assert value == pytest.approx(1e4)
        assert np.isfinite(grad).all()
        value, grad = lib.binary_cross_entropy_with_logits(logits, np.ones_like(logits))
        assert np.isfinite(value) and np.isfinite(grad).all()


def test_bad_input():
    with pytest.raises(ValueError, match=r"expected target of shape \(4, 3\)"):
        lib.mse_loss(np.zeros((4, 3)), np.zeros((3, 4)))
    with pytest.raises(ValueError, match="reduction must be one of"):
        lib.mse_loss(np.zeros(3), np.zeros(3), reduction="avg")
    with pytest.raises(TypeError, match="integer class targets"):
        lib.softmax_cross_entropy(np.zeros((2, 3)), np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match=r"class ids in \[0, 3\)"):
        lib.softmax_cross_entropy(np.zeros((2, 3)), np.array([0, 3]))
    with pytest.raises(ValueError, match=r"target of shape \(2,\)"):
        lib.softmax_cross_entropy(np.zeros((2, 3)), np.array([0, 1, 2]))
    with pytest.raises(ValueError, match="every target is ignore_index"):
        lib.softmax_cross_entropy(np.zeros((2, 3)), np.array([-100, -100]))
    with pytest.raises(ValueError, match=r"targets in \[0, 1\]"):
        lib.binary_cross_entropy_with_logits(np.zeros(2), np.array([0.0, 2.0]))
    with pytest.raises(ValueError, match="non-finite"):
        lib.mse_loss(np.array([np.nan]), np.array([0.0]))
