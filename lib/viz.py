"""Interactive figures that stay alive everywhere.

:func:`interactive` turns a plotting function and a few sliders into one
display object with two faces:

* in Jupyter it is a live ``ipywidgets`` control: moving a slider calls the
  plotting function again in the kernel;
* in the static HTML book (and any viewer that only renders HTML) it is the
  same figure with the same sliders, scrubbing through frames that were drawn
  once, when the notebook was executed — plain HTML and a few lines of inline
  JavaScript, no kernel, no CDN.

The object's MIME bundle carries both the widget view and a ``text/html``
fallback; Jupyter front ends pick the widget, and the book's ``_config.yml``
tells myst-nb to pick ``text/html`` for the HTML builder.

Drawing every frame costs seconds, and a person in a live session sees the widget, not the
fallback: there (JupyterLab, Notebook, VS Code, Colab, the in-browser JupyterLite copy) the
fallback is only the figure at its starting values, with a line saying how to move it — what a
notebook saved from that session shows when reopened without a kernel. Every frame is drawn where
no person watches: the book build, ``nbconvert --execute``, nbval (``fallback="all"`` forces it).
"""

from __future__ import annotations

import base64
import html
import io
import itertools
import json
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from .training import _interactive as _person_in_a_jupyter_session

__all__ = ["Interactive", "interactive"]

_counter = itertools.count()

# ipywidgets' sliders (noUiSlider) give their handle no accessible name, and announce the position (2), not the
# value shown (θ = −30°). This script, displayed once beside each live figure, names every handle of a book
# slider after its label and sets its aria-valuetext from the readout, and keeps doing so as sliders appear
# and move (one MutationObserver per page). Front ends that do not run JavaScript outputs simply skip it.
_NAME_SLIDERS_JS = """(function () {
  if (window.nnbookNameSliders) { window.nnbookNameSliders(); return; }
  var pending = false;
  function name() {
    pending = false;
    document.querySelectorAll('.nnbook-slider').forEach(function (slider) {
      var label = slider.querySelector('.widget-label'), readout = slider.querySelector('.widget-readout');
      var text = label ? label.textContent.trim() : '', value = readout ? readout.textContent.trim() : '';
      slider.querySelectorAll('.noUi-handle').forEach(function (handle) {
        if (text && handle.getAttribute('aria-label') !== text) handle.setAttribute('aria-label', text);
        if (value && handle.getAttribute('aria-valuetext') !== value) handle.setAttribute('aria-valuetext', value);
      });
    });
  }
  function later() { if (!pending) { pending = true; requestAnimationFrame(name); } }
  window.nnbookNameSliders = name;
  new MutationObserver(later).observe(document.body, {subtree: true, childList: true, characterData: true,
                                                      attributes: true, attributeFilter: ['aria-valuenow']});
  name();
})();"""


def _format(value: Any) -> str:
    """A short label for a slider value."""
    if isinstance(value, (float, np.floating)):
        return f"{float(value):.4g}"
    return str(value)


class Interactive:
    """A figure driven by sliders; see :func:`interactive`.

    Attributes
    ----------
    sliders : dict[str, list] — the values each slider steps through
    initial : dict[str, Any] — the value each slider starts at
    """

    def __init__(
        self,
        plot_fn: Callable[..., None],
        sliders: Mapping[str, Sequence[Any]],
        *,
        initial: Mapping[str, Any] | None = None,
        labels: Mapping[str, str] | None = None,
        alt: str = "",
        figsize: tuple[float, float] = (6.0, 4.0),
        dpi: int = 80,
        max_frames: int = 200,
        fallback: str | None = None,
    ) -> None:
        if not callable(plot_fn):
            raise TypeError(
                f"interactive expected a callable plot_fn(fig, **values), got {type(plot_fn).__name__}"
            )
        if not sliders:
            raise ValueError("interactive expected at least one slider, e.g. w=np.linspace(-1, 1, 9)")
        self.sliders: dict[str, list[Any]] = {}
        for name, values in sliders.items():
            values = list(np.asarray(values).tolist()) if isinstance(values, np.ndarray) else list(values)
            if len(values) < 2:
                raise ValueError(
                    f"slider {name!r} expected a sequence of at least 2 values, got {len(values)}"
                )
            self.sliders[name] = values
        n_frames = int(np.prod([len(v) for v in self.sliders.values()]))
        if n_frames > max_frames:
            raise ValueError(
                f"interactive would draw {n_frames} frames for the static book (limit {max_frames}); "
                "use fewer slider values or raise max_frames"
            )
        self.initial: dict[str, Any] = {}
        for name, values in self.sliders.items():
            value = (initial or {}).get(name, values[len(values) // 2])
            if value not in values:
                raise ValueError(
                    f"initial value {value!r} of slider {name!r} is not one of its values {values}"
                )
            self.initial[name] = value
        unknown = set(initial or {}) - set(self.sliders)
        if unknown:
            raise ValueError(f"initial names sliders that do not exist: {sorted(unknown)}")
        if fallback not in (None, "all", "first"):
            raise ValueError(f"fallback expected None (decide), 'all' or 'first', got {fallback!r}")
        self.fallback = fallback
        self.plot_fn = plot_fn
        self.labels = {name: (labels or {}).get(name, name) for name in self.sliders}
        self.alt = alt
        self.figsize = figsize
        self.dpi = dpi
        self._html: str | None = None
        self._widget = None

    # -- drawing -------------------------------------------------------------
    def figure(self, **values: Any) -> Figure:
        """Draw one frame into a new figure (not shown, not registered with pyplot)."""
        fig = Figure(figsize=self.figsize, dpi=self.dpi)
        self.plot_fn(fig, **values)
        return fig

    def _png(self, **values: Any) -> str:
        fig = self.figure(**values)
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=self.dpi, facecolor="white", bbox_inches="tight")
        return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")

    def frames(self) -> dict[str, str]:
        """Every frame as a PNG data URI, keyed by slider indices joined with commas."""
        names = list(self.sliders)
        out = {}
        for idx in itertools.product(*(range(len(self.sliders[n])) for n in names)):
            values = {n: self.sliders[n][i] for n, i in zip(names, idx, strict=True)}
            out[",".join(map(str, idx))] = self._png(**values)
        return out

    def _img(self, src: str) -> str:
        """One frame as an ``<img>`` with the figure's alt text (every view shows frames this way)."""
        alt = html.escape(self.alt or "Interactive figure; move the sliders to change it")
        return f'<img class="nnbook-frame" src="{src}" alt="{alt}">'

    # -- static HTML -------------------------------------------------------------
    def _all_frames(self) -> bool:
        """Whether the fallback carries every frame: yes unless a person is watching a live session."""
        if self.fallback is not None:
            return self.fallback == "all"
        return not (_person_in_a_jupyter_session() or sys.platform == "emscripten")

    def to_html(self) -> str:
        """The self-contained HTML fallback: sliders that scrub precomputed frames (or, in a person's
        live session, the figure at its starting values; see the module's docstring)."""
        if self._html is not None:
            return self._html
        if not self._all_frames():
            settings = ", ".join(f"{self.labels[n]} = {_format(self.initial[n])}" for n in self.sliders)
            self._html = (
                '<div class="nnbook-interactive nnbook-interactive-first">'
                f"{self._img(self._png(**self.initial))}"
                f"<p>{html.escape(settings)}. This is a still copy of an interactive figure: run its cell "
                "in Jupyter to move the sliders.</p></div>"
            )
            return self._html
        uid = f"nnbook-interactive-{next(_counter)}"
        names = list(self.sliders)
        start = [self.sliders[n].index(self.initial[n]) for n in names]
        frames = self.frames()
        rows = []
        for k, name in enumerate(names):
            values = self.sliders[name]
            rows.append(
                '<label class="nnbook-slider">'
                f'<span class="nnbook-slider-name">{html.escape(self.labels[name])}</span> '
                f'<input type="range" min="0" max="{len(values) - 1}" step="1" value="{start[k]}" '
                f'data-index="{k}" aria-label="{html.escape(self.labels[name])}" '
                f'aria-valuetext="{html.escape(_format(values[start[k]]))}"> '
                f'<output>{html.escape(_format(values[start[k]]))}</output></label>'
            )
        value_labels = [[_format(v) for v in self.sliders[n]] for n in names]
        first = frames[",".join(map(str, start))]
        # The JSON goes inside <script>: escape "</" so no value can close the tag.
        data = json.dumps({"frames": frames, "labels": value_labels}).replace("</", "<\\/")
        self._html = (
            f'<div class="nnbook-interactive" id="{uid}">'
            f'<div class="nnbook-controls">{"".join(rows)}</div>'
            f"{self._img(first)}"
            f'<script type="application/json" class="nnbook-data">{data}</script>'
            "<script>(function(){"
            f'var root=document.getElementById("{uid}");'
            'var data=JSON.parse(root.querySelector(".nnbook-data").textContent);'
            'var inputs=root.querySelectorAll("input[type=range]");'
            'var img=root.querySelector("img.nnbook-frame");'
            "function update(){var key=[];inputs.forEach(function(el,k){"
            "var i=parseInt(el.value,10);key.push(i);"
            'el.parentNode.querySelector("output").textContent=data.labels[k][i];'
            # assistive technology announces the value (θ = -30°), not the slider's position (2)
            'el.setAttribute("aria-valuetext",data.labels[k][i]);});'
            'img.src=data.frames[key.join(",")];}'
            'inputs.forEach(function(el){el.addEventListener("input",update);});'
            "})();</script></div>"
        )
        return self._html

    # -- live widget ---------------------------------------------------------------
    def widget(self):
        """The live ipywidgets control (built on first use)."""
        if self._widget is None:
            import ipywidgets as widgets
            from IPython.display import HTML, Javascript, display

            controls = {
                name: widgets.SelectionSlider(
                    options=[(_format(v), v) for v in values],
                    value=self.initial[name],
                    description=self.labels[name],
                    style={"description_width": "initial"},  # long labels shown whole, not cut off
                    continuous_update=True,
                )
                for name, values in self.sliders.items()
            }
            for control in controls.values():
                control.add_class("nnbook-slider")

            def draw(**values: Any) -> None:  # an <img> with the figure's alt text (a Figure's PNG output has none)
                display(HTML(self._img(self._png(**values))))

            output = widgets.interactive_output(draw, controls)
            names = widgets.Output(layout={"display": "none"})  # runs _NAME_SLIDERS_JS; shows nothing
            names.append_display_data(Javascript(_NAME_SLIDERS_JS))
            self._widget = widgets.VBox([widgets.HBox(list(controls.values())), output, names])
        return self._widget

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict[str, Any]:
        bundle = dict(self.widget()._repr_mimebundle_(include=include, exclude=exclude) or {})
        bundle["text/html"] = self.to_html()
        bundle["text/plain"] = f"<interactive figure: {', '.join(self.sliders)}>"
        return bundle

    def __repr__(self) -> str:
        return f"Interactive(sliders={list(self.sliders)})"


def interactive(
    plot_fn: Callable[..., None],
    *,
    initial: Mapping[str, Any] | None = None,
    labels: Mapping[str, str] | None = None,
    alt: str = "",
    figsize: tuple[float, float] = (6.0, 4.0),
    dpi: int = 80,
    max_frames: int = 200,
    fallback: str | None = None,
    **sliders: Sequence[Any],
) -> Interactive:
    """An interactive figure: live sliders in Jupyter, scrubbable frames in the HTML book.

    Parameters
    ----------
    plot_fn : ``plot_fn(fig, **values)`` draws into the matplotlib ``Figure`` it is
        given, for one value of each slider. It must not call ``plt.show()``.
    **sliders : name -> the sequence of values that slider steps through,
        e.g. ``w=np.linspace(-2, 2, 9)``. The static book draws every combination,
        so keep the product of their lengths ≤ ``max_frames``.
    initial : starting value per slider (default: the middle value).
    labels : display name per slider (default: its keyword name).
    alt : alternative text for the figure (accessibility; shown if images fail).
    fallback : what the ``text/html`` fallback holds: ``"all"`` frames (scrubbable without a
        kernel), the ``"first"`` frame only, or ``None`` (default): every frame unless a person
        is watching a live session (see the module's docstring).

    Example
    -------
    >>> def plot(fig, slope):
    ...     ax = fig.subplots()
    ...     x = np.linspace(-1, 1, 50)
    ...     ax.plot(x, slope * x)
    >>> interactive(plot, slope=[-1.0, 0.0, 1.0], alt="a line")  # doctest: +SKIP
    """
    return Interactive(
        plot_fn, sliders, initial=initial, labels=labels, alt=alt,
        figsize=figsize, dpi=dpi, max_frames=max_frames, fallback=fallback,
    )
