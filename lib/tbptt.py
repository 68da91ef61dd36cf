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


def truncated_bptt(rnn: RecurrentLayer, head: Module, x: np.ndarray, y: np.ndarray, chunk: int,
                   loss_fn: Callable, optimizer, state=None, max_norm: float | None = None):
    """One pass of truncated BPTT over a long batch of sequences, updating after every chunk.

    rnn: a recurrent layer; head: a module applied to its outputs (e.g. ``Dense``);
    x: (N, T, D); y: targets whose second axis is time, (N, T, ...); ``loss_fn(pred, target)
    -> (value, dpred)``. The state is carried across chunks (no gradient flows into the
    previous chunk). Returns ``(losses per chunk, final state)``.
    """
    if chunk < 1:
        raise ValueError(f"truncated_bptt expected chunk >= 1, got {chunk}")
    if x.shape[:2] != y.shape[:2]:
        raise ValueError(f"truncated_bptt expected x and y with the same (batch, time), got {x.shape} and {y.shape}")
    losses = []
    for start in range(0, x.shape[1], chunk):
        part = slice(start, start + chunk)
        outputs, state = rnn.forward(x[:, part], state)
        loss, dpred = loss_fn(head.forward(outputs), y[:, part])
        rnn.backward(head.backward(dpred))
        if max_norm is not None:
            clip_grad_norm([rnn, head], max_norm)
        optimizer.step()
        losses.append(loss)
    return losses, state
