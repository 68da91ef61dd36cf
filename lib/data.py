"""Data helpers: standardisation, splits, one-hot labels, windows over series, padding, and the
synthetic sequence tasks the chapters train on (the adding problem, the delayed echo)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ._checks import check_array, check_dtype, check_number, check_rng, check_size


class Standardizer:
    """z-scores with statistics fitted on training data only: ``(x − mean) / std``.

    Fit on the training split, then transform validation and test data with the
    *training* mean and std — fitting on all data leaks the future into the past.
    """

    def __init__(self, axis: int | tuple[int, ...] = 0, eps: float = 1e-12) -> None:
        axes = axis if isinstance(axis, tuple) else (axis,)
        if not axes or not all(isinstance(a, (int, np.integer)) and not isinstance(a, bool) for a in axes):
            raise TypeError(f"Standardizer expected axis to be an int or a tuple of ints, got {axis!r}")
        self.axis, self.eps = axis, check_number("Standardizer", "eps", eps, low=0.0, low_open=True)
        self.mean: np.ndarray | None = None
        self.std: np.ndarray | None = None

    def fit(self, X: np.ndarray) -> Standardizer:
        """Learn mean and std along ``axis``; X: (N, F) (or any shape). A constant feature gets std = eps."""
        check_array(X, "Standardizer.fit")
        if X.size == 0:
            raise ValueError("Standardizer.fit expected a non-empty array")
        if X.dtype.kind not in "biuf":
            raise TypeError(f"Standardizer.fit expected numbers, got dtype {X.dtype}")
        axes = self.axis if isinstance(self.axis, tuple) else (self.axis,)
        if any(not -X.ndim <= a < X.ndim for a in axes):
            raise ValueError(f"Standardizer axis {self.axis} is out of range for an array of shape {X.shape}")
        self.mean = X.mean(axis=self.axis, keepdims=True)
        self.std = np.maximum(X.std(axis=self.axis, keepdims=True), self.eps)
        return self

    def _check(self, X: np.ndarray, name: str) -> np.dtype:
        if self.mean is None:
            raise RuntimeError("Standardizer used before fit()")
        check_array(X, f"Standardizer.{name}", finite=False)
        try:
            ok = np.broadcast_shapes(self.mean.shape, X.shape) == X.shape
        except ValueError:
            ok = False
        if not ok:
            raise ValueError(f"Standardizer.{name} expected an array compatible with the fitted statistics "
                             f"of shape {self.mean.shape}, got {X.shape}")
        return X.dtype if X.dtype in (np.float32, np.float64) else np.dtype(np.float64)

    def transform(self, X: np.ndarray) -> np.ndarray:
        """(X − mean) / std with the *fitted* statistics, in X's float dtype (float64 for integers)."""
        dtype = self._check(X, "transform")
        return ((X - self.mean) / self.std).astype(dtype, copy=False)

    def inverse_transform(self, Z: np.ndarray) -> np.ndarray:
        """Z·std + mean: back to the original units."""
        dtype = self._check(Z, "inverse_transform")
        return (Z * self.std + self.mean).astype(dtype, copy=False)

    def fit_transform(self, X: np.ndarray) -> np.ndarray:
        return self.fit(X).transform(X)


def standardize(X: np.ndarray, axis: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(Z, mean, std)`` with Z the z-scores of X along ``axis`` (mean and std keep their axes).

    For a train/test split, fit on the training part only: ``Standardizer().fit(X_train)``.
    """
    s = Standardizer(axis).fit(X)
    return s.transform(X), s.mean, s.std


def train_test_split(*arrays: np.ndarray, test_size: float | int = 0.2, rng: np.random.Generator | None = None,
                     shuffle: bool = True) -> list[np.ndarray]:
    """Split arrays with equal first dimension into train and test parts.

    ``test_size`` is a fraction in (0, 1) or a number of examples. Returns
    ``[a_train, a_test, b_train, b_test, ...]``. With ``shuffle=False`` (time series)
    the test part is the *last* examples, so the model is tested on the future.
    """
    if not arrays:
        raise ValueError("train_test_split expected at least one array")
    for i, a in enumerate(arrays):
        if not isinstance(a, np.ndarray) or a.ndim == 0:
            got = "a 0-d array" if isinstance(a, np.ndarray) else type(a).__name__
            raise TypeError(f"train_test_split expected numpy arrays with a first axis of examples, got {got} "
                            f"at position {i}")
    n = len(arrays[0])
    for a in arrays:
        if len(a) != n:
            raise ValueError(f"train_test_split expected arrays of equal length, got {[len(a) for a in arrays]}")
    if n < 2:
        raise ValueError(f"train_test_split needs at least 2 examples (one to train, one to test), got {n}")
    if isinstance(test_size, (int, np.integer)) and not isinstance(test_size, bool):
        if not 0 < test_size < n:
            raise ValueError(f"train_test_split expected 0 < test_size < {n} examples, got {test_size}")
        n_test = int(test_size)
    elif isinstance(test_size, (float, np.floating)) and 0 < test_size < 1:
        n_test = min(n - 1, max(1, int(round(n * test_size))))
    else:
        raise ValueError(f"train_test_split expected a fraction 0 < test_size < 1 or a count, got {test_size}")
    if shuffle:
        if not isinstance(rng, np.random.Generator):
            raise ValueError("train_test_split(shuffle=True) needs an explicit rng (np.random.default_rng(seed))")
        order = rng.permutation(n)
    else:
        order = np.arange(n)
    train, test = order[: n - n_test], order[n - n_test:]
    out = []
    for a in arrays:
        out += [a[train], a[test]]
    return out


def one_hot(labels: np.ndarray, num_classes: int, dtype=np.float64) -> np.ndarray:
    """Integer labels of any shape -> (..., num_classes) of 0/1."""
    labels = np.asarray(labels)
    num_classes = check_size(num_classes, "one_hot", "num_classes")
    if labels.dtype.kind not in "iu":
        raise TypeError(f"one_hot expected integer labels, got dtype {labels.dtype}")
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(f"one_hot expected labels in [0, {num_classes}), got range "
                         f"[{labels.min()}, {labels.max()}]")
    return np.eye(num_classes, dtype=check_dtype(dtype))[labels]


def sliding_windows(series: np.ndarray, window: int, horizon: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Supervised pairs from a series: each input is ``window`` steps, each target the next ``horizon``.

    series: (T,) or (T, F) -> X: (n, window, F) and y: (n, horizon) for a 1-D series or
    (n, horizon, F), with n = T − window − horizon + 1. Windows are copies (safe to modify).
    """
    series = np.asarray(series)
    if series.ndim not in (1, 2):
        raise ValueError(f"sliding_windows expected a series of shape (T,) or (T, F), got {series.shape}")
    if series.dtype.kind not in "biuf":
        raise TypeError(f"sliding_windows expected a numeric series, got dtype {series.dtype}")
    window = check_size(window, "sliding_windows", "window")
    horizon = check_size(horizon, "sliding_windows", "horizon")
    n = len(series) - window - horizon + 1
    if n < 1:
        raise ValueError(f"sliding_windows: a series of length {len(series)} is too short for "
                         f"window={window} and horizon={horizon}")
    s2 = series[:, None] if series.ndim == 1 else series
    idx = np.arange(n)[:, None]
    X = s2[idx + np.arange(window)]
    y = s2[idx + window + np.arange(horizon)]
    return X, (y[..., 0] if series.ndim == 1 else y)


def pad_sequences(seqs: Sequence[np.ndarray], pad_value: float = 0.0, max_len: int | None = None,
                  dtype=None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Stack variable-length sequences into one batch, padded at the end.

    seqs: N arrays of shape (T_n,) or (T_n, F) -> padded (N, T, ...) , mask (N, T) bool (True at
    real steps) and lengths (N,). Sequences longer than ``max_len`` are truncated.
    """
    if isinstance(seqs, np.ndarray) or not isinstance(seqs, Sequence):
        raise TypeError(f"pad_sequences expected a list of arrays, got {type(seqs).__name__}")
    if len(seqs) == 0:
        raise ValueError("pad_sequences expected at least one sequence")
    seqs = [np.asarray(s) for s in seqs]
    for i, s in enumerate(seqs):
        if s.ndim == 0:
            raise ValueError(f"pad_sequences expected sequences of shape (T,) or (T, F), got a scalar at position {i}")
    if max_len is not None:
        max_len = check_size(max_len, "pad_sequences", "max_len")
    tail = seqs[0].shape[1:]
    for i, s in enumerate(seqs):
        if s.shape[1:] != tail:
            raise ValueError(f"pad_sequences expected every sequence to have trailing shape {tail}, "
                             f"sequence {i} has {s.shape[1:]}")
    lengths = np.array([len(s) for s in seqs])
    T = int(lengths.max()) if max_len is None else int(max_len)
    lengths = np.minimum(lengths, T)
    dtype = np.result_type(*seqs) if dtype is None else np.dtype(dtype)
    padded = np.full((len(seqs), T, *tail), pad_value, dtype=dtype)
    mask = np.zeros((len(seqs), T), dtype=bool)
    for i, (s, n) in enumerate(zip(seqs, lengths, strict=True)):
        padded[i, :n] = s[:n]
        mask[i, :n] = True
    return padded, mask, lengths


def adding_problem(n: int, T: int, rng: np.random.Generator, dtype=np.float64) -> tuple[np.ndarray, np.ndarray]:
    """The adding problem, in the simplified form later papers use: remember two marked values and add them.

    Each of the ``n`` sequences has ``T`` steps of two features: a value drawn uniformly from [0, 1)
    and a marker that is 1 at exactly two steps — one in the first half, ``[0, T // 2)``, one in the
    second, ``[T // 2, T)`` — and 0 elsewhere. The target is the sum of the two marked values.
    Predicting the mean target (1.0) scores an MSE of 1/6 ≈ 0.167, the trivial baseline. (Hochreiter &
    Schmidhuber's 1997 original draws the values from [−1, 1], marks one of the first ten steps and one
    of the first T/2 − 1, so both in the first half, marks the first and last steps with −1, varies the
    length between T and T + T/10, and rescales the sum s to [0, 1] as 0.5 + s/4.)

    Draws from ``rng`` in a fixed order (all values, then the first markers, then the second), so the
    same generator state gives the same data.

    Returns x: (n, T, 2) — ``x[..., 0]`` values, ``x[..., 1]`` markers — and y: (n, 1), in ``dtype``.
    """
    for name, value, least in (("n", n, 1), ("T", T, 2)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < least:
            raise ValueError(f"adding_problem expected {name} to be an int >= {least}, got {value!r}")
    check_rng(rng, "adding_problem", optional=False)
    dtype = check_dtype(dtype)
    values = rng.uniform(0, 1, size=(n, T))
    markers = np.zeros((n, T))
    rows = np.arange(n)
    markers[rows, rng.integers(0, T // 2, size=n)] = 1.0
    markers[rows, rng.integers(T // 2, T, size=n)] = 1.0
    x = np.stack([values, markers], axis=2).astype(dtype)
    y = (values * markers).sum(axis=1, keepdims=True).astype(dtype)
    return x, y


def delayed_echo(n: int, T: int, delay: int, rng: np.random.Generator, signs: bool = False,
                 dtype=np.float64) -> tuple[np.ndarray, np.ndarray]:
    """The delayed echo: a stream of random symbols, the target at step t the symbol ``delay`` steps earlier.

    Each of the ``n`` streams has ``T`` steps of one feature, a fair random bit: 0/1, or −1/+1 with
    ``signs=True``. The target at step t is the input at step t − ``delay`` for t >= ``delay`` and 0
    before (there is nothing to echo yet). A model must hold the last ``delay`` symbols in its state;
    truncated BPTT with chunks of ``delay`` steps or fewer cannot learn it (no gradient reaches back from a
    target to the input it echoes, which lies in an earlier chunk). Trivial baselines on the steps
    t >= delay: accuracy 0.5; MSE 0.25 predicting 0.5 for bits, 1 predicting 0 for signs.

    Draws ``rng.integers(0, 2, size=(n, T, 1))`` and nothing else (for signs, each bit b becomes
    2b − 1, the same numbers as ``rng.choice([-1.0, 1.0], size=(n, T, 1))``).

    Returns x: (n, T, 1) and y: (n, T, 1) in ``dtype``; ``0 <= delay < T``.
    """
    n = check_size(n, "delayed_echo", "n")
    T = check_size(T, "delayed_echo", "T")
    delay = check_size(delay, "delayed_echo", "delay", minimum=0)
    if delay >= T:
        raise ValueError(f"delayed_echo expected delay < T, got delay={delay} and T={T}")
    check_rng(rng, "delayed_echo", optional=False)
    dtype = check_dtype(dtype)
    bits = rng.integers(0, 2, size=(n, T, 1))
    x = (2.0 * bits - 1.0 if signs else bits).astype(dtype)
    y = np.zeros_like(x)
    y[:, delay:] = x[:, :T - delay]
    return x, y
