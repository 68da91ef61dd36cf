"""The ``{eval}`` role: numbers in a chapter's prose, computed by its own cells.

A chapter glues a value in a cell (``glue("acc", acc)``, with ``glue = lib.Glue()``) and its prose
writes ``{eval}`f"{glue.acc:.1%}"```. JupyterLab's MyST extension evaluates such an expression in the
reader's kernel; myst-nb evaluates it only when it executes notebooks inline, not from the execution
cache this book uses. So ``tools/execute.py`` evaluates every expression in the chapter's kernel after
its last cell and stores the results in the notebook's jupyter-cache record, and this role, replacing
myst-nb's, shows them. The text is rendered as myst-nb renders ``{glue:text}``: the value's
``text/plain`` with a string's quotes removed, in an inline with class ``pasted-text``.

An expression missing from the record, or one that raised, is a build warning (an error under ``-W``):
the prose never shows a placeholder.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import nbformat
from docutils import nodes
from jupyter_cache import get_cache
from myst_nb.core.variables import format_plain_text
from sphinx.application import Sphinx
from sphinx.util import logging
from sphinx.util.docutils import SphinxRole

LOGGER = logging.getLogger(__name__)


def _results(app: Sphinx, docname: str) -> dict[str, Any] | None:
    """The evaluated expressions of a document (None when its notebook has no cache record)."""
    store = app.__dict__.setdefault("_nnbook_eval", {})
    if docname not in store:
        source = Path(app.env.doc2path(docname))
        results = None
        if source.suffix == ".ipynb":
            cache_path = Path(app.config.nb_execution_cache_path or ".jupyter_cache")
            if not cache_path.is_absolute():
                cache_path = Path(app.srcdir) / cache_path
            try:
                record = get_cache(cache_path).match_cache_notebook(nbformat.read(source, as_version=4))
                results = record.data.get("eval", {})
            except KeyError:
                results = None
        store[docname] = results
    return store[docname]


class EvalRole(SphinxRole):
    """``{eval}`expression```: the value the expression had in the chapter's kernel after its last cell."""

    def run(self) -> tuple[list[nodes.Node], list[nodes.system_message]]:
        results = _results(self.env.app, self.env.docname)
        where = (self.env.docname, self.lineno)
        if results is None:
            LOGGER.warning("{eval}`%s`: this page has no executed notebook with evaluated expressions "
                           "(make book runs tools/execute.py first)", self.text,
                           location=where, type="nnbook", subtype="eval")
            return [], []
        result = results.get(self.text)
        if result is None:
            LOGGER.warning("{eval}`%s` was not evaluated: run tools/execute.py (make book does)", self.text,
                           location=where, type="nnbook", subtype="eval")
            return [], []
        if result.get("status") != "ok":
            LOGGER.warning("{eval}`%s` raised %s: %s", self.text, result.get("ename"), result.get("evalue"),
                           location=where, type="nnbook", subtype="eval")
            return [], []
        plain = result.get("data", {}).get("text/plain")
        if plain is None:
            LOGGER.warning("{eval}`%s` has no text/plain value", self.text,
                           location=where, type="nnbook", subtype="eval")
            return [], []
        text = format_plain_text(plain, "")
        node = nodes.inline(text, text, classes=["pasted-text"])
        self.set_source_info(node)
        return [node], []


def _register(app: Sphinx) -> None:
    # After every extension's setup, so that this role replaces myst-nb's.
    app.add_role("eval", EvalRole(), override=True)


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("builder-inited", _register)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
