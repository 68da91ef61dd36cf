"""A small training loop: minibatches, ``fit``, history, early stopping.

``fit`` is deliberately plain — forward, loss, backward, optimizer step — so a
chapter can show it in full. It refuses to continue on a NaN or infinite loss.
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np

from ._checks import NonFiniteError
from .module import Module
from .optim import Optimizer


class TrainingDiverged(FloatingPointError):
    """Raised when the loss becomes NaN or infinite during training."""


def minibatches(data, batch_size: int, rng: np.random.Generator | None = None,
                shuffle: bool = True) -> Iterator:
    """Cover a data set once in batches of ``batch_size`` (the last may be smaller).

    ``data`` is either
      - an int ``n``: yields index arrays into ``range(n)`` (use them as ``X[idx]``);
      - one array: yields its batches ``data[idx]`` (along the first axis);
      - a tuple or list of arrays of equal length: yields tuples ``(a[idx], b[idx], ...)``.

    With ``shuffle`` the order is a fresh permutation from ``rng`` (required then, so
    runs are reproducible); ``shuffle=False`` keeps the order.
    """
    if isinstance(data, (int, np.integer)):
        n, arrays = int(data), None
    elif isinstance(data, np.ndarray):
        n, arrays = len(data), None
    elif isinstance(data, (tuple, list)) and data and all(isinstance(a, np.ndarray) for a in data):
        lengths = [len(a) for a in data]
        if len(set(lengths)) != 1:
            raise ValueError(f"minibatches expected arrays of equal length, got lengths {lengths}")
        n, arrays = lengths[0], tuple(data)
    else:
        raise TypeError(f"minibatches expected an int, an array or a tuple of arrays, got {type(data).__name__}")
    if n < 0:
        raise ValueError(f"minibatches expected a non-negative number of examples, got {n}")
    if not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"minibatches expected batch_size to be an int >= 1, got {batch_size!r}")
    if shuffle:
        if not isinstance(rng, np.random.Generator):
            raise ValueError("minibatches(shuffle=True) needs an explicit rng (np.random.default_rng(seed)), "
                             f"got {type(rng).__name__}")
        order = rng.permutation(n)
    else:
        order = np.arange(n)
    for start in range(0, n, batch_size):
        idx = order[start:start + batch_size]
        if isinstance(data, np.ndarray):
            yield data[idx]
        elif arrays is not None:
            yield tuple(a[idx] for a in arrays)
        else:
            yield idx


@dataclass
class History:
    """Per-epoch records of a :func:`fit` run."""

    train_loss: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    metrics: dict[str, list[float]] = field(default_factory=dict)
    best_epoch: int | None = None
    stopped_early: bool = False

    def __len__(self) -> int:
        return len(self.train_loss)


class EarlyStopping:
    """Stop when the monitored loss has not improved by ``min_delta`` for ``patience`` epochs.

    With ``restore_best`` the model's parameters are reset to those of the best epoch.
    """

    def __init__(self, patience: int = 5, min_delta: float = 0.0, restore_best: bool = True) -> None:
        if patience < 1:
            raise ValueError(f"EarlyStopping expected patience >= 1, got {patience}")
        self.patience, self.min_delta, self.restore_best = patience, min_delta, restore_best
        self.best = math.inf
        self.best_epoch: int | None = None
        self.best_state: dict[str, np.ndarray] | None = None
        self.wait = 0

    def update(self, loss: float, epoch: int, model: Module) -> bool:
        """Record this epoch's loss; return True when training should stop."""
        if loss < self.best - self.min_delta:
            self.best, self.best_epoch, self.wait = loss, epoch, 0
            if self.restore_best:
                self.best_state = model.state_dict()
            return False
        self.wait += 1
        return self.wait >= self.patience

    def restore(self, model: Module) -> None:
        if self.restore_best and self.best_state is not None:
            model.load_state_dict(self.best_state)


def _interactive() -> bool:
    """Show progress bars only for a person: a terminal or a Jupyter kernel, and not in CI
    or a book build / test run (the Makefile sets ``NNBOOK_NO_PROGRESS``)."""
    if os.environ.get("CI") or os.environ.get("NNBOOK_NO_PROGRESS"):
        return False
    if _isatty(sys.stdout) and _isatty(sys.stderr):
        return True
    shell = sys.modules.get("IPython") and sys.modules["IPython"].get_ipython()
    return shell is not None and hasattr(shell, "kernel")


def _isatty(stream) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # replaced or closed streams
        return False


def _check_finite(loss: float, epoch: int, batch: int) -> None:
    if not math.isfinite(loss):
        raise TrainingDiverged(
            f"training diverged: loss is {loss} at epoch {epoch}, batch {batch} "
            "(try a smaller learning rate, gradient clipping or standardised inputs)"
        )


def evaluate(model: Module, loss_fn: Callable, X: np.ndarray, y: np.ndarray, batch_size: int = 1024) -> float:
    """Mean loss of ``model`` on (X, y) in eval mode, batch by batch, weighted by batch size."""
    was_training = model.training
    model.eval()
    total = 0.0
    for idx in minibatches(len(X), batch_size, shuffle=False):
        value, _ = loss_fn(model.forward(X[idx]), y[idx])
        total += value * len(idx)
    model.train(was_training)
    return total / len(X)


def fit(model: Module, loss_fn: Callable, optimizer: Optimizer, X: np.ndarray, y: np.ndarray,
        epochs: int, batch_size: int, rng: np.random.Generator,
        validation_data: tuple[np.ndarray, np.ndarray] | None = None,
        early_stopping: EarlyStopping | None = None, progress: bool | None = None,
        metrics: dict[str, Callable[[np.ndarray, np.ndarray], float]] | None = None,
        scheduler=None) -> History:
    """Train ``model`` with minibatch gradient descent.

    Each step: ``pred = model.forward(X[b])``, ``loss, dpred = loss_fn(pred, y[b])``,
    ``model.backward(dpred)``, ``optimizer.step()``. The epoch's training loss is the
    batch-size-weighted mean of its batch losses. ``metrics`` maps a name to
    ``metric(pred, y)`` evaluated on the validation data (or the training data) after
    each epoch. ``scheduler.step()`` is called after each epoch.

    ``progress=None`` shows a tqdm bar (one tick per epoch) only to a person at a terminal
    or in Jupyter — never with ``CI`` or ``NNBOOK_NO_PROGRESS`` set, so built pages stay clean.

    Shapes: X (N, ...) and y (N, ...) with matching first axis; ``loss_fn(pred, y_batch)``
    returns ``(value, dpred)`` with dpred shaped like pred.

    Raises :class:`TrainingDiverged` as soon as a loss is NaN or infinite.
    """
    for name, a in (("X", X), ("y", y)):
        if not isinstance(a, np.ndarray):
            raise TypeError(f"fit expected {name} as a numpy array, got {type(a).__name__}")
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"fit expected rng to be an np.random.Generator, got {type(rng).__name__}")
    if len(X) != len(y):
        raise ValueError(f"fit expected X and y with the same number of examples, got {len(X)} and {len(y)}")
    if epochs < 1:
        raise ValueError(f"fit expected epochs >= 1, got {epochs}")
    for name, a in (("X", X), ("y", y)):
        if np.asarray(a).dtype.kind == "f" and not np.isfinite(a).all():
            raise NonFiniteError(f"fit got non-finite values (NaN or inf) in {name}")
    show = _interactive() if progress is None else progress
    bar = None
    if show:
        from tqdm.auto import tqdm

        bar = tqdm(total=epochs, desc="epochs", leave=False)
    history = History()
    try:
        for epoch in range(1, epochs + 1):
            model.train()
            total = 0.0
            # Overflow becomes inf/NaN in the loss, which stops training with a clear message
            # below, instead of a stream of numpy warnings.
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                for b, idx in enumerate(minibatches(len(X), batch_size, rng), start=1):
                    try:
                        pred = model.forward(X[idx])
                        loss, dpred = loss_fn(pred, y[idx])
                    except NonFiniteError as err:  # the data was checked: the parameters went bad
                        raise TrainingDiverged(f"training diverged at epoch {epoch}, batch {b}: {err} "
                                               "(try a smaller learning rate or gradient clipping)") from err
                    _check_finite(loss, epoch, b)
                    model.backward(dpred)
                    optimizer.step()
                    total += loss * len(idx)
            history.train_loss.append(total / len(X))
            monitored = history.train_loss[-1]
            if validation_data is not None:
                X_val, y_val = validation_data
                history.val_loss.append(evaluate(model, loss_fn, X_val, y_val))
                monitored = history.val_loss[-1]
            if metrics:
                X_m, y_m = validation_data if validation_data is not None else (X, y)
                model.eval()
                pred = model.forward(X_m)
                model.train()
                for name, metric in metrics.items():
                    history.metrics.setdefault(name, []).append(float(metric(pred, y_m)))
            if scheduler is not None:
                scheduler.step()
            if bar is not None:
                bar.set_postfix(loss=f"{monitored:.4g}")
                bar.update()
            if early_stopping is not None and early_stopping.update(monitored, epoch, model):
                history.stopped_early = True
                break
    finally:
        if bar is not None:
            bar.close()
    if early_stopping is not None:
        early_stopping.restore(model)
        history.best_epoch = early_stopping.best_epoch
    return history


def accuracy(pred: np.ndarray, y: np.ndarray) -> float:
    """Fraction of rows whose arg-max class equals the integer label (or, for one logit, whose sign does)."""
    if pred.ndim == y.ndim or pred.shape[-1] == 1:
        return float(np.mean((pred.reshape(y.shape) > 0) == (y > 0.5)))
    return float(np.mean(pred.argmax(axis=-1) == y))
