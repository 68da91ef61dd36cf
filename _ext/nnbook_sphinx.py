"""Small Sphinx fixes for an offline book.

* Jupyter Book 1 registers the inline scripts of sphinx-togglebutton and
  sphinx-thebe twice per page; the second ``const THEBE_JS_URL`` is a console
  error. We drop exact duplicates.
* The book has no live-code (thebe) button, so thebe's scripts — which name a
  CDN — are removed from every page.
* docutils marks a bibliography ``<div role="list" class="citation-list">`` whose entries
  are not list items (axe-core: critical ``aria-required-children``), each entry with the
  deprecated ``doc-biblioentry`` role: both roles are dropped; the entries stay plain ``<div>``s.
"""

from __future__ import annotations

import re

from sphinx.application import Sphinx

_CITATION_ROLES = re.compile(
    r'(<div) role="list" (class="citation-list">)'  # the list
    r'|(<div class="citation"[^>]*?) role="doc-biblioentry"'  # each entry
)


def _clean_scripts(app: Sphinx, pagename: str, templatename: str, context: dict, doctree) -> None:
    scripts = context.get("script_files")
    if not scripts:
        return
    seen: set[tuple[str, str]] = set()
    kept = []
    for js in scripts:
        filename = str(getattr(js, "filename", js) or "")
        body = str(getattr(js, "attributes", {}).get("body", "") if hasattr(js, "attributes") else "")
        if "thebe" in filename or "THEBE_JS_URL" in body:
            continue
        key = (filename, body)
        if key in seen:
            continue
        seen.add(key)
        kept.append(js)
    context["script_files"] = kept


def _citation_roles(app: Sphinx, pagename: str, templatename: str, context: dict, doctree) -> None:
    body = context.get("body")
    if body and "citation" in body:
        context["body"] = _CITATION_ROLES.sub(lambda m: f"{m[1]} {m[2]}" if m[1] else m[3], body)


def setup(app: Sphinx) -> dict:
    app.connect("html-page-context", _clean_scripts)
    app.connect("html-page-context", _citation_roles)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
