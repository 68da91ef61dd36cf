"""The ``{eval}`` role: numbers in a chapter's prose, computed by its own cells.

A chapter glues a value in a cell (``glue("acc", acc)``, with ``glue = lib.Glue()``) and its prose
writes ``{eval}`f"{glue.acc:.1%}"```. JupyterLab's MyST extension evaluates such an expression in the
reader's kernel; myst-nb evaluates it only when it executes notebooks inline, not from the execution
cache this book uses. So ``tools/execute.py`` evaluates every expression in the chapter's kernel after
its last cell and stores the results in the notebook's jupyter-cache record, and this role, replacing
myst-nb's, shows them. The text is rendered as myst-nb renders ``{glue:text}``: the value's
``text/plain`` with a string's quotes removed, in an inline with class ``pasted-text``.

An expression missing from the record, or one that raised, is a build warning (an error under ``-W``),
and the page is read again by the next build; a page whose notebook was executed again (its cache record
replaced, e.g. by ``tools/execute.py`` after a plain ``jupyter-book build``, or after the cache was cleared)
is read again too, numbers and outputs. So, with the book's ``execute_notebooks: cache``, a page is never
left built with a value missing or with values and outputs from different runs: the role checks that myst-nb
merged the page's outputs from the very cache record the values come from (the record's time, which
myst-nb's cache client keeps), and an ``{eval}`` is a warning otherwise — e.g. another execution mode for
the book or in a notebook's ``mystnb`` metadata, a notebook's own cache path, a notebook excluded from
execution, or a kernel alias that changes the notebook's cache key.
A relative execution cache path is taken from the book's folder, for myst-nb's outputs as for these values
(myst-nb alone would take it from the working directory).
"""

from __future__ import annotations

import hashlib
import json
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


def _record(app: Sphinx, docname: str) -> tuple[dict[str, Any] | None, str, float | None]:
    """A document's evaluated expressions (None when its notebook has no cache record), a digest of the
    record they come from (which execution, and its values) and the record's creation time."""
    store = app.__dict__.setdefault("_nnbook_eval", {})
    if docname not in store:
        source = Path(app.env.doc2path(docname))
        results, identity, created = None, None, None
        if source.suffix == ".ipynb":
            try:
                record = get_cache(app.config.nb_execution_cache_path).match_cache_notebook(
                    nbformat.read(source, as_version=4))
                results = record.data.get("eval", {})
                identity = [record.pk, str(record.created), record.data]
                created = record.created.timestamp()
            except KeyError:
                pass
        digest = hashlib.sha256(json.dumps([results, identity], sort_keys=True, default=str).encode()).hexdigest()
        store[docname] = (results, digest, created)
    return store[docname]


def _absolute_cache(app: Sphinx, config) -> None:
    """The execution cache where tools/execute.py writes it: a relative path is from the book's folder."""
    path = Path(config.nb_execution_cache_path or ".jupyter_cache")
    if not path.is_absolute():
        config.nb_execution_cache_path = str(Path(app.srcdir) / path)


class EvalRole(SphinxRole):
    """``{eval}`expression```: the value the expression had in the chapter's kernel after its last cell."""

    def run(self) -> tuple[list[nodes.Node], list[nodes.system_message]]:
        results, digest, created = _record(self.env.app, self.env.docname)
        where = (self.env.docname, self.lineno)
        # Which execution this page was built from: a page is read again when it changes (_outdated).
        self.env.nnbook_eval_digests[self.env.docname] = digest
        node, problem = self._render(results)
        # The settings myst-nb uses for this notebook: the book's, with the notebook's own mystnb metadata on top.
        renderer = self.inliner.document.attributes.get("nb_renderer")
        config = renderer.config if renderer is not None else None
        mode = config.execution_mode if config is not None else self.env.config.nb_execution_mode
        if mode != "cache" and not problem:
            problem = (f"the notebook is executed in mode {mode!r}: its outputs would not come from the cache record "
                       "its numbers come from (use cache, for the book and in the notebook's metadata)")
        # Whatever the settings: myst-nb merged this page's outputs from the very record the numbers come from.
        # Its cache client keeps that record's time; a client that did not merge a record keeps none or another
        # (the time it executed the notebook itself), e.g. for another cache path, an excluded notebook or a
        # kernel alias that changes the notebook's cache key.
        client = renderer.renderer.md_options.get("nb_client") if renderer is not None else None
        merged = (client.exec_metadata or {}).get("mtime") if client is not None else None
        if renderer is not None and not problem and merged != created:
            how = ("myst-nb did not take this notebook from the cache: excluded from execution, or not executed"
                   if merged is None else "myst-nb executed the notebook itself or used another record")
            problem = (f"the page's outputs do not come from the cache record its numbers come from ({how}): "
                       "check the execution settings")
        if problem:
            LOGGER.warning("{eval}`%s`: %s", self.text, problem, location=where, type="nnbook", subtype="eval")
            self.env.note_reread()  # never leave the page built without the value
            return [], []
        return [node], []

    def _render(self, results: dict[str, Any] | None) -> tuple[nodes.Node | None, str | None]:
        """The inline node showing the value, or the reason there is none."""
        if results is None:
            return None, "this page has no executed notebook with evaluated expressions (make book runs " \
                "tools/execute.py first)"
        result = results.get(self.text)
        if result is None:
            return None, "not evaluated: run tools/execute.py (make book does)"
        if result.get("status") != "ok":
            return None, f"raised {result.get('ename')}: {result.get('evalue')}"
        plain = result.get("data", {}).get("text/plain")
        if plain is None:
            return None, "no text/plain value"
        text = format_plain_text(plain, "")
        node = nodes.inline(text, text, classes=["pasted-text"])
        self.set_source_info(node)
        return node, None


def _init_digests(app: Sphinx, env, docnames) -> None:
    # The pages about to be read lose their old digests in _purge (env-purge-doc, emitted for each of them).
    if not hasattr(env, "nnbook_eval_digests"):
        env.nnbook_eval_digests = {}


def _outdated(app: Sphinx, env, added, changed, removed) -> list[str]:
    """Pages whose notebook was executed again (another cache record) since the page was built."""
    digests = getattr(env, "nnbook_eval_digests", {})
    return [doc for doc, digest in digests.items()
            if doc in env.found_docs and doc not in changed and _record(app, doc)[1] != digest]


def _purge(app: Sphinx, env, docname: str) -> None:
    getattr(env, "nnbook_eval_digests", {}).pop(docname, None)


def _merge(app: Sphinx, env, docnames, other) -> None:
    env.nnbook_eval_digests.update({d: v for d, v in getattr(other, "nnbook_eval_digests", {}).items()
                                    if d in docnames})


def _register(app: Sphinx) -> None:
    # After every extension's setup, so that this role replaces myst-nb's.
    app.add_role("eval", EvalRole(), override=True)


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("config-inited", _absolute_cache)
    app.connect("builder-inited", _register)
    app.connect("env-before-read-docs", _init_digests)
    app.connect("env-get-outdated", _outdated)
    app.connect("env-purge-doc", _purge)
    app.connect("env-merge-info", _merge)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
