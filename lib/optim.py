"""Optimizers and learning-rate schedules, with PyTorch's exact update rules.

An optimizer is built over one Module or a list of them (anything with ``params``
and ``grads`` dicts). ``step()`` reads each module's current ``grads[name]`` and
updates ``params[name]`` **in place**, so every reference to a parameter array
stays valid. Ten steps of each optimizer equal ``torch.optim``'s to 1e-10 (see
``tests/test_optim.py``).
"""

from __future__ import annotations

import math

import numpy as np

from ._checks import check_number, check_size


class Optimizer:
    """Base class: holds the modules, the learning rate and per-parameter state."""

    def __init__(self, modules, lr: float) -> None:
        modules = list(modules) if isinstance(modules, (list, tuple)) else [modules]
        if not modules:
            raise ValueError(f"{type(self).__name__} expected at least one module")
        for m in modules:
            if not (hasattr(m, "params") and hasattr(m, "grads")):
                raise TypeError(f"{type(self).__name__} expected modules with params and grads, got {type(m).__name__}")
        self.modules = modules
        self.lr = lr
        self.initial_lr: float | None = None  # set by the first scheduler (PyTorch's group["initial_lr"])
        self.state: dict[tuple[int, str], dict[str, np.ndarray]] = {}

    @property
    def lr(self) -> float:
        """The learning rate used by the next :meth:`step` (schedulers set it)."""
        return self._lr

    @lr.setter
    def lr(self, value: float) -> None:
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
            raise TypeError(f"{type(self).__name__} expected lr to be a number, got {type(value).__name__}")
        if not (math.isfinite(value) and value >= 0):
            raise ValueError(f"{type(self).__name__} expected lr >= 0 (finite), got {value}")
        self._lr = float(value)

    def _check_hyper(self, **values: float) -> None:
        for name, value in values.items():
            check_number(type(self).__name__, name, value, low=0.0)

    def parameters(self) -> list[tuple[tuple[int, str], np.ndarray, np.ndarray]]:
        """(key, param, grad) for every parameter of every module, all checked before any is used:
        each gradient must exist and match its parameter's shape and dtype. Non-finite gradients are
        applied, as PyTorch applies them (:func:`lib.fit` stops before that happens)."""
        name_ = type(self).__name__
        out = []
        for i, module in enumerate(self.modules):
            params, grads = module.params, module.grads
            for name, p in params.items():
                g = grads.get(name)
                if g is None:
                    raise ValueError(f"{name_}: no gradient for parameter {name!r}; run backward first")
                if not isinstance(g, np.ndarray) or g.shape != p.shape:
                    got = g.shape if isinstance(g, np.ndarray) else type(g).__name__
                    raise ValueError(f"{name_}: gradient of {name!r} has shape {got}, parameter has {p.shape}")
                if g.dtype != p.dtype:
                    raise TypeError(f"{name_}: gradient of {name!r} has dtype {g.dtype}, parameter has {p.dtype}")
                out.append(((i, name), p, g))
        return out

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
        ok = isinstance(betas, (tuple, list)) and len(betas) == 2 and all(
            isinstance(b, (int, float, np.integer, np.floating)) and not isinstance(b, bool) and 0 <= b < 1
            for b in betas)
        if not ok:
            raise ValueError(f"{type(self).__name__} expected betas as a pair of numbers in [0, 1), got {betas!r}")
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
    """Base class of the learning-rate schedules, with ``torch.optim.lr_scheduler``'s semantics.

    A scheduler works on the optimizer's **current** ``lr``: constructing one applies its value for
    epoch 0 to the lr the optimizer has now (``opt.lr = 0.01`` before ``StepLR(opt, …)`` starts the
    schedule from 0.01), and each :meth:`step` (once per epoch, after the optimizer's steps) updates
    ``optimizer.lr`` from its current value — so two schedulers on one optimizer compose exactly as
    PyTorch's chained schedulers do (construct them in order, step them in the same order).

    ``base_lr`` is the optimizer's ``initial_lr``: its lr when the first scheduler was attached (as
    PyTorch's ``group["initial_lr"]``); :class:`CosineAnnealingLR` uses it. :meth:`lr_at` gives the
    closed form of a scheduler used alone (PyTorch's ``_get_closed_form_lr``).
    """

    def __init__(self, optimizer: Optimizer) -> None:
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(self).__name__} expected an Optimizer, got {type(optimizer).__name__}")
        self.optimizer = optimizer
        if optimizer.initial_lr is None:
            optimizer.initial_lr = optimizer.lr
        self.base_lr = optimizer.initial_lr
        self.epoch = 0  # PyTorch's last_epoch after construction
        optimizer.lr = self._initial()
        self.last_lr = optimizer.lr

    def _initial(self) -> float:
        """The lr set at construction (epoch 0), from the optimizer's current lr."""
        return self.optimizer.lr

    def _next(self, lr: float) -> float:  # pragma: no cover - abstract
        """The lr for ``self.epoch`` (already incremented) from the current ``lr``."""
        raise NotImplementedError

    def lr_at(self, epoch: int) -> float:  # pragma: no cover - abstract
        """Closed form: the lr at ``epoch`` of this schedule alone, from ``base_lr``."""
        raise NotImplementedError

    def step(self) -> float:
        """Advance one epoch; set and return ``optimizer.lr``."""
        self.epoch += 1
        self.optimizer.lr = self._next(self.optimizer.lr)
        self.last_lr = self.optimizer.lr
        return self.last_lr

    def get_last_lr(self) -> float:
        """The lr this scheduler set last (PyTorch returns a list, one per parameter group)."""
        return self.last_lr


class StepLR(LRScheduler):
    """Multiply the lr by ``gamma`` every ``step_size`` epochs; alone: ``η_e = η₀ · γ^⌊e / step_size⌋``."""

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1) -> None:
        self.step_size = check_size(step_size, "StepLR", "step_size")
        self.gamma = check_number("StepLR", "gamma", gamma, low=0.0)
        super().__init__(optimizer)

    def _next(self, lr: float) -> float:
        return lr * self.gamma if self.epoch % self.step_size == 0 else lr

    def lr_at(self, epoch: int) -> float:
        return self.base_lr * self.gamma ** (epoch // self.step_size)


class ExponentialLR(LRScheduler):
    """Multiply the lr by ``gamma`` every epoch; alone: ``η_e = η₀ · γ^e``."""

    def __init__(self, optimizer: Optimizer, gamma: float) -> None:
        self.gamma = check_number("ExponentialLR", "gamma", gamma, low=0.0)
        super().__init__(optimizer)

    def _next(self, lr: float) -> float:
        return lr * self.gamma

    def lr_at(self, epoch: int) -> float:
        return self.base_lr * self.gamma**epoch


class CosineAnnealingLR(LRScheduler):
    """Cosine annealing (Loshchilov & Hutter 2017, without restarts), PyTorch's recursive form:
    ``η_e = η_min + (η_{e−1} − η_min) · (1 + cos(π e / T_max)) / (1 + cos(π (e−1) / T_max))``;
    alone: ``η_e = η_min + (η₀ − η_min)(1 + cos(π e / T_max)) / 2`` (it climbs back after T_max,
    as in PyTorch).
    """

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0) -> None:
        self.T_max = check_size(T_max, "CosineAnnealingLR", "T_max")
        self.eta_min = check_number("CosineAnnealingLR", "eta_min", eta_min, low=0.0)
        super().__init__(optimizer)

    def _next(self, lr: float) -> float:
        e, T = self.epoch, self.T_max
        if (e - 1 - T) % (2 * T) == 0:  # the bottom of the cosine: the recursion would divide by 0
            return lr + (self.base_lr - self.eta_min) * (1 - math.cos(math.pi / T)) / 2
        return ((1 + math.cos(math.pi * e / T)) / (1 + math.cos(math.pi * (e - 1) / T))
                * (lr - self.eta_min) + self.eta_min)

    def lr_at(self, epoch: int) -> float:
        return self.eta_min + (self.base_lr - self.eta_min) * (1 + math.cos(math.pi * epoch / self.T_max)) / 2


class LinearLR(LRScheduler):
    """Scale the lr by a factor that moves linearly from ``start_factor`` to ``end_factor`` over
    ``total_iters`` epochs, then holds (``torch.optim.lr_scheduler.LinearLR``, same recursion).

    Alone: ``η_e = η₀ · (s + (f − s) · min(e, total_iters) / total_iters)`` with s = start_factor,
    f = end_factor. Construction multiplies the current lr by ``start_factor``.
    """

    def __init__(self, optimizer: Optimizer, start_factor: float = 1.0 / 3, end_factor: float = 1.0,
                 total_iters: int = 5) -> None:
        name = type(self).__name__
        self.start_factor = check_number(name, "start_factor", start_factor, low=0.0, high=1.0, low_open=True)
        self.end_factor = check_number(name, "end_factor", end_factor, low=0.0, high=1.0)
        self.total_iters = check_size(total_iters, name, "total_iters", minimum=0)
        super().__init__(optimizer)

    def _initial(self) -> float:
        return self.optimizer.lr * self.start_factor

    def _next(self, lr: float) -> float:
        if self.epoch > self.total_iters:
            return lr
        s, f = self.start_factor, self.end_factor
        return lr * (1.0 + (f - s) / (self.total_iters * s + (self.epoch - 1) * (f - s)))

    def lr_at(self, epoch: int) -> float:
        if self.total_iters == 0:
            return self.base_lr * self.end_factor if epoch > 0 else self.base_lr * self.start_factor
        s, f = self.start_factor, self.end_factor
        return self.base_lr * (s + (f - s) * min(self.total_iters, epoch) / self.total_iters)


class LinearWarmup(LinearLR):
    """Ramp the learning rate linearly from η₀/warmup to η₀ over ``warmup`` epochs, then hold it:
    alone, ``η_e = η₀ · min(1, (e + 1) / warmup)``.

    Exactly ``LinearLR(optimizer, start_factor=1/warmup, end_factor=1, total_iters=warmup − 1)``
    (PyTorch's ``LinearLR`` with those arguments). The optimizer starts at η₀/warmup at construction.
    """

    def __init__(self, optimizer: Optimizer, warmup: int) -> None:
        self.warmup = check_size(warmup, "LinearWarmup", "warmup")
        super().__init__(optimizer, start_factor=1.0 / self.warmup, end_factor=1.0, total_iters=self.warmup - 1)
