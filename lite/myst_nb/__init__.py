"""A stand-in for myst-nb in the book's in-browser copy (JupyterLite, Pyodide).

The chapters call ``myst_nb.glue(name, value, display=...)`` so that the HTML book can put a value
computed by a cell into the prose. myst-nb is a Sphinx extension and does not run in Pyodide, and in
the browser there is no book build to put the value into. This module keeps myst-nb's signature:
``glue`` shows the value when ``display=True`` (as myst-nb does) and otherwise does nothing.
It is not myst-nb: it exists only in the in-browser copy (tools/lite.py ships it).
"""

from __future__ import annotations

from typing import Any

__all__ = ["glue"]


def glue(name: str, variable: Any, display: bool = True) -> None:
    """Show ``variable`` if ``display`` is true; ``name`` is accepted and unused (no book to glue into)."""
    if display:
        from IPython.display import display as _display

        _display(variable)
