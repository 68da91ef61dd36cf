"""Repository, issue and launch buttons, one setting away (_ext/nnbook_launch.py), and Binder's environment.

A tiny book — the book's own ``_config.yml`` and ``_ext`` (execution off), a notebook chapter and a
conclusion page with its "Questions and feedback" section — is built twice, with
``NNBOOK_REPOSITORY_URL`` set to a dummy repository and without it. Set, every page has the repository and
issue buttons, the notebook page Binder and Colab buttons that open that notebook, and the conclusion a line
with the repository and its issues; unset, none of them, and no link to a repository or launch service.
"""

from __future__ import annotations

import html.parser
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

ROOT = Path(__file__).resolve().parent.parent
REPO = "https://github.com/example/nnbook"
CHAPTER = "chapters/launch_probe"  # the notebook page of the tiny book
BINDER = f"https://mybinder.org/v2/gh/example/nnbook/main?urlpath=lab/tree/{CHAPTER}.ipynb"
COLAB = f"https://colab.research.google.com/github/example/nnbook/blob/main/{CHAPTER}.ipynb"
# What no page may link to when the variable is unset.
LAUNCH_HOSTS = ("github.com", "gitlab.com", "mybinder.org", "colab.research.google.com")
BUTTON_CLASSES = ("dropdown-launch-buttons", "dropdown-source-buttons", "btn-source-repository-button",
                  "btn-source-issues-button", "nnbook-feedback")
ENV_VARS = ("NNBOOK_REPOSITORY_URL", "NNBOOK_REPOSITORY_BRANCH")


def _ext():
    spec = importlib.util.spec_from_file_location("nnbook_launch", ROOT / "_ext" / "nnbook_launch.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class _Links(html.parser.HTMLParser):
    """Every <a>'s attributes, and every class attribute, of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.anchors: list[dict[str, str]] = []
        self.classes: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {key: value or "" for key, value in attrs}
        self.classes.update(attributes.get("class", "").split())
        if tag == "a":
            self.anchors.append(attributes)


def _links(page: Path) -> _Links:
    parser = _Links()
    parser.feed(page.read_text(encoding="utf-8"))
    return parser


def _tiny_book(src: Path) -> None:
    """The book's config and extensions, a notebook chapter and the conclusion's feedback section."""
    (src / "chapters").mkdir(parents=True)
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    config["execute"]["execute_notebooks"] = "off"
    (src / "_config.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    for name in ("_ext", "assets", "_vendor"):
        if (ROOT / name).exists():
            (src / name).symlink_to(ROOT / name)
    if not (ROOT / "_vendor").exists():  # MathJax is fetched by make book; this build needs no math
        (src / "_vendor").mkdir()
    shutil.copy2(ROOT / "references.bib", src / "references.bib")
    (src / "intro.md").write_text("# Launch probe\n\nThe root page.\n")
    (src / "chapters" / "conclusion.md").write_text(
        "# Conclusion\n\n## Questions and feedback\n\nReport what you found.\n")
    notebook = {
        "cells": [
            {"cell_type": "markdown", "id": "title", "metadata": {}, "source": ["# A notebook page\n\nText."]},
            {"cell_type": "code", "id": "code", "metadata": {}, "execution_count": None, "outputs": [],
             "source": ["1 + 1"]},
        ],
        "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    (src / f"{CHAPTER}.ipynb").write_text(json.dumps(notebook))
    toc = {"format": "jb-book", "root": "intro", "chapters": [{"file": CHAPTER}, {"file": "chapters/conclusion"}]}
    (src / "_toc.yml").write_text(yaml.safe_dump(toc, sort_keys=False))


# Both builds in one Python process (the imports are most of a build's cost): with the variable first, so
# that anything it left behind would show up in the build without it.
BUILD_BOTH = """
import os, sys
from jupyter_book.cli.main import main
src, base, repo = sys.argv[1:]
for case in ("set", "unset"):
    os.environ.pop("NNBOOK_REPOSITORY_URL", None)
    if case == "set":
        os.environ["NNBOOK_REPOSITORY_URL"] = repo
    print("=== build", case, flush=True)
    main.main(["build", src, "--builder", "html", "-W", "-n", "--keep-going", "--path-output", f"{base}/{case}"],
              standalone_mode=False)
"""


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> dict[str, Path]:
    """The tiny book built with the dummy repository URL ("set") and without it ("unset")."""
    base = tmp_path_factory.mktemp("launch")
    src = base / "book"
    _tiny_book(src)
    env = {k: v for k, v in os.environ.items() if k not in ENV_VARS}
    run = subprocess.run([sys.executable, "-c", BUILD_BOTH, str(src), str(base), REPO], env=env, cwd=base,
                         capture_output=True, text=True, timeout=300)
    log = run.stdout + run.stderr
    assert run.returncode == 0, f"the tiny book did not build without warnings:\n{log[-4000:]}"
    return {case: base / case / "_build" / "html" for case in ("set", "unset")}


def test_with_the_variable_every_button_points_at_the_repository(built):
    html_dir = built["set"]
    chapter = _links(html_dir / f"{CHAPTER}.html")
    hrefs = {a.get("title"): a["href"] for a in chapter.anchors if "href" in a}
    assert hrefs.get("Source repository") == REPO
    assert hrefs.get("Open an issue", "").startswith(f"{REPO}/issues/new?"), hrefs.get("Open an issue")
    assert hrefs.get("Launch on Binder") == BINDER
    assert hrefs.get("Launch on Colab") == COLAB
    assert {"dropdown-launch-buttons", "dropdown-source-buttons"} <= chapter.classes

    for page in ("intro", "chapters/conclusion"):  # Markdown pages: repository and issues, nothing to launch
        links = _links(html_dir / f"{page}.html")
        titled = {a.get("title"): a["href"] for a in links.anchors if "href" in a}
        assert titled.get("Source repository") == REPO, page
        assert titled.get("Open an issue", "").startswith(f"{REPO}/issues/new?"), page
        assert "dropdown-launch-buttons" not in links.classes, page

    conclusion = _links(html_dir / "chapters" / "conclusion.html")
    assert "nnbook-feedback" in conclusion.classes, "the feedback section names no repository"
    feedback = {a["href"] for a in conclusion.anchors if "nnbook-repository-link" in a.get("class", "")
                or "nnbook-issue-link" in a.get("class", "")}
    assert feedback == {REPO, f"{REPO}/issues/new"}, feedback


def test_without_the_variable_no_button_and_no_dead_link(built):
    pages = sorted(built["unset"].rglob("*.html"))
    assert len(pages) >= 3, pages
    for page in pages:
        links = _links(page)
        found = [c for c in BUTTON_CLASSES if c in links.classes]
        assert not found, f"{page.name}: {found} without a repository"
        for anchor in links.anchors:
            href = anchor.get("href")
            if href is None:
                continue
            assert href, f"{page.name}: an empty link {anchor}"
            if "btn" in anchor.get("class", "").split():  # a header button leads somewhere
                assert href != "#", f"{page.name}: a button to nowhere {anchor}"
            assert not any(f"//{host}" in href for host in LAUNCH_HOSTS), f"{page.name}: {href}"
        assert "example/nnbook" not in page.read_text(encoding="utf-8")


def test_the_conclusion_has_the_feedback_section_the_line_goes_into():
    """The tiny book's conclusion stands in for the real one: the real one must have the same section."""
    text = (ROOT / "chapters" / "conclusion.md").read_text(encoding="utf-8")
    assert "\n## Questions and feedback\n" in text, "the line on the repository goes under that heading"
    assert _ext().FEEDBACK_SECTION == "questions-and-feedback"


def test_repository_url_parsing():
    ext = _ext()
    assert ext.repository_from_env({}) is None
    assert ext.repository_from_env({"NNBOOK_REPOSITORY_URL": "  "}) is None
    assert ext.repository_from_env({"NNBOOK_REPOSITORY_URL": REPO + ".git/"}) == (REPO, "main", "github.com")
    lab = "https://gitlab.com/someone/nnbook"
    got = ext.repository_from_env({"NNBOOK_REPOSITORY_URL": lab, "NNBOOK_REPOSITORY_BRANCH": "pages"})
    assert got == (lab, "pages", "gitlab.com")
    options = ext.theme_options(*got)
    assert options["repository_branch"] == "pages" and options["path_to_docs"] == ""
    assert "colab_url" not in options["launch_buttons"], "Colab opens notebooks from GitHub only"
    assert options["launch_buttons"]["binderhub_url"] == "https://mybinder.org"
    for bad in ("github.com/example/nnbook", "https://example.org/a/b", "https://github.com/example"):
        with pytest.raises(Exception, match="NNBOOK_REPOSITORY_URL"):
            ext.repository_from_env({"NNBOOK_REPOSITORY_URL": bad})


def _requirements(path: Path) -> tuple[dict[str, Requirement], list[str]]:
    reqs, options = {}, []
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith("-"):
            options.append(line)
            continue
        req = Requirement(line)
        assert req.name not in reqs, f"{path.name}: {req.name} twice"
        reqs[req.name] = req
    return reqs, options


def test_binder_requirements_match_the_book(tmp_path):
    """binder/requirements.txt pins what requirements.txt pins; only PyTorch differs, as its CPU build."""
    book, _ = _requirements(ROOT / "requirements.txt")
    binder, options = _requirements(ROOT / "binder" / "requirements.txt")
    assert set(binder) == set(book), f"only in binder: {set(binder) - set(book)}; missing: {set(book) - set(binder)}"
    for name, req in book.items():
        if name == "torch":
            (pin,) = req.specifier
            assert pin.operator == "==", "requirements.txt pins torch exactly"
            assert str(binder[name].specifier) == f"=={pin.version}+cpu", binder[name]
            assert binder[name].specifier.contains(f"{pin.version}+cpu")
        else:
            assert binder[name].specifier == req.specifier, f"{name}: binder {binder[name]} vs book {req}"
            assert binder[name].marker == req.marker and binder[name].extras == req.extras, name
    assert options == ["--extra-index-url https://download.pytorch.org/whl/cpu"], options

    post_build = ROOT / "binder" / "postBuild"
    assert os.access(post_build, os.X_OK), "Binder runs postBuild only if it is executable"
    assert "pip install --no-cache-dir -e ." in post_build.read_text()
    runtime = (ROOT / "binder" / "runtime.txt").read_text().strip()
    assert runtime.startswith("python-"), runtime
    requires = re.search(r'^requires-python = "(.+)"$', (ROOT / "pyproject.toml").read_text(), re.M)[1]
    assert SpecifierSet(requires).contains(runtime.removeprefix("python-") + ".0"), (runtime, requires)
