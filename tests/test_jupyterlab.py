"""A chapter in JupyterLab, as `make lab` gives it to a reader, driven by headless Chromium.

Open the chapter, run every cell (no error): the prose shows every {eval} number, rendered by JupyterLab's
MyST extension, with the value the book shows. Move a live slider (the figure redraws; each slider handle
is announced by its label and shown value), save (the file has the outputs, the widget state and the
prose's values, and make lab's git filter turns it back into the committed chapter), then reopen it with a
fresh kernel as a reader does the next day: the prose still shows its numbers, and every interactive
figure shows its sliders and the last frame drawn, never "Error displaying widget". axe-core finds no
critical or serious violation in the figures, live or reopened.

The server is the book's own JupyterLab (.venv) with the settings `make lab` writes
(tools/lab_settings.py) and its flags (the Makefile's LAB_FLAGS), run in a temporary folder on a copy
of the chapter. Needs Debian's chromium."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from conftest import axe_violations, chromium, describe, offline_page
from test_notebooks import _makefile_filter

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import lab_settings  # noqa: E402 - the settings `make lab` writes

CHAPTER = "artificial_neurons"  # the first chapter with interactive figures
TOKEN = "nnbook-test"
VIEWPORT = {"width": 1280, "height": 900}
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
# Test-only settings on top of make lab's: no news pop-up.
TEST_SETTINGS = {
    "@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": False},
}

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is installed by make test")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """JupyterLab on a copy of the chapter: yields (base URL, the copy's path)."""
    base = tmp_path_factory.mktemp("lab")
    (base / "chapters").mkdir()
    notebook = base / "chapters" / f"{CHAPTER}.ipynb"
    shutil.copy2(ROOT / "chapters" / f"{CHAPTER}.ipynb", notebook)
    (base / "data").symlink_to(ROOT / "data")
    settings = base / "settings"
    lab_settings.write(base)  # make lab's settings, into <base>/share/jupyter/lab/settings/overrides.json
    (base / "share" / "jupyter" / "lab" / "settings").rename(settings)
    overrides = json.loads((settings / "overrides.json").read_text())
    overrides.update(TEST_SETTINGS)
    (settings / "overrides.json").write_text(json.dumps(overrides))
    port = _free_port()
    # As make lab: progress bars allowed (a person's session), and one BLAS thread as in the rest of the tests.
    env = {k: v for k, v in os.environ.items() if k != "NNBOOK_NO_PROGRESS"}
    env.update(JUPYTER_RUNTIME_DIR=str(base / "runtime"), JUPYTER_CONFIG_DIR=str(base / "config"))
    cmd = [str(Path(sys.executable).parent / "jupyter"), "lab", "--no-browser", f"--port={port}",
           "--ip=127.0.0.1", f"--ServerApp.token={TOKEN}", "--ServerApp.password=",
           f"--ServerApp.root_dir={base}", "--LabApp.expose_app_in_browser=True",
           f"--LabApp.app_settings_dir={settings}", f"--LabApp.user_settings_dir={base / 'user-settings'}",
           f"--LabApp.workspaces_dir={base / 'workspaces'}"]
    cmd += shlex.split(re.search(r"^LAB_FLAGS\s*:=\s*(.*)$", (ROOT / "Makefile").read_text(), re.M).group(1))
    if os.geteuid() == 0:
        cmd.append("--allow-root")
    log = (base / "lab.log").open("w")
    server = subprocess.Popen(cmd, cwd=base, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                urllib.request.urlopen(f"{url}/api/status?token={TOKEN}", timeout=2)
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"jupyter lab did not start:\n{(base / 'lab.log').read_text()[-3000:]}")
                time.sleep(0.5)
        yield url, notebook
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


# JavaScript run in the page (JupyterLab exposes its application as window.jupyterapp with the flag above).
OPENED = """async () => {
  const app = window.jupyterapp;
  const w = app && app.shell.currentWidget;
  if (!w || !w.context || !w.sessionContext) return null;
  await w.context.ready;
  await w.sessionContext.ready;
  if (!w.sessionContext.session || !w.sessionContext.session.kernel) return null;
  return {path: w.context.path};
}"""
RUN_ALL = """async () => {
  const app = window.jupyterapp, w = app.shell.currentWidget;
  const ok = await app.commands.execute('notebook:run-all-cells');
  const cells = w.content.model.cells, errors = [];
  let code = 0, run = 0;
  for (let i = 0; i < cells.length; i++) {
    const c = cells.get(i);
    if (c.type !== 'code') continue;
    code += 1;
    if (c.executionCount) run += 1;
    for (const o of c.outputs.toJSON()) if (o.output_type === 'error') errors.push(o.ename + ': ' + o.evalue);
  }
  return {ok, code, run, errors};
}"""
# The interactive figures: each output box that holds a slider.
FIGURE_BOXES = """Array.from(document.querySelectorAll('.jp-OutputArea .widget-vbox'))
  .filter(box => box.querySelector('.widget-slider'))"""
FIGURES = "() => " + FIGURE_BOXES + """
  .map(box => {
    const img = box.querySelector('img.nnbook-frame');
    const sliders = Array.from(box.querySelectorAll('.widget-slider'));
    return {sliders: sliders.length,
            src: img ? img.getAttribute('src') : null, alt: img ? img.getAttribute('alt') : null,
            // what a screen reader announces for each handle: its name and value, as label and readout show
            announced: sliders.map(s => [s.querySelector('.noUi-handle').getAttribute('aria-label'),
                                         s.querySelector('.noUi-handle').getAttribute('aria-valuetext')]),
            shown: sliders.map(s => [s.querySelector('.widget-label').textContent.trim(),
                                     s.querySelector('.widget-readout').textContent.trim()])};
  })"""


# The prose's {eval} numbers, per Markdown cell: the expressions in its source, what JupyterLab's MyST extension
# stored for them (expression, status, text/plain) and the cell's rendered text.
PROSE = r"""() => window.jupyterapp.shell.currentWidget.content.widgets
  .filter(cell => cell.model.type === 'markdown')
  .map(cell => ({
    expressions: [...cell.model.sharedModel.getSource().matchAll(/\{eval\}`([^`]+)`/g)].map(m => m[1]),
    stored: (cell.model.getMetadata('user_expressions') || []).map(
      e => [e.expression, e.result.status, e.result.data ? e.result.data['text/plain'] : e.result.ename]),
    text: cell.rendered && cell.node.querySelector('.myst') ? cell.node.querySelector('.myst').textContent : null,
  }))
  .filter(cell => cell.expressions.length)"""


def _book_values() -> dict[str, str]:
    """The text/plain of every {eval} expression as the book's build evaluated it (tools/execute.py)."""
    import nbformat
    from jupyter_cache import get_cache

    nb = nbformat.read(ROOT / "chapters" / f"{CHAPTER}.ipynb", as_version=4)
    record = get_cache(ROOT / ".jupyter_cache").match_cache_notebook(nb)
    return {e: r["data"]["text/plain"] for e, r in record.data["eval"].items() if r["status"] == "ok"}


def _prose_problems(cells: list[dict], book: dict[str, str]) -> tuple[list[str], int]:
    """What differs from the book in the rendered prose, and how many values are shown as the book shows them."""
    problems, shown = [], 0
    for cell in cells:
        if cell["text"] is None or len(cell["stored"]) < len(cell["expressions"]):
            problems.append(f"not evaluated and rendered yet: {cell['expressions'][:3]}")
            continue
        stored = {expression: (status, plain) for expression, status, plain in cell["stored"]}
        cursor = 0  # each value is found after the previous one: the values appear in the prose's order
        for expression in cell["expressions"]:
            status, plain = stored[expression]
            value = plain[1:-1] if status == "ok" and plain[:1] in "'\"" and plain[-1:] == plain[:1] else plain
            if status != "ok":
                problems.append(f"{{eval}}`{expression}` raised {plain}")
            elif plain != book[expression]:
                problems.append(f"{{eval}}`{expression}`: JupyterLab {plain}, the book {book[expression]}")
            elif value not in cell["text"][cursor:]:
                problems.append(f"{{eval}}`{expression}`: {value!r} not shown in order in {cell['text'][:200]!r}")
            else:
                cursor = cell["text"].index(value, cursor) + len(value)
                shown += 1
        if "{eval}" in cell["text"] or "glue." in cell["text"]:
            problems.append(f"an expression is shown as source: {cell['text'][:300]!r}")
    return problems, shown


def _check_prose(page, book: dict[str, str], timeout: float = 60.0) -> int:
    """Every {eval} in the prose shows the book's value, rendered (never the expression or an error)."""
    deadline = time.monotonic() + timeout
    while True:
        problems, shown = _prose_problems(page.evaluate(PROSE), book)
        if not problems:
            return shown
        if time.monotonic() > deadline:
            pytest.fail("the prose's {eval} numbers in JupyterLab:\n" + "\n".join(problems[:10]))
        time.sleep(0.5)


def _axe_figures(page) -> list[str]:
    """axe-core's critical and serious violations inside the interactive figures."""
    return describe(axe_violations(page, FIGURE_BOXES))


def _wait(page, script: str, what: str, timeout: float = 120.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = page.evaluate(script)
        if result:
            return result
        time.sleep(0.5)
    pytest.fail(f"JupyterLab: {what} did not happen within {timeout:.0f} s")


def _open(page, url: str):
    page.goto(f"{url}/lab/tree/chapters/{CHAPTER}.ipynb?token={TOKEN}")
    return _wait(page, OPENED, "the chapter opening with a running kernel")


def _figures(page, count: int):
    _wait(page, f"() => ({FIGURES})().filter(f => f.src).length >= {count}", f"{count} interactive figure(s) drawn")
    return page.evaluate(FIGURES)


def test_run_move_save_reopen(lab):
    url, notebook = lab
    with chromium(sync_api) as browser, offline_page(browser, url, viewport=VIEWPORT) as page:
        _open(page, url)

        run = page.evaluate(RUN_ALL)
        assert run["errors"] == [], f"cells raised: {run['errors']}"
        assert run["ok"] and run["run"] == run["code"], f"ran {run['run']} of {run['code']} code cells"
        book = _book_values()
        shown = _check_prose(page, book)
        chapter = json.loads((ROOT / "chapters" / f"{CHAPTER}.ipynb").read_text(encoding="utf-8"))
        in_prose = sum(len(re.findall(r"\{eval\}`[^`]+`", "".join(c["source"])))
                       for c in chapter["cells"] if c["cell_type"] == "markdown")
        assert shown == in_prose > 0, f"{shown} prose values shown of the chapter's {in_prose}"

        # Every interactive figure is live: sliders and an <img> frame with the static view's alt text.
        live = _figures(page, 1)
        assert live and all(f["sliders"] >= 1 and f["alt"] for f in live), live
        violations = _axe_figures(page)
        assert not violations, "accessibility of the live figures (axe-core):\n" + "\n".join(violations)
        before = live[0]["src"]
        handle = page.locator(".jp-OutputArea .widget-vbox .widget-slider .noUi-handle").first
        handle.scroll_into_view_if_needed()
        handle.focus()
        handle.press("ArrowRight")
        redrawn = f"() => ({FIGURES})()[0].src !== {json.dumps(before)}"
        _wait(page, redrawn, "the figure redrawing after a slider move", 60)
        moved = page.evaluate(FIGURES)
        assert all(f["announced"] == f["shown"] for f in moved), [(f["announced"], f["shown"]) for f in moved]

        page.evaluate("() => window.jupyterapp.commands.execute('docmanager:save')")
        _wait(page, "() => !window.jupyterapp.shell.currentWidget.context.model.dirty", "the save")
        saved = json.loads(notebook.read_text(encoding="utf-8"))
        assert WIDGET_STATE in saved["metadata"].get("widgets", {}), "the widget state was not saved (saveState)"
        values = [(e["expression"], e["result"]["data"]["text/plain"]) for c in saved["cells"]
                  if c["cell_type"] == "markdown" for e in c["metadata"].get("user_expressions", [])]
        assert len(values) == in_prose and all(book[e] == plain for e, plain in values), "prose values not saved"
        assert sum(bool(c.get("outputs")) for c in saved["cells"] if c["cell_type"] == "code") > 0
        # What git sees through make lab's filter is the committed chapter: `git status` stays clean.
        cleaned = subprocess.run(_makefile_filter(), input=notebook.read_bytes(), capture_output=True, check=True)
        assert cleaned.stdout.decode("utf-8") == (ROOT / "chapters" / f"{CHAPTER}.ipynb").read_text(encoding="utf-8")

        # Next day: the kernel is gone; the chapter is reopened and a fresh kernel starts.
        page.evaluate("() => window.jupyterapp.shell.currentWidget.sessionContext.shutdown()")
        assert not page.outside_requests and not page.page_errors, (page.outside_requests, page.page_errors)
    with chromium(sync_api) as browser, offline_page(browser, url, viewport=VIEWPORT) as page:
        _open(page, url)
        reopened = _figures(page, len(moved))
        text = page.inner_text(".jp-Notebook")
        assert "Error displaying widget" not in text and "model not found" not in text
        assert _check_prose(page, book) == shown  # the values were saved with the chapter
        assert len(reopened) == len(moved)
        assert all(f["sliders"] >= 1 and f["alt"] for f in reopened), reopened
        assert reopened[0]["src"] == moved[0]["src"], "the reopened figure is not the last frame drawn"
        assert [f["shown"] for f in reopened] == [f["shown"] for f in moved]
        violations = _axe_figures(page)
        assert not violations, "accessibility of the reopened figures (axe-core):\n" + "\n".join(violations)
        assert not page.outside_requests and not page.page_errors, (page.outside_requests, page.page_errors)
