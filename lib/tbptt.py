"""Truncated backpropagation through time (Williams & Peng 1990; Sutskever 2013).

A long sequence is cut into chunks of ``chunk`` steps. The hidden state is carried
from one chunk to the next, so the forward pass still sees the whole past, but
gradients stop at the chunk boundary: memory and time per update are O(chunk)
instead of O(T), at the price of not learning dependencies longer than a chunk
from the gradient signal.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .clipping import clip_grad_norm
from .module import Module
from .recurrent import RecurrentLayer
from .training import _loss


def truncated_bptt(rnn: RecurrentLayer, head: Module, x: np.ndarray, y: np.ndarray, chunk: int,
                   loss_fn: Callable, optimizer, state=None, max_norm: float | None = None):
    """One pass of truncated BPTT over a long batch of sequences, updating after every chunk.

    rnn: a recurrent layer; head: a module applied to its outputs (e.g. ``Dense``);
    x: (N, T, D); y: targets whose second axis is time, (N, T, ...); ``loss_fn(pred, target)
    -> (value, dpred)``. The state is carried across chunks (no gradient flows into the
    previous chunk). Returns ``(losses per chunk, final state)``.
    """
    if not isinstance(rnn, RecurrentLayer):
        raise TypeError(f"truncated_bptt expected rnn to be a recurrent layer (lib.RNN, LSTM, GRU), "
                        f"got {type(rnn).__name__}")
    if not (hasattr(head, "forward") and hasattr(head, "backward")):
        raise TypeError("truncated_bptt expected head to be a layer with forward and backward, "
                        f"got {type(head).__name__}")
    if isinstance(chunk, (bool, np.bool_)) or not isinstance(chunk, (int, np.integer)) or chunk < 1:
        raise ValueError(f"truncated_bptt expected chunk >= 1 (an int), got {chunk!r}")
    for name, a in (("x", x), ("y", y)):
        if not isinstance(a, np.ndarray):
            raise TypeError(f"truncated_bptt expected {name} as a numpy array, got {type(a).__name__}")
    if x.ndim != 3 or y.ndim < 2 or x.shape[:2] != y.shape[:2]:
        raise ValueError(f"truncated_bptt expected x (batch, time, features) and y (batch, time, ...) with the same "
                         f"(batch, time), got {x.shape} and {y.shape}")
    if x.shape[0] == 0 or x.shape[1] == 0:
        raise ValueError(f"truncated_bptt got an empty input: x of shape {x.shape} (expected batch >= 1 and time >= 1)")
    if not callable(loss_fn):
        raise TypeError(f"truncated_bptt expected loss_fn to be callable, got {type(loss_fn).__name__}")
    if not callable(getattr(optimizer, "step", None)):
        raise TypeError(f"truncated_bptt expected an optimizer with step(), got {type(optimizer).__name__}")
    losses = []
    for start in range(0, x.shape[1], chunk):
        part = slice(start, start + chunk)
        outputs, state = rnn.forward(x[:, part], state)
        pred = head.forward(outputs)
        loss, dpred = _loss(loss_fn, pred, y[:, part], "truncated_bptt")
        rnn.backward(head.backward(dpred))
        if max_norm is not None:
            clip_grad_norm([rnn, head], max_norm)
        optimizer.step()
        losses.append(loss)
    return losses, state
