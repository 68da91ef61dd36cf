"""lib.viz.interactive: one object, a live widget in Jupyter and scrubbable frames in HTML."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

import lib


def plot_line(fig, slope, offset):
    ax = fig.subplots()
    x = np.linspace(-1, 1, 11)
    ax.plot(x, slope * x + offset)
    ax.set_ylim(-3, 3)


def test_bundle_has_widget_and_html_fallback():
    fig = lib.interactive(plot_line, slope=[-1.0, 0.0, 1.0], offset=[0.0, 1.0], alt="a line")
    bundle = fig._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert "nnbook-interactive" in bundle["text/html"]
    assert bundle["text/plain"].startswith("<interactive figure")


def test_html_holds_every_frame_and_distinct_pictures():
    fig = lib.interactive(plot_line, slope=[-1.0, 0.0, 1.0], offset=[0.0, 1.0])
    html = fig.to_html()
    data = json.loads(re.search(r'class="nnbook-data">(.*?)</script>', html, re.S).group(1))
    assert set(data["frames"]) == {f"{i},{j}" for i in range(3) for j in range(2)}
    assert len(set(data["frames"].values())) == 6, "each slider setting must draw a different picture"
    assert data["labels"] == [["-1", "0", "1"], ["0", "1"]]
    assert html.count('type="range"') == 2
    # The initial picture is the middle value of each slider.
    assert f'src="{data["frames"]["1,1"]}"' in html
    assert "http://" not in html and "https://" not in html


def test_initial_values_and_labels():
    fig = lib.interactive(plot_line, slope=[-1.0, 0.0, 1.0], offset=[0.0, 1.0],
                          initial={"slope": 1.0}, labels={"slope": "slope a"})
    assert fig.initial == {"slope": 1.0, "offset": 1.0}
    assert "slope a" in fig.to_html()


def test_static_sliders_announce_their_value():
    """Assistive technology reads the value a slider shows (aria-valuetext), not its position; the script
    keeps it in step as the slider moves (checked in a browser by tests/test_browser.py)."""
    fig = lib.interactive(plot_line, slope=[-1.0, 0.0, 1.0], offset=[0.0, 1.0], initial={"slope": 1.0})
    html = fig.to_html()
    assert re.findall(r'aria-valuetext="([^"]*)"', html) == ["1", "1"]
    assert 'setAttribute("aria-valuetext"' in html


def test_html_cannot_be_closed_by_a_label():
    fig = lib.interactive(lambda fig, name: fig.subplots().set_title(name), name=["</script>", "b"])
    assert fig.to_html().count("</script>") == 2  # the data block and the code block, nothing else


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({}, ValueError, "at least one slider"),
        ({"slope": [1.0]}, ValueError, "at least 2 values"),
        ({"slope": [1.0, 2.0], "initial": {"slope": 3.0}}, ValueError, "not one of its values"),
        ({"slope": [1.0, 2.0], "initial": {"nope": 1.0}}, ValueError, "do not exist"),
        ({"slope": list(range(20)), "offset": list(range(20))}, ValueError, "400 frames"),
    ],
)
def test_bad_input(kwargs, error, match):
    with pytest.raises(error, match=match):
        lib.interactive(plot_line, **kwargs)


def test_plot_fn_must_be_callable():
    with pytest.raises(TypeError, match="callable"):
        lib.interactive("not a function", slope=[1.0, 2.0])


def _counting(calls):
    def plot(fig, slope, offset):
        calls.append((slope, offset))
        plot_line(fig, slope, offset)
    return plot


def test_a_live_session_draws_only_the_first_frame_for_its_fallback(monkeypatch):
    from lib import viz

    calls = []
    monkeypatch.setattr(viz, "_person_in_a_jupyter_session", lambda: True)
    html = lib.interactive(_counting(calls), slope=[-1.0, 0.0, 1.0], offset=[0.0, 1.0], alt="a line").to_html()
    assert calls == [(0.0, 1.0)], "a person's session draws one frame for the fallback, not all six"
    assert html.count("data:image/png") == 1 and "<script" not in html and 'alt="a line"' in html
    assert "slope = 0, offset = 1" in html and "run its cell" in html
    # forced: every frame even there
    calls.clear()
    lib.interactive(_counting(calls), slope=[-1.0, 0.0, 1.0], offset=[0.0, 1.0], fallback="all").to_html()
    assert len(calls) == 6


def test_the_in_browser_copy_counts_as_a_live_session(monkeypatch):
    from lib import viz

    calls = []
    monkeypatch.setattr(viz, "_person_in_a_jupyter_session", lambda: False)
    monkeypatch.setattr(viz.sys, "platform", "emscripten")
    lib.interactive(_counting(calls), slope=[-1.0, 0.0, 1.0], offset=[0.0, 1.0]).to_html()
    assert len(calls) == 1
    calls.clear()
    monkeypatch.setattr(viz.sys, "platform", "linux")
    lib.interactive(_counting(calls), slope=[-1.0, 0.0, 1.0], offset=[0.0, 1.0]).to_html()
    assert len(calls) == 6, "headless (book build, nbval): every frame"


def test_fallback_must_be_all_first_or_none():
    with pytest.raises(ValueError, match="fallback expected None"):
        lib.interactive(plot_line, slope=[0.0, 1.0], offset=[0.0, 1.0], fallback="some")


def test_the_live_figure_is_an_image_with_the_alt_text(monkeypatch):
    import IPython.display

    shown = []
    monkeypatch.setattr(IPython.display, "display", lambda obj, **kw: shown.append(obj))
    fig = lib.interactive(plot_line, slope=[-1.0, 0.0, 1.0], offset=[0.0, 1.0], alt='a "line"')
    controls = fig.widget().children[0].children
    assert [c.description for c in controls] == ["slope", "offset"]
    assert len(shown) == 1, "the live view draws its starting frame once"
    page = shown[0].data
    assert page.startswith('<img class="nnbook-frame" src="data:image/png;base64,')
    assert 'alt="a &quot;line&quot;"' in page
    controls[0].value = 1.0  # moving a slider draws the new frame
    assert len(shown) == 2 and shown[1].data != page


def test_the_live_sliders_are_named_for_assistive_technology():
    """Each live slider carries the class the naming script looks for, and the widget runs that script
    (ipywidgets gives a slider handle no accessible name; tests/test_jupyterlab.py checks the result with
    axe-core in JupyterLab)."""
    fig = lib.interactive(plot_line, slope=[-1.0, 0.0, 1.0], offset=[0.0, 1.0])
    box = fig.widget()
    controls = box.children[0].children
    assert all("nnbook-slider" in c._dom_classes for c in controls)
    scripts = [o for child in box.children[1:] for o in getattr(child, "outputs", ())
               if "application/javascript" in o.get("data", {})]
    assert len(scripts) == 1
    code = scripts[0]["data"]["application/javascript"]
    assert ".nnbook-slider" in code and "aria-label" in code and "aria-valuetext" in code
