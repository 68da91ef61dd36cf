"""Small Sphinx fixes for an offline book.

* Jupyter Book 1 registers the inline scripts of sphinx-togglebutton and
  sphinx-thebe twice per page; the second ``const THEBE_JS_URL`` is a console
  error. We drop exact duplicates.
* The book has no live-code (thebe) button, so thebe's scripts — which name a
  CDN — are removed from every page.
"""

from __future__ import annotations

from sphinx.application import Sphinx


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


def setup(app: Sphinx) -> dict:
    app.connect("html-page-context", _clean_scripts)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
