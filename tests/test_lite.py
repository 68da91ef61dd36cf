"""The book's in-browser copy (JupyterLite + Pyodide, built by tools/lite.py into _build/html/lite).

Static checks: every shipped Pyodide file matches the shipped lock (and the lock only lists packages
whose files are there), every chapter copy has the Pyodide kernel and no outputs, every chapter page
links to its copy (or says why it cannot run there), and the copy's size stays within budget.

In a browser: the built book served on 127.0.0.1, headless Debian Chromium in which every request
leaving this machine is refused (and fails the test). For a few chapters, the test follows the
chapter page's "Run in the browser" link, runs every cell, and asserts that every code cell ran, that
no cell printed an error or a warning, that figures were drawn, that no widget is stuck loading —
and, for a chapter with ``lib.interactive``, that moving a slider redraws its figure.

Needs ``make book`` first (``make test`` does it) and Debian's ``chromium``. Set
``NNBOOK_LITE_CHAPTERS=all`` (or a comma-separated list) to run other chapters than the default three.
"""

from __future__ import annotations

import hashlib
import http.server
import importlib.util
import json
import os
import re
import time
from pathlib import Path
from urllib.parse import urljoin

import pytest
from conftest import chromium, offline_page, serve

ROOT = Path(__file__).resolve().parent.parent
HTML = ROOT / "_build" / "html"
LITE = HTML / "lite"
SCREENSHOTS = ROOT / "_build" / "screenshots"
SIZE_BUDGET_MB = 80
# Belt and braces: no host name but the loopback one resolves.
EXTRA_CHROMIUM_ARGS = ("--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",)
# The chapters run in the browser by `make test` (issue 15: at least three, within its 10-minute budget): one with
# lib.interactive (a live widget), one that reads data/ through JupyterLite's file system, and a short one.
# NNBOOK_LITE_CHAPTERS=all runs every chapter.
DEFAULT_CHAPTERS = ["artificial_neurons", "preprocessing", "backpropagation"]
# The one message a cell may print to stderr: matplotlib's, once, the first time it runs in a browser.
ALLOWED_STDERR = [re.compile(r"^Matplotlib is building the font cache; this may take a moment\.\s*$")]
RUN_TIMEOUT_S = 900

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is installed by make test")


def _ext():
    spec = importlib.util.spec_from_file_location("nnbook_lite", ROOT / "_ext" / "nnbook_lite.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


LIMITS = _ext().BROWSER_LIMITS
DIFFERENCES = _ext().BROWSER_DIFFERENCES
CHAPTERS = [name for name in re.findall(r"file:\s*chapters/(\w+)", (ROOT / "_toc.yml").read_text())
            if (ROOT / "chapters" / f"{name}.ipynb").exists()]


def _chapters_to_run() -> list:
    """The chapters to run in the browser; those listed in BROWSER_DIFFERENCES are expected to fail (strictly:
    one that passes fails the run, so that it leaves the list)."""
    wanted = os.environ.get("NNBOOK_LITE_CHAPTERS", "")
    if wanted == "all":
        names = [c for c in CHAPTERS if LIMITS.get(c, ("full",))[0] != "none"]
    else:
        names = [c.strip() for c in wanted.split(",") if c.strip()] or DEFAULT_CHAPTERS
    return [pytest.param(c, marks=pytest.mark.xfail(strict=True, reason=DIFFERENCES[c])) if c in DIFFERENCES else c
            for c in names]


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --- the built files ---------------------------------------------------------------------------------
def test_lite_was_built():
    assert (LITE / "notebooks" / "index.html").exists(), f"{LITE} is missing: build the book first (make book)"
    config = json.loads((LITE / "jupyter-lite.json").read_text())["jupyter-config-data"]
    kernel = config["litePluginSettings"]["@jupyterlite/pyodide-kernel-extension:kernel"]
    assert kernel["pyodideUrl"] == "../pyodide/pyodide.js", "Pyodide must come from the book, not a CDN"
    assert kernel["disablePyPIFallback"] is True, "piplite must never fall back to PyPI"


def test_shipped_pyodide_matches_its_lock():
    folder = LITE / "pyodide"
    lock = json.loads((folder / "pyodide-lock.json").read_text())
    assert lock["info"]["version"] == "0.27.7"
    for entry in lock["packages"].values():
        path = folder / entry["file_name"]
        assert path.exists(), f"the lock lists {entry['file_name']}, which is not shipped"
        assert _sha256(path) == entry["sha256"], f"{path.name} does not match the lock"
    # Every other file is a core file, listed with its sha256 in SOURCES.txt (from the npm package).
    sources = {}
    for line in (folder / "SOURCES.txt").read_text().splitlines():
        parts = line.split("  ")
        if len(parts) >= 3 and re.fullmatch(r"[0-9a-f]{64}", parts[0]):
            sources[parts[1]] = parts[0]
    listed = {e["file_name"] for e in lock["packages"].values()}
    for path in folder.iterdir():
        if path.name in listed or path.name in ("pyodide-lock.json", "SOURCES.txt"):
            continue
        assert path.name in sources, f"{path.name} is shipped but neither in the lock nor in SOURCES.txt"
        assert _sha256(path) == sources[path.name], f"{path.name} does not match SOURCES.txt"
    for core in ("pyodide.js", "pyodide.asm.js", "pyodide.asm.wasm", "python_stdlib.zip"):
        assert (folder / core).exists(), f"Pyodide's {core} is not shipped"
    # What the chapters import is there; what none of them needs is not.
    for needed in ("numpy", "matplotlib", "scipy", "scikit-learn", "ipywidgets", "nnbook-lib"):
        assert needed in lock["packages"], f"{needed} is not shipped"
    assert "pandas" not in lock["packages"] and "torch" not in lock["packages"]


def test_chapter_copies():
    for name in CHAPTERS:
        nb = json.loads((LITE / "files" / "chapters" / f"{name}.ipynb").read_text())
        assert nb["metadata"]["kernelspec"]["name"] == "python", f"{name}: the copy must use the Pyodide kernel"
        for cell in nb["cells"]:
            if cell["cell_type"] == "code":
                assert not cell["outputs"] and cell["execution_count"] is None, f"{name}: the copy has outputs"
    source = json.loads((ROOT / "chapters" / "backpropagation.ipynb").read_text())
    assert source["metadata"]["kernelspec"]["name"] == "python3", "the sources keep their kernel"
    for data_file in ("spoken_digits.npz", "co2_mauna_loa_weekly.csv"):
        assert (LITE / "files" / "data" / data_file).read_bytes() == (ROOT / "data" / data_file).read_bytes()


def test_size_budget():
    size = sum(p.stat().st_size for p in LITE.rglob("*") if p.is_file()) / 1e6
    assert size <= SIZE_BUDGET_MB, f"the in-browser copy is {size:.1f} MB (budget {SIZE_BUDGET_MB} MB)"


def test_every_chapter_page_has_its_line():
    for name in CHAPTERS:
        page = (HTML / "chapters" / f"{name}.html").read_text(encoding="utf-8")
        match = re.search(r'<p class="nnbook-lite[^"]*">(.*?)</p>', page, re.S)
        assert match, f"{name}.html has no 'Run in the browser' line"
        line = match.group(1)
        href = re.search(r'href="([^"]+)"', line).group(1).replace("&amp;", "&")
        assert href == f"../lite/notebooks/index.html?path=chapters/{name}.ipynb", f"{name}: link {href}"
        limit = LIMITS.get(name) or (("partial", DIFFERENCES[name]) if name in DIFFERENCES else None)
        if limit is None:
            assert "Run this chapter in your browser" in line
        elif limit[0] == "partial":
            assert "Run this chapter in your browser</a> (in part:" in line
        else:
            assert "does not run in the browser" in line and "Run this chapter" not in line


def test_browser_limits_match_imports():
    """The list of chapters that cannot run in the browser is right: it names exactly the chapters that
    import a module the in-browser copy does not ship (so a new import of, say, pandas is caught)."""
    import sys

    lock = json.loads((LITE / "pyodide" / "pyodide-lock.json").read_text())
    available = set(sys.stdlib_module_names) | {m for e in lock["packages"].values() for m in e["imports"]}
    for name in CHAPTERS:
        nb = json.loads((ROOT / "chapters" / f"{name}.ipynb").read_text())
        code = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code")
        modules = set(re.findall(r"^\s*(?:from|import)\s+(\w+)", code, re.M))
        missing = sorted(modules - available)
        if name in LIMITS:
            assert missing, f"{name} is listed as not running in the browser, but imports only shipped modules"
        else:
            assert not missing, f"{name} imports {missing}, which the in-browser copy does not ship: list it in " \
                                "_ext/nnbook_lite.py's BROWSER_LIMITS (or ship it, tools/lite.py)"


# --- in the browser ----------------------------------------------------------------------------------------
class _Handler(http.server.SimpleHTTPRequestHandler):
    missing: list[str] = []

    def log_message(self, format, *args):  # noqa: A002 - signature fixed by the base class
        if len(args) > 1 and str(args[1]) == "404":
            self.missing.append(str(args[0]))


@pytest.fixture(scope="module")
def server():
    if not LITE.is_dir():
        pytest.fail(f"{LITE} does not exist: build the book first (make book)")
    with serve(HTML, _Handler) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    with chromium(sync_api, EXTRA_CHROMIUM_ARGS) as browser:
        yield browser


def _expose_app(route, path: str) -> bool:
    """The one change to the site under test: expose the JupyterLab application object as window.jupyterapp
    (a JupyterLite page option), so the test reads the notebook's model (outputs, execution counts) rather than
    its windowed DOM, which renders only what is in view."""
    if path != "/lite/jupyter-lite.json":
        return False
    response = route.fetch()
    config = response.json()
    config["jupyter-config-data"]["exposeAppInBrowser"] = "true"
    route.fulfill(response=response, body=json.dumps(config))
    return True


@pytest.fixture
def page(browser, server):
    """A fresh browser profile (its own storage) in which every request leaving 127.0.0.1 is refused."""
    # Service workers stay on: JupyterLite's gives the kernel its file system (data/ for the chapters that read it).
    with offline_page(browser, server, service_workers=True, viewport={"width": 1280, "height": 900},
                      rewrite=_expose_app) as page:
        _Handler.missing.clear()
        yield page


KERNEL_IDLE = """() => {
    const panel = window.jupyterapp && window.jupyterapp.shell.currentWidget;
    const kernel = panel && panel.sessionContext && panel.sessionContext.session && panel.sessionContext.session.kernel;
    return !!kernel && kernel.status === 'idle' && panel.content.model.cells.length > 0;
}"""

CELLS = """() => {
    const cells = window.jupyterapp.shell.currentWidget.content.model.cells;
    const out = [];
    for (let i = 0; i < cells.length; i++) {
        const c = cells.get(i).toJSON();
        if (c.cell_type === 'code') out.push({index: i, count: c.execution_count, outputs: c.outputs});
    }
    return out;
}"""


def _open_from_book(page, server, chapter):
    """Open the chapter page of the book, follow its 'Run in the browser' link, wait for the kernel."""
    page.goto(f"{server}/chapters/{chapter}.html", wait_until="load")
    link = page.locator("p.nnbook-lite a.nnbook-lite-link")
    assert link.count() == 1, f"{chapter}: no 'Run in the browser' link on its page"
    page.goto(urljoin(page.url, link.get_attribute("href")), wait_until="load")
    page.wait_for_function(KERNEL_IDLE, timeout=180_000, polling=500)


def _run_all(page, timeout_s: float) -> float:
    """Run > Run All Cells (the command behind the menu item); wait until it is done and the kernel idle."""
    start = time.monotonic()
    page.evaluate("async () => { await window.jupyterapp.commands.execute('notebook:run-all-cells'); }")
    page.wait_for_function(KERNEL_IDLE, timeout=timeout_s * 1000, polling=1000)
    return time.monotonic() - start


def _show_cell(page, index: int):
    """Scroll the notebook to a cell (so that it is rendered) and return a locator for it."""
    page.evaluate(
        """async (i) => {
            const nb = window.jupyterapp.shell.currentWidget.content;
            nb.activeCellIndex = i;
            await nb.scrollToItem(i, 'center');
            document.querySelectorAll('[data-nnbook-test]').forEach(el => el.removeAttribute('data-nnbook-test'));
            nb.widgets[i].node.setAttribute('data-nnbook-test', 'cell');
        }""", index)
    return page.locator("[data-nnbook-test=cell]")


def _check_widgets(page, chapter, cells):
    """Every widget output renders (no 'Loading widget', no error); one live slider redraws its figure."""
    widget_cells = [c["index"] for c in cells
                    if any("application/vnd.jupyter.widget-view+json" in o.get("data", {}) for o in c["outputs"])]
    interactive = "interactive(" in (ROOT / "chapters" / f"{chapter}.ipynb").read_text()
    assert widget_cells or not interactive, f"{chapter} uses lib.interactive, but no cell shows a widget"
    for index in widget_cells:
        cell = _show_cell(page, index)
        output = cell.locator(".jp-OutputArea-output").first
        page.wait_for_function(
            """(el) => el && !el.textContent.includes('Loading widget') && el.querySelector('img')""",
            arg=output.element_handle(), timeout=60_000, polling=500)
        text = output.text_content()
        assert "Error displaying widget" not in text, f"{chapter}: cell {index}: {text[:200]}"
    if not widget_cells:
        return
    cell = _show_cell(page, widget_cells[0])
    slider = cell.get_by_role("slider").first
    assert slider.count() == 1, f"{chapter}: the live figure has no slider"
    before = cell.locator("img").first.get_attribute("src")
    changed = "([el, old]) => { const img = el.querySelector('img'); return img && img.getAttribute('src') !== old; }"
    # A reader's click on the slider's track, near its right end (near its left end if the value is already
    # there): arrow keys on its focused handle did not move it in this test, a click does.
    track = cell.locator(".noUi-target").first
    box = track.bounding_box()
    at_right = slider.get_attribute("aria-valuenow") == slider.get_attribute("aria-valuemax")
    x = box["x"] + box["width"] * (0.1 if at_right else 0.9)
    page.mouse.click(x, box["y"] + box["height"] / 2)
    page.wait_for_function(changed, arg=[cell.element_handle(), before], timeout=120_000, polling=500)
    assert cell.locator("img").first.get_attribute("src") != before


@pytest.mark.parametrize("chapter", _chapters_to_run())
def test_chapter_runs_in_the_browser(page, server, chapter):
    _open_from_book(page, server, chapter)
    seconds = _run_all(page, RUN_TIMEOUT_S)
    cells = page.evaluate(CELLS)
    print(f"{chapter}: ran {len(cells)} code cells in {seconds:.0f} s")

    errors = [f"cell {c['index']}: {o.get('ename')}: {o.get('evalue')}" for c in cells for o in c["outputs"]
              if o["output_type"] == "error"]
    assert not errors, f"{chapter}: errors in the browser: {errors}"
    not_run = [c["index"] for c in cells if c["count"] is None]
    assert not not_run, f"{chapter}: cells {not_run} did not run"
    stderr = ["".join(o["text"]) if isinstance(o["text"], list) else o["text"] for c in cells for o in c["outputs"]
              if o["output_type"] == "stream" and o["name"] == "stderr"]
    unexpected = [s for s in stderr if not any(a.match(s) for a in ALLOWED_STDERR)]
    assert not unexpected, f"{chapter}: cells printed warnings or errors: {[s[:300] for s in unexpected]}"
    figures = [c["index"] for c in cells for o in c["outputs"] if "image/png" in o.get("data", {})]
    assert figures, f"{chapter}: no figure was drawn"
    _check_widgets(page, chapter, cells)

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    _show_cell(page, figures[0])
    page.screenshot(path=str(SCREENSHOTS / f"lite-{chapter}.png"))
    assert not page.outside_requests, f"{chapter}: requests outside the machine: {page.outside_requests}"
    assert not page.page_errors, f"{chapter}: JavaScript errors: {page.page_errors}"
    assert not _Handler.missing, f"{chapter}: files the browser asked for that are not in the book: {_Handler.missing}"
