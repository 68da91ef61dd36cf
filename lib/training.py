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
    if isinstance(batch_size, (bool, np.bool_)) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
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
        if isinstance(patience, (bool, np.bool_)) or not isinstance(patience, (int, np.integer)) or patience < 1:
            raise ValueError(f"EarlyStopping expected patience >= 1 (an int), got {patience!r}")
        if (isinstance(min_delta, bool) or not isinstance(min_delta, (int, float, np.integer, np.floating))
                or not (math.isfinite(min_delta) and min_delta >= 0)):
            raise ValueError(f"EarlyStopping expected min_delta to be a finite number >= 0, got {min_delta!r}")
        self.patience, self.min_delta, self.restore_best = patience, min_delta, restore_best
        self.best = math.inf
        self.best_epoch: int | None = None
        self.best_state: dict[str, np.ndarray] | None = None
        self.wait = 0

    def update(self, loss: float, epoch: int, model: Module) -> bool:
        """Record this epoch's loss; return True when training should stop."""
        if not math.isfinite(loss):
            raise TrainingDiverged(f"EarlyStopping got a non-finite loss ({loss}) at epoch {epoch}")
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
    """Whether :func:`fit` shows a progress bar by default: only to a person.

    Never with ``NNBOOK_NO_PROGRESS`` or ``CI`` set (the Makefile sets the first for the book build
    and the tests; ``make lab`` unsets it). Otherwise yes at a terminal (stdout and stderr are
    ttys), and in a Jupyter kernel only when a person's front end started it: a Jupyter server
    (JupyterLab, Notebook 7 — it sets ``JPY_SESSION_NAME``), VS Code (it defines
    ``__vsc_ipynb_file__``) or Colab. A kernel that nbclient starts headless — the book build,
    ``jupyter nbconvert --execute``, nbval, papermill — shows none even without the variable.
    """
    if os.environ.get("CI") or os.environ.get("NNBOOK_NO_PROGRESS"):
        return False
    if _isatty(sys.stdout) and _isatty(sys.stderr):
        return True
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    if shell is None or not hasattr(shell, "kernel"):
        return False
    return bool(os.environ.get("JPY_SESSION_NAME") or "__vsc_ipynb_file__" in getattr(shell, "user_ns", {})
                or "google.colab" in sys.modules)


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


def _check_data(X, y, owner: str, names: tuple[str, str] = ("X", "y")) -> None:
    for name, a in zip(names, (X, y), strict=True):
        if not isinstance(a, np.ndarray):
            raise TypeError(f"{owner} expected {name} as a numpy array, got {type(a).__name__}")
        if a.ndim == 0:
            raise ValueError(f"{owner} expected {name} with a first axis of examples, got a 0-d array")
    if len(X) != len(y):
        raise ValueError(f"{owner} expected {names[0]} and {names[1]} with the same number of examples, "
                         f"got {len(X)} and {len(y)}")
    if len(X) == 0:
        raise ValueError(f"{owner} expected at least one example, got 0")
    for name, a in zip(names, (X, y), strict=True):
        if a.dtype.kind == "f" and not np.isfinite(a).all():
            raise NonFiniteError(f"{owner} got non-finite values (NaN or inf) in {name}")


def _check_model(model, owner: str) -> None:
    missing = [a for a in ("forward", "backward", "params", "grads", "train") if not hasattr(model, a)]
    if missing:
        raise TypeError(f"{owner} expected a model with forward, backward, params, grads and train/eval "
                        f"(a lib.Module), got {type(model).__name__} without {', '.join(missing)}")


def _loss(loss_fn: Callable, pred, y, owner: str) -> tuple[float, np.ndarray]:
    """Call ``loss_fn`` and check it returned ``(value, dpred)`` with dpred shaped like pred."""
    if isinstance(pred, tuple):
        raise TypeError(f"{owner} expected model.forward to return one array, got a tuple (a recurrent layer "
                        "returns (outputs, state): wrap it, e.g. lib.Sequential(lib.LastStep(layer), lib.Dense(...)))")
    out = loss_fn(pred, y)
    if not (isinstance(out, tuple) and len(out) == 2):
        raise TypeError(f"{owner} expected loss_fn(pred, y) to return (value, dpred), got {type(out).__name__}")
    value, dpred = out
    if isinstance(value, np.ndarray) and value.ndim > 0:
        raise ValueError(f"{owner} expected loss_fn to return a scalar loss, got an array of shape {value.shape} "
                         '(use reduction="mean" or "sum")')
    if not isinstance(dpred, np.ndarray) or dpred.shape != np.shape(pred):
        got = dpred.shape if isinstance(dpred, np.ndarray) else type(dpred).__name__
        raise ValueError(f"{owner} expected loss_fn's gradient shaped like the prediction {np.shape(pred)}, got {got}")
    return float(value), dpred


def _check_gradients(model) -> None:
    """Raise NonFiniteError if a gradient holds NaN or inf (before the optimizer would apply it)."""
    for name, g in model.grads.items():
        if not np.isfinite(g).all():
            raise NonFiniteError(f"the gradient of {name!r} holds NaN or inf")


def evaluate(model: Module, loss_fn: Callable, X: np.ndarray, y: np.ndarray, batch_size: int = 1024) -> float:
    """Mean loss of ``model`` on (X, y) in eval mode, batch by batch, weighted by batch size.

    X (N, ...), y (N, ...) with N >= 1; ``loss_fn(pred, y_batch) -> (value, dpred)`` with a mean reduction.
    """
    _check_model(model, "evaluate")
    _check_data(X, y, "evaluate")
    if isinstance(batch_size, (bool, np.bool_)) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"evaluate expected batch_size to be an int >= 1, got {batch_size!r}")
    was_training = model.training
    model.eval()
    total = 0.0
    try:
        for idx in minibatches(len(X), batch_size, shuffle=False):
            value, _ = _loss(loss_fn, model.forward(X[idx]), y[idx], "evaluate")
            total += value * len(idx)
    finally:
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
    each epoch. ``scheduler`` (one, or a list stepped in order — chained as in PyTorch) is
    stepped after each epoch.

    ``progress=None`` shows a tqdm bar (one tick per epoch) only to a person at a terminal or in a
    Jupyter front end — never with ``CI`` or ``NNBOOK_NO_PROGRESS`` set, nor in a kernel run headless
    (book build, nbconvert, nbval), so built pages stay clean; True/False force it.

    Shapes: X (N, ...) and y (N, ...) with matching first axis; ``loss_fn(pred, y_batch)``
    returns ``(value, dpred)`` with dpred shaped like pred.

    Raises :class:`TrainingDiverged` as soon as a loss (training or validation), an activation or a
    gradient is NaN or infinite; bad arguments (no examples, mismatched lengths, NaN in the data, a
    loss_fn that does not return ``(value, dpred)``) are ``ValueError``/``TypeError`` before training.
    """
    _check_model(model, "fit")
    if not callable(loss_fn):
        raise TypeError(f"fit expected loss_fn to be callable, got {type(loss_fn).__name__}")
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"fit expected a lib optimizer (SGD, Adam, ...), got {type(optimizer).__name__}")
    _check_data(X, y, "fit")
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"fit expected rng to be an np.random.Generator, got {type(rng).__name__}")
    if isinstance(epochs, (bool, np.bool_)) or not isinstance(epochs, (int, np.integer)) or epochs < 1:
        raise ValueError(f"fit expected epochs to be an int >= 1, got {epochs!r}")
    if isinstance(batch_size, (bool, np.bool_)) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"fit expected batch_size to be an int >= 1, got {batch_size!r}")
    if validation_data is not None:
        if not (isinstance(validation_data, (tuple, list)) and len(validation_data) == 2):
            raise TypeError("fit expected validation_data as a tuple (X_val, y_val)")
        _check_data(*validation_data, "fit", ("X_val", "y_val"))
    if early_stopping is not None and not isinstance(early_stopping, EarlyStopping):
        raise TypeError(f"fit expected early_stopping to be an EarlyStopping, got {type(early_stopping).__name__}")
    if metrics is not None and not (isinstance(metrics, dict) and all(callable(m) for m in metrics.values())):
        raise TypeError("fit expected metrics as a dict of name -> metric(pred, y)")
    schedulers = [] if scheduler is None else list(scheduler) if isinstance(scheduler, (list, tuple)) else [scheduler]
    for s in schedulers:
        if not callable(getattr(s, "step", None)):
            raise TypeError(f"fit expected scheduler (or a list of them) with a step() method, got {type(s).__name__}")
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
                        loss, dpred = _loss(loss_fn, pred, y[idx], "fit")
                        _check_finite(loss, epoch, b)
                        model.backward(dpred)
                        _check_gradients(model)
                        optimizer.step()
                    except NonFiniteError as err:  # the data was checked: the parameters or gradients went bad
                        raise TrainingDiverged(f"training diverged at epoch {epoch}, batch {b}: {err} "
                                               "(try a smaller learning rate or gradient clipping)") from err
                    total += loss * len(idx)
            history.train_loss.append(total / len(X))
            monitored = history.train_loss[-1]
            if validation_data is not None:
                X_val, y_val = validation_data
                try:
                    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                        history.val_loss.append(evaluate(model, loss_fn, X_val, y_val))
                except NonFiniteError as err:
                    raise TrainingDiverged(f"training diverged at epoch {epoch} (validation): {err}") from err
                monitored = history.val_loss[-1]
                if not math.isfinite(monitored):
                    raise TrainingDiverged(f"training diverged: validation loss is {monitored} at epoch {epoch}")
            if metrics:
                X_m, y_m = validation_data if validation_data is not None else (X, y)
                model.eval()
                try:
                    pred = model.forward(X_m)
                finally:
                    model.train()
                for name, metric in metrics.items():
                    history.metrics.setdefault(name, []).append(float(metric(pred, y_m)))
            for s in schedulers:
                s.step()
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


def accuracy(pred: np.ndarray, y: np.ndarray, threshold: float = 0.0) -> float:
    """Fraction of correct predictions, for the three usual label formats:

    * integer class labels y (...,) with scores pred (..., C), C >= 2: the arg-max class is compared
      with the label (e.g. pred (N, C), y (N,); or per step, pred (N, T, C), y (N, T));
    * one-hot labels y (..., C) with pred (..., C): the arg-max of each is compared (every row of y must
      hold exactly one 1, the rest 0; soft or multi-label targets are refused — score those yourself);
    * binary labels y in {0, 1} (N,) or (N, 1) with one score per example, pred (N,) or (N, 1): the
      prediction is ``pred > threshold`` — 0 for logits (the default), 0.5 for probabilities.

    Anything else (mismatched shapes, labels out of range, empty or non-finite input) is an error.
    """
    for name, a in (("pred", pred), ("y", y)):
        if not isinstance(a, np.ndarray):
            raise TypeError(f"accuracy expected {name} as a numpy array, got {type(a).__name__}")
    if pred.dtype.kind not in "fiu" or not np.isfinite(pred).all():
        raise ValueError(f"accuracy expected finite numeric predictions, got dtype {pred.dtype}"
                         + ("" if pred.dtype.kind not in "fiu" else " with NaN or inf"))
    if pred.size == 0 or y.size == 0:
        raise ValueError(f"accuracy expected at least one example, got pred {pred.shape} and y {y.shape}")
    if y.dtype.kind not in "biuf":
        raise TypeError(f"accuracy expected numeric or boolean labels, got dtype {y.dtype}")
    binary_pred = pred.ndim == 1 or (pred.ndim == 2 and pred.shape[1] == 1)
    if binary_pred and y.shape in ((pred.shape[0],), (pred.shape[0], 1)):
        if not np.isin(y, (0, 1)).all():
            raise ValueError("accuracy with one score per example expects binary labels 0/1, got values "
                             f"{np.unique(y)[:5]}")
        return float(np.mean((pred.reshape(-1) > threshold) == (y.reshape(-1) > 0.5)))
    C = pred.shape[-1]
    if pred.ndim >= 2 and C >= 2 and y.shape == pred.shape[:-1]:
        if y.dtype.kind not in "iu" and not (y.dtype.kind == "f" and np.array_equal(y, np.round(y))):
            raise TypeError(f"accuracy expected integer class labels for scores of shape {pred.shape}, "
                            f"got dtype {y.dtype}")
        if y.min() < 0 or y.max() >= C:
            raise ValueError(f"accuracy expected class labels in [0, {C}), got values in [{y.min()}, {y.max()}]")
        return float(np.mean(pred.argmax(axis=-1) == y))
    if pred.ndim >= 2 and C >= 2 and y.shape == pred.shape:
        if not (np.isin(y, (0, 1)).all() and (y.sum(axis=-1) == 1).all()):
            raise ValueError(f"accuracy got labels of the predictions' shape {pred.shape} that are not one-hot "
                             "(each row exactly one 1); for multi-label or soft targets score them yourself, "
                             "e.g. np.mean((pred > 0) == (y > 0.5))")
        return float(np.mean(pred.argmax(axis=-1) == y.argmax(axis=-1)))
    raise ValueError(f"accuracy expected pred (..., C) with integer labels (...) or one-hot labels (..., C), "
                     f"or one score per example (N,)/(N, 1) with binary labels (N,)/(N, 1); "
                     f"got pred {pred.shape} and y {y.shape}")
