"""Dropout: inverted scaling in training, identity in eval, backward through the same mask."""

from __future__ import annotations

import numpy as np
import pytest

import lib


def test_training_mask_and_scale():
    layer = lib.Dropout(0.25, rng=np.random.default_rng(0))
    x = np.ones((200, 50))
    y = layer.forward(x)
    kept = y != 0
    np.testing.assert_allclose(y[kept], 1 / 0.75)
    assert abs(kept.mean() - 0.75) < 0.01
    assert abs(y.mean() - 1.0) < 0.02  # expectation preserved
    np.testing.assert_array_equal(layer.backward(np.ones_like(x)), y)


def test_eval_is_identity():
    layer = lib.Dropout(0.5).eval()
    x = np.random.default_rng(1).standard_normal((3, 4))
    assert layer.forward(x) is x
    assert layer.backward(x) is x


def test_gradient_check_with_fixed_mask():
    rng = np.random.default_rng(2)
    layer = lib.Dropout(0.3, rng=rng)
    x = rng.standard_normal((4, 5))
    g = rng.standard_normal((4, 5))
    layer.forward(x)
    mask = layer.mask.copy()
    dx = layer.backward(g)
    np.testing.assert_allclose(dx, g * mask)


def test_float32_and_bad_input():
    assert lib.Dropout(0.5).forward(np.ones((2, 2), np.float32)).dtype == np.float32
    with pytest.raises(ValueError, match="0 <= p < 1"):
        lib.Dropout(1.0)
    with pytest.raises(TypeError, match="float32 or float64"):
        lib.Dropout(0.1).forward(np.ones((2, 2), int))


def test_mask_is_public_and_read_only():
    drop = lib.Dropout(0.25, rng=np.random.default_rng(0))
    assert drop.mask is None
    x = np.ones((50, 40))
    y = drop.forward(x)
    mask = drop.mask
    assert mask.shape == x.shape and set(np.unique(mask)) == {0.0, 1 / 0.75}
    np.testing.assert_array_equal(y, x * mask)
    np.testing.assert_array_equal(drop.backward(np.ones_like(x)), mask)
    with pytest.raises(ValueError, match="read-only"):
        mask[0, 0] = 5.0
    with pytest.raises(AttributeError):
        drop.mask = None
    drop.eval()
    drop.forward(x)
    assert drop.mask is None  # the identity in eval mode


def test_bad_input_messages():
    with pytest.raises(TypeError, match="Dropout expected p to be a number, got str"):
        lib.Dropout("0.5")
    with pytest.raises(ValueError, match="Dropout expected 0 <= p < 1, got 1.0"):
        lib.Dropout(1.0)
    with pytest.raises(ValueError, match=r"Dropout expected p in \[0.0, inf\), got nan"):
        lib.Dropout(float("nan"))
    with pytest.raises(TypeError, match="Dropout expected rng to be an np.random.Generator"):
        lib.Dropout(0.5, rng=1)
    drop = lib.Dropout(0.5)
    with pytest.raises(RuntimeError, match="Dropout.backward called before forward"):
        drop.backward(np.zeros(3))
    drop.forward(np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"Dropout.backward expected a gradient of shape \(2, 3\)"):
        drop.backward(np.zeros((3, 2)))
    with pytest.raises(TypeError, match="Dropout.backward expected a gradient of dtype float64, got float32"):
        drop.backward(np.zeros((2, 3), np.float32))
    with pytest.raises(ValueError, match="Dropout.backward got non-finite values"):
        drop.backward(np.full((2, 3), np.inf))


@pytest.mark.parametrize("p", [0.1, 0.5, 0.9])
def test_same_semantics_as_torch_dropout(p):
    """PyTorch draws its own mask, so the two are compared through it: in training both zero some entries
    and scale the rest by exactly 1/(1-p), and backward passes the gradient through that same scaled
    mask; in eval both are the identity. lib's backward, given torch's mask, returns torch's gradient."""
    torch = pytest.importorskip("torch", reason="PyTorch not installed: cross-checks skipped")
    rng = np.random.default_rng(3)
    x = rng.uniform(0.5, 2.0, size=(64, 32))  # no zeros: a kept entry is never mistaken for a dropped one
    g = rng.standard_normal(x.shape)
    torch.manual_seed(0)
    ref = torch.nn.Dropout(p)
    xt = torch.tensor(x, requires_grad=True)
    yt = ref(xt)
    yt.backward(torch.tensor(g))
    y_ref = yt.detach().numpy()
    torch_mask = y_ref / x  # 0 or 1/(1-p)
    layer = lib.Dropout(p, rng=np.random.default_rng(4))
    y = layer.forward(x)
    for out in (y, y_ref):
        kept = out != 0
        np.testing.assert_allclose(out[kept], x[kept] / (1 - p), rtol=1e-12)
        assert 0 < kept.mean() < 1
    np.testing.assert_allclose(xt.grad.numpy(), g * torch_mask, rtol=1e-12)
    layer._mask = torch_mask  # lib's backward through torch's mask
    np.testing.assert_allclose(layer.backward(g), xt.grad.numpy(), rtol=1e-12)
    ref.eval()
    layer.eval()
    np.testing.assert_array_equal(ref(torch.tensor(x)).numpy(), layer.forward(x))
