"""The book's runnable source, linked from every chapter page (_ext/nnbook_source.py).

Needs ``make book`` first for the built-page checks (``make test`` does it)."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
HTML = ROOT / "_build" / "html"
ZIP = HTML / "nnbook-source.zip"


def _ext():
    spec = importlib.util.spec_from_file_location("nnbook_source", ROOT / "_ext" / "nnbook_source.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _chapters() -> list[str]:
    return [name for name in re.findall(r"file:\s*chapters/(\w+)", (ROOT / "_toc.yml").read_text())
            if (ROOT / "chapters" / f"{name}.ipynb").exists()]


def test_zip_is_deterministic_and_complete(tmp_path):
    ext = _ext()
    first, second = tmp_path / "a.zip", tmp_path / "b.zip"
    ext.write_zip(ROOT, first)
    ext.write_zip(ROOT, second)
    assert first.read_bytes() == second.read_bytes(), "two packs of the same source must be identical"
    names = set(zipfile.ZipFile(first).namelist())
    for needed in ["Makefile", "README.md", "requirements.txt", "pyproject.toml", "lib/__init__.py",
                   "data/spoken_digits.npz", "_toc.yml", "_config.yml", "references.bib"]:
        assert f"nnbook/{needed}" in names, f"the source zip lacks {needed}"
    for chapter in _chapters():
        assert f"nnbook/chapters/{chapter}.ipynb" in names, f"the source zip lacks {chapter}"
    assert not [n for n in names if "__pycache__" in n or n.startswith("nnbook/.venv") or "/_build/" in n]


def test_unpacked_lib_imports_and_outside_git_the_same_files_are_packed(tmp_path):
    """The unpacked source is a working copy: lib imports from it; packed again there (no git), it holds
    the same files."""
    ext = _ext()
    archive = tmp_path / "src.zip"
    ext.write_zip(ROOT, archive)
    zipfile.ZipFile(archive).extractall(tmp_path)
    unpacked = tmp_path / "nnbook"
    probe = subprocess.run([sys.executable, "-c", "import lib, sys; print(lib.__file__)"], cwd=unpacked,
                           capture_output=True, text=True, check=True)
    assert Path(probe.stdout.strip()).resolve().is_relative_to(unpacked.resolve())
    again = tmp_path / "again.zip"
    ext.write_zip(unpacked, again)  # not a git clone: the fallback list
    assert set(zipfile.ZipFile(again).namelist()) == set(zipfile.ZipFile(archive).namelist())


def test_every_chapter_page_links_the_zip():
    if not ZIP.exists():
        pytest.fail(f"{ZIP} is missing: build the book first (make book)")
    size = f"{ZIP.stat().st_size / 1e6:.1f} MB"
    for chapter in _chapters():
        page = (HTML / "chapters" / f"{chapter}.html").read_text(encoding="utf-8")
        match = re.search(r'<p class="nnbook-source">(.*?)</p>', page, re.S)
        assert match, f"{chapter}.html has no source download line"
        assert 'href="../nnbook-source.zip"' in match.group(1) and size in match.group(1), match.group(1)

