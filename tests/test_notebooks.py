"""Notebook hygiene: what every chapter must be before it is committed.

The notebooks themselves are executed by nbval (``make test``) and by the book
build; these checks are about their shape in git.
"""

from __future__ import annotations

import json
import re
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


def _source(cell: dict) -> str:
    src = cell["source"]
    return src if isinstance(src, str) else "".join(src)


def test_there_are_chapters():
    assert NOTEBOOKS, "no chapter notebooks found in chapters/"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_outputs_are_stripped(path):
    nb = _load(path)
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
    code = [_source(c) for c in nb["cells"] if c["cell_type"] == "code"]
    assert code, f"{path.name}: no code cells"
    assert re.search(r"^(import lib|from lib\b)", code[0], re.M), f"{path.name}: first code cell must import lib"
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
    # A role closed twice ({glue:text}`x:.2f``) opens an inline-code span that swallows the next sentence.
    doubled = re.findall(r"\{[\w:-]+\}`[^`\n]+``", markdown)
    assert not doubled, f"{path.name}: a role closed by two backticks: {doubled[:3]}"


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
