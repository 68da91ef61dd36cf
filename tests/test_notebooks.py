"""Notebook hygiene: what every chapter must be before it is committed.

The notebooks themselves are executed by nbval (``make test``) and by the book
build; these checks are about their shape in git.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted(p for p in (ROOT / "chapters").rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
IDS = [str(p.relative_to(ROOT)) for p in NOTEBOOKS]


def _toc_files() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]]

    def walk(entries):
        for entry in entries or []:
            if "file" in entry:
                files.append(entry["file"])
            walk(entry.get("sections"))

    for part in toc.get("parts", []):
        walk(part.get("chapters"))
    walk(toc.get("chapters"))
    return files


def _load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


INSTALL_CHECK_ID = "nnbook-install-check"


def _first_code(path: Path) -> int:
    return next(i for i, c in enumerate(_load(path)["cells"]) if c["cell_type"] == "code")


def _source(cell: dict) -> str:
    src = cell["source"]
    return src if isinstance(src, str) else "".join(src)


def test_there_are_chapters():
    assert NOTEBOOKS, "no chapter notebooks found in chapters/"


def _git(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(["git", *args], cwd=ROOT, input=stdin, capture_output=True, check=False)


def _clean_filter(path: Path) -> str | None:
    """The command git runs on this notebook when it is added (the nbstripout filter `make lab` defines),
    or None where no filter applies (no git clone, or the filter not defined in this clone)."""
    if _git("rev-parse", "--is-inside-work-tree").returncode != 0:
        return None
    attr = _git("check-attr", "filter", "--", str(path.relative_to(ROOT))).stdout.decode().strip()
    name = attr.rsplit(": ", 1)[-1]
    if name in ("unspecified", "unset", "set", ""):
        return None
    command = _git("config", f"filter.{name}.clean")
    return command.stdout.decode().strip() or None


def _as_committed(path: Path) -> dict:
    """The notebook as `git add` would store it: through the clean filter where one is defined."""
    command = _clean_filter(path)
    if command is None:
        return _load(path)
    cleaned = subprocess.run(command, shell=True, cwd=ROOT, input=path.read_bytes(), capture_output=True)
    assert cleaned.returncode == 0, f"the git filter `{command}` failed on {path.name}: {cleaned.stderr.decode()}"
    return json.loads(cleaned.stdout.decode("utf-8"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_outputs_are_stripped(path):
    """What git commits carries no outputs. With `make lab`'s nbstripout filter defined, a notebook that
    JupyterLab saved with outputs is fine in the working tree: the filter strips them on `git add`."""
    nb = _as_committed(path)
    dirty = [
        i for i, c in enumerate(nb["cells"])
        if c["cell_type"] == "code" and (c.get("outputs") or c.get("execution_count") is not None)
    ]
    assert not dirty, f"{path.name}: cells {dirty} carry outputs or execution counts; strip them before committing"
    assert "widgets" not in nb["metadata"], f"{path.name}: saved widget state in metadata; strip it"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_kernel_and_first_cell(path):
    nb = _load(path)
    assert nb["metadata"].get("kernelspec", {}).get("name") == "python3", f"{path.name}: kernel must be python3"
    cells = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert len(cells) > 1, f"{path.name}: no code cells"
    # First, the install check (hidden in the book): outside the book's folder it says what to install.
    check = cells[0]
    assert check.get("id") == INSTALL_CHECK_ID and "remove-cell" in check["metadata"].get("tags", []), \
        f"{path.name}: the first code cell must be the install check (id {INSTALL_CHECK_ID}, tag remove-cell)"
    assert _source(check) == _source(_load(NOTEBOOKS[0])["cells"][_first_code(NOTEBOOKS[0])]), \
        f"{path.name}: the install check differs from {NOTEBOOKS[0].name}'s; keep them identical"
    code = [_source(c) for c in cells[1:]]
    assert re.search(r"^(import lib|from lib\b)", code[0], re.M), \
        f"{path.name}: the first code cell after the install check must import lib"
    everything = "\n".join(code)
    assert "sys.path" not in everything, f"{path.name}: no sys.path tricks; lib is installed editable"
    assert "np.random.seed" not in everything, f"{path.name}: use np.random.default_rng(seed), not global seeding"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_chapter_shape(path):
    """Objectives at the top; summary, exercises with solutions and references at the end."""
    nb = _load(path)
    markdown = "\n".join(_source(c) for c in nb["cells"] if c["cell_type"] == "markdown")
    assert re.search(r"Learning objectives", markdown), f"{path.name}: no learning objectives"
    assert re.search(r"^## Summary", markdown, re.M), f"{path.name}: no '## Summary' section"
    assert re.search(r"^## Exercises", markdown, re.M), f"{path.name}: no '## Exercises' section"
    exercises = len(re.findall(r"```\{exercise\}", markdown))
    solutions = len(re.findall(r"\{solution(-start)?\}", markdown))
    assert exercises >= 3, f"{path.name}: {exercises} exercises, need at least 3"
    assert solutions >= exercises, f"{path.name}: {exercises} exercises but {solutions} solutions"
    assert re.search(r"^## References", markdown, re.M) and "{footbibliography}" in markdown, (
        f"{path.name}: no '## References' section with a footbibliography"
    )
    # A key cited by two pages would be a duplicate citation with page-level {bibliography} lists:
    # chapters cite with {footcite} and list with {footbibliography}; the global list is on the resources page.
    plain = re.findall(r"\{cite(?::\w+)?\}`|\{bibliography\}", markdown)
    assert not plain, f"{path.name}: use {{footcite}} / {{footbibliography}}, found {plain}"
    assert not re.search(r"\[\^[^\]]+\]", markdown), f"{path.name}: Markdown footnotes are not used (see _config.yml)"
    assert "TODO" not in markdown and "TBD" not in markdown, f"{path.name}: placeholder prose"
    # A role closed twice ({eval}`glue.x``) opens an inline-code span that swallows the next sentence.
    doubled = re.findall(r"\{[\w:-]+\}`[^`\n]+``", markdown)
    assert not doubled, f"{path.name}: a role closed by two backticks: {doubled[:3]}"


# What the prose may evaluate: a glued value, as it is or formatted (tools/execute.py and _ext/nnbook_eval.py).
PROSE_VALUE = re.compile(r'glue\.[A-Za-z]\w*|f"\{glue\.[A-Za-z]\w*:[^{}"`]+\}"')


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_prose_numbers_are_glued_values(path):
    """Every number the prose shows is a value a cell glued: {eval}`glue.name` or {eval}`f"{glue.name:.3f}"`
    (one form, which the book and JupyterLab's MyST extension both evaluate), and the chapter creates the
    `glue` it reads. myst-nb's {glue:...} roles are gone: JupyterLab cannot show their values."""
    nb = _load(path)
    # The prose: Markdown cells and the MyST in cell metadata (figure captions).
    markdown = "\n".join([_source(c) for c in nb["cells"] if c["cell_type"] == "markdown"]
                         + [json.dumps(c["metadata"], ensure_ascii=False) for c in nb["cells"]])
    roles = re.findall(r"\{eval\}`([^`]*)`", markdown.replace('\\"', '"'))
    odd = [r for r in roles if not PROSE_VALUE.fullmatch(r)]
    assert not odd, f"{path.name}: {{eval}} roles that are not a glued value: {odd[:5]}"
    assert not re.findall(r"\{glue(:\w+)?\}`", markdown), f"{path.name}: myst-nb glue roles; use {{eval}}`glue.name`"
    code = "\n".join(_source(c) for c in nb["cells"] if c["cell_type"] == "code")
    if roles:
        assert re.search(r"^glue = lib\.Glue\(\)", code, re.M), f"{path.name}: no `glue = lib.Glue()` in its code"
    assert "myst_nb" not in code, f"{path.name}: chapters glue with lib.Glue, not myst_nb"


def test_toc_lists_exactly_the_chapters():
    listed = set(_toc_files())
    on_disk = {str(p.relative_to(ROOT).with_suffix("")) for p in NOTEBOOKS}
    missing_files = sorted(f for f in listed if not any((ROOT / (f + ext)).exists() for ext in (".ipynb", ".md")))
    assert not missing_files, f"_toc.yml lists files that do not exist: {missing_files}"
    assert not sorted(on_disk - listed), f"chapters not in _toc.yml: {sorted(on_disk - listed)}"


WRITE = re.compile(r"""(?:savez(?:_compressed)?|save|savefig|to_csv|write_text|open)\(\s*["']([^"']+)["']""")
READ = re.compile(r"""(?:load|read_csv|read_text|open)\(\s*["']([^"']+)["']""")


def test_chapters_write_no_files_others_read():
    """A chapter must run on its own: no chapter opens a file that another chapter writes."""
    code = {
        path.name: "\n".join(_source(c) for c in _load(path)["cells"] if c["cell_type"] == "code")
        for path in NOTEBOOKS
    }
    writers = {name: nb for nb, text in code.items() for name in WRITE.findall(text)}
    for nb, text in code.items():
        for name in READ.findall(text):
            assert writers.get(name, nb) == nb, f"{nb} reads {name!r}, which {writers[name]} writes"


def _makefile_filter() -> list[str]:
    """The nbstripout command line `make lab` installs as the clean filter (the Makefile's NBSTRIPOUT)."""
    line = re.search(r"^NBSTRIPOUT\s*:=\s*(.+)$", (ROOT / "Makefile").read_text(), re.M).group(1)
    args = shlex.split(line)
    assert args[1:3] == ["-m", "nbstripout"], line
    return [sys.executable, *args[1:]]


def test_saved_in_jupyterlab_then_filtered_is_the_committed_notebook():
    """A chapter as JupyterLab saves it after a run (outputs, execution counts, widget state, the running
    kernel's spec and language_info, cell metadata, the values of the prose's {eval} expressions) passes the
    Makefile's git filter back to exactly the committed file: `git status` stays clean until the reader
    edits a cell."""
    from jupyter_client.kernelspec import KernelSpecManager

    spec = KernelSpecManager().get_kernel_spec("python3")
    path = ROOT / "chapters" / "backpropagation.ipynb"
    original = path.read_text(encoding="utf-8")
    nb = json.loads(original)
    nb["metadata"]["kernelspec"] = {"display_name": spec.display_name, "language": spec.language, "name": "python3"}
    nb["metadata"]["language_info"] = {"name": "python", "version": "3.12.3", "mimetype": "text/x-python",
                                       "codemirror_mode": {"name": "ipython", "version": 3}}
    nb["metadata"]["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}, "version_major": 2}}
    for i, cell in enumerate(nb["cells"]):
        if cell["cell_type"] == "code":
            cell["execution_count"] = i + 1
            cell["outputs"] = [{"output_type": "stream", "name": "stdout", "text": ["0.5\n"]}]
            cell["metadata"]["execution"] = {"iopub.status.idle": "2026-12-01T00:00:00Z"}
        elif "{eval}" in "".join(cell["source"]):
            # JupyterLab's MyST extension stores the values of a Markdown cell's {eval} expressions.
            cell["metadata"]["user_expressions"] = [
                {"expression": "glue.x", "result": {"status": "ok", "data": {"text/plain": "0.5"}, "metadata": {}}}]
    assert any("user_expressions" in c["metadata"] for c in nb["cells"])
    saved = json.dumps(nb, indent=1, ensure_ascii=False) + "\n"
    cleaned = subprocess.run(_makefile_filter(), input=saved.encode(), capture_output=True, check=True)
    assert cleaned.stdout.decode("utf-8") == original


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_kernelspec_is_what_jupyterlab_writes(path):
    """The committed kernelspec is the one JupyterLab writes on save (ipykernel's python3), so that opening a
    chapter does not change it."""
    from jupyter_client.kernelspec import KernelSpecManager

    spec = KernelSpecManager().get_kernel_spec("python3")
    want = {"display_name": spec.display_name, "language": spec.language, "name": "python3"}
    assert _load(path)["metadata"].get("kernelspec") == want, f"{path.name}: kernelspec must be {want}"


def test_install_check_names_what_is_missing(tmp_path):
    """The install check, run where lib cannot be imported, stops with a message that says what to install
    and how; where it imports, it does nothing."""
    source = _source(_load(NOTEBOOKS[0])["cells"][_first_code(NOTEBOOKS[0])])
    (tmp_path / "check.py").write_text(source)
    isolated = subprocess.run([sys.executable, "-I", "-S", str(tmp_path / "check.py")], cwd=tmp_path,
                              capture_output=True, text=True)
    assert isolated.returncode != 0
    last = isolated.stderr.strip().splitlines()[-1]
    assert last.startswith("ModuleNotFoundError: This chapter needs the book's library `lib`"), last
    assert "(lib not found)" in last and "make lab" in last and "pip install -r requirements.txt -e ." in last
    here = subprocess.run([sys.executable, str(tmp_path / "check.py")], cwd=ROOT, capture_output=True, text=True)
    assert here.returncode == 0, here.stderr
