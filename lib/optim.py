"""Optimizers and learning-rate schedules, with PyTorch's exact update rules.

An optimizer is built over one Module or a list of them (anything with ``params``
and ``grads`` dicts). ``step()`` reads each module's current ``grads[name]`` and
updates ``params[name]`` **in place**, so every reference to a parameter array
stays valid. Ten steps of each optimizer equal ``torch.optim``'s to 1e-10 (see
``tests/test_optim.py``).
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np


class Optimizer:
    """Base class: holds the modules, the learning rate and per-parameter state."""

    def __init__(self, modules, lr: float) -> None:
        modules = list(modules) if isinstance(modules, (list, tuple)) else [modules]
        if not modules:
            raise ValueError(f"{type(self).__name__} expected at least one module")
        for m in modules:
            if not (hasattr(m, "params") and hasattr(m, "grads")):
                raise TypeError(f"{type(self).__name__} expected modules with params and grads, got {type(m).__name__}")
        if not lr >= 0:
            raise ValueError(f"{type(self).__name__} expected lr >= 0, got {lr}")
        self.modules = modules
        self.lr = float(lr)
        self.initial_lr = float(lr)
        self.state: dict[tuple[int, str], dict[str, np.ndarray]] = {}

    def _check_hyper(self, **values: float) -> None:
        for name, value in values.items():
            if not value >= 0:
                raise ValueError(f"{type(self).__name__} expected {name} >= 0, got {value}")

    def parameters(self) -> Iterator[tuple[tuple[int, str], np.ndarray, np.ndarray]]:
        """Yield (key, param, grad) for every parameter of every module."""
        for i, module in enumerate(self.modules):
            params, grads = module.params, module.grads
            for name, p in params.items():
                g = grads.get(name)
                if g is None:
                    raise ValueError(f"{type(self).__name__}: no gradient for parameter {name!r}; run backward first")
                if g.shape != p.shape:
                    raise ValueError(f"{type(self).__name__}: gradient of {name!r} has shape {g.shape}, "
                                     f"parameter has {p.shape}")
                yield (i, name), p, g

    def zero_grad(self) -> None:
        for module in self.modules:
            module.zero_grad()

    def step(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError


class SGD(Optimizer):
    """Stochastic gradient descent with optional momentum (heavy-ball or Nesterov) and L2 weight decay.

    ``g ← ∇ + λθ``; with momentum μ: ``b ← μb + g`` (``b ← g`` at the first step), then
    ``g ← g + μb`` (Nesterov) or ``g ← b``; finally ``θ ← θ − η g``.
    """

    def __init__(self, modules, lr: float, momentum: float = 0.0, nesterov: bool = False,
                 weight_decay: float = 0.0) -> None:
        super().__init__(modules, lr)
        self._check_hyper(momentum=momentum, weight_decay=weight_decay)
        if nesterov and momentum <= 0:
            raise ValueError("SGD: Nesterov momentum requires momentum > 0")
        self.momentum, self.nesterov, self.weight_decay = momentum, nesterov, weight_decay

    def step(self) -> None:
        for key, p, g in self.parameters():
            if self.weight_decay:
                g = g + self.weight_decay * p
            if self.momentum:
                state = self.state.setdefault(key, {})
                if "buf" not in state:
                    state["buf"] = g.copy()
                else:
                    state["buf"] *= self.momentum
                    state["buf"] += g
                g = g + self.momentum * state["buf"] if self.nesterov else state["buf"]
            p -= self.lr * g


class RMSprop(Optimizer):
    """RMSProp (Tieleman & Hinton 2012): divide the gradient by a running RMS of its recent values.

    ``s ← αs + (1−α)g²``; ``θ ← θ − η g / (√s + ε)`` (optionally centered and with momentum).
    """

    def __init__(self, modules, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0.0, momentum: float = 0.0, centered: bool = False) -> None:
        super().__init__(modules, lr)
        self._check_hyper(alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum)
        self.alpha, self.eps, self.weight_decay = alpha, eps, weight_decay
        self.momentum, self.centered = momentum, centered

    def step(self) -> None:
        for key, p, g in self.parameters():
            if self.weight_decay:
                g = g + self.weight_decay * p
            state = self.state.setdefault(key, {})
            if "square_avg" not in state:
                state["square_avg"] = np.zeros_like(p)
                if self.centered:
                    state["grad_avg"] = np.zeros_like(p)
                if self.momentum:
                    state["buf"] = np.zeros_like(p)
            sq = state["square_avg"]
            sq *= self.alpha
            sq += (1 - self.alpha) * g * g
            if self.centered:
                ga = state["grad_avg"]
                ga += (1 - self.alpha) * (g - ga)
                avg = np.sqrt(sq - ga * ga) + self.eps
            else:
                avg = np.sqrt(sq) + self.eps
            if self.momentum:
                buf = state["buf"]
                buf *= self.momentum
                buf += g / avg
                p -= self.lr * buf
            else:
                p -= self.lr * (g / avg)


class Adam(Optimizer):
    """Adam (Kingma & Ba 2015) with PyTorch's L2 ``weight_decay`` (added to the gradient).

    ``m ← β₁m + (1−β₁)g``, ``v ← β₂v + (1−β₂)g²``,
    ``θ ← θ − (η / (1−β₁ᵗ)) · m / (√v / √(1−β₂ᵗ) + ε)``.
    """

    decoupled = False

    def __init__(self, modules, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0) -> None:
        super().__init__(modules, lr)
        if not (0 <= betas[0] < 1 and 0 <= betas[1] < 1):
            raise ValueError(f"{type(self).__name__} expected betas in [0, 1), got {betas}")
        self._check_hyper(eps=eps, weight_decay=weight_decay)
        self.betas, self.eps, self.weight_decay = betas, eps, weight_decay

    def step(self) -> None:
        beta1, beta2 = self.betas
        for key, p, g in self.parameters():
            if self.weight_decay:
                if self.decoupled:
                    p *= 1 - self.lr * self.weight_decay
                else:
                    g = g + self.weight_decay * p
            state = self.state.setdefault(key, {})
            if "step" not in state:
                state["step"] = 0
                state["exp_avg"] = np.zeros_like(p)
                state["exp_avg_sq"] = np.zeros_like(p)
            state["step"] += 1
            t = state["step"]
            m, v = state["exp_avg"], state["exp_avg_sq"]
            m += (1 - beta1) * (g - m)
            v *= beta2
            v += (1 - beta2) * g * g
            bias_correction1 = 1 - beta1**t
            bias_correction2 = 1 - beta2**t
            denom = np.sqrt(v) / math.sqrt(bias_correction2) + self.eps
            p -= (self.lr / bias_correction1) * (m / denom)


class AdamW(Adam):
    """AdamW (Loshchilov & Hutter 2019): Adam with decoupled weight decay ``θ ← θ(1 − ηλ)``."""

    decoupled = True

    def __init__(self, modules, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2) -> None:
        super().__init__(modules, lr, betas, eps, weight_decay)


# --- learning-rate schedules ----------------------------------------------------------
class LRScheduler:
    """Sets ``optimizer.lr`` from the epoch count; call ``step()`` once per epoch (after the
    optimizer's steps), as with ``torch.optim.lr_scheduler``. η₀ is the optimizer's initial lr.
    """

    def __init__(self, optimizer: Optimizer) -> None:
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(self).__name__} expected an Optimizer, got {type(optimizer).__name__}")
        self.optimizer = optimizer
        self.base_lr = optimizer.initial_lr
        self.epoch = 0

    def lr_at(self, epoch: int) -> float:  # pragma: no cover - abstract
        raise NotImplementedError

    def step(self) -> float:
        self.epoch += 1
        self.optimizer.lr = self.lr_at(self.epoch)
        return self.optimizer.lr


class StepLR(LRScheduler):
    """``η_e = η₀ · γ^⌊e / step_size⌋``."""

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1) -> None:
        super().__init__(optimizer)
        if step_size < 1:
            raise ValueError(f"StepLR expected step_size >= 1, got {step_size}")
        self.step_size, self.gamma = step_size, gamma

    def lr_at(self, epoch: int) -> float:
        return self.base_lr * self.gamma ** (epoch // self.step_size)


class ExponentialLR(LRScheduler):
    """``η_e = η₀ · γ^e``."""

    def __init__(self, optimizer: Optimizer, gamma: float) -> None:
        super().__init__(optimizer)
        self.gamma = gamma

    def lr_at(self, epoch: int) -> float:
        return self.base_lr * self.gamma**epoch


class CosineAnnealingLR(LRScheduler):
    """``η_e = η_min + (η₀ − η_min)(1 + cos(π e / T_max)) / 2``."""

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0) -> None:
        super().__init__(optimizer)
        if T_max < 1:
            raise ValueError(f"CosineAnnealingLR expected T_max >= 1, got {T_max}")
        self.T_max, self.eta_min = T_max, eta_min

    def lr_at(self, epoch: int) -> float:
        return self.eta_min + (self.base_lr - self.eta_min) * (1 + math.cos(math.pi * epoch / self.T_max)) / 2


class LinearWarmup(LRScheduler):
    """Ramp the learning rate linearly from η₀/warmup to η₀ over ``warmup`` steps, then hold it:
    ``η_e = η₀ · min(1, (e + 1) / warmup)``.

    The optimizer starts at the first value at construction. The same schedule as
    ``torch.optim.lr_scheduler.LinearLR(opt, start_factor=1/warmup, total_iters=warmup − 1)``.
    """

    def __init__(self, optimizer: Optimizer, warmup: int) -> None:
        super().__init__(optimizer)
        if warmup < 1:
            raise ValueError(f"LinearWarmup expected warmup >= 1, got {warmup}")
        self.warmup = warmup
        optimizer.lr = self.lr_at(0)

    def lr_at(self, epoch: int) -> float:
        return self.base_lr * min(1.0, (epoch + 1) / self.warmup)
