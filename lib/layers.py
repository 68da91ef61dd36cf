"""Dense (fully connected) layers and the Sequential container."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from . import initializers
from ._checks import check_array, check_dtype, check_grad, check_rng, check_size
from .module import Module


class Dense(Module):
    """A fully connected layer ``y = x Wᵀ + b`` — the same map and shapes as ``torch.nn.Linear``.

    Parameters
    ----------
    in_features, out_features : sizes of the input and output.
    bias : whether to add ``b``.
    dtype : float32 or float64; inputs must match it (no silent casts).
    rng : the Generator for the initial weights (default ``np.random.default_rng(0)``).
    init : ``weight``'s initializer: a function ``init(shape, rng, dtype=...)`` or the name of one
        in :mod:`lib.initializers` (``"xavier_uniform"``, ``"orthogonal"``, …); by default
        PyTorch's: every parameter ~ U(−1/√in, 1/√in). The bias always gets PyTorch's.

    Shapes
    ------
    params: ``weight`` (out_features, in_features), ``bias`` (out_features,)
    x: (batch, in_features) or (batch, time, in_features) -> y: (..., out_features)
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True, dtype=np.float64,
                 rng: np.random.Generator | None = None, init: Callable | str | None = None) -> None:
        super().__init__(dtype)
        self.in_features = check_size(in_features, "Dense", "in_features")
        self.out_features = check_size(out_features, "Dense", "out_features")
        rng = check_rng(rng, "Dense")
        if isinstance(init, str):
            init = initializers.get_initializer(init)
        elif init is not None and not callable(init):
            raise TypeError(f"Dense expected init to be a function or an initializer's name, got {type(init).__name__}")
        bound = 1.0 / math.sqrt(self.in_features)
        if init is None:
            weight = rng.uniform(-bound, bound, size=(self.out_features, self.in_features))
        else:
            weight = init((self.out_features, self.in_features), rng, dtype=self.dtype)
            if not isinstance(weight, np.ndarray) or weight.shape != (self.out_features, self.in_features):
                got = weight.shape if isinstance(weight, np.ndarray) else type(weight).__name__
                raise ValueError(f"Dense: init must return an array of shape "
                                 f"({self.out_features}, {self.in_features}), got {got}")
        self.params["weight"] = np.asarray(weight, dtype=self.dtype)
        if bias:
            self.params["bias"] = rng.uniform(-bound, bound, size=self.out_features).astype(self.dtype)
        self.zero_grad()
        self.cache: np.ndarray | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        if not isinstance(x, np.ndarray):
            raise TypeError(f"Dense expected a numpy array, got {type(x).__name__}")
        if x.ndim not in (2, 3) or x.shape[-1] != self.in_features:
            got = tuple(x.shape)
            raise ValueError(
                f"Dense expected input of shape (batch, {self.in_features}) or "
                f"(batch, time, {self.in_features}), got {got}"
            )
        check_array(x, "Dense", dtype=self.dtype)
        self.cache = x
        y = x @ self.params["weight"].T
        if "bias" in self.params:
            y += self.params["bias"]
        return y

    def backward(self, dout: np.ndarray) -> np.ndarray:
        """dout: like the output -> dx: like the input; fills ``grads``."""
        x = self.cache
        if x is None:
            raise RuntimeError("Dense.backward called before forward")
        check_grad(dout, "Dense.backward", x.shape[:-1] + (self.out_features,), self.dtype)
        d2 = dout.reshape(-1, self.out_features)
        self.grads["weight"] = d2.T @ x.reshape(-1, self.in_features)
        if "bias" in self.params:
            self.grads["bias"] = d2.sum(axis=0)
        return dout @ self.params["weight"]

    def __repr__(self) -> str:
        return f"Dense({self.in_features}, {self.out_features}, bias={'bias' in self.params}, dtype={self.dtype})"


class Sequential(Module):
    """Layers applied in order; backward runs them in reverse.

    ``params`` and ``grads`` are views over the children's dicts, keyed like PyTorch's
    ``nn.Sequential.state_dict()``: ``"0.weight"``, ``"0.bias"``, ``"2.weight"``, …
    The arrays are the children's own, so an optimizer updating ``params`` in place
    updates the children.
    """

    def __init__(self, *layers: Module) -> None:
        if not layers:
            raise ValueError("Sequential expected at least one layer")
        for i, layer in enumerate(layers):
            if not isinstance(layer, Module):
                raise TypeError(f"Sequential expected Module layers, got {type(layer).__name__} at position {i}")
        self.layers = list(layers)
        self.dtype = check_dtype(next((l.dtype for l in layers if l.params), np.float64))
        self.training = True

    @property
    def params(self) -> dict[str, np.ndarray]:
        return {f"{i}.{k}": v for i, layer in enumerate(self.layers) for k, v in layer.params.items()}

    @property
    def grads(self) -> dict[str, np.ndarray]:
        return {f"{i}.{k}": v for i, layer in enumerate(self.layers) for k, v in layer.grads.items()}

    def children(self) -> list[Module]:
        return list(self.layers)

    def zero_grad(self) -> None:
        for layer in self.layers:
            layer.zero_grad()

    def forward(self, x: np.ndarray) -> np.ndarray:
        for layer in self.layers:
            x = layer.forward(x)
        return x

    def backward(self, dout: np.ndarray) -> np.ndarray:
        for layer in reversed(self.layers):
            dout = layer.backward(dout)
        return dout

    def __getitem__(self, i: int) -> Module:
        return self.layers[i]

    def __len__(self) -> int:
        return len(self.layers)

    def __repr__(self) -> str:
        inner = "\n".join(f"  ({i}): {layer!r}" for i, layer in enumerate(self.layers))
        return f"Sequential(\n{inner}\n)"
