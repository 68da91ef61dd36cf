"""What every multi-step recurrent layer shares: parameters keyed like PyTorch,
stacking, both directions, initial and final states, masks for padded batches,
three kinds of dropout, and the recording hooks the book plots.

A concrete layer (:class:`lib.RNN`, :class:`lib.LSTM`, :class:`lib.GRU`) only says
how one direction scans over time: ``_scan`` (forward) and ``_scan_backward``.

Shapes
------
x: (batch, time, input_size) — batch first.
outputs: (batch, time, directions·hidden_size).
state: (num_layers·directions, batch, hidden_size), ordered like PyTorch's ``h_n``:
layer 0 forward, layer 0 reverse, layer 1 forward, … For the LSTM it is a pair (h, c).

Dropout
-------
``dropout=p`` means what it means in ``torch.nn.LSTM``: standard dropout with a fresh
mask for every sequence, step and unit, on the outputs of every layer except the last
(so it needs ``num_layers > 1``). ``input_dropout`` and ``recurrent_dropout`` are the
variational dropout of Gal & Ghahramani (2016): one mask per sequence, the same at every
step, on each layer's input x_t and on the state h_{t−1} that enters the recurrent
weights. All masks are drawn in training mode only and scaled by 1/(1−p) (inverted
dropout); :attr:`RecurrentLayer.dropout_masks` returns the masks of the last forward pass.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence

import numpy as np

from ._checks import check_array
from .module import Module


def check_rng(rng, name: str) -> np.random.Generator:
    """``rng`` if it is a Generator, ``np.random.default_rng(0)`` if None, else a clear TypeError."""
    if rng is None:
        return np.random.default_rng(0)
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"{name} expected rng to be an np.random.Generator (np.random.default_rng(seed)), "
                        f"got {type(rng).__name__}")
    return rng


def check_size(value, what: str, name: str) -> int:
    """A positive int (not a bool), else ValueError naming the argument."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} expected {what} to be a positive int, got {value!r}")
    return int(value)


def check_rate(value, what: str, name: str) -> float:
    """A dropout probability: a real number with 0 <= p < 1."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} expected {what} to be a float in [0, 1), got {type(value).__name__}")
    if not 0.0 <= value < 1.0:  # also False for NaN
        raise ValueError(f"{name} expected 0 <= {what} < 1, got {value}")
    return float(value)


def _check_grad(d, what: str, shape: tuple[int, ...], dtype) -> np.ndarray:
    """A gradient array: exactly ``shape`` and ``dtype``, finite (check_array with a fixed shape)."""
    return check_array(d, what, shape=shape, dtype=dtype)


class RecurrentLayer(Module):
    """Base class of RNN, LSTM and GRU (see the module docstring for shapes).

    Parameters
    ----------
    input_size, hidden_size : feature sizes (positive ints).
    num_layers : stacked layers; layer l+1 reads layer l's outputs.
    bidirectional : also run each layer from the last step to the first and
        concatenate both directions' outputs.
    dropout : as in ``torch.nn.LSTM``: in training mode, standard dropout on the outputs of
        every layer except the last, a fresh mask at every step (shape (N, T, directions·H)
        per layer). It does not touch the returned final states.
    dtype : float32 or float64; inputs and states must match.
    rng : Generator for the initial weights and the dropout masks
        (default ``np.random.default_rng(0)``).
    record : keep per-step hidden states, gate activations and ‖∂L/∂h_t‖ in
        :attr:`history` (for the book's figures; costs memory).
    input_dropout : variational dropout on each layer's input (Gal & Ghahramani 2016's
        mask z_x; Keras' ``dropout``): in training mode one mask per sequence, shape
        (N, input features of the layer), the same at every step, for every (layer, direction).
        A float applies to every layer; a sequence of ``num_layers`` floats gives one rate per
        layer (``(0.0, 0.5)``: only the second layer's input).
    recurrent_dropout : variational dropout on the state entering the recurrent weights
        (Gal & Ghahramani's z_h; Keras' ``recurrent_dropout``): one mask (N, H) per sequence
        and (layer, direction), the same at every step, multiplying h_{t−1} inside W_hh·h_{t−1}
        only. In the LSTM the cell path c_{t−1} → c_t is not masked; in the GRU the masked
        state enters all three W_hh·h terms (r, z and the candidate's W_hn·h), while the
        interpolation h_t = (1−z)⊙n + z⊙h_{t−1} uses h_{t−1} unmasked. A float or one rate per layer.

    The masks are drawn from ``rng`` in this order: for each layer, first its ``dropout`` mask on
    the previous layer's outputs (layers ≥ 1), then for each direction its input mask and its
    recurrent mask (only for non-zero rates). Every mask takes the values 0 and 1/(1−p).

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
                 record: bool = False, *, input_dropout: float | Sequence[float] = 0.0,
                 recurrent_dropout: float | Sequence[float] = 0.0) -> None:
        name = type(self).__name__
        super().__init__(dtype)
        self.input_size = check_size(input_size, "input_size", name)
        self.hidden_size = check_size(hidden_size, "hidden_size", name)
        self.num_layers = check_size(num_layers, "num_layers", name)
        for what, value in (("bidirectional", bidirectional), ("record", record)):
            if not isinstance(value, (bool, np.bool_)):
                raise TypeError(f"{name} expected {what} to be a bool, got {value!r}")
        self.bidirectional = bool(bidirectional)
        self.num_directions = 2 if bidirectional else 1
        self.dropout = check_rate(dropout, "dropout", name)
        if self.dropout > 0 and self.num_layers == 1:
            warnings.warn(f"{name}: dropout applies to the outputs of all layers but the last (as in PyTorch), "
                          f"so with num_layers=1 it does nothing; for variational dropout use input_dropout= "
                          f"or recurrent_dropout=", UserWarning, stacklevel=2)
        self.input_dropout = self._per_layer(input_dropout, "input_dropout")
        self.recurrent_dropout = self._per_layer(recurrent_dropout, "recurrent_dropout")
        self.rng = check_rng(rng, name)
        self.record = bool(record)
        self.history: dict = {}
        G, H = len(self.gate_names), self.hidden_size
        bound = 1.0 / math.sqrt(H)
        for layer in range(self.num_layers):
            in_size = self.input_size if layer == 0 else H * self.num_directions
            for sfx in self._suffixes(layer):
                for pname, shape in (("weight_ih", (G * H, in_size)), ("weight_hh", (G * H, H)),
                                     ("bias_ih", (G * H,)), ("bias_hh", (G * H,))):
                    self.params[pname + sfx] = self.rng.uniform(-bound, bound, size=shape).astype(self.dtype)
        self.zero_grad()
        self._cache: list | None = None
        self._masks: dict[str, dict[str, np.ndarray]] = {"output": {}, "input": {}, "recurrent": {}}
        self._buffers: dict[tuple, np.ndarray] = {}  # work arrays reused across calls (see _buffer)
        self._slot = 0  # the (layer, direction) whose scan is running

    # -- helpers ---------------------------------------------------------------------
    def _per_layer(self, value, what: str) -> tuple[float, ...]:
        """One dropout rate per layer from a float or a sequence of ``num_layers`` floats."""
        name = type(self).__name__
        if isinstance(value, (list, tuple, np.ndarray)):
            if len(value) != self.num_layers:
                raise ValueError(f"{name} expected {what} as one float or {self.num_layers} floats "
                                 f"(one per layer), got {len(value)}")
            return tuple(check_rate(v, what, name) for v in value)
        return (check_rate(value, what, name),) * self.num_layers

    def _suffixes(self, layer: int) -> list[str]:
        return [f"_l{layer}"] + ([f"_l{layer}_reverse"] if self.bidirectional else [])

    def _check_state(self, state, batch: int):
        """Return a list of (h0, c0) per (layer, direction), zeros where no state is given.

        The arrays are copies: the caller may reuse its state arrays before ``backward``."""
        L, H = self.num_layers * self.num_directions, self.hidden_size
        want = (L, batch, H)
        name = type(self).__name__
        if state is None:
            zeros = np.zeros(want, dtype=self.dtype)
            return [(zeros[k], zeros[k] if self.has_cell else None) for k in range(L)]
        if self.has_cell:
            if not (isinstance(state, (tuple, list)) and len(state) == 2):
                got = f"a {type(state).__name__} of length {len(state)}" if isinstance(state, (tuple, list)) \
                    else type(state).__name__
                raise TypeError(f"{name} expected state as a pair (h_0, c_0), each of shape {want}, got {got}")
            h0, c0 = state
            check_array(h0, f"{name} state h_0", shape=want, dtype=self.dtype)
            check_array(c0, f"{name} state c_0", shape=want, dtype=self.dtype)
            h0, c0 = h0.copy(), c0.copy()
            return [(h0[k], c0[k]) for k in range(L)]
        if isinstance(state, (tuple, list)):
            raise TypeError(f"{name} expected state as one array h_0 of shape {want}, got a {type(state).__name__}")
        check_array(state, f"{name} state h_0", shape=want, dtype=self.dtype)
        state = state.copy()
        return [(state[k], None) for k in range(L)]

    def _mask(self, lengths, batch: int, steps: int) -> np.ndarray | None:
        """(time, batch, 1) float mask, 1 at real steps, from per-sequence lengths."""
        if lengths is None:
            return None
        name = type(self).__name__
        if not isinstance(lengths, (np.ndarray, list, tuple)):
            raise TypeError(f"{name} expected lengths as an array or list of {batch} ints, "
                            f"got {type(lengths).__name__}")
        lengths = np.asarray(lengths)
        if lengths.dtype.kind not in "iu":
            raise TypeError(f"{name} expected lengths as integers, got dtype {lengths.dtype}")
        if batch == 0:
            raise ValueError(f"{name} got lengths with an empty batch (0 sequences); pass lengths=None")
        if lengths.shape != (batch,):
            raise ValueError(f"{name} expected lengths of shape ({batch},), one per sequence, got {lengths.shape}")
        if lengths.min() < 1 or lengths.max() > steps:
            raise ValueError(f"{name} expected lengths in [1, {steps}], got {lengths}")
        return (np.arange(steps)[:, None] < lengths[None, :]).astype(self.dtype)[:, :, None]

    def _draw_mask(self, shape: tuple[int, ...], p: float) -> np.ndarray:
        """An inverted-dropout mask of ``shape``: 0 with probability p, else 1/(1−p), in the layer's dtype."""
        keep = self.rng.random(shape) >= p
        return (keep / (1.0 - p)).astype(self.dtype)

    @property
    def dropout_masks(self) -> dict[str, dict[str, np.ndarray]]:
        """The dropout masks of the last forward pass (read-only arrays; empty dicts in eval mode).

        ``{"output": {"l0": (N, T, directions·H), …}`` — ``dropout``'s masks on the outputs of
        layers 0 … L−2; ``"input": {"l0": (N, input features), "l0_reverse": …, …}`` —
        ``input_dropout``'s per-sequence masks; ``"recurrent": {"l0": (N, H), …}`` —
        ``recurrent_dropout``'s per-sequence masks on h_{t−1}}``. Keys are the (layer, direction)
        names of :attr:`history`; a kind with rate 0 has no entries. Values are 0 or 1/(1−p).
        """
        return {kind: dict(masks) for kind, masks in self._masks.items()}

    @staticmethod
    def _frozen(a: np.ndarray) -> np.ndarray:
        a.flags.writeable = False
        return a

    # -- forward / backward ---------------------------------------------------------------
    def forward(self, x: np.ndarray, state=None, lengths: np.ndarray | None = None):
        """Run the whole sequence.

        x: (batch, time, input_size), time ≥ 1; state: see the class docstring (zeros if None);
        lengths: optional (batch,) ints in [1, time] — sequences are padded at the end, padded
        steps leave the state unchanged and output zeros (like PyTorch's packed sequences).
        Returns ``(outputs, state)``: outputs (batch, time, directions·hidden_size), and the final
        state shaped like ``state``. Nothing returned shares memory with the layer, and the layer
        keeps copies of x and the state, so the caller may reuse its arrays before ``backward``.
        """
        name = type(self).__name__
        check_array(x, name, shape=("batch", "time", self.input_size), dtype=self.dtype)
        N, T, _ = x.shape
        if T == 0:
            raise ValueError(f"{name} expected at least one time step, got x of shape {x.shape}")
        init = self._check_state(state, N)
        mask = self._mask(lengths, N, T)
        layer_in = x.transpose(1, 0, 2).copy()  # time-major (T, N, D), the layer's own copy
        caches, h_n, c_n = [], [], []
        if self.record:
            self.history = {"h": [], "gates": [], "grad_h_norm": [], "names": []}
        train = self.training
        masks: dict[str, dict[str, np.ndarray]] = {"output": {}, "input": {}, "recurrent": {}}
        for layer in range(self.num_layers):
            drop = None
            if layer > 0 and train and self.dropout > 0:  # PyTorch's dropout on the previous layer's outputs
                drop = self._draw_mask((N, T, layer_in.shape[2]), self.dropout).transpose(1, 0, 2)
                masks["output"][f"l{layer - 1}"] = self._frozen(drop.transpose(1, 0, 2))
                layer_in = layer_in * drop
            outs, dir_caches = [], []
            p_in, p_rec = self.input_dropout[layer], self.recurrent_dropout[layer]
            for d, sfx in enumerate(self._suffixes(layer)):
                k = self._slot = layer * self.num_directions + d
                x_mask = h_mask = None
                u = layer_in
                if train and p_in > 0:
                    x_mask = masks["input"][sfx[1:]] = self._frozen(self._draw_mask((N, layer_in.shape[2]), p_in))
                    u = layer_in * x_mask
                if train and p_rec > 0:
                    h_mask = masks["recurrent"][sfx[1:]] = self._frozen(self._draw_mask((N, self.hidden_size), p_rec))
                W_ih, b_ih = self._input_weights(sfx)
                xw = u @ W_ih.T
                xw += b_ih
                states, hT, cT, cache = self._scan(xw, self.params["weight_hh" + sfx],
                                                   self.params["bias_hh" + sfx], init[k][0], init[k][1],
                                                   mask, d == 1, h_mask)
                out = states if mask is None else states * mask  # padded steps output zeros
                outs.append(out)
                h_n.append(hT)
                c_n.append(cT)
                dir_caches.append((u, x_mask, W_ih, cache))
                if self.record:
                    self.history["names"].append(sfx[1:])
                    self.history["h"].append(out.transpose(1, 0, 2).copy())
                    self.history["gates"].append(self._gates_for_history(cache))
            caches.append((drop, dir_caches))
            layer_in = outs[0] if len(outs) == 1 else np.concatenate(outs, axis=2)
        self._cache = [caches, mask, N, T]
        self._masks = masks
        outputs = layer_in.transpose(1, 0, 2).copy()  # a copy: the scan's arrays are reused next call
        h_n = np.stack(h_n)
        return outputs, ((h_n, np.stack(c_n)) if self.has_cell else h_n)

    def _check_dstate(self, dstate, N: int):
        """(dh_n, dc_n) from ``backward``'s dstate: arrays of shape (L, N, H) or None."""
        name = type(self).__name__
        want = (self.num_layers * self.num_directions, N, self.hidden_size)
        if dstate is None:
            return None, None
        if self.has_cell:
            if not (isinstance(dstate, (tuple, list)) and len(dstate) == 2):
                got = f"a {type(dstate).__name__} of length {len(dstate)}" if isinstance(dstate, (tuple, list)) \
                    else type(dstate).__name__
                raise TypeError(f"{name}.backward expected dstate as a pair (dh_n, dc_n), each of shape {want} "
                                f"or None, got {got}")
            dh_n, dc_n = dstate
            if dh_n is not None:
                _check_grad(dh_n, f"{name}.backward dstate dh_n", want, self.dtype)
            if dc_n is not None:
                _check_grad(dc_n, f"{name}.backward dstate dc_n", want, self.dtype)
            return dh_n, dc_n
        if isinstance(dstate, (tuple, list)):
            raise TypeError(f"{name}.backward expected dstate as one array dh_n of shape {want}, "
                            f"got a {type(dstate).__name__}")
        return _check_grad(dstate, f"{name}.backward dstate dh_n", want, self.dtype), None

    def backward(self, doutputs: np.ndarray, dstate=None) -> np.ndarray:
        """doutputs: (batch, time, directions·hidden), ∂L/∂outputs; dstate: ∂L/∂(final state), shaped
        like the returned state (LSTM: a pair (dh_n, dc_n), either may be None), or None.
        Returns dx (batch, time, input_size) and fills ``grads`` and :attr:`dstate`.
        Needs the forward pass just before."""
        name = type(self).__name__
        if self._cache is None:
            raise RuntimeError(f"{name}.backward called before forward")
        caches, mask, N, T = self._cache
        HD = self.hidden_size * self.num_directions
        _check_grad(doutputs, f"{name}.backward doutputs", (N, T, HD), self.dtype)
        dh_n, dc_n = self._check_dstate(dstate, N)
        L = self.num_layers * self.num_directions
        grad_norms = [None] * L
        dh0, dc0 = [None] * L, [None] * L
        dlayer = np.ascontiguousarray(doutputs.transpose(1, 0, 2))
        if mask is not None:
            dlayer = dlayer * mask  # padded outputs are constant zeros
        H = self.hidden_size
        for layer in reversed(range(self.num_layers)):
            drop, dir_caches = caches[layer]
            dx_total = None
            for d, sfx in enumerate(self._suffixes(layer)):
                k = self._slot = layer * self.num_directions + d
                u, x_mask, W_ih, cache = dir_caches[d]
                dout = dlayer[:, :, d * H:(d + 1) * H]
                dxw, dW_hh, db_hh, dh0[k], dc0[k], grad_norms[k] = self._scan_backward(
                    cache, dout, None if dh_n is None else dh_n[k], None if dc_n is None else dc_n[k],
                    mask, d == 1)
                G = dxw.shape[2]
                dW_ih = dxw.reshape(-1, G).T @ u.reshape(-1, u.shape[2])
                db_ih = dxw.sum(axis=(0, 1))
                order = self._gate_rows()
                if order is not None:  # the scan's gate order back to PyTorch's
                    inverse = np.argsort(order)
                    dW_ih, db_ih = dW_ih[inverse], db_ih[inverse]
                self.grads["weight_ih" + sfx] = dW_ih
                self.grads["bias_ih" + sfx] = db_ih
                self.grads["weight_hh" + sfx] = dW_hh
                self.grads["bias_hh" + sfx] = db_hh
                dx = dxw @ W_ih
                if x_mask is not None:
                    dx *= x_mask
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
        """Copies of W_ih and b_ih with rows in the scan's gate order, so that x·W_ihᵀ needs no reordering
        (copies: backward uses the weights of the forward pass even if the caller updates ``params``)."""
        W_ih, b_ih = self.params["weight_ih" + sfx], self.params["bias_ih" + sfx]
        order = self._gate_rows()
        return (W_ih.copy(), b_ih.copy()) if order is None else (W_ih[order], b_ih[order])

    # -- to be provided by each layer ----------------------------------------------------
    def _scan(self, xw, W_hh, b_hh, h0, c0, mask, reverse, h_mask):  # pragma: no cover - abstract
        """Run one direction over time. xw: (T, N, G·H) = x W_ihᵀ + b_ih, gate blocks in the order of
        ``_gate_rows`` (the scan may modify it); W_hh (G·H, H), b_hh (G·H,) in PyTorch's order (the scan
        must not keep references to them); h0, c0: (N, H) (c0 None without a cell); mask: (T, N, 1) or
        None; h_mask: (N, H) recurrent dropout mask on h_{t−1} or None.
        Returns (states (T, N, H), h_T, c_T or None, cache)."""
        raise NotImplementedError

    def _scan_backward(self, cache, dout, dhT, dcT, mask, reverse):  # pragma: no cover - abstract
        """dout: (T, N, H), ∂L/∂h_t from the outputs; dhT, dcT: (N, H) or None.
        Return (dxw (T, N, G·H) in the scan's gate order, dW_hh and db_hh in PyTorch's, dh0, dc0 or None,
        per-step ‖∂L/∂h_t‖ (T,) or None)."""
        raise NotImplementedError

    def _gates_for_history(self, cache) -> dict[str, np.ndarray]:  # pragma: no cover - abstract
        raise NotImplementedError

    def __repr__(self) -> str:
        return (f"{type(self).__name__}({self.input_size}, {self.hidden_size}, num_layers={self.num_layers}, "
                f"bidirectional={self.bidirectional}, dtype={self.dtype})")
