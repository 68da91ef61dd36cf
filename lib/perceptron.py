"""Rosenblatt's perceptron (1958) and its learning rule."""

from __future__ import annotations

import numpy as np

from ._checks import check_array, check_dtype, check_number, check_size


class Perceptron:
    """A single threshold unit ``ŷ = step(w·x + b)`` with labels in {0, 1}.

    The learning rule (Rosenblatt 1958): for each misclassified example,
    ``w ← w + lr·(y − ŷ)·x`` and ``b ← b + lr·(y − ŷ)``. On linearly separable
    data it stops after finitely many mistakes (Novikoff's theorem).

    Attributes
    ----------
    weight : (n_features,) array
    bias : float
    history : list[int] — mistakes made in each epoch of :meth:`fit`
    """

    def __init__(self, n_features: int, lr: float = 1.0, dtype=np.float64) -> None:
        if not isinstance(n_features, (int, np.integer)) or n_features < 1:
            raise ValueError(f"Perceptron expected n_features to be a positive int, got {n_features!r}")
        self.dtype = check_dtype(dtype)
        self.n_features = int(n_features)
        self.lr = check_number("Perceptron", "lr", lr, low=0.0, low_open=True)
        self.weight = np.zeros(self.n_features, dtype=self.dtype)
        self.bias = self.dtype.type(0.0)
        self.history: list[int] = []

    def decision_function(self, X: np.ndarray) -> np.ndarray:
        """``w·x + b`` for each row of ``X`` (n, n_features) -> (n,)."""
        check_array(X, "Perceptron", shape=("batch", self.n_features))
        return X @ self.weight + self.bias

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Class labels in {0, 1}: (n, n_features) -> (n,) of int."""
        return (self.decision_function(X) > 0).astype(int)

    def step(self, x: np.ndarray, y: int) -> bool:
        """Apply the learning rule to one example x (n_features,), label y in {0, 1}; return True if it was
        a mistake."""
        check_array(x, "Perceptron.step x", shape=(self.n_features,))
        if y not in (0, 1):
            raise ValueError(f"Perceptron.step expected a label in {{0, 1}}, got {y!r}")
        return self._step(x, int(y))

    def _step(self, x: np.ndarray, y: int) -> bool:
        y_hat = int(x @ self.weight + self.bias > 0)
        if y_hat == y:
            return False
        self.weight += self.lr * (y - y_hat) * x
        self.bias += self.lr * (y - y_hat)
        return True

    def fit(self, X: np.ndarray, y: np.ndarray, epochs: int = 100,
            rng: np.random.Generator | None = None) -> Perceptron:
        """Run the learning rule over ``X`` (n, n_features), ``y`` (n,) in {0, 1}.

        Stops early after the first epoch with no mistakes. If ``rng`` is given the
        examples are visited in a fresh random order each epoch.
        """
        check_array(X, "Perceptron.fit X", shape=("batch", self.n_features))
        if len(X) == 0:
            raise ValueError("Perceptron.fit expected at least one example, got 0")
        epochs = check_size(epochs, "Perceptron.fit", "epochs")
        if rng is not None and not isinstance(rng, np.random.Generator):
            raise TypeError("Perceptron.fit expected rng to be an np.random.Generator or None, "
                            f"got {type(rng).__name__}")
        y = np.asarray(y)
        if y.shape != (X.shape[0],):
            raise ValueError(f"Perceptron.fit expected y of shape ({X.shape[0]},), got {y.shape}")
        if not np.isin(y, (0, 1)).all():
            raise ValueError("Perceptron.fit expected labels in {0, 1}")
        for _ in range(epochs):
            order = rng.permutation(len(X)) if rng is not None else range(len(X))
            mistakes = sum(self._step(X[i], int(y[i])) for i in order)
            self.history.append(int(mistakes))
            if mistakes == 0:
                break
        return self

    @property
    def converged(self) -> bool:
        """True if the last epoch of :meth:`fit` made no mistake."""
        return bool(self.history) and self.history[-1] == 0
