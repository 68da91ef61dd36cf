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


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_bce_pos_weight_alone_and_integer_targets_match_torch(reduction):
    rng = np.random.default_rng(4)
    logits = rng.standard_normal((5, 4)) * 4
    target = rng.integers(0, 2, size=(5, 4))
    pos_weight = rng.random(4) * 3
    theirs = _torch_value_and_grad(F.binary_cross_entropy_with_logits, logits, torch.tensor(target).double(),
                                   reduction=reduction, pos_weight=torch.tensor(pos_weight))
    _check(lib.binary_cross_entropy_with_logits(logits, target, pos_weight=pos_weight, reduction=reduction), theirs)


@pytest.mark.parametrize("ignore_index", [0, 2, -1])
def test_cross_entropy_ignore_index_matches_torch(ignore_index):
    rng = np.random.default_rng(5)
    logits = rng.standard_normal((6, 3, 4))
    target = rng.integers(0, 4, size=(6, 3))
    if ignore_index == -1:
        target[::2, 1] = -1
    weight = rng.random(4) + 0.5
    theirs = _torch_value_and_grad(F.cross_entropy, np.moveaxis(logits, -1, 1), torch.tensor(target),
                                   weight=torch.tensor(weight), ignore_index=ignore_index)
    ours = lib.softmax_cross_entropy(logits, target, weight=weight, ignore_index=ignore_index)
    _check(ours, (theirs[0], np.moveaxis(theirs[1], 1, -1)))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_gradient_check_with_weights_and_every_reduction(reduction):
    rng = np.random.default_rng(6)

    def total(value):
        return float(np.sum(value))  # for "none", the gradient returned is that of the sum

    logits = rng.standard_normal((3, 4, 5))
    target = rng.integers(0, 5, size=(3, 4))
    target[0, 0] = -100
    weight = rng.random(5) + 0.1
    _, grad = lib.softmax_cross_entropy(logits, target, weight=weight, reduction=reduction)
    err = lib.gradient_check(
        lambda: total(lib.softmax_cross_entropy(logits, target, weight=weight, reduction=reduction)[0]),
        {"logits": logits}, {"logits": grad})
    assert err["logits"] < 1e-7

    z, y = rng.standard_normal((4, 3)) * 3, rng.random((4, 3))
    w, pw = rng.random((4, 1)), rng.random(3) + 0.5
    _, grad = lib.binary_cross_entropy_with_logits(z, y, weight=w, pos_weight=pw, reduction=reduction)
    err = lib.gradient_check(
        lambda: total(lib.binary_cross_entropy_with_logits(z, y, weight=w, pos_weight=pw, reduction=reduction)[0]),
        {"z": z}, {"z": grad})
    assert err["z"] < 1e-7

    p, t = rng.standard_normal((2, 3, 2)), rng.standard_normal((2, 3, 2))
    _, grad = lib.mse_loss(p, t, reduction)
    assert lib.gradient_check(lambda: total(lib.mse_loss(p, t, reduction)[0]), {"p": p}, {"p": grad})["p"] < 1e-7


def test_float32_in_float32_out():
    rng = np.random.default_rng(7)
    x = rng.standard_normal((4, 3)).astype(np.float32)
    for value, grad in [
        lib.mse_loss(x, rng.standard_normal((4, 3)).astype(np.float32)),
        lib.binary_cross_entropy_with_logits(x, np.ones((4, 3), np.float32), pos_weight=np.ones(3)),
        lib.softmax_cross_entropy(x, np.array([0, 1, 2, 0]), weight=np.ones(3)),
        lib.softmax_cross_entropy(x, np.array([0, 1, 2, 0]), reduction="none"),
    ]:
        assert grad.dtype == np.float32
        assert np.asarray(value).dtype in (np.float32, np.float64)  # a reduced value is a Python float
    value, _ = lib.mse_loss(x, x, reduction="none")
    assert value.dtype == np.float32


def test_extreme_values_are_exact():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        value, grad = lib.binary_cross_entropy_with_logits(np.array([1e4, -1e4]), np.array([0.0, 1.0]),
                                                           reduction="none")
        np.testing.assert_array_equal(value, [1e4, 1e4])
        np.testing.assert_array_equal(grad, [1.0, -1.0])
        value, grad = lib.softmax_cross_entropy(np.array([[1e4, -1e4]]), np.array([0]))
        assert value == 0.0 and (grad == 0).all()


def test_more_bad_input():
    with pytest.raises(TypeError, match="expected target of dtype float32 \\(like the input\\), got float64"):
        lib.mse_loss(np.zeros(3, np.float32), np.zeros(3))
    with pytest.raises(TypeError, match="float32 or float64 input"):
        lib.mse_loss(np.zeros(3, int), np.zeros(3, int))
    with pytest.raises(TypeError, match="float32 or float64 logits"):
        lib.softmax_cross_entropy(np.zeros((2, 3), int), np.array([0, 1]))
    with pytest.raises(TypeError, match="numpy array"):
        lib.softmax_cross_entropy(np.zeros((2, 3)), [0, 1])
    with pytest.raises(ValueError, match=r"weight of shape \(3,\), got \(2,\)"):
        lib.softmax_cross_entropy(np.zeros((2, 3)), np.array([0, 1]), weight=np.ones(2))
    with pytest.raises(ValueError, match=r"logits of shape \(N, C\) or \(N, T, C\)"):
        lib.softmax_cross_entropy(np.zeros(3), np.array(0))
    with pytest.raises(ValueError, match="pos_weight of shape \\(2,\\) does not broadcast"):
        lib.binary_cross_entropy_with_logits(np.zeros((4, 3)), np.zeros((4, 3)), pos_weight=np.ones(2))
    with pytest.raises(ValueError, match="non-finite"):
        lib.binary_cross_entropy_with_logits(np.zeros(2), np.array([0.0, np.nan]))
    with pytest.raises(ValueError, match="non-finite"):
        lib.softmax_cross_entropy(np.array([[np.inf, 0.0]]), np.array([0]))
