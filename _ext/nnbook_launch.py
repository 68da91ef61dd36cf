"""Repository, issue and launch buttons, one setting away.

The book has no public repository of its own, so by default it shows no repository button, no issue
button and no Binder/Colab launch buttons (a button to nowhere is a dead link). Whoever publishes it sets

    NNBOOK_REPOSITORY_URL=https://github.com/OWNER/REPO  [NNBOOK_REPOSITORY_BRANCH=main]

in the environment of the build (``make book``, ``jupyter-book build``, ``tools/preview.py``), and this
extension turns on, through sphinx-book-theme's own options (``html_theme_options``):

* the repository button and the "open an issue" button on every page;
* on every notebook page, launch buttons for Binder (https://mybinder.org, JupyterLab, built from the
  repository's ``binder/`` folder) and, for GitHub, Colab (which needs the set-up cell in the README);
* on the conclusion's "Questions and feedback" section, a line with the repository and its issue tracker.

The book must sit at the repository's root (it does: ``_config.yml`` is there). GitHub and GitLab are
supported (Colab opens notebooks from GitHub only); any other URL stops the build with a message.
"""

from __future__ import annotations

import os
import re

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.config import Config
from sphinx.errors import ExtensionError

URL_VAR = "NNBOOK_REPOSITORY_URL"
BRANCH_VAR = "NNBOOK_REPOSITORY_BRANCH"
DEFAULT_BRANCH = "main"
BINDER = "https://mybinder.org"
COLAB = "https://colab.research.google.com"
# The section of the conclusion that invites feedback (its heading's id).
FEEDBACK_SECTION = "questions-and-feedback"
_REPO = re.compile(r"^https://(?P<host>github\.com|gitlab\.com)/(?P<owner>[\w.-]+)/(?P<name>[\w.-]+)$")


def repository_from_env(environ=os.environ) -> tuple[str, str, str] | None:
    """``(url, branch, host)`` from the environment, or None when the variable is unset or empty."""
    url = environ.get(URL_VAR, "").strip()
    if not url:
        return None
    url = url.rstrip("/").removesuffix(".git")
    match = _REPO.match(url)
    if not match:
        raise ExtensionError(
            f"{URL_VAR}={url!r}: expected https://github.com/OWNER/REPO or https://gitlab.com/OWNER/REPO "
            "(the book's launch and issue buttons support those two hosts)"
        )
    branch = environ.get(BRANCH_VAR, "").strip() or DEFAULT_BRANCH
    return url, branch, match["host"]


def theme_options(url: str, branch: str, host: str) -> dict:
    """The sphinx-book-theme options that turn the buttons on (Jupyter Book's ``repository:``,
    ``html: use_*_button`` and ``launch_buttons:`` keys, under their Sphinx names)."""
    launch = {"notebook_interface": "jupyterlab", "binderhub_url": BINDER}
    if host == "github.com":
        launch["colab_url"] = COLAB
    return {
        "repository_url": url,
        "repository_branch": branch,
        "path_to_docs": "",  # the book is the repository's root
        "use_repository_button": True,
        "use_issues_button": True,
        "launch_buttons": launch,
    }


def issues_url(url: str, host: str) -> str:
    return f"{url}/-/issues" if host == "gitlab.com" else f"{url}/issues"


def _configure(app: Sphinx, config: Config) -> None:
    repo = repository_from_env()
    config.nnbook_repository = list(repo) if repo else []
    if repo is None:
        return  # the book as it is: no repository, issue or launch button
    options = dict(config.html_theme_options or {})
    options.update(theme_options(*repo))
    config.html_theme_options = options


def _feedback_line(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    """Add the repository and its issue tracker to the section that invites feedback."""
    if not app.config.nnbook_repository:
        return
    url, branch, host = app.config.nnbook_repository
    for section in doctree.findall(nodes.section):
        if FEEDBACK_SECTION not in section["ids"]:
            continue
        new_issue = f"{issues_url(url, host)}/new"
        para = nodes.paragraph(classes=["nnbook-feedback"])
        para += nodes.Text("This copy of the book is published from ")
        para += nodes.reference("", url, refuri=url, classes=["nnbook-repository-link"])
        para += nodes.Text(f" (branch {branch}); ")
        para += nodes.reference("", "open an issue there", refuri=new_issue, classes=["nnbook-issue-link"])
        para += nodes.Text(" with what you found.")
        section += para


def setup(app: Sphinx) -> dict:
    # Filled from the environment at config-inited; part of the HTML build's config hash, so turning the
    # variable on or off rewrites every page.
    app.add_config_value("nnbook_repository", [], "html", types=[list])
    # After sphinx-book-theme's own config-inited handler (priority 500).
    app.connect("config-inited", _configure, priority=900)
    app.connect("doctree-resolved", _feedback_line)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
