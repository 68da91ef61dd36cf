"""Worst relative error of lib against PyTorch (float64, CPU), per kind of layer.

    python benchmarks/accuracy.py

The unit tests assert every comparison below 1e-10; this script reports how far
below, over random sizes and seeds: forward outputs, final states, input gradients
and every parameter gradient.
"""

from __future__ import annotations

import numpy as np
import torch

import lib

F = torch.nn.functional


def _rel(a, t) -> float:
    return lib.relative_error(np.asarray(a), t.detach().numpy())


def dense(rng) -> float:
    D, H = rng.integers(1, 20, size=2)
    ours = lib.Dense(int(D), int(H), rng=rng)
    theirs = torch.nn.Linear(int(D), int(H)).double()
    theirs.load_state_dict({k: torch.tensor(v) for k, v in ours.params.items()})
    x = rng.standard_normal((int(rng.integers(1, 9)), int(D)))
    g = rng.standard_normal((x.shape[0], int(H)))
    xt = torch.tensor(x, requires_grad=True)
    theirs(xt).backward(torch.tensor(g))
    errs = [_rel(ours.forward(x), theirs(xt)), _rel(ours.backward(g), xt.grad)]
    return max(errs + [_rel(ours.grads[k], p.grad) for k, p in theirs.named_parameters()])


def activations(rng) -> float:
    x = rng.standard_normal(200) * 5
    pairs = [(lib.sigmoid, torch.sigmoid), (lib.tanh, torch.tanh), (lib.relu, F.relu), (lib.elu, F.elu),
             (lib.leaky_relu, F.leaky_relu), (lib.gelu, F.gelu), (lib.softmax, lambda t: F.softmax(t, -1)),
             (lib.log_softmax, lambda t: F.log_softmax(t, -1))]
    return max(_rel(ours(x), theirs(torch.tensor(x))) for ours, theirs in pairs)


def losses(rng) -> float:
    logits, t = rng.standard_normal((8, 5)) * 3, rng.integers(0, 5, 8)
    errs = []
    for ours, theirs, target in [
        (lib.softmax_cross_entropy, F.cross_entropy, t),
        (lib.binary_cross_entropy_with_logits, F.binary_cross_entropy_with_logits, rng.random((8, 5))),
        (lib.mse_loss, F.mse_loss, rng.standard_normal((8, 5))),
    ]:
        value, grad = ours(logits, target)
        lt = torch.tensor(logits, requires_grad=True)
        out = theirs(lt, torch.tensor(target))
        out.backward()
        errs += [abs(value - out.item()) / abs(out.item()), _rel(grad, lt.grad)]
    return max(errs)


def optimizers(rng) -> float:
    errs = []
    for name, kwargs in [("SGD", {"lr": 0.05, "momentum": 0.9, "nesterov": True}), ("RMSprop", {"lr": 0.01}),
                         ("Adam", {"lr": 0.01, "weight_decay": 0.01}), ("AdamW", {"lr": 0.01})]:
        ours = lib.Dense(4, 3, rng=rng)
        theirs = torch.nn.Linear(4, 3).double()
        theirs.load_state_dict({k: torch.tensor(v) for k, v in ours.params.items()})
        opt, topt = getattr(lib, name)(ours, **kwargs), getattr(torch.optim, name)(theirs.parameters(), **kwargs)
        for _ in range(10):
            x, y = rng.standard_normal((6, 4)), rng.integers(0, 3, 6)
            _, d = lib.softmax_cross_entropy(ours.forward(x), y)
            ours.backward(d)
            opt.step()
            topt.zero_grad()
            F.cross_entropy(theirs(torch.tensor(x)), torch.tensor(y)).backward()
            topt.step()
        errs += [_rel(ours.params[k], p) for k, p in theirs.named_parameters()]
    return max(errs)


def recurrent(kind: str):
    def run(rng) -> float:
        N, T, D, H = (int(v) for v in rng.integers(1, 8, size=4))
        layers, bi = int(rng.integers(1, 3)), bool(rng.integers(0, 2))
        ours = getattr(lib, kind)(D, H, num_layers=layers, bidirectional=bi, rng=rng)
        theirs = getattr(torch.nn, kind)(D, H, num_layers=layers, bidirectional=bi, batch_first=True).double()
        theirs.load_state_dict({k: torch.tensor(v) for k, v in ours.params.items()})
        x = rng.standard_normal((N, T, D))
        out, _ = ours.forward(x)
        g = rng.standard_normal(out.shape)
        dx = ours.backward(g)
        xt = torch.tensor(x, requires_grad=True)
        tout, _ = theirs(xt)
        tout.backward(torch.tensor(g))
        errs = [_rel(out, tout), _rel(dx, xt.grad)]
        return max(errs + [_rel(ours.grads[k], p.grad) for k, p in theirs.named_parameters()])
    return run


def attention(rng) -> float:
    E, heads = 8, 2
    ours = lib.MultiHeadAttention(E, heads, rng=rng)
    theirs = torch.nn.MultiheadAttention(E, heads, batch_first=True).double()
    theirs.load_state_dict({k: torch.tensor(v) for k, v in ours.params.items()})
    q, k = rng.standard_normal((3, 4, E)), rng.standard_normal((3, 6, E))
    out, w = ours.forward(q, k, k)
    g = rng.standard_normal(out.shape)
    dq, dk, dv = ours.backward(g)
    qt, kt = torch.tensor(q, requires_grad=True), torch.tensor(k, requires_grad=True)
    tout, tw = theirs(qt, kt, kt, average_attn_weights=False)
    tout.backward(torch.tensor(g))
    errs = [_rel(out, tout), _rel(w, tw), _rel(dq, qt.grad), _rel(dk + dv, kt.grad)]
    return max(errs + [_rel(ours.grads[n], p.grad) for n, p in theirs.named_parameters()])


def main() -> None:
    checks = {"Dense (nn.Linear)": dense, "activations": activations, "losses": losses,
              "optimizers (10 steps)": optimizers, "RNN": recurrent("RNN"), "LSTM": recurrent("LSTM"),
              "GRU": recurrent("GRU"), "MultiHeadAttention": attention}
    print("| what | worst relative error over 20 random cases |\n|---|---:|")
    for name, check in checks.items():
        worst = max(check(np.random.default_rng(seed)) for seed in range(20))
        print(f"| {name} | {worst:.1e} |")


if __name__ == "__main__":
    main()
