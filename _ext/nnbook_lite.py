"""A "Run in the browser" line under the title of every chapter page.

It opens the same notebook in the book's JupyterLite copy (``_build/html/lite/``, built by
``tools/lite.py``): a Pyodide kernel in the reader's browser, served with the book, nothing to install.
Chapters that cannot run there (or run only in part) say so on the line instead, with the reason:
the list is :data:`BROWSER_LIMITS`, the only place it is kept (tools/lite.py and tests/test_lite.py
read it from here).
"""

from __future__ import annotations

import html

from sphinx.application import Sphinx

# Where the Lite copy lives inside the HTML book, and the app that opens one notebook.
LITE_DIR = "lite"
LITE_APP = "notebooks/index.html"

# chapter -> ("none" | "partial", why). Every other chapter runs in the browser in full.
BROWSER_LIMITS: dict[str, tuple[str, str]] = {
    "frameworks": (
        "partial",
        "PyTorch and Keras have no build for Pyodide: lib's cells and the autodiff engines run, and each "
        "cell that needs PyTorch or Keras prints that it is missing instead of its result",
    ),
}

# chapter -> what fails. Chapters that import only what the browser copy ships and run there, but where a
# check fails because WebAssembly is not the platform the page's numbers were measured on: its floating-point
# sums round differently (a training run ends elsewhere) and its timings have other ratios. Found by
# running every chapter in the browser (NNBOOK_LITE_CHAPTERS=all, tests/test_lite.py, where each is an
# expected failure: when one starts to pass, the test says so and it leaves this list).
BROWSER_DIFFERENCES: dict[str, str] = {
    "gru": "its timing check (LSTM/GRU and GRU/RNN cost ratios above the ratios of their matrix work, as NumPy "
           "measures them on a CPU) fails in WebAssembly, where the layers' costs have other ratios",
    "long_term_dependencies": "the training runs end differently in WebAssembly's arithmetic, and two of "
                              "the page's checks on their outcome fail (which tanh RNN runs end near the "
                              "trivial error at T = 16, and the runs between the best and the trivial error)",
}


def lite_url(chapter: str) -> str:
    """The Lite URL of a chapter, relative to the root of the HTML book."""
    return f"{LITE_DIR}/{LITE_APP}?path=chapters/{chapter}.ipynb"


def _line(chapter: str, to_root: str) -> str:
    href = html.escape(f"{to_root}{lite_url(chapter)}")
    limit = BROWSER_LIMITS.get(chapter)
    if limit is None and chapter in BROWSER_DIFFERENCES:
        limit = ("partial", BROWSER_DIFFERENCES[chapter])
    if limit is None:
        text = (
            f'<a class="nnbook-lite-link" href="{href}">Run this chapter in your browser</a> — an editable copy '
            "in JupyterLite (Python compiled to WebAssembly), served with this book: nothing to install, "
            "no network. Cells run a few times slower than in Python."
        )
        cls = "nnbook-lite"
    elif limit[0] == "partial":
        text = (
            f'<a class="nnbook-lite-link" href="{href}">Run this chapter in your browser</a> (in part: '
            f"{html.escape(limit[1])})."
        )
        cls = "nnbook-lite nnbook-lite-partial"
    else:
        text = (
            f"This chapter does not run in the browser copy of the book: {html.escape(limit[1])}. "
            f'You can still <a class="nnbook-lite-link" href="{href}">read and edit it there</a>; to run it, '
            "use Python on your machine (<code>make lab</code>)."
        )
        cls = "nnbook-lite nnbook-lite-none"
    return f'<p class="{cls}">{text}</p>'


def _add_line(app: Sphinx, pagename: str, templatename: str, context: dict, doctree) -> None:
    if not pagename.startswith("chapters/") or doctree is None:
        return
    source = app.env.doc2path(pagename)
    if not str(source).endswith(".ipynb"):
        return
    body = context.get("body", "")
    end = body.find("</h1>")
    if end < 0:
        return
    to_root = "../" * pagename.count("/")
    chapter = pagename.split("/", 1)[1]
    end += len("</h1>")
    context["body"] = body[:end] + "\n" + _line(chapter, to_root) + body[end:]


def setup(app: Sphinx) -> dict:
    app.connect("html-page-context", _add_line)
    app.add_css_file("nnbook-lite.css")  # assets/ is in html_static_path
    return {"parallel_read_safe": True, "parallel_write_safe": True}
