"""The canonical pictures of recurrent networks, drawn by code from ``lib``'s own objects.

Every function draws one textbook figure with matplotlib and returns the
:class:`~matplotlib.figure.Figure` it drew on:

* :func:`draw_unrolled_rnn` — the rolled loop next to the network unrolled over time;
* :func:`draw_io_patterns` — one-to-one, one-to-many, many-to-one, many-to-many (aligned)
  and encoder–decoder, each with an example from the book;
* :func:`draw_lstm_cell` — the LSTM cell with its cell-state path, in PyTorch's gate names;
* :func:`draw_gru_cell` — the GRU cell in a named convention (PyTorch, Cho et al. 2014 or
  Chung et al. 2014), which decides where the reset gate acts and which way the update
  gate interpolates;
* :func:`draw_seq2seq` — an encoder–decoder with additive attention, as :class:`lib.Seq2Seq`.

Without ``ax`` each function makes its own standalone figure (a :class:`Diagram`, a
``Figure`` not registered with pyplot), so a notebook cell that ends with the call shows
the picture exactly once and nothing needs closing. Pass ``ax=`` to draw into an existing
Axes instead (its figure is returned; if pyplot made that figure, pyplot shows it, so do
not also end the cell with the call — add ``;``).
The same colours mean the same thing in every figure (:data:`PALETTE`): inputs, hidden
states, outputs, learned σ gates, learned tanh or linear layers, elementwise operations.
Drawings are deterministic: no randomness, fixed sizes.
"""

from __future__ import annotations

import io
import textwrap
from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Circle, FancyArrowPatch, FancyBboxPatch, Patch
from matplotlib.path import Path

from .gru import GRU, GRUCell
from .layers import Dense
from .lstm import LSTM, LSTMCell
from .rnn import RNN, RNNCell
from .seq2seq import Seq2Seq

__all__ = [
    "GRU_CONVENTIONS", "IO_EXAMPLES", "IO_PATTERNS", "PALETTE", "Diagram",
    "draw_gru_cell", "draw_io_patterns", "draw_lstm_cell", "draw_seq2seq", "draw_unrolled_rnn",
]

# (face, edge) colours by role; the edge colour also colours that role's labels.
PALETTE: dict[str, tuple[str, str]] = {
    "input": ("#FBE1D9", "#B4513A"),    # x_t
    "hidden": ("#DCEAF6", "#2F6497"),   # h_t, c_t, s_t
    "output": ("#E8E1F4", "#684C9A"),   # ŷ_t
    "loss": ("#EEEEEE", "#5F5F5F"),     # L_t
    "gate": ("#FCE8C5", "#B06E0C"),     # learned σ gates
    "layer": ("#DDF0DA", "#357A35"),    # learned tanh / linear layers
    "op": ("#FFFFFF", "#3A3A3A"),       # elementwise operations
}
_LINE = "#333333"
_CELL = "#F7F7F7"    # the background of a cell's outline
_MUTED = "#555555"


# --------------------------------------------------------------------------------------------
# drawing primitives (data coordinates, equal aspect)
# --------------------------------------------------------------------------------------------
class Diagram(Figure):
    """A standalone Figure that shows itself in Jupyter even before pyplot has drawn anything.

    IPython displays a Figure through the printer that pyplot's inline backend registers, and
    only once pyplot is active; this subclass also has ``_repr_png_``, so a cell that ends with
    a drawing shows it exactly once either way. It is not registered with pyplot: nothing to close.
    """

    def _repr_png_(self) -> bytes:
        buf = io.BytesIO()
        self.savefig(buf, format="png", facecolor="white")
        return buf.getvalue()


def _canvas(ax: Axes | None, xlim: tuple[float, float], ylim: tuple[float, float], width: float = 9.0):
    """(figure, axes, standalone): a new Figure ``width`` inches wide showing xlim × ylim, or ``ax``."""
    standalone = ax is None
    if standalone:
        height = width * (ylim[1] - ylim[0]) / (xlim[1] - xlim[0])
        fig = Diagram(figsize=(width, height), facecolor="white")
        FigureCanvasAgg(fig)
        ax = fig.add_axes((0, 0, 1, 1))
    elif not isinstance(ax, Axes):
        raise TypeError(f"ax must be a matplotlib Axes or None, got {type(ax).__name__}")
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    ax.set_aspect("equal")
    ax.set_axis_off()
    return ax.figure, ax, standalone


def _box(ax, x, y, w, h, kind, text="", sub="", fontsize=13, subsize=8.5, lw=1.4):
    """A rounded box centred at (x, y) in the colours of ``kind``, with a main and a small label."""
    face, edge = PALETTE[kind]
    ax.add_patch(FancyBboxPatch((x - w / 2, y - h / 2), w, h, boxstyle=f"round,pad=0,rounding_size={0.12 * min(w, h)}",
                                facecolor=face, edgecolor=edge, linewidth=lw, zorder=3))
    if text:
        dy = 0.14 * h if sub else 0.0
        ax.text(x, y + dy, text, ha="center", va="center", fontsize=fontsize, zorder=4)
    if sub:
        ax.text(x, y - 0.26 * h, sub, ha="center", va="center", fontsize=subsize, color=edge, zorder=4)


def _op(ax, x, y, text, r=0.28, fontsize=12):
    """An elementwise operation: a circle with its symbol."""
    face, edge = PALETTE["op"]
    ax.add_patch(Circle((x, y), r, facecolor=face, edgecolor=edge, linewidth=1.4, zorder=3))
    ax.text(x, y, text, ha="center", va="center", fontsize=fontsize, zorder=4)


def _line(ax, *points, head=True, lw=1.5, color=_LINE, style="-", z=2, head_scale=1.0):
    """A polyline through ``points``, with an arrowhead at the last point unless ``head=False``."""
    verts = [tuple(map(float, p)) for p in points]
    path = Path(verts, [Path.MOVETO] + [Path.LINETO] * (len(verts) - 1))
    arrowstyle = f"-|>,head_length={0.55 * head_scale},head_width={0.22 * head_scale}" if head else "-"
    patch = FancyArrowPatch(path=path, arrowstyle=arrowstyle, mutation_scale=14, linewidth=lw, color=color,
                            linestyle=style, joinstyle="miter", capstyle="butt", zorder=z)
    ax.add_patch(patch)
    return patch


def _bridge(ax, x, y, lw=1.5, half=0.3, background=None):
    """Where a horizontal line at height y crosses a vertical one at x, show it passing over (a gap
    in the vertical line), so that a crossing never reads as a junction."""
    ax.plot([x - half, x + half], [y, y], color=background or _CELL, linewidth=lw + 5, solid_capstyle="butt",
            zorder=2.6)
    ax.plot([x - half - 0.05, x + half + 0.05], [y, y], color=_LINE, linewidth=lw, solid_capstyle="butt",
            zorder=2.7)


def _dot(ax, x, y, r=0.075):
    """A junction: the line splits here (the same vector goes both ways)."""
    ax.add_patch(Circle((x, y), r, facecolor=_LINE, edgecolor="none", zorder=3))


def _label(ax, x, y, text, kind=None, fontsize=12, ha="center", va="center", color=None, **kw):
    color = color or (PALETTE[kind][1] if kind else "black")
    return ax.text(x, y, text, ha=ha, va=va, fontsize=fontsize, color=color, zorder=5, **kw)


def _measure(ax: Axes):
    """The drawing's extent: shapes in data units, and each label's extent around its anchor in inches."""
    fig = ax.figure
    renderer = fig.canvas.get_renderer() if hasattr(fig.canvas, "get_renderer") else fig._get_renderer()
    dpi, to_data = fig.dpi, ax.transData.inverted()
    labels = []
    for t in ax.texts:
        if t.get_text():
            box = t.get_window_extent(renderer)
            ax_px, ay_px = ax.transData.transform(t.get_position())
            labels.append((*t.get_position(), (box.x0 - ax_px) / dpi, (box.x1 - ax_px) / dpi,
                           (box.y0 - ay_px) / dpi, (box.y1 - ay_px) / dpi))
    shapes = [p.get_window_extent(renderer) for p in ax.patches] + [ln.get_window_extent(renderer) for ln in ax.lines]
    corners = np.array([to_data.transform([[b.x0, b.y0], [b.x1, b.y1]]) for b in shapes]).reshape(-1, 2)
    legend = ax.get_legend()
    legend_in = legend.get_window_extent(renderer).height / dpi + 0.05 if legend is not None else 0.0
    return (*corners.min(axis=0), *corners.max(axis=0)), labels, legend_in


def _limits(extent, labels, legend_in, box_w, box_h, start, pad=0.25):
    """Limits that hold every shape and label in an Axes box of box_w × box_h inches at equal aspect
    (box_h=None: the height follows). Growing the limits shrinks a data unit on paper, so the
    labels take more data units: a few rounds of arithmetic settle it."""
    (xlim, ylim) = start
    for _ in range(20):
        xr, yr = xlim[1] - xlim[0], ylim[1] - ylim[0]
        scale = box_w / xr if box_h is None else min(box_w / xr, box_h / yr)  # inches per data unit
        x0, y0, x1, y1 = extent
        for x, y, left, right, bottom, top in labels:
            x0, x1 = min(x0, x + left / scale), max(x1, x + right / scale)
            y0, y1 = min(y0, y + bottom / scale), max(y1, y + top / scale)
        new = ((x0 - pad, x1 + pad), (y0 - pad - legend_in / scale, y1 + pad))
        converged = np.allclose(new, (xlim, ylim), atol=1e-4)
        xlim, ylim = new
        if converged:
            break
    return xlim, ylim


def _finish(ax: Axes, standalone: bool, kinds: Sequence[tuple[str, str]], width: float = 9.0) -> None:
    """Add the legend of role colours and set the limits so that everything is inside the picture.

    A standalone figure keeps its width and takes the height that the equal aspect needs. In a
    caller's Axes, the drawing is laid out as in a standalone figure ``width`` inches wide and then
    shrunk to fit the Axes: text sizes, line widths and arrowheads shrink with it.
    """
    fig = ax.figure
    if standalone:
        _legend(ax, kinds)
        extent, labels, legend_in = _measure(ax)
        xlim, ylim = _limits(extent, labels, legend_in, width, None, (ax.get_xlim(), ax.get_ylim()))
        fig.set_size_inches(width, width * (ylim[1] - ylim[0]) / (xlim[1] - xlim[0]))
    else:
        _legend(ax, kinds)
        extent, labels, legend_in = _measure(ax)
        xlim, ylim = _limits(extent, labels, legend_in, width, None, (ax.get_xlim(), ax.get_ylim()))
        pos = ax.get_position()
        box_w, box_h = pos.width * fig.get_figwidth(), pos.height * fig.get_figheight()
        natural_h = width * (ylim[1] - ylim[0]) / (xlim[1] - xlim[0])
        shrink = min(1.0, box_w / width, box_h / natural_h)
        if shrink < 1.0:
            for t in ax.texts:
                t.set_fontsize(t.get_fontsize() * shrink)
            for artist in [*ax.patches, *ax.lines]:
                artist.set_linewidth(artist.get_linewidth() * shrink)
                if isinstance(artist, FancyArrowPatch):
                    artist.set_mutation_scale(artist.get_mutation_scale() * shrink)
            ax.get_legend().remove()
            _legend(ax, kinds, fontsize=9 * shrink)
            extent, labels, legend_in = _measure(ax)
        xlim, ylim = _limits(extent, labels, legend_in, box_w, box_h, (xlim, ylim))
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)


def _legend(ax, kinds: Sequence[tuple[str, str]], fontsize: float = 9.0):
    """A legend of role colours under the drawing: ``kinds`` is [(kind, description), …]; ops are circles."""
    handles = []
    for kind, text in kinds:
        face, edge = PALETTE[kind]
        if kind == "op":
            handles.append(Line2D([], [], linestyle="none", marker="o", markersize=fontsize * 1.2, markerfacecolor=face,
                                  markeredgecolor=edge, markeredgewidth=1.3, label=text))
        else:
            handles.append(Patch(facecolor=face, edgecolor=edge, linewidth=1.3, label=text))
    ax.legend(handles=handles, loc="lower center", ncol=len(handles), frameon=False, fontsize=fontsize,
              handlelength=1.6, columnspacing=1.4, borderaxespad=0.2)


# --------------------------------------------------------------------------------------------
# argument checks shared by the functions
# --------------------------------------------------------------------------------------------
def _layer_sizes(layer, allowed: tuple[type, ...], what: str, single: bool) -> dict:
    """Sizes and weight shapes of a lib recurrent layer or cell, for the labels of a drawing.

    ``single``: the drawing shows one layer in one direction, so stacked or bidirectional layers
    are refused; otherwise (a cell diagram) the first layer's forward cell is described.
    """
    if not isinstance(layer, allowed):
        names = " or ".join(f"lib.{t.__name__}" for t in allowed)
        raise TypeError(f"{what} draws a {names}, got {type(layer).__name__}")
    layers, bidir = getattr(layer, "num_layers", 1), getattr(layer, "bidirectional", False)
    if single and (layers != 1 or bidir):
        raise ValueError(f"{what} draws one layer in one direction; got num_layers={layers}, "
                         f"bidirectional={bidir} (draw one layer at a time)")
    suffix = "_l0" if "weight_ih_l0" in layer.params else ""
    name = f"lib.{type(layer).__name__}({int(layer.input_size)}, {int(layer.hidden_size)}"
    name += f", num_layers={layers}" if layers != 1 else ""
    name += ", bidirectional=True" if bidir else ""
    name += ")" + (", its first layer" if layers != 1 or bidir else "")
    return {"name": name, "D": int(layer.input_size), "H": int(layer.hidden_size),
            "W_ih": tuple(layer.params["weight_ih" + suffix].shape),
            "W_hh": tuple(layer.params["weight_hh" + suffix].shape), "suffix": suffix,
            "kind": type(layer).__name__.removesuffix("Cell")}


def _check_bool(value, name: str) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def _shape_text(shape: tuple[int, ...]) -> str:
    return "(" + ", ".join(str(s) for s in shape) + ")"


# --------------------------------------------------------------------------------------------
# 1. the unrolled RNN
# --------------------------------------------------------------------------------------------
def draw_unrolled_rnn(layer=None, *, steps: int = 4, losses: bool = False, readout=None,
                      equations: bool = True, ax: Axes | None = None) -> Figure:
    """The recurrent loop (left) and the same network unrolled over ``steps`` time steps (right).

    Inputs x_t enter from below through W_ih, the state h_t is carried left to right through
    W_hh, and each output ŷ_t = W_hy h_t + b_y leaves upwards; the same three weight labels on
    every step show that the weights are shared. ``losses=True`` adds the per-step losses
    L_t = ℓ(ŷ_t, y_t) against the targets y_t and their sum L, the loss that backpropagation
    through time differentiates.

    Parameters
    ----------
    layer : lib.RNN, RNNCell, GRU, GRUCell, LSTM or LSTMCell, optional
        Labels the sizes (input D, hidden H, the weight shapes) from the layer; a gated layer
        is drawn as its cell (an LSTM carries the pair (h_t, c_t)). One layer, one direction.
    steps : number of unrolled steps, 2 … 6 (more would not be readable at the book's width).
    losses : draw L_t above each output and the total L.
    readout : lib.Dense, optional — the read-out h_t ↦ ŷ_t; labels the output size.
    equations : write the step's equations under the picture.
    ax : draw into this Axes instead of a new Figure.

    Returns the Figure. Example: ``lib.draw_unrolled_rnn(lib.RNN(2, 16), steps=4, losses=True)``.
    """
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)):
        raise TypeError(f"steps must be an int, got {type(steps).__name__}")
    if not 2 <= steps <= 6:
        raise ValueError(f"steps must be between 2 and 6, got {steps}")
    losses, equations = _check_bool(losses, "losses"), _check_bool(equations, "equations")
    sizes, kind_name, nonlin = None, "RNN", "tanh"
    if layer is not None:
        sizes = _layer_sizes(layer, (RNN, RNNCell, GRU, GRUCell, LSTM, LSTMCell), "draw_unrolled_rnn", single=True)
        kind_name = sizes["kind"]
        nonlin = getattr(layer, "nonlinearity", "tanh")
    C = None
    if readout is not None:
        if not isinstance(readout, Dense):
            raise TypeError(f"readout must be a lib.Dense, got {type(readout).__name__}")
        if sizes is not None and readout.in_features != sizes["H"]:
            raise ValueError(f"readout reads {readout.in_features} features but the layer's hidden size is "
                             f"{sizes['H']}")
        C = readout.out_features
    lstm = kind_name == "LSTM"

    def state(t):
        return rf"$\mathbf{{h}}_{{{t}}}, \mathbf{{c}}_{{{t}}}$" if lstm else rf"$\mathbf{{h}}_{{{t}}}$"

    bw, bh, sw, sh = (1.9 if lstm else 1.3), (1.2 if lstm else 1.0), 0.95, 0.8   # state box, small boxes
    pitch = bw + 1.6
    y_x, y_h, y_y, y_L = 0.0, 2.2, 4.4, 6.2
    xr = 0.0                                                   # the rolled cell
    x0 = xr + bw / 2 + 5.8 + bw / 2                            # first unrolled step
    x_end = x0 + (steps - 1) * pitch + bw / 2
    fig, ax, standalone = _canvas(ax, (-1.5, x_end + 0.5), (-1.5, (y_L if losses else y_y) + 1.0))
    wkw = {"fontsize": 10.5, "color": _MUTED}

    def column(x, t):
        _box(ax, x, y_x, sw, sh, "input", rf"$\mathbf{{x}}_{{{t}}}$", fontsize=12)
        _box(ax, x, y_h, bw, bh, "hidden", state(t), fontsize=12)
        _box(ax, x, y_y, sw, sh, "output", rf"$\hat{{\mathbf{{y}}}}_{{{t}}}$", fontsize=12)
        _line(ax, (x, y_x + sh / 2), (x, y_h - bh / 2))
        _line(ax, (x, y_h + bh / 2), (x, y_y - sh / 2))
        _label(ax, x + 0.12, (y_x + sh / 2 + y_h - bh / 2) / 2, r"$W_{ih}$", ha="left", **wkw)
        _label(ax, x + 0.12, (y_h + bh / 2 + y_y - sh / 2) / 2, r"$W_{hy}$", ha="left", **wkw)
        if losses:
            _box(ax, x, y_L, sw, sh, "loss", rf"$L_{{{t}}}$", fontsize=12)
            _line(ax, (x, y_y + sh / 2), (x, y_L - sh / 2))
            _line(ax, (x + sw / 2 + 0.45, y_L), (x + sw / 2, y_L), head_scale=0.8)
            _label(ax, x + sw / 2 + 0.5, y_L, rf"$\mathbf{{y}}_{{{t}}}$", ha="left", fontsize=11, color=_MUTED)

    # rolled: one cell whose state comes back into it one step later. An LSTM carries two states
    # on two lanes: c (elementwise only, no weights) above, h (through W_hh) below.
    column(xr, "t")
    xl = xr + bw / 2
    lanes = [(y_h + 0.28, None), (y_h - 0.28, r"$W_{hh}$")] if lstm else [(y_h, r"$W_{hh}$")]
    for y_lane, weight in lanes:
        d = 0.13 if lstm else 0.25
        _line(ax, (xl, y_lane + d), (xl + 0.6, y_lane + d), (xl + 0.6, y_lane - d), (xl, y_lane - d),
              head_scale=0.8 if lstm else 0.9)
        if weight:
            _label(ax, xl + 0.72, y_lane, weight, ha="left", **wkw)
    # "unroll"
    xu0, xu1 = xl + 2.0, x0 - bw / 2 - 2.1
    _line(ax, (xu0, y_h), (xu1, y_h), lw=2.4, color="#8A8A8A", head_scale=1.3)
    _label(ax, (xu0 + xu1) / 2, y_h + 0.3, "unroll", fontsize=10.5, color=_MUTED, style="italic", va="bottom")

    # unrolled
    first = [(y_lane, r"$\mathbf{c}_0$" if weight is None else r"$\mathbf{h}_0$", weight) for y_lane, weight in lanes]
    for y_lane, name, weight in first:
        _label(ax, x0 - bw / 2 - 1.05, y_lane, name, ha="right", fontsize=12, color=PALETTE["hidden"][1])
        _line(ax, (x0 - bw / 2 - 0.95, y_lane), (x0 - bw / 2, y_lane))
        if weight:
            _label(ax, x0 - bw / 2 - 0.47, y_lane + (-0.15 if lstm else 0.2), weight, va="top" if lstm else "bottom",
                   **wkw)
    for k in range(steps):
        x = x0 + k * pitch
        column(x, k + 1)
        if k + 1 < steps:
            for y_lane, weight in lanes:
                _line(ax, (x + bw / 2, y_lane), (x + pitch - bw / 2, y_lane))
                if weight:
                    _label(ax, x + pitch / 2, y_lane + (-0.15 if lstm else 0.2), weight,
                           va="top" if lstm else "bottom", **wkw)

    if losses:
        terms = " + ".join(f"L_{k + 1}" for k in range(steps)) if steps <= 4 else rf"L_1 + \cdots + L_{{{steps}}}"
        _label(ax, (x0 + x_end - bw / 2) / 2, y_L + sh / 2 + 0.75,
               rf"$L = {terms}$,  each $L_t = \ell(\hat{{\mathbf{{y}}}}_t, \mathbf{{y}}_t)$ against the target "
               r"$\mathbf{y}_t$", fontsize=10.5, color=PALETTE["loss"][1])

    # text under the picture
    y_text, mid = y_x - sh / 2 - 0.55, (-1.5 + x_end + 0.5) / 2
    if equations:
        if kind_name == "RNN":
            f = r"\tanh" if nonlin == "tanh" else r"\mathrm{ReLU}"
            step_eq = (rf"$\mathbf{{h}}_t = {f}(W_{{ih}}\mathbf{{x}}_t + \mathbf{{b}}_{{ih}} + "
                       r"W_{hh}\mathbf{h}_{t-1} + \mathbf{b}_{hh})$")
        elif kind_name == "GRU":
            step_eq = r"$\mathbf{h}_t = \mathrm{GRU}(\mathbf{x}_t, \mathbf{h}_{t-1})$ (gates inside the box)"
        else:
            step_eq = (r"$(\mathbf{h}_t, \mathbf{c}_t) = \mathrm{LSTM}(\mathbf{x}_t, \mathbf{h}_{t-1}, "
                       r"\mathbf{c}_{t-1})$ (gates inside the box)")
        _label(ax, mid, y_text, step_eq + r",    $\hat{\mathbf{y}}_t = W_{hy}\mathbf{h}_t + \mathbf{b}_y$;    "
               "the same weights at every step", fontsize=10.5, va="top")
        y_text -= 0.75
    lines = []
    if sizes is not None:
        H, D, sfx = sizes["H"], sizes["D"], sizes["suffix"]
        cell = r", \mathbf{c}_t" if lstm else ""
        lines.append(rf"{sizes['name']}:  $\mathbf{{x}}_t \in \mathbb{{R}}^{{{D}}}$,  "
                     rf"$\mathbf{{h}}_t{cell} \in \mathbb{{R}}^{{{H}}}$,  "
                     rf"weight_ih{sfx} {_shape_text(sizes['W_ih'])},  "
                     rf"weight_hh{sfx} {_shape_text(sizes['W_hh'])}")
    if readout is not None:
        lines.append(rf"read-out lib.Dense({readout.in_features}, {C}):  "
                     rf"$\hat{{\mathbf{{y}}}}_t \in \mathbb{{R}}^{{{C}}}$,  $W_{{hy}}$ weight "
                     rf"{_shape_text((C, readout.in_features))}")
    if lines:
        _label(ax, mid, y_text, "\n".join(lines), fontsize=10, color=_MUTED, va="top", linespacing=1.6)
    kinds = [("input", "input"), ("hidden", "hidden state"), ("output", "output")]
    if losses:
        kinds.append(("loss", "loss"))
    _finish(ax, standalone, kinds)
    return fig


# --------------------------------------------------------------------------------------------
# 2. input/output patterns
# --------------------------------------------------------------------------------------------
IO_PATTERNS: dict[str, tuple[str, str]] = {
    "one_to_one": ("one-to-one", "no recurrence"),
    "one_to_many": ("one-to-many", "one input, a sequence out"),
    "many_to_one": ("many-to-one", "a sequence in, one output"),
    "many_to_many": ("many-to-many", "aligned: an output at every step"),
    "encoder_decoder": ("encoder–decoder", "many-to-many: read all the input, then write"),
}
"""The patterns :func:`draw_io_patterns` knows: key → (panel title, what it means)."""

IO_EXAMPLES: dict[str, str] = {
    "one_to_one": "8×8 image → its digit (Feedforward networks)",
    "one_to_many": "start mark → a sampled name, each letter fed back in (NLP)",
    "many_to_one": "review → sentiment (NLP); spoken clip → digit (Speech)",
    "many_to_many": "each letter → the next (NLP); each token → is a 0 ahead? (Bidirectional RNNs)",
    "encoder_decoder": "a sequence → the same sequence reversed (Attention)",
}
"""The default example under each panel, each a task that a chapter of the book trains."""

# (columns with an input, columns with an output, number of columns) for each pattern
_IO_LAYOUT = {
    "one_to_one": ((0,), (0,), 1),
    "one_to_many": ((0,), (0, 1, 2), 3),
    "many_to_one": ((0, 1, 2), (2,), 3),
    "many_to_many": ((0, 1, 2), (0, 1, 2), 3),
    "encoder_decoder": ((0, 1, 2), (3, 4, 5), 6),
}


def draw_io_patterns(examples: Mapping[str, str] | None = None, *, patterns: Sequence[str] | None = None,
                     ax: Axes | None = None) -> Figure:
    """The input/output patterns of recurrent networks, one small panel each, with an example.

    Each panel is a network unrolled in time, left to right: inputs (bottom), hidden states
    (middle, joined left to right by the recurrence) and outputs (top), for

    * ``one_to_one`` — a fixed-size input to a fixed-size output, no recurrence;
    * ``one_to_many`` — one input, an output at every step;
    * ``many_to_one`` — a sequence in, one output after the last step;
    * ``many_to_many`` — aligned: an output for every input, at the same step;
    * ``encoder_decoder`` — the whole input is read first, then the outputs are produced
      (their number need not equal the inputs').

    Parameters
    ----------
    examples : mapping pattern → caption, replacing some of the default examples
        (:data:`IO_EXAMPLES`, which name the book's chapters). Keys must be among :data:`IO_PATTERNS`.
    patterns : which panels to draw, in order (default: all five).
    ax : draw into this Axes instead of a new Figure.

    Returns the Figure. Example: ``lib.draw_io_patterns()``.
    """
    if patterns is None:
        patterns = list(IO_PATTERNS)
    elif isinstance(patterns, str) or not isinstance(patterns, Sequence):
        raise TypeError(f"patterns must be a sequence of pattern names, got {patterns!r}")
    patterns = list(patterns)
    unknown = [p for p in patterns if p not in IO_PATTERNS]
    if unknown or not patterns or len(set(patterns)) != len(patterns):
        raise ValueError(f"patterns must be distinct names from {list(IO_PATTERNS)}, got {patterns}")
    captions = dict(IO_EXAMPLES)
    if examples is not None:
        if not isinstance(examples, Mapping):
            raise TypeError(f"examples must be a mapping pattern -> caption, got {type(examples).__name__}")
        bad = [k for k in examples if k not in IO_PATTERNS]
        if bad:
            raise ValueError(f"unknown pattern(s) {bad} in examples; known: {list(IO_PATTERNS)}")
        for k, v in examples.items():
            if not isinstance(v, str):
                raise TypeError(f"examples[{k!r}] must be a str, got {type(v).__name__}")
        captions.update(examples)

    pitch, size, gap = 1.35, 0.8, 1.1
    widths = [max((_IO_LAYOUT[p][2] - 1) * pitch + size, 3.6) for p in patterns]
    total = sum(widths) + gap * (len(patterns) - 1)

    def wrap(text, w, per_unit):
        return "\n".join(textwrap.wrap(text, max(10, int(w * per_unit))))

    y_in, y_h, y_out = 0.0, 1.45, 2.9
    # Subtitles wrap at a panel's width, but never wider than a three-column panel's: a long one over the
    # wide encoder–decoder panel would otherwise run up to its neighbour's.
    meanings = {p: wrap(IO_PATTERNS[p][1], min(w, 4.2), 6.0) for p, w in zip(patterns, widths, strict=True)}
    y_title = y_out + size / 2 + 0.35 + 0.42 * max(m.count("\n") + 1 for m in meanings.values())
    fig, ax, standalone = _canvas(ax, (-0.2, total + 0.2), (-3.0, y_title + 0.6))

    left = 0.0
    for p, w in zip(patterns, widths, strict=True):
        ins, outs, n = _IO_LAYOUT[p]
        x_first = left + w / 2 - (n - 1) * pitch / 2
        xs = [x_first + k * pitch for k in range(n)]
        for k, x in enumerate(xs):
            _box(ax, x, y_h, size, size, "hidden")
            if k in ins:
                _box(ax, x, y_in, size, size, "input")
                _line(ax, (x, y_in + size / 2), (x, y_h - size / 2), lw=1.4, head_scale=0.8)
            if k in outs:
                _box(ax, x, y_out, size, size, "output")
                _line(ax, (x, y_h + size / 2), (x, y_out - size / 2), lw=1.4, head_scale=0.8)
            if k + 1 < n:
                _line(ax, (x + size / 2, y_h), (x + pitch - size / 2, y_h), lw=1.4, head_scale=0.8)
        if p == "encoder_decoder":
            xm = (xs[2] + xs[3]) / 2
            ax.plot([xm, xm], [y_in - size / 2, y_out + size / 2], color="#8A8A8A", lw=0.9, ls=(0, (3, 3)), zorder=1)
            _label(ax, xs[1], y_out, "encoder", fontsize=9.5, color=_MUTED, style="italic")
            _label(ax, xs[4], y_in, "decoder", fontsize=9.5, color=_MUTED, style="italic")
        title, meaning = IO_PATTERNS[p]
        _label(ax, left + w / 2, y_title, title, fontsize=11, weight="bold", va="bottom")
        _label(ax, left + w / 2, y_title - 0.08, meanings[p], fontsize=9, color=_MUTED, va="top", linespacing=1.2)
        _label(ax, left + w / 2, y_in - size / 2 - 0.3, wrap(captions[p], w, 6.0), fontsize=9, color="#222222",
               va="top", linespacing=1.25)
        left += w + gap
    _finish(ax, standalone, [("input", "input"), ("hidden", "hidden state"), ("output", "output")])
    return fig


# --------------------------------------------------------------------------------------------
# 3. the LSTM cell
# --------------------------------------------------------------------------------------------
def draw_lstm_cell(layer=None, *, equations: bool = True, ax: Axes | None = None) -> Figure:
    """The LSTM cell, as in the well-known explainers, redrawn from :mod:`lib.lstm`'s equations.

    Along the top runs the cell state, c_{t−1} → × f_t → + i_t ⊙ g_t → c_t: it is only scaled
    and added to, never squashed. h_{t−1} enters at the bottom left and x_t from below; the
    pair feeds four learned layers, named as in PyTorch: the forget gate f (σ), the input gate
    i (σ), the candidate g (tanh) and the output gate o (σ). The new hidden state
    h_t = o_t ⊙ tanh(c_t) leaves to the right (to the next step) and upwards (the output).
    With ``equations=True`` the six equations stand beside the picture, with the gate names in
    the same colours as their boxes.

    Parameters
    ----------
    layer : lib.LSTM or lib.LSTMCell, optional — labels D, H and the stacked weight shapes (of the
        first layer, for a stacked or bidirectional LSTM).
    equations : write the equations beside the diagram.
    ax : draw into this Axes instead of a new Figure.

    Returns the Figure. Example: ``lib.draw_lstm_cell(lib.LSTMCell(3, 5))``.
    """
    equations = _check_bool(equations, "equations")
    sizes = None if layer is None else _layer_sizes(layer, (LSTM, LSTMCell), "draw_lstm_cell", single=False)
    y_belt, y_bus, y_gate = 5.6, 0.9, 2.5
    gw, gh = 1.45, 1.2
    xf, xi, xg, xo = 2.2, 4.2, 6.2, 8.2
    x_tanh, x_out = 10.0, 11.3
    fig, ax, standalone = _canvas(ax, (-2.1, 24.0 if equations else 14.2), (-2.5, 8.3))

    # the cell's outline
    ax.add_patch(FancyBboxPatch((0, 0), 12.3, 6.6, boxstyle="round,pad=0,rounding_size=0.5", facecolor=_CELL,
                                edgecolor="#9A9A9A", linewidth=1.2, zorder=0))
    # cell-state path (drawn over the upward h_t line where they cross)
    _line(ax, (-1.3, y_belt), (xf - 0.28, y_belt), lw=2.6)
    _op(ax, xf, y_belt, r"$\times$")
    _line(ax, (xf + 0.28, y_belt), (xg - 0.28, y_belt), lw=2.6)
    _op(ax, xg, y_belt, "$+$")
    _line(ax, (xg + 0.28, y_belt), (13.5, y_belt), lw=2.6)
    _bridge(ax, x_out, y_belt, lw=2.6)
    _dot(ax, x_tanh, y_belt, 0.09)
    _label(ax, -1.4, y_belt, r"$\mathbf{c}_{t-1}$", "hidden", ha="right", fontsize=13)
    _label(ax, 13.6, y_belt, r"$\mathbf{c}_t$", "hidden", ha="left", fontsize=13)
    _label(ax, 0.25, y_belt + 0.42, "cell state", fontsize=9, color=_MUTED, style="italic", ha="left")

    # inputs: h_{t-1} along the bottom, x_t from below; the pair feeds every gate
    _line(ax, (-1.3, y_bus), (xo, y_bus), head=False)
    _line(ax, (1.0, -1.3), (1.0, y_bus), head=False)
    _dot(ax, 1.0, y_bus)
    _label(ax, -1.4, y_bus, r"$\mathbf{h}_{t-1}$", "hidden", ha="right", fontsize=13)
    _label(ax, 1.0, -1.45, r"$\mathbf{x}_t$", "input", va="top", fontsize=13)
    for x in (xf, xi, xg, xo):
        if x != xo:
            _dot(ax, x, y_bus)
        _line(ax, (x, y_bus), (x, y_gate - gh / 2))

    # the four learned layers
    _box(ax, xf, y_gate, gw, gh, "gate", r"$\sigma$", "forget")
    _box(ax, xi, y_gate, gw, gh, "gate", r"$\sigma$", "input")
    _box(ax, xg, y_gate, gw, gh, "layer", r"$\tanh$", "candidate")
    _box(ax, xo, y_gate, gw, gh, "gate", r"$\sigma$", "output")

    # f_t scales the cell state
    _line(ax, (xf, y_gate + gh / 2), (xf, y_belt - 0.28))
    _label(ax, xf + 0.14, 4.1, r"$\mathbf{f}_t$", "gate", ha="left")
    # i_t ⊙ g_t is added to it
    y_ig = 4.1
    _line(ax, (xi, y_gate + gh / 2), (xi, y_ig), (xg - 0.28, y_ig))
    _label(ax, xi + 0.14, 3.55, r"$\mathbf{i}_t$", "gate", ha="left")
    _line(ax, (xg, y_gate + gh / 2), (xg, y_ig - 0.28))
    _label(ax, xg + 0.14, 3.3, r"$\mathbf{g}_t$", "layer", ha="left")
    _op(ax, xg, y_ig, r"$\times$")
    _line(ax, (xg, y_ig + 0.28), (xg, y_belt - 0.28))
    # h_t = o_t ⊙ tanh(c_t)
    y_th = 4.1
    _line(ax, (x_tanh, y_belt), (x_tanh, y_th + 0.48))
    _op(ax, x_tanh, y_th, r"$\tanh$", r=0.48, fontsize=10)
    _line(ax, (x_tanh, y_th - 0.48), (x_tanh, y_gate + 0.28))
    _op(ax, x_tanh, y_gate, r"$\times$")
    _line(ax, (xo + gw / 2, y_gate), (x_tanh - 0.28, y_gate))
    _label(ax, (xo + gw / 2 + x_tanh - 0.28) / 2, y_gate + 0.3, r"$\mathbf{o}_t$", "gate")
    _line(ax, (x_tanh + 0.28, y_gate), (x_out, y_gate), head=False)
    _dot(ax, x_out, y_gate)
    _line(ax, (x_out, y_gate), (x_out, y_bus), (13.5, y_bus))
    _line(ax, (x_out, y_gate), (x_out, 7.6), z=1)
    _label(ax, 13.6, y_bus, r"$\mathbf{h}_t$", "hidden", ha="left", fontsize=13)
    _label(ax, x_out, 7.7, r"$\mathbf{h}_t$", "hidden", va="bottom", fontsize=13)

    if equations:
        ex, ey, dy, fs = 14.6, 6.9, 0.95, 10.5
        gc, lc = PALETTE["gate"][1], PALETTE["layer"][1]
        def gate(name, f, color):
            return (rf"$\mathbf{{{name}}}_t = {f}(W_{{i{name}}}\mathbf{{x}}_t + \mathbf{{b}}_{{i{name}}} + "
                    rf"W_{{h{name}}}\mathbf{{h}}_{{t-1}} + \mathbf{{b}}_{{h{name}}})$", color)

        lines = [
            gate("f", r"\sigma", gc), gate("i", r"\sigma", gc), gate("g", r"\tanh", lc), gate("o", r"\sigma", gc),
            (r"$\mathbf{c}_t = \mathbf{f}_t \odot \mathbf{c}_{t-1} + \mathbf{i}_t \odot \mathbf{g}_t$",
             PALETTE["hidden"][1]),
            (r"$\mathbf{h}_t = \mathbf{o}_t \odot \tanh(\mathbf{c}_t)$", PALETTE["hidden"][1]),
        ]
        for k, (eq, color) in enumerate(lines):
            _label(ax, ex, ey - k * dy, eq, ha="left", fontsize=fs, color=color)
        _label(ax, ex, ey - 6 * dy - 0.1, "PyTorch's gate order i, f, g, o (lib.LSTM);\n"
               r"$\odot$: elementwise product", ha="left", va="top", fontsize=9, color=_MUTED)
    if sizes is not None:
        H, D, sfx = sizes["H"], sizes["D"], sizes["suffix"]
        _label(ax, -1.3, -2.3,
               rf"{sizes['name']}:  $\mathbf{{x}}_t \in \mathbb{{R}}^{{{D}}}$,  "
               rf"$\mathbf{{h}}_t, \mathbf{{c}}_t \in \mathbb{{R}}^{{{H}}}$;  weight_ih{sfx} "
               rf"{_shape_text(sizes['W_ih'])} and weight_hh{sfx} {_shape_text(sizes['W_hh'])} stack the rows of "
               r"$i, f, g, o$", ha="left", va="top", fontsize=9.5, color=_MUTED)
    _finish(ax, standalone, [("gate", "learned layer: σ gate"), ("layer", "learned layer: tanh"),
                 ("op", "elementwise operation"), ("hidden", "state")])
    return fig


# --------------------------------------------------------------------------------------------
# 4. the GRU cell, in a named convention
# --------------------------------------------------------------------------------------------
GRU_CONVENTIONS: dict[str, dict] = {
    "pytorch": {"keeps": "z", "reset_after": True, "cand": "n", "who": "PyTorch's",
                "title": "PyTorch convention (torch.nn.GRU, cuDNN, Keras reset_after=True, lib.GRU)"},
    "cho": {"keeps": "z", "reset_after": False, "cand": r"\tilde{h}", "who": "Cho et al.'s",
            "title": "Cho et al. (2014), as published"},
    "chung": {"keeps": "1-z", "reset_after": False, "cand": r"\tilde{h}", "who": "Chung et al.'s",
              "title": "Chung et al. (2014) convention, as in the well-known explainers"},
}
"""What each ``convention`` of :func:`draw_gru_cell` means.

``keeps``: which factor multiplies h_{t−1} in the interpolation — ``"z"`` for
h_t = (1 − z_t) ⊙ n_t + z_t ⊙ h_{t−1} (PyTorch, and Cho et al. 2014's equation), ``"1-z"`` for
h_t = (1 − z_t) ⊙ h_{t−1} + z_t ⊙ h̃_t (Chung et al. 2014 and the explainers that follow it): the
update gate's meaning is flipped. ``reset_after``: the reset gate multiplies W_hn h_{t−1} + b_hn
(after the matrix product; PyTorch, cuDNN, the first arXiv version of Cho et al.) or h_{t−1}
itself (before it; the published Cho et al. 2014 and Chung et al. 2014). ``cand``: the
candidate's symbol, n (PyTorch) or h̃ (the papers). ``title``: what the figure's title calls
the convention; with the other reset placement the title names both choices instead.
"""


def _gru_equations(keeps: str, reset_after: bool, cand: str) -> list[tuple[str, str]]:
    c = rf"\mathbf{{{cand[-1]}}}" if cand == "n" else r"\tilde{\mathbf{h}}"
    h = r"\mathbf{h}"
    gate = PALETTE["gate"][1]
    eqs = [
        (rf"$\mathbf{{r}}_t = \sigma(W_{{ir}}\mathbf{{x}}_t + \mathbf{{b}}_{{ir}} + W_{{hr}}{h}_{{t-1}} + "
         r"\mathbf{b}_{hr})$", gate),
        (rf"$\mathbf{{z}}_t = \sigma(W_{{iz}}\mathbf{{x}}_t + \mathbf{{b}}_{{iz}} + W_{{hz}}{h}_{{t-1}} + "
         r"\mathbf{b}_{hz})$", gate),
    ]
    if reset_after:
        eqs.append((rf"${c}_t = \tanh(W_{{in}}\mathbf{{x}}_t + \mathbf{{b}}_{{in}} + \mathbf{{r}}_t \odot "
                    rf"(W_{{hn}}{h}_{{t-1}} + \mathbf{{b}}_{{hn}}))$", PALETTE["layer"][1]))
    else:
        eqs.append((rf"${c}_t = \tanh(W_{{in}}\mathbf{{x}}_t + \mathbf{{b}}_{{in}} + W_{{hn}}(\mathbf{{r}}_t \odot "
                    rf"{h}_{{t-1}}) + \mathbf{{b}}_{{hn}})$", PALETTE["layer"][1]))
    if keeps == "z" and cand == "n":
        upd = rf"${h}_t = (1 - \mathbf{{z}}_t) \odot {c}_t + \mathbf{{z}}_t \odot {h}_{{t-1}}$"
    elif keeps == "z":
        upd = rf"${h}_t = \mathbf{{z}}_t \odot {h}_{{t-1}} + (1 - \mathbf{{z}}_t) \odot {c}_t$"
    else:
        upd = rf"${h}_t = (1 - \mathbf{{z}}_t) \odot {h}_{{t-1}} + \mathbf{{z}}_t \odot {c}_t$"
    eqs.append((upd, PALETTE["hidden"][1]))
    return eqs


def draw_gru_cell(layer=None, *, convention: str = "pytorch", reset_after: bool | None = None,
                  equations: bool = True, ax: Axes | None = None) -> Figure:
    """The GRU cell in a named convention; the figure's title says which one is drawn.

    The state h_{t−1} runs along the top. The reset gate r and the update gate z (σ layers) read
    h_{t−1} and x_t; the candidate (n in PyTorch, h̃ in the papers) is a tanh layer reading x_t
    and the reset-gated past; the new state interpolates between h_{t−1} and the candidate.
    Two choices differ between sources, and both are drawn as they compute:

    * which way the update gate interpolates — ``"pytorch"`` and ``"cho"``:
      h_t = (1 − z_t) ⊙ n_t + z_t ⊙ h_{t−1}, so z_t → 1 keeps the old state; ``"chung"`` (Chung
      et al. 2014 and the explainers that follow it): h_t = (1 − z_t) ⊙ h_{t−1} + z_t ⊙ h̃_t, so
      z_t → 1 takes the candidate. The "1 −" sits on the other branch;
    * where the reset gate acts — after the matrix product, r_t ⊙ (W_hn h_{t−1} + b_hn)
      (``reset_after=True``: PyTorch, cuDNN, ``lib.GRU``), or before it, W_hn (r_t ⊙ h_{t−1})
      (``reset_after=False``: Cho et al. 2014 as published, Chung et al. 2014). By default
      each convention uses its own; pass ``reset_after`` to draw the other placement.

    Parameters
    ----------
    layer : lib.GRU or lib.GRUCell, optional — labels D, H and the weight shapes (of the first
        layer, for a stacked or bidirectional GRU). ``lib``
        computes the PyTorch convention, so a layer can only be drawn with
        ``convention="pytorch"`` and reset after.
    convention : ``"pytorch"``, ``"cho"`` or ``"chung"`` (see :data:`GRU_CONVENTIONS`).
    reset_after : override the convention's reset placement (None: the convention's own).
    equations : write the four equations beside the diagram.
    ax : draw into this Axes instead of a new Figure.

    Returns the Figure. Example: ``lib.draw_gru_cell(convention="chung")``.
    """
    if not isinstance(convention, str):
        raise TypeError(f"convention must be a str, got {type(convention).__name__}")
    if convention not in GRU_CONVENTIONS:
        raise ValueError(f"convention must be one of {list(GRU_CONVENTIONS)}, got {convention!r}")
    conv = GRU_CONVENTIONS[convention]
    if reset_after is None:
        reset_after = conv["reset_after"]
    reset_after = _check_bool(reset_after, "reset_after")
    equations = _check_bool(equations, "equations")
    sizes = None
    if layer is not None:
        sizes = _layer_sizes(layer, (GRU, GRUCell), "draw_gru_cell", single=False)
        if convention != "pytorch" or not reset_after:
            raise ValueError("lib's GRU computes the PyTorch convention (reset after the matrix product, "
                             "h_t = (1 - z_t) * n_t + z_t * h_{t-1}); draw a lib layer with "
                             "convention='pytorch', reset_after=True, or pass no layer")
    keeps, cand = conv["keeps"], conv["cand"]
    cand_tex = r"\mathbf{n}_t" if cand == "n" else r"\tilde{\mathbf{h}}_t"

    y_top, y_gate, y_bus, y_xbus, y_mix = 7.8, 2.6, 1.0, 0.35, 5.3
    gw, gh, r, r1 = 1.45, 1.2, 0.28, 0.38
    xz, xr, x_reset, xc = 2.8, 4.9, 7.3, 10.3
    x_keep, x_out = xz, 11.6
    fig, ax, standalone = _canvas(ax, (-2.1, 24.0 if equations else 17.0), (-2.5, 10.0))
    ax.add_patch(FancyBboxPatch((0, 0), 12.4, 8.6, boxstyle="round,pad=0,rounding_size=0.5", facecolor=_CELL,
                                edgecolor="#9A9A9A", linewidth=1.2, zorder=0))

    # the state path along the top: h_{t-1} → × → + → h_t
    _line(ax, (-1.3, y_top), (x_keep - r, y_top), lw=2.6)
    _op(ax, x_keep, y_top, r"$\times$")
    _line(ax, (x_keep + r, y_top), (xc - r, y_top), lw=2.6)
    _op(ax, xc, y_top, "$+$")
    _line(ax, (xc + r, y_top), (13.8, y_top), lw=2.6)
    _dot(ax, x_out, y_top, 0.09)
    _line(ax, (x_out, y_top), (x_out, 9.6))
    _label(ax, -1.4, y_top, r"$\mathbf{h}_{t-1}$", "hidden", ha="right", fontsize=13)
    _label(ax, 13.9, y_top, r"$\mathbf{h}_t$", "hidden", ha="left", fontsize=13)
    _label(ax, x_out, 9.7, r"$\mathbf{h}_t$", "hidden", va="bottom", fontsize=13)

    # h_{t-1} down to the gates, joined by x_t; x_t also runs on to the candidate
    x_drop, x_in = 0.6, 1.5
    _dot(ax, x_drop, y_top, 0.09)
    _line(ax, (x_drop, y_top), (x_drop, y_bus), (xr, y_bus), head=False)
    _line(ax, (x_in, -1.3), (x_in, y_bus), head=False)
    _dot(ax, x_in, y_bus)
    _dot(ax, x_in, y_xbus)
    _line(ax, (x_in, y_xbus), (xc, y_xbus), (xc, y_gate - gh / 2))
    _label(ax, xc + 0.14, (y_xbus + y_gate - gh / 2) / 2 + 0.05, r"$W_{in}$", ha="left", fontsize=10.5,
           color=_MUTED)
    _label(ax, x_in, -1.45, r"$\mathbf{x}_t$", "input", va="top", fontsize=13)
    _dot(ax, xz, y_bus)
    for x in (xz, xr):
        _line(ax, (x, y_bus), (x, y_gate - gh / 2))
    _box(ax, xz, y_gate, gw, gh, "gate", r"$\sigma$", "update")
    _box(ax, xr, y_gate, gw, gh, "gate", r"$\sigma$", "reset")
    cw = gw + 0.1
    _box(ax, xc, y_gate, cw, gh, "layer", r"$\tanh$", "candidate")

    # the reset gate and the past, into the candidate. The past is h_{t-1} itself: its wire leaves the line
    # that carries h_{t-1} down to the gates (left of the z_t product on the state path, which would feed
    # z_t ⊙ h_{t-1} instead) and passes over the z_t wire on its way.
    y_tap = 7.2
    _line(ax, (xr + gw / 2, y_gate), (x_reset - r, y_gate))
    _label(ax, (xr + gw / 2 + x_reset - r) / 2, y_gate + 0.3, r"$\mathbf{r}_t$", "gate")
    _op(ax, x_reset, y_gate, r"$\times$")
    _dot(ax, x_drop, y_tap)
    _line(ax, (x_reset + r, y_gate), (xc - cw / 2, y_gate))
    if reset_after:
        y_lin, lh = 4.0, 0.72
        _line(ax, (x_drop, y_tap), (x_reset, y_tap), (x_reset, y_lin + lh / 2))
        _box(ax, x_reset, y_lin, 3.0, lh, "layer", r"$W_{hn}\,\mathbf{h}_{t-1} + \mathbf{b}_{hn}$", fontsize=9.5)
        _line(ax, (x_reset, y_lin - lh / 2), (x_reset, y_gate + r))
    else:
        _line(ax, (x_drop, y_tap), (x_reset, y_tap), (x_reset, y_gate + r))
        _label(ax, (x_reset + r + xc - cw / 2) / 2, y_gate + 0.3, r"$W_{hn}$", fontsize=10.5, color=_MUTED)

    # the interpolation: one branch of z scales h_{t-1}, the other the candidate; "1 −" on one of them
    _op(ax, xc, y_mix, r"$\times$")
    _line(ax, (xc, y_gate + gh / 2), (xc, y_mix - r))
    _label(ax, xc + 0.14, (y_gate + gh / 2 + y_mix - r) / 2, f"${cand_tex}$", "layer", ha="left")
    _line(ax, (xc, y_mix + r), (xc, y_top - r))
    _line(ax, (xz, y_gate + gh / 2), (xz, y_mix), head=False)
    _dot(ax, xz, y_mix)
    _label(ax, xz - 0.14, (y_gate + gh / 2 + y_mix) / 2, r"$\mathbf{z}_t$", "gate", ha="right")
    x_label = (x_reset + xc - r) / 2 + 0.3
    if keeps == "z":  # z_t ⊙ h_{t-1} + (1 − z_t) ⊙ candidate
        _line(ax, (xz, y_mix), (xz, y_top - r))
        _line(ax, (xz, y_mix), (xr - r1, y_mix))
        _op(ax, xr, y_mix, r"$1-$", r=r1, fontsize=10)
        _line(ax, (xr + r1, y_mix), (xc - r, y_mix))
        _bridge(ax, x_reset, y_mix)
        _bridge(ax, xz, y_tap)
        _label(ax, x_label, y_mix + 0.3, r"$1-\mathbf{z}_t$", "gate")
    else:  # (1 − z_t) ⊙ h_{t-1} + z_t ⊙ candidate
        y_one = (y_mix + y_top) / 2
        _line(ax, (xz, y_mix), (xz, y_one - r1))
        _op(ax, xz, y_one, r"$1-$", r=r1, fontsize=10)
        _line(ax, (xz, y_one + r1), (xz, y_top - r))
        _label(ax, xz + r1 + 0.12, y_one, r"$1-\mathbf{z}_t$", "gate", ha="left")
        _line(ax, (xz, y_mix), (xc - r, y_mix))
        _bridge(ax, x_reset, y_mix)
        _bridge(ax, xz, y_tap)
        _label(ax, x_label, y_mix + 0.3, r"$\mathbf{z}_t$", "gate")

    title = conv["title"] if reset_after == conv["reset_after"] else (
        f"{conv['who']} update gate, reset gate {'after' if reset_after else 'before'} the matrix product")
    _label(ax, -1.9, 10.8, f"GRU cell — {title}", ha="left", va="bottom", fontsize=11, weight="bold")
    keep_text = (r"$\mathbf{z}_t \to 1$ keeps $\mathbf{h}_{t-1}$" if keeps == "z"
                 else r"$\mathbf{z}_t \to 1$ takes the candidate")
    reset_text = "reset gate after the matrix product" if reset_after else "reset gate before the matrix product"
    if equations:
        ex, ey, dy = 14.6, 7.6, 1.0
        for k, (eq, color) in enumerate(_gru_equations(keeps, reset_after, cand)):
            _label(ax, ex, ey - k * dy, eq, ha="left", fontsize=10.5, color=color)
        _label(ax, ex, ey - 4 * dy + 0.1, f"{reset_text};\n{keep_text};\n" + r"$\odot$: elementwise product",
               ha="left", va="top", fontsize=9.5, color=_MUTED, linespacing=1.5)
    else:
        _label(ax, 14.6, 4.0, f"{reset_text};\n{keep_text}", ha="left", va="top", fontsize=9.5, color=_MUTED,
               linespacing=1.5)
    if sizes is not None:
        H, D, sfx = sizes["H"], sizes["D"], sizes["suffix"]
        _label(ax, -1.3, -2.3,
               rf"{sizes['name']}:  $\mathbf{{x}}_t \in \mathbb{{R}}^{{{D}}}$,  "
               rf"$\mathbf{{h}}_t \in \mathbb{{R}}^{{{H}}}$;  weight_ih{sfx} {_shape_text(sizes['W_ih'])} and "
               rf"weight_hh{sfx} {_shape_text(sizes['W_hh'])} stack the rows of $r, z, n$",
               ha="left", va="top", fontsize=9.5, color=_MUTED)
    _finish(ax, standalone, [("gate", "learned layer: σ gate"), ("layer", "learned layer: tanh / linear"),
                 ("op", "elementwise operation"), ("hidden", "state")])
    return fig


# --------------------------------------------------------------------------------------------
# 5. encoder–decoder with attention
# --------------------------------------------------------------------------------------------
def draw_seq2seq(source: Sequence[str] | int = 4, target: Sequence[str] | int = 3, *, attention: bool = True,
                 weights=None, step: int | None = None, model=None, ax: Axes | None = None) -> Figure:
    """An encoder–decoder, as :class:`lib.Seq2Seq` computes it, with or without additive attention.

    The encoder (a GRU) reads the source x_1 … x_S into states h_1 … h_S; the decoder starts
    from s_0 = h_S and at step t reads the previous target token y_{t−1} (y_0 = the start
    mark) and a context c_t, and predicts ŷ_t from [s_t; c_t]. Without attention c_t = h_S at
    every step — the fixed-size bottleneck. With attention (Bahdanau et al.) c_t = Σ_j α_tj h_j,
    where α_t = softmax over j of the scores of s_{t−1} against every h_j; the figure draws the
    arrows into c_t for one decoder step, their widths proportional to α_tj when ``weights``
    are given.

    Parameters
    ----------
    source, target : token labels, or their numbers S and T (labels x_j and y_t).
    attention : draw additive attention (else the bottleneck).
    weights : array (T, S) or (S,), optional — attention weights, e.g. one sequence's slice of
        ``lib.Seq2Seq.greedy_decode``'s second result; rows must be non-negative and sum to 1.
    step : the decoder step (1 … T) whose attention is drawn (default: the last).
    model : lib.Seq2Seq, optional — takes ``attention`` from the model.
    ax : draw into this Axes instead of a new Figure.

    Returns the Figure. Example: ``lib.draw_seq2seq(["3", "7", "2"], ["2", "7", "3"])``.
    """
    def tokens(value, name, sym, hat=False):
        if isinstance(value, bool):
            raise TypeError(f"{name} must be a number of steps or a sequence of labels, got {value!r}")
        if isinstance(value, (int, np.integer)):
            if not 1 <= value <= 8:
                raise ValueError(f"{name} must have 1 to 8 steps, got {value}")
            base = rf"\hat{{\mathbf{{{sym}}}}}" if hat else rf"\mathbf{{{sym}}}"
            return [rf"${base}_{{{k + 1}}}$" for k in range(value)]
        if isinstance(value, str) or not isinstance(value, Sequence):
            raise TypeError(f"{name} must be a number of steps or a sequence of labels, got {value!r}")
        if not 1 <= len(value) <= 8:
            raise ValueError(f"{name} must have 1 to 8 steps, got {len(value)}")
        return [str(v) for v in value]

    src, tgt = tokens(source, "source", "x"), tokens(target, "target", "y", hat=True)
    fed = tokens(target, "target", "y")  # the decoder reads the true previous tokens (teacher forcing)
    S, T = len(src), len(tgt)
    if model is not None:
        if not isinstance(model, Seq2Seq):
            raise TypeError(f"model must be a lib.Seq2Seq, got {type(model).__name__}")
        attention = model.use_attention
    attention = _check_bool(attention, "attention")
    if step is None:
        step = T
    if isinstance(step, bool) or not isinstance(step, (int, np.integer)):
        raise TypeError(f"step must be an int, got {type(step).__name__}")
    if not 1 <= step <= T:
        raise ValueError(f"step must be between 1 and {T}, got {step}")
    alpha = None
    if weights is not None:
        if not attention:
            raise ValueError("weights are attention weights; they need attention=True")
        w = np.asarray(weights, dtype=float)
        if w.ndim == 2:
            if w.shape != (T, S):
                raise ValueError(f"weights must have shape (T, S) = ({T}, {S}), got {w.shape}")
            w = w[step - 1]
        elif w.shape != (S,):
            raise ValueError(f"weights must have shape (T, S) = ({T}, {S}) or (S,) = ({S},), got {w.shape}")
        if not np.all(np.isfinite(w)) or (w < 0).any() or abs(w.sum() - 1) > 1e-6:
            raise ValueError("attention weights must be finite, non-negative and sum to 1")
        alpha = w

    pitch, bw, bh, sw, sh = 2.0, 1.1, 0.9, 0.95, 0.8
    y_in, y_h, y_out = 0.0, 1.9, 3.9
    xe = [k * pitch for k in range(S)]
    xd0 = xe[-1] + pitch + 1.6
    xd = [xd0 + k * pitch for k in range(T)]
    fig, ax, standalone = _canvas(ax, (-1.6, xd[-1] + 1.0), (-1.6, y_out + 3.0))

    for k, x in enumerate(xe):
        _box(ax, x, y_in, sw, sh, "input", src[k], fontsize=11.5)
        _box(ax, x, y_h, bw, bh, "hidden", rf"$\mathbf{{h}}_{{{k + 1}}}$", fontsize=12)
        _line(ax, (x, y_in + sh / 2), (x, y_h - bh / 2))
        if k + 1 < S:
            _line(ax, (x + bw / 2, y_h), (x + pitch - bw / 2, y_h))
    _line(ax, (xe[0] - bw / 2 - 0.6, y_h), (xe[0] - bw / 2, y_h))
    _label(ax, xe[0] - bw / 2 - 0.7, y_h, r"$\mathbf{0}$", ha="right", fontsize=11, color=_MUTED)
    _line(ax, (xe[-1] + bw / 2, y_h), (xd[0] - bw / 2, y_h))  # s_0 = h_S
    _label(ax, (xe[-1] + xd[0]) / 2, y_h - 0.25, r"$\mathbf{s}_0 = \mathbf{h}_S$", fontsize=10, va="top",
           color=_MUTED)
    prev = [r"$\langle\mathrm{bos}\rangle$"] + fed[:-1]
    for k, x in enumerate(xd):
        _box(ax, x, y_in, sw, sh, "input", prev[k], fontsize=10 if k == 0 else 11.5)
        _box(ax, x, y_h, bw, bh, "hidden", rf"$\mathbf{{s}}_{{{k + 1}}}$", fontsize=12)
        _box(ax, x, y_out, sw, sh, "output", tgt[k], fontsize=11.5)
        _line(ax, (x, y_in + sh / 2), (x, y_h - bh / 2))
        _line(ax, (x, y_h + bh / 2), (x, y_out - sh / 2))
        if k + 1 < T:
            _line(ax, (x + bw / 2, y_h), (x + pitch - bw / 2, y_h))
    _label(ax, (xe[0] + xe[-1]) / 2, y_in - sh / 2 - 0.3, "encoder (GRU) reads the source", fontsize=10,
           color=_MUTED, style="italic", va="top")
    _label(ax, (xd[0] + xd[-1]) / 2, y_in - sh / 2 - 0.3, "decoder (GRU cell) reads the previous token",
           fontsize=10, color=_MUTED, style="italic", va="top")

    # the context of one decoder step, between that step's output and the one before
    xt = xd[step - 1]
    xc, yc, rc = xt - pitch / 2, y_out, 0.36
    _op(ax, xc, yc, rf"$\mathbf{{c}}_{{{step}}}$", r=rc, fontsize=11)
    _line(ax, (xc + 0.22, yc - 0.29), (xt - bw / 2 + 0.15, y_h + bh / 2))     # c_t → s_t
    _line(ax, (xc + rc, yc), (xt - sw / 2, yc))                                  # c_t → ŷ_t (read with s_t)
    color, y_arc = PALETTE["gate"][1], y_out + 1.9

    def arc(x, rise, lw):
        """From the top of an encoder state, over the decoder, down into the context."""
        path = Path([(x, y_h + bh / 2), (x, rise), (xc, rise), (xc, yc + rc)],
                    [Path.MOVETO, Path.CURVE4, Path.CURVE4, Path.CURVE4])
        ax.add_patch(FancyArrowPatch(path=path, arrowstyle="-|>,head_length=0.45,head_width=0.18",
                                     mutation_scale=14, linewidth=lw, color=color, zorder=2))

    if attention:
        for j, x in enumerate(xe):
            a = 1.0 / S if alpha is None else float(alpha[j])
            arc(x, y_arc + 0.12 * (S - 1 - j), 0.7 + 4.0 * a)
            if alpha is not None:
                _label(ax, x + 0.12, y_h + bh / 2 + 0.3, rf"$\alpha_{{{step}{j + 1}}} = {a:.2f}$", fontsize=9,
                       color=color, ha="left")
        if step > 1:
            _line(ax, (xd[step - 2] + bw / 2, y_h + 0.25), (xc - 0.25, yc - 0.27), style="--", color=_MUTED,
                  head_scale=0.8)
        text = (rf"$\mathbf{{c}}_{{{step}}} = \sum_j \alpha_{{{step}j}}\,\mathbf{{h}}_j$,   "
                rf"$\alpha_{{{step}j}} \propto \exp\,\mathbf{{v}}^\top\tanh(W_q\mathbf{{s}}_{{{step - 1}}} + "
                r"W_k\mathbf{h}_j)$" + ("   (dashed: the query)" if step > 1 else "   (query: $\\mathbf{s}_0$)"))
    else:
        arc(xe[-1], y_arc, 2.2)
        text = (rf"no attention: $\mathbf{{c}}_t = \mathbf{{h}}_S$ at every step (drawn for $t = {step}$), "
                "the whole source in one vector")
    _label(ax, (xe[0] + xd[-1]) / 2, y_out + 2.5, text, fontsize=10.5, va="bottom")
    _finish(ax, standalone, [("input", "tokens read"), ("hidden", "states"), ("output", "predicted tokens"),
                 ("op", "context")])
    return fig
