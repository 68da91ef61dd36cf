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
import threading
import tracemalloc
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


class WorkArrays:
    """A bounded pool of work arrays that the recurrent layers' passes borrow and give back.

    Where the first touch of fresh memory costs more than the arithmetic done in it (page faults: freed
    multi-megabyte arrays go back to the operating system), allocating a pass's arrays anew each time is
    slow; keeping them inside every layer holds memory nobody uses between passes, for as long as the
    layer lives, in every copy of it. This pool is the middle way: the arrays a forward pass keeps for
    backward, and backward's scratch arrays, are borrowed here and given back as soon as they are no
    longer needed (when backward has used them, or when the next forward replaces an unused cache); the
    pool keeps at most ``limit`` bytes of idle arrays for the next pass and lets the rest go. It holds
    nothing of any layer's results, belongs to no layer, and is never pickled or copied with one.
    ``WORK_ARRAYS.limit = 0`` turns it off; ``WORK_ARRAYS.clear()`` empties it. While :mod:`tracemalloc`
    is tracing, the pool is bypassed (every array is allocated afresh and dropped when given back), so
    that traced memory counts everything a pass uses and nothing it does not.
    """

    def __init__(self, limit: int) -> None:
        self.limit = int(limit)
        self._idle: list[np.ndarray] = []
        self._lock = threading.Lock()

    @property
    def idle_bytes(self) -> int:
        """Bytes held by idle arrays (not lent to any pass)."""
        return sum(b.nbytes for b in self._idle)

    def take(self, shape: tuple[int, ...], dtype, owner: list) -> np.ndarray:
        """An uninitialised array of ``shape`` and ``dtype``; its memory is recorded in ``owner``."""
        dtype = np.dtype(dtype)
        if tracemalloc.is_tracing():
            return np.empty(shape, dtype)
        need = math.prod(shape) * dtype.itemsize
        buf = None
        with self._lock:
            best = -1
            for k, b in enumerate(self._idle):  # the smallest idle array that fits without wasting half of it
                if need <= b.nbytes <= 2 * need + 4096 and (best < 0 or b.nbytes < self._idle[best].nbytes):
                    best = k
            if best >= 0:
                buf = self._idle.pop(best)
        if buf is None:
            buf = np.empty(need, np.uint8)
        owner.append(buf)
        return buf[:need].view(dtype).reshape(shape)

    def give(self, owner: list) -> None:
        """Return every array recorded in ``owner`` (nothing may use them afterwards) and empty it."""
        if tracemalloc.is_tracing():
            owner.clear()
            return
        with self._lock:
            held = sum(b.nbytes for b in self._idle)
            for b in owner:
                if held + b.nbytes <= self.limit:
                    self._idle.append(b)
                    held += b.nbytes
        owner.clear()

    def clear(self) -> None:
        """Drop every idle array."""
        with self._lock:
            self._idle.clear()


WORK_ARRAYS = WorkArrays(64 << 20)
"""The pool the recurrent layers share (at most 64 MiB of idle arrays; see :class:`WorkArrays`)."""


CHUNK_ELEMENTS = 1 << 16
"""Backward passes compute their per-step factors for a chunk of steps at a time, in work arrays of about
this many elements (steps × batch × hidden): vectorised over time like whole-sequence arrays, but small."""


def chunk_steps(T: int, N: int, H: int) -> int:
    """Steps per chunk of the backward pass (at least 1, at most T)."""
    return max(1, min(T, CHUNK_ELEMENTS // max(1, N * H)))


def backward_chunks(T: int, C: int, reverse: bool) -> list[tuple[int, int]]:
    """(start, end) step ranges of C steps in the order backward visits them: from the last step for a
    forward scan, from the first for a reverse one."""
    if reverse:
        return [(s, min(T, s + C)) for s in range(0, T, C)]
    return [(max(0, e - C), e) for e in range(T, 0, -C)]


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
    dropout_masks : the dropout masks of the last forward pass (read only).

    Memory: ``forward`` keeps what ``backward`` needs (its own copies of x, the initial state and the
    weights, and per layer and direction the states and gates; see each layer); ``backward`` uses those
    arrays as its work space and frees them, so a second ``backward`` needs a new ``forward`` (as in
    PyTorch). Between passes the layer holds its parameters, gradients and settings only; pickling and
    ``copy.deepcopy`` never carry the cache. Work arrays are recycled through :data:`WORK_ARRAYS`.
    """

    gate_names: tuple[str, ...] = ()
    has_cell = False
    _feature_major = False  # the scan reads its input u (T, N, D) fastest from a (T, D, N) array

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bidirectional: bool = False,
                 dropout: float = 0.0, dtype=np.float64, rng: np.random.Generator | None = None,
                 record: bool = False, *, input_dropout: float | Sequence[float] = 0.0,
                 recurrent_dropout: float | Sequence[float] = 0.0) -> None:
        name = type(self).__name__
        if not self.gate_names:
            raise TypeError(f"{name} is the abstract base of the recurrent layers: use lib.RNN, lib.LSTM or lib.GRU")
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
        """The dropout masks of the last forward pass: read-only arrays, values 0 or 1/(1−p).

        A dict of three dicts, keyed by the (layer, direction) names of :attr:`history`:

        - ``"output"``: ``dropout``'s masks on the outputs of layers 0 … L−2, ``{"l0": (N, T, directions·H), …}``
          (fresh at every step);
        - ``"input"``: ``input_dropout``'s masks, ``{"l0": (N, input features of layer 0), "l0_reverse": …}``
          (one per sequence, the same at every step);
        - ``"recurrent"``: ``recurrent_dropout``'s masks on h_{t−1}, ``{"l0": (N, H), …}`` (one per sequence).

        A kind with rate 0, and every kind in evaluation mode, has no entries. The masks stay until the next
        forward pass (backward does not free them).
        """
        return {kind: dict(masks) for kind, masks in self._masks.items()}

    @staticmethod
    def _frozen(a: np.ndarray) -> np.ndarray:
        a.flags.writeable = False
        return a

    # -- forward / backward ---------------------------------------------------------------
    def _release(self) -> None:
        """Give the cached pass's arrays back to the pool (the cache is gone afterwards)."""
        if self._cache is not None:
            for owner in self._cache[4]:
                WORK_ARRAYS.give(owner)
            self._cache = None

    def __getstate__(self) -> dict:
        """Pickling and ``copy.deepcopy`` carry parameters, gradients and settings, never the cache."""
        state = self.__dict__.copy()
        state["_cache"] = None
        return state

    def forward(self, x: np.ndarray, state=None, lengths: np.ndarray | None = None):
        """Run the whole sequence.

        x: (batch, time, input_size), time ≥ 1; state: see the class docstring (zeros if None);
        lengths: optional (batch,) ints in [1, time] — sequences are padded at the end, padded
        steps leave the state unchanged and output zeros (like PyTorch's packed sequences).
        Returns ``(outputs, state)``: outputs (batch, time, directions·hidden_size), and the final
        state shaped like ``state``. Nothing returned shares memory with the layer, and the layer
        keeps copies of x, the state and the weights, so the caller may reuse or update its arrays
        before ``backward``.
        """
        name = type(self).__name__
        check_array(x, name, shape=("batch", "time", self.input_size), dtype=self.dtype)
        N, T, _ = x.shape
        if T == 0:
            raise ValueError(f"{name} expected at least one time step, got x of shape {x.shape}")
        init = self._check_state(state, N)
        mask = self._mask(lengths, N, T)
        self._release()  # the previous pass's arrays become this one's
        H, L, dt = self.hidden_size, self.num_layers, self.dtype
        HD = H * self.num_directions
        owners: list[list] = [[] for _ in range(L)]  # pool arrays per layer, given back after its backward

        def take(shape, layer):
            return WORK_ARRAYS.take(shape, dt, owners[layer])

        def take_input(shape, layer):  # (T, N, D), laid out as the scan reads it best
            if self._feature_major:
                return take((shape[0], shape[2], shape[1]), layer).transpose(0, 2, 1)
            return take(shape, layer)

        layer_in = take_input((T, N, self.input_size), 0)
        np.copyto(layer_in, x.transpose(1, 0, 2))  # time-major (T, N, D), the layer's own copy
        caches, h_n, c_n = [], [], []
        if self.record:
            self.history = {"h": [], "gates": [], "grad_h_norm": [], "names": []}
        train = self.training
        masks: dict[str, dict[str, np.ndarray]] = {"output": {}, "input": {}, "recurrent": {}}
        outputs = None
        for layer in range(L):
            drop = None
            if layer > 0 and train and self.dropout > 0:  # PyTorch's dropout on the previous layer's outputs
                drop = self._draw_mask((N, T, HD), self.dropout)
                masks["output"][f"l{layer - 1}"] = self._frozen(drop)
                drop = drop.transpose(1, 0, 2)
                layer_in = np.multiply(layer_in, drop, out=take_input(layer_in.shape, layer))
            outs, dir_caches = [], []
            p_in, p_rec = self.input_dropout[layer], self.recurrent_dropout[layer]
            for d, sfx in enumerate(self._suffixes(layer)):
                k = layer * self.num_directions + d
                x_mask = h_mask = None
                u = layer_in
                if train and p_in > 0:
                    x_mask = masks["input"][sfx[1:]] = self._frozen(self._draw_mask((N, layer_in.shape[2]), p_in))
                    u = np.multiply(layer_in, x_mask, out=take_input(layer_in.shape, layer))
                if train and p_rec > 0:
                    h_mask = masks["recurrent"][sfx[1:]] = self._frozen(self._draw_mask((N, H), p_rec))
                p = self.params
                hs, hT, cT, cache = self._scan(u, p["weight_ih" + sfx], p["bias_ih" + sfx], p["weight_hh" + sfx],
                                               p["bias_hh" + sfx], init[k][0], init[k][1], mask, d == 1, h_mask,
                                               lambda shape, layer=layer: take(shape, layer))
                outs.append(hs)
                h_n.append(hT)
                c_n.append(cT)
                dir_caches.append((x_mask, cache))
                if self.record:
                    self.history["names"].append(sfx[1:])
                    self.history["h"].append((hs if mask is None else hs * mask).transpose(1, 0, 2).copy())
                    self.history["gates"].append(self._gates_for_history(cache))
            caches.append((drop, dir_caches))
            if layer < L - 1:  # the next layer reads both directions' states, zero at padded steps
                layer_in = outs[0]
                if len(outs) > 1:
                    layer_in = np.concatenate(outs, axis=2, out=take_input((T, N, HD), layer + 1))
                if mask is not None:
                    layer_in = np.multiply(layer_in, mask, out=take_input((T, N, HD), layer + 1))
            else:  # the caller's outputs, batch first: a copy, so that nothing returned aliases the cache
                outputs = np.empty((N, T, HD), dt)
                for d, hs in enumerate(outs):
                    dst = outputs[:, :, d * H:(d + 1) * H]
                    if mask is None:
                        np.copyto(dst, hs.transpose(1, 0, 2))
                    else:
                        np.multiply(hs.transpose(1, 0, 2), mask.transpose(1, 0, 2), dst)
        self._cache = [caches, mask, N, T, owners]
        self._masks = masks
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

        Needs the forward pass just before, and frees what that pass kept (PyTorch's default too):
        a second backward needs a new forward."""
        name = type(self).__name__
        if self._cache is None:
            raise RuntimeError(f"{name}.backward called before forward (or twice after one forward: backward "
                               f"frees what forward kept; run forward again)")
        caches, mask, N, T, owners = self._cache
        H, dt = self.hidden_size, self.dtype
        HD = H * self.num_directions
        _check_grad(doutputs, f"{name}.backward doutputs", (N, T, HD), dt)
        dh_n, dc_n = self._check_dstate(dstate, N)
        try:
            L = self.num_layers * self.num_directions
            grad_norms = [None] * L
            dh0, dc0 = [None] * L, [None] * L
            dlayer = doutputs.transpose(1, 0, 2)  # (T, N, directions·H), a view: read only
            consumed: list = []  # pool arrays holding dlayer
            for layer in reversed(range(self.num_layers)):
                drop, dir_caches = caches[layer]
                caches[layer] = None
                dx_total, produced = None, []
                for d, sfx in enumerate(self._suffixes(layer)):
                    k = layer * self.num_directions + d
                    x_mask, cache = dir_caches[d]
                    dir_caches[d] = None
                    du = WORK_ARRAYS.take((T, N, self.input_size if layer == 0 else HD), dt, produced)
                    scratch: list = []
                    dW_ih, db_ih, dW_hh, db_hh, dh0[k], dc0[k], grad_norms[k] = self._scan_backward(
                        cache, dlayer[:, :, d * H:(d + 1) * H], None if dh_n is None else dh_n[k],
                        None if dc_n is None else dc_n[k], mask, du,
                        lambda shape, scratch=scratch: WORK_ARRAYS.take(shape, dt, scratch))
                    WORK_ARRAYS.give(scratch)
                    del cache
                    self.grads["weight_ih" + sfx] = dW_ih
                    self.grads["bias_ih" + sfx] = db_ih
                    self.grads["weight_hh" + sfx] = dW_hh
                    self.grads["bias_hh" + sfx] = db_hh
                    if x_mask is not None:
                        du *= x_mask
                    if dx_total is None:
                        dx_total = du
                    else:
                        dx_total += du
                    del du
                if drop is not None:
                    dx_total *= drop
                WORK_ARRAYS.give(owners[layer])
                WORK_ARRAYS.give(consumed)
                dlayer, consumed = dx_total, produced
            dx = dlayer.transpose(1, 0, 2).copy()
            WORK_ARRAYS.give(consumed)
        finally:
            self._cache = None  # backward works in the cached arrays: they are spent either way
        if self.record:
            self.history["grad_h_norm"] = grad_norms
        self.dstate = (np.stack(dh0), np.stack(dc0)) if self.has_cell else np.stack(dh0)
        return dx

    # -- to be provided by each layer ----------------------------------------------------
    def _scan(self, u, W_ih, b_ih, W_hh, b_hh, h0, c0, mask, reverse, h_mask, take):  # pragma: no cover
        """Run one direction over time.

        u: (T, N, D) the layer's input, time-major (kept by the scan for backward; nobody else writes it);
        W_ih (G·H, D), b_ih, W_hh (G·H, H), b_hh: the parameters in PyTorch's order (the scan must copy what
        it keeps); h0, c0: (N, H) (c0 None without a cell); mask: (T, N, 1) or None; reverse: scan from the
        last step; h_mask: (N, H) recurrent dropout mask on h_{t−1} or None; ``take(shape)``: an uninitialised
        pool array of the layer's dtype that lives as long as the cache.
        Returns (states (T, N, H) time-major, h_T (N, H), c_T or None, cache); h_T, c_T must be fresh arrays."""
        raise NotImplementedError

    def _scan_backward(self, cache, dout, dhT, dcT, mask, du, take):  # pragma: no cover - abstract
        """dout: (T, N, H), ∂L/∂states from the outputs (may be a strided view; read only); dhT, dcT: (N, H)
        or None; du: (T, N, D) to fill with ∂L/∂u; ``take(shape)``: a scratch pool array, valid until return.
        May overwrite and must not keep the cache's arrays.
        Returns (dW_ih, db_ih, dW_hh, db_hh as fresh arrays in PyTorch's order, dh0, dc0 or None,
        per-step ‖∂L/∂h_t‖ (T,) or None)."""
        raise NotImplementedError

    def _gates_for_history(self, cache) -> dict[str, np.ndarray]:  # pragma: no cover - abstract
        raise NotImplementedError

    def __repr__(self) -> str:
        return (f"{type(self).__name__}({self.input_size}, {self.hidden_size}, num_layers={self.num_layers}, "
                f"bidirectional={self.bidirectional}, dtype={self.dtype})")
