"""What every multi-step recurrent layer shares: parameters keyed like PyTorch,
stacking, both directions, initial and final states, masks for padded batches,
variational dropout between layers, and the recording hooks the book plots.

A concrete layer (:class:`lib.RNN`, :class:`lib.LSTM`, :class:`lib.GRU`) only says
how one direction scans over time: ``_scan`` (forward) and ``_scan_backward``.

Shapes
------
x: (batch, time, input_size) — batch first.
outputs: (batch, time, directions·hidden_size).
state: (num_layers·directions, batch, hidden_size), ordered like PyTorch's ``h_n``:
layer 0 forward, layer 0 reverse, layer 1 forward, … For the LSTM it is a pair (h, c).
"""

from __future__ import annotations

import math

import numpy as np

from ._checks import check_array
from .module import Module


class RecurrentLayer(Module):
    """Base class of RNN, LSTM and GRU (see the module docstring for shapes).

    Parameters
    ----------
    input_size, hidden_size : feature sizes.
    num_layers : stacked layers; layer l+1 reads layer l's outputs.
    bidirectional : also run each layer from the last step to the first and
        concatenate both directions' outputs.
    dropout : variational dropout (Gal & Ghahramani 2016) on the inputs of layers
        1 … num_layers−1 in training mode: one mask per sequence, the same at every step.
    dtype : float32 or float64; inputs and states must match.
    rng : Generator for the initial weights and the dropout masks
        (default ``np.random.default_rng(0)``).
    record : keep per-step hidden states, gate activations and ‖∂L/∂h_t‖ in
        :attr:`history` (for the book's figures; costs memory).

    Attributes
    ----------
    history : with ``record=True``, lists with one entry per (layer, direction), in the
        order of ``history["names"]`` (``"l0"``, ``"l0_reverse"``, ``"l1"``, …):
        ``history["h"]`` hidden states (N, T, H); ``history["gates"]`` a dict of gate
        activations (N, T, H) each (LSTM: i, f, g, o and the cell state c; GRU: r, z, n);
        after :meth:`backward`, ``history["grad_h_norm"]`` arrays (T,) with the Frobenius
        norm over the batch and hidden units of ∂L/∂h_t — the total gradient reaching the
        hidden state at step t (from the output at t and from step t+1).
    dstate : after :meth:`backward`, ∂L/∂(initial state), shaped like the state.
    """

    gate_names: tuple[str, ...] = ()
    has_cell = False

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bidirectional: bool = False,
                 dropout: float = 0.0, dtype=np.float64, rng: np.random.Generator | None = None,
                 record: bool = False) -> None:
        super().__init__(dtype)
        for name, value in (("input_size", input_size), ("hidden_size", hidden_size), ("num_layers", num_layers)):
            if not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"{type(self).__name__} expected {name} to be a positive int, got {value!r}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"{type(self).__name__} expected 0 <= dropout < 1, got {dropout}")
        self.input_size, self.hidden_size, self.num_layers = int(input_size), int(hidden_size), int(num_layers)
        self.bidirectional = bool(bidirectional)
        self.num_directions = 2 if bidirectional else 1
        self.dropout = float(dropout)
        self.rng = rng if rng is not None else np.random.default_rng(0)
        self.record = record
        self.history: dict = {}
        G, H = len(self.gate_names), self.hidden_size
        bound = 1.0 / math.sqrt(H)
        for layer in range(self.num_layers):
            in_size = self.input_size if layer == 0 else H * self.num_directions
            for sfx in self._suffixes(layer):
                for name, shape in (("weight_ih", (G * H, in_size)), ("weight_hh", (G * H, H)),
                                    ("bias_ih", (G * H,)), ("bias_hh", (G * H,))):
                    self.params[name + sfx] = self.rng.uniform(-bound, bound, size=shape).astype(self.dtype)
        self.zero_grad()
        self._cache: list | None = None
        self._buffers: dict[tuple, np.ndarray] = {}  # work arrays reused across calls (see _buffer)
        self._slot = 0  # the (layer, direction) whose scan is running

    # -- helpers ---------------------------------------------------------------------
    def _suffixes(self, layer: int) -> list[str]:
        return [f"_l{layer}"] + ([f"_l{layer}_reverse"] if self.bidirectional else [])

    def _check_state(self, state, batch: int):
        """Return a list of (h0, c0) per (layer, direction), zeros where no state is given."""
        L, H = self.num_layers * self.num_directions, self.hidden_size
        want = (L, batch, H)
        name = type(self).__name__
        if state is None:
            zeros = np.zeros(want, dtype=self.dtype)
            return [(zeros[k], zeros[k] if self.has_cell else None) for k in range(L)]
        if self.has_cell:
            if not (isinstance(state, tuple) and len(state) == 2):
                raise TypeError(f"{name} expected state as a pair (h, c), each of shape {want}")
            h0, c0 = state
            check_array(h0, f"{name} state h", shape=want, dtype=self.dtype)
            check_array(c0, f"{name} state c", shape=want, dtype=self.dtype)
            return [(h0[k], c0[k]) for k in range(L)]
        check_array(state, f"{name} state", shape=want, dtype=self.dtype)
        return [(state[k], None) for k in range(L)]

    def _mask(self, lengths, batch: int, steps: int) -> np.ndarray | None:
        """(time, batch, 1) float mask, 1 at real steps, from per-sequence lengths."""
        if lengths is None:
            return None
        lengths = np.asarray(lengths)
        if lengths.shape != (batch,) or lengths.dtype.kind not in "iu":
            raise ValueError(f"{type(self).__name__} expected lengths as {batch} integers, got {lengths!r}")
        if lengths.min() < 1 or lengths.max() > steps:
            raise ValueError(f"{type(self).__name__} expected lengths in [1, {steps}], got {lengths}")
        return (np.arange(steps)[:, None] < lengths[None, :]).astype(self.dtype)[:, :, None]

    # -- forward / backward ---------------------------------------------------------------
    def forward(self, x: np.ndarray, state=None, lengths: np.ndarray | None = None):
        """Run the whole sequence.

        x: (batch, time, input_size); state: see the class docstring (zeros if None);
        lengths: optional (batch,) ints — sequences are padded at the end, padded steps
        leave the state unchanged and output zeros (like PyTorch's packed sequences).
        Returns ``(outputs, state)``.
        """
        name = type(self).__name__
        check_array(x, name, shape=("batch", "time", self.input_size), dtype=self.dtype)
        N, T, _ = x.shape
        init = self._check_state(state, N)
        mask = self._mask(lengths, N, T)
        layer_in = np.ascontiguousarray(x.transpose(1, 0, 2))  # time-major (T, N, D)
        caches, h_n, c_n = [], [], []
        if self.record:
            self.history = {"h": [], "gates": [], "grad_h_norm": [], "names": []}
        for layer in range(self.num_layers):
            drop = None
            if layer > 0 and self.training and self.dropout > 0:
                keep = self.rng.random((N, layer_in.shape[2])) >= self.dropout
                drop = (keep / (1.0 - self.dropout)).astype(self.dtype)
                layer_in = layer_in * drop
            outs, dir_caches = [], []
            for d, sfx in enumerate(self._suffixes(layer)):
                k = self._slot = layer * self.num_directions + d
                W_ih, b_ih = self._input_weights(sfx)
                xw = layer_in @ W_ih.T
                xw += b_ih
                states, hT, cT, cache = self._scan(xw, self.params["weight_hh" + sfx],
                                                   self.params["bias_hh" + sfx], init[k][0], init[k][1],
                                                   mask, reverse=d == 1)
                out = states if mask is None else states * mask  # padded steps output zeros
                outs.append(out)
                h_n.append(hT)
                c_n.append(cT)
                dir_caches.append(cache)
                if self.record:
                    self.history["names"].append(sfx[1:])
                    self.history["h"].append(out.transpose(1, 0, 2).copy())
                    self.history["gates"].append(self._gates_for_history(cache))
            caches.append((layer_in, drop, dir_caches))
            layer_in = outs[0] if len(outs) == 1 else np.concatenate(outs, axis=2)
        self._cache = [caches, mask, N, T]
        outputs = layer_in.transpose(1, 0, 2).copy()  # a copy: the scan's arrays are reused next call
        h_n = np.stack(h_n)
        return outputs, ((h_n, np.stack(c_n)) if self.has_cell else h_n)

    def backward(self, doutputs: np.ndarray, dstate=None) -> np.ndarray:
        """doutputs: (batch, time, directions·hidden); dstate: gradient of the loss with respect
        to the final state (like the returned state), or None. Returns dx (batch, time, input_size)
        and fills ``grads``. Needs the forward pass just before."""
        if self._cache is None:
            raise RuntimeError(f"{type(self).__name__}.backward called before forward")
        caches, mask, N, T = self._cache
        name = type(self).__name__
        HD = self.hidden_size * self.num_directions
        check_array(doutputs, f"{name}.backward doutputs", shape=(N, T, HD), dtype=self.dtype)
        L = self.num_layers * self.num_directions
        dh_n = dc_n = None
        if dstate is not None:
            if self.has_cell:
                dh_n, dc_n = dstate
                check_array(dc_n, f"{name}.backward dstate c", shape=(L, N, self.hidden_size), dtype=self.dtype)
            else:
                dh_n = dstate
            check_array(dh_n, f"{name}.backward dstate", shape=(L, N, self.hidden_size), dtype=self.dtype)
        grad_norms = [None] * L
        dh0, dc0 = [None] * L, [None] * L
        dlayer = np.ascontiguousarray(doutputs.transpose(1, 0, 2))
        if mask is not None:
            dlayer = dlayer * mask  # padded outputs are constant zeros
        H = self.hidden_size
        for layer in reversed(range(self.num_layers)):
            layer_in, drop, dir_caches = caches[layer]
            dx_total = None
            for d, sfx in enumerate(self._suffixes(layer)):
                k = self._slot = layer * self.num_directions + d
                dout = dlayer[:, :, d * H:(d + 1) * H]
                dxw, dW_hh, db_hh, dh0[k], dc0[k], grad_norms[k] = self._scan_backward(
                    dir_caches[d], dout, None if dh_n is None else dh_n[k], None if dc_n is None else dc_n[k],
                    mask, reverse=d == 1, W_hh=self.params["weight_hh" + sfx])
                G = dxw.shape[2]
                dW_ih = dxw.reshape(-1, G).T @ layer_in.reshape(-1, layer_in.shape[2])
                db_ih = dxw.sum(axis=(0, 1))
                W_ih = self.params["weight_ih" + sfx]
                order = self._gate_rows()
                if order is not None:  # the scan's gate order back to PyTorch's
                    inverse = np.argsort(order)
                    dW_ih, db_ih, W_ih = dW_ih[inverse], db_ih[inverse], W_ih[order]
                self.grads["weight_ih" + sfx] = dW_ih
                self.grads["bias_ih" + sfx] = db_ih
                self.grads["weight_hh" + sfx] = dW_hh
                self.grads["bias_hh" + sfx] = db_hh
                dx = dxw @ W_ih
                dx_total = dx if dx_total is None else dx_total + dx
            if drop is not None:
                dx_total *= drop
            dlayer = dx_total
        if self.record:
            self.history["grad_h_norm"] = grad_norms
        self.dstate = (np.stack(dh0), np.stack(dc0)) if self.has_cell else np.stack(dh0)
        return np.ascontiguousarray(dlayer.transpose(1, 0, 2))

    def _buffer(self, name: str, shape: tuple[int, ...], dtype) -> np.ndarray:
        """An uninitialised work array for the current (layer, direction), reused across calls.

        Fresh multi-megabyte arrays cost a page fault per 4 KiB on first touch, which inside the time
        loop costs more than the arithmetic; keeping the arrays (as PyTorch's caching allocator keeps
        its blocks) makes repeated forward/backward passes allocation-free. Contents are only valid
        until the next pass, like the cache itself; nothing returned to the caller aliases them.
        """
        key = (name, self._slot)
        size = math.prod(shape)
        buf = self._buffers.get(key)
        if buf is None or buf.dtype != dtype or buf.size < size:
            buf = self._buffers[key] = np.empty(size, dtype)
        return buf[:size].reshape(shape)

    def _previous(self, name: str, states: np.ndarray, initial: np.ndarray, reverse: bool) -> np.ndarray:
        """The state each step started from: ``states`` (T, N, H) shifted one step against the scan's
        direction, with ``initial`` (N, H) where the scan began. A reused work array."""
        prev = self._buffer(name, states.shape, states.dtype)
        if reverse:
            prev[:-1], prev[-1] = states[1:], initial
        else:
            prev[0], prev[1:] = initial, states[:-1]
        return prev

    def _gate_rows(self) -> np.ndarray | None:
        """Row order of the gate blocks inside the scan, if it differs from PyTorch's (else None)."""
        return None

    def _input_weights(self, sfx: str) -> tuple[np.ndarray, np.ndarray]:
        """W_ih and b_ih with rows in the scan's gate order, so that x·W_ihᵀ needs no reordering."""
        W_ih, b_ih = self.params["weight_ih" + sfx], self.params["bias_ih" + sfx]
        order = self._gate_rows()
        return (W_ih, b_ih) if order is None else (W_ih[order], b_ih[order])

    # -- to be provided by each layer ----------------------------------------------------
    def _scan(self, xw, W_hh, b_hh, h0, c0, mask, reverse):  # pragma: no cover - abstract
        """Run one direction over time. xw: (T, N, G·H) = x W_ihᵀ + b_ih, gate blocks in the order of
        ``_gate_rows`` (the scan may modify it);
        returns (states (T, N, H), h_T, c_T or None, cache)."""
        raise NotImplementedError

    def _scan_backward(self, cache, dout, dhT, dcT, mask, reverse, W_hh):  # pragma: no cover - abstract
        """Return (dxw in the scan's gate order, dW_hh and db_hh in PyTorch's, dh0, dc0,
        per-step ‖∂L/∂h_t‖ or None)."""
        raise NotImplementedError

    def _gates_for_history(self, cache) -> dict[str, np.ndarray]:  # pragma: no cover - abstract
        raise NotImplementedError

    def __repr__(self) -> str:
        return (f"{type(self).__name__}({self.input_size}, {self.hidden_size}, num_layers={self.num_layers}, "
                f"bidirectional={self.bidirectional}, dtype={self.dtype})")
