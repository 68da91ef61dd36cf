"""Numbers glued from a chapter's cells into its prose.

A chapter that says "the perceptron makes 3 mistakes" must print that 3, not type it: typed
numbers drift from the code. So a cell *glues* each value under a name, and the prose evaluates
it with MyST's ``{eval}`` role::

    glue = Glue()                                    # first cell
    glue("n_mistakes", int(history.sum()))           # where the value is computed

    The perceptron makes {eval}`glue.n_mistakes` mistakes; its accuracy is {eval}`f"{glue.acc:.1%}"`.

The same source renders everywhere the book is read: the HTML build evaluates every ``{eval}``
expression in the chapter's kernel after its last cell (``tools/execute.py``), and JupyterLab's MyST
extension (installed by ``make lab``) evaluates it in the reader's kernel when the Markdown cell is
run (Run All, or Shift+Enter on it) and saves the result with the notebook. Re-running a code cell
re-glues its values: a reader who changes a seed sees the new numbers once the sentences quoting them
are run again. The book's build checks that no name was glued twice with different values, so that the prose, which
shows one value per name, cannot silently show the other.
"""

from __future__ import annotations

import keyword
from typing import Any

__all__ = ["Glue"]


class Glue:
    """A chapter's named values, readable as attributes: ``glue("acc", 0.93)`` then ``glue.acc``.

    Names are Python identifiers that are not keywords, do not start with ``_`` and are not one of this
    class's own attributes (``names``, ``changed``), so that the prose can write ``glue.acc``. Gluing a
    name again replaces its value and, if the value differs, records the name in :meth:`changed`.
    """

    def __init__(self) -> None:
        object.__setattr__(self, "_values", {})
        object.__setattr__(self, "_changed", set())

    def __call__(self, name: str, value: Any) -> None:
        """Store ``value`` under ``name``. Returns None, so a cell that ends with a glue shows nothing more.

        Raises:
            TypeError: ``name`` is not a string.
            ValueError: ``name`` is not an identifier, is a keyword, starts with ``_`` or is one of
                ``Glue``'s own attributes.
        """
        if not isinstance(name, str):
            raise TypeError(f"glue: the name must be a str, got {type(name).__name__}")
        if not name.isidentifier() or keyword.iskeyword(name) or name.startswith("_") or name in vars(Glue):
            raise ValueError(
                f"glue: the name must be a Python identifier that is not a keyword, does not start with '_' and "
                f"is not one of Glue's own attributes ({', '.join(_OWN)}): the prose reads it as glue.<name>; "
                f"got {name!r}"
            )
        values = self._values
        if name in values and not _same(values[name], value):
            self._changed.add(name)
        values[name] = value

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):  # not a glued name: copy, pickle and IPython probe private and special names
            raise AttributeError(name)
        try:
            return self._values[name]
        except KeyError:
            glued = ", ".join(sorted(self._values)) or "none yet"
            raise AttributeError(
                f"nothing is glued as {name!r}: run the cell that computes it first (glued: {glued})"
            ) from None

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"glue values with glue({name!r}, value), not by assignment")

    def __contains__(self, name: object) -> bool:
        return name in self._values

    def __len__(self) -> int:
        return len(self._values)

    def __dir__(self) -> list[str]:
        return sorted(self._values)

    def names(self) -> list[str]:
        """The glued names, in the order they were glued."""
        return list(self._values)

    def changed(self) -> list[str]:
        """Names glued more than once with different values (the book's build refuses these)."""
        return sorted(self._changed)

    def __repr__(self) -> str:
        return f"Glue({len(self._values)} values: {', '.join(self._values)})"


_OWN = sorted(n for n in vars(Glue) if not n.startswith("_"))


def _same(a: Any, b: Any) -> bool:
    """True when re-gluing ``b`` over ``a`` changes nothing the prose shows (re-running a cell)."""
    try:
        return bool(a == b) and repr(a) == repr(b)
    except Exception:  # arrays and other values without a single truth value
        return repr(a) == repr(b)
