"""Loss functions. Each returns ``(value, dinput)``: the loss and its gradient
with respect to the prediction (or logits), with the same conventions as PyTorch's
``reduction="mean" | "sum" | "none"``.
"""

from __future__ import annotations

import numpy as np

from ._checks import check_array

_REDUCTIONS = ("mean", "sum", "none")


def _check_reduction(reduction: str) -> None:
    if reduction not in _REDUCTIONS:
        raise ValueError(f"reduction must be one of {_REDUCTIONS}, got {reduction!r}")


def _check_pair(pred: np.ndarray, target: np.ndarray, name: str) -> np.ndarray:
    """Validate (pred, target) and return target in pred's dtype.

    Integer or boolean targets (0/1 labels) are converted exactly; a float target of
    another precision is an error rather than a silent up- or down-cast.
    """
    check_array(pred, f"{name} input")
    if pred.dtype not in (np.float32, np.float64):
        raise TypeError(f"{name} expected a float32 or float64 input, got {pred.dtype}")
    check_array(target, f"{name} target")
    if pred.shape != target.shape:
        raise ValueError(f"{name} expected target of shape {pred.shape} (like the input), got {target.shape}")
    if target.dtype.kind not in "iubf":
        raise TypeError(f"{name} expected a numeric target, got dtype {target.dtype}")
    if target.dtype.kind in "iub":
        return target.astype(pred.dtype)
    if target.dtype != pred.dtype:
        raise TypeError(f"{name} expected target of dtype {pred.dtype} (like the input), got {target.dtype}")
    return target


def _broadcastable(w, like: np.ndarray, name: str) -> np.ndarray:
    """A weight as an array of ``like``'s dtype that broadcasts to ``like.shape`` without growing it."""
    w = check_array(np.asarray(w, dtype=like.dtype), name)
    try:
        ok = np.broadcast_shapes(w.shape, like.shape) == like.shape
    except ValueError:
        ok = False
    if not ok:
        raise ValueError(f"{name} of shape {w.shape} does not broadcast to the input's shape {like.shape}")
    return w


def _softplus(z: np.ndarray) -> np.ndarray:
    """log(1 + e^z) without overflow."""
    return np.maximum(z, 0) + np.log1p(np.exp(-np.abs(z)))


def _sigmoid(z: np.ndarray) -> np.ndarray:
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def mse_loss(pred: np.ndarray, target: np.ndarray, reduction: str = "mean") -> tuple:
    """Mean squared error ``mean((pred − target)²)`` over every element.

    pred, target: any equal shape -> (value, dpred with pred's shape). With
    ``reduction="none"`` the value is the array of squared errors and dpred the gradient
    of their sum.
    """
    _check_reduction(reduction)
    target = _check_pair(pred, target, "mse_loss")
    if pred.size == 0 and reduction == "mean":
        raise ValueError(f"mse_loss got an empty input of shape {pred.shape}; the mean is undefined")
    diff = pred - target
    if reduction == "none":
        return diff * diff, 2 * diff
    scale = 1.0 / diff.size if reduction == "mean" else 1.0
    return float(np.sum(diff * diff) * scale), (2 * scale) * diff


def binary_cross_entropy_with_logits(logits: np.ndarray, target: np.ndarray, weight: np.ndarray | None = None,
                                     pos_weight: np.ndarray | float | None = None, reduction: str = "mean") -> tuple:
    """Binary cross-entropy on logits, stable for any magnitude (like ``F.binary_cross_entropy_with_logits``).

    ``ℓ = −w·[p·y·log σ(z) + (1 − y)·log(1 − σ(z))]`` with ``log σ(z) = −softplus(−z)``.
    logits, target: equal shapes, target in [0, 1]; weight broadcasts to them; pos_weight
    broadcasts along the last axis (one weight per class, e.g. shape (C,)). Returns
    (value, dlogits with logits' shape); with ``reduction="none"`` the value is per element.
    """
    _check_reduction(reduction)
    name = "binary_cross_entropy_with_logits"
    target = _check_pair(logits, target, name)
    if logits.size == 0 and reduction == "mean":
        raise ValueError(f"{name} got an empty input of shape {logits.shape}; the mean is undefined")
    if np.any((target < 0) | (target > 1)):
        raise ValueError(f"{name} expected targets in [0, 1], got values in [{target.min()}, {target.max()}]")
    p = 1.0 if pos_weight is None else _broadcastable(pos_weight, logits, f"{name} pos_weight")
    w = 1.0 if weight is None else _broadcastable(weight, logits, f"{name} weight")
    loss = w * (p * target * _softplus(-logits) + (1 - target) * _softplus(logits))
    grad = w * (-p * target * _sigmoid(-logits) + (1 - target) * _sigmoid(logits))
    loss, grad = loss.astype(logits.dtype, copy=False), grad.astype(logits.dtype, copy=False)
    if reduction == "none":
        return loss, grad
    scale = 1.0 / loss.size if reduction == "mean" else 1.0
    return float(loss.sum() * scale), grad * logits.dtype.type(scale)


def softmax_cross_entropy(logits: np.ndarray, target: np.ndarray, weight: np.ndarray | None = None,
                          ignore_index: int = -100, reduction: str = "mean") -> tuple:
    """Cross-entropy of integer class targets under a softmax of ``logits`` (like ``F.cross_entropy``).

    ``ℓ_n = −w[y_n]·log softmax(z_n)[y_n]``, computed with log-sum-exp. With
    ``reduction="mean"`` the sum is divided by ``Σ_n w[y_n]`` over the targets that are
    not ``ignore_index`` (PyTorch's convention; the plain mean when ``weight`` is None).

    Shapes
    ------
    logits: (N, C) or (N, T, C); target: (N,) or (N, T) of ints in [0, C) or ``ignore_index``;
    weight: (C,). Returns (value, dlogits with logits' shape); with ``reduction="none"``
    the value has target's shape (0 where ignored).
    """
    _check_reduction(reduction)
    check_array(logits, "softmax_cross_entropy logits")
    if logits.dtype not in (np.float32, np.float64):
        raise TypeError(f"softmax_cross_entropy expected float32 or float64 logits, got {logits.dtype}")
    if not isinstance(target, np.ndarray):
        raise TypeError(f"softmax_cross_entropy expected target as a numpy array, got {type(target).__name__}")
    if logits.ndim not in (2, 3):
        raise ValueError(f"softmax_cross_entropy expected logits of shape (N, C) or (N, T, C), got {logits.shape}")
    if target.dtype.kind not in "iu":
        raise TypeError(f"softmax_cross_entropy expected integer class targets, got dtype {target.dtype}")
    if target.shape != logits.shape[:-1]:
        raise ValueError(
            f"softmax_cross_entropy expected target of shape {logits.shape[:-1]} for logits {logits.shape}, "
            f"got {target.shape}"
        )
    n_classes = logits.shape[-1]
    if n_classes == 0:
        raise ValueError(f"softmax_cross_entropy expected at least one class, got logits of shape {logits.shape}")
    if target.size == 0 and reduction == "mean":
        raise ValueError(f"softmax_cross_entropy got an empty batch (logits {logits.shape}); the mean is undefined")
    if isinstance(ignore_index, bool) or not isinstance(ignore_index, (int, np.integer)):
        raise TypeError(f"softmax_cross_entropy expected ignore_index to be an int, got {type(ignore_index).__name__}")
    valid = target != ignore_index
    ids = target[valid]
    bad = ids[(ids < 0) | (ids >= n_classes)]
    if bad.size:
        raise ValueError(
            f"softmax_cross_entropy expected class ids in [0, {n_classes}) or ignore_index={ignore_index}, "
            f"got {bad[0]}"
        )
    if weight is not None:
        weight = check_array(np.asarray(weight, dtype=logits.dtype), "softmax_cross_entropy weight")
        if weight.shape != (n_classes,):
            raise ValueError(f"softmax_cross_entropy expected weight of shape ({n_classes},), got {weight.shape}")
    safe = np.where(valid, target, 0)
    shifted = logits - logits.max(axis=-1, keepdims=True)
    exp = np.exp(shifted)
    sum_exp = exp.sum(axis=-1, keepdims=True)
    log_probs = shifted - np.log(sum_exp)
    picked = np.take_along_axis(log_probs, safe[..., None], axis=-1)[..., 0]
    w = (weight[safe] if weight is not None else np.ones_like(picked)) * valid
    loss = -w * picked
    grad = exp / sum_exp
    np.put_along_axis(grad, safe[..., None], np.take_along_axis(grad, safe[..., None], axis=-1) - 1, axis=-1)
    grad *= w[..., None]
    if reduction == "none":
        return loss, grad
    if reduction == "mean":
        total = w.sum()
        if total == 0:
            raise ValueError(
                "softmax_cross_entropy: every target is ignore_index (or has weight 0); the mean is undefined"
            )
        return float(loss.sum() / total), grad / total
    return float(loss.sum()), grad
