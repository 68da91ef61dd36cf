"""lib.Glue: the named values a chapter's prose shows with {eval}; and how the book evaluates them."""

from __future__ import annotations

import copy
import importlib.util
import pickle
from pathlib import Path

import nbformat
import pytest
from IPython.core.interactiveshell import InteractiveShell

from lib import Glue

ROOT = Path(__file__).resolve().parent.parent


def _tool(name: str):
    spec = importlib.util.spec_from_file_location(f"nnbook_{name}", ROOT / "tools" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_glue_stores_and_reads_back():
    glue = Glue()
    assert glue("acc", 0.9375) is None  # a cell ending with a glue shows no Out[]
    glue("n", 200)
    assert glue.acc == 0.9375 and glue.n == 200
    assert f"{glue.acc:.1%}" == "93.8%" and "acc" in glue and len(glue) == 2
    assert glue.names() == ["acc", "n"] and dir(glue) == ["acc", "n"]
    assert "acc" in repr(glue)


def test_reading_a_name_not_glued_says_what_is_glued():
    glue = Glue()
    glue("acc", 1.0)
    with pytest.raises(AttributeError, match=r"nothing is glued as 'loss'.*run the cell.*glued: acc"):
        glue.loss  # noqa: B018


@pytest.mark.parametrize("name, error", [
    (3, TypeError), ("two words", ValueError), ("class", ValueError), ("_private", ValueError), ("1st", ValueError),
    ("names", ValueError), ("changed", ValueError),  # glue.names would read the method, not the value
])
def test_names_must_be_identifiers_the_prose_can_read(name, error):
    with pytest.raises(error, match="glue: the name must be"):
        Glue()(name, 1)


def test_names_of_the_type_itself_are_fine():
    glue = Glue()
    glue("mro", 1)  # an attribute of the class object (its metaclass), not of a Glue
    assert glue.mro == 1


def test_values_are_set_by_calling_not_assigning():
    glue = Glue()
    with pytest.raises(AttributeError, match=r"glue\('acc', value\)"):
        glue.acc = 1


def test_regluing_replaces_and_records_a_changed_value():
    glue = Glue()
    glue("acc", 0.5)
    glue("acc", 0.5)  # a cell run again: same value
    glue("arr", [1, 2])
    glue("arr", [1, 2])
    assert glue.changed() == []
    glue("acc", 0.75)  # a reader changed a seed and ran the cell again
    assert glue.acc == 0.75 and glue.changed() == ["acc"]


def test_glue_copies_and_pickles():
    glue = Glue()
    glue("acc", 0.5)
    assert copy.deepcopy(glue).acc == 0.5
    assert pickle.loads(pickle.dumps(glue)).acc == 0.5


def test_prose_expressions_are_found_once_in_reading_order():
    execute = _tool("execute")
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell('A {eval}`glue.n` and {eval}`f"{glue.acc:.2f}"`.'),
        nbformat.v4.new_code_cell("x = '{eval}`glue.not_prose`'",
                                  metadata={"mystnb": {"figure": {"caption": "At {eval}`glue.caption`."}}}),
        nbformat.v4.new_markdown_cell("Again {eval}`glue.n`, then {eval}`glue.m`."),
    ])
    assert execute.prose_expressions(nb) == ["glue.n", 'f"{glue.acc:.2f}"', "glue.caption", "glue.m"]


def test_the_evaluation_cell_gives_what_jupyterlab_shows_and_refuses_a_changed_value(capsys):
    """tools/execute.py's last cell: IPython's user_expressions (what JupyterLab's MyST extension asks the
    kernel for), printed as JSON; a name glued twice with different values stops it."""
    import json

    execute = _tool("execute")
    shell = InteractiveShell.instance()
    try:
        shell.run_cell("from lib import Glue\nglue = Glue()\nglue('acc', 0.9375)\nglue('name', 'tanh')")
        expressions = {"0": 'f"{glue.acc:.1%}"', "1": "glue.name", "2": "glue.missing"}
        shell.run_cell(execute.EVAL_CELL % json.dumps(expressions)).raise_error()
        values = json.loads(capsys.readouterr().out)
        assert values["0"]["status"] == "ok" and values["0"]["data"]["text/plain"] == "'93.8%'"
        assert values["1"]["data"]["text/plain"] == "'tanh'"
        assert values["2"]["status"] == "error" and values["2"]["ename"] == "AttributeError"
        shell.run_cell("glue('acc', 0.5)")
        result = shell.run_cell(execute.EVAL_CELL % json.dumps(expressions))
        assert isinstance(result.error_in_exec, ValueError) and "['acc']" in str(result.error_in_exec)
    finally:
        InteractiveShell.clear_instance()
